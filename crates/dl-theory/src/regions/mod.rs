//! Linear regions of piecewise-linear networks, counted exactly.
//!
//! A network of affine layers and piecewise-linear activations (ReLU, leaky ReLU) is
//! piecewise affine; its *activation regions* are the sets of inputs sharing one
//! activation pattern (which side of its kink each unit is on). How many a network has is
//! the usual measure of its expressivity: Montúfar et al. (2014) and Serra et al. (2018)
//! bound the maximum, exponential in depth; Telgarsky (2016) constructs networks that
//! attain exponentially many; Hanin and Rolnick (2019) show that at initialisation a
//! network has about `#neurons` of them per unit length along a line, whatever its depth.
//!
//! | file | holds |
//! | --- | --- |
//! | `network` | [`PiecewiseLinearNetwork`]: dl-layers modules read by their typed [`dl_layers::LayerKind`] as affine steps and kinks (or an error naming the first layer that is neither) |
//! | `line` | [`line_regions`]: exact regions and linear pieces along a segment; [`activation_patterns`], [`sampled_line_regions`] |
//! | `plane` | [`plane_regions`]: exact cell enumeration of a 2-D slice ([`PlaneSlice`]) by splitting convex polygons along every unit's zero line |
//! | `grid` | [`grid_plane_regions`]: the grid estimate, kept as a cross-check of the exact count |
//! | `bounds` | the bounds: Zaslavsky's arrangement count, Montúfar et al.'s (2014) lower bound on the maximum, the upper bounds of Montúfar (2017) and Serra et al. (2018), the piece bounds `prod (n_l + 1)` and Telgarsky's `(2 w)^L` |
//!
//! The algorithms and the bounds are derived in `docs/expressivity.md`.
//!
//! ```
//! use dl_layers::{Act, Linear, Sequential};
//! use dl_tensor::seeded_rng;
//! use dl_theory::regions::{PiecewiseLinearNetwork, PlaneSlice, line_regions, plane_regions, serra_upper_bound};
//!
//! let mut rng = seeded_rng(0);
//! let net = Sequential::<f64>::new()
//!     .with(Linear::new(2, 8, true, &mut rng)).with(Act::relu())
//!     .with(Linear::new(8, 8, true, &mut rng)).with(Act::relu())
//!     .with(Linear::new(8, 1, true, &mut rng));
//! let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2])?;
//! let plane = plane_regions(&pl, &PlaneSlice::input_square(3.0), 100_000)?;
//! assert!(plane.regions as f64 <= serra_upper_bound(2, &pl.hidden_widths()?));
//! // a segment crosses exactly the cells the enumeration says it does
//! let line = line_regions(&pl, &[-3.0, -1.0], &[3.0, 2.0], 100_000)?;
//! assert_eq!(line.regions, plane.regions_along((-3.0, -1.0), (3.0, 2.0)));
//! # Ok::<(), dl_theory::regions::RegionError>(())
//! ```

mod bounds;
mod grid;
mod line;
mod network;
mod plane;

use thiserror::Error;

pub use bounds::{
    arrangement_regions, binomial, montufar_lower_bound, montufar_upper_bound, piece_count_bound, serra_upper_bound,
    telgarsky_piece_bound,
};
pub use grid::{GridPlaneRegions, grid_plane_regions};
pub use line::{LineRegions, activation_patterns, line_regions, sampled_line_regions};
pub use network::PiecewiseLinearNetwork;
pub use plane::{PlaneCell, PlaneRegions, PlaneSlice, plane_regions, plane_regions_with_tolerance};

/// Why regions could not be counted.
#[derive(Debug, Error)]
pub enum RegionError {
    /// A layer that is neither affine nor an elementwise piecewise-linear activation.
    #[error(
        "layer {index} ({layer}) is not piecewise linear ({reason}): linear regions are counted for networks of affine layers (dense, convolution, average pooling, flatten; batch norm and dropout in evaluation mode) and elementwise piecewise-linear activations (ReLU, leaky ReLU, identity)"
    )]
    NotPiecewiseLinear {
        /// The layer's position in the list the network was built from.
        index: usize,
        /// Its description (`Module::describe`).
        layer: String,
        /// What makes it so.
        reason: String,
    },
    /// The count exceeds the caller's limit.
    #[error("{op}: more than {limit_name} = {limit} {what} {detail}")]
    TooMany {
        /// The operation.
        op: &'static str,
        /// What was counted (`"pieces"`, `"cells"`).
        what: &'static str,
        /// The argument that set the limit.
        limit_name: &'static str,
        /// Its value.
        limit: usize,
        /// Where the limit was reached.
        detail: String,
    },
    /// An argument out of range.
    #[error("{op}: {detail}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What was wrong, with the values.
        detail: String,
    },
    /// A layer's forward pass failed (usually a shape that does not fit the input shape).
    #[error(transparent)]
    Layer(#[from] dl_layers::LayerError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] dl_tensor::TensorError),
    /// A forward pass failed in autodiff.
    #[error(transparent)]
    Autodiff(#[from] dl_autodiff::AutodiffError),
}

impl RegionError {
    /// An [`RegionError::Invalid`].
    pub(crate) fn invalid(op: &'static str, detail: impl Into<String>) -> Self {
        RegionError::Invalid { op, detail: detail.into() }
    }
}

/// Results of the region counter.
pub type Result<T, E = RegionError> = std::result::Result<T, E>;
