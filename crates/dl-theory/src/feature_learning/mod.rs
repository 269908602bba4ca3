//! Feature learning against lazy training: the parameterisations that decide which one a
//! wide network does, and the measures that tell them apart.
//!
//! - **Width.** In the NTK parameterisation the empirical NTK of a network of width `n`
//!   moves by `O(n^(-1/2))` during training (Jacot et al. 2018; Lee et al. 2019): in the
//!   limit the kernel is fixed and no features are learned. In muP (Yang & Hu 2021) the
//!   updates of every layer are as large as they can be while staying stable, and the
//!   kernel moves by `O(1)` at every width.
//! - **Scale.** Chizat, Oyallon & Bach (2019, "On Lazy Training in Differentiable
//!   Programming", Theorem 2.2 and Section 2) train `alpha (f(w) - f(w_0))` on the loss
//!   `R(alpha h) / alpha^2`. The function-space dynamics do not depend on `alpha`, but to move
//!   the output by `O(1)` the weights need to move only by `O(1 / alpha)`: the relative
//!   change of the weights, and of the kernel, falls like `1 / alpha` (lazy training).
//!
//! | file | holds |
//! | --- | --- |
//! | `abc` | [`AbcScheme`] (SP, NTP, muP) with the exponents of Tensor Programs IV/V, [`DenseScaling`]: a dense layer's multipliers, initial standard deviations and learning-rate factors, anchored at a base width |
//! | here | [`relative_change`] and [`LogLogFit`], the least-squares slope of `log y` on `log x` (the `-1/2` of the NTK and the `-1` of lazy training) |
//!
//! The relative kernel change and the kernel–target alignment themselves are dl-ntk's
//! ([`dl_ntk::feature_learning`]); dl-framework computes the empirical NTK of a configured
//! network with each parameter weighted by its learning-rate factor.

mod abc;

pub use abc::{AbcExponents, AbcScheme, DenseScaling, LayerRole, ParamScaling, init_factor};

/// What can go wrong in the feature-learning tools.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureLearningError {
    /// An argument outside its domain.
    #[error("{op}: {detail}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What is wrong, with the values.
        detail: String,
    },
}

/// `|x - x_0| / |x_0|` (Euclidean norms over all entries): how far parameters (or a
/// flattened kernel) moved from `x_0`.
///
/// ```
/// use dl_theory::feature_learning::relative_change;
/// assert_eq!(relative_change(&[3.0, 4.0], &[3.0, 5.0])?, 0.2);
/// assert!(relative_change(&[0.0], &[1.0]).is_err());
/// # Ok::<(), dl_theory::feature_learning::FeatureLearningError>(())
/// ```
pub fn relative_change(x0: &[f64], x: &[f64]) -> Result<f64, FeatureLearningError> {
    let op = "relative_change";
    if x0.len() != x.len() {
        return Err(FeatureLearningError::Invalid {
            op,
            detail: format!("{} initial values against {} current ones", x0.len(), x.len()),
        });
    }
    let n0 = x0.iter().map(|v| v * v).sum::<f64>().sqrt();
    if !(n0.is_finite() && n0 > 0.0) {
        return Err(FeatureLearningError::Invalid {
            op,
            detail: format!("the initial norm must be finite and > 0, got {n0}"),
        });
    }
    let d = x0.iter().zip(x).map(|(a, b)| (b - a) * (b - a)).sum::<f64>().sqrt();
    Ok(d / n0)
}

/// The least-squares line `log y = intercept + slope log x` (natural logarithms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogLogFit {
    /// The exponent: `y ~ x^slope`.
    pub slope: f64,
    /// `log y` at `x = 1`.
    pub intercept: f64,
    /// The coefficient of determination of the fit in log space (1 for an exact power law).
    pub r_squared: f64,
}

impl LogLogFit {
    /// Fits at least two points with distinct `x`; every `x` and `y` must be finite and > 0.
    ///
    /// ```
    /// use dl_theory::feature_learning::LogLogFit;
    /// let x = [64.0, 128.0, 256.0, 512.0];
    /// let y: Vec<f64> = x.iter().map(|n: &f64| 3.0 / n.sqrt()).collect();
    /// let fit = LogLogFit::fit(&x, &y)?;
    /// assert!((fit.slope + 0.5).abs() < 1e-12 && (fit.r_squared - 1.0).abs() < 1e-12);
    /// # Ok::<(), dl_theory::feature_learning::FeatureLearningError>(())
    /// ```
    pub fn fit(x: &[f64], y: &[f64]) -> Result<Self, FeatureLearningError> {
        let op = "LogLogFit::fit";
        if x.len() != y.len() || x.len() < 2 {
            return Err(FeatureLearningError::Invalid {
                op,
                detail: format!("needs at least 2 points with as many x as y, got {} x and {} y", x.len(), y.len()),
            });
        }
        if let Some(i) = (0..x.len()).find(|&i| !(x[i].is_finite() && x[i] > 0.0 && y[i].is_finite() && y[i] > 0.0)) {
            return Err(FeatureLearningError::Invalid {
                op,
                detail: format!("point {i} is ({}, {}); both must be finite and > 0", x[i], y[i]),
            });
        }
        let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
        let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
        let n = lx.len() as f64;
        let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
        let sxx: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
        if sxx <= 0.0 {
            return Err(FeatureLearningError::Invalid { op, detail: "every x is the same: no slope".into() });
        }
        let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
        let syy: f64 = ly.iter().map(|b| (b - my) * (b - my)).sum();
        let slope = sxy / sxx;
        let intercept = my - slope * mx;
        let r_squared = if syy > 0.0 { 1.0 - (syy - slope * sxy) / syy } else { 1.0 };
        Ok(LogLogFit { slope, intercept, r_squared })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_noisy_power_law_like_the_normal_equations() {
        // y = 2 x^-1 with multiplicative noise; reference: 2x2 normal equations solved by Cramer's rule
        let x = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        let noise = [1.05, 0.97, 1.02, 0.99, 1.01, 0.96];
        let y: Vec<f64> = x.iter().zip(noise).map(|(x, e)| 2.0 / x * e).collect();
        let fit = LogLogFit::fit(&x, &y).unwrap();
        let (mut s1, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (a, b) in x.iter().zip(&y) {
            let (u, v) = (a.ln(), b.ln());
            s1 += 1.0;
            sx += u;
            sy += v;
            sxx += u * u;
            sxy += u * v;
        }
        let det = s1 * sxx - sx * sx;
        let slope = (s1 * sxy - sx * sy) / det;
        let intercept = (sxx * sy - sx * sxy) / det;
        assert!((fit.slope - slope).abs() < 1e-12 && (fit.intercept - intercept).abs() < 1e-12);
        assert!((fit.slope + 1.0).abs() < 0.05 && fit.r_squared > 0.99);
    }

    #[test]
    fn bad_points_are_named() {
        assert!(LogLogFit::fit(&[1.0], &[1.0]).unwrap_err().to_string().contains("at least 2"));
        let e = LogLogFit::fit(&[1.0, 2.0], &[1.0, -1.0]).unwrap_err().to_string();
        assert!(e.contains("point 1 is (2, -1)"), "{e}");
        assert!(LogLogFit::fit(&[2.0, 2.0], &[1.0, 3.0]).unwrap_err().to_string().contains("no slope"));
        assert!(relative_change(&[1.0], &[1.0, 2.0]).unwrap_err().to_string().contains("1 initial values against 2"));
    }
}
