//! `rnn-gradient-flow`: vanishing and exploding gradients. The norm of
//! `d <u, h_T> / d h_{T - lag}` (`u` a fixed unit vector) against the lag, for a tanh RNN
//! whose recurrent matrix is `rho Q` (`Q` orthogonal, so its spectral radius is exactly
//! `rho`), `rho` in {0.9, 1.0, 1.1}.
//!
//! By the chain rule `dh_T/dh_{T-lag} = prod_{s} diag(tanh'(a_s)) W_hh` (Pascanu, Mikolov &
//! Bengio 2013), so for a linear RNN the norm is `rho^lag` exactly (`Q` preserves norms).
//! Two regimes:
//!
//! - **linear**: zero input and biases and a small initial state, where `tanh' = 1 - O(a^2)`:
//!   the measured norms must follow `rho^lag` (the largest relative deviation is reported).
//!   How small the state must be follows from the size parameters: the pre-activation at
//!   step `s` is at most `rho^s |h_0|` (tanh contracts), `tanh'(a) = 1 - tanh(a)^2 >= 1 - a^2`,
//!   and a product of diagonal factors in `[1 - e_s, 1]` changes a norm by at most
//!   `sum_s e_s`, so the relative deviation from `rho^lag` at every lag up to `max_lag` is at
//!   most `|h_0|^2 sum_{s=1}^{max_lag} rho_max^(2 s)`. The initial state is scaled so that
//!   this bound is [`LINEAR_REGIME_DEVIATION`] (1e-10) whatever `max_lag` is; the check's
//!   threshold adds the rounding of `max_lag` matrix-vector products, `max_lag (hidden + 2)
//!   eps`. (A fixed 1e-6 state broke at `max_lag = 200`, where 1.1^200 ~ 2e8 carried it into
//!   tanh's saturation.) [`RnnGradientFlow::assumptions`] checks that the scaled state stays
//!   far from underflow at `rho_min^max_lag` and the rounding allowance below the bound;
//! - **driven**: inputs `x_t ~ N(0, 1)` through PyTorch-initialised input weights and biases:
//!   `tanh' < 1` shrinks every factor, so the gradient vanishes faster than `rho^lag`, and
//!   even `rho = 1.1` need not explode. The per-step factor `(norm(lag_max) / norm(1))^(1 /
//!   (lag_max - 1))` is reported.
//!
//! The spectral radius of `rho Q` is also estimated by power iteration
//! (`|W^k v|^(1/k)`, k = 200) as a check of the construction.
//!
//! Claims (over 3 replicate seeds at full size: `Q`, `u`, the inputs and the layer's
//! weights are drawn from each): the linear regime follows `rho^lag` within the bound above;
//! the driven regime's per-step factor stays at or below `rho` (the Jacobian of one step
//! is `diag(tanh') W_hh` with `tanh' <= 1`, Pascanu et al. 2013, section 3.1).

use dl_autodiff::{Var, no_grad};
use dl_layers::{LayerError, Recurrent, RecurrentState};
use dl_tensor::{Tensor, TensorRng, seeded_rng};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Assumption, Experiment, Size};
use crate::experiments::backprop::truncated_bptt::orthogonal;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Gradient norm against time lag for recurrent matrices of spectral radius below, at and above 1.
pub struct RnnGradientFlow;

/// The spectral radii compared.
const RHOS: [f64; 3] = [0.9, 1.0, 1.1];

/// The bound on the linear regime's relative deviation from `rho^lag` that the initial
/// state is scaled to (see the module documentation): `tanh' = 1 - O(1e-10)` at every step.
pub const LINEAR_REGIME_DEVIATION: f64 = 1e-10;

/// Power-iteration steps for the spectral radius.
const POWER_STEPS: usize = 200;

/// The sizes of one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Hidden units.
    pub hidden: usize,
    /// Sequences in the batch.
    pub batch: usize,
    /// Input features (driven regime).
    pub input: usize,
    /// The longest lag measured.
    pub max_lag: usize,
    /// Driven steps before the measured window.
    pub warmup: usize,
    /// Replicate seeds.
    pub replicates: usize,
}

impl Params {
    /// The parameters of `size`.
    pub fn at(size: Size) -> Self {
        let (hidden, batch, input, max_lag, warmup) = size.pick((32, 4, 4, 40, 20), (128, 8, 16, 200, 50));
        Params { hidden, batch, input, max_lag, warmup, replicates: size.pick(2, 3) }
    }

    /// `sum_{s=1}^{max_lag} rho_max^(2 s)`: the growth of the squared pre-activation summed
    /// over the linear run.
    fn growth_sum(&self) -> f64 {
        let rho_max = RHOS.iter().copied().fold(0.0, f64::max);
        (1..=self.max_lag).map(|s| rho_max.powi(2 * s as i32)).sum()
    }

    /// The norm of each sequence's initial state in the linear regime: the deviation bound
    /// `|h_0|^2 sum_s rho_max^(2 s)` equals [`LINEAR_REGIME_DEVIATION`].
    pub fn linear_initial_norm(&self) -> f64 {
        (LINEAR_REGIME_DEVIATION / self.growth_sum()).sqrt()
    }

    /// The rounding of `max_lag` matrix-vector products of size `hidden` (relative).
    fn rounding_allowance(&self) -> f64 {
        self.max_lag as f64 * (self.hidden + 2) as f64 * f64::EPSILON
    }

    /// The threshold of the linear-regime check: the tanh bound plus rounding.
    pub fn linear_tolerance(&self) -> f64 {
        LINEAR_REGIME_DEVIATION + self.rounding_allowance()
    }

    /// The smallest linear-regime state, `rho_min^max_lag |h_0|`.
    fn smallest_state(&self) -> f64 {
        let rho_min = RHOS.iter().copied().fold(f64::INFINITY, f64::min);
        rho_min.powi(self.max_lag as i32) * self.linear_initial_norm()
    }
}

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

    fn assumptions(&self, size: Size) -> Vec<Assumption> {
        let p = Params::at(size);
        let bound = p.linear_initial_norm().powi(2) * p.growth_sum();
        vec![
            Assumption::new(
                "the linear regime stays linear: |h_0|^2 sum_s rho_max^(2 s) <= 1e-10 up to the longest lag",
                bound.is_finite() && bound > 0.0 && bound <= LINEAR_REGIME_DEVIATION * (1.0 + 1e-9),
                format!("max_lag {}, |h_0| = {:e}, bound {bound:e}", p.max_lag, p.linear_initial_norm()),
            ),
            Assumption::new(
                "the smallest linear-regime state rho_min^max_lag |h_0| stays far above f64 underflow (1e-280)",
                p.smallest_state() > 1e-280,
                format!("smallest state {:e}", p.smallest_state()),
            ),
            Assumption::new(
                "the rounding allowance max_lag (hidden + 2) eps stays below the tanh bound",
                p.rounding_allowance() <= LINEAR_REGIME_DEVIATION,
                format!("allowance {:e} against {LINEAR_REGIME_DEVIATION:e}", p.rounding_allowance()),
            ),
        ]
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let p = Params::at(ctx.size());
        let seeds = ctx.replicate_seeds(p.replicates);
        let report_lags: Vec<usize> = [1, 2, 5, 10, 20, 40, 100, 200].into_iter().filter(|&l| l <= p.max_lag).collect();
        let mut m = Metrics::new();
        m.config("hidden", p.hidden);
        m.config("batch", p.batch);
        m.config("input", p.input);
        m.config("max_lag", p.max_lag);
        m.config("warmup_steps", p.warmup);
        m.config("rhos", json!(RHOS));
        m.config("replicate_seeds", json!(seeds));
        m.config("linear_initial_state_norm", p.linear_initial_norm());
        m.config("linear_regime_tolerance", p.linear_tolerance());
        m.config("norm", "|d <u, h_T> / d h_(T-lag)|_2, u a unit vector over (batch, hidden)");
        m.table("gradient_norm", &["rho", "lag", "linear_regime", "theory_rho_pow_lag", "driven_regime"]);
        let mut chart = LineChart::new("Gradient norm |dh_T / dh_(T-lag)| against lag", "lag", "gradient norm")
            .scales(Scale::Linear, Scale::Log10);
        let (mut deviations, mut driven_over_rho) = (Vec::new(), Vec::new());
        let mut driven_curves: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); RHOS.len()];
        let total = (seeds.len() * RHOS.len()) as u64;
        for (r, &seed) in seeds.iter().enumerate() {
            let run = replicate(&p, seed)?;
            // rho = 1.1 dominates: its states are the largest (the others' deviations are rounding)
            deviations.push(run.iter().map(|x| x.deviation).fold(0.0, f64::max));
            driven_over_rho.push(run.iter().zip(RHOS).map(|(x, rho)| x.driven_factor / rho).fold(0.0, f64::max));
            let pts = |v: &[f64]| v.iter().enumerate().map(|(i, &g)| ((i + 1) as f64, g)).collect::<Vec<_>>();
            for (ri, (x, rho)) in run.iter().zip(RHOS).enumerate() {
                driven_curves[ri].push(pts(&x.driven));
                if r > 0 {
                    continue;
                }
                // replicate 0 (the run seed) in detail
                let theory: Vec<f64> = (1..=p.max_lag).map(|l| rho.powi(l as i32)).collect();
                m.scalar(&format!("rho{rho}_power_iteration_radius"), x.radius);
                m.scalar(&format!("rho{rho}_driven_per_step_factor"), x.driven_factor);
                for &l in &report_lags {
                    m.push_row(
                        "gradient_norm",
                        vec![json!(rho), json!(l), num(x.linear[l - 1]), num(theory[l - 1]), num(x.driven[l - 1])],
                    )?;
                }
                chart.add(&format!("rho {rho}: linear regime"), SeriesKind::Crosses, ri, pts(&x.linear));
                chart.add(&format!("rho {rho}: rho^lag"), SeriesKind::Line, ri, pts(&theory));
            }
            ctx.progress(((r + 1) * RHOS.len()) as u64, total);
        }
        for (ri, (curves, rho)) in driven_curves.iter().zip(RHOS).enumerate() {
            chart.add_over_seeds(&format!("rho {rho}: driven (tanh saturating)"), SeriesKind::Line, ri + 3, curves);
            let factors: Vec<f64> =
                curves.iter().map(|c| (c[p.max_lag - 1].1 / c[0].1).powf(1.0 / (p.max_lag - 1) as f64)).collect();
            let factors = Measured::over_seeds(&factors);
            m.scalar(&format!("rho{rho}_driven_per_step_factor_mean"), factors.mean);
            m.scalar(&format!("rho{rho}_driven_per_step_factor_spread"), factors.spread);
        }
        ctx.figure("gradient_norm_vs_lag", &chart)?;

        m.claim(
            Claim::new(
                "linear-regime-rho-pow-lag",
                "with tanh' = 1 the gradient norm |dh_T/dh_(T-lag)| of a tanh RNN with W_hh = rho Q (Q orthogonal) \
                 is rho^lag: it vanishes geometrically for rho < 1 and explodes for rho > 1",
                "Pascanu, Mikolov & Bengio 2013, section 2 (eqs. 5-7); Bengio, Simard & Frasconi 1994",
            )
            .measured(
                "largest relative deviation of the linear-regime norm from rho^lag, over rho and lags 1..max_lag",
                Measured::over_seeds(&deviations),
            )
            .criterion(Criterion::at_most(p.linear_tolerance()))
            .note(
                "the threshold is the proven bound |h_0|^2 sum_s rho_max^(2s) = 1e-10 on the tanh curvature \
                 (the initial state is scaled from max_lag to meet it) plus max_lag (hidden + 2) eps of rounding",
            ),
        )?;
        m.claim(
            Claim::new(
                "driven-at-most-rho",
                "when inputs drive tanh away from 0, every step's Jacobian diag(tanh') W_hh has norm at most \
                 rho max tanh' <= rho: the gradient decays at least as fast as rho^lag, so rho > 1 need not explode",
                "Pascanu, Mikolov & Bengio 2013, section 3.1 (the bound ||diag(sigma')|| <= gamma)",
            )
            .measured(
                "largest driven per-step factor (norm(max_lag) / norm(1))^(1 / (max_lag - 1)) divided by rho",
                Measured::over_seeds(&driven_over_rho),
            )
            .criterion(Criterion::at_most(1.0)),
        )?;
        Ok(m)
    }
}

/// What one replicate measures for one `rho`.
struct RhoRun {
    radius: f64,
    linear: Vec<f64>,
    driven: Vec<f64>,
    deviation: f64,
    driven_factor: f64,
}

/// One replicate: `Q`, `u`, inputs, initial state and layers drawn from `seed`.
fn replicate(p: &Params, seed: u64) -> Result<Vec<RhoRun>, ExperimentError> {
    let (hidden, batch, max_lag) = (p.hidden, p.batch, p.max_lag);
    let mut rng = seeded_rng(seed);
    let q = orthogonal(hidden, &mut rng)?;
    let u = Tensor::<f64>::randn(&[1, batch, hidden], &mut rng);
    let un = u.to_vec().iter().map(|a| a * a).sum::<f64>().sqrt();
    let u = u.mul_scalar(1.0 / un);
    let x_driven = Tensor::<f64>::randn(&[p.warmup + max_lag, batch, p.input], &mut rng);
    // every sequence's initial state scaled to norm linear_initial_norm
    let h0 = Tensor::<f64>::randn(&[1, batch, hidden], &mut rng).to_vec();
    let h0: Vec<f64> = h0
        .chunks(hidden)
        .flat_map(|h| {
            let n = h.iter().map(|a| a * a).sum::<f64>().sqrt();
            h.iter().map(move |a| a * p.linear_initial_norm() / n).collect::<Vec<_>>()
        })
        .collect();
    let h0_small = Tensor::from_vec(h0, &[1, batch, hidden])?;
    let mut out = Vec::with_capacity(RHOS.len());
    for rho in RHOS {
        let w = q.mul_scalar(rho);
        let radius = power_iteration_radius(&w, POWER_STEPS, &mut rng)?;
        let layer = Recurrent::<f64>::rnn_tanh(p.input, hidden, &mut rng);
        layer.directions[0].weight_hh.set(w.clone()).map_err(layer_err)?;
        // driven regime: default input weights and biases, Gaussian inputs
        let driven = gradient_norms(&layer, &x_driven, &Tensor::zeros(&[1, batch, hidden]), &u, max_lag)?;
        // linear regime: no input, no bias, small state
        let d = &layer.directions[0];
        d.bias_ih.set(Tensor::zeros(&d.bias_ih.shape())).map_err(layer_err)?;
        d.bias_hh.set(Tensor::zeros(&d.bias_hh.shape())).map_err(layer_err)?;
        let linear = gradient_norms(&layer, &Tensor::zeros(&[max_lag, batch, p.input]), &h0_small, &u, max_lag)?;
        let deviation =
            linear.iter().enumerate().map(|(i, a)| (a / rho.powi(i as i32 + 1) - 1.0).abs()).fold(0.0, f64::max);
        let driven_factor = (driven[max_lag - 1] / driven[0]).powf(1.0 / (max_lag - 1) as f64);
        out.push(RhoRun { radius, linear, driven, deviation, driven_factor });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scaled_state_keeps_tanh_linear_at_every_size() {
        for size in [Size::Quick, Size::Full] {
            let p = Params::at(size);
            let bound = p.linear_initial_norm().powi(2) * p.growth_sum();
            assert!((bound / LINEAR_REGIME_DEVIATION - 1.0).abs() < 1e-9, "{size:?}: {bound:e}");
            assert!(RnnGradientFlow.assumptions(size).iter().all(|a| a.holds), "{size:?}");
        }
        // the 1e-6 state of the first version breaks the bound at full size
        let full = Params::at(Size::Full);
        assert!(1e-12 * full.growth_sum() > 1e3, "1e-6 would leave the linear range");
    }

    /// The bound of the module documentation on a direct loop: the recurrence
    /// `h_s = tanh(rho Q h_(s-1))` in 2-d (`Q` a rotation) from a state of the scaled norm,
    /// where the product of the smallest `tanh'` of each step bounds the deviation.
    #[test]
    fn a_direct_tanh_recurrence_stays_within_the_bound() {
        // 2-d rotation by 0.3 rad times rho = 1.1, 200 steps, |h_0| from the bound
        let p = Params::at(Size::Full);
        let (c, s, rho) = (0.3f64.cos(), 0.3f64.sin(), 1.1);
        let mut h = [p.linear_initial_norm(), 0.0];
        let mut factor = 1.0; // product of the smallest tanh' along the way (lower bound)
        for _ in 0..p.max_lag {
            let a = [rho * (c * h[0] - s * h[1]), rho * (s * h[0] + c * h[1])];
            h = [a[0].tanh(), a[1].tanh()];
            let smallest = a.iter().map(|x| 1.0 - x.tanh().powi(2)).fold(1.0, f64::min);
            factor *= smallest;
        }
        assert!(1.0 - factor <= LINEAR_REGIME_DEVIATION, "deviation {:e}", 1.0 - factor);
        assert!(1.0 - factor > 0.0, "the curvature term is not zero, so the bound is not vacuous");
    }
}
