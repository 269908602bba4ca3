//! Grid methods in `d` dimensions, the baseline whose rate degrades with the dimension.
//!
//! - **Piecewise constant**: `m` cells per axis, `N = m^d` cells, the value at each cell's
//!   centre. For a target with moduli `omega_i`, every point is within `h_i / 2` of its
//!   cell's centre on every axis, so
//!   `sup |G - f| <= sum_i omega_i(h_i / 2) = O(N^(-1/d))` for a Lipschitz target. This is
//!   the function a two-hidden-layer threshold network with one "bump" unit per cell computes
//!   (the classical 2-layer proof; see `docs/approximation.md`), so `N` counts its units.
//! - **Multilinear interpolation** on `m` nodes per axis (`N = m^d` nodes): error
//!   `O(h^2) = O(N^(-2/d))` for a `C^2` target.
//!
//! With `N` fixed, the resolution per axis is `N^(1/d)`: in `d = 16`, `N = 65536` nodes are
//! two per axis. Barron's greedy approximation ([`crate::approximation::greedy`]) reaches
//! `O(n^(-1/2))` in every dimension instead.

use crate::approximation::error::{ApproximationError, Result};
use crate::approximation::target::{Target, check_box};

/// The largest number of grid nodes or cells (`2^24`, 128 MB of f64 values).
pub const MAX_GRID_NODES: usize = 1 << 24;

/// Which grid method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridKind {
    /// Cell-centre values, constant on each cell.
    PiecewiseConstant,
    /// Node values, multilinear on each cell.
    Multilinear,
}

/// A grid approximation on a box.
#[derive(Clone, Debug, PartialEq)]
pub struct GridApproximation {
    /// Lower corner.
    pub lo: Vec<f64>,
    /// Upper corner.
    pub hi: Vec<f64>,
    /// Cells (piecewise constant) or nodes (multilinear) per axis.
    pub per_axis: usize,
    /// The stored values, row-major (last axis fastest).
    pub values: Vec<f64>,
    /// The method.
    pub kind: GridKind,
}

fn count(op: &'static str, per_axis: usize, d: usize, min: usize) -> Result<usize> {
    let total = (per_axis as u128).checked_pow(d as u32).unwrap_or(u128::MAX);
    if per_axis < min || total > MAX_GRID_NODES as u128 {
        return Err(ApproximationError::TooLarge {
            op,
            argument: "per_axis",
            value: per_axis as f64,
            width: usize::try_from(total).unwrap_or(usize::MAX),
            bytes: total.saturating_mul(8),
            limit: MAX_GRID_NODES,
            hint: format!("a grid needs at least {min} per axis and per_axis^d <= 2^24 (d = {d})"),
        });
    }
    Ok(total as usize)
}

impl GridApproximation {
    /// The piecewise-constant approximation of `f` on `cells_per_axis^d` cells.
    pub fn piecewise_constant(
        f: &dyn Fn(&[f64]) -> f64,
        lo: &[f64],
        hi: &[f64],
        cells_per_axis: usize,
    ) -> Result<Self> {
        const OP: &str = "GridApproximation::piecewise_constant";
        check_box(OP, lo, hi)?;
        let d = lo.len();
        let total = count(OP, cells_per_axis, d, 1)?;
        let m = cells_per_axis;
        let values = Self::sample(OP, f, total, d, m, |i, k| lo[i] + (hi[i] - lo[i]) * (k as f64 + 0.5) / m as f64)?;
        Ok(GridApproximation {
            lo: lo.to_vec(),
            hi: hi.to_vec(),
            per_axis: m,
            values,
            kind: GridKind::PiecewiseConstant,
        })
    }

    /// The multilinear interpolant of `f` on `nodes_per_axis^d` nodes (at least 2 per axis).
    pub fn multilinear(f: &dyn Fn(&[f64]) -> f64, lo: &[f64], hi: &[f64], nodes_per_axis: usize) -> Result<Self> {
        const OP: &str = "GridApproximation::multilinear";
        check_box(OP, lo, hi)?;
        let d = lo.len();
        let total = count(OP, nodes_per_axis, d, 2)?;
        let m = nodes_per_axis;
        let values = Self::sample(OP, f, total, d, m, |i, k| lo[i] + (hi[i] - lo[i]) * k as f64 / (m - 1) as f64)?;
        Ok(GridApproximation { lo: lo.to_vec(), hi: hi.to_vec(), per_axis: m, values, kind: GridKind::Multilinear })
    }

    fn sample(
        op: &'static str,
        f: &dyn Fn(&[f64]) -> f64,
        total: usize,
        d: usize,
        m: usize,
        coord: impl Fn(usize, usize) -> f64,
    ) -> Result<Vec<f64>> {
        let mut p = vec![0.0; d];
        (0..total)
            .map(|flat| {
                let mut rest = flat;
                for i in (0..d).rev() {
                    p[i] = coord(i, rest % m);
                    rest /= m;
                }
                let v = f(&p);
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(ApproximationError::NonFiniteTarget { op, point: p.clone(), value: v })
                }
            })
            .collect()
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// `N`: cells or nodes in total.
    pub fn size(&self) -> usize {
        self.values.len()
    }

    /// The approximation at `x` (points outside the box are clamped to it).
    pub fn eval(&self, x: &[f64]) -> f64 {
        let d = self.dim();
        let m = self.per_axis;
        match self.kind {
            GridKind::PiecewiseConstant => {
                let mut flat = 0;
                for (i, &xi) in x.iter().enumerate().take(d) {
                    let t = (xi - self.lo[i]) / (self.hi[i] - self.lo[i]);
                    let k = ((t * m as f64).floor().max(0.0) as usize).min(m - 1);
                    flat = flat * m + k;
                }
                self.values[flat]
            }
            GridKind::Multilinear => {
                let mut base = vec![0usize; d];
                let mut frac = vec![0.0; d];
                for (i, &xi) in x.iter().enumerate().take(d) {
                    let t = ((xi - self.lo[i]) / (self.hi[i] - self.lo[i])).clamp(0.0, 1.0) * (m - 1) as f64;
                    let k = (t.floor() as usize).min(m - 2);
                    base[i] = k;
                    frac[i] = t - k as f64;
                }
                let mut total = 0.0;
                for corner in 0..(1usize << d) {
                    let mut w = 1.0;
                    let mut flat = 0;
                    for i in 0..d {
                        let up = (corner >> (d - 1 - i)) & 1;
                        w *= if up == 1 { frac[i] } else { 1.0 - frac[i] };
                        flat = flat * m + base[i] + up;
                    }
                    if w != 0.0 {
                        total += w * self.values[flat];
                    }
                }
                total
            }
        }
    }

    /// For the piecewise-constant grid: the bound `sum_i omega_i(h_i / 2)` from the target's
    /// moduli (the target must live on the same box). `None` for the multilinear grid.
    pub fn sup_bound(&self, target: &Target<'_>) -> Option<f64> {
        if self.kind != GridKind::PiecewiseConstant || target.dim() != self.dim() {
            return None;
        }
        Some(
            (0..self.dim())
                .map(|i| target.modulus(i).eval((self.hi[i] - self.lo[i]) / self.per_axis as f64 / 2.0 * (1.0 + 1e-12)))
                .sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approximation::modulus::Modulus;

    #[test]
    fn multilinear_is_exact_on_multilinear_functions_and_constant_meets_its_bound() {
        let f = |x: &[f64]| 1.0 + 2.0 * x[0] - x[1] + 3.0 * x[0] * x[1] * x[2];
        let g = GridApproximation::multilinear(&f, &[0.0; 3], &[1.0, 2.0, 1.0], 4).unwrap();
        for p in [[0.1, 0.3, 0.9], [0.77, 1.9, 0.05], [1.0, 2.0, 1.0]] {
            assert!((g.eval(&p) - f(&p)).abs() < 1e-13, "{p:?}");
        }
        let t = Target::new(
            |x: &[f64]| (x[0] + x[1]).sin(),
            &[0.0, 0.0],
            &[1.0, 1.0],
            vec![Modulus::lipschitz(1.0).unwrap()],
        )
        .unwrap();
        let f = |x: &[f64]| (x[0] + x[1]).sin();
        let g = GridApproximation::piecewise_constant(&f, &[0.0, 0.0], &[1.0, 1.0], 10).unwrap();
        let bound = g.sup_bound(&t).unwrap();
        assert!((bound - 0.1).abs() < 1e-12);
        let worst = (0..=200)
            .flat_map(|i| (0..=200).map(move |j| [i as f64 / 200.0, j as f64 / 200.0]))
            .map(|p| (g.eval(&p) - f(&p)).abs())
            .fold(0.0, f64::max);
        assert!(worst <= bound && worst > 0.5 * bound, "{worst} vs {bound}");
        assert!(
            GridApproximation::multilinear(&f, &[0.0; 2], &[1.0; 2], 5000)
                .unwrap_err()
                .to_string()
                .contains("per_axis")
        );
    }
}
