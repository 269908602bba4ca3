//! [`FrameworkError`]: every failure of building, training, monitoring and checkpointing.
//!
//! Lower crates' errors are wrapped (`#[from]`), not flattened, so a caller can still match
//! on a shape error inside a training error. This crate's own variants name what they are
//! about: a configuration error names the JSON field path (`layers[2].kernel_size`), a file
//! error names the path, and a divergence names the step and the first layer or parameter
//! where a NaN or an infinity appeared.

use std::path::PathBuf;

use crate::divergence::DivergenceReport;

/// What went wrong in dl-framework.
#[derive(Debug, thiserror::Error)]
pub enum FrameworkError {
    /// An invalid network or training configuration; `path` is the JSON field path.
    #[error("invalid configuration: {path}: {message}")]
    Config {
        /// The field, e.g. `layers[2].kernel_size` (`<root>` for the whole document).
        path: String,
        /// What was wrong with it.
        message: String,
    },
    /// A layer failed (wrong input shape, bad state dict, ...).
    #[error(transparent)]
    Layer(#[from] dl_layers::LayerError),
    /// Differentiation failed.
    #[error(transparent)]
    Autodiff(#[from] dl_autodiff::AutodiffError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] dl_tensor::TensorError),
    /// A dataset could not be loaded or does not fit.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// An optimiser rejected its hyperparameters, gradients or state.
    #[error(transparent)]
    Optim(#[from] crate::optim::OptimError),
    /// An initialisation scheme could not be computed.
    #[error(transparent)]
    Init(#[from] dl_init::InitError),
    /// Pruning masks that do not fit the network, or bad pruning arguments.
    #[error(transparent)]
    Lottery(#[from] dl_theory::lottery::LotteryError),
    /// Data that does not fit the network: wrong feature shape, labels out of range, a
    /// regression dataset given to a classifier.
    #[error("data does not fit the network: {0}")]
    DataMismatch(String),
    /// A checkpoint that cannot be read or does not fit; nothing was loaded.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A file (history, checkpoint) that cannot be written or read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// Training produced a NaN or an infinity; the report says where and when.
    #[error("{0}")]
    Diverged(Box<DivergenceReport>),
}

impl FrameworkError {
    /// A configuration error at `path`.
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        FrameworkError::Config { path: path.into(), message: message.into() }
    }

    /// A checkpoint error for `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        FrameworkError::Checkpoint { path: path.into(), message: message.into() }
    }

    /// An I/O error for `path`.
    pub fn io(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        FrameworkError::Io { path: path.into(), message: message.to_string() }
    }
}

/// Result with [`FrameworkError`].
pub type Result<T, E = FrameworkError> = std::result::Result<T, E>;
