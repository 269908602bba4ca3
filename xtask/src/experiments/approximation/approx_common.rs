//! Shared pieces of the approximation experiments: measuring a constructed network where its
//! error concentrates, the targets, and small table helpers.

use dl_theory::approximation::{Approximation, Target, error_on_points, verify_approximation_error};

use crate::error::ExperimentError;

/// Wraps an error of a dl crate.
pub fn fail(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

/// A family of targets, each with the points where its error concentrates.
pub type Family = Vec<(Target<'static>, Vec<Vec<f64>>)>;

/// A named 1-D target function.
pub type NamedFn = (&'static str, fn(f64) -> f64);

/// The section every approximation experiment belongs to.
pub const SECTION: &str = "01 approximation";

/// The largest error of `a` against `target` (1-D or more) on a uniform grid of
/// `grid_per_axis` points per axis, `random` uniform points, the `special` points, and, in
/// 1-D, 41 points around each of the first 8 units' thresholds `-b/w` (where a staircase
/// switches). Returns `(sup, l2 on the grid)`.
pub fn measured_error(
    a: &Approximation,
    target: &Target<'_>,
    grid_per_axis: usize,
    random: usize,
    special: &[Vec<f64>],
    seed: u64,
) -> Result<(f64, f64), ExperimentError> {
    let report = verify_approximation_error(a.network(), target, grid_per_axis, random, seed).map_err(fail)?;
    let mut pts: Vec<Vec<f64>> = special.to_vec();
    let p = a.parameters();
    if p.dim == 1 {
        let (lo, hi) = (target.lo()[0], target.hi()[0]);
        for i in 0..p.width().min(8) {
            if p.weights[i] != 0.0 {
                let s = -p.biases[i] / p.weights[i];
                for k in -20..=20 {
                    let x = s + k as f64 * 0.2 / p.weights[i].abs().max(1.0);
                    if (lo..=hi).contains(&x) {
                        pts.push(vec![x]);
                    }
                }
            }
        }
    }
    let extra = if pts.is_empty() { 0.0 } else { error_on_points(a.network(), target, &pts).map_err(fail)?.sup };
    Ok((report.sup().max(extra), report.grid.l2))
}

/// Points `10^-9 .. 10^-2` on a geometric grid (where sqrt's error lives).
pub fn near_zero() -> Vec<Vec<f64>> {
    (0..160).map(|k| vec![10f64.powf(-9.0 + 7.0 * k as f64 / 159.0)]).collect()
}

/// 201 points within `1e-3` of `x0` (a kink).
pub fn around(x0: f64) -> Vec<Vec<f64>> {
    (0..201).map(|k| vec![x0 + (k as f64 - 100.0) * 1e-5]).collect()
}

/// A line `C N^slope` through the first point of `points`, over their range.
pub fn reference_line(points: &[(f64, f64)], slope: f64) -> Vec<(f64, f64)> {
    let Some(&(n0, e0)) = points.first() else { return Vec::new() };
    let n1 = points.last().map_or(n0, |p| p.0);
    vec![(n0, e0), (n1, e0 * (n1 / n0).powf(slope))]
}
