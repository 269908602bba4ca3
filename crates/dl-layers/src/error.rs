//! The error type of every fallible layer operation.
//!
//! Tensor and autodiff errors pass through unchanged; the other variants are this crate's
//! own: a layer given an input it cannot take ([`LayerError::Layer`] names the layer, what
//! it expected and the shape it got), a layer built from a tensor of the wrong shape
//! ([`LayerError::ParamShape`]: the layer, the parameter and both shapes), an invalid
//! configuration, a state dict that does not
//! fit the module (every missing, unexpected and mis-shaped key is listed), and a parameter
//! file that cannot be read.

use std::path::PathBuf;

use dl_autodiff::AutodiffError;
use dl_tensor::TensorError;

/// What went wrong in a layer, a loss, or loading and saving parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayerError {
    /// An autodiff operation failed.
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A layer was applied to an input it cannot take.
    #[error("{layer}: expected {expected}, got an input of shape {got:?}")]
    Layer {
        /// The layer's description, e.g. `Linear(4 -> 16)` or `Conv2d(3 -> 8, kernel 3x3)`.
        layer: String,
        /// What the layer takes, e.g. `an input (N, C=3, H, W)`.
        expected: String,
        /// The shape of the input it was given.
        got: Vec<usize>,
    },
    /// A layer built from given tensors ([`crate::Linear::from_tensors`] and its siblings)
    /// got a parameter of the wrong shape: names the layer, the parameter and both shapes.
    #[error("{layer}: parameter {param} must have shape {expected}, got {got:?}")]
    ParamShape {
        /// The layer being built, e.g. `Linear` or `Conv2d(3 -> 8, kernel 3x3)`.
        layer: String,
        /// The parameter's name: `weight`, `bias`, `weight_ih_l0`, `bias_hh_l0_reverse`, ...
        param: String,
        /// The shape it must have: exact (`[16, 4]`) or a layout (`(out, in): 2 axes`).
        expected: String,
        /// The shape of the tensor given.
        got: Vec<usize>,
    },
    /// A layer or loss was built or called with arguments it cannot honour: non-positive
    /// sizes, channels not divisible by the groups, a drop probability outside `[0, 1]`,
    /// out-of-range ids or labels, a bad truncation schedule, ...
    #[error("{layer}: {detail}")]
    Config {
        /// The layer, loss or function that refused, e.g. `Conv2d`, `Dropout`, `TbpttSchedule`.
        layer: String,
        /// What is wrong, with the offending values.
        detail: String,
    },
    /// A state dict that does not fit the module; every offending key is listed.
    #[error("load_state_dict: {}", describe_state_dict(missing, unexpected, mismatched))]
    StateDict {
        /// Keys the module has and the state dict lacks.
        missing: Vec<String>,
        /// Keys the state dict has and the module lacks.
        unexpected: Vec<String>,
        /// Keys present in both with different shapes: (key, module's shape, file's shape).
        mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
    },
    /// A parameter file that cannot be read or written; names the path.
    #[error("{path}: {detail}")]
    File {
        /// The file (or the label given to [`crate::serialize::from_safetensors_bytes`]).
        path: PathBuf,
        /// The I/O error or what is malformed in the file.
        detail: String,
    },
}

fn describe_state_dict(
    missing: &[String],
    unexpected: &[String],
    mismatched: &[(String, Vec<usize>, Vec<usize>)],
) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing keys [{}]", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected keys [{}]", unexpected.join(", ")));
    }
    if !mismatched.is_empty() {
        let m: Vec<String> = mismatched
            .iter()
            .map(|(k, want, got)| format!("{k}: the module has shape {want:?}, the state dict {got:?}"))
            .collect();
        parts.push(format!("mis-shaped keys [{}]", m.join("; ")));
    }
    parts.join("; ")
}

impl LayerError {
    /// A wrong-input error for `layer`.
    pub fn layer(layer: impl Into<String>, expected: impl Into<String>, got: &[usize]) -> Self {
        LayerError::Layer { layer: layer.into(), expected: expected.into(), got: got.to_vec() }
    }
    /// A wrong-parameter-shape error: `expected` describes the shape (`[16, 4]`, or
    /// `(out, in) with 2 axes`), `got` is the given tensor's shape.
    pub fn param_shape(
        layer: impl Into<String>,
        param: impl Into<String>,
        expected: impl Into<String>,
        got: &[usize],
    ) -> Self {
        LayerError::ParamShape {
            layer: layer.into(),
            param: param.into(),
            expected: expected.into(),
            got: got.to_vec(),
        }
    }
    /// A bad-configuration error for `layer`.
    pub fn config(layer: impl Into<String>, detail: impl Into<String>) -> Self {
        LayerError::Config { layer: layer.into(), detail: detail.into() }
    }
}

/// Result with [`LayerError`].
pub type Result<T, E = LayerError> = std::result::Result<T, E>;
