//! Gradient descent on least squares and its limit `A⁺ b + (I − A⁺A) x_0` (equations in the
//! module documentation of [`crate::implicit_regularisation`]).

use dl_tensor::Tensor;
use ndarray::Array2;

use super::{ImplicitRegularisationError, Result, check_learning_rate, invalid};
use crate::least_squares::LeastSquares;
use crate::least_squares::matrix::{a_b, matrix, to_tensor_shaped};

/// Settings of [`least_squares_gradient_descent`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeastSquaresGd {
    /// The step `η`; default `n / σ_1²`, the inverse smoothness of `(1/2n) ‖A x − b‖²`.
    pub learning_rate: Option<f64>,
    /// Steps to take.
    pub steps: usize,
    /// Record every this many steps (and at step 0 and the last step); at least 1.
    pub record_every: usize,
}

/// The state of gradient descent at one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GdRecord {
    /// The step `t` (0 is the initial point).
    pub step: usize,
    /// `(1/2n) ‖A x_t − b‖²`.
    pub loss: f64,
    /// `‖x_t − A⁺ b‖ / ‖A⁺ b‖`.
    pub distance_to_min_norm: f64,
    /// `‖x_t − x_∞‖ / ‖A⁺ b‖` with the predicted limit `x_∞ = A⁺ b + (I − A⁺A) x_0`.
    pub distance_to_predicted_limit: f64,
    /// `‖(I − A⁺A) x_t‖`: the component in the null space of `A`, which the gradient never
    /// changes.
    pub null_space_norm: f64,
}

/// A gradient-descent run with its references.
#[derive(Clone, Debug, PartialEq)]
pub struct LeastSquaresGdRun {
    /// The recorded states.
    pub records: Vec<GdRecord>,
    /// The last iterate `x_T`.
    pub final_x: Tensor<f64>,
    /// The minimum-norm solution `A⁺ b` (pseudo-inverse with the default cut-off).
    pub min_norm: Tensor<f64>,
    /// The predicted limit `A⁺ b + (I − A⁺A) x_0`.
    pub predicted_limit: Tensor<f64>,
    /// The step used.
    pub learning_rate: f64,
}

/// Gradient descent `x_{t+1} = x_t − (η/n) Aᵀ (A x_t − b)` from `x_0` (zero by default) on
/// `a` of shape `(n, p)` and `b` of shape `(n,)`, recording its distance to the minimum-norm
/// solution and to the predicted limit.
///
/// Errors: shapes that disagree, non-finite data, a non-positive step or `record_every = 0`,
/// divergence (a step `η ≥ 2n / σ_1²`).
pub fn least_squares_gradient_descent(
    a: &Tensor<f64>,
    b: &Tensor<f64>,
    x0: Option<&Tensor<f64>>,
    options: &LeastSquaresGd,
) -> Result<LeastSquaresGdRun> {
    let op = "least_squares_gradient_descent";
    check_learning_rate(op, options.learning_rate)?;
    if options.record_every == 0 {
        return Err(invalid(op, "record_every", 0, "must be at least 1"));
    }
    let am = matrix(op, "the design matrix", a)?;
    let (n, p) = am.dim();
    if b.shape() != [n] {
        return Err(ImplicitRegularisationError::Shape {
            op,
            what: "the right-hand side must have one entry per row of A".into(),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    let bm = crate::least_squares::matrix::targets(op, "the right-hand side", b, n, a.shape())?.0;
    let x_init = match x0 {
        None => Array2::zeros((p, 1)),
        Some(t) if t.shape() == [p] => crate::least_squares::matrix::targets(op, "the initial point", t, p, &[p])?.0,
        Some(t) => {
            return Err(ImplicitRegularisationError::Shape {
                op,
                what: "the initial point must have one entry per column of A".into(),
                left: a.shape().to_vec(),
                right: t.shape().to_vec(),
            });
        }
    };
    let ls = LeastSquares::from_array(op, am.view())?;
    let rcond = ls.checked_rcond(op, None)?;
    let (x_plus, rank, _) = ls.min_norm_array(bm.view(), rcond);
    // the projector onto the row space: V_r V_rᵀ
    let v_r = ls.svd().v.slice(ndarray::s![.., ..rank]).to_owned();
    let row_part = |x: &Array2<f64>| a_b(v_r.view(), a_b(v_r.t(), x.view()).view());
    let limit = &x_plus + &(&x_init - &row_part(&x_init));
    let s1 = ls.singular_values()[0];
    let lr = options.learning_rate.unwrap_or(if s1 > 0.0 { n as f64 / (s1 * s1) } else { 1.0 });
    let norm = |x: &Array2<f64>| x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let x_plus_norm = norm(&x_plus).max(f64::MIN_POSITIVE);
    let record = |t: usize, x: &Array2<f64>| -> GdRecord {
        let r = a_b(am.view(), x.view()) - &bm;
        GdRecord {
            step: t,
            loss: r.iter().map(|v| v * v).sum::<f64>() / (2.0 * n as f64),
            distance_to_min_norm: norm(&(x - &x_plus)) / x_plus_norm,
            distance_to_predicted_limit: norm(&(x - &limit)) / x_plus_norm,
            null_space_norm: norm(&(x - &row_part(x))),
        }
    };
    let mut x = x_init.clone();
    let mut records = vec![record(0, &x)];
    for t in 1..=options.steps {
        let r = a_b(am.view(), x.view()) - &bm;
        let g = a_b(am.t(), r.view());
        x.scaled_add(-lr / n as f64, &g);
        if !x.iter().all(|v| v.is_finite()) {
            return Err(ImplicitRegularisationError::Diverged {
                op,
                step: t,
                detail: format!(
                    "the iterate became non-finite; the step {lr} exceeds 2n / σ_1² = {}",
                    2.0 * n as f64 / (s1 * s1)
                ),
            });
        }
        if t % options.record_every == 0 || t == options.steps {
            records.push(record(t, &x));
        }
    }
    let vec = |m: Array2<f64>| to_tensor_shaped(m, true);
    Ok(LeastSquaresGdRun {
        records,
        final_x: vec(x),
        min_norm: vec(x_plus),
        predicted_limit: vec(limit),
        learning_rate: lr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::seeded_rng;

    #[test]
    fn from_zero_reaches_the_min_norm_solution_to_round_off() {
        for seed in 0..5 {
            let mut rng = seeded_rng(seed);
            let a = Tensor::<f64>::randn(&[20, 80], &mut rng);
            let b = Tensor::<f64>::randn(&[20], &mut rng);
            let run = least_squares_gradient_descent(
                &a,
                &b,
                None,
                &LeastSquaresGd { learning_rate: None, steps: 3000, record_every: 500 },
            )
            .unwrap();
            let last = run.records.last().unwrap();
            // (σ_1/σ_n)² ≈ ((√80+√20)/(√80−√20))² = 9: the error shrinks by ≥ 1 − 1/9 per
            // step, below 1e-150 after 3000 steps; what is left is rounding of an O(1) vector
            assert!(last.distance_to_min_norm < 1e-13, "seed {seed}: {}", last.distance_to_min_norm);
            assert!(last.null_space_norm < 1e-13, "iterates from zero never leave the row space");
            assert!(last.loss < 1e-25);
        }
    }

    #[test]
    fn iterates_follow_the_closed_form_in_the_singular_basis() {
        // x_t = x_∞ + V diag((1 − η σ_i² / n)^t) Vᵀ (x_0 − x_∞)
        let mut rng = seeded_rng(7);
        let (n, p) = (6, 15);
        let a = Tensor::<f64>::randn(&[n, p], &mut rng);
        let b = Tensor::<f64>::randn(&[n], &mut rng);
        let x0 = Tensor::<f64>::randn(&[p], &mut rng);
        let lr = 0.3 * n as f64 / 60.0; // a step below the default
        let t = 40;
        let run = least_squares_gradient_descent(
            &a,
            &b,
            Some(&x0),
            &LeastSquaresGd { learning_rate: Some(lr), steps: t, record_every: t },
        )
        .unwrap();
        let am = matrix("test", "a", &a).unwrap();
        let ls = LeastSquares::from_array("test", am.view()).unwrap();
        let svd = ls.svd();
        let limit = run.predicted_limit.to_vec();
        let e0: Vec<f64> = x0.to_vec().iter().zip(&limit).map(|(x, l)| x - l).collect();
        let mut expected = limit.clone();
        for (k, s) in svd.s.iter().enumerate() {
            let vk: Vec<f64> = (0..p).map(|j| svd.v[[j, k]]).collect();
            let coef: f64 = vk.iter().zip(&e0).map(|(v, e)| v * e).sum();
            let shrink = (1.0 - lr * s * s / n as f64).powi(t as i32);
            for j in 0..p {
                expected[j] += vk[j] * coef * shrink;
            }
        }
        // 40 steps of O(1) arithmetic: rounding grows to ~1e-14
        assert_close_slices(&run.final_x.to_vec(), &expected, Tolerance::new(1e-11, 1e-12));
        // from a non-zero start the limit keeps the null-space part of x_0, not A⁺ b
        assert!(run.records.last().unwrap().null_space_norm > 0.1);
    }

    #[test]
    fn a_step_too_large_diverges_with_a_clear_error_and_shapes_are_checked() {
        let mut rng = seeded_rng(1);
        let a = Tensor::<f64>::randn(&[5, 12], &mut rng);
        let b = Tensor::<f64>::randn(&[5], &mut rng);
        let big = LeastSquaresGd { learning_rate: Some(1e3), steps: 5000, record_every: 10 };
        let e = least_squares_gradient_descent(&a, &b, None, &big).unwrap_err().to_string();
        assert!(e.contains("diverged") && e.contains("2n / σ_1²"), "{e}");
        let ok = LeastSquaresGd { learning_rate: None, steps: 1, record_every: 1 };
        let e = least_squares_gradient_descent(&a, &Tensor::zeros(&[4]), None, &ok).unwrap_err().to_string();
        assert!(e.contains("[5, 12]") && e.contains("[4]"), "{e}");
        let e = least_squares_gradient_descent(&a, &b, Some(&Tensor::zeros(&[11])), &ok).unwrap_err().to_string();
        assert!(e.contains("initial point") && e.contains("[11]"), "{e}");
        let zero_every = LeastSquaresGd { record_every: 0, ..ok };
        assert!(least_squares_gradient_descent(&a, &b, None, &zero_every).is_err());
        let neg = LeastSquaresGd { learning_rate: Some(-1.0), ..ok };
        assert!(
            least_squares_gradient_descent(&a, &b, None, &neg).unwrap_err().to_string().contains("learning_rate = -1")
        );
    }
}
