//! What each layer of a [`Network`] is, as the analysis needs to know it: affine,
//! a piecewise-linear activation, a smooth activation, or something else.
//!
//! A network's layers are `dyn Module`s; their kind is read from [`Module::describe`]
//! (`"Linear(64 -> 128)"`, `"Relu"`, `"LeakyRelu(0.01)"`, ...), the one description every
//! dl-layers module gives. The effective affine map of a dense layer is read by probing,
//! `b = f(0)` and `W e_j = f(e_j) - f(0)`, so the NTK parameterisation's hidden scale
//! `sigma_w / sqrt(fan_in)` is included without knowing about it.

use dl_autodiff::{Var, no_grad};
use dl_layers::{Activation, Module};
use dl_tensor::{Element, Tensor};

use super::error::{AnalysisError, Result};
use crate::network::Network;

/// The kind of one top-level layer.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    /// `Linear`: `h = W x + b`.
    Dense,
    /// An affine map with parameters that is not dense (`Conv1d`, `Conv2d`, batch norm in
    /// evaluation mode).
    OtherAffine,
    /// A fixed linear map (`Flatten`, average pooling, dropout in evaluation mode).
    FixedLinear,
    /// An elementwise activation.
    Activation(Activation),
    /// Anything else (max pooling, residual blocks, recurrent and most normalisation layers).
    Other,
}

/// Parses the description of a dl-layers activation (its `Debug` form): `"Relu"`,
/// `"LeakyRelu(0.01)"`, `"Elu(1.0)"`, `"Tanh"`, ...
pub fn parse_activation(description: &str) -> Option<Activation> {
    let arg = |name: &str| -> Option<f64> {
        description.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')?.trim().parse().ok()
    };
    Some(match description {
        "Relu" => Activation::Relu,
        "Gelu" => Activation::Gelu,
        "Sigmoid" => Activation::Sigmoid,
        "Tanh" => Activation::Tanh,
        "Softplus" => Activation::Softplus,
        "Erf" => Activation::Erf,
        "Sin" => Activation::Sin,
        "Identity" => Activation::Identity,
        d if d.starts_with("LeakyRelu(") => Activation::LeakyRelu(arg("LeakyRelu")?),
        d if d.starts_with("Elu(") => Activation::Elu(arg("Elu")?),
        _ => return None,
    })
}

/// The kind of a module, from its description and mode.
pub fn classify<T: Element>(module: &dyn Module<T>) -> LayerKind {
    let d = module.describe();
    if let Some(a) = parse_activation(&d) {
        return LayerKind::Activation(a);
    }
    let starts = |p: &str| d.starts_with(p);
    if starts("Linear(") {
        LayerKind::Dense
    } else if starts("Conv1d(") || starts("Conv2d(") || (starts("BatchNorm") && !module.is_training()) {
        LayerKind::OtherAffine
    } else if d == "Flatten"
        || d == "GlobalAvgPool"
        || starts("AvgPool2d(")
        || (starts("Dropout(") && !module.is_training())
    {
        LayerKind::FixedLinear
    } else {
        LayerKind::Other
    }
}

/// The kinks of a piecewise-linear activation (`Some(vec![])` for the identity), `None`
/// for a smooth one.
pub fn kinks(a: &Activation) -> Option<Vec<f64>> {
    match a {
        Activation::Relu => Some(vec![0.0]),
        Activation::LeakyRelu(s) if *s == 1.0 => Some(vec![]),
        Activation::LeakyRelu(_) => Some(vec![0.0]),
        Activation::Identity => Some(vec![]),
        _ => None,
    }
}

/// A Lipschitz constant of an activation (`|phi'|` bounded by it), for the spectral bound.
pub fn lipschitz_constant(a: &Activation) -> f64 {
    match a {
        Activation::Relu | Activation::Identity | Activation::Tanh | Activation::Sin | Activation::Softplus => 1.0,
        Activation::LeakyRelu(s) => s.abs().max(1.0),
        Activation::Elu(alpha) => alpha.abs().max(1.0),
        Activation::Sigmoid => 0.25,
        // erf'(x) = 2/sqrt(pi) e^{-x^2}
        Activation::Erf => 2.0 / std::f64::consts::PI.sqrt(),
        // GELU'(x) = Phi(x) + x phi(x) peaks at x = sqrt(2): 1.1289...
        Activation::Gelu => 1.128_904_1,
    }
}

/// An affine map `h = W x + b`, `W` `(rows, cols)` row-major, in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct AffineMap {
    /// Output width.
    pub rows: usize,
    /// Input width.
    pub cols: usize,
    /// `W`, row-major.
    pub weight: Vec<f64>,
    /// `b` (zeros for a layer without bias).
    pub bias: Vec<f64>,
}

/// Reads the affine map of a layer on flat inputs of width `fan_in` by probing:
/// `b = f(0)`, column `j` of `W` is `f(e_j) - f(0)` (computed in `T`, so exact up to one
/// rounding of `b + W e_j`).
pub fn read_affine<T: Element>(module: &dyn Module<T>, fan_in: usize) -> Result<AffineMap> {
    let mut probe = vec![T::zero(); (fan_in + 1) * fan_in];
    for j in 0..fan_in {
        probe[(j + 1) * fan_in + j] = T::one();
    }
    let x = Tensor::from_vec(probe, &[fan_in + 1, fan_in])?;
    let y = no_grad(|| module.forward(&Var::constant(x)))?;
    if y.shape().len() != 2 {
        return Err(AnalysisError::invalid(
            "read_affine",
            format!("{} maps flat inputs to shape {:?}, not to (N, width)", module.describe(), y.shape()),
        ));
    }
    let rows = y.shape()[1];
    let v: Vec<f64> = y.value().contiguous().to_vec().iter().map(|t| t.to_f64_exact()).collect();
    let bias = v[..rows].to_vec();
    let mut weight = vec![0.0; rows * fan_in];
    for j in 0..fan_in {
        for i in 0..rows {
            weight[i * fan_in + j] = v[(j + 1) * rows + i] - bias[i];
        }
    }
    Ok(AffineMap { rows, cols: fan_in, weight, bias })
}

/// One dense layer of a multilayer perceptron with the activation after it.
#[derive(Clone, Debug)]
pub struct DenseBlock {
    /// The index of the dense layer in the network.
    pub layer: usize,
    /// Its affine map.
    pub affine: AffineMap,
    /// The activation applied after it (`None` for the output layer).
    pub activation: Option<Activation>,
}

/// The network as `Linear -> activation -> ... -> Linear` (dropout in evaluation mode and
/// flatten of a flat input are skipped), or why it is not one (naming the layer).
pub fn dense_stack<T: Element>(network: &Network<T>) -> std::result::Result<Vec<DenseBlock>, String> {
    if network.input_shape().len() != 1 {
        return Err(format!("the input is not flat (per-example shape {:?})", network.input_shape()));
    }
    let mut width = network.input_shape()[0];
    let mut blocks: Vec<DenseBlock> = Vec::new();
    for (i, layer) in network.layers().iter().enumerate() {
        let m = layer.module.as_ref();
        match classify(m) {
            LayerKind::Dense => {
                let affine = read_affine(m, width).map_err(|e| format!("{}: {e}", network.layer_name(i)))?;
                width = affine.rows;
                blocks.push(DenseBlock { layer: i, affine, activation: None });
            }
            LayerKind::Activation(a) => match blocks.last_mut() {
                Some(b) if b.activation.is_none() => b.activation = Some(a),
                _ => return Err(format!("{} does not follow a dense layer", network.layer_name(i))),
            },
            LayerKind::FixedLinear if m.describe() == "Flatten" || m.describe().starts_with("Dropout(") => {}
            _ => return Err(format!("{} is not a dense layer or an activation", network.layer_name(i))),
        }
    }
    if blocks.is_empty() {
        return Err("the network has no dense layer".into());
    }
    Ok(blocks)
}

/// Errors unless every layer is deterministic at evaluation: a dropout or batch-norm layer
/// in training mode would draw masks (and move the run's generators) or use batch statistics.
pub fn check_evaluation_mode<T: Element>(network: &Network<T>) -> Result<()> {
    for (i, layer) in network.layers().iter().enumerate() {
        let d = layer.module.describe();
        if layer.module.is_training()
            && (d.starts_with("Dropout(") || d.starts_with("BatchNorm") || d.starts_with("InstanceNorm"))
        {
            return Err(AnalysisError::invalid(
                "theoretical analysis",
                format!(
                    "{} is in training mode; call `network.eval()` first so the analysis draws no dropout masks and uses running statistics",
                    network.layer_name(i)
                ),
            ));
        }
    }
    Ok(())
}
