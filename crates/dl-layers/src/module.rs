//! The [`Module`] trait, parameters ([`Param`]) and state dicts.
//!
//! **How parameters are stored.** A [`Param`] is a shared handle (cloning it gives the same
//! parameter) to a value held in a `RefCell`. A module's `forward` calls [`Param::var`],
//! which returns a leaf [`Var`] for the current value; the same leaf is returned until the
//! value changes, so a parameter used twice in one forward pass (weight tying) is one leaf
//! and its gradient is the sum of both uses. After `loss.backward()`, [`Param::grad`] reads
//! the parameter's gradient from the [`Gradients`]. Changing the value ([`Param::set`],
//! [`Param::update`], or [`StepParam::commit`]) drops the cached leaf, so the next forward
//! pass reads the new value.
//!
//! **Names.** A module reports its parameters through [`Module::visit_parameters`] with
//! dotted names (`"0.weight"`, `"block.proj.bias"`), PyTorch's convention; the state dict
//! is the map from those names to values.
//!
//! **Buffers.** Non-trainable state that belongs in the state dict (batch norm's
//! `running_mean`, `running_var`, `num_batches_tracked`) is reported through
//! [`Module::visit_buffers`], held in a [`Param`] handle that does not require gradients.
//! Buffers are in [`Module::state_dict`] and [`Module::load_state_dict`] beside the
//! parameters, but not in [`Module::parameters`], so optimisers never see them.
//!
//! **Optimisers.** [`parameters_for_step`] gathers `(name, value, grad)` triples that an
//! optimiser can update in place (dl-framework's `optim::Param { name, value: &mut, grad }`
//! is built from them with no copy), and [`commit_step`] writes the new values back.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use dl_autodiff::{Gradients, Var};
use dl_tensor::{Element, Tensor};

use crate::error::{LayerError, Result};
use crate::kind::LayerKind;

struct ParamInner<T: Element> {
    value: RefCell<Tensor<T>>,
    leaf: RefCell<Option<Var<T>>>,
    requires_grad: Cell<bool>,
}

/// A trainable tensor: a shared handle to a value, with the leaf variable of the current
/// forward pass. Clones are the same parameter.
pub struct Param<T: Element>(Rc<ParamInner<T>>);

impl<T: Element> Clone for Param<T> {
    fn clone(&self) -> Self {
        Param(Rc::clone(&self.0))
    }
}

impl<T: Element> std::fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Param(shape {:?}, requires_grad {})", self.shape(), self.requires_grad())
    }
}

impl<T: Element> Param<T> {
    /// A parameter that requires gradients.
    pub fn new(value: Tensor<T>) -> Self {
        Param(Rc::new(ParamInner {
            value: RefCell::new(value),
            leaf: RefCell::new(None),
            requires_grad: Cell::new(true),
        }))
    }

    /// The current value (a cheap clone sharing the buffer).
    pub fn value(&self) -> Tensor<T> {
        self.0.value.borrow().clone()
    }

    /// The value's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.0.value.borrow().shape().to_vec()
    }

    /// Whether gradients flow into this parameter (frozen parameters are constants).
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.get()
    }

    /// Freezes (`false`) or unfreezes the parameter.
    pub fn set_requires_grad(&self, on: bool) {
        self.0.requires_grad.set(on);
        self.0.leaf.borrow_mut().take();
    }

    /// The leaf variable for the current value: created on first use after a change, then
    /// the same node until the value changes again.
    pub fn var(&self) -> Var<T> {
        let mut leaf = self.0.leaf.borrow_mut();
        if let Some(v) = leaf.as_ref() {
            return v.clone();
        }
        let v = Var::leaf(self.value(), self.requires_grad());
        *leaf = Some(v.clone());
        v
    }

    /// This parameter's gradient in `grads` (None if the last forward pass did not use it
    /// or no path led from the loss to it).
    pub fn grad<'g>(&self, grads: &'g Gradients<T>) -> Option<&'g Tensor<T>> {
        self.0.leaf.borrow().as_ref().and_then(|v| grads.get(v))
    }

    /// Replaces the value; the shape must not change.
    pub fn set(&self, value: Tensor<T>) -> Result<()> {
        let shape = self.shape();
        if value.shape() != shape.as_slice() {
            return Err(LayerError::layer("Param::set", format!("a value of shape {shape:?}"), value.shape()));
        }
        *self.0.value.borrow_mut() = value;
        self.0.leaf.borrow_mut().take();
        Ok(())
    }

    /// Updates the value in place (an initialiser or a hand-written optimiser step).
    pub fn update<R>(&self, f: impl FnOnce(&mut Tensor<T>) -> R) -> R {
        self.0.leaf.borrow_mut().take();
        f(&mut self.0.value.borrow_mut())
    }
}

/// A parameter with its dotted name.
#[derive(Clone, Debug)]
pub struct NamedParam<T: Element> {
    /// The dotted path from the root module, e.g. `"0.weight"` or `"block.proj.bias"`
    /// (the state-dict key).
    pub name: String,
    /// A handle sharing the module's parameter (not a copy).
    pub param: Param<T>,
}

/// A layer or a network of layers.
///
/// Implementors write `describe` (the name used in error messages), `forward` and `kind`
/// (what the layer computes, as a [`LayerKind`]); a layer with parameters writes
/// `visit_parameters`, and a layer whose forward depends on the mode (dropout,
/// normalisation) or that has children writes the pair `set_training` / `is_training`.
/// Everything else (parameter lists, state dicts, `train()` / `eval()`) is provided.
///
/// A parameterless, mode-independent layer (an activation, flatten, pooling) writes only
/// the first three:
///
/// ```
/// use dl_autodiff::Var;
/// use dl_layers::{LayerKind, Module, Result};
/// use dl_tensor::Element;
///
/// /// `x -> 2 x`.
/// struct Double;
/// impl<T: Element> Module<T> for Double {
///     fn describe(&self) -> String {
///         "Double".into()
///     }
///     fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
///         Ok(x.add(x)?)
///     }
///     fn kind(&self) -> LayerKind {
///         LayerKind::Other
///     }
/// }
/// let mut d = Double;
/// Module::<f64>::eval(&mut d);
/// assert_eq!(Module::<f64>::num_parameters(&d), 0);
/// assert!(!Module::<f64>::is_training(&d)); // nothing in it depends on the mode
/// ```
pub trait Module<T: Element> {
    /// A short description of the layer for error messages, e.g. `Linear(3 -> 4)`.
    fn describe(&self) -> String;
    /// Applies the layer to a batch.
    fn forward(&self, x: &Var<T>) -> Result<Var<T>>;
    /// Calls `f(name, param)` for every parameter, names prefixed by `prefix` (which is
    /// empty or ends with a dot). Layers without parameters keep this default, which
    /// visits nothing.
    fn visit_parameters(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Param<T>)) {}
    /// Calls `f(name, buffer)` for every buffer (non-trainable state such as running
    /// What the layer computes (see [`LayerKind`]). A user's own module may keep the
    /// default, [`LayerKind::Other`]: tools that need to know a layer's computation (the
    /// analytic kernel, the linear-region counter) then refuse it, naming it.
    fn kind(&self) -> LayerKind {
        LayerKind::Other
    }
    /// statistics), names prefixed like [`Module::visit_parameters`]. Layers without
    /// buffers keep this default, which visits nothing; containers forward it to children.
    fn visit_buffers(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Param<T>)) {}
    /// Sets training (`true`) or evaluation mode, for this module and its children. A layer
    /// whose forward does not depend on the mode and that has no children keeps this
    /// default, which does nothing.
    fn set_training(&mut self, _training: bool) {}
    /// Whether the module is in training mode. The default, for layers whose forward does
    /// not depend on the mode, is `false`: what they compute is what they compute in
    /// evaluation.
    fn is_training(&self) -> bool {
        false
    }

    /// Training mode (dropout active).
    fn train(&mut self) {
        self.set_training(true);
    }
    /// Evaluation mode (dropout is the identity).
    fn eval(&mut self) {
        self.set_training(false);
    }
    /// Every parameter with its dotted name, in visiting order.
    fn parameters(&self) -> Vec<NamedParam<T>> {
        let mut out = Vec::new();
        self.visit_parameters("", &mut |name, p| out.push(NamedParam { name: name.to_string(), param: p.clone() }));
        out
    }
    /// The total number of scalar parameters.
    fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit_parameters("", &mut |_, p| n += p.shape().iter().product::<usize>());
        n
    }
    /// Every buffer with its dotted name, in visiting order.
    fn buffers(&self) -> Vec<NamedParam<T>> {
        let mut out = Vec::new();
        self.visit_buffers("", &mut |name, p| out.push(NamedParam { name: name.to_string(), param: p.clone() }));
        out
    }
    /// Name to value, for every parameter and every buffer.
    fn state_dict(&self) -> BTreeMap<String, Tensor<T>> {
        let mut out = BTreeMap::new();
        let mut insert = |name: &str, p: &Param<T>| {
            out.insert(name.to_string(), p.value());
        };
        self.visit_parameters("", &mut insert);
        self.visit_buffers("", &mut insert);
        out
    }
    /// Loads every parameter and buffer from `state`. Nothing is changed unless the keys and
    /// shapes match exactly; otherwise the error lists every missing, unexpected and
    /// mis-shaped key.
    fn load_state_dict(&self, state: &BTreeMap<String, Tensor<T>>) -> Result<()> {
        let mut own = self.parameters();
        own.extend(self.buffers());
        let mut missing = Vec::new();
        let mut mismatched = Vec::new();
        for np in &own {
            match state.get(&np.name) {
                None => missing.push(np.name.clone()),
                Some(t) if t.shape() != np.param.shape().as_slice() => {
                    mismatched.push((np.name.clone(), np.param.shape(), t.shape().to_vec()))
                }
                Some(_) => {}
            }
        }
        let unexpected: Vec<String> = state.keys().filter(|k| !own.iter().any(|np| &np.name == *k)).cloned().collect();
        if !missing.is_empty() || !unexpected.is_empty() || !mismatched.is_empty() {
            return Err(LayerError::StateDict { missing, unexpected, mismatched });
        }
        for np in own {
            np.param.set(state[&np.name].clone())?;
        }
        Ok(())
    }
}

/// Joins a prefix and a child name with a dot.
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

/// A parameter taken out of its module for an optimiser step: the name, the value (owned,
/// so it can be updated in place without a copy) and the gradient. Write it back with
/// [`StepParam::commit`] or [`commit_step`].
pub struct StepParam<T: Element> {
    /// The dotted path from the root module, e.g. `"0.weight"`.
    pub name: String,
    /// The parameter's value, moved out of the module: update it in place, and keep its shape.
    pub value: Tensor<T>,
    /// `∂loss/∂value`, the same shape (zeros when the loss did not reach the parameter).
    pub grad: Tensor<T>,
    handle: Param<T>,
}

impl<T: Element> StepParam<T> {
    /// Writes the (updated) value back into the module.
    pub fn commit(self) -> Result<()> {
        if self.value.shape() != self.grad.shape() {
            let expected = format!("the stepped value of '{}' to keep shape {:?}", self.name, self.grad.shape());
            return Err(LayerError::layer("StepParam::commit", expected, self.value.shape()));
        }
        let StepParam { value, handle, .. } = self;
        handle.update(|v| *v = value);
        Ok(())
    }
}

/// The `(name, value, grad)` of every parameter that requires a gradient, in visiting
/// order; a parameter the loss did not reach gets a zero gradient. Drop the graph of the
/// last forward pass first, or the update copies each value once (copy on write).
///
/// ```
/// use dl_autodiff::Var;
/// use dl_layers::{Linear, Module, parameters_for_step, commit_step};
/// use dl_tensor::{Tensor, seeded_rng};
/// let mut rng = seeded_rng(0);
/// let layer = Linear::<f64>::new(3, 2, true, &mut rng);
/// let x = Var::constant(Tensor::ones(&[4, 3]));
/// let grads = layer.forward(&x)?.square()?.sum_all()?.backward()?;
/// let mut step = parameters_for_step(&layer, &grads);
/// for p in &mut step {                       // plain SGD; dl-framework's optimisers take
///     let upd = p.value.sub(&p.grad.mul_scalar(0.1))?;   // optim::Param { name: &p.name,
///     p.value = upd;                         // value: &mut p.value, grad: &p.grad }
/// }
/// commit_step(step)?;
/// # Ok::<(), dl_layers::LayerError>(())
/// ```
pub fn parameters_for_step<T: Element>(module: &(impl Module<T> + ?Sized), grads: &Gradients<T>) -> Vec<StepParam<T>> {
    module
        .parameters()
        .into_iter()
        .filter(|np| np.param.requires_grad())
        .map(|np| {
            let grad = np.param.grad(grads).cloned().unwrap_or_else(|| Tensor::zeros(&np.param.shape()));
            // Drop the cached leaf so the value's buffer is not shared by the module.
            let value = np.param.update(|v| std::mem::replace(v, Tensor::zeros(&[0])));
            StepParam { name: np.name, value, grad, handle: np.param }
        })
        .collect()
}

/// Writes every stepped value back (see [`parameters_for_step`]).
pub fn commit_step<T: Element>(params: Vec<StepParam<T>>) -> Result<()> {
    for p in params {
        p.commit()?;
    }
    Ok(())
}
