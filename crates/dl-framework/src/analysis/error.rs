//! [`AnalysisError`]: why a part of the theoretical analysis could not be computed.

use thiserror::Error;

use crate::error::FrameworkError;

/// A failure of [`super::theoretical_analysis`] or one of its parts.
#[derive(Debug, Error)]
pub enum AnalysisError {
    /// Linear regions are defined for piecewise-linear networks only.
    #[error(
        "{layer} is not piecewise linear ({reason}): linear regions are counted for networks of affine layers and piecewise-linear activations (ReLU, leaky ReLU, identity)"
    )]
    NotPiecewiseLinear {
        /// The layer, as `Network::layer_name` writes it.
        layer: String,
        /// What makes it so.
        reason: String,
    },
    /// An argument out of range, or data that does not fit.
    #[error("{op}: {detail}")]
    Invalid {
        /// The analysis step.
        op: &'static str,
        /// What was wrong, with the values.
        detail: String,
    },
    /// dl-theory's region counter refused its arguments (a limit such as `max_pieces`, a
    /// point of the wrong size) or a forward pass inside it failed.
    #[error(transparent)]
    Regions(dl_theory::regions::RegionError),
    /// A kernel computation of dl-ntk failed.
    #[error(transparent)]
    Ntk(#[from] dl_ntk::NtkError),
    /// A mean-field computation of dl-init failed.
    #[error(transparent)]
    Init(#[from] dl_init::InitError),
    /// A forward or backward pass of the network failed.
    #[error(transparent)]
    Framework(#[from] FrameworkError),
}

impl From<dl_layers::LayerError> for AnalysisError {
    fn from(e: dl_layers::LayerError) -> Self {
        AnalysisError::Framework(e.into())
    }
}

impl From<dl_autodiff::AutodiffError> for AnalysisError {
    fn from(e: dl_autodiff::AutodiffError) -> Self {
        AnalysisError::Framework(e.into())
    }
}

impl From<dl_tensor::TensorError> for AnalysisError {
    fn from(e: dl_tensor::TensorError) -> Self {
        AnalysisError::Framework(e.into())
    }
}

impl AnalysisError {
    /// An [`AnalysisError::Invalid`].
    pub fn invalid(op: &'static str, detail: impl Into<String>) -> Self {
        AnalysisError::Invalid { op, detail: detail.into() }
    }
}

/// Results of the analysis.
pub type Result<T, E = AnalysisError> = std::result::Result<T, E>;

impl From<crate::data::DataError> for AnalysisError {
    fn from(e: crate::data::DataError) -> Self {
        AnalysisError::Framework(e.into())
    }
}
