//! The Levenberg–Marquardt method for non-linear least squares `min_x ½ ‖r(x)‖²`
//! (Levenberg 1944; Marquardt 1963), with Marquardt's diagonal scaling, the damping update
//! of Nielsen (1999) and box bounds by projection.
//!
//! At `x` with residuals `r` and Jacobian `J`, the step solves
//! `(JᵀJ + μ diag(JᵀJ)) δ = −Jᵀ r`. The trial point `x' = clamp(x + δ)` is accepted when the
//! gain ratio `ϱ = (F(x) − F(x')) / (L(0) − L(δ'))` (actual over predicted decrease of
//! `F = ½‖r‖²`, with `δ' = x' − x`) is positive; then `μ ← μ max(1/3, 1 − (2ϱ − 1)³)`,
//! `ν ← 2`; otherwise `μ ← μ ν`, `ν ← 2ν`. It stops when the gradient `‖Jᵀ r‖_∞`, the
//! relative step or the relative decrease of `F` falls below the tolerance.

use super::{Result, ScalingLawError, invalid};

/// What a model returns at a point: the residuals and the Jacobian (one row per residual),
/// or `None` where it is undefined.
pub type Evaluation = Option<(Vec<f64>, Vec<Vec<f64>>)>;

/// Settings of [`levenberg_marquardt`].
#[derive(Clone, Debug, PartialEq)]
pub struct LmOptions {
    /// The most accepted-or-rejected iterations.
    pub max_iterations: usize,
    /// Tolerance of the three stopping tests.
    pub tolerance: f64,
    /// The initial damping `μ_0`.
    pub initial_damping: f64,
    /// Optional box bounds `(lower, upper)`, one entry per parameter.
    pub bounds: Option<(Vec<f64>, Vec<f64>)>,
}

impl Default for LmOptions {
    /// 500 iterations, tolerance 1e-12, `μ_0 = 1e-3`, no bounds.
    fn default() -> Self {
        LmOptions { max_iterations: 500, tolerance: 1e-12, initial_damping: 1e-3, bounds: None }
    }
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct LmResult {
    /// The final parameters.
    pub parameters: Vec<f64>,
    /// `½ ‖r‖²` there.
    pub cost: f64,
    /// Iterations made.
    pub iterations: usize,
    /// Whether a stopping test was met (rather than the iteration budget).
    pub converged: bool,
}

/// Minimises `½ ‖r(x)‖²` from `x0`. `model(x)` returns the residuals and the Jacobian (one
/// row per residual), or `None` where the model is undefined (the step is then rejected).
///
/// Errors: an empty or non-finite `x0`, bad options or bounds, a model undefined at `x0`,
/// residuals and Jacobian of inconsistent sizes.
pub fn levenberg_marquardt<F>(mut model: F, x0: &[f64], options: &LmOptions) -> Result<LmResult>
where
    F: FnMut(&[f64]) -> Evaluation,
{
    let op = "levenberg_marquardt";
    let p = x0.len();
    if p == 0 || x0.iter().any(|v| !v.is_finite()) {
        return Err(invalid(op, "x0", format!("{x0:?}"), "must be non-empty and finite"));
    }
    if !(options.tolerance.is_finite() && options.tolerance > 0.0) {
        return Err(invalid(op, "tolerance", options.tolerance, "must be finite and positive"));
    }
    if !(options.initial_damping.is_finite() && options.initial_damping > 0.0) {
        return Err(invalid(op, "initial_damping", options.initial_damping, "must be finite and positive"));
    }
    if let Some((lo, hi)) = &options.bounds {
        if lo.len() != p || hi.len() != p {
            return Err(ScalingLawError::Length {
                op,
                what: "bounds and parameters".into(),
                left: lo.len().min(hi.len()),
                right: p,
            });
        }
        if lo.iter().zip(hi).any(|(l, h)| l.is_nan() || h.is_nan() || l > h) {
            return Err(invalid(
                op,
                "bounds",
                format!("{lo:?} .. {hi:?}"),
                "every lower bound must be at most its upper bound",
            ));
        }
    }
    let clamp = |x: &mut [f64]| {
        if let Some((lo, hi)) = &options.bounds {
            for ((v, l), h) in x.iter_mut().zip(lo).zip(hi) {
                *v = v.clamp(*l, *h);
            }
        }
    };
    let mut x = x0.to_vec();
    clamp(&mut x);
    let eval = |model: &mut F, x: &[f64]| -> Result<Evaluation> {
        match model(x) {
            None => Ok(None),
            Some((r, j)) => {
                if j.len() != r.len() || j.iter().any(|row| row.len() != p) {
                    return Err(ScalingLawError::Length {
                        op,
                        what: "Jacobian rows and residuals".into(),
                        left: j.len(),
                        right: r.len(),
                    });
                }
                if r.iter().chain(j.iter().flatten()).any(|v| !v.is_finite()) {
                    return Ok(None);
                }
                Ok(Some((r, j)))
            }
        }
    };
    let (mut r, mut jac) = eval(&mut model, &x)?.ok_or_else(|| ScalingLawError::FitFailed {
        op,
        detail: format!("the model is undefined at the start {x:?}"),
    })?;
    let cost_of = |r: &[f64]| 0.5 * r.iter().map(|v| v * v).sum::<f64>();
    let mut cost = cost_of(&r);
    let mut mu = options.initial_damping;
    let mut nu = 2.0;
    for it in 1..=options.max_iterations {
        let (a, g) = normal_equations(&r, &jac, p);
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) <= options.tolerance * (1.0 + cost) {
            return Ok(LmResult { parameters: x, cost, iterations: it - 1, converged: true });
        }
        let mut damped = a.clone();
        for i in 0..p {
            damped[i][i] += mu * a[i][i].max(1e-300);
        }
        let neg_g: Vec<f64> = g.iter().map(|v| -v).collect();
        let Some(delta) = cholesky_solve(damped, neg_g) else {
            mu *= nu;
            nu *= 2.0;
            continue;
        };
        let mut x_new: Vec<f64> = x.iter().zip(&delta).map(|(a, b)| a + b).collect();
        clamp(&mut x_new);
        let step: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let step_norm = step.iter().map(|v| v * v).sum::<f64>().sqrt();
        let x_norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if step_norm <= options.tolerance * (x_norm + options.tolerance) {
            return Ok(LmResult { parameters: x, cost, iterations: it, converged: true });
        }
        // predicted decrease of the linear model: −δᵀg − ½ δᵀ A δ
        let a_step: Vec<f64> = (0..p).map(|i| (0..p).map(|k| a[i][k] * step[k]).sum()).collect();
        let predicted = -step.iter().zip(&g).map(|(s, gi)| s * gi).sum::<f64>()
            - 0.5 * step.iter().zip(&a_step).map(|(s, v)| s * v).sum::<f64>();
        let accepted = match eval(&mut model, &x_new)? {
            Some((r_new, j_new)) => {
                let cost_new = cost_of(&r_new);
                let gain = if predicted > 0.0 { (cost - cost_new) / predicted } else { -1.0 };
                if gain > 0.0 {
                    let decrease = cost - cost_new;
                    x = x_new;
                    r = r_new;
                    jac = j_new;
                    cost = cost_new;
                    mu *= (1.0f64 / 3.0).max(1.0 - (2.0 * gain - 1.0).powi(3));
                    nu = 2.0;
                    if decrease <= options.tolerance * cost.max(f64::MIN_POSITIVE) {
                        return Ok(LmResult { parameters: x, cost, iterations: it, converged: true });
                    }
                    true
                } else {
                    false
                }
            }
            None => false,
        };
        if !accepted {
            mu *= nu;
            nu *= 2.0;
            if !mu.is_finite() {
                return Ok(LmResult { parameters: x, cost, iterations: it, converged: false });
            }
        }
    }
    Ok(LmResult { parameters: x, cost, iterations: options.max_iterations, converged: false })
}

/// `JᵀJ` and `Jᵀr`.
fn normal_equations(r: &[f64], jac: &[Vec<f64>], p: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut a = vec![vec![0.0; p]; p];
    let mut g = vec![0.0; p];
    for (row, ri) in jac.iter().zip(r) {
        for i in 0..p {
            g[i] += row[i] * ri;
            for k in 0..p {
                a[i][k] += row[i] * row[k];
            }
        }
    }
    (a, g)
}

/// Solves `m x = b` for a symmetric positive definite `m` by Cholesky; `None` if a pivot is
/// not positive.
fn cholesky_solve(m: Vec<Vec<f64>>, b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = m[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut z = vec![0.0; n];
    for i in 0..n {
        z[i] = (b[i] - (0..i).map(|k| l[i][k] * z[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (z[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        // F = ½ (10 (x2 − x1²))² + ½ (1 − x1)², minimum 0 at (1, 1), from the classic start
        let model = |x: &[f64]| {
            Some((vec![10.0 * (x[1] - x[0] * x[0]), 1.0 - x[0]], vec![vec![-20.0 * x[0], 10.0], vec![-1.0, 0.0]]))
        };
        let res = levenberg_marquardt(model, &[-1.2, 1.0], &LmOptions::default()).unwrap();
        assert!(res.converged);
        assert!((res.parameters[0] - 1.0).abs() < 1e-10 && (res.parameters[1] - 1.0).abs() < 1e-10, "{res:?}");
    }

    #[test]
    fn recovers_an_exponential_decay_and_respects_bounds() {
        // y = 2 e^{−0.7 t} sampled exactly
        let t: Vec<f64> = (0..10).map(|i| i as f64 * 0.5).collect();
        let y: Vec<f64> = t.iter().map(|ti| 2.0 * (-0.7 * ti).exp()).collect();
        let model = |x: &[f64]| {
            let r = t.iter().zip(&y).map(|(ti, yi)| x[0] * (-x[1] * ti).exp() - yi).collect();
            let j = t.iter().map(|ti| vec![(-x[1] * ti).exp(), -x[0] * ti * (-x[1] * ti).exp()]).collect();
            Some((r, j))
        };
        let res = levenberg_marquardt(model, &[1.0, 0.1], &LmOptions::default()).unwrap();
        assert!((res.parameters[0] - 2.0).abs() < 1e-9 && (res.parameters[1] - 0.7).abs() < 1e-9, "{res:?}");
        // with the rate bounded above by 0.5 the optimum sits on the bound
        let bounded = LmOptions { bounds: Some((vec![0.0, 0.0], vec![10.0, 0.5])), ..LmOptions::default() };
        let res = levenberg_marquardt(model, &[1.0, 0.1], &bounded).unwrap();
        assert_eq!(res.parameters[1], 0.5);
    }

    #[test]
    fn bad_starts_and_options_are_errors() {
        let model = |_: &[f64]| Some((vec![1.0], vec![vec![1.0]]));
        assert!(levenberg_marquardt(model, &[], &LmOptions::default()).is_err());
        assert!(levenberg_marquardt(model, &[f64::NAN], &LmOptions::default()).is_err());
        let undefined = |_: &[f64]| None;
        assert!(
            levenberg_marquardt(undefined, &[1.0], &LmOptions::default())
                .unwrap_err()
                .to_string()
                .contains("undefined")
        );
        let ragged = |_: &[f64]| Some((vec![1.0, 2.0], vec![vec![1.0]]));
        assert!(levenberg_marquardt(ragged, &[1.0], &LmOptions::default()).is_err());
        let bad_bounds = LmOptions { bounds: Some((vec![1.0], vec![0.0])), ..LmOptions::default() };
        assert!(levenberg_marquardt(model, &[1.0], &bad_bounds).is_err());
    }
}
