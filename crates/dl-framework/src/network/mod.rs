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

mod dropout;
mod recurrent;

use std::cell::RefCell;
use std::rc::Rc;

use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module, Param, join_name};
use dl_tensor::{Element, TensorRng};

pub use dropout::CheckpointedDropout;
pub use recurrent::{BatchFirstRecurrent, RecurrentOutputKind};

use crate::checkpoint::RngState;
use crate::config::{LayerFootprint, NetworkConfig};
use crate::error::{FrameworkError, Result};

/// One top-level layer: its module and its position.
pub struct NetworkLayer<T: Element> {
    /// The layer.
    pub module: Box<dyn Module<T>>,
    /// Where it came from in the configuration (`layers[3]`).
    pub config_path: String,
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
}

impl<T: Element> Network<T> {
    /// Assembles a network; `input_shape` and `output_shape` are per example.
    pub(crate) fn new(
        layers: Vec<NetworkLayer<T>>,
        input_shape: Vec<usize>,
        output_shape: Vec<usize>,
        dropout_rngs: Vec<Rc<RefCell<TensorRng>>>,
    ) -> Self {
        Network { layers, input_shape, output_shape, dropout_rngs, training: true, config: None, footprints: Vec::new() }
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

    /// The output of every layer, in order (the last is the network's output).
    pub fn forward_traced(&self, x: &Var<T>) -> Result<Vec<Var<T>>> {
        self.check_input(x.shape())?;
        let mut outs: Vec<Var<T>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let h = layer.module.forward(outs.last().unwrap_or(x))?;
            outs.push(h);
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
        Ok(h)
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
