//! Rates: the exponent of a power law `error ~ C N^slope`, fitted by least squares on
//! `log error = log C + slope log N`, to compare with the theory's exponent (`-1` for the
//! sigmoid staircase of a Lipschitz target, `-2` for ReLU interpolation of a `C^2` target,
//! `-1/d` for a piecewise-constant grid in `d` dimensions, `-1/2` for Barron's greedy).

use crate::approximation::error::{ApproximationError, Result};

/// A fitted power law `error = exp(intercept) N^slope`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLawFit {
    /// The exponent.
    pub slope: f64,
    /// `log C` (natural logarithm).
    pub intercept: f64,
    /// Coefficient of determination of the log-log fit.
    pub r_squared: f64,
    /// Number of points used.
    pub points: usize,
}

impl PowerLawFit {
    /// `C N^slope`.
    pub fn predict(&self, n: f64) -> f64 {
        (self.intercept + self.slope * n.ln()).exp()
    }
}

/// Fits `log e = log C + slope log N` by ordinary least squares. Needs at least two points
/// with distinct `N`, all `N` and `e` finite and positive.
///
/// ```
/// use dl_theory::approximation::rates::fit_power_law;
/// let n = [10.0, 20.0, 40.0, 80.0];
/// let e: Vec<f64> = n.iter().map(|n: &f64| 3.0 / (n * n)).collect();
/// let fit = fit_power_law(&n, &e)?;
/// assert!((fit.slope + 2.0).abs() < 1e-12 && (fit.predict(10.0) - 0.03).abs() < 1e-14);
/// # Ok::<(), dl_theory::approximation::ApproximationError>(())
/// ```
pub fn fit_power_law(widths: &[f64], errors: &[f64]) -> Result<PowerLawFit> {
    const OP: &str = "fit_power_law";
    if widths.len() != errors.len() {
        return Err(ApproximationError::Dimension {
            op: OP,
            what: "errors (one per width)",
            expected: widths.len(),
            got: errors.len(),
        });
    }
    for (name, values) in [("width", widths), ("error", errors)] {
        if let Some(&v) = values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(ApproximationError::InvalidArgument {
                op: OP,
                name: name.into(),
                value: v,
                requirement: "every value must be finite and positive (logarithms are taken)",
            });
        }
    }
    let x: Vec<f64> = widths.iter().map(|w| w.ln()).collect();
    let y: Vec<f64> = errors.iter().map(|e| e.ln()).collect();
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    if x.len() < 2 || sxx == 0.0 {
        return Err(ApproximationError::InvalidArgument {
            op: OP,
            name: "number of distinct widths".into(),
            value: if sxx == 0.0 { 1.0 } else { x.len() as f64 },
            requirement: "a slope needs at least two distinct widths",
        });
    }
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_tot: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    let ss_res: f64 = x.iter().zip(&y).map(|(a, b)| (b - intercept - slope * a).powi(2)).sum();
    let r_squared = if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { 1.0 };
    Ok(PowerLawFit { slope, intercept, r_squared, points: x.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_noisy_slope_and_refuses_bad_input() {
        // multiplicative noise of +-5% alternating: the slope moves by far less than 0.05
        let n: Vec<f64> = (0..8).map(|k| 2f64.powi(k + 2)).collect();
        let e: Vec<f64> =
            n.iter().enumerate().map(|(i, n)| n.powf(-0.5) * if i % 2 == 0 { 1.05 } else { 0.95 }).collect();
        let fit = fit_power_law(&n, &e).unwrap();
        assert!((fit.slope + 0.5).abs() < 0.02, "{}", fit.slope);
        assert!(fit.r_squared > 0.99);
        assert!(fit_power_law(&[1.0, 2.0], &[1.0, 0.0]).unwrap_err().to_string().contains("error = 0"));
        assert!(fit_power_law(&[3.0, 3.0], &[1.0, 2.0]).is_err());
        assert!(fit_power_law(&[1.0], &[1.0, 2.0]).is_err());
    }
}
