//! `compositional-deep-vs-shallow`: a hierarchical compositional function of 8 inputs
//! (Mhaskar & Poggio 2016), `f = h(h(h(x1, x2), h(x3, x4)), h(h(x5, x6), h(x7, x8)))` with
//! `h(a, b) = tanh(a + b + a b)`, learned by deep networks whose graph is the tree (every
//! node its own small network of `m` ReLU units on two inputs) and by shallow networks
//! (one dense hidden layer of `W` ReLU units on all 8 inputs).
//!
//! Each network is trained by Adam on the mean squared error on `x ~ U[-1, 1]^8` and its
//! relative test error `MSE / Var(f)` measured on held-out points, against its parameter
//! count. Mhaskar & Poggio's Theorem 2 (and Poggio et al. 2017, Theorem 2): for the same
//! accuracy the shallow network needs `O(eps^{-d/m})` parameters, the deep one matching the
//! structure `O((d - 1) eps^{-2/m})`. Measured: the parameters each family needs to reach
//! the smallest error both reach, and the slopes of log error against log parameters.
//!
//! Full size: `m = 1, 2, 4, 8, 16, 32`, `W = 4, 8, ..., 256`, 4000 training and 2000 test
//! points, 3000 Adam steps of 256, 3 seeds; quick: `m = 2, 8`, `W = 4, 32`, 1000 / 500
//! points, 400 steps, 1 seed. The tree network takes a batch as one sequence `(1, 8, B)`
//! whose length axis holds the examples, so that each level is one matrix product per
//! group.

use dl_autodiff::{Var, no_grad};
use dl_layers::{Module, Sequential, mse};
use dl_tensor::{Tensor, seeded_rng};
use dl_theory::expressivity::{CompositionalTarget, NodeFunction, shallow_network, tree_network};
use serde_json::json;

use super::training::{Regression, fit_mse, mean_sd, rows, slope};
use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Deep (structured) against shallow on a compositional function.
pub struct CompositionalDeepVsShallow;

/// `n` points of `U[-1, 1]^8` and the target at them.
fn sample(f: &CompositionalTarget, n: usize, seed: u64) -> Result<(Tensor<f64>, Tensor<f64>), ExperimentError> {
    let d = f.inputs();
    let x = Tensor::<f64>::rand_uniform(&[n, d], -1.0, 1.0, &mut seeded_rng(seed))?;
    let xv = x.to_vec();
    let y: Vec<f64> = xv.chunks_exact(d).map(|r| f.evaluate(r)).collect::<Result<_, _>>()?;
    Ok((x, Tensor::from_vec(y, &[n, 1])?))
}

/// A batch `x (B, 8)`, `y (B, 1)` as the tree network takes it: one sequence `(1, 8, B)`
/// whose length axis holds the examples (a 1x1 convolution acts on each position alike, and
/// each level is then one matrix product per group instead of one per example), and
/// `y (1, B)`.
fn channels(x: Tensor<f64>, y: Tensor<f64>) -> Result<(Tensor<f64>, Tensor<f64>), ExperimentError> {
    let (b, d) = (x.shape()[0], x.shape()[1]);
    Ok((x.t()?.contiguous().reshape(&[1, d, b])?, y.reshape(&[1, b])?))
}

/// The relative test error `MSE / Var(y)`.
fn relative_error(
    net: &Sequential<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    layout: super::training::Layout<'_>,
) -> Result<f64, ExperimentError> {
    let (xl, yl) = layout(x.clone(), y.clone())?;
    let pred = no_grad(|| net.forward(&Var::constant(xl)))?;
    let err = mse(&pred, &Var::constant(yl))?.value().item()?;
    let yv = y.to_vec();
    let (mean, _) = mean_sd(&yv);
    let var = yv.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / yv.len() as f64;
    Ok(err / var)
}

/// The parameters a family needs to reach `target`: the first crossing of its
/// `(parameters, error)` curve (in increasing parameters), interpolated linearly in
/// `log parameters` against `log error`. `None` if it never reaches it.
fn params_to_reach(curve: &[(f64, f64)], target: f64) -> Option<f64> {
    if curve.first()?.1 <= target {
        return Some(curve[0].0);
    }
    curve.windows(2).find(|w| w[1].1 <= target).map(|w| {
        let (p0, e0, p1, e1) = (w[0].0.ln(), w[0].1.ln(), w[1].0.ln(), w[1].1.ln());
        let s = if e1 == e0 { 1.0 } else { (target.ln() - e0) / (e1 - e0) };
        (p0 + s * (p1 - p0)).exp()
    })
}

impl Experiment for CompositionalDeepVsShallow {
    fn id(&self) -> &'static str {
        "compositional-deep-vs-shallow"
    }
    fn title(&self) -> &'static str {
        "A binary-tree compositional function of 8 inputs: deep networks matching the tree against shallow ones, error against parameters"
    }
    fn section(&self) -> &'static str {
        "01 expressivity"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let f = CompositionalTarget::new(3, NodeFunction::TanhQuadratic)?;
        let ms: Vec<usize> = size.pick(vec![2, 8], vec![1, 2, 4, 8, 16, 32]);
        let ws: Vec<usize> = size.pick(vec![4, 32], vec![4, 8, 16, 32, 64, 128, 256]);
        let (n_train, n_test) = size.pick((1000, 500), (4000, 2000));
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let steps = size.pick(400, 3000);
        let mut m = Metrics::new();
        m.config("target", "h(h(h(x1,x2),h(x3,x4)),h(h(x5,x6),h(x7,x8))), h(a,b) = tanh(a + b + ab), x ~ U[-1,1]^8");
        m.config("deep_units_per_node", json!(ms));
        m.config("shallow_widths", json!(ws));
        m.config("n_train", n_train);
        m.config("n_test", n_test);
        m.config("training", json!({"optimiser": "adam", "lr": 3e-3, "steps": steps, "batch": 256, "loss": "mse"}));
        m.config("seeds", seeds.len());
        m.table("runs", &["family", "size", "parameters", "seed", "relative_test_error", "train_mse"]);

        // per seed: the (parameters, error) curve of each family
        let mut curves: Vec<[Vec<(f64, f64)>; 2]> = vec![[Vec::new(), Vec::new()]; seeds.len()];
        let data: Vec<_> = (0..seeds.len())
            .map(|r| {
                Ok((
                    sample(&f, n_train, ctx.point_seed("train", r as u64))?,
                    sample(&f, n_test, ctx.point_seed("test", r as u64))?,
                ))
            })
            .collect::<Result<_, ExperimentError>>()?;
        // every (replicate, family, size) is an independent run: spread over the cores
        let items: Vec<(usize, &str, usize)> = (0..seeds.len())
            .flat_map(|r| ms.iter().map(move |&s| (r, "deep", s)).chain(ws.iter().map(move |&s| (r, "shallow", s))))
            .collect();
        let results = {
            let ctx = &*ctx;
            par_map(ctx, &items, |&(r, family, s)| {
                let ((x, y), (xt, yt)) = &data[r];
                let init = ctx.point_seed(&format!("{family}{s}"), r as u64);
                let mut rng = seeded_rng(init);
                let (net, layout): (Sequential<f64>, super::training::Layout<'_>) = if family == "deep" {
                    (tree_network(3, s, &mut rng)?, &channels)
                } else {
                    (shallow_network(8, s, &mut rng)?, &rows)
                };
                let cfg = Regression { steps, lr: 3e-3, batch: Some(256), seed: init ^ 1 };
                let train = fit_mse(&net, x, y, cfg, layout)?;
                let err = relative_error(&net, xt, yt, layout)?;
                Ok((Module::<f64>::num_parameters(&net) as f64, err, train))
            })?
        };
        for (&(r, family, s), &(params, err, train)) in items.iter().zip(&results) {
            m.push_row("runs", vec![json!(family), json!(s), num(params), json!(seeds[r]), num(err), num(train)])?;
            curves[r][(family == "shallow") as usize].push((params, err));
        }
        // the error both families reach, the parameters each needs for it, and the slopes
        let mut ratios = Vec::new();
        let mut slope_gaps = Vec::new();
        m.table(
            "per_seed",
            &["seed", "common_error", "deep_parameters", "shallow_parameters", "ratio", "deep_slope", "shallow_slope"],
        );
        for (r, [deep, shallow]) in curves.iter().enumerate() {
            let best = |c: &[(f64, f64)]| c.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let common = best(deep).max(best(shallow));
            let (pd, ps) = (params_to_reach(deep, common), params_to_reach(shallow, common));
            let ratio = match (pd, ps) {
                (Some(d), Some(s)) => s / d,
                _ => f64::NAN,
            };
            let fit = |c: &[(f64, f64)]| {
                slope(&c.iter().map(|p| p.0.ln()).collect::<Vec<_>>(), &c.iter().map(|p| p.1.ln()).collect::<Vec<_>>())
            };
            let (sd, ss) = (fit(deep), fit(shallow));
            ratios.push(ratio);
            slope_gaps.push(sd - ss);
            m.push_row(
                "per_seed",
                vec![
                    json!(seeds[r]),
                    num(common),
                    num(pd.unwrap_or(f64::NAN)),
                    num(ps.unwrap_or(f64::NAN)),
                    num(ratio),
                    num(sd),
                    num(ss),
                ],
            )?;
        }
        m.claim(
            Claim::new(
                "fewer-parameters-for-the-same-error",
                "for a hierarchical compositional function, a deep network matching its structure needs far fewer parameters than a shallow one for the same accuracy",
                "Mhaskar & Poggio 2016, Theorem 2; Poggio et al. 2017, Theorems 1-2",
            )
            .measured(
                "shallow parameters / deep parameters needed to reach the smallest relative test error both families reach",
                Measured::over_seeds(&ratios),
            )
            .criterion(Criterion::at_least(2.0))
            .partly_if(Criterion::at_least(1.0))
            .note("the rates are upper bounds for the best approximant; here both families are trained by Adam with the same budget, so optimisation is part of what is measured"),
        )?;
        m.claim(
            Claim::new(
                "deep-error-falls-faster",
                "the error of the structured deep network falls faster with its size than the shallow network's (rate eps^(-2/m) against eps^(-d/m) in the parameters)",
                "Mhaskar & Poggio 2016, Theorem 2",
            )
            .measured(
                "slope of log relative test error against log parameters: deep minus shallow",
                Measured::over_seeds(&slope_gaps),
            )
            .criterion(Criterion::at_most(0.0)),
        )?;

        // mean curves over seeds
        let band = |family: usize| -> Vec<(f64, f64, f64)> {
            let len = curves[0][family].len();
            (0..len)
                .map(|i| {
                    let errs: Vec<f64> = curves.iter().map(|c| c[family][i].1).collect();
                    let (mean, sd) = mean_sd(&errs);
                    (curves[0][family][i].0, mean, sd)
                })
                .collect()
        };
        let (deep_band, shallow_band) = (band(0), band(1));
        for (name, b) in [("deep", &deep_band), ("shallow", &shallow_band)] {
            let best = b.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            m.scalar(&format!("{name}_best_relative_error"), best);
        }
        m.scalar("parameter_ratio_mean", mean_sd(&ratios).0);
        let mut chart =
            LineChart::new("hierarchical compositional function of 8 inputs", "parameters", "relative test MSE")
                .scales(Scale::Log10, Scale::Log10);
        chart.add_with_band("deep, matching the tree (m units per node)", 0, &deep_band);
        chart.add_with_band("shallow, one hidden layer of W units", 1, &shallow_band);
        let common = deep_band
            .iter()
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min)
            .max(shallow_band.iter().map(|p| p.1).fold(f64::INFINITY, f64::min));
        let span: Vec<f64> = deep_band.iter().chain(&shallow_band).map(|p| p.0).collect();
        let (lo, hi) = (span.iter().copied().fold(f64::INFINITY, f64::min), span.iter().copied().fold(0.0, f64::max));
        chart.add("smallest error both reach (mean curves)", SeriesKind::Line, 2, vec![(lo, common), (hi, common)]);
        ctx.figure("error_against_parameters", &chart)?;
        Ok(m)
    }
}
