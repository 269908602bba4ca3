//! Gradient checkpointing: trade compute for activation memory.
//!
//! A backward pass needs the activations of the forward pass, so a plain tape of an
//! `L`-layer network holds `O(L)` activations at its peak. [`checkpoint`] runs a segment of
//! the network without recording (only the segment's input and output stay alive), and
//! records one op whose VJP *recomputes* the segment with recording on, backpropagates
//! through that short tape, and frees it. Cutting `L` layers into `√L` segments of `√L`
//! layers keeps `√L` segment boundaries plus one recomputed segment alive: `O(√L)` memory,
//! for about one extra forward pass of compute.
//!
//! The recomputation performs the same ops on the same values in the same order, so the
//! gradients are bit-identical to those of the plain run (for a segment whose parameters
//! are used only inside it; a parameter shared between segments gets its contributions
//! summed in a different order). The segment must be deterministic (no fresh randomness).
//!
//! Variables that the segment reads from outside (its parameters) are found automatically
//! while it runs: they become inputs of the checkpoint op, so their gradients flow.

use std::collections::HashSet;
use std::rc::Rc;

use dl_tensor::{Element, Tensor};

use crate::backward::{BackwardOptions, grad_impl};
use crate::error::Result;
use crate::mode::{collect_inputs, enable_grad, is_grad_enabled, no_grad};
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// A segment of a network: a function of one variable.
pub type Segment<T> = Rc<dyn Fn(&Var<T>) -> Result<Var<T>>>;

/// The recorded op of a checkpointed segment. Its inputs are the segment's input followed
/// by every outside variable the segment reads.
pub struct Checkpoint<T: Element> {
    segment: Segment<T>,
}

impl<T: Element> Primitive<T> for Checkpoint<T> {
    fn name(&self) -> &'static str {
        "checkpoint"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(no_grad(|| (self.segment)(&Var::constant(x[0].clone())))?.value().clone())
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        // Recording is on here exactly when the outer pass has `create_graph`.
        let create_graph = is_grad_enabled();
        let y = enable_grad(|| (self.segment)(ctx.input(0)))?;
        let wrt: Vec<&Var<T>> = ctx.inputs.iter().collect();
        let opts = BackwardOptions { retain_graph: create_graph, create_graph };
        // Stop at the op's inputs: what lies before them is the outer pass's business.
        grad_impl(&y, Some(u), &wrt, opts, true)
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        // Outside variables are read by the segment itself, so their own tangents (if any)
        // are carried along; only the segment input's tangent has to be attached here.
        let x = match t[0] {
            Some(t) => Var::dual(ctx.inputs[0].clone(), t.clone())?,
            None => Var::constant(ctx.inputs[0].clone()),
        };
        let y = no_grad(|| (self.segment)(&x))?;
        Ok(y.tangent().cloned().unwrap_or_else(|| Tensor::zeros(ctx.output.shape())))
    }
}

/// Runs `segment(input)` without keeping its activations; during backward the segment is
/// recomputed. Outside the recording mode (`no_grad`) it simply runs the segment.
///
/// ```
/// use dl_autodiff::{Var, checkpoint::checkpoint};
/// use dl_tensor::Tensor;
/// let w = Var::leaf(Tensor::<f64>::from_vec(vec![0.5, -1.0, 2.0, 1.5], &[2, 2])?, true);
/// let x = Var::constant(Tensor::ones(&[3, 2]));
/// let w2 = w.clone();
/// let h = checkpoint(move |h: &Var<f64>| h.matmul(&w2)?.tanh(), &x)?;
/// let g = h.sum_all()?.backward()?;
/// assert!(g.get(&w).is_some());
/// # Ok::<(), dl_autodiff::AutodiffError>(())
/// ```
pub fn checkpoint<T: Element, F>(segment: F, input: &Var<T>) -> Result<Var<T>>
where
    F: Fn(&Var<T>) -> Result<Var<T>> + 'static,
{
    if !is_grad_enabled() {
        return segment(input);
    }
    let segment: Segment<T> = Rc::new(segment);
    let (out, seen) = collect_inputs(|| no_grad(|| segment(input)));
    let out = out?;
    let mut inputs = vec![input.clone()];
    let mut ids: HashSet<usize> = HashSet::from([input.id()]);
    for any in seen {
        if let Some(v) = Var::<T>::from_any(any)
            && ids.insert(v.id())
        {
            inputs.push(v);
        }
    }
    if !inputs.iter().any(|v| v.requires_grad()) {
        return Ok(out);
    }
    let value = out.value().clone();
    let tangent = out.tangent().cloned();
    Ok(Var::recorded(Box::new(Checkpoint { segment }), inputs, value, tangent))
}

/// Applies `layers` in order, checkpointing consecutive groups of `segment_len` layers
/// (`segment_len = ⌈√L⌉` gives `O(√L)` activation memory); `segment_len == 0` means no
/// checkpointing.
pub fn checkpoint_sequential<T: Element>(layers: &[Segment<T>], input: &Var<T>, segment_len: usize) -> Result<Var<T>> {
    let mut h = input.clone();
    if segment_len == 0 {
        for layer in layers {
            h = layer(&h)?;
        }
        return Ok(h);
    }
    for chunk in layers.chunks(segment_len) {
        let chunk: Vec<_> = chunk.to_vec();
        h = checkpoint(
            move |x: &Var<T>| {
                let mut h = x.clone();
                for layer in &chunk {
                    h = layer(&h)?;
                }
                Ok(h)
            },
            &h,
        )?;
    }
    Ok(h)
}
