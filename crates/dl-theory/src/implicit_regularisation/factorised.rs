//! Gradient descent on the factorised model `W = U Uᵀ` of matrix sensing, from the small
//! initialisation `U_0 = α I` (Gunasekar et al. 2017; see the module documentation of
//! [`crate::implicit_regularisation`]).

use dl_tensor::Tensor;
use ndarray::Array2;

use super::sensing::SensingOperator;
use super::{ImplicitRegularisationError, Result, invalid};
use crate::least_squares::matrix::{a_b, to_tensor};

/// Settings of [`factorised_gradient_descent`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FactorisedGd {
    /// The initialisation scale `α` of `U_0 = α I` (so `W_0 = α² I`).
    pub init_scale: f64,
    /// The step `η` of `U ← U − η ∇_U L`.
    pub learning_rate: f64,
    /// The most steps.
    pub max_steps: usize,
    /// Stop once the relative residual `‖A(W) − y‖ / ‖y‖` is at most this.
    pub tolerance: f64,
    /// Record every this many steps (and the first and last); at least 1.
    pub record_every: usize,
}

/// The state at one recorded step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FactorisedRecord {
    /// The step.
    pub step: usize,
    /// `‖A(W) − y‖ / ‖y‖`.
    pub relative_residual: f64,
    /// `tr(W)`, the nuclear norm of the positive semi-definite `W = U Uᵀ`.
    pub trace: f64,
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct FactorisedGdRun {
    /// The final `W = U Uᵀ`.
    pub w: Tensor<f64>,
    /// Steps taken.
    pub steps: usize,
    /// The final relative residual.
    pub relative_residual: f64,
    /// Whether the tolerance was reached within `max_steps`.
    pub converged: bool,
    /// The recorded states.
    pub records: Vec<FactorisedRecord>,
}

/// Gradient descent on `L(U) = (1 / 2m) Σ_i (⟨A_i, U Uᵀ⟩ − y_i)²` from `U_0 = α I`:
/// `∇_U L = (2/m) (Σ_i r_i A_i) U` with residuals `r_i = ⟨A_i, U Uᵀ⟩ − y_i`.
///
/// Errors: `y` of the wrong length or non-finite, `α` or `η` not finite and positive, a
/// tolerance that is negative, `record_every = 0`, divergence (a step too large).
pub fn factorised_gradient_descent(op: &SensingOperator, y: &[f64], options: &FactorisedGd) -> Result<FactorisedGdRun> {
    let name = "factorised_gradient_descent";
    let yv = op.check_values(name, y)?;
    for (arg, v) in [("init_scale", options.init_scale), ("learning_rate", options.learning_rate)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(invalid(name, arg, v, "must be finite and positive"));
        }
    }
    if !(options.tolerance.is_finite() && options.tolerance >= 0.0) {
        return Err(invalid(name, "tolerance", options.tolerance, "must be finite and non-negative"));
    }
    if options.record_every == 0 {
        return Err(invalid(name, "record_every", 0, "must be at least 1"));
    }
    let d = op.dim();
    let m = op.len() as f64;
    let y_norm = yv.dot(&yv).sqrt().max(f64::MIN_POSITIVE);
    let mut u = Array2::<f64>::eye(d) * options.init_scale;
    let mut w = a_b(u.view(), u.t());
    let mut records = Vec::new();
    let mut step = 0;
    loop {
        let r = op.apply(w.view()) - &yv;
        let rel = r.dot(&r).sqrt() / y_norm;
        if !rel.is_finite() {
            return Err(ImplicitRegularisationError::Diverged {
                op: name,
                step,
                detail: format!("the residual became non-finite with step {}", options.learning_rate),
            });
        }
        let done = rel <= options.tolerance || step == options.max_steps;
        if step % options.record_every == 0 || done {
            records.push(FactorisedRecord { step, relative_residual: rel, trace: w.diag().sum() });
        }
        if done {
            return Ok(FactorisedGdRun {
                w: to_tensor(w),
                steps: step,
                relative_residual: rel,
                converged: rel <= options.tolerance,
                records,
            });
        }
        let grad = a_b(op.adjoint(&r).view(), u.view());
        u.scaled_add(-options.learning_rate * 2.0 / m, &grad);
        w = a_b(u.view(), u.t());
        step += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn the_gradient_matches_finite_differences() {
        let mut rng = seeded_rng(0);
        let op = SensingOperator::gaussian(3, 4, &mut rng).unwrap();
        let y = vec![0.5, -1.0, 2.0, 0.3];
        let loss = |u: &Array2<f64>| {
            let r = op.apply(a_b(u.view(), u.t()).view()) - &ndarray::Array1::from(y.clone());
            r.dot(&r) / (2.0 * 4.0)
        };
        // one step from U_0 = α I: U_1 = U_0 − η ∇L(U_0); recover ∇L from W_1 is awkward, so
        // compare the analytic gradient at U_0 with central differences (h = 1e-6, O(h²) error)
        let alpha = 0.7;
        let u0 = Array2::<f64>::eye(3) * alpha;
        let r = op.apply(a_b(u0.view(), u0.t()).view()) - &ndarray::Array1::from(y.clone());
        let grad = a_b(op.adjoint(&r).view(), u0.view()) * (2.0 / 4.0);
        for j in 0..3 {
            for k in 0..3 {
                let (mut a, mut b) = (u0.clone(), u0.clone());
                a[[j, k]] += 1e-6;
                b[[j, k]] -= 1e-6;
                let fd = (loss(&a) - loss(&b)) / 2e-6;
                assert!((fd - grad[[j, k]]).abs() < 1e-7, "({j}, {k}): {fd} vs {}", grad[[j, k]]);
            }
        }
        // and the run's first step is exactly that gradient step
        let run = factorised_gradient_descent(
            &op,
            &y,
            &FactorisedGd { init_scale: alpha, learning_rate: 0.01, max_steps: 1, tolerance: 0.0, record_every: 1 },
        )
        .unwrap();
        let u1 = &u0 - &(&grad * 0.01);
        let w1 = a_b(u1.view(), u1.t());
        for (a, e) in run.w.to_vec().iter().zip(w1.iter()) {
            assert!((a - e).abs() < 1e-14);
        }
        assert_eq!(run.steps, 1);
    }

    #[test]
    fn fits_the_measurements_of_a_low_rank_matrix() {
        let mut rng = seeded_rng(3);
        let d = 6;
        let op = SensingOperator::gaussian(d, 18, &mut rng).unwrap();
        let v = Tensor::<f64>::randn(&[d, 1], &mut rng);
        let x_star = v.matmul(&v.transpose(0, 1).unwrap()).unwrap();
        let y = op.measure(&x_star).unwrap();
        let lam = x_star.to_vec().iter().map(|a| a * a).sum::<f64>().sqrt();
        let run = factorised_gradient_descent(
            &op,
            &y,
            &FactorisedGd {
                init_scale: 1e-3,
                learning_rate: 0.02 / lam,
                max_steps: 200_000,
                tolerance: 1e-4,
                record_every: 1000,
            },
        )
        .unwrap();
        // the last digits of the fit come slowly: the α² I left in W must shrink, and its
        // gradient vanishes with the residual (sublinear convergence), hence 1e-4
        assert!(run.converged, "residual {}", run.relative_residual);
        // W stays positive semi-definite by construction and its trace is recorded
        assert!(run.records.last().unwrap().trace > 0.0);
    }

    #[test]
    fn bad_settings_are_errors() {
        let mut rng = seeded_rng(1);
        let op = SensingOperator::gaussian(3, 4, &mut rng).unwrap();
        let ok = FactorisedGd { init_scale: 0.1, learning_rate: 0.01, max_steps: 10, tolerance: 1e-6, record_every: 1 };
        assert!(
            factorised_gradient_descent(&op, &[1.0; 3], &ok).unwrap_err().to_string().contains("[4, 3, 3] and [3]")
        );
        let e = factorised_gradient_descent(&op, &[1.0; 4], &FactorisedGd { init_scale: 0.0, ..ok })
            .unwrap_err()
            .to_string();
        assert!(e.contains("init_scale = 0"), "{e}");
        let e =
            factorised_gradient_descent(&op, &[1e3; 4], &FactorisedGd { learning_rate: 1e3, max_steps: 10_000, ..ok })
                .unwrap_err()
                .to_string();
        assert!(e.contains("diverged"), "{e}");
        assert!(factorised_gradient_descent(&op, &[f64::NAN; 4], &ok).is_err());
    }
}
