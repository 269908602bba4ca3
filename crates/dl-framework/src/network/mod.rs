//! [`Network`]: the layers a configuration built, in order, with what the training loop
//! needs beyond [`Module`]: the output of every layer ([`Network::forward_traced`], for
//! activation statistics and for locating the first non-finite value), the per-example
//! input shape it accepts, and the exact state of its dropout generators (for checkpoints).
//!
//! Parameters are named by the position of their top-level layer, as in
//! [`dl_layers::Sequential`]: `"0.weight"`, `"0.bias"`, `"3.body.0.weight"`, ...
//! Buffers (the running statistics of normalisation layers) are named the same way
//! (`"1.running_mean"`, `"1.num_batches_tracked"`) and go into the state dict beside the
//! parameters, so checkpoints carry them; [`Module::set_training`] reaches every layer, so
//! evaluation mode switches batch norm to its running statistics.
//!
//! The builder ([`NetworkConfig::build`](crate::NetworkConfig::build), with the layer
//! memory checks) lives here in `build.rs` and `norm_layers.rs`, above the configuration
//! types it reads.
//!
//! Two things the configuration may add beyond the layers:
//!
//! - **Learning-rate factors** per parameter ([`Network::lr_factor`]): the abc
//!   parameterisations (muP, Yang & Hu 2021) train each layer at its own rate; the
//!   [`Trainer`](crate::Trainer) multiplies the optimiser's rate by the factor of each
//!   parameter (its SGD factor under SGD, its Adam factor under Adam and RMSprop).
//! - **A lazy reference** (Chizat, Oyallon & Bach 2019): with `lazy_scale` `alpha` the
//!   network computes `alpha (f(x; w) - f(x; w_0))`, `f(.; w_0)` a frozen copy of the
//!   network at initialisation (built from the same configuration and seed), and the
//!   trainer divides the loss by `alpha^2` ([`Network::lazy_scale`]).

mod build;
mod dropout;
mod norm_layers;
mod recurrent;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use dl_autodiff::{Var, no_grad};
use dl_layers::{LayerError, LayerKind, Module, Param, join_name};
use dl_tensor::{Element, TensorRng, cst};

pub use crate::config::RecurrentOutputKind;
pub use dropout::CheckpointedDropout;
pub use recurrent::BatchFirstRecurrent;

use crate::config::{LayerFootprint, NetworkConfig};
use crate::error::{FrameworkError, Result};
use crate::rng_state::RngState;

impl crate::data::LoadOptions {
    /// The defaults with the class count bounded by what `network` can predict: at most
    /// as many classes as its (flat) output has entries. (Defined beside [`Network`], so
    /// that the data module does not depend on the network module.)
    pub fn for_network<T: Element>(network: &Network<T>) -> Self {
        let outputs = dl_tensor::shape::checked_numel(network.output_shape()).unwrap_or(usize::MAX);
        crate::data::LoadOptions { max_classes: outputs, ..Self::default() }
    }
}

/// One top-level layer: its module and its position.
pub struct NetworkLayer<T: Element> {
    /// The layer.
    pub module: Box<dyn Module<T>>,
    /// Where it came from in the configuration (`layers[3]`).
    pub config_path: String,
    /// For a dense layer, the multipliers `(m_w, m_b)` of `h = m_w x W^T + m_b b` (1 and 1
    /// in the standard parameterisation); `None` for every other layer.
    pub dense_multipliers: Option<(f64, f64)>,
}

/// A parameter's factors on the optimiser's learning rate.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LrFactors {
    /// Under SGD.
    pub sgd: f64,
    /// Under Adam and RMSprop (adaptive steps, whose size does not scale with the gradient).
    pub adam: f64,
}

impl LrFactors {
    /// Factor 1 for every optimiser.
    pub const ONE: LrFactors = LrFactors { sgd: 1.0, adam: 1.0 };
}

/// The frozen copy `f(.; w_0)` of a lazy model and its scale `alpha`.
pub(crate) struct LazyReference<T: Element> {
    pub alpha: f64,
    pub layers: Vec<Box<dyn Module<T>>>,
}

/// A feed-forward network: layers applied in order.
pub struct Network<T: Element> {
    layers: Vec<NetworkLayer<T>>,
    input_shape: Vec<usize>,
    output_shape: Vec<usize>,
    dropout_rngs: Vec<Rc<RefCell<TensorRng>>>,
    training: bool,
    config: Option<NetworkConfig>,
    footprints: Vec<(String, LayerFootprint)>,
    lr_factors: BTreeMap<String, LrFactors>,
    lazy: Option<LazyReference<T>>,
}

impl<T: Element> Network<T> {
    /// Assembles a network; `input_shape` and `output_shape` are per example.
    pub(crate) fn new(
        layers: Vec<NetworkLayer<T>>,
        input_shape: Vec<usize>,
        output_shape: Vec<usize>,
        dropout_rngs: Vec<Rc<RefCell<TensorRng>>>,
    ) -> Self {
        Network {
            layers,
            input_shape,
            output_shape,
            dropout_rngs,
            training: true,
            config: None,
            footprints: Vec::new(),
            lr_factors: BTreeMap::new(),
            lazy: None,
        }
    }

    /// Records the configuration the network was built from and each configured layer's
    /// memory footprint (by its configuration path).
    pub(crate) fn set_origin(&mut self, config: NetworkConfig, footprints: Vec<(String, LayerFootprint)>) {
        self.config = Some(config);
        self.footprints = footprints;
    }

    /// The configuration this network was built from (checkpoints record it, and resuming
    /// compares it).
    pub fn config(&self) -> Option<&NetworkConfig> {
        self.config.as_ref()
    }

    /// Each configured layer's memory footprint, in elements, by configuration path
    /// (`layers[3]`): parameters and buffers, one example's kept activations, working memory.
    pub fn footprints(&self) -> &[(String, LayerFootprint)] {
        &self.footprints
    }

    /// Sets the learning-rate factors of the named parameters (the others keep 1).
    pub(crate) fn with_lr_factors(mut self, factors: BTreeMap<String, LrFactors>) -> Self {
        self.lr_factors = factors;
        self
    }

    /// Makes the network the lazy model `alpha (f(x; w) - f(x; w_0))` with `reference` the
    /// layers of `f(.; w_0)`.
    pub(crate) fn with_lazy_reference(mut self, alpha: f64, reference: Vec<Box<dyn Module<T>>>) -> Self {
        self.lazy = Some(LazyReference { alpha, layers: reference });
        self
    }

    /// The factor on the optimiser's learning rate of parameter `name`: its SGD factor, or
    /// with `adaptive` its Adam factor (1 for a parameter without one).
    pub fn lr_factor(&self, name: &str, adaptive: bool) -> f64 {
        self.lr_factors.get(name).map_or(1.0, |f| if adaptive { f.adam } else { f.sgd })
    }

    /// Every parameter's learning-rate factors that differ from 1, by name.
    pub fn lr_factors(&self) -> &BTreeMap<String, LrFactors> {
        &self.lr_factors
    }

    /// `alpha` if the network is a lazy model `alpha (f(x; w) - f(x; w_0))`.
    pub fn lazy_scale(&self) -> Option<f64> {
        self.lazy.as_ref().map(|l| l.alpha)
    }

    /// `alpha (h - f(x; w_0))` for the lazy model, `h` unchanged otherwise.
    fn lazy_output(&self, x: &Var<T>, h: Var<T>) -> dl_layers::Result<Var<T>> {
        let Some(lazy) = &self.lazy else { return Ok(h) };
        let reference = no_grad(|| {
            let mut r = x.clone();
            for layer in &lazy.layers {
                r = layer.forward(&r)?;
            }
            Ok::<_, LayerError>(r)
        })?;
        Ok(h.sub(&reference)?.mul_scalar(cst(lazy.alpha))?)
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[NetworkLayer<T>] {
        &self.layers
    }

    /// The shape of one input example.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The shape of one output (`[classes]` for a classifier).
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// The name of layer `i` for reports: `layer 2 (Linear(64 -> 256))`.
    pub fn layer_name(&self, i: usize) -> String {
        format!("layer {i} ({})", self.layers[i].module.describe())
    }

    /// Checks that `x` is a batch `(N, ...input_shape)`.
    pub fn check_input(&self, shape: &[usize]) -> Result<()> {
        if shape.len() != self.input_shape.len() + 1 || shape[1..] != self.input_shape[..] {
            return Err(FrameworkError::DataMismatch(format!(
                "the network takes inputs (N, {}), got features of shape {shape:?}",
                self.input_shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    /// The output of every layer, in order (the last is the network's output; for a lazy
    /// model, `alpha (f(x; w) - f(x; w_0))`).
    pub fn forward_traced(&self, x: &Var<T>) -> Result<Vec<Var<T>>> {
        self.check_input(x.shape())?;
        let mut outs: Vec<Var<T>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let h = layer.module.forward(outs.last().unwrap_or(x))?;
            outs.push(h);
        }
        if self.lazy.is_some() {
            let last = outs.pop().expect("a network has at least one layer");
            outs.push(self.lazy_output(x, last)?);
        }
        Ok(outs)
    }

    /// The state of every dropout generator, in layer order.
    pub fn rng_states(&self) -> Vec<RngState> {
        self.dropout_rngs.iter().map(|r| RngState::of(&r.borrow())).collect()
    }

    /// Restores the dropout generators (as many states as the network has generators).
    pub fn set_rng_states(&self, states: &[RngState]) -> Result<()> {
        if states.len() != self.dropout_rngs.len() {
            return Err(FrameworkError::DataMismatch(format!(
                "{} dropout generator states for a network with {} dropout layers",
                states.len(),
                self.dropout_rngs.len()
            )));
        }
        let restored: Vec<TensorRng> = states
            .iter()
            .map(|s| {
                s.try_restore()
                    .ok_or_else(|| FrameworkError::DataMismatch(format!("{s:?} is not a valid generator state")))
            })
            .collect::<Result<_>>()?;
        for (r, s) in self.dropout_rngs.iter().zip(restored) {
            *r.borrow_mut() = s;
        }
        Ok(())
    }
}

impl<T: Element> Module<T> for Network<T> {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers.iter().map(|l| l.module.describe()).collect();
        format!("Network[{}]", inner.join(", "))
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Sequential { len: self.layers.len() }
    }
    fn forward(&self, x: &Var<T>) -> dl_layers::Result<Var<T>> {
        if x.shape().len() != self.input_shape.len() + 1 || x.shape()[1..] != self.input_shape[..] {
            return Err(LayerError::layer("Network", format!("an input (N, {:?})", self.input_shape), x.shape()));
        }
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.module.forward(&h)?;
        }
        self.lazy_output(x, h)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.module.visit_parameters(&join_name(prefix, &i.to_string()), f);
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.module.visit_buffers(&join_name(prefix, &i.to_string()), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
        for layer in &mut self.layers {
            layer.module.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
