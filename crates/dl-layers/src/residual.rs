//! Residual blocks: `y = P(x) + f(x)`, with `P` the identity or a projection (a 1x1
//! convolution or a linear map when `f` changes the shape).

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::error::{LayerError, Result};
use crate::kind::LayerKind;
use crate::module::{Module, Param, join_name};

/// `y = x + f(x)`, or `y = proj(x) + f(x)` with a projection. Parameters are named
/// `body.*` and `proj.*`.
pub struct Residual<T: Element> {
    /// The residual branch `f` of `y = P(x) + f(x)`; its parameters are named `body.*`.
    pub body: Box<dyn Module<T>>,
    /// The shortcut `P` when it is not the identity (a 1x1 convolution or a linear map
    /// matching `f`'s output shape); its parameters are named `proj.*`.
    pub proj: Option<Box<dyn Module<T>>>,
    training: bool,
}

impl<T: Element> Residual<T> {
    /// The identity shortcut.
    pub fn new(body: impl Module<T> + 'static) -> Self {
        Residual { body: Box::new(body), proj: None, training: true }
    }
    /// A projected shortcut.
    pub fn with_projection(body: impl Module<T> + 'static, proj: impl Module<T> + 'static) -> Self {
        Residual { body: Box::new(body), proj: Some(Box::new(proj)), training: true }
    }
}

impl<T: Element> Module<T> for Residual<T> {
    fn describe(&self) -> String {
        match &self.proj {
            Some(p) => format!("Residual({} + {})", p.describe(), self.body.describe()),
            None => format!("Residual(x + {})", self.body.describe()),
        }
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Residual { projection: self.proj.is_some() }
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let fx = self.body.forward(x)?;
        let short = match &self.proj {
            Some(p) => p.forward(x)?,
            None => x.clone(),
        };
        if fx.shape() != short.shape() {
            let expected =
                format!("the body's output shape {:?} to equal the shortcut's (add a projection)", fx.shape());
            return Err(LayerError::layer(self.describe(), expected, short.shape()));
        }
        Ok(short.add(&fx)?)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        self.body.visit_parameters(&join_name(prefix, "body"), f);
        if let Some(p) = &self.proj {
            p.visit_parameters(&join_name(prefix, "proj"), f);
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        self.body.visit_buffers(&join_name(prefix, "body"), f);
        if let Some(p) = &self.proj {
            p.visit_buffers(&join_name(prefix, "proj"), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.body.set_training(training);
        if let Some(p) = &mut self.proj {
            p.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
