//! `init-activation-statistics`: per-layer statistics of deep ReLU and tanh MLPs on the
//! digits under Xavier, He and LSUV, measured with `dl_init::analyze_activation_statistics`
//! and set against the mean-field prediction.
//!
//! Networks: `depth` layers `Linear(width) + phi` on standardised digits (64 inputs), no
//! biases' variance (sigma_b2 = 0). Hidden layers have fan_in = fan_out = width, so Xavier
//! is sigma_w2 = 1 and He (gain sqrt 2, fan_in) sigma_w2 = 2. LSUV (tol 0.1, 10 iterations)
//! is fitted on one batch of digits and measured on another.
//!
//! What theory predicts (mean field, Poole et al. 2016; the prediction is computed, not
//! assumed): the pre-activation variance follows the length map
//! `q^{l+1} = sigma_w2 E[phi(sqrt(q^l) z)^2]` from the measured first layer, and the
//! backward signal changes by `sqrt(chi_1(q^l))`, `chi_1(q) = sigma_w2 E[phi'(sqrt q z)^2]`,
//! per layer. So
//! - ReLU + Xavier: `q` halves per layer (2^-L): vanishing signal; chi_1 = 1/2, so the
//!   backward signal shrinks by sqrt(1/2) per layer towards the input;
//! - ReLU + He: `q` constant and chi_1 = 1: both preserved (critical);
//! - tanh + Xavier: sigma_w2 = 1 is tanh's critical point at q* = 0: `q` decays slowly
//!   (~ 1 / (2l)), gradients are nearly preserved;
//! - tanh + He: sigma_w2 = 2 is in the chaotic phase: `q` settles at q* = 0.618 (reported
//!   as `tanh_he_q_star`), where chi_1 = 1.106 > 1, so the backward signal grows by
//!   sqrt(chi_1) ~ 1.05 per layer towards the input: it explodes, geometrically but slowly
//!   (a factor 1e3 needs ~140 layers);
//! - LSUV: every pre-activation variance is 1 by construction, which acts like
//!   sigma_w2 = gain^2 = 1 / E[phi(z)^2] at q = 1: for ReLU that is He (chi_1 = 1), for
//!   tanh sigma_w2 = 2.54, chaotic (chi_1 = 1.17), so LSUV'd tanh networks have gradients
//!   growing towards the input faster than He's.
//!
//! Measured at full size (depth 30, width 256, seed 0): ReLU + Xavier loses the signal as
//! predicted (variance ratio 1.7e-9 against 2^-29 = 1.9e-9; 20 layers flagged vanishing,
//! 5 with vanishing gradients); tanh + Xavier and
//! tanh + He follow the length map within a few per cent, and their gradient ratios match
//! (0.215 against 0.215; 3.3 against 2.7); tanh + LSUV's backward growth is 11.4 against
//! 10.7 predicted. ReLU + He keeps the forward variance (1.15 against 1) but its backward
//! signal grows 4.5x over 30 layers where mean field predicts 1, with ~30% of the last
//! layer's units dead on the whole batch: a finite-width effect (fluctuations of order
//! depth / width, Hanin 2018) that the infinite-width theory does not see.
//!
//! Reported per configuration: the measured and predicted variance ratio last / first
//! layer, the measured and predicted gradient ratio first / last layer, dead units, and the
//! layers flagged vanishing or exploding (thresholds 1e-3 and 1e3).
//!
//! Claims, over replicate seeds (3 at full size; each draws the split, the batches and
//! every network), with the tables giving replicate 0 (the run seed) and the figures the
//! mean and spread of the measured curves:
//!
//! - ReLU + Xavier halves the variance per layer and ReLU + He keeps it (He et al. 2015,
//!   section 2.2): the per-layer factor `(Var_L / Var_1)^(1 / (L - 1))` is 1/2 and 1 within
//!   0.05 (finite-width corrections are O(1 / width) per layer);
//! - tanh's variance follows the length map (Poole et al. 2016): measured over predicted
//!   variance ratio within 10% (Xavier and He; partly 25%);
//! - tanh's backward signal follows `sqrt(chi_1)` per layer (Schoenholz et al. 2017): the
//!   measured gradient ratio within a factor 1.5 of the prediction (Xavier, He and LSUV;
//!   partly 2);
//! - mean field predicts that ReLU + He (and ReLU + LSUV, which acts as He) keeps the
//!   backward signal: gradient ratio 1 within a factor 1.5 (partly 2). At width 256 and
//!   depth 30 the finite-width fluctuations (Hanin 2018: of order depth / width in the log)
//!   are expected to break it.

use dl_init::gain::engine_gain;
use dl_init::lsuv::{LsuvOptions, lsuv};
use dl_init::statistics::{ActivationStatistics, Flag, analyze_activation_statistics};
use dl_init::{Activation, FanMode, Initializer, MeanField, Scheme};
use dl_layers::Sequential;
use dl_tensor::{Tensor, TensorRng, seeded_rng};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::{RunContext, derive_seed};
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::init::init_training::{Digits, deep_mlp};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Activation statistics of deep ReLU and tanh networks under Xavier, He and LSUV.
pub struct InitActivationStatistics;

#[derive(Clone, Copy, PartialEq)]
enum Init {
    Xavier,
    He,
    Lsuv,
}

impl Init {
    fn name(self) -> &'static str {
        match self {
            Init::Xavier => "xavier",
            Init::He => "he",
            Init::Lsuv => "lsuv",
        }
    }
    /// sigma_w2 of the hidden layers (fan_in = fan_out = width); None for LSUV.
    fn sigma_w2(self) -> Option<f64> {
        match self {
            Init::Xavier => Some(1.0),
            Init::He => Some(2.0),
            Init::Lsuv => None,
        }
    }
}

/// The first `n` rows of a (N, d) tensor from row `start`.
fn rows(x: &Tensor<f32>, start: usize, n: usize) -> Result<Tensor<f32>, ExperimentError> {
    Ok(x.narrow(0, start, n)?.contiguous())
}

fn build(
    act: &Activation,
    init: Init,
    width: usize,
    depth: usize,
    fit: &Tensor<f32>,
    rng: &mut TensorRng,
) -> Result<(Sequential<f32>, usize), ExperimentError> {
    let scheme = match init {
        Init::Xavier => Scheme::XavierNormal { gain: 1.0 },
        Init::He => Scheme::KaimingNormal { gain: 2f64.sqrt(), mode: FanMode::FanIn },
        Init::Lsuv => Scheme::Orthogonal { gain: 1.0 },
    };
    let hidden = deep_mlp(64, width, depth, None, act, &Initializer::new(scheme), rng)?;
    let mut iterations = 0;
    if init == Init::Lsuv {
        let report = lsuv(&hidden, fit, LsuvOptions::default(), rng)?;
        iterations = report.iter().map(|r| r.iterations).sum();
        if let Some(bad) = report.iter().find(|r| !r.converged) {
            return Err(ExperimentError::Invalid(format!(
                "LSUV did not converge at layer {} ({})",
                bad.index, bad.layer
            )));
        }
    }
    Ok((hidden, iterations))
}

/// Mean-field predictions anchored at the measured first layer: q^l and the ratio
/// ||delta^l|| / ||delta^L||.
/// With `fixed_q`, every layer is held at q1 (LSUV's normalisation) instead of following
/// the length map.
fn predict(
    act: &Activation,
    sigma_w2: f64,
    q1: f64,
    depth: usize,
    fixed_q: bool,
) -> Result<(Vec<f64>, Vec<f64>), ExperimentError> {
    let mf = MeanField::new(act.clone(), sigma_w2, 0.0)?;
    let q = if fixed_q { vec![q1; depth] } else { mf.length_map_iterates(q1, depth - 1)? };
    let mut grad = vec![1.0; depth];
    for l in (0..depth - 1).rev() {
        // delta^l = phi'(h^l) * W^{l+1 T} delta^{l+1}: E|delta^l|^2 = chi_1(q^l) E|delta^{l+1}|^2
        grad[l] = grad[l + 1] * mf.chi_1_at(q[l])?.sqrt();
    }
    Ok((q, grad))
}

/// One network's measurement.
struct Measurement {
    stats: ActivationStatistics,
    iterations: usize,
}

/// Builds the network of `(act, init)` from `seed` (LSUV fitted on the first batch of the
/// split of `data_seed`) and measures it on the second batch.
fn measure(
    act: &Activation,
    init: Init,
    (width, depth, batch): (usize, usize, usize),
    data_seed: u64,
    seed: u64,
) -> Result<Measurement, ExperimentError> {
    let data = Digits::load(data_seed)?;
    let fit = rows(data.train.features(), 0, batch)?;
    let eval = rows(data.train.features(), batch, batch)?;
    let (net, iterations) = build(act, init, width, depth, &fit, &mut seeded_rng(seed))?;
    Ok(Measurement { stats: analyze_activation_statistics(&net, &eval)?, iterations })
}

impl Experiment for InitActivationStatistics {
    fn id(&self) -> &'static str {
        "init-activation-statistics"
    }
    fn title(&self) -> &'static str {
        "Activation statistics of deep ReLU and tanh networks under Xavier, He and LSUV, against mean-field theory"
    }
    fn section(&self) -> &'static str {
        "03 initialisation, signal propagation"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (depth, width, batch) = (size.pick(12, 30), size.pick(64, 256), size.pick(256, 512));
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let mut m = Metrics::new();
        m.config("depth", depth);
        m.config("width", width);
        m.config("batch", batch);
        m.config("replicate_seeds", json!(seeds));
        m.config("data", "digits (standardised), LSUV fitted on one batch, statistics on the next");
        m.config("loss_for_gradients", "(1/N) sum of the last hidden layer's outputs");
        m.config("flag_thresholds", json!({"vanishing": dl_init::statistics::VANISHING_RATIO, "exploding": dl_init::statistics::EXPLODING_RATIO}));
        m.table(
            "summary",
            &[
                "activation",
                "init",
                "variance_ratio_last_over_first",
                "predicted_variance_ratio",
                "gradient_ratio_first_over_last",
                "predicted_gradient_ratio",
                "dead_fraction_last_layer",
                "vanishing_signal_layers",
                "exploding_signal_layers",
                "vanishing_gradient_layers",
                "exploding_gradient_layers",
                "lsuv_rescalings",
            ],
        );
        m.table(
            "per_layer",
            &[
                "activation",
                "init",
                "layer",
                "preactivation_variance",
                "predicted_variance",
                "gradient_norm",
                "predicted_gradient_norm",
            ],
        );
        let acts = [("relu", Activation::Relu), ("tanh", Activation::Tanh)];
        let inits = [Init::Xavier, Init::He, Init::Lsuv];
        // every (replicate, activation, initialisation) is an independent network
        let jobs: Vec<(u64, usize, usize)> = seeds
            .iter()
            .flat_map(|&s| (0..acts.len()).flat_map(move |a| (0..inits.len()).map(move |i| (s, a, i))))
            .collect();
        let measured = par_map(ctx, &jobs, |&(seed, a, i)| {
            let net_seed = derive_seed(seed, "network", (a * inits.len() + i) as u64);
            measure(&acts[a].1, inits[i], (width, depth, batch), seed, net_seed)
        })?;
        let at = |r: usize, a: usize, i: usize| &measured[(r * acts.len() + a) * inits.len() + i];
        // per replicate: the quantities of the claims
        let mut claims_data: Vec<[f64; 5]> = Vec::new();
        for r in 0..seeds.len() {
            let mut relu_factor = [0.0; 2];
            let (mut tanh_var, mut tanh_grad, mut relu_grad) = (0.0f64, 0.0f64, 0.0f64);
            for (a, (_, act)) in acts.iter().enumerate() {
                for (i, &init) in inits.iter().enumerate() {
                    let stats = &at(r, a, i).stats;
                    let (vars, grads) = (stats.preactivation_variance_series(), stats.gradient_norm_series());
                    let (v1, vl, g1, gl) = (vars[0].1, vars[depth - 1].1, grads[0].1, grads[depth - 1].1);
                    let (q, g) = prediction(act, init, v1, depth)?;
                    let var_err = (vl / v1) / (q[depth - 1] / q[0]);
                    let grad_err = ((g1 / gl) / g[0]).ln().abs();
                    match (a, init) {
                        (0, Init::Xavier) => relu_factor[0] = (vl / v1).powf(1.0 / (depth - 1) as f64),
                        (0, Init::He) => {
                            relu_factor[1] = (vl / v1).powf(1.0 / (depth - 1) as f64);
                            relu_grad = relu_grad.max(grad_err);
                        }
                        (0, Init::Lsuv) => relu_grad = relu_grad.max(grad_err),
                        (1, Init::Lsuv) => tanh_grad = tanh_grad.max(grad_err),
                        (1, _) => {
                            tanh_var = tanh_var.max((var_err - 1.0).abs());
                            tanh_grad = tanh_grad.max(grad_err);
                        }
                        _ => {}
                    }
                }
            }
            claims_data.push([relu_factor[0], relu_factor[1], tanh_var, tanh_grad.exp(), relu_grad.exp()]);
        }
        for (a, (aname, act)) in acts.iter().enumerate() {
            let mut var_chart = LineChart::new(
                &format!("{aname}: pre-activation variance by layer (crosses measured, lines mean field)"),
                "layer",
                "Var[h]",
            )
            .scales(Scale::Linear, Scale::Log10);
            let mut grad_chart =
                LineChart::new(&format!("{aname}: backward signal ||dL/dh|| by layer"), "layer", "||dL/dh||")
                    .scales(Scale::Linear, Scale::Log10);
            for (i, &init) in inits.iter().enumerate() {
                let Measurement { stats, iterations } = at(0, a, i);
                let vars = stats.preactivation_variance_series();
                let grads = stats.gradient_norm_series();
                let (v1, vl) = (vars[0].1, vars[depth - 1].1);
                let (g1, gl) = (grads[0].1, grads[depth - 1].1);
                let (q, g) = prediction(act, init, v1, depth)?;
                for l in 0..depth {
                    m.push_row(
                        "per_layer",
                        vec![
                            json!(aname),
                            json!(init.name()),
                            json!(l + 1),
                            num(vars[l].1),
                            num(q[l]),
                            num(grads[l].1),
                            num(g[l] * gl),
                        ],
                    )?;
                }
                let flags = |f: Flag| stats.flagged(f).len();
                m.push_row(
                    "summary",
                    vec![
                        json!(aname),
                        json!(init.name()),
                        num(vl / v1),
                        num(q[depth - 1] / q[0]),
                        num(g1 / gl),
                        num(g[0]),
                        num(stats.layers[depth - 1].dead_fraction),
                        json!(flags(Flag::VanishingSignal)),
                        json!(flags(Flag::ExplodingSignal)),
                        json!(flags(Flag::VanishingGradient)),
                        json!(flags(Flag::ExplodingGradient)),
                        json!(iterations),
                    ],
                )?;
                let over = |pick: fn(&ActivationStatistics) -> Vec<(f64, f64)>| {
                    (0..seeds.len()).map(|r| pick(&at(r, a, i).stats)).collect::<Vec<_>>()
                };
                let label = format!("{} measured", init.name());
                var_chart.add_over_seeds(&label, SeriesKind::Crosses, i, &over(|s| s.preactivation_variance_series()));
                grad_chart.add_over_seeds(&label, SeriesKind::Crosses, i, &over(|s| s.gradient_norm_series()));
                let x = |l: usize| (l + 1) as f64;
                var_chart.add(
                    &format!("{} mean field", init.name()),
                    SeriesKind::Line,
                    i,
                    q.iter().enumerate().map(|(l, v)| (x(l), *v)).collect(),
                );
                grad_chart.add(
                    &format!("{} mean field", init.name()),
                    SeriesKind::Line,
                    i,
                    g.iter().enumerate().map(|(l, v)| (x(l), v * gl)).collect(),
                );
            }
            ctx.figure(&format!("{aname}_variance"), &var_chart)?;
            ctx.figure(&format!("{aname}_gradients"), &grad_chart)?;
        }
        let tanh_he_q_star = MeanField::new(Activation::Tanh, 2.0, 0.0)?.q_star()?;
        m.scalar("tanh_he_q_star", tanh_he_q_star);
        m.scalar("tanh_he_chi_1", MeanField::new(Activation::Tanh, 2.0, 0.0)?.chi_1()?);
        let over = |k: usize| Measured::over_seeds(&claims_data.iter().map(|c| c[k]).collect::<Vec<_>>());
        m.claim(
            Claim::new(
                "relu-xavier-halves-variance",
                "ReLU with sigma_w2 = 1 (Xavier at fan_in = fan_out) halves the pre-activation variance per layer",
                "He et al. 2015, section 2.2; Poole et al. 2016 (length map)",
            )
            .measured("per-layer variance factor (Var_L / Var_1)^(1 / (L - 1))", over(0))
            .criterion(Criterion::within(0.5, 0.05)),
        )?;
        m.claim(
            Claim::new(
                "relu-he-keeps-variance",
                "ReLU with sigma_w2 = 2 (He) keeps the pre-activation variance from layer to layer",
                "He et al. 2015, section 2.2",
            )
            .measured("per-layer variance factor (Var_L / Var_1)^(1 / (L - 1))", over(1))
            .criterion(Criterion::within(1.0, 0.05)),
        )?;
        m.claim(
            Claim::new(
                "tanh-follows-length-map",
                "the pre-activation variance of a deep tanh network follows the mean-field length map q -> sigma_w2 \
                 E[tanh(sqrt(q) z)^2]",
                "Poole et al. 2016, eq. 3",
            )
            .measured("largest |measured / predicted variance ratio - 1| over Xavier and He", over(2))
            .criterion(Criterion::at_most(0.1))
            .partly_if(Criterion::at_most(0.25)),
        )?;
        m.claim(
            Claim::new(
                "tanh-backward-follows-chi",
                "the backward signal of a deep tanh network changes by sqrt(chi_1(q^l)) per layer",
                "Schoenholz et al. 2017, section 4 (gradient backpropagation)",
            )
            .measured("largest factor between measured and predicted gradient ratio, over Xavier, He and LSUV", over(3))
            .criterion(Criterion::at_most(1.5))
            .partly_if(Criterion::at_most(2.0)),
        )?;
        m.claim(
            Claim::new(
                "relu-he-keeps-backward-signal",
                "at ReLU's critical point (He, and LSUV, which acts as He) chi_1 = 1: mean field predicts that the \
                 backward signal neither grows nor shrinks with depth",
                "Schoenholz et al. 2017; He et al. 2015, section 2.2 (backward case)",
            )
            .measured("largest factor between measured and predicted gradient ratio (1), over He and LSUV", over(4))
            .criterion(Criterion::at_most(1.5))
            .partly_if(Criterion::at_most(2.0))
            .note(
                "mean field is an infinite-width theory: at width 256 and depth 30 the log of the gradient norm \
                 fluctuates by O(depth / width) and ReLU units die on the whole batch (Hanin 2018), which the \
                 prediction does not see",
            ),
        )?;
        Ok(m)
    }
}

/// Mean-field variance and gradient predictions of `(act, init)` anchored at the measured
/// first-layer variance `v1` (LSUV: every variance 1, as `sigma_w2 = gain^2`).
fn prediction(act: &Activation, init: Init, v1: f64, depth: usize) -> Result<(Vec<f64>, Vec<f64>), ExperimentError> {
    match init.sigma_w2() {
        Some(w2) => predict(act, w2, v1, depth, false),
        None => predict(act, engine_gain(act)?.powi(2), 1.0, depth, true),
    }
}
