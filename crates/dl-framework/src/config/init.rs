//! The `"init"` entry of a configuration: how weights and biases are drawn (PyTorch's
//! default, critical, Gaussian, Kaiming, Xavier, orthogonal, ...), read into a
//! [`dl_init::Scheme`] by [`InitConfig::weight_scheme`].

use serde::{Deserialize, Serialize};

use super::ActivationConfig;

/// How parameters are initialised.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum InitConfig {
    /// PyTorch's default for `nn.Linear` and `nn.Conv*`: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
    #[default]
    Pytorch,
    /// On the critical line of `activation` at bias variance `sigma_b2`:
    /// `W ~ N(0, sigma_w2 / fan_in)`, `b ~ N(0, sigma_b2)`.
    Critical {
        /// The activation whose critical line is used.
        activation: ActivationConfig,
        /// The bias variance.
        #[serde(default)]
        sigma_b2: f64,
    },
    /// Any point of the mean-field phase diagram (Poole et al. 2016; Schoenholz et al.
    /// 2017): `W ~ N(0, sigma_w2 / fan_in)`, `b ~ N(0, sigma_b2)`, ordered
    /// (`chi_1 < 1`), critical or chaotic (`chi_1 > 1`) depending on the activation.
    Gaussian {
        /// The weight variance times fan_in.
        sigma_w2: f64,
        /// The bias variance.
        #[serde(default)]
        sigma_b2: f64,
    },
    /// Glorot & Bengio (2010): `Var W = gain^2 2 / (fan_in + fan_out)`; biases zero.
    Xavier {
        /// `normal` (default) or `uniform` (on `[-a, a]`, `a = gain sqrt(6 / (fan_in + fan_out))`).
        #[serde(default)]
        distribution: Distribution,
        /// The gain (default 1).
        #[serde(default = "unit_gain")]
        gain: f64,
    },
    /// He et al. (2015): `Var W = gain^2 / fan`; biases zero.
    Kaiming {
        /// `normal` (default) or `uniform` (on `[-a, a]`, `a = gain sqrt(3 / fan)`).
        #[serde(default)]
        distribution: Distribution,
        /// The gain (default sqrt 2, ReLU's).
        #[serde(default = "relu_gain")]
        gain: f64,
        /// Whose fan: `fan_in` (default, the forward signal) or `fan_out` (the gradients).
        #[serde(default)]
        mode: FanModeConfig,
    },
    /// LeCun et al. (1998): `Var W = 1 / fan_in`; biases zero.
    Lecun {
        /// `normal` (default) or `uniform`.
        #[serde(default)]
        distribution: Distribution,
    },
    /// Saxe et al. (2014): `gain` times a Haar-random semi-orthogonal matrix (the weight
    /// flattened to `out x (in k...)`); biases zero.
    Orthogonal {
        /// The gain (default 1).
        #[serde(default = "unit_gain")]
        gain: f64,
    },
}

/// A weight distribution of the named schemes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Gaussian.
    #[default]
    Normal,
    /// Uniform with the same variance.
    Uniform,
}

/// Which fan the Kaiming scheme preserves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FanModeConfig {
    /// `fan_in`: the variance of the forward signal.
    #[default]
    FanIn,
    /// `fan_out`: the variance of the backward gradients.
    FanOut,
}

fn unit_gain() -> f64 {
    1.0
}

fn relu_gain() -> f64 {
    std::f64::consts::SQRT_2
}

impl InitConfig {
    /// The dl-init weight scheme of a named scheme (`None` for the others).
    pub fn weight_scheme(&self) -> Option<dl_init::Scheme> {
        use dl_init::Scheme;
        Some(match *self {
            InitConfig::Xavier { distribution: Distribution::Normal, gain } => Scheme::XavierNormal { gain },
            InitConfig::Xavier { distribution: Distribution::Uniform, gain } => Scheme::XavierUniform { gain },
            InitConfig::Kaiming { distribution, gain, mode } => {
                let mode = match mode {
                    FanModeConfig::FanIn => dl_init::FanMode::FanIn,
                    FanModeConfig::FanOut => dl_init::FanMode::FanOut,
                };
                match distribution {
                    Distribution::Normal => Scheme::KaimingNormal { gain, mode },
                    Distribution::Uniform => Scheme::KaimingUniform { gain, mode },
                }
            }
            InitConfig::Lecun { distribution: Distribution::Normal } => Scheme::LeCunNormal,
            InitConfig::Lecun { distribution: Distribution::Uniform } => Scheme::LeCunUniform,
            InitConfig::Orthogonal { gain } => Scheme::Orthogonal { gain },
            InitConfig::Pytorch | InitConfig::Critical { .. } | InitConfig::Gaussian { .. } => return None,
        })
    }
}
