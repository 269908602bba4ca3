//! What each layer of a [`Network`] is, as the analysis needs to know it: dense, another
//! affine map, a fixed linear map, an activation, or something else.
//!
//! A network's layers are `dyn Module`s; their role is read from the typed
//! [`Module::kind`] ([`LayerKind`]) and the module's mode (batch norm and dropout are affine
//! only in evaluation). The effective affine map of a dense layer is read by probing,
//! `b = f(0)` and `W e_j = f(e_j) - f(0)`, so the NTK parameterisation's hidden scale
//! `sigma_w / sqrt(fan_in)` is included without knowing about it.

use dl_autodiff::{Var, no_grad};
use dl_layers::{Activation, LayerKind, Module, NormKind, PoolKind};
use dl_tensor::{Element, Tensor};

use super::error::{AnalysisError, Result};
use crate::network::Network;

/// The role of one top-level layer in the analysis.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerRole {
    /// `Linear`: `h = W x + b`.
    Dense,
    /// An affine map with parameters that is not dense (`Conv1d`, `Conv2d`, batch norm in
    /// evaluation mode).
    OtherAffine,
    /// A fixed linear map (`Flatten`, average pooling, dropout in evaluation mode).
    FixedLinear,
    /// An elementwise activation.
    Activation(Activation),
    /// Anything else (max pooling, residual blocks, recurrent and most normalisation layers,
    /// dropout and batch norm in training mode).
    Other,
}

/// The role of a module, from its kind and mode.
pub fn classify<T: Element>(module: &dyn Module<T>) -> LayerRole {
    let training = module.is_training();
    match module.kind() {
        LayerKind::Activation(a) => LayerRole::Activation(a),
        LayerKind::Linear { .. } => LayerRole::Dense,
        LayerKind::Conv { .. } => LayerRole::OtherAffine,
        LayerKind::Norm(NormKind::Batch) if !training => LayerRole::OtherAffine,
        LayerKind::Flatten | LayerKind::Pool(PoolKind::Avg { .. } | PoolKind::GlobalAvg { .. }) => {
            LayerRole::FixedLinear
        }
        LayerKind::Dropout { .. } if !training => LayerRole::FixedLinear,
        _ => LayerRole::Other,
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
            LayerRole::Dense => {
                let affine = read_affine(m, width).map_err(|e| format!("{}: {e}", network.layer_name(i)))?;
                width = affine.rows;
                blocks.push(DenseBlock { layer: i, affine, activation: None });
            }
            LayerRole::Activation(a) => match blocks.last_mut() {
                Some(b) if b.activation.is_none() => b.activation = Some(a),
                _ => return Err(format!("{} does not follow a dense layer", network.layer_name(i))),
            },
            LayerRole::FixedLinear if matches!(m.kind(), LayerKind::Flatten | LayerKind::Dropout { .. }) => {}
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
        let random_or_batch_dependent = matches!(
            layer.module.kind(),
            LayerKind::Dropout { .. } | LayerKind::Norm(NormKind::Batch | NormKind::Instance)
        );
        if layer.module.is_training() && random_or_batch_dependent {
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
