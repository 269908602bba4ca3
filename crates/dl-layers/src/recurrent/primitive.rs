//! The sequence primitive: the whole recurrence as one differentiable op.
//!
//! Inputs `[x (T, B, I), h0 (B, H), (c0 (B, H) for the LSTM), w_ih, w_hh, b_ih, b_hh]`;
//! output the packed `(T + S, B, H)`: the outputs `y_0 .. y_{T-1}` (zero at padded steps),
//! then `h_n`, then `c_n` for the LSTM. The mask is part of the op, not an input.
//!
//! - **forward**: the explicit recurrence ([`super::sequence::forward_sequence`]), which
//!   keeps its activations for the backward;
//! - **VJP**: in a plain backward pass, the explicit BPTT loop
//!   ([`super::bptt::rnn_backward`]); when the backward is itself recorded
//!   (`create_graph`, for Hessian-vector products and `gradgradcheck`), the VJP of the
//!   unrolled graph ([`super::unrolled::unrolled_sequence`]) built on the op's inputs, which
//!   is differentiable again (correct to any order, slower);
//! - **JVP**: the tangent recurrence, obtained by carrying dual numbers through the unrolled
//!   graph (`ḣ_t = f'(a_t) ⊙ (ẋ_t W_ih^T + x_t Ẇ_ih^T + ḣ_{t-1} W_hh^T + h_{t-1} Ẇ_hh^T + ḃ)`
//!   for the RNN, and likewise through each gate).

use std::cell::RefCell;

use dl_autodiff::{BackwardOptions, JvpContext, Primitive, Result, Var, VjpContext, grad, is_grad_enabled, no_grad};
use dl_tensor::{Element, Tensor};

use super::bptt::{Needs, rnn_backward};
use super::cell::CellKind;
use super::sequence::{Saved, forward_sequence};
use super::unrolled::unrolled_sequence;

/// The buffers (address and shape) a forward pass read, so the backward reuses its saved
/// activations only for the very same inputs.
type Key = Vec<(usize, Vec<usize>)>;

fn key_of<T: Element>(inputs: &[&Tensor<T>]) -> Key {
    inputs.iter().map(|t| (t.array().as_ptr() as usize, t.shape().to_vec())).collect()
}

/// A whole recurrent sequence as one op (see the module docs).
pub struct SequencePrimitive<T: Element> {
    /// The recurrence run at every step: RNN (tanh or relu), LSTM or GRU.
    pub kind: CellKind,
    /// `true` for real steps, `(T, B)` row-major; `None` when every step is real.
    pub mask: Option<Vec<bool>>,
    saved: RefCell<Option<(Key, Saved<T>)>>,
}

impl<T: Element> Clone for SequencePrimitive<T> {
    fn clone(&self) -> Self {
        SequencePrimitive::new(self.kind, self.mask.clone())
    }
}

impl<T: Element> SequencePrimitive<T> {
    /// The primitive for `kind` with an optional `(T, B)` mask, nothing saved yet.
    pub fn new(kind: CellKind, mask: Option<Vec<bool>>) -> Self {
        SequencePrimitive { kind, mask, saved: RefCell::new(None) }
    }
}

impl<T: Element> Primitive<T> for SequencePrimitive<T> {
    fn name(&self) -> &'static str {
        self.kind.op_name()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (out, saved) = forward_sequence(self.kind, inputs, self.mask.as_deref())?;
        *self.saved.borrow_mut() = Some((key_of(inputs), saved));
        Ok(out)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        // Recording is on here exactly when the outer pass has `create_graph`.
        if is_grad_enabled() {
            let inputs: Vec<&Var<T>> = ctx.inputs.iter().collect();
            let y = unrolled_sequence(self.kind, &inputs, self.mask.as_deref())?;
            return grad(&y, Some(u), &inputs, BackwardOptions::create_graph());
        }
        let values: Vec<&Tensor<T>> = ctx.inputs.iter().map(|v| v.value()).collect();
        let key = key_of(&values);
        let mut slot = self.saved.borrow_mut();
        if slot.as_ref().is_none_or(|(k, _)| *k != key) {
            let (_, saved) = forward_sequence(self.kind, &values, self.mask.as_deref())?;
            *slot = Some((key, saved));
        }
        let saved = &slot.as_ref().expect("filled above").1;
        let d = saved.dims;
        let n = values.len();
        let contiguous = |t: &Tensor<T>| t.contiguous();
        let (x, w_ih, w_hh, uc) =
            (contiguous(values[0]), contiguous(values[n - 4]), contiguous(values[n - 3]), contiguous(u.value()));
        let needs = Needs {
            x: ctx.needs(0),
            weights: ctx.needs(n - 4) || ctx.needs(n - 3),
            biases: ctx.needs(n - 2) || ctx.needs(n - 1),
        };
        let g = rnn_backward(saved, slice(&x), slice(&w_ih), slice(&w_hh), slice(&uc), needs);
        let var = |data: Option<Vec<T>>, shape: &[usize], need: bool| -> Result<Option<Var<T>>> {
            match data {
                Some(v) if need => Ok(Some(Var::constant(Tensor::from_vec(v, shape)?))),
                _ => Ok(None),
            }
        };
        let gh = d.gh();
        let mut out = vec![var(g.dx, &[d.t, d.b, d.i], ctx.needs(0))?, var(Some(g.dh0), &[d.b, d.h], ctx.needs(1))?];
        if self.kind.has_cell_state() {
            out.push(var(g.dc0, &[d.b, d.h], ctx.needs(2))?);
        }
        out.push(var(g.dw_ih, &[gh, d.i], ctx.needs(n - 4))?);
        out.push(var(g.dw_hh, &[gh, d.h], ctx.needs(n - 3))?);
        out.push(var(g.db_ih, &[gh], ctx.needs(n - 2))?);
        out.push(var(g.db_hh, &[gh], ctx.needs(n - 1))?);
        Ok(out)
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let duals: Vec<Var<T>> = ctx
            .inputs
            .iter()
            .zip(t)
            .map(|(x, t)| match t {
                Some(t) => Var::dual((*x).clone(), (*t).clone()),
                None => Ok(Var::constant((*x).clone())),
            })
            .collect::<Result<_>>()?;
        let refs: Vec<&Var<T>> = duals.iter().collect();
        let y = no_grad(|| unrolled_sequence(self.kind, &refs, self.mask.as_deref()))?;
        Ok(y.tangent().cloned().unwrap_or_else(|| Tensor::zeros(ctx.output.shape())))
    }
}

fn slice<T: Element>(t: &Tensor<T>) -> &[T] {
    t.as_slice().expect("made contiguous by the caller")
}

/// Applies the sequence primitive: the packed output `(T + S, B, H)` of `kind` on
/// `[x, h0, (c0), w_ih, w_hh, b_ih, b_hh]` with an optional mask `(T B)` of real steps.
pub fn sequence<T: Element>(kind: CellKind, inputs: &[&Var<T>], mask: Option<Vec<bool>>) -> Result<Var<T>> {
    Var::apply(SequencePrimitive::new(kind, mask), inputs)
}
