//! `truncated-bptt-bias`: how well truncated BPTT's gradient points along the full
//! gradient, against the truncation length `k`, on a task whose loss depends on inputs `L`
//! steps back.
//!
//! Task (a delayed recall): a scalar input stream `x_t ~ N(0, 1)`; at every step `t >= L` a
//! linear readout of the state must output `x_{t-L}`, loss
//! `sum_{t >= L} mean_b (r(h_t) - x_{t-L})^2 / (2 (T - L))`. Model: a tanh RNN with PyTorch's
//! default initialisation except an orthogonal recurrent matrix (spectral radius 1, so that
//! signals survive long lags). For the recurrent layer's parameters, the gradient of
//! BPTT(k1, k2) (`dl_layers::truncated_bptt`) is compared with the full BPTT gradient by
//! cosine similarity, for chunks BPTT(k, k) and for BPTT(1, k) (every step looks back `k`
//! steps). Truncation drops every term of the gradient that links a loss to inputs more than
//! about `k` steps back; when `k < L` that is exactly the task's signal, so the truncated
//! gradient is biased (Williams & Peng 1990; Tallec & Ollivier 2017).

use dl_autodiff::Var;
use dl_layers::{LayerError, Linear, Module, NamedParam, Recurrent, TbpttSchedule, truncated_bptt};
use dl_tensor::{Tensor, TensorRng};
use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Cosine similarity of truncated and full BPTT gradients against the truncation length.
pub struct TruncatedBpttBias;

fn layer_err(e: LayerError) -> ExperimentError {
    ExperimentError::Invalid(format!("dl-layers: {e}"))
}

/// A random orthogonal `n x n` matrix: modified Gram-Schmidt on the rows of a Gaussian one.
pub(crate) fn orthogonal(n: usize, rng: &mut TensorRng) -> Result<Tensor<f64>, ExperimentError> {
    let mut rows: Vec<Vec<f64>> = Tensor::<f64>::randn(&[n, n], rng).to_vec().chunks(n).map(|r| r.to_vec()).collect();
    for i in 0..n {
        for j in 0..i {
            let dot: f64 = rows[i].iter().zip(&rows[j]).map(|(a, b)| a * b).sum();
            let rj = rows[j].clone();
            rows[i].iter_mut().zip(&rj).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = rows[i].iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm < 1e-8 {
            return Err(ExperimentError::Invalid("Gram-Schmidt met a (numerically) dependent row".into()));
        }
        rows[i].iter_mut().for_each(|a| *a /= norm);
    }
    Ok(Tensor::from_vec(rows.concat(), &[n, n])?)
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn flat(grads: &[(String, Tensor<f64>)]) -> Vec<f64> {
    grads.iter().flat_map(|(_, g)| g.to_vec()).collect()
}

impl Experiment for TruncatedBpttBias {
    fn id(&self) -> &'static str {
        "truncated-bptt-bias"
    }
    fn title(&self) -> &'static str {
        "Truncated BPTT: cosine between truncated and full gradients against k on a delayed-recall task"
    }
    fn section(&self) -> &'static str {
        "02 specialised backprop"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (t_len, batch, hidden) = size.pick((48, 16, 32), (200, 64, 64));
        let lags: Vec<usize> = size.pick(vec![4, 16], vec![4, 16, 48]);
        let ks: Vec<usize> = size.pick(vec![1, 2, 4, 8, 16, 32, 48], vec![1, 2, 4, 8, 16, 32, 64, 128, 200]);
        let mut rng = ctx.rng();
        let layer = Recurrent::<f64>::rnn_tanh(1, hidden, &mut rng);
        layer.directions[0].weight_hh.set(orthogonal(hidden, &mut rng)?).map_err(layer_err)?;
        let readout = Linear::<f64>::new(hidden, 1, true, &mut rng);
        let x = Tensor::<f64>::randn(&[t_len, batch, 1], &mut rng);
        let params: Vec<NamedParam<f64>> = layer.parameters();

        let mut m = Metrics::new();
        m.config("time_steps", t_len);
        m.config("batch", batch);
        m.config("hidden", hidden);
        m.config("lags", json!(lags));
        m.config("k", json!(ks));
        m.config("model", "tanh RNN, PyTorch default init, orthogonal W_hh; linear readout");
        m.config(
            "compared",
            "gradients of the recurrent layer's parameters (weight_ih, weight_hh, bias_ih, bias_hh) concatenated",
        );
        m.table("cosine", &["lag", "k", "cos_chunks_k_k", "cos_every_step_1_k"]);
        let mut chart = LineChart::new(
            "Truncated BPTT: cosine(truncated, full gradient)",
            "truncation length k",
            "cosine similarity",
        )
        .scales(Scale::Log2, Scale::Linear);
        let total = (lags.len() * ks.len()) as u64;
        let mut done = 0;
        for (li, &lag) in lags.iter().enumerate() {
            let targets = x.narrow(0, 0, t_len - lag)?.contiguous();
            let scale = 1.0 / (2.0 * (t_len - lag) as f64);
            let step_loss = |t: usize, y: &Var<f64>| -> dl_layers::Result<Option<Var<f64>>> {
                if t < lag {
                    return Ok(None);
                }
                let target = Var::constant(targets.narrow(0, t - lag, 1)?.reshape(&[batch, 1])?);
                let err = readout.forward(y)?.sub(&target)?;
                Ok(Some(err.square()?.mean_all()?.mul_scalar(scale)?))
            };
            let full =
                truncated_bptt(&layer, &x, None, TbpttSchedule::full(t_len), &params, step_loss).map_err(layer_err)?;
            let full_g = flat(&full.grads);
            let (mut chunk_pts, mut step_pts) = (Vec::new(), Vec::new());
            for &k in &ks {
                let chunks =
                    truncated_bptt(&layer, &x, None, TbpttSchedule::chunks(k).map_err(layer_err)?, &params, step_loss)
                        .map_err(layer_err)?;
                let every =
                    truncated_bptt(&layer, &x, None, TbpttSchedule::new(1, k).map_err(layer_err)?, &params, step_loss)
                        .map_err(layer_err)?;
                let (c1, c2) = (cosine(&flat(&chunks.grads), &full_g), cosine(&flat(&every.grads), &full_g));
                if (chunks.loss - full.loss).abs() > 1e-9 * full.loss.abs() {
                    return Err(ExperimentError::Invalid(format!(
                        "the truncated run's loss {} differs from the full {}",
                        chunks.loss, full.loss
                    )));
                }
                m.push_row("cosine", vec![json!(lag), json!(k), num(c1), num(c2)])?;
                chunk_pts.push((k as f64, c1));
                step_pts.push((k as f64, c2));
                done += 1;
                ctx.progress(done, total);
            }
            // the smallest k reaching cosine 0.99, per schedule
            for (name, pts) in [("chunks", &chunk_pts), ("every_step", &step_pts)] {
                let first = pts.iter().find(|(_, c)| *c >= 0.99).map(|(k, _)| *k).unwrap_or(f64::INFINITY);
                m.scalar(&format!("lag{lag}_{name}_first_k_cos_0.99"), first);
            }
            m.scalar(&format!("lag{lag}_full_loss"), full.loss);
            chart.add(&format!("lag {lag}: BPTT(k, k)"), SeriesKind::Line, li, chunk_pts);
            chart.add(&format!("lag {lag}: BPTT(1, k)"), SeriesKind::Crosses, li, step_pts);
        }
        ctx.figure("cosine_vs_k", &chart)?;
        Ok(m)
    }
}
