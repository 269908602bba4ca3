//! Applying a scheme **to a whole network or to chosen layers**, through the module
//! parameter API (`Module::parameters()` gives named [`Param`]s).
//!
//! A parameter is a *weight* when its name's last segment is `weight` and it has at least
//! two dimensions (`Linear`: `(out, in)`; convolutions: `(out, in / groups, k...)`), and a
//! *bias* when its last segment is `bias`. Weights are drawn by the [`Initializer`]'s
//! [`Scheme`], biases by its [`BiasInit`]; other parameters are left alone. Fans come from
//! the weight's shape with PyTorch's convention (see [`crate::fans`]): a `dyn Module` does
//! not reveal a convolution's `groups`, which only changes fan_out of grouped convolutions.
//!
//! ```
//! use dl_init::{Activation, apply::{Initializer, initialize, initialize_selected}, scheme::Scheme};
//! use dl_layers::{Act, Linear, Module, Sequential};
//! use dl_tensor::seeded_rng;
//! let mut rng = seeded_rng(0);
//! let net = Sequential::<f32>::new()
//!     .with(Linear::new(64, 128, true, &mut rng)).with(Act::tanh())
//!     .with(Linear::new(128, 10, true, &mut rng));
//! // critical initialisation of tanh at sigma_b2 = 0.05 for the whole network
//! let report = initialize(&net, &Initializer::critical(&Activation::Tanh, 0.05)?, &mut rng)?;
//! assert_eq!(report.len(), 4);                       // two weights, two biases
//! // orthogonal weights for the last layer only
//! let orth = Initializer::new(Scheme::Orthogonal { gain: 1.0 });
//! let report = initialize_selected(&net, &orth, |name| name.starts_with("2."), &mut rng)?;
//! assert_eq!(report[0].name, "2.weight");
//! # Ok::<(), dl_init::InitError>(())
//! ```

use dl_layers::{Module, Param};
use dl_tensor::{Element, Tensor, TensorRng};

use crate::activation::Activation;
use crate::error::{InitError, Result, non_negative};
use crate::fans::Fans;
use crate::phase::critical_sigma_w2;
use crate::scheme::Scheme;

/// How biases are initialised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BiasInit {
    /// All zeros (the usual choice).
    Zeros,
    /// N(0, variance): sigma_b2 of the mean-field analysis.
    Normal {
        /// Variance σ_b² of each bias entry (not its standard deviation).
        variance: f64,
    },
    /// Leave the biases as they are.
    Keep,
}

/// A weight scheme and a bias rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Initializer {
    /// How weights (parameters named `weight` with at least two dimensions) are drawn.
    pub weight: Scheme,
    /// How biases (parameters named `bias`) are set.
    pub bias: BiasInit,
}

impl Initializer {
    /// `weight` for the weights, zeros for the biases.
    pub fn new(weight: Scheme) -> Self {
        Initializer { weight, bias: BiasInit::Zeros }
    }

    /// Critical initialisation as a scheme: W ~ N(0, sigma_w2 / fan_in) with sigma_w2 on the
    /// critical line of `act` at `sigma_b2` (chi_1 = 1), biases N(0, sigma_b2)
    /// (Schoenholz et al. 2017). ReLU at sigma_b2 = 0 gives He's sigma_w2 = 2.
    pub fn critical(act: &Activation, sigma_b2: f64) -> Result<Self> {
        let sigma_w2 = critical_sigma_w2(act, sigma_b2)?;
        Ok(Initializer { weight: Scheme::MeanField { sigma_w2 }, bias: BiasInit::Normal { variance: sigma_b2 } })
    }

    /// Any point (sigma_w2, sigma_b2) of the phase diagram, in the standard parameterisation.
    pub fn mean_field(sigma_w2: f64, sigma_b2: f64) -> Result<Self> {
        non_negative("sigma_b2", sigma_b2)?;
        crate::error::positive("sigma_w2", sigma_w2)?;
        Ok(Initializer { weight: Scheme::MeanField { sigma_w2 }, bias: BiasInit::Normal { variance: sigma_b2 } })
    }
}

/// What was done to one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Initialized {
    /// The parameter's dotted name.
    pub name: String,
    /// The parameter's shape (`(out, in)` for a dense weight, `(out, in / groups, k...)` for a kernel).
    pub shape: Vec<usize>,
    /// The scheme's name (or the bias rule).
    pub rule: String,
    /// The variance of each entry the rule's formula gives.
    pub variance: f64,
}

/// The last dotted segment of a parameter name.
pub(crate) fn leaf_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// True for a weight matrix or kernel (last segment `weight`, at least 2 dimensions).
pub(crate) fn is_weight<T: Element>(name: &str, p: &Param<T>) -> bool {
    leaf_name(name) == "weight" && p.shape().len() >= 2
}

/// Initialises every weight and bias of `module` (see [`initialize_selected`]).
pub fn initialize<T: Element>(
    module: &(impl Module<T> + ?Sized),
    init: &Initializer,
    rng: &mut TensorRng,
) -> Result<Vec<Initialized>> {
    initialize_selected(module, init, |_| true, rng)
}

/// Initialises the weights and biases whose names satisfy `select`, in visiting order
/// (one generator, so the same seed gives the same network). Returns what was done to each.
/// Nothing is changed if any selected weight cannot take the scheme (a delta-orthogonal
/// scheme on a dense layer, say): every draw is made before any parameter is written.
pub fn initialize_selected<T: Element>(
    module: &(impl Module<T> + ?Sized),
    init: &Initializer,
    select: impl Fn(&str) -> bool,
    rng: &mut TensorRng,
) -> Result<Vec<Initialized>> {
    let mut planned: Vec<(Param<T>, Tensor<T>, Initialized)> = Vec::new();
    for np in module.parameters() {
        if !select(&np.name) {
            continue;
        }
        let shape = np.param.shape();
        if is_weight(&np.name, &np.param) {
            let value = init
                .weight
                .draw::<T>(&shape, 1, rng)
                .map_err(|e| InitError::scheme(init.weight.name(), np.name.clone(), e.to_string()))?;
            let variance = init.weight.variance(&shape, Fans::pytorch(&shape)?)?;
            planned.push((np.param, value, Initialized { name: np.name, shape, rule: init.weight.name(), variance }));
        } else if leaf_name(&np.name) == "bias" {
            let (value, rule, variance) = match init.bias {
                BiasInit::Keep => continue,
                BiasInit::Zeros => (Tensor::zeros(&shape), "zeros".to_string(), 0.0),
                BiasInit::Normal { variance } => {
                    non_negative("sigma_b2", variance)?;
                    let v = Tensor::randn_scaled(&shape, T::zero(), T::from_f64_lossy(variance.sqrt()), rng)?;
                    (v, format!("normal(variance {variance})"), variance)
                }
            };
            planned.push((np.param, value, Initialized { name: np.name, shape, rule, variance }));
        }
    }
    let mut report = Vec::with_capacity(planned.len());
    for (param, value, rec) in planned {
        param.set(value)?;
        report.push(rec);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_layers::{Act, Conv2d, ConvOptions, Linear, Sequential};
    use dl_tensor::seeded_rng;

    fn net(rng: &mut TensorRng) -> Sequential<f64> {
        Sequential::new()
            .with(Conv2d::new(3, 8, (3, 3), ConvOptions::default(), rng).unwrap())
            .with(Act::relu())
            .with(dl_layers::Flatten::new())
            .with(Linear::new(8 * 4 * 4, 10, true, rng))
    }

    #[test]
    fn whole_network_and_chosen_layers() {
        let mut rng = seeded_rng(0);
        let n = net(&mut rng);
        let before = n.state_dict();
        let he = Initializer::new(Scheme::KaimingNormal { gain: 2f64.sqrt(), mode: crate::fans::FanMode::FanIn });
        let rep = initialize_selected(&n, &he, |name| name.starts_with("3."), &mut rng).unwrap();
        let names: Vec<&str> = rep.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["3.weight", "3.bias"]);
        let after = n.state_dict();
        assert_eq!(before["0.weight"].to_vec(), after["0.weight"].to_vec(), "unselected layers are untouched");
        assert_eq!(after["3.bias"].to_vec(), vec![0.0; 10]);
        // gain sqrt(2) squared is 2 up to one rounding
        assert!((rep[0].variance - 2.0 / 128.0).abs() < 1e-17);
        let rep = initialize(&n, &he, &mut rng).unwrap();
        assert!((rep[0].variance - 2.0 / 27.0).abs() < 1e-16, "conv fan_in = 3 * 3 * 3");
    }

    /// Critical initialisation as a scheme: sigma_w2 from the critical line, biases with
    /// variance sigma_b2. The drawn weights of a wide layer have sample variance
    /// sigma_w2 / fan_in within 5 relative standard errors sqrt(2 / n).
    #[test]
    fn critical_scheme_draws_on_the_critical_line() {
        let mut rng = seeded_rng(4);
        let layer = Linear::<f64>::new(400, 300, true, &mut rng);
        let init = Initializer::critical(&Activation::Tanh, 0.05).unwrap();
        let sigma_w2 = critical_sigma_w2(&Activation::Tanh, 0.05).unwrap();
        initialize(&layer, &init, &mut rng).unwrap();
        let w = layer.weight.value().to_vec();
        let m2 = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        let se = (2.0 / w.len() as f64).sqrt();
        assert!((m2 / (sigma_w2 / 400.0) - 1.0).abs() < 5.0 * se);
        let b = layer.bias.as_ref().unwrap().value().to_vec();
        assert!(b.iter().any(|v| *v != 0.0));
        assert!(Initializer::mean_field(1.0, -0.1).unwrap_err().to_string().contains("-0.1"));
    }

    /// A scheme that does not fit one selected weight changes nothing and names it.
    #[test]
    fn failure_changes_nothing_and_names_the_parameter() {
        let mut rng = seeded_rng(0);
        let n = net(&mut rng);
        let before = n.state_dict();
        let delta = Initializer::new(Scheme::DeltaOrthogonal { gain: 1.0 });
        let e = initialize(&n, &delta, &mut rng).unwrap_err().to_string();
        assert!(e.contains("3.weight"), "{e}");
        let after = n.state_dict();
        for (k, v) in before {
            assert_eq!(v.to_vec(), after[&k].to_vec(), "{k} changed");
        }
    }
}
