//! The same recurrences unrolled into a graph of generic [`Var`] ops (matmul, add, mul,
//! tanh, sigmoid, relu per step): no hand-written derivative anywhere.
//!
//! This is the reference that the explicit BPTT ([`super::bptt::rnn_backward`]) is tested
//! against, and the way the sequence primitive differentiates its own backward (second
//! order: its VJP under `create_graph`) and runs forward mode (its JVP is this graph's
//! tangent recurrence). Masks act arithmetically, `h_t = m h̃_t + (1 - m) h_{t-1}` and
//! `y_t = m h_t`, which equals the explicit forward's select whenever the padded inputs are
//! finite.

use dl_autodiff::{Result, Var};
use dl_tensor::{Element, Tensor};

use super::cell::CellKind;
use super::sequence::check_inputs;

/// The packed output `(T + S, B, H)` of the recurrence on `[x, h0, (c0), w_ih, w_hh, b_ih,
/// b_hh]`, built step by step from generic differentiable ops.
pub fn unrolled_sequence<T: Element>(kind: CellKind, inputs: &[&Var<T>], mask: Option<&[bool]>) -> Result<Var<T>> {
    let values: Vec<&Tensor<T>> = inputs.iter().map(|v| v.value()).collect();
    let d = check_inputs(kind, &values, mask)?;
    let n = inputs.len();
    let (x, w_ih, w_hh, b_ih, b_hh) = (inputs[0], inputs[n - 4], inputs[n - 3], inputs[n - 2], inputs[n - 1]);
    let (w_ih_t, w_hh_t) = (w_ih.t()?, w_hh.t()?);
    let mut h = inputs[1].clone();
    let mut c = if kind.has_cell_state() { Some(inputs[2].clone()) } else { None };
    let gate = |v: &Var<T>, k: usize| v.narrow(1, k * d.h, d.h);
    let mut outputs = Vec::with_capacity(d.t);
    for t in 0..d.t {
        let x_t = x.narrow(0, t, 1)?.reshape(&[d.b, d.i])?;
        let gx = x_t.matmul(&w_ih_t)?.add(b_ih)?;
        let gh = h.matmul(&w_hh_t)?.add(b_hh)?;
        let (h_new, c_new) = match kind {
            CellKind::RnnTanh => (gx.add(&gh)?.tanh()?, None),
            CellKind::RnnRelu => (gx.add(&gh)?.relu()?, None),
            CellKind::Lstm => {
                let a = gx.add(&gh)?;
                let (i, f, g, o) =
                    (gate(&a, 0)?.sigmoid()?, gate(&a, 1)?.sigmoid()?, gate(&a, 2)?.tanh()?, gate(&a, 3)?.sigmoid()?);
                let c_prev = c.as_ref().expect("the LSTM carries c");
                let c_t = f.mul(c_prev)?.add(&i.mul(&g)?)?;
                (o.mul(&c_t.tanh()?)?, Some(c_t))
            }
            CellKind::Gru => {
                let r = gate(&gx, 0)?.add(&gate(&gh, 0)?)?.sigmoid()?;
                let z = gate(&gx, 1)?.add(&gate(&gh, 1)?)?.sigmoid()?;
                let n = gate(&gx, 2)?.add(&r.mul(&gate(&gh, 2)?)?)?.tanh()?;
                let one_minus_z = z.neg()?.add_scalar(T::one())?;
                (one_minus_z.mul(&n)?.add(&z.mul(&h)?)?, None)
            }
        };
        match mask {
            None => {
                h = h_new;
                c = c_new;
                outputs.push(h.clone());
            }
            Some(m) => {
                let col: Vec<T> = (0..d.b).map(|b| if m[t * d.b + b] { T::one() } else { T::zero() }).collect();
                let keep = Var::constant(Tensor::from_vec(col.clone(), &[d.b, 1])?);
                let carry = Var::constant(Tensor::from_vec(col.iter().map(|&v| T::one() - v).collect(), &[d.b, 1])?);
                h = keep.mul(&h_new)?.add(&carry.mul(&h)?)?;
                if let (Some(cn), Some(cp)) = (c_new, c.as_ref()) {
                    c = Some(keep.mul(&cn)?.add(&carry.mul(cp)?)?);
                }
                outputs.push(keep.mul(&h)?);
            }
        }
    }
    let mut parts: Vec<Var<T>> = outputs.iter().map(|y| y.unsqueeze(0)).collect::<Result<_>>()?;
    parts.push(h.unsqueeze(0)?);
    if let Some(c) = &c {
        parts.push(c.unsqueeze(0)?);
    }
    let refs: Vec<&Var<T>> = parts.iter().collect();
    Var::concat(&refs, 0)
}
