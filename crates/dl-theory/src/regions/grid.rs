//! The grid estimate of a slice's regions: a cross-check of the exact enumeration
//! ([`super::plane_regions`]), not a replacement for it.
//!
//! The activation pattern is computed at every point of an `R x R` grid over the slice's
//! rectangle; the estimate reports the number of distinct patterns and the number of
//! 4-connected components of grid points with equal patterns. Every pattern seen on the
//! grid is the pattern of a cell of the exact enumeration (up to grid points that fall
//! exactly on a boundary), so the distinct count is a lower bound of the exact count, and
//! reaches it once every cell contains a grid point. The component count can exceed the
//! exact count: a thin cell crossing the grid diagonally is seen as several components.

use dl_tensor::Element;
use serde::{Deserialize, Serialize};

use super::network::PiecewiseLinearNetwork;
use super::plane::PlaneSlice;
use super::{RegionError, Result};

/// The grid estimate of a slice's regions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridPlaneRegions {
    /// Grid points per side.
    pub resolution: usize,
    /// Distinct activation patterns on the grid (a lower bound of the exact count).
    pub distinct_patterns: usize,
    /// 4-connected components of grid points with equal patterns.
    pub connected_regions: usize,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// The grid estimate on a `resolution x resolution` grid over the slice (corners
/// included). Errors for `resolution < 2` or more than 2^24 grid points.
pub fn grid_plane_regions<T: Element>(
    net: &PiecewiseLinearNetwork<'_, T>,
    slice: &PlaneSlice,
    resolution: usize,
) -> Result<GridPlaneRegions> {
    let op = "grid_plane_regions";
    slice.validate(op, net)?;
    if !(2..=4096).contains(&resolution) {
        return Err(RegionError::invalid(op, format!("resolution must lie in 2..=4096, got {resolution}")));
    }
    let at = |(lo, hi): (f64, f64), k: usize| lo + (hi - lo) * k as f64 / (resolution - 1) as f64;
    let d = net.input_dim();
    let mut patterns: Vec<Vec<u64>> = Vec::with_capacity(resolution * resolution);
    for row in 0..resolution {
        let v = at(slice.v_range, row);
        let mut points = Vec::with_capacity(resolution * d);
        for col in 0..resolution {
            points.extend(slice.point(at(slice.u_range, col), v));
        }
        patterns.extend(net.patterns_of(points, resolution)?);
    }
    let mut distinct = patterns.clone();
    distinct.sort();
    distinct.dedup();
    let mut parent: Vec<usize> = (0..patterns.len()).collect();
    for row in 0..resolution {
        for col in 0..resolution {
            let i = row * resolution + col;
            let right = (col + 1 < resolution).then_some(i + 1);
            let up = (row + 1 < resolution).then_some(i + resolution);
            for j in [right, up].into_iter().flatten() {
                if patterns[i] == patterns[j] {
                    let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
        }
    }
    let components = (0..patterns.len()).filter(|&i| find(&mut parent, i) == i).count();
    Ok(GridPlaneRegions { resolution, distinct_patterns: distinct.len(), connected_regions: components })
}
