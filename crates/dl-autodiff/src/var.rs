//! [`Var`]: a tensor together with its place in the computation graph.
//!
//! A `Var` is a reference-counted node. It holds its value, an optional forward-mode tangent,
//! and how it was made:
//!
//! - a **constant** (no gradient flows into it),
//! - a **leaf** that requires a gradient (a parameter or an input you differentiate by),
//! - or the output of a recorded **op**: the [`Primitive`] and the input variables.
//!
//! The recorded ops form the tape: a DAG whose edges point from each output to its inputs.
//! [`Var::apply`] is the only place where an op runs: it calls the primitive's forward rule,
//! carries tangents with its JVP rule when any input has one (forward mode), and records the
//! op when recording is on and some input requires a gradient.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dl_tensor::{Element, Tensor};

use crate::error::{AutodiffError, Result};
use crate::mode;
use crate::primitive::{JvpContext, Primitive};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A recorded op: the primitive and the variables it read.
pub(crate) struct Record<T: Element> {
    pub(crate) op: Box<dyn Primitive<T>>,
    pub(crate) inputs: Vec<Var<T>>,
}

pub(crate) enum Origin<T: Element> {
    Constant,
    Leaf,
    /// `None` once a backward pass has freed the record.
    Op {
        name: &'static str,
        record: RefCell<Option<Record<T>>>,
    },
}

pub(crate) struct VarInner<T: Element> {
    pub(crate) id: usize,
    pub(crate) value: Tensor<T>,
    pub(crate) tangent: Option<Tensor<T>>,
    pub(crate) origin: Origin<T>,
    tracked_bytes: usize,
}

impl<T: Element> Drop for VarInner<T> {
    /// Releases the record iteratively: dropping the last handle of a long chain (an
    /// unrolled recurrence of 10⁵ steps, say) must not recurse once per node.
    fn drop(&mut self) {
        if self.tracked_bytes > 0 {
            mode::track_free(self.tracked_bytes);
        }
        let Origin::Op { record, .. } = &mut self.origin else { return };
        let Some(first) = record.get_mut().take() else { return };
        let mut pending = first.inputs;
        while let Some(var) = pending.pop() {
            // Only a node whose last handle this is needs unwinding here.
            if let Ok(mut inner) = Rc::try_unwrap(var.0)
                && let Origin::Op { record, .. } = &mut inner.origin
                && let Some(rec) = record.get_mut().take()
            {
                pending.extend(rec.inputs);
            }
        }
    }
}

/// A node of the computation graph: a value, and how it was computed. Cloning is cheap
/// (reference counting); clones are the same node.
pub struct Var<T: Element>(pub(crate) Rc<VarInner<T>>);

impl<T: Element> Clone for Var<T> {
    fn clone(&self) -> Self {
        Var(Rc::clone(&self.0))
    }
}

impl<T: Element> fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.0.origin {
            Origin::Constant => "constant",
            Origin::Leaf => "leaf",
            Origin::Op { name, .. } => name,
        };
        write!(f, "Var#{}({kind}, shape {:?})", self.0.id, self.0.value.shape())
    }
}

impl<T: Element> Var<T> {
    fn make(value: Tensor<T>, tangent: Option<Tensor<T>>, origin: Origin<T>) -> Self {
        let tracked_bytes = match origin {
            Origin::Op { .. } => value.numel() * std::mem::size_of::<T>(),
            _ => 0,
        };
        if tracked_bytes > 0 {
            mode::track_alloc(tracked_bytes);
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Var(Rc::new(VarInner { id, value, tangent, origin, tracked_bytes }))
    }

    /// A leaf: a value you may differentiate by (`requires_grad`), or a constant.
    pub fn leaf(value: Tensor<T>, requires_grad: bool) -> Self {
        Self::make(value, None, if requires_grad { Origin::Leaf } else { Origin::Constant })
    }

    /// A constant: no gradient flows into it.
    pub fn constant(value: Tensor<T>) -> Self {
        Self::make(value, None, Origin::Constant)
    }

    /// A constant scalar (0-d).
    pub fn scalar(value: T) -> Self {
        Self::constant(Tensor::scalar(value))
    }

    /// A constant carrying a forward-mode tangent (a dual number): ops on it carry
    /// `J tangent` along. See [`crate::forward::jvp`].
    pub fn dual(value: Tensor<T>, tangent: Tensor<T>) -> Result<Self> {
        Self::dual_leaf(value, tangent, false)
    }

    /// A leaf with a tangent, differentiable in both modes when `requires_grad`.
    pub fn dual_leaf(value: Tensor<T>, tangent: Tensor<T>, requires_grad: bool) -> Result<Self> {
        if value.shape() != tangent.shape() {
            return Err(AutodiffError::invalid(
                "dual",
                format!("the tangent has shape {:?}, the value {:?}", tangent.shape(), value.shape()),
            ));
        }
        Ok(Self::make(value, Some(tangent), if requires_grad { Origin::Leaf } else { Origin::Constant }))
    }

    /// The value.
    pub fn value(&self) -> &Tensor<T> {
        &self.0.value
    }

    /// The forward-mode tangent, if this variable carries one.
    pub fn tangent(&self) -> Option<&Tensor<T>> {
        self.0.tangent.as_ref()
    }

    /// The value's shape.
    pub fn shape(&self) -> &[usize] {
        self.0.value.shape()
    }

    /// A unique id (used as the key of [`crate::Gradients`]).
    pub fn id(&self) -> usize {
        self.0.id
    }

    /// Whether gradients flow into this variable (a leaf requiring them, or a recorded op).
    pub fn requires_grad(&self) -> bool {
        !matches!(self.0.origin, Origin::Constant)
    }

    /// Whether this is a leaf (a constant or a `requires_grad` leaf, not an op output).
    pub fn is_leaf(&self) -> bool {
        !matches!(self.0.origin, Origin::Op { .. })
    }

    /// The name of the op that made this variable, if any.
    pub fn op_name(&self) -> Option<&'static str> {
        match &self.0.origin {
            Origin::Op { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The variables a recorded op read (empty for a leaf or constant; `None` once a
    /// backward pass has freed the record). For walking and printing a graph.
    pub fn recorded_inputs(&self) -> Option<Vec<Var<T>>> {
        match &self.0.origin {
            Origin::Op { record, .. } => record.borrow().as_ref().map(|r| r.inputs.clone()),
            _ => Some(Vec::new()),
        }
    }

    /// The same value cut from the graph: a constant, without tangent.
    pub fn detach(&self) -> Self {
        Self::constant(self.0.value.clone())
    }

    /// Mutable access to a leaf's value, for in-place parameter updates. Fails when the
    /// variable is still shared (held by a live graph, or cloned), because changing it
    /// would silently change what that graph computed.
    pub fn value_mut(&mut self) -> Result<&mut Tensor<T>> {
        if !self.is_leaf() {
            return Err(AutodiffError::invalid("value_mut", "only a leaf's value can be changed in place"));
        }
        match Rc::get_mut(&mut self.0) {
            Some(inner) => Ok(&mut inner.value),
            None => Err(AutodiffError::invalid(
                "value_mut",
                "the variable is shared (a graph that uses it is still alive, or it was cloned); drop the graph first",
            )),
        }
    }

    /// Runs a primitive on variables: forward, then the JVP when an input carries a
    /// tangent, then records the op when recording is on and an input requires a gradient.
    pub fn apply<P: Primitive<T>>(op: P, inputs: &[&Var<T>]) -> Result<Var<T>> {
        let values: Vec<&Tensor<T>> = inputs.iter().map(|v| &v.0.value).collect();
        let value = op.forward(&values)?;
        if mode::collecting() {
            for v in inputs.iter().filter(|v| v.requires_grad()) {
                mode::collect(Rc::clone(&v.0) as Rc<dyn Any>);
            }
        }
        let tangent = if inputs.iter().any(|v| v.0.tangent.is_some()) {
            let tangents: Vec<Option<&Tensor<T>>> = inputs.iter().map(|v| v.0.tangent.as_ref()).collect();
            let t = op.jvp(&JvpContext { inputs: &values, output: &value }, &tangents)?;
            if t.shape() != value.shape() {
                return Err(AutodiffError::BadJvp {
                    op: op.name(),
                    expected: value.shape().to_vec(),
                    got: t.shape().to_vec(),
                });
            }
            Some(t)
        } else {
            None
        };
        let record = mode::is_grad_enabled() && inputs.iter().any(|v| v.requires_grad());
        Ok(if record {
            Self::recorded(Box::new(op), inputs.iter().map(|v| (*v).clone()).collect(), value, tangent)
        } else {
            Self::make(value, tangent, Origin::Constant)
        })
    }

    /// A variable for an op whose value was computed elsewhere (checkpointing).
    pub(crate) fn recorded(
        op: Box<dyn Primitive<T>>,
        inputs: Vec<Var<T>>,
        value: Tensor<T>,
        tangent: Option<Tensor<T>>,
    ) -> Self {
        let name = op.name();
        Self::make(value, tangent, Origin::Op { name, record: RefCell::new(Some(Record { op, inputs })) })
    }

    pub(crate) fn from_any(any: Rc<dyn Any>) -> Option<Self> {
        any.downcast::<VarInner<T>>().ok().map(Var)
    }
}
