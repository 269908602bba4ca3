//! Optimisers, learning-rate schedules and gradient clipping.
//!
//! An optimiser updates parameters in place from their gradients. It sees each parameter
//! as a [`Param`]: a name (its key in the state dict), the value and the gradient. Its own
//! state (momentum buffers, moment estimates) is kept per name, in a `BTreeMap` so that
//! iteration order, and with it every result, is deterministic; [`OptimizerState`] exports
//! and restores it for checkpoints.
//!
//! The update rules follow PyTorch's documented algorithms (`torch.optim`), so a model
//! trained here and there with the same hyperparameters takes the same steps:
//!
//! | optimiser | update (g the gradient, after weight decay where it applies) |
//! | --- | --- |
//! | [`Sgd`] | `b = mu b + (1 - dampening) g` (b = g at step 1); `g' = g + mu b` (Nesterov) or `b`; `p -= lr g'` |
//! | [`Adam`] | `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g^2`, `p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)` |
//! | [`Adam`] with `decoupled_weight_decay` (AdamW, Loshchilov & Hutter 2019) | `p *= 1 - lr wd` first, then the Adam step on the raw gradient |
//! | [`RmsProp`] | `v = a v + (1-a) g^2`; (centred: `v - gbar^2`); `p -= lr g / (sqrt(v) + eps)` (or through a momentum buffer) |
//!
//! Weight decay in `Sgd`, `Adam` and `RmsProp` is the L2 form `g += wd p`.
//!
//! Each parameter may carry a learning-rate factor ([`Param::lr_scale`]): its updates use
//! `lr * lr_scale` wherever the table says `lr` (AdamW's decay included, as in a PyTorch
//! parameter group with that rate). Per-layer rates are how muP is trained (Yang & Hu
//! 2021); the factor 1 reproduces the plain optimiser bit for bit.

mod adam;
mod clip;
mod rmsprop;
mod schedule;
mod sgd;

use std::borrow::Cow;
use std::collections::BTreeMap;

use dl_tensor::{Element, Tensor};

pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::LrSchedule;
pub use sgd::{Sgd, SgdConfig};

/// One parameter as an optimiser sees it.
pub struct Param<'a, T: Element> {
    /// The parameter's name (its key in the state dict and in the optimiser state).
    pub name: &'a str,
    /// The value, updated in place.
    pub value: &'a mut Tensor<T>,
    /// The gradient of the loss with respect to `value`.
    pub grad: &'a Tensor<T>,
    /// The factor on the optimiser's learning rate for this parameter (1 for none).
    pub lr_scale: f64,
}

impl<'a, T: Element> Param<'a, T> {
    /// A parameter at the optimiser's own learning rate (`lr_scale` 1).
    pub fn new(name: &'a str, value: &'a mut Tensor<T>, grad: &'a Tensor<T>) -> Self {
        Param { name, value, grad, lr_scale: 1.0 }
    }

    /// The same parameter with learning-rate factor `lr_scale`.
    pub fn with_lr_scale(mut self, lr_scale: f64) -> Self {
        self.lr_scale = lr_scale;
        self
    }
}

/// What can go wrong in an optimiser step.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimError {
    /// A gradient whose shape differs from its parameter's.
    #[error("optimiser: gradient of '{name}' has shape {grad:?} but the parameter has shape {param:?}")]
    GradShape {
        /// The parameter's name.
        name: String,
        /// The parameter's shape.
        param: Vec<usize>,
        /// The gradient's shape.
        grad: Vec<usize>,
    },
    /// A learning-rate factor that is negative or not finite.
    #[error("optimiser: the learning-rate factor of '{name}' is {value}; it must be finite and >= 0")]
    LrScale {
        /// The parameter's name.
        name: String,
        /// Its [`Param::lr_scale`].
        value: f64,
    },
    /// A hyperparameter outside its valid range.
    #[error("optimiser: {field} = {value} is invalid: {reason}")]
    Hyperparameter {
        /// The configuration field (`"lr"`, `"beta1"`, `"step_size"`, ...).
        field: &'static str,
        /// Its value (0 for an integer field that must be positive).
        value: f64,
        /// The range it must lie in (`"must lie in [0, 1)"`, ...).
        reason: &'static str,
    },
    /// Restored state that does not fit the parameters.
    #[error("optimiser state: {0}")]
    State(String),
}

/// One parameter's optimiser buffers: buffer name (`"exp_avg"`, `"momentum"`, ...) to the
/// parameter's shape and the buffer's values, flattened in row-major order as f64.
pub type ParamBuffers = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

/// An optimiser's internal state, for checkpoints: the step count and, per parameter
/// name, its named buffers as flat f64 vectors with their shapes.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptimizerState {
    /// Optimiser steps taken so far (t in Adam's bias corrections 1 - β^t).
    pub step: u64,
    /// Per parameter name (its state-dict key), that parameter's buffers.
    pub buffers: BTreeMap<String, ParamBuffers>,
}

/// The common interface of the optimisers.
pub trait Optimizer<T: Element> {
    /// Applies one update to every parameter.
    fn step(&mut self, params: &mut [Param<'_, T>]) -> Result<(), OptimError>;
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (schedules call this before each step).
    fn set_lr(&mut self, lr: f64);
    /// Exports the internal state.
    fn state(&self) -> OptimizerState;
    /// Restores a state exported by [`Optimizer::state`].
    fn load_state(&mut self, state: &OptimizerState) -> Result<(), OptimError>;
}

pub(crate) fn check_shapes<T: Element>(p: &Param<'_, T>) -> Result<(), OptimError> {
    if !(p.lr_scale.is_finite() && p.lr_scale >= 0.0) {
        return Err(OptimError::LrScale { name: p.name.to_string(), value: p.lr_scale });
    }
    if p.value.shape() != p.grad.shape() {
        return Err(OptimError::GradShape {
            name: p.name.to_string(),
            param: p.value.shape().to_vec(),
            grad: p.grad.shape().to_vec(),
        });
    }
    Ok(())
}

pub(crate) fn check_range(
    field: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    reason: &'static str,
) -> Result<(), OptimError> {
    if !(value >= lo && value <= hi) {
        return Err(OptimError::Hyperparameter { field, value, reason });
    }
    Ok(())
}

/// The internal state every optimiser keeps: the step count and, per parameter name, one
/// buffer per key (the keys are fixed when the optimiser is built) with the parameter's
/// shape. [`Optimizer::state`] and [`Optimizer::load_state`] are its export and import.
#[derive(Clone, Debug)]
pub(crate) struct Buffers<T: Element> {
    pub step: u64,
    keys: Vec<&'static str>,
    map: BTreeMap<String, (Vec<usize>, Vec<Vec<T>>)>,
}

impl<T: Element> Buffers<T> {
    pub fn new(keys: Vec<&'static str>) -> Self {
        Buffers { step: 0, keys, map: BTreeMap::new() }
    }

    /// The buffers of parameter `name` (one per key, in key order), created as zeros of
    /// the parameter's `shape` if absent; the flag says whether they were just created.
    pub fn slots(&mut self, name: &str, shape: &[usize]) -> (&mut [Vec<T>], bool) {
        let fresh = !self.map.contains_key(name);
        let n = self.keys.len();
        let len = shape.iter().product();
        let (_, slots) =
            self.map.entry(name.to_string()).or_insert_with(|| (shape.to_vec(), vec![vec![T::zero(); len]; n]));
        (slots.as_mut_slice(), fresh)
    }

    pub fn export(&self) -> OptimizerState {
        let buffers = self
            .map
            .iter()
            .map(|(name, (shape, bufs))| {
                let b = self
                    .keys
                    .iter()
                    .zip(bufs)
                    .map(|(k, v)| (k.to_string(), (shape.clone(), v.iter().map(|x| x.to_f64_exact()).collect())))
                    .collect();
                (name.clone(), b)
            })
            .collect();
        OptimizerState { step: self.step, buffers }
    }

    pub fn import(&mut self, state: &OptimizerState) -> Result<(), OptimError> {
        let mut map = BTreeMap::new();
        for (name, bufs) in &state.buffers {
            let mut slots = Vec::with_capacity(self.keys.len());
            let mut param_shape = Vec::new();
            for key in &self.keys {
                let (shape, vals) = bufs
                    .get(*key)
                    .ok_or_else(|| OptimError::State(format!("parameter '{name}': buffer '{key}' is missing")))?;
                if Some(vals.len()) != dl_tensor::shape::checked_numel(shape) {
                    return Err(OptimError::State(format!(
                        "parameter '{name}': buffer '{key}' has {} values for shape {shape:?}",
                        vals.len()
                    )));
                }
                slots.push(vals.iter().map(|&v| T::from_f64_lossy(v)).collect());
                param_shape = shape.clone();
            }
            if let Some(extra) = bufs.keys().find(|k| !self.keys.contains(&k.as_str())) {
                return Err(OptimError::State(format!(
                    "parameter '{name}': unexpected buffer '{extra}' (expected {:?})",
                    self.keys
                )));
            }
            map.insert(name.clone(), (param_shape, slots));
        }
        self.map = map;
        self.step = state.step;
        Ok(())
    }
}

/// The value as a mutable contiguous slice, and the gradient as a contiguous slice:
/// borrowed from the tensor when it is contiguous (the usual case), so an optimiser that
/// only reads it copies nothing; one that changes it (weight decay added to the gradient,
/// momentum written into it) gets its own copy on the first write (`Cow::to_mut`).
pub(crate) fn slices<'p, 'g, T: Element>(value: &'p mut Tensor<T>, grad: &'g Tensor<T>) -> (&'p mut [T], Cow<'g, [T]>) {
    let g = match grad.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(grad.to_vec()),
    };
    if value.as_slice().is_none() {
        *value = value.contiguous();
    }
    let v = value.array_mut().as_slice_mut().expect("contiguous after the copy above");
    (v, g)
}
