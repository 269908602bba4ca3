//! Expressivity: the linear regions of a [`Network`], counted by dl-theory's exact counter
//! ([`dl_theory::regions`]: one implementation, this module only adapts a network to it).
//!
//! - along a segment ([`line_regions`]): exact, with the boundaries and the number of
//!   linear pieces of the output;
//! - on a 2-D slice through three inputs ([`plane_regions`]): the exact number of cells
//!   (dl-theory's cell enumeration), beside the grid estimate as a cross-check (distinct
//!   patterns and 4-connected components on a grid, both lower than or equal to, and
//!   approaching, the exact count as the grid is refined; see
//!   [`dl_theory::regions::grid_plane_regions`]).
//!
//! A layer that is not affine or an elementwise piecewise-linear activation is named in
//! the error with its position (`layer 1 (Tanh)`), as are dropout and batch norm in
//! training mode (call `network.eval()` first).

use dl_tensor::{Element, Tensor};
use dl_theory::regions::{self as theory, PiecewiseLinearNetwork, PlaneSlice, RegionError};
use serde::{Deserialize, Serialize};

pub use dl_theory::regions::LineRegions;

use super::error::{AnalysisError, Result};
use crate::network::Network;

/// The regions on one 2-D slice: exact, and the grid estimate beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaneRegions {
    /// The exact number of activation regions meeting the square with positive area
    /// (dl-theory's cell enumeration).
    pub regions: usize,
    /// The square spans `[-margin, 1 + margin]` in both plane coordinates.
    pub margin: f64,
    /// Grid points per side of the cross-check.
    pub resolution: usize,
    /// Distinct activation patterns on the grid (at most `regions`).
    pub distinct_patterns: usize,
    /// 4-connected components of grid points with equal patterns.
    pub connected_regions: usize,
}

/// The network as dl-theory's counter reads it, with errors naming the network's layer.
fn piecewise_linear<T: Element>(network: &Network<T>) -> Result<PiecewiseLinearNetwork<'_, T>> {
    let layers = network.layers().iter().map(|l| l.module.as_ref());
    PiecewiseLinearNetwork::new(network.input_shape(), layers).map_err(|e| region_error(network, e))
}

/// A dl-theory error as an analysis error: a layer that is not piecewise linear is named
/// as the network names it.
fn region_error<T: Element>(network: &Network<T>, e: RegionError) -> AnalysisError {
    match e {
        RegionError::NotPiecewiseLinear { index, reason, .. } => {
            AnalysisError::NotPiecewiseLinear { layer: network.layer_name(index), reason }
        }
        other => AnalysisError::Regions(other),
    }
}

/// The exact number of activation regions along `x(t) = a + t (b - a)`, `t in [0, 1]`.
/// `a` and `b` are single inputs (the network's per-example shape, flattened).
/// `max_pieces` bounds the work (an error beyond it).
///
/// ```
/// use dl_framework::NetworkConfig;
/// use dl_framework::analysis::line_regions;
/// let net = NetworkConfig::from_json(r#"{"input_shape": [2], "layers": [
///     {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 1}]}"#)?
///     .build::<f64>()?;
/// let r = line_regions(&net, &[-3.0, -3.0], &[3.0, 3.0], 100_000)?;
/// // one layer of 16 ReLU units: each unit's hyperplane is crossed at most once
/// assert!(r.regions >= 1 && r.regions <= 17);
/// # Ok::<(), dl_framework::analysis::AnalysisError>(())
/// ```
pub fn line_regions<T: Element>(network: &Network<T>, a: &[f64], b: &[f64], max_pieces: usize) -> Result<LineRegions> {
    let pl = piecewise_linear(network)?;
    theory::line_regions(&pl, a, b, max_pieces).map_err(|e| region_error(network, e))
}

/// The activation pattern of every input of the batch `x` (shape `(N, ...input)`): one
/// bit per unit of every piecewise-linear activation layer (whether its input exceeds the
/// kink), packed into `u64` words.
pub fn activation_patterns<T: Element>(network: &Network<T>, x: &Tensor<T>) -> Result<Vec<Vec<u64>>> {
    let pl = piecewise_linear(network)?;
    network.check_input(x.shape())?;
    let values: Vec<f64> = x.contiguous().to_vec().iter().map(|v| v.to_f64_exact()).collect();
    theory::activation_patterns(&pl, &values, x.shape()[0]).map_err(|e| region_error(network, e))
}

/// The number of regions along the segment seen by sampling `samples` equally spaced
/// points and counting pattern changes between neighbours: a lower bound of
/// [`line_regions`], equal to it once the spacing is below the narrowest region.
pub fn sampled_line_regions<T: Element>(network: &Network<T>, a: &[f64], b: &[f64], samples: usize) -> Result<usize> {
    let pl = piecewise_linear(network)?;
    theory::sampled_line_regions(&pl, a, b, samples).map_err(|e| region_error(network, e))
}

/// Regions on the square `[-margin, 1 + margin]^2` of the plane through `x0, x1, x2`
/// (flattened single inputs): the exact count (at most `max_cells` cells, an error beyond),
/// and the grid estimate on a `resolution x resolution` grid beside it.
pub fn plane_regions<T: Element>(
    network: &Network<T>,
    x0: &[f64],
    x1: &[f64],
    x2: &[f64],
    resolution: usize,
    margin: f64,
) -> Result<PlaneRegions> {
    plane_regions_bounded(network, x0, x1, x2, resolution, margin, 1_000_000)
}

/// [`plane_regions`] with an explicit limit on the number of cells.
pub fn plane_regions_bounded<T: Element>(
    network: &Network<T>,
    x0: &[f64],
    x1: &[f64],
    x2: &[f64],
    resolution: usize,
    margin: f64,
    max_cells: usize,
) -> Result<PlaneRegions> {
    if !(margin.is_finite() && margin >= 0.0) {
        return Err(AnalysisError::invalid("plane_regions", format!("need a finite margin >= 0, got {margin}")));
    }
    let pl = piecewise_linear(network)?;
    let slice = PlaneSlice::through(x0, x1, x2, margin);
    let exact = theory::plane_regions(&pl, &slice, max_cells).map_err(|e| region_error(network, e))?;
    let grid = theory::grid_plane_regions(&pl, &slice, resolution).map_err(|e| region_error(network, e))?;
    Ok(PlaneRegions {
        regions: exact.regions,
        margin,
        resolution,
        distinct_patterns: grid.distinct_patterns,
        connected_regions: grid.connected_regions,
    })
}

/// The number of units feeding piecewise-linear activations (the `#neurons` of Hanin and
/// Rolnick 2019), or why the network is not piecewise linear.
pub fn count_neurons<T: Element>(network: &Network<T>) -> Result<usize> {
    piecewise_linear(network)?.neurons().map_err(|e| region_error(network, e))
}
