//! Networks from configuration: a serde JSON document describes the architecture, the
//! initialisation scheme and the parameterisation; [`NetworkConfig::build`] validates it
//! field by field and builds a [`Network`](crate::network::Network).
//!
//! ```json
//! {
//!   "input_shape": [1, 8, 8],
//!   "layers": [
//!     {"type": "conv2d", "channels": 16, "kernel_size": 3, "padding": 1, "activation": "relu"},
//!     {"type": "max_pool2d", "kernel_size": 2},
//!     {"type": "flatten"},
//!     {"type": "dropout", "p": 0.1},
//!     {"type": "residual", "body": [{"type": "dense", "units": 256, "activation": "relu"},
//!                                    {"type": "dense", "units": 256}]},
//!     {"type": "dense", "units": 10}
//!   ],
//!   "init": {"scheme": "critical", "activation": "relu", "sigma_b2": 0.0},
//!   "parameterisation": {"kind": "standard"},
//!   "seed": 0
//! }
//! ```
//!
//! Layer types: `dense`, `conv1d`, `conv2d`, `max_pool1d`, `avg_pool1d`, `max_pool2d`,
//! `avg_pool2d`, `global_avg_pool`, `flatten`, `dropout`, `activation`, `embedding` (token
//! ids to vectors), `recurrent` (RNN, LSTM, GRU over
//! per-example sequences `(length, features)`, batch first), `residual` (a body of layers
//! added to its input, with a linear or 1x1-convolution projection when the shapes differ
//! and `"projection": true`). `dense`, `conv1d` and `conv2d` take an optional `activation`
//! applied after them.
//!
//! Normalisation layers (dl-norm; see `docs/normalisation.md`), each with an optional `eps`
//! and `affine`, also inside residual bodies:
//!
//! | type | input (per example) | statistics over | extra fields |
//! | --- | --- | --- | --- |
//! | `batch_norm` | `(F,)`, `(C, L)`: BatchNorm1d; `(C, H, W)`: BatchNorm2d | the batch and spatial axes, per channel; running statistics in evaluation | `momentum` (0.1; `null`: cumulative) |
//! | `layer_norm` | any | every per-example axis | |
//! | `group_norm` | `(C, ...)` | each group of `C / groups` channels and the spatial axes | `groups` (must divide `C`) |
//! | `instance_norm` | `(C, H, W)` | the spatial axes, per channel | `track_running_stats` |
//! | `rms_norm` | any | every per-example axis (no centring) | |
//!
//! Running statistics are buffers: they are saved in the state dict and checkpoints, and
//! evaluation (`Trainer::evaluate`, monitors) uses them.
//!
//! Initialisation schemes: `pytorch` (the default: uniform on `[-1/sqrt(fan_in),
//! 1/sqrt(fan_in)]`, PyTorch's `nn.Linear`/`nn.Conv` default) and `critical`
//! (`W ~ N(0, sigma_w2 / fan_in)`, `b ~ N(0, sigma_b2)` with `sigma_w2` on the critical
//! line chi_1 = 1 of the named activation, Schoenholz et al. 2017, via
//! [`dl_init::CriticalInit`]; recurrent layers keep PyTorch's initialisation, since the
//! critical line is a property of feed-forward signal propagation), `gaussian` (the same
//! draws at a given `sigma_w2`, `sigma_b2`: any point of the phase diagram), and the named
//! schemes of dl-init with zero biases: `xavier` (Glorot & Bengio 2010), `kaiming` (He et
//! al. 2015; `mode` `fan_in` or `fan_out`), `lecun`, each `normal` or `uniform`, with an
//! optional `gain`, and `orthogonal` (Saxe et al. 2014), e.g.
//! `{"scheme": "kaiming", "distribution": "uniform", "gain": 1.414}`.
//!
//! Parameterisations: `standard` (the weights carry their scale), `ntk`
//! (`h = (sigma_w / sqrt(fan_in)) W x + sigma_b b` with `W, b` standard normal, Jacot et
//! al. 2018; dense layers only), and the abc family anchored at a base width, `mup`
//! (Yang & Hu 2021) and `abc` with a scheme `standard`, `ntk` or `mup`: per-layer
//! multipliers, initial scales and learning-rate factors (Tensor Programs IV/V, Table 3),
//! equal to the standard parameterisation at the base width (dense and parameter-free
//! layers only; see [`Parameterisation`] and `docs/training.md`).
//!
//! `lazy_scale` `alpha` makes the network the lazy model `alpha (f(x; w) - f(x; w_0))` of
//! Chizat, Oyallon & Bach (2019), trained on the loss divided by `alpha^2`.
//!
//! Errors name the field: a JSON error carries its path (`layers[2].kernel_size: invalid
//! type: string "3", expected usize`), and the semantic checks name theirs
//! (`layers[2].kernel_size: must be positive`, `layers[4]: dense needs a flat input
//! (features,), got per-example shape [16, 4, 4]; add a flatten layer`).

mod field_path;
mod footprint;
mod init;
mod parameterisation;

use serde::{Deserialize, Serialize};

use crate::error::{FrameworkError, Result};

pub use init::{Distribution, FanModeConfig, InitConfig};
pub use parameterisation::Parameterisation;

/// An activation function as written in a configuration: `"relu"`, `"tanh"`, ...,
/// `{"leaky_relu": 0.01}`, `{"elu": 1.0}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationConfig {
    /// max(x, 0).
    Relu,
    /// max(x, 0) + slope min(x, 0).
    LeakyRelu(f64),
    /// x for x > 0, alpha (e^x - 1) otherwise.
    Elu(f64),
    /// x Phi(x).
    Gelu,
    /// 1 / (1 + e^-x).
    Sigmoid,
    /// tanh(x).
    Tanh,
    /// log(1 + e^x).
    Softplus,
    /// erf(x).
    Erf,
    /// sin(x).
    Sin,
    /// x.
    Identity,
}

impl ActivationConfig {
    /// The layer-side activation.
    pub fn to_layer(self) -> dl_layers::Activation {
        use dl_layers::Activation as A;
        match self {
            ActivationConfig::Relu => A::Relu,
            ActivationConfig::LeakyRelu(s) => A::LeakyRelu(s),
            ActivationConfig::Elu(a) => A::Elu(a),
            ActivationConfig::Gelu => A::Gelu,
            ActivationConfig::Sigmoid => A::Sigmoid,
            ActivationConfig::Tanh => A::Tanh,
            ActivationConfig::Softplus => A::Softplus,
            ActivationConfig::Erf => A::Erf,
            ActivationConfig::Sin => A::Sin,
            ActivationConfig::Identity => A::Identity,
        }
    }

    /// The mean-field side of the same function (for critical initialisation).
    pub fn to_mean_field(self) -> dl_init::Activation {
        use dl_init::Activation as A;
        match self {
            ActivationConfig::Relu => A::Relu,
            ActivationConfig::LeakyRelu(s) => A::LeakyRelu(s),
            ActivationConfig::Elu(a) => A::Elu(a),
            ActivationConfig::Gelu => A::Gelu,
            ActivationConfig::Sigmoid => A::Sigmoid,
            ActivationConfig::Tanh => A::Tanh,
            ActivationConfig::Softplus => A::Softplus,
            ActivationConfig::Erf => A::Erf,
            ActivationConfig::Sin => A::Sin,
            ActivationConfig::Identity => A::Linear,
        }
    }
}

/// A recurrent cell as written in a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellConfig {
    /// Elman RNN with tanh.
    RnnTanh,
    /// Elman RNN with relu.
    RnnRelu,
    /// LSTM.
    Lstm,
    /// GRU.
    Gru,
}

impl CellConfig {
    /// The layer-side cell.
    pub fn to_layer(self) -> dl_layers::CellKind {
        match self {
            CellConfig::RnnTanh => dl_layers::CellKind::RnnTanh,
            CellConfig::RnnRelu => dl_layers::CellKind::RnnRelu,
            CellConfig::Lstm => dl_layers::CellKind::Lstm,
            CellConfig::Gru => dl_layers::CellKind::Gru,
        }
    }
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn batch_norm_momentum() -> Option<f64> {
    Some(0.1)
}

/// One layer of a configuration (a JSON object with a `"type"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerConfig {
    /// A fully connected layer `(features,) -> (units,)`.
    Dense {
        /// Output width.
        units: usize,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// An activation applied after the layer.
        #[serde(default)]
        activation: Option<ActivationConfig>,
    },
    /// A 1-D convolution `(C, L) -> (channels, L')`.
    Conv1d {
        /// Output channels.
        channels: usize,
        /// Kernel length.
        kernel_size: usize,
        /// Stride (default 1).
        #[serde(default = "one")]
        stride: usize,
        /// Zeros on each side (default 0).
        #[serde(default)]
        padding: usize,
        /// Dilation (default 1).
        #[serde(default = "one")]
        dilation: usize,
        /// Groups (default 1).
        #[serde(default = "one")]
        groups: usize,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// An activation applied after the layer.
        #[serde(default)]
        activation: Option<ActivationConfig>,
    },
    /// A 2-D convolution `(C, H, W) -> (channels, H', W')` with a square kernel.
    Conv2d {
        /// Output channels.
        channels: usize,
        /// Kernel height and width.
        kernel_size: usize,
        /// Stride (default 1).
        #[serde(default = "one")]
        stride: usize,
        /// Zeros on each side (default 0).
        #[serde(default)]
        padding: usize,
        /// Dilation (default 1).
        #[serde(default = "one")]
        dilation: usize,
        /// Groups (default 1).
        #[serde(default = "one")]
        groups: usize,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// An activation applied after the layer.
        #[serde(default)]
        activation: Option<ActivationConfig>,
    },
    /// Max pooling over `(C, H, W)` with a square window.
    MaxPool2d {
        /// Window size.
        kernel_size: usize,
        /// Stride (default: the window size).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding (default 0).
        #[serde(default)]
        padding: usize,
    },
    /// Average pooling over `(C, H, W)` with a square window.
    AvgPool2d {
        /// Window size.
        kernel_size: usize,
        /// Stride (default: the window size).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding (default 0).
        #[serde(default)]
        padding: usize,
    },
    /// Max pooling over `(C, L)` sequences (PyTorch's `MaxPool1d`).
    MaxPool1d {
        /// Window size.
        kernel_size: usize,
        /// Stride (default: the window size).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding (default 0).
        #[serde(default)]
        padding: usize,
    },
    /// Average pooling over `(C, L)` sequences, padded zeros counted (PyTorch's `AvgPool1d`).
    AvgPool1d {
        /// Window size.
        kernel_size: usize,
        /// Stride (default: the window size).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding (default 0).
        #[serde(default)]
        padding: usize,
    },
    /// The mean over every spatial position: `(C, ...) -> (C,)`.
    GlobalAvgPool,
    /// A lookup table (dl-layers' `Embedding`): inputs of any per-example shape holding
    /// whole-number token ids in `0..num_embeddings` give `(..., dim)`.
    Embedding {
        /// Rows of the table (the vocabulary).
        num_embeddings: usize,
        /// Length of each vector.
        dim: usize,
        /// Standard deviation of the initial entries (default 1, PyTorch's N(0, 1)).
        #[serde(default)]
        std: Option<f64>,
    },
    /// `(d1, d2, ...) -> (d1 d2 ...,)`.
    Flatten,
    /// Inverted dropout with drop probability `p`.
    Dropout {
        /// Drop probability in [0, 1).
        p: f64,
    },
    /// An elementwise activation.
    Activation {
        /// The function.
        function: ActivationConfig,
    },
    /// A recurrent layer over sequences `(length, features)`: RNN, LSTM or GRU (PyTorch's
    /// cells and initialisation), optionally bidirectional; passes on every step's output
    /// `(length, D hidden)` or the final state `(D hidden,)`.
    Recurrent {
        /// `rnn_tanh`, `rnn_relu`, `lstm` or `gru`.
        cell: CellConfig,
        /// Hidden width H.
        hidden_size: usize,
        /// Run a second direction backwards over the sequence (D = 2).
        #[serde(default)]
        bidirectional: bool,
        /// `sequence` (default) or `last`.
        #[serde(default)]
        output: RecurrentOutputKind,
    },
    /// Batch normalisation (Ioffe and Szegedy 2015): per channel, over the batch (and the
    /// spatial axes) in training, with the running statistics in evaluation. `BatchNorm1d`
    /// on flat `(features,)` and on `(channels, length)`, `BatchNorm2d` on
    /// `(channels, height, width)`.
    BatchNorm {
        /// Weight of a new batch in the running statistics (default 0.1, PyTorch's);
        /// `null` for a cumulative average of every batch.
        #[serde(default = "batch_norm_momentum")]
        momentum: Option<f64>,
        /// Added to the variance (default 1e-5).
        #[serde(default)]
        eps: Option<f64>,
        /// A learned per-channel scale and shift (default true).
        #[serde(default = "yes")]
        affine: bool,
    },
    /// Layer normalisation (Ba, Kiros and Hinton 2016): per example, over every
    /// per-example axis, with an elementwise scale and shift of that shape.
    LayerNorm {
        /// Added to the variance (default 1e-5).
        #[serde(default)]
        eps: Option<f64>,
        /// A learned elementwise scale and shift (default true).
        #[serde(default = "yes")]
        affine: bool,
    },
    /// Group normalisation (Wu and He 2018): per example and group of channels (the first
    /// per-example axis; the features of a flat input).
    GroupNorm {
        /// The number of groups; must divide the channels.
        groups: usize,
        /// Added to the variance (default 1e-5).
        #[serde(default)]
        eps: Option<f64>,
        /// A learned per-channel scale and shift (default true).
        #[serde(default = "yes")]
        affine: bool,
    },
    /// Instance normalisation (Ulyanov et al. 2016) of `(channels, height, width)`: per
    /// example and channel, over the spatial axes.
    InstanceNorm {
        /// Added to the variance (default 1e-5).
        #[serde(default)]
        eps: Option<f64>,
        /// A learned per-channel scale and shift (default false, as in PyTorch).
        #[serde(default)]
        affine: bool,
        /// Keep running statistics for evaluation (default false, as in PyTorch).
        #[serde(default)]
        track_running_stats: bool,
    },
    /// RMS normalisation (Zhang and Sennrich 2019): per example, `x / sqrt(mean(x^2) + eps)`
    /// over every per-example axis, with an elementwise scale.
    RmsNorm {
        /// Added to the mean square (default: the machine epsilon of the element type).
        #[serde(default)]
        eps: Option<f64>,
        /// A learned elementwise scale (default true).
        #[serde(default = "yes")]
        affine: bool,
    },
    /// `y = x + f(x)` (or `P x + f(x)` with a projection `P`), `f` the body.
    Residual {
        /// The layers of `f`.
        body: Vec<LayerConfig>,
        /// Whether the shortcut is a learned projection (needed when `f` changes the shape).
        #[serde(default)]
        projection: bool,
    },
}

/// A network configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The shape of one example, without the batch axis: `[64]`, `[1, 40]`, `[1, 8, 8]`.
    pub input_shape: Vec<usize>,
    /// The layers, in order.
    pub layers: Vec<LayerConfig>,
    /// The initialisation scheme.
    #[serde(default)]
    pub init: InitConfig,
    /// The parameterisation.
    #[serde(default)]
    pub parameterisation: Parameterisation,
    /// Seed of the initialisation draws and the dropout masks.
    #[serde(default)]
    pub seed: u64,
    /// The most memory, in bytes, that building the network may take (its parameters and
    /// one example's activations); absent: the machine's available memory
    /// ([`MemoryLimit::available`](dl_tensor::MemoryLimit::available)). A layer that would
    /// exceed it is refused before it is allocated, with an error naming it and the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<u64>,
    /// Lazy training (Chizat, Oyallon & Bach 2019): the network computes
    /// `alpha (f(x; w) - f(x; w_0))` with `f(.; w_0)` a frozen copy at initialisation, and
    /// the trainer scales the loss by `1 / alpha^2`. Needs a deterministic network (no
    /// dropout, no running statistics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lazy_scale: Option<f64>,
}

/// Reads and parses a JSON file into `C`; errors name the path and the field path.
pub fn parse_file<C: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<C> {
    let text = std::fs::read_to_string(path).map_err(|e| FrameworkError::io(path, e))?;
    parse_json(&text).map_err(|e| match e {
        FrameworkError::Config { path: field, message } => {
            FrameworkError::config(format!("{}: {field}", path.display()), message)
        }
        other => other,
    })
}

impl NetworkConfig {
    /// Parses a configuration from JSON text (the structure only; [`NetworkConfig::build`]
    /// checks the values).
    pub fn from_json(text: &str) -> Result<Self> {
        parse_json(text)
    }

    /// Reads and parses a configuration file; errors name the path and the field
    /// (`net.json: layers[2].kernel_size: ...`).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        parse_file(path.as_ref())
    }

    /// The configuration as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a configuration is plain data")
    }
}

pub use field_path::parse_json;
pub use footprint::{LayerFootprint, layer_footprint};

/// `Ok` if `value >= 1`, else `path: must be positive`.
pub fn check_positive(path: &str, value: usize) -> Result<()> {
    if value == 0 { Err(FrameworkError::config(path, "must be positive")) } else { Ok(()) }
}

/// What a recurrent layer passes on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecurrentOutputKind {
    /// Every step's output, `(N, L, D H)`.
    #[default]
    Sequence,
    /// The final state of each direction, `(N, D H)`.
    Last,
}
