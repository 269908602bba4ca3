//! The `"parameterisation"` entry of a configuration: how the weights carry their scale
//! (standard, NTK, μP, or an abc scheme), which sets each dense layer's initial variance,
//! forward multiplier and learning-rate factor when the network is built.

use serde::{Deserialize, Serialize};

/// How the weights carry their scale.
///
/// ```json
/// {"kind": "standard"}
/// {"kind": "ntk", "sigma_w": 1.414, "sigma_b": 0.1}
/// {"kind": "mup", "base_units": [64, 64, 10]}
/// {"kind": "abc", "scheme": "ntk", "base_units": [64, 64, 10]}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Parameterisation {
    /// The weights carry their scale (`W ~ N(0, sigma_w^2 / fan_in)` or PyTorch's uniform).
    #[default]
    Standard,
    /// `h = (sigma_w / sqrt(fan_in)) W x + sigma_b b`, `W, b ~ N(0, 1)` (dense layers only).
    Ntk {
        /// Weight scale sigma_w (a standard deviation).
        sigma_w: f64,
        /// Bias scale sigma_b (a standard deviation).
        #[serde(default)]
        sigma_b: f64,
    },
    /// The maximal-update parameterisation muP (Yang & Hu 2021), anchored at a base width:
    /// the network with `base_units` is exactly the standard parameterisation with the
    /// `gaussian` or `critical` initialisation; at other widths every dense layer gets the
    /// multipliers, initial scales and learning-rate factors of
    /// [`dl_theory::feature_learning::DenseScaling::anchored`] (Tensor Programs IV and V,
    /// Table 3). The same as `{"kind": "abc", "scheme": "mup", ...}`.
    Mup {
        /// The units of every dense layer at the base width, in order (the last, the
        /// number of outputs, must equal the network's). Every hidden layer must be the
        /// same multiple `r = units / base_units` of its base width.
        base_units: Vec<usize>,
    },
    /// Any scheme of the abc family (`standard`, `ntk`, `mup`) anchored at a base width as
    /// for `mup`: at the base width all three are the same network, and away from it each
    /// scales by its own exponents.
    Abc {
        /// `standard`, `ntk` or `mup`.
        scheme: dl_theory::feature_learning::AbcScheme,
        /// As for `mup`.
        base_units: Vec<usize>,
    },
}

impl Parameterisation {
    /// The abc scheme and base units of `mup` and `abc`.
    pub fn anchored(&self) -> Option<(dl_theory::feature_learning::AbcScheme, &[usize])> {
        match self {
            Parameterisation::Mup { base_units } => Some((dl_theory::feature_learning::AbcScheme::Mup, base_units)),
            Parameterisation::Abc { scheme, base_units } => Some((*scheme, base_units)),
            _ => None,
        }
    }
}
