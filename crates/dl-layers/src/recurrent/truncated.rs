//! Truncated backpropagation through time, BPTT(k1, k2) (Williams & Peng 1990; Sutskever
//! 2013, section 2.8.6): every `k1` steps, backpropagate the losses of those `k1` steps
//! through the last `k2` steps only. The state entering each window is carried over from
//! the previous steps but detached, so no gradient flows past it.
//!
//! The windows end at `k1, 2 k1, ..` (the last one at `T`) and start `k2 - k1` steps before
//! the previous end, so every full window spans `k2` steps; with `k1 = k2` they are the
//! consecutive chunks of `k` steps.
//!
//! With a loss `L = sum_t l_t(y_t)`, the full gradient is
//! `dL/dθ = sum_t sum_{s <= t} (dl_t/dh_t) (dh_t/dh_s) (∂h_s/∂θ)`; a loss at step `t` of the
//! window `[lo, hi)` (started at `start = lo - (k2 - k1)`) keeps the terms with `s >= start`,
//! so every loss keeps at least its `k2 - k1 + 1` most recent steps and at most `k2`. The
//! dropped terms carry the products of Jacobians over long lags: where they matter (long
//! dependencies), the truncated gradient is biased (see `docs/bptt.md` and the
//! `truncated-bptt-bias` experiment).
//! `k1 = k2 = T` (or any `k2 - k1 >= T`) is the full gradient.

use dl_autodiff::{Var, no_grad};
use dl_tensor::{Element, Tensor};

use super::layer::{Recurrent, RecurrentState};
use crate::error::{LayerError, Result};
use crate::module::{Module, NamedParam};

/// The schedule of truncated BPTT: every `k1` steps, backpropagate through `k2 >= k1` steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TbpttSchedule {
    /// `k1 ≥ 1`: the window stride, how many steps' losses each backward pass covers.
    pub k1: usize,
    /// `k2 ≥ k1`: how many steps each backward pass runs through; a loss keeps between
    /// `k2 − k1 + 1` and `k2` of its most recent steps.
    pub k2: usize,
}

impl TbpttSchedule {
    /// BPTT(k1, k2); needs `1 <= k1 <= k2`.
    pub fn new(k1: usize, k2: usize) -> Result<Self> {
        if k1 == 0 || k2 < k1 {
            return Err(LayerError::config("TbpttSchedule", format!("needs 1 <= k1 <= k2, got k1 = {k1}, k2 = {k2}")));
        }
        Ok(TbpttSchedule { k1, k2 })
    }
    /// The common special case: chunks of `k` steps, each backpropagated through itself.
    pub fn chunks(k: usize) -> Result<Self> {
        Self::new(k, k)
    }
    /// Full BPTT over a sequence of `t` steps.
    pub fn full(t: usize) -> Self {
        TbpttSchedule { k1: t.max(1), k2: t.max(1) }
    }
}

/// The loss summed over every step and the gradient of every requested parameter.
pub struct TbpttResult<T: Element> {
    /// `L = Σ_t l_t(y_t)`, the step losses summed over the whole sequence (exact: the
    /// truncation changes only the gradient).
    pub loss: T,
    /// `(name, gradient)` in the order of the requested parameters (zeros for a parameter the
    /// loss does not reach).
    pub grads: Vec<(String, Tensor<T>)>,
}

/// The gradient that BPTT(k1, k2) gives for the loss `sum_t step_loss(t, y_t)` of the layer
/// run over `x (T, B, I)` (optional mask `(T, B)`), for each of `params` (for instance
/// `layer.parameters()` plus a readout's). `step_loss` returns `None` at steps without a
/// loss. Unidirectional layers only: a backward direction would need the future.
pub fn truncated_bptt<T, F>(
    layer: &Recurrent<T>,
    x: &Tensor<T>,
    mask: Option<&Tensor<T>>,
    schedule: TbpttSchedule,
    params: &[NamedParam<T>],
    step_loss: F,
) -> Result<TbpttResult<T>>
where
    T: Element,
    F: Fn(usize, &Var<T>) -> Result<Option<Var<T>>>,
{
    if layer.bidirectional() {
        return Err(LayerError::config(
            layer.describe(),
            "truncated BPTT runs forward in time; a bidirectional layer needs the whole sequence",
        ));
    }
    let s = x.shape();
    if s.len() != 3 {
        return Err(LayerError::layer(layer.describe(), "an input (time, batch, features)", s));
    }
    let t_len = s[0];
    let narrow_mask = |a: usize, len: usize| mask.map(|m| m.narrow(0, a, len)).transpose();
    // The detached state entering every step, from one gradient-free pass step by step.
    let mut states: Vec<Option<RecurrentState<T>>> = vec![None];
    no_grad(|| -> Result<()> {
        for t in 0..t_len {
            let out = layer.forward_sequence(
                &Var::constant(x.narrow(0, t, 1)?),
                states[t].as_ref(),
                narrow_mask(t, 1)?.as_ref(),
            )?;
            states.push(Some(out.state()));
        }
        Ok(())
    })?;
    let mut grads: Vec<Tensor<T>> = params.iter().map(|p| Tensor::zeros(&p.param.shape())).collect();
    let mut loss = T::zero();
    let mut end = 0;
    while end < t_len {
        let (lo, hi) = (end, (end + schedule.k1).min(t_len)); // the losses of this window
        // back k2 steps from a full window's end; a short last window keeps the same start
        // offset, so with k1 = k2 the windows are exactly the chunks [j k, (j + 1) k).
        let start = lo.saturating_sub(schedule.k2 - schedule.k1);
        let xs = Var::constant(x.narrow(0, start, hi - start)?);
        let out = layer.forward_sequence(&xs, states[start].as_ref(), narrow_mask(start, hi - start)?.as_ref())?;
        let mut total: Option<Var<T>> = None;
        for t in lo..hi {
            let y_t = out.output.narrow(0, t - start, 1)?.squeeze(0)?;
            if let Some(l) = step_loss(t, &y_t)? {
                total = Some(match total {
                    Some(acc) => acc.add(&l)?,
                    None => l,
                });
            }
        }
        if let Some(total) = total {
            loss += total.value().item()?;
            let g = total.backward()?;
            for (acc, p) in grads.iter_mut().zip(params) {
                if let Some(gp) = p.param.grad(&g) {
                    *acc = acc.add(gp)?;
                }
            }
        }
        end = hi;
    }
    Ok(TbpttResult { loss, grads: params.iter().map(|p| p.name.clone()).zip(grads).collect() })
}
