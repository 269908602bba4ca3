//! [`LayerKind`]: what a module is, as a type rather than a description string.
//!
//! Tools that read a network (dl-ntk's analytic kernel of a `Sequential`, dl-theory's
//! linear-region counter, dl-framework's theoretical analysis) need to know what each
//! layer computes: a dense map, a convolution with its stride and padding, a ReLU with its
//! kink, a normalisation. [`crate::Module::kind`] returns it; every module of dl-layers,
//! dl-norm, dl-init, dl-ntk and dl-framework reports its kind, and a user's own module keeps
//! the default [`LayerKind::Other`] (tools then refuse it with its description, never
//! guess).
//!
//! ```
//! use dl_layers::{Act, Activation, LayerKind, Linear, Module};
//! use dl_tensor::seeded_rng;
//!
//! let dense = Linear::<f64>::new(3, 4, true, &mut seeded_rng(0));
//! assert_eq!(dense.kind(), LayerKind::Linear { in_features: 3, out_features: 4, bias: true });
//! let leaky = Act::leaky_relu(0.1);
//! assert_eq!(Module::<f64>::kind(&leaky), LayerKind::Activation(Activation::LeakyRelu(0.1)));
//! assert_eq!(Module::<f64>::kind(&leaky).name(), "LeakyRelu");
//! ```

use crate::activation::Activation;
use crate::conv::ConvOptions;
use crate::pool::PoolOptions;
use crate::recurrent::CellKind;

/// Which pooling a pooling layer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Max over windows (`MaxPool1d`, `MaxPool2d`): piecewise linear, but not elementwise.
    Max {
        /// 1 (sequences) or 2 (images).
        spatial_dims: usize,
        /// Kernel, stride and padding.
        options: PoolOptions,
    },
    /// Mean over windows, padded zeros counted (`AvgPool1d`, `AvgPool2d`): linear.
    Avg {
        /// 1 (sequences) or 2 (images).
        spatial_dims: usize,
        /// Kernel, stride and padding.
        options: PoolOptions,
    },
    /// Mean over every spatial axis (`GlobalAvgPool`, `GlobalAvgPool1d`): linear.
    GlobalAvg {
        /// `Some(1)` for `GlobalAvgPool1d`; `None` when any number of spatial axes is taken.
        spatial_dims: Option<usize>,
    },
}

/// Which normalisation a normalisation layer does (the layers live in dl-norm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    /// Batch normalisation: batch statistics in training, running statistics (an affine
    /// map) in evaluation.
    Batch,
    /// Layer normalisation over trailing axes.
    Layer,
    /// Group normalisation.
    Group,
    /// Instance normalisation (optionally with running statistics).
    Instance,
    /// RMS normalisation over trailing axes.
    Rms,
}

/// What a module computes. See the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    /// A dense layer `y = x W^T + b` (`Linear`).
    Linear {
        /// Input width.
        in_features: usize,
        /// Output width.
        out_features: usize,
        /// Whether it adds a bias.
        bias: bool,
    },
    /// A convolution (`Conv1d`, `Conv2d`).
    Conv {
        /// 1 or 2.
        spatial_dims: usize,
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// The kernel size along each spatial axis.
        kernel: Vec<usize>,
        /// Stride, padding, dilation, groups, bias.
        options: ConvOptions,
    },
    /// An elementwise activation, with its parameters (a leaky ReLU's slope, ELU's alpha).
    Activation(Activation),
    /// A pooling layer.
    Pool(PoolKind),
    /// `(N, d1, d2, ...)` to `(N, d1 d2 ...)`.
    Flatten,
    /// Inverted dropout with drop probability `p` (the identity in evaluation mode).
    Dropout {
        /// The drop probability.
        p: f64,
    },
    /// A normalisation layer.
    Norm(NormKind),
    /// A recurrent layer (RNN, LSTM, GRU).
    Recurrent {
        /// Which recurrence.
        cell: CellKind,
        /// Whether it also runs backwards in time.
        bidirectional: bool,
    },
    /// A residual block `x + f(x)` or `P(x) + f(x)`.
    Residual {
        /// Whether the shortcut is a projection rather than the identity.
        projection: bool,
    },
    /// A container applying its children in order (`Sequential`, a framework `Network`).
    Sequential {
        /// The number of children.
        len: usize,
    },
    /// A table lookup of token embeddings.
    Embedding {
        /// Vocabulary size.
        num_embeddings: usize,
        /// Embedding width.
        dim: usize,
    },
    /// Anything else: a user's own module, or one whose computation no tool needs to know.
    Other,
}

impl LayerKind {
    /// A short name: `"Linear"`, `"Conv2d"`, `"Relu"`, `"MaxPool1d"`, `"BatchNorm"`, `"LSTM"`, ...
    pub fn name(&self) -> &'static str {
        match self {
            LayerKind::Linear { .. } => "Linear",
            LayerKind::Conv { spatial_dims: 1, .. } => "Conv1d",
            LayerKind::Conv { .. } => "Conv2d",
            LayerKind::Activation(a) => a.name(),
            LayerKind::Pool(PoolKind::Max { spatial_dims: 1, .. }) => "MaxPool1d",
            LayerKind::Pool(PoolKind::Max { .. }) => "MaxPool2d",
            LayerKind::Pool(PoolKind::Avg { spatial_dims: 1, .. }) => "AvgPool1d",
            LayerKind::Pool(PoolKind::Avg { .. }) => "AvgPool2d",
            LayerKind::Pool(PoolKind::GlobalAvg { spatial_dims: Some(1) }) => "GlobalAvgPool1d",
            LayerKind::Pool(PoolKind::GlobalAvg { .. }) => "GlobalAvgPool",
            LayerKind::Flatten => "Flatten",
            LayerKind::Dropout { .. } => "Dropout",
            LayerKind::Norm(NormKind::Batch) => "BatchNorm",
            LayerKind::Norm(NormKind::Layer) => "LayerNorm",
            LayerKind::Norm(NormKind::Group) => "GroupNorm",
            LayerKind::Norm(NormKind::Instance) => "InstanceNorm",
            LayerKind::Norm(NormKind::Rms) => "RmsNorm",
            LayerKind::Recurrent { cell, .. } => cell.name(),
            LayerKind::Residual { .. } => "Residual",
            LayerKind::Sequential { .. } => "Sequential",
            LayerKind::Embedding { .. } => "Embedding",
            LayerKind::Other => "Other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_distinguish_dimensions_and_functions() {
        let opts = PoolOptions::new(2);
        assert_eq!(LayerKind::Pool(PoolKind::Max { spatial_dims: 1, options: opts }).name(), "MaxPool1d");
        assert_eq!(LayerKind::Pool(PoolKind::Avg { spatial_dims: 2, options: opts }).name(), "AvgPool2d");
        assert_eq!(LayerKind::Activation(Activation::Elu(1.0)).name(), "Elu");
        assert_eq!(LayerKind::Recurrent { cell: CellKind::Gru, bidirectional: true }.name(), "GRU");
    }
}
