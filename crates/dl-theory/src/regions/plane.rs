//! Linear regions on a 2-D slice of input space, exactly: the cells of the arrangement the
//! network cuts the slice into, enumerated as convex polygons.
//!
//! **The slice.** `p(u, v) = x_0 + u (x_1 - x_0) + v (x_2 - x_0)` over a rectangle of
//! `(u, v)` ([`PlaneSlice`]). Restricted to it, every layer's output is a continuous
//! piecewise-affine function of `(u, v)`.
//!
//! **The algorithm** (a polygon version of the segment algorithm in [`super::line`]).
//! Start with one cell, the rectangle, carried as its vertices with the network's values
//! at them. Layer by layer:
//!
//! - an affine layer is applied to the values at every vertex; each cell stays one cell;
//! - before an activation (kink at 0), every cell lies inside one activation region of
//!   all earlier layers, so each unit `z_j` is affine on it, and `z_j = 0` is a line. For
//!   each unit in turn, each cell whose vertices have `z_j` of both signs is cut in two
//!   along that line (Sutherland–Hodgman clipping against both half-planes): on an edge
//!   from `V_a` to `V_b` with `z_a > 0 > z_b` the new vertex is `V = (1 - s) V_a + s V_b`,
//!   `s = z_a / (z_a - z_b)`, and since every unit is affine on the cell, every unit's
//!   value at `V` is the same interpolation (exact up to rounding). The piece on the
//!   positive side gets the unit's activation bit. A cut vertex is shared by the two
//!   cells on either side of the edge (one vertex per cut edge and unit).
//! - the activation is then applied at every vertex.
//!
//! Every cell that comes out is convex (an intersection of half-planes within the
//! rectangle) and has one activation pattern; two cells never share a pattern (the set of
//! points with a given pattern is convex, so it is one cell). The number of cells is the
//! number of activation regions meeting the rectangle with positive area; their areas sum
//! to the rectangle's (checked in the tests).
//!
//! **Tolerance.** The arithmetic is plain f64 (no exact rationals). A vertex whose `z_j`
//! is within `rel_tol * max |z_j|` (the maximum over every vertex of the slice at that
//! layer) of 0 counts as lying on the unit's line: it goes to both pieces, and no piece
//! thinner than that is split off. The default `rel_tol` is `sqrt(eps)` of the network's
//! element type (1.5e-8 for f64, 3.5e-4 for f32, whose values carry f32 rounding).
//! Regions thinner than the tolerance, and regions that touch the slice in a segment or a
//! point only, are not counted.

use std::collections::HashMap;

use dl_tensor::Element;
use serde::{Deserialize, Serialize};

use super::network::{PiecewiseLinearNetwork, Points, Step, set_bit};
use super::{RegionError, Result};

/// A rectangle of a 2-D plane through three inputs: `p(u, v) = x0 + u (x1 - x0) + v (x2 - x0)`
/// for `u` in `u_range`, `v` in `v_range`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaneSlice {
    /// The origin `x_0` (flat).
    pub x0: Vec<f64>,
    /// The point at `(u, v) = (1, 0)`.
    pub x1: Vec<f64>,
    /// The point at `(u, v) = (0, 1)`.
    pub x2: Vec<f64>,
    /// `(lo, hi)` of `u`.
    pub u_range: (f64, f64),
    /// `(lo, hi)` of `v`.
    pub v_range: (f64, f64),
}

impl PlaneSlice {
    /// The square `[-margin, 1 + margin]^2` of the plane through `x0, x1, x2`.
    pub fn through(x0: &[f64], x1: &[f64], x2: &[f64], margin: f64) -> Self {
        PlaneSlice {
            x0: x0.to_vec(),
            x1: x1.to_vec(),
            x2: x2.to_vec(),
            u_range: (-margin, 1.0 + margin),
            v_range: (-margin, 1.0 + margin),
        }
    }

    /// The square `[-half_width, half_width]^2` of a 2-D input space itself
    /// (`x_0 = 0`, `x_1 = e_1`, `x_2 = e_2`).
    pub fn input_square(half_width: f64) -> Self {
        PlaneSlice {
            x0: vec![0.0, 0.0],
            x1: vec![1.0, 0.0],
            x2: vec![0.0, 1.0],
            u_range: (-half_width, half_width),
            v_range: (-half_width, half_width),
        }
    }

    /// The input at plane coordinates `(u, v)`.
    pub fn point(&self, u: f64, v: f64) -> Vec<f64> {
        (0..self.x0.len()).map(|j| self.x0[j] + u * (self.x1[j] - self.x0[j]) + v * (self.x2[j] - self.x0[j])).collect()
    }

    /// The rectangle's area in `(u, v)`.
    pub fn area(&self) -> f64 {
        (self.u_range.1 - self.u_range.0) * (self.v_range.1 - self.v_range.0)
    }

    /// Checks the points against the network and the ranges.
    pub(crate) fn validate<T: Element>(&self, op: &'static str, net: &PiecewiseLinearNetwork<'_, T>) -> Result<()> {
        net.check_point(op, "x0", &self.x0)?;
        net.check_point(op, "x1", &self.x1)?;
        net.check_point(op, "x2", &self.x2)?;
        for (name, (lo, hi)) in [("u_range", self.u_range), ("v_range", self.v_range)] {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(RegionError::invalid(
                    op,
                    format!("{name} must be a finite, non-empty interval, got ({lo}, {hi})"),
                ));
            }
        }
        Ok(())
    }
}

/// One cell of a slice: a convex polygon in plane coordinates with its activation pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaneCell {
    /// The vertices `(u, v)`, counter-clockwise.
    pub vertices: Vec<(f64, f64)>,
    /// The activation pattern (one bit per unit, `z > 0`, packed into `u64` words).
    pub pattern: Vec<u64>,
    /// The cell's area in `(u, v)`.
    pub area: f64,
}

/// The exact regions of a slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaneRegions {
    /// The number of cells (activation regions with positive area in the rectangle).
    pub regions: usize,
    /// The number of distinct activation patterns among the cells (equal to `regions`
    /// unless the tolerance merged or split something; reported as a check).
    pub distinct_patterns: usize,
    /// The cells.
    pub cells: Vec<PlaneCell>,
    /// The rectangle's area (the cells' areas sum to it).
    pub area: f64,
}

impl PlaneRegions {
    /// The number of cells the segment from `from` to `to` (plane coordinates) passes
    /// through with positive length: the activation regions along that segment, which
    /// [`super::line_regions`] counts directly (each cell is convex, so a segment meets it
    /// in one interval at most).
    pub fn regions_along(&self, from: (f64, f64), to: (f64, f64)) -> usize {
        let d = (to.0 - from.0, to.1 - from.1);
        self.cells
            .iter()
            .filter(|c| {
                let (t0, t1) = clip_segment(&c.vertices, from, d);
                t1 - t0 > 1e-9
            })
            .count()
    }
}

/// Clips `from + t d`, `t in [0, 1]`, by a convex counter-clockwise polygon (Cyrus–Beck):
/// the parameter interval inside it (empty when `t1 <= t0`).
fn clip_segment(poly: &[(f64, f64)], from: (f64, f64), d: (f64, f64)) -> (f64, f64) {
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        // inside: cross(b - a, p - a) >= 0 for a counter-clockwise polygon
        let e = (b.0 - a.0, b.1 - a.1);
        let num = e.0 * (from.1 - a.1) - e.1 * (from.0 - a.0);
        let den = e.0 * d.1 - e.1 * d.0;
        if den == 0.0 {
            if num < 0.0 {
                return (1.0, 0.0);
            }
        } else {
            let t = -num / den;
            if den > 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0, t1)
}

/// Twice the signed area of a polygon (positive when counter-clockwise).
fn signed_area2(poly: &[(f64, f64)]) -> f64 {
    (0..poly.len())
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// The vertices of every cell, their plane coordinates and the current layer's values.
struct Arrangement {
    uv: Vec<(f64, f64)>,
    points: Points,
    cells: Vec<Vec<u32>>,
    patterns: Vec<Vec<u64>>,
}

impl Arrangement {
    /// Appends the vertex `(1 - s) V_a + s V_b` and returns its index.
    fn interpolate(&mut self, a: u32, b: u32, s: f64) -> u32 {
        let w = self.points.width();
        let (a, b) = (a as usize, b as usize);
        let (ua, ub) = (self.uv[a], self.uv[b]);
        self.uv.push(((1.0 - s) * ua.0 + s * ub.0, (1.0 - s) * ua.1 + s * ub.1));
        for k in 0..w {
            let v = (1.0 - s) * self.points.values[a * w + k] + s * self.points.values[b * w + k];
            self.points.values.push(v);
        }
        self.points.n += 1;
        (self.uv.len() - 1) as u32
    }

    /// Cuts every cell along unit `j`'s zero line (see the module docs); the positive
    /// pieces get bit `bit` of the pattern.
    fn cut(&mut self, j: usize, tol: f64, bit: usize) {
        let w = self.points.width();
        let z = |arr: &Arrangement, i: u32| arr.points.values[i as usize * w + j];
        let side = |v: f64| {
            if v > tol {
                1i8
            } else if v < -tol {
                -1
            } else {
                0
            }
        };
        let mut cut_edges: HashMap<(u32, u32), u32> = HashMap::new();
        let cells = std::mem::take(&mut self.cells);
        let patterns = std::mem::take(&mut self.patterns);
        for (cell, mut pattern) in cells.into_iter().zip(patterns) {
            let sides: Vec<i8> = cell.iter().map(|&i| side(z(self, i))).collect();
            let (any_pos, any_neg) = (sides.contains(&1), sides.contains(&-1));
            if !(any_pos && any_neg) {
                if any_pos {
                    set_bit(&mut pattern, bit);
                }
                self.cells.push(cell);
                self.patterns.push(pattern);
                continue;
            }
            let (mut pos, mut neg) = (Vec::new(), Vec::new());
            for k in 0..cell.len() {
                let (a, b) = (cell[k], cell[(k + 1) % cell.len()]);
                let (sa, sb) = (sides[k], sides[(k + 1) % cell.len()]);
                if sa >= 0 {
                    pos.push(a);
                }
                if sa <= 0 {
                    neg.push(a);
                }
                if sa * sb < 0 {
                    let key = (a.min(b), a.max(b));
                    let v = match cut_edges.get(&key) {
                        Some(&v) => v,
                        None => {
                            let (za, zb) = (z(self, key.0), z(self, key.1));
                            let v = self.interpolate(key.0, key.1, za / (za - zb));
                            cut_edges.insert(key, v);
                            v
                        }
                    };
                    pos.push(v);
                    neg.push(v);
                }
            }
            let mut positive = pattern.clone();
            set_bit(&mut positive, bit);
            self.cells.push(pos);
            self.patterns.push(positive);
            self.cells.push(neg);
            self.patterns.push(pattern);
        }
    }
}

/// The exact regions of `slice` (see the module docs), with the default tolerance
/// `sqrt(eps)` of `T`. `max_cells` bounds the work (an error naming it beyond).
///
/// ```
/// use dl_layers::{Act, Linear, Sequential};
/// use dl_tensor::seeded_rng;
/// use dl_theory::regions::{PiecewiseLinearNetwork, PlaneSlice, plane_regions};
///
/// // one layer of 6 ReLU units on the plane: an arrangement of 6 lines, at most
/// // 1 + 6 + 15 = 22 cells (Zaslavsky)
/// let mut rng = seeded_rng(5);
/// let net = Sequential::<f64>::new().with(Linear::new(2, 6, true, &mut rng)).with(Act::relu());
/// let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2])?;
/// let r = plane_regions(&pl, &PlaneSlice::input_square(10.0), 10_000)?;
/// assert!(r.regions >= 2 && r.regions <= 22);
/// let total: f64 = r.cells.iter().map(|c| c.area).sum();
/// assert!((total - 400.0).abs() < 1e-9);
/// # Ok::<(), dl_theory::regions::RegionError>(())
/// ```
pub fn plane_regions<T: Element>(
    net: &PiecewiseLinearNetwork<'_, T>,
    slice: &PlaneSlice,
    max_cells: usize,
) -> Result<PlaneRegions> {
    plane_regions_with_tolerance(net, slice, max_cells, T::epsilon().to_f64_exact().sqrt())
}

/// [`plane_regions`] with an explicit relative tolerance for degenerate cuts.
pub fn plane_regions_with_tolerance<T: Element>(
    net: &PiecewiseLinearNetwork<'_, T>,
    slice: &PlaneSlice,
    max_cells: usize,
    rel_tol: f64,
) -> Result<PlaneRegions> {
    let op = "plane_regions";
    slice.validate(op, net)?;
    if !(rel_tol.is_finite() && (0.0..1.0).contains(&rel_tol)) {
        return Err(RegionError::invalid(op, format!("rel_tol must lie in [0, 1), got {rel_tol}")));
    }
    if max_cells == 0 {
        return Err(RegionError::invalid(op, "max_cells must be at least 1"));
    }
    let ((u0, u1), (v0, v1)) = (slice.u_range, slice.v_range);
    let uv = vec![(u0, v0), (u1, v0), (u1, v1), (u0, v1)];
    let values: Vec<f64> = uv.iter().flat_map(|&(u, v)| slice.point(u, v)).collect();
    let mut arr = Arrangement {
        points: Points::new(values, 4, net.input_shape().to_vec()),
        uv,
        cells: vec![vec![0, 1, 2, 3]],
        patterns: vec![Vec::new()],
    };
    let mut offset = 0;
    for (layer, step) in net.steps.iter().enumerate() {
        let slope_below = match step {
            Step::Affine(m) => {
                arr.points = std::mem::replace(&mut arr.points, Points::new(Vec::new(), 0, Vec::new())).affine(*m)?;
                continue;
            }
            Step::Kink { slope_below } => *slope_below,
        };
        let w = arr.points.width();
        let mut scale = vec![0.0f64; w];
        for row in arr.points.values.chunks_exact(w) {
            for (s, z) in scale.iter_mut().zip(row) {
                *s = s.max(z.abs());
            }
        }
        for (j, s) in scale.iter().enumerate() {
            arr.cut(j, rel_tol * s, offset + j);
            if arr.cells.len() > max_cells {
                return Err(RegionError::TooMany {
                    op,
                    what: "cells",
                    limit_name: "max_cells",
                    limit: max_cells,
                    detail: format!("at unit {j} of the activation in step {layer} ({w} units)"),
                });
            }
        }
        offset += w;
        arr.points.activate(slope_below);
    }
    let words = offset.div_ceil(64);
    let mut cells: Vec<PlaneCell> = arr
        .cells
        .iter()
        .zip(arr.patterns)
        .map(|(cell, mut pattern)| {
            pattern.resize(words, 0);
            let mut vertices: Vec<(f64, f64)> = cell.iter().map(|&i| arr.uv[i as usize]).collect();
            let a2 = signed_area2(&vertices);
            if a2 < 0.0 {
                vertices.reverse();
            }
            PlaneCell { vertices, pattern, area: 0.5 * a2.abs() }
        })
        .collect();
    cells.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    let distinct_patterns = 1 + cells.windows(2).filter(|w| w[0].pattern != w[1].pattern).count();
    Ok(PlaneRegions { regions: cells.len(), distinct_patterns, cells, area: slice.area() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_a_segment_by_the_unit_square() {
        let sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        let (t0, t1) = clip_segment(&sq, (-1.0, 0.5), (3.0, 0.0));
        assert!((t0 - 1.0 / 3.0).abs() < 1e-15 && (t1 - 2.0 / 3.0).abs() < 1e-15);
        let (t0, t1) = clip_segment(&sq, (-1.0, 2.0), (3.0, 0.0));
        assert!(t1 <= t0);
        assert_eq!(signed_area2(&sq), 2.0);
    }
}
