//! The saturating power law `L(N) = a N^(−α) + c` and its least-squares fit in log space
//! (see the module documentation of [`crate::scaling_laws`]).

use super::levenberg_marquardt::{LmOptions, levenberg_marquardt};
use super::{Result, ScalingLawError, invalid};

/// A fitted `L(N) = a N^(−α) + c`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaw {
    /// The scale `a > 0`.
    pub a: f64,
    /// The exponent `α`.
    pub alpha: f64,
    /// The irreducible loss `c ≥ 0`.
    pub c: f64,
    /// The root mean square of the log residuals `ln L_i − ln L(N_i)` at the fit.
    pub log_rmse: f64,
    /// The number of points fitted.
    pub points: usize,
}

impl PowerLaw {
    /// `a N^(−α) + c`.
    pub fn predict(&self, n: f64) -> f64 {
        self.a * n.powf(-self.alpha) + self.c
    }
}

/// Settings of [`fit_power_law`].
#[derive(Clone, Debug, PartialEq)]
pub struct PowerLawFitOptions {
    /// The exponents searched, `[lo, hi]` with `0 < lo < hi` (the profile grid is
    /// log-spaced; the polish stays inside).
    pub alpha_range: (f64, f64),
    /// Points of the profile grid over `α`.
    pub profile_points: usize,
    /// `Some(c)` fixes the irreducible loss (`Some(0.0)`: a pure power law); `None` fits it.
    pub fixed_offset: Option<f64>,
    /// The polish.
    pub lm: LmOptions,
}

impl Default for PowerLawFitOptions {
    /// `α ∈ [1e-3, 5]`, 64 profile points, `c` fitted, default LM settings.
    fn default() -> Self {
        PowerLawFitOptions {
            alpha_range: (1e-3, 5.0),
            profile_points: 64,
            fixed_offset: None,
            lm: LmOptions::default(),
        }
    }
}

/// Fits `L(N) = a N^(−α) + c` to the points `(sizes[i], losses[i])` by least squares on
/// `ln L` (profile over `α`, then Levenberg–Marquardt).
///
/// Errors: lengths that differ, fewer points (or distinct sizes) than free parameters (3,
/// or 2 with a fixed offset), a non-positive or non-finite size or loss, bad options, a fit
/// that finds no positive scale `a`.
pub fn fit_power_law(sizes: &[f64], losses: &[f64], options: &PowerLawFitOptions) -> Result<PowerLaw> {
    let op = "fit_power_law";
    if sizes.len() != losses.len() {
        return Err(ScalingLawError::Length {
            op,
            what: "sizes and losses".into(),
            left: sizes.len(),
            right: losses.len(),
        });
    }
    if let Some((i, v)) = sizes.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
        return Err(invalid(op, "sizes", format!("{v} at index {i}"), "every size N must be finite and positive"));
    }
    if let Some((i, v)) = losses.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
        return Err(invalid(
            op,
            "losses",
            format!("{v} at index {i}"),
            "every loss must be finite and positive (the fit is in log space)",
        ));
    }
    let free = if options.fixed_offset.is_some() { 2 } else { 3 };
    let mut distinct = sizes.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() < free {
        return Err(invalid(
            op,
            "sizes",
            format!("{} points at {} distinct sizes", sizes.len(), distinct.len()),
            format!("a fit of {free} parameters needs at least {free} distinct sizes"),
        ));
    }
    let (lo, hi) = options.alpha_range;
    if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo < hi) {
        return Err(invalid(op, "alpha_range", format!("({lo}, {hi})"), "must satisfy 0 < lo < hi, both finite"));
    }
    if options.profile_points < 2 {
        return Err(invalid(op, "profile_points", options.profile_points, "must be at least 2"));
    }
    if let Some(c) = options.fixed_offset
        && !(c.is_finite() && c >= 0.0)
    {
        return Err(invalid(op, "fixed_offset", c, "must be finite and non-negative"));
    }
    // sizes in units of their geometric mean, for conditioning: L = a' x^(−α) + c, a = a' N_ref^α
    let n_ref = (sizes.iter().map(|n| n.ln()).sum::<f64>() / sizes.len() as f64).exp();
    let x: Vec<f64> = sizes.iter().map(|n| n / n_ref).collect();
    let log_l: Vec<f64> = losses.iter().map(|l| l.ln()).collect();
    let log_sse = |a: f64, alpha: f64, c: f64| -> f64 {
        x.iter().zip(&log_l).map(|(xi, ll)| (ll - (a * xi.powf(-alpha) + c).ln()).powi(2)).sum()
    };
    // profile over α: (a, c) by weighted linear least squares with weights 1 / L²
    let mut start: Option<(f64, f64, f64, f64)> = None;
    for k in 0..options.profile_points {
        let alpha = (lo.ln() + (hi.ln() - lo.ln()) * k as f64 / (options.profile_points - 1) as f64).exp();
        let Some((a, c)) = linear_part(&x, losses, alpha, options.fixed_offset) else { continue };
        let sse = log_sse(a, alpha, c);
        if sse.is_finite() && start.is_none_or(|s| sse < s.3) {
            start = Some((a, alpha, c, sse));
        }
    }
    let (a0, alpha0, c0, _) = start.ok_or_else(|| ScalingLawError::FitFailed {
        op,
        detail: format!("no exponent in [{lo}, {hi}] gives a positive scale a (the losses may increase with N)"),
    })?;
    let fixed = options.fixed_offset;
    let model = |p: &[f64]| -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
        let (ea, alpha, c) = (p[0].exp(), p[1], fixed.unwrap_or_else(|| p[2]));
        let mut r = Vec::with_capacity(x.len());
        let mut j = Vec::with_capacity(x.len());
        for (xi, ll) in x.iter().zip(&log_l) {
            let t = ea * xi.powf(-alpha);
            let m = t + c;
            if m.is_nan() || m <= 0.0 {
                return None;
            }
            r.push(ll - m.ln());
            let mut row = vec![-t / m, t * xi.ln() / m];
            if fixed.is_none() {
                row.push(-1.0 / m);
            }
            j.push(row);
        }
        Some((r, j))
    };
    let mut lm = options.lm.clone();
    let (p0, lower, upper) = if fixed.is_some() {
        (vec![a0.ln(), alpha0], vec![-700.0, lo], vec![700.0, hi])
    } else {
        (vec![a0.ln(), alpha0, c0], vec![-700.0, lo, 0.0], vec![700.0, hi, f64::MAX])
    };
    lm.bounds = Some((lower, upper));
    let res = levenberg_marquardt(model, &p0, &lm)?;
    let (a_scaled, alpha, c) =
        (res.parameters[0].exp(), res.parameters[1], fixed.unwrap_or(res.parameters.get(2).copied().unwrap_or(0.0)));
    let a = a_scaled * n_ref.powf(alpha);
    if !(a.is_finite() && a > 0.0 && alpha.is_finite() && c.is_finite()) {
        return Err(ScalingLawError::FitFailed {
            op,
            detail: format!("non-finite parameters a = {a}, alpha = {alpha}, c = {c}"),
        });
    }
    Ok(PowerLaw { a, alpha, c, log_rmse: (2.0 * res.cost / x.len() as f64).sqrt(), points: x.len() })
}

/// For a fixed `α`: `(a, c)` minimising `Σ (a x_i^(−α) + c − L_i)² / L_i²`, with `c ≥ 0`
/// (or fixed); `None` when the best `a` is not positive.
fn linear_part(x: &[f64], l: &[f64], alpha: f64, fixed: Option<f64>) -> Option<(f64, f64)> {
    let (mut sbb, mut sb, mut s1, mut sbl, mut sl) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (xi, li) in x.iter().zip(l) {
        let w = 1.0 / (li * li);
        let b = xi.powf(-alpha);
        sbb += w * b * b;
        sb += w * b;
        s1 += w;
        sbl += w * b * li;
        sl += w * li;
    }
    let only_a = |c: f64| (sbl - c * sb) / sbb;
    let (a, c) = match fixed {
        Some(c) => (only_a(c), c),
        None => {
            let det = sbb * s1 - sb * sb;
            let (a, c) = ((sbl * s1 - sb * sl) / det, (sbb * sl - sb * sbl) / det);
            if det > 0.0 && c >= 0.0 { (a, c) } else { (only_a(0.0), 0.0) }
        }
    };
    (a.is_finite() && a > 0.0).then_some((a, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_exact_power_laws_over_many_decades() {
        for &(a, alpha, c) in &[(3.0, 0.3, 0.5), (100.0, 1.2, 0.01), (0.5, 0.07, 1.0), (2.0, 0.5, 0.0)] {
            let n: Vec<f64> = (0..8).map(|k| 10f64.powf(1.0 + 0.7 * k as f64)).collect();
            let l: Vec<f64> = n.iter().map(|x| a * x.powf(-alpha) + c).collect();
            let fit = fit_power_law(&n, &l, &PowerLawFitOptions::default()).unwrap();
            let tol = 1e-6;
            assert!((fit.alpha - alpha).abs() < tol * alpha.max(1.0), "{fit:?} vs α = {alpha}");
            assert!((fit.a / a - 1.0).abs() < 1e-5, "{fit:?} vs a = {a}");
            assert!((fit.c - c).abs() < 1e-6 * (1.0 + c), "{fit:?} vs c = {c}");
            assert!(fit.log_rmse < 1e-8);
        }
    }

    #[test]
    fn a_pure_power_law_with_fixed_offset_matches_log_linear_regression() {
        // noisy points; with c = 0 the log-space fit is ordinary regression of ln L on ln N
        let n = [10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0];
        let noise = [0.02, -0.03, 0.01, 0.04, -0.02, -0.01];
        let l: Vec<f64> = n.iter().zip(noise).map(|(x, e): (&f64, f64)| 5.0 * x.powf(-0.4) * e.exp()).collect();
        let opts = PowerLawFitOptions { fixed_offset: Some(0.0), ..PowerLawFitOptions::default() };
        let fit = fit_power_law(&n, &l, &opts).unwrap();
        let lx: Vec<f64> = n.iter().map(|x| x.ln()).collect();
        let ly: Vec<f64> = l.iter().map(|y| y.ln()).collect();
        let (mx, my) = (lx.iter().sum::<f64>() / 6.0, ly.iter().sum::<f64>() / 6.0);
        let slope = lx.iter().zip(&ly).map(|(x, y)| (x - mx) * (y - my)).sum::<f64>()
            / lx.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
        let intercept = my - slope * mx;
        assert!((fit.alpha + slope).abs() < 1e-9, "{} vs {}", fit.alpha, -slope);
        assert!((fit.a.ln() - intercept).abs() < 1e-8);
        assert_eq!(fit.c, 0.0);
    }

    #[test]
    fn degenerate_inputs_are_clear_errors() {
        let o = PowerLawFitOptions::default();
        let e = fit_power_law(&[1.0, 2.0], &[1.0, 0.5], &o).unwrap_err().to_string();
        assert!(e.contains("at least 3 distinct sizes"), "{e}");
        let e = fit_power_law(&[10.0, 10.0, 10.0, 20.0], &[1.0, 1.1, 0.9, 0.5], &o).unwrap_err().to_string();
        assert!(e.contains("2 distinct sizes"), "{e}");
        let e = fit_power_law(&[1.0, 0.0, 3.0], &[1.0, 0.5, 0.3], &o).unwrap_err().to_string();
        assert!(e.contains("sizes = 0 at index 1") && e.contains("positive"), "{e}");
        let e = fit_power_law(&[1.0, -2.0, 3.0], &[1.0, 0.5, 0.3], &o).unwrap_err().to_string();
        assert!(e.contains("-2 at index 1"), "{e}");
        let e = fit_power_law(&[1.0, 2.0, 3.0], &[1.0, f64::NAN, 0.3], &o).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
        let e = fit_power_law(&[1.0, 2.0, 3.0], &[1.0, 0.5], &o).unwrap_err().to_string();
        assert!(e.contains("lengths 3 and 2"), "{e}");
        let e = fit_power_law(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &o).unwrap_err().to_string();
        assert!(e.contains("no exponent"), "{e}");
        let bad = PowerLawFitOptions { alpha_range: (1.0, 0.5), ..o };
        assert!(fit_power_law(&[1.0, 2.0, 3.0], &[1.0, 0.5, 0.3], &bad).is_err());
    }
}
