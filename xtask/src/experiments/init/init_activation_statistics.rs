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

use dl_init::gain::engine_gain;
use dl_init::lsuv::{LsuvOptions, lsuv};
use dl_init::statistics::{ActivationStatistics, Flag, analyze_activation_statistics};
use dl_init::{Activation, FanMode, Initializer, MeanField, Scheme};
use dl_layers::Sequential;
use dl_tensor::{Tensor, TensorRng};
use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::init::init_training::{Digits, deep_mlp};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

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
        let data = Digits::load(ctx.seed())?;
        let fit = rows(data.train.features(), 0, batch)?;
        let eval = rows(data.train.features(), batch, batch)?;
        let mut m = Metrics::new();
        m.config("depth", depth);
        m.config("width", width);
        m.config("batch", batch);
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
        let mut rng = ctx.rng();
        let mut done = 0;
        for (aname, act) in &acts {
            let mut var_chart = LineChart::new(
                &format!("{aname}: pre-activation variance by layer (crosses measured, lines mean field)"),
                "layer",
                "Var[h]",
            )
            .scales(Scale::Linear, Scale::Log10);
            let mut grad_chart =
                LineChart::new(&format!("{aname}: backward signal ||dL/dh|| by layer"), "layer", "||dL/dh||")
                    .scales(Scale::Linear, Scale::Log10);
            for (color, &init) in inits.iter().enumerate() {
                ctx.message(format!("{aname} + {}", init.name()));
                let (net, iterations) = build(act, init, width, depth, &fit, &mut rng)?;
                let stats: ActivationStatistics = analyze_activation_statistics(&net, &eval)?;
                let vars = stats.preactivation_variance_series();
                let grads = stats.gradient_norm_series();
                let (v1, vl) = (vars[0].1, vars[depth - 1].1);
                let (g1, gl) = (grads[0].1, grads[depth - 1].1);
                let (q, g) = match init.sigma_w2() {
                    Some(w2) => predict(act, w2, v1, depth, false)?,
                    // LSUV sets every Var[h^l] to 1, i.e. acts as sigma_w2 = gain^2 with
                    // q^l = 1 at every layer (the gain from the expectation engine).
                    None => predict(act, engine_gain(act)?.powi(2), 1.0, depth, true)?,
                };
                let (pred_var, pred_grad) = (Some(q), Some(g));
                for l in 0..depth {
                    let pv = pred_var.as_ref().map_or(json!(null), |q| num(q[l]));
                    let pg = pred_grad.as_ref().map_or(json!(null), |g| num(g[l] * gl));
                    m.push_row(
                        "per_layer",
                        vec![json!(aname), json!(init.name()), json!(l + 1), num(vars[l].1), pv, num(grads[l].1), pg],
                    )?;
                }
                let flags = |f: Flag| stats.flagged(f).len();
                m.push_row(
                    "summary",
                    vec![
                        json!(aname),
                        json!(init.name()),
                        num(vl / v1),
                        pred_var.as_ref().map_or(json!(null), |q| num(q[depth - 1] / q[0])),
                        num(g1 / gl),
                        pred_grad.as_ref().map_or(json!(null), |g| num(g[0])),
                        num(stats.layers[depth - 1].dead_fraction),
                        json!(flags(Flag::VanishingSignal)),
                        json!(flags(Flag::ExplodingSignal)),
                        json!(flags(Flag::VanishingGradient)),
                        json!(flags(Flag::ExplodingGradient)),
                        json!(iterations),
                    ],
                )?;
                var_chart.add(&format!("{} measured", init.name()), SeriesKind::Crosses, color, vars);
                grad_chart.add(&format!("{} measured", init.name()), SeriesKind::Crosses, color, grads);
                if let (Some(q), Some(g)) = (pred_var, pred_grad) {
                    let x = |l: usize| (l + 1) as f64;
                    var_chart.add(
                        &format!("{} mean field", init.name()),
                        SeriesKind::Line,
                        color,
                        q.iter().enumerate().map(|(l, v)| (x(l), *v)).collect(),
                    );
                    grad_chart.add(
                        &format!("{} mean field", init.name()),
                        SeriesKind::Line,
                        color,
                        g.iter().enumerate().map(|(l, v)| (x(l), v * gl)).collect(),
                    );
                }
                done += 1;
                ctx.progress(done, (acts.len() * inits.len()) as u64);
            }
            ctx.figure(&format!("{aname}_variance"), &var_chart)?;
            ctx.figure(&format!("{aname}_gradients"), &grad_chart)?;
        }
        let tanh_he_q_star = MeanField::new(Activation::Tanh, 2.0, 0.0)?.q_star()?;
        m.scalar("tanh_he_q_star", tanh_he_q_star);
        m.scalar("tanh_he_chi_1", MeanField::new(Activation::Tanh, 2.0, 0.0)?.chi_1()?);
        Ok(m)
    }
}
