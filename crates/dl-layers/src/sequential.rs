//! `Sequential`: modules applied in order; parameters named by position (`"0.weight"`).

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::error::Result;
use crate::kind::LayerKind;
use crate::module::{Module, Param};

/// A chain of modules; the output of one is the input of the next.
pub struct Sequential<T: Element> {
    layers: Vec<Box<dyn Module<T>>>,
    training: bool,
}

impl<T: Element> Sequential<T> {
    /// An empty chain (the identity map); add modules with [`Sequential::with`] or
    /// [`Sequential::push`].
    pub fn new() -> Self {
        Sequential { layers: Vec::new(), training: true }
    }
    /// Appends a module (builder style).
    pub fn with(mut self, layer: impl Module<T> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }
    /// Appends a boxed module.
    pub fn push(&mut self, layer: Box<dyn Module<T>>) {
        self.layers.push(layer);
    }
    /// The modules.
    pub fn layers(&self) -> &[Box<dyn Module<T>>] {
        &self.layers
    }
    /// The number of modules in the chain (the depth, counting activations as layers).
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    /// Whether the chain has no modules.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<T: Element> Default for Sequential<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Module<T> for Sequential<T> {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("Sequential[{}]", inner.join(", "))
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Sequential { len: self.layers.len() }
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h)?;
        }
        Ok(h)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_parameters(&crate::module::join_name(prefix, &i.to_string()), f);
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_buffers(&crate::module::join_name(prefix, &i.to_string()), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
