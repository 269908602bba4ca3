//! Gradient descent on the logistic loss over linearly separable data, whose direction
//! converges to the hard-margin SVM's (Soudry et al. 2018, Theorem 3; see the module
//! documentation of [`crate::implicit_regularisation`]).

use dl_tensor::Tensor;

use super::{ImplicitRegularisationError, Result, check_learning_rate, invalid};
use crate::least_squares::Svd;
use crate::least_squares::matrix::matrix;

/// Settings of [`separable_logistic_gradient_descent`].
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticGd {
    /// The step `η`; default `4n / σ_1(X)²`, the inverse of the smoothness bound
    /// `β = σ_1(X)² / (4n)` of the mean logistic loss (Soudry et al. require `η < 2 / β`).
    pub learning_rate: Option<f64>,
    /// The steps at which to record `w(t)`, strictly increasing; the last one is the number
    /// of steps taken. Step 0 is the initial point `w = 0`.
    pub record_steps: Vec<u64>,
}

/// The iterate at one recorded step.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticRecord {
    /// The step `t`.
    pub step: u64,
    /// `w(t)`.
    pub weights: Vec<f64>,
    /// `(1/n) Σ log(1 + exp(−y_i w(t)ᵀ x_i))`.
    pub loss: f64,
    /// `‖w(t)‖`.
    pub norm: f64,
    /// The normalised margin `min_i y_i w(t)ᵀ x_i / ‖w(t)‖` (0 at `w = 0`).
    pub normalised_margin: f64,
}

/// `log(1 + exp(−m))` without overflow.
fn softplus_neg(m: f64) -> f64 {
    if m > 0.0 { (-m).exp().ln_1p() } else { -m + m.exp().ln_1p() }
}

/// `1 / (1 + exp(m))` without overflow.
fn sigmoid_neg(m: f64) -> f64 {
    if m > 0.0 {
        let e = (-m).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + m.exp())
    }
}

/// Full-batch gradient descent `w ← w + (η/n) Σ y_i x_i / (1 + exp(y_i wᵀ x_i))` from
/// `w = 0` on examples `x` of shape `(n, d)` with labels `y ∈ {−1, +1}ⁿ`, recording
/// `w(t)` at `options.record_steps`.
///
/// Errors: shapes that disagree, non-finite data, labels other than ±1, an empty or
/// non-increasing `record_steps`, a non-positive step, divergence.
pub fn separable_logistic_gradient_descent(
    x: &Tensor<f64>,
    y: &[f64],
    options: &LogisticGd,
) -> Result<Vec<LogisticRecord>> {
    let op = "separable_logistic_gradient_descent";
    check_learning_rate(op, options.learning_rate)?;
    let xm = matrix(op, "the examples", x)?;
    let (n, d) = xm.dim();
    if y.len() != n {
        return Err(ImplicitRegularisationError::Shape {
            op,
            what: "the labels must have one entry per example (row)".into(),
            left: x.shape().to_vec(),
            right: vec![y.len()],
        });
    }
    if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| **v != 1.0 && **v != -1.0) {
        return Err(invalid(op, "labels", format!("{v} at index {i}"), "every label must be -1 or +1"));
    }
    let steps = &options.record_steps;
    if steps.is_empty() || steps.windows(2).any(|w| w[1] <= w[0]) {
        return Err(invalid(op, "record_steps", format!("{steps:?}"), "must be non-empty and strictly increasing"));
    }
    let lr = match options.learning_rate {
        Some(v) => v,
        None => {
            let s1 = Svd::new(op, xm.view())?.s[0];
            if s1 == 0.0 { 1.0 } else { 4.0 * n as f64 / (s1 * s1) }
        }
    };
    // the signed examples g_i = y_i x_i, row-major
    let g: Vec<f64> = (0..n).flat_map(|i| (0..d).map(move |k| (i, k))).map(|(i, k)| y[i] * xm[[i, k]]).collect();
    let mut w = vec![0.0; d];
    let mut grad = vec![0.0; d];
    let mut margins = vec![0.0; n];
    let record = |t: u64, w: &[f64], margins: &[f64]| {
        let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
        LogisticRecord {
            step: t,
            weights: w.to_vec(),
            loss: margins.iter().map(|&m| softplus_neg(m)).sum::<f64>() / n as f64,
            norm,
            normalised_margin: if norm > 0.0 {
                margins.iter().cloned().fold(f64::INFINITY, f64::min) / norm
            } else {
                0.0
            },
        }
    };
    let compute_margins = |w: &[f64], margins: &mut [f64]| {
        for (i, m) in margins.iter_mut().enumerate() {
            *m = g[i * d..(i + 1) * d].iter().zip(w).map(|(a, b)| a * b).sum();
        }
    };
    let mut out = Vec::with_capacity(steps.len());
    let mut next = 0;
    if steps[0] == 0 {
        out.push(record(0, &w, &margins));
        next = 1;
    }
    let last = *steps.last().expect("non-empty");
    let scale = lr / n as f64;
    for t in 1..=last {
        compute_margins(&w, &mut margins);
        grad.iter_mut().for_each(|v| *v = 0.0);
        for (i, &m) in margins.iter().enumerate() {
            let s = sigmoid_neg(m);
            for (gk, xk) in grad.iter_mut().zip(&g[i * d..(i + 1) * d]) {
                *gk += s * xk;
            }
        }
        for (wk, gk) in w.iter_mut().zip(&grad) {
            *wk += scale * gk;
        }
        if next < steps.len() && steps[next] == t {
            if !w.iter().all(|v| v.is_finite()) {
                return Err(ImplicitRegularisationError::Diverged {
                    op,
                    step: t as usize,
                    detail: format!("w became non-finite with step {lr}"),
                });
            }
            compute_margins(&w, &mut margins);
            out.push(record(t, &w, &margins));
            next += 1;
        }
    }
    Ok(out)
}

/// The angle in radians between two non-zero vectors, accurate for tiny angles:
/// `atan2(‖a − (a·b̂) b̂‖, a·b̂)`.
///
/// Errors: lengths that differ, a zero or non-finite vector.
pub fn angle_between(a: &[f64], b: &[f64]) -> Result<f64> {
    let op = "angle_between";
    if a.len() != b.len() || a.is_empty() {
        return Err(ImplicitRegularisationError::Shape {
            op,
            what: "the vectors must have the same non-zero length".into(),
            left: vec![a.len()],
            right: vec![b.len()],
        });
    }
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        return Err(ImplicitRegularisationError::NonFinite { op, detail: "a vector has a non-finite entry".into() });
    }
    let nb = b.iter().map(|v| v * v).sum::<f64>().sqrt();
    let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        return Err(invalid(op, "vector", "0", "both vectors must be non-zero"));
    }
    let along: f64 = a.iter().zip(b).map(|(x, y)| x * y / nb).sum();
    let across = a.iter().zip(b).map(|(x, y)| (x - along * y / nb).powi(2)).sum::<f64>().sqrt();
    Ok(across.atan2(along))
}

/// Steps `1, …, max` spaced evenly in `log10`, `per_decade` of them per decade, rounded to
/// integers and deduplicated, always including 1 and `max`.
///
/// Errors: `max = 0` or `per_decade = 0`.
pub fn log_spaced_steps(max: u64, per_decade: usize) -> Result<Vec<u64>> {
    let op = "log_spaced_steps";
    if max == 0 {
        return Err(invalid(op, "max", 0, "must be at least 1"));
    }
    if per_decade == 0 {
        return Err(invalid(op, "per_decade", 0, "must be at least 1"));
    }
    let decades = (max as f64).log10();
    let count = (decades * per_decade as f64).ceil() as usize;
    let mut out: Vec<u64> = (0..=count)
        .map(|k| 10f64.powf(decades * k as f64 / count.max(1) as f64).round() as u64)
        .map(|s| s.clamp(1, max))
        .collect();
    out.push(max);
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    /// The mean logistic loss by direct summation, for finite differences.
    fn loss(x: &[f64], y: &[f64], w: &[f64], d: usize) -> f64 {
        y.iter()
            .enumerate()
            .map(|(i, yi)| (1.0 + (-yi * (0..d).map(|k| x[i * d + k] * w[k]).sum::<f64>()).exp()).ln())
            .sum::<f64>()
            / y.len() as f64
    }

    #[test]
    fn one_step_is_a_gradient_step_checked_by_finite_differences() {
        let mut rng = seeded_rng(0);
        let x = Tensor::<f64>::randn(&[7, 3], &mut rng);
        let y = [1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0];
        let lr = 0.5;
        let recs = separable_logistic_gradient_descent(
            &x,
            &y,
            &LogisticGd { learning_rate: Some(lr), record_steps: vec![1, 2] },
        )
        .unwrap();
        let xv = x.to_vec();
        // w_1 = −η ∇L(0), w_2 = w_1 − η ∇L(w_1), with ∇L by central differences (step 1e-6:
        // error O(h²) ~ 1e-12 on O(1) derivatives)
        let fd = |w: &[f64]| -> Vec<f64> {
            (0..3)
                .map(|k| {
                    let (mut a, mut b) = (w.to_vec(), w.to_vec());
                    a[k] += 1e-6;
                    b[k] -= 1e-6;
                    (loss(&xv, &y, &a, 3) - loss(&xv, &y, &b, 3)) / 2e-6
                })
                .collect()
        };
        let w1: Vec<f64> = fd(&[0.0; 3]).iter().map(|g| -lr * g).collect();
        let w2: Vec<f64> = w1.iter().zip(fd(&w1)).map(|(w, g)| w - lr * g).collect();
        for (a, e) in recs[0].weights.iter().zip(&w1).chain(recs[1].weights.iter().zip(&w2)) {
            assert!((a - e).abs() < 1e-8, "{a} vs {e}");
        }
        assert!((recs[1].loss - loss(&xv, &y, &recs[1].weights, 3)).abs() < 1e-14);
    }

    #[test]
    fn stable_losses_at_large_margins() {
        assert_eq!(softplus_neg(800.0), (-800.0f64).exp().ln_1p());
        assert!((softplus_neg(-800.0) - 800.0).abs() < 1e-12);
        assert!(sigmoid_neg(700.0) > 0.0 && sigmoid_neg(700.0) < 1e-300);
        assert_eq!(sigmoid_neg(-800.0), 1.0);
    }

    #[test]
    fn angles_are_accurate_when_tiny() {
        let a = [1.0, 0.0];
        let e: f64 = 1e-9;
        let b = [e.cos(), e.sin()];
        assert!((angle_between(&a, &b).unwrap() - e).abs() < 1e-20);
        assert!((angle_between(&a, &[0.0, 2.0]).unwrap() - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
        assert!((angle_between(&a, &[-1.0, 0.0]).unwrap() - std::f64::consts::PI).abs() < 1e-15);
        assert!(angle_between(&a, &[0.0, 0.0]).is_err());
        assert!(angle_between(&a, &[1.0]).unwrap_err().to_string().contains("[2] and [1]"));
    }

    #[test]
    fn log_spaced_steps_cover_the_range() {
        let s = log_spaced_steps(1000, 3).unwrap();
        assert_eq!(s, vec![1, 2, 5, 10, 22, 46, 100, 215, 464, 1000]);
        assert_eq!(log_spaced_steps(1, 5).unwrap(), vec![1]);
        assert!(log_spaced_steps(0, 5).is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = Tensor::from_vec(vec![1.0, 0.0, -1.0, 0.0], &[2, 2]).unwrap();
        let opts = LogisticGd { learning_rate: None, record_steps: vec![1] };
        assert!(separable_logistic_gradient_descent(&x, &[1.0], &opts).unwrap_err().to_string().contains("[2, 2]"));
        assert!(
            separable_logistic_gradient_descent(&x, &[1.0, 2.0], &opts)
                .unwrap_err()
                .to_string()
                .contains("2 at index 1")
        );
        let bad_steps = LogisticGd { learning_rate: None, record_steps: vec![5, 5] };
        assert!(
            separable_logistic_gradient_descent(&x, &[1.0, -1.0], &bad_steps)
                .unwrap_err()
                .to_string()
                .contains("strictly increasing")
        );
        let bad_lr = LogisticGd { learning_rate: Some(f64::NAN), record_steps: vec![1] };
        assert!(separable_logistic_gradient_descent(&x, &[1.0, -1.0], &bad_lr).is_err());
    }
}
