//! `rnn-gradient-flow`: vanishing and exploding gradients. The norm of
//! `d <u, h_T> / d h_{T - lag}` (`u` a fixed unit vector) against the lag, for a tanh RNN
//! whose recurrent matrix is `rho Q` (`Q` orthogonal, so its spectral radius is exactly
//! `rho`), `rho` in {0.9, 1.0, 1.1}.
//!
//! By the chain rule `dh_T/dh_{T-lag} = prod_{s} diag(tanh'(a_s)) W_hh` (Pascanu, Mikolov &
//! Bengio 2013), so for a linear RNN the norm is `rho^lag` exactly (`Q` preserves norms).
//! Two regimes:
//!
//! - **linear**: zero input and biases, state of size ~1e-6, where `tanh' = 1 - O(1e-12)`:
//!   the measured norms must follow `rho^lag` (the check; the largest relative deviation is
//!   reported);
//! - **driven**: inputs `x_t ~ N(0, 1)` through PyTorch-initialised input weights and biases:
//!   `tanh' < 1` shrinks every factor, so the gradient vanishes faster than `rho^lag`, and
//!   even `rho = 1.1` need not explode. The per-step factor `(norm(lag_max) / norm(1))^(1 /
//!   (lag_max - 1))` is reported.
//!
//! The spectral radius of `rho Q` is also estimated by power iteration
//! (`|W^k v|^(1/k)`, k = 200) as a check of the construction.

use dl_autodiff::{Var, no_grad};
use dl_layers::{LayerError, Recurrent, RecurrentState};
use dl_tensor::{Tensor, TensorRng};
use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::backprop::truncated_bptt::orthogonal;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Gradient norm against time lag for recurrent matrices of spectral radius below, at and above 1.
pub struct RnnGradientFlow;

fn layer_err(e: LayerError) -> ExperimentError {
    ExperimentError::Invalid(format!("dl-layers: {e}"))
}

/// `|W^k v|^(1/k)` for a unit `v`, renormalising every step (power iteration).
fn power_iteration_radius(w: &Tensor<f64>, steps: usize, rng: &mut TensorRng) -> Result<f64, ExperimentError> {
    let n = w.shape()[0];
    let mut v = Tensor::<f64>::randn(&[n, 1], rng);
    let norm = |t: &Tensor<f64>| t.to_vec().iter().map(|a| a * a).sum::<f64>().sqrt();
    let n0 = norm(&v);
    v = v.mul_scalar(1.0 / n0);
    let mut log_growth = 0.0;
    for _ in 0..steps {
        v = w.matmul(&v)?;
        let nv = norm(&v);
        log_growth += nv.ln();
        v = v.mul_scalar(1.0 / nv);
    }
    Ok((log_growth / steps as f64).exp())
}

/// Gradient norms `|d <u, h_T> / d h_{T - lag}|` for lag = 1 ..= max_lag.
fn gradient_norms(
    layer: &Recurrent<f64>,
    x: &Tensor<f64>,
    h0: &Tensor<f64>,
    u: &Tensor<f64>,
    max_lag: usize,
) -> Result<Vec<f64>, ExperimentError> {
    let t_len = x.shape()[0];
    // the state entering every step, from one gradient-free pass
    let mut states = vec![h0.clone()];
    no_grad(|| -> Result<(), ExperimentError> {
        for t in 0..t_len {
            let st = RecurrentState { h: Var::constant(states[t].clone()), c: None };
            let out = layer.forward_sequence(&Var::constant(x.narrow(0, t, 1)?), Some(&st), None).map_err(layer_err)?;
            states.push(out.h_n.value().clone());
        }
        Ok(())
    })?;
    let mut norms = Vec::with_capacity(max_lag);
    for lag in 1..=max_lag {
        let start = t_len - lag;
        let h_start = Var::leaf(states[start].clone(), true);
        let st = RecurrentState { h: h_start.clone(), c: None };
        let out =
            layer.forward_sequence(&Var::constant(x.narrow(0, start, lag)?), Some(&st), None).map_err(layer_err)?;
        let g = out.h_n.mul(&Var::constant(u.clone()))?.sum_all()?.backward()?;
        let gv = g.get(&h_start).ok_or_else(|| ExperimentError::Invalid("no gradient reached h_start".into()))?;
        norms.push(gv.to_vec().iter().map(|a| a * a).sum::<f64>().sqrt());
    }
    Ok(norms)
}

impl Experiment for RnnGradientFlow {
    fn id(&self) -> &'static str {
        "rnn-gradient-flow"
    }
    fn title(&self) -> &'static str {
        "Vanishing and exploding gradients: |dh_T / dh_(T-lag)| against lag for spectral radius 0.9, 1.0, 1.1"
    }
    fn section(&self) -> &'static str {
        "02 specialised backprop"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (hidden, batch, input, max_lag, warmup) = size.pick((32, 4, 4, 40, 20), (128, 8, 16, 200, 50));
        let rhos = [0.9, 1.0, 1.1];
        let report_lags: Vec<usize> = [1, 2, 5, 10, 20, 40, 100, 200].into_iter().filter(|&l| l <= max_lag).collect();
        let mut rng = ctx.rng();
        let q = orthogonal(hidden, &mut rng)?;
        let u = Tensor::<f64>::randn(&[1, batch, hidden], &mut rng);
        let un = u.to_vec().iter().map(|a| a * a).sum::<f64>().sqrt();
        let u = u.mul_scalar(1.0 / un);
        let t_len = warmup + max_lag;
        let x_driven = Tensor::<f64>::randn(&[t_len, batch, input], &mut rng);
        let h0_small = Tensor::<f64>::randn(&[1, batch, hidden], &mut rng).mul_scalar(1e-6);

        let mut m = Metrics::new();
        m.config("hidden", hidden);
        m.config("batch", batch);
        m.config("input", input);
        m.config("max_lag", max_lag);
        m.config("warmup_steps", warmup);
        m.config("rhos", json!(rhos));
        m.config("norm", "|d <u, h_T> / d h_(T-lag)|_2, u a unit vector over (batch, hidden)");
        m.table("gradient_norm", &["rho", "lag", "linear_regime", "theory_rho_pow_lag", "driven_regime"]);
        let mut chart = LineChart::new("Gradient norm |dh_T / dh_(T-lag)| against lag", "lag", "gradient norm")
            .scales(Scale::Linear, Scale::Log10);
        for (ri, &rho) in rhos.iter().enumerate() {
            let w = q.mul_scalar(rho);
            m.scalar(&format!("rho{rho}_power_iteration_radius"), power_iteration_radius(&w, 200, &mut rng)?);
            let layer = Recurrent::<f64>::rnn_tanh(input, hidden, &mut rng);
            layer.directions[0].weight_hh.set(w.clone()).map_err(layer_err)?;
            // driven regime: default input weights and biases, Gaussian inputs
            let driven = gradient_norms(&layer, &x_driven, &Tensor::zeros(&[1, batch, hidden]), &u, max_lag)?;
            // linear regime: no input, no bias, tiny state
            let p = &layer.directions[0];
            p.bias_ih.set(Tensor::zeros(&p.bias_ih.shape())).map_err(layer_err)?;
            p.bias_hh.set(Tensor::zeros(&p.bias_hh.shape())).map_err(layer_err)?;
            let linear = gradient_norms(&layer, &Tensor::zeros(&[max_lag, batch, input]), &h0_small, &u, max_lag)?;
            let theory: Vec<f64> = (1..=max_lag).map(|l| rho.powi(l as i32)).collect();
            let deviation = linear.iter().zip(&theory).map(|(a, b)| (a / b - 1.0).abs()).fold(0.0, f64::max);
            if deviation > 1e-6 {
                return Err(ExperimentError::Invalid(format!(
                    "rho {rho}: the linear regime deviates from rho^lag by {deviation:e}"
                )));
            }
            m.scalar(&format!("rho{rho}_linear_max_rel_deviation_from_theory"), deviation);
            m.scalar(
                &format!("rho{rho}_driven_per_step_factor"),
                (driven[max_lag - 1] / driven[0]).powf(1.0 / (max_lag - 1) as f64),
            );
            for &l in &report_lags {
                m.push_row(
                    "gradient_norm",
                    vec![json!(rho), json!(l), num(linear[l - 1]), num(theory[l - 1]), num(driven[l - 1])],
                )?;
            }
            let pts = |v: &[f64]| v.iter().enumerate().map(|(i, &g)| ((i + 1) as f64, g)).collect::<Vec<_>>();
            chart.add(&format!("rho {rho}: linear regime"), SeriesKind::Crosses, ri, pts(&linear));
            chart.add(&format!("rho {rho}: rho^lag"), SeriesKind::Line, ri, pts(&theory));
            chart.add(&format!("rho {rho}: driven (tanh saturating)"), SeriesKind::Line, ri + 3, pts(&driven));
            ctx.progress(ri as u64 + 1, rhos.len() as u64);
        }
        ctx.figure("gradient_norm_vs_lag", &chart)?;
        Ok(m)
    }
}
