//! The explicit forward recurrence over a whole sequence, keeping what BPTT needs.
//!
//! The input projection of every step is one GEMM up front, `XW = X W_ih^T + b_ih` over
//! the stacked `(T B, I)` rows; each step then adds `h_{t-1} W_hh^T + b_hh` (one `(B, H) x
//! (H, G H)` GEMM accumulating into that step's rows) and applies the cell ([`super::cell`]). With a mask, a padded step of
//! sequence `b` copies its state: `h_t[b] = h_{t-1}[b]` (and `c_t[b] = c_{t-1}[b]`), and its
//! output is zero, so the final state is each sequence's own last real step and nothing a
//! padded step reads (its input, however large or non-finite) reaches any value.
//!
//! Saved for the backward ([`super::bptt`]): the states `h_0 .. h_T` (and `c_0 .. c_T`), the
//! gate activations of every step, and for the GRU `h W_hn^T + b_hn`.

use dl_autodiff::{AutodiffError, Result};
use dl_tensor::{Element, Tensor};

use super::activations::{sigmoid_in_place, tanh_in_place};
use super::cell::CellKind;
use super::gemm::{Mat, gemm_parallel};
use super::packed::{PackedRhs, avx512_available};

/// The sizes of one sequence: time `T`, batch `B`, input `I`, hidden `H`, gates `G`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqDims {
    /// Time steps `T`: the first axis of `x (T, B, I)`.
    pub t: usize,
    /// Batch size `B`: the sequences run side by side.
    pub b: usize,
    /// Input features `I` of each `x_t (B, I)`.
    pub i: usize,
    /// Hidden size `H` of the state `h_t (B, H)` (and the LSTM's `c_t`).
    pub h: usize,
    /// Gate blocks `G` stacked in the weights: 1 (RNN), 4 (LSTM), 3 (GRU).
    pub g: usize,
}

impl SeqDims {
    /// `G H`, the width of the stacked gates.
    pub fn gh(&self) -> usize {
        self.g * self.h
    }
}

fn invalid(op: &'static str, detail: String) -> AutodiffError {
    AutodiffError::InvalidArgument { op, detail }
}

/// Checks the primitive's inputs `[x, h0, (c0), w_ih, w_hh, b_ih, b_hh]` and the mask
/// length, and returns the sizes.
pub fn check_inputs<T: Element>(kind: CellKind, inputs: &[&Tensor<T>], mask: Option<&[bool]>) -> Result<SeqDims> {
    let op = kind.op_name();
    let n_in = 6 + usize::from(kind.has_cell_state());
    if inputs.len() != n_in {
        return Err(invalid(
            op,
            format!(
                "expected {n_in} inputs [x, h0, {}w_ih, w_hh, b_ih, b_hh], got {}",
                if kind.has_cell_state() { "c0, " } else { "" },
                inputs.len()
            ),
        ));
    }
    let x = inputs[0].shape();
    if x.len() != 3 {
        return Err(invalid(op, format!("expected x (time, batch, features), got shape {x:?}")));
    }
    let w_ih = inputs[n_in - 4].shape();
    if w_ih.len() != 2 || !w_ih[0].is_multiple_of(kind.gates()) || w_ih[0] == 0 {
        return Err(invalid(op, format!("expected w_ih ({} * hidden, input), got shape {w_ih:?}", kind.gates())));
    }
    let d = SeqDims { t: x[0], b: x[1], i: x[2], h: w_ih[0] / kind.gates(), g: kind.gates() };
    let mut want: Vec<(&str, &[usize], Vec<usize>)> = vec![("h0", inputs[1].shape(), vec![d.b, d.h])];
    if kind.has_cell_state() {
        want.push(("c0", inputs[2].shape(), vec![d.b, d.h]));
    }
    want.push(("w_ih", w_ih, vec![d.gh(), d.i]));
    want.push(("w_hh", inputs[n_in - 3].shape(), vec![d.gh(), d.h]));
    want.push(("b_ih", inputs[n_in - 2].shape(), vec![d.gh()]));
    want.push(("b_hh", inputs[n_in - 1].shape(), vec![d.gh()]));
    for (name, got, expect) in want {
        if got != expect.as_slice() {
            return Err(invalid(
                op,
                format!("{name} has shape {got:?}, expected {expect:?} for x of shape {x:?} and hidden size {}", d.h),
            ));
        }
    }
    if let Some(m) = mask
        && m.len() != d.t * d.b
    {
        return Err(invalid(
            op,
            format!("the mask has {} entries, expected time x batch = {} x {} for x of shape {x:?}", m.len(), d.t, d.b),
        ));
    }
    Ok(d)
}

/// What the forward pass keeps for BPTT.
pub struct Saved<T> {
    /// The recurrence that ran, which fixes how `gates` and `extra` are laid out.
    pub kind: CellKind,
    /// The sizes `T, B, I, H, G` of the sequence.
    pub dims: SeqDims,
    /// `h_0 .. h_T`, `(T + 1) B H` (after masking: a padded step repeats its state).
    pub states: Vec<T>,
    /// `c_0 .. c_T` for the LSTM, empty otherwise.
    pub cells: Vec<T>,
    /// Gate activations per step, `T B G H` (LSTM: i f g o; GRU: r z n); empty for the RNN,
    /// whose derivative is read off `h_t`.
    pub gates: Vec<T>,
    /// LSTM: `tanh(c_t)`; GRU: `h_{t-1} W_hn^T + b_hn`; `T B H`; empty for the RNN.
    pub extra: Vec<T>,
    /// `true` for real steps, `T B` (`None`: every step is real).
    pub mask: Option<Vec<bool>>,
}

impl<T> Saved<T> {
    /// Whether step `t` of sequence `b` is real.
    #[inline]
    pub fn real(&self, t: usize, b: usize) -> bool {
        self.mask.as_ref().is_none_or(|m| m[t * self.dims.b + b])
    }
}

/// Runs the recurrence on `[x, h0, (c0), w_ih, w_hh, b_ih, b_hh]` and returns the packed
/// output `(T + S, B, H)` (outputs `y_t`, zero at padded steps, then `h_n`, then `c_n` for
/// the LSTM) with what the backward needs.
pub fn forward_sequence<T: Element>(
    kind: CellKind,
    inputs: &[&Tensor<T>],
    mask: Option<&[bool]>,
) -> Result<(Tensor<T>, Saved<T>)> {
    #[cfg(target_arch = "x86_64")]
    if avx512_available() {
        // SAFETY: AVX-512F is present (detected at run time).
        return unsafe { forward_sequence_avx512(kind, inputs, mask) };
    }
    forward_sequence_body(kind, inputs, mask)
}

/// [`forward_sequence`] compiled for AVX-512: the cell's element-wise passes (gates,
/// memory, state) vectorise 16 lanes wide instead of the baseline's 4. No floating-point operation is reordered (Rust never contracts or
/// reassociates), so the bits are those of the baseline build.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn forward_sequence_avx512<T: Element>(
    kind: CellKind,
    inputs: &[&Tensor<T>],
    mask: Option<&[bool]>,
) -> Result<(Tensor<T>, Saved<T>)> {
    forward_sequence_body(kind, inputs, mask)
}

#[inline(always)]
fn forward_sequence_body<T: Element>(
    kind: CellKind,
    inputs: &[&Tensor<T>],
    mask: Option<&[bool]>,
) -> Result<(Tensor<T>, Saved<T>)> {
    let d = check_inputs(kind, inputs, mask)?;
    let lstm = kind.has_cell_state();
    let n_in = inputs.len();
    let owned: Vec<Tensor<T>> = inputs.iter().map(|t| t.contiguous()).collect();
    let sl = |k: usize| owned[k].as_slice().expect("contiguous");
    let (x, h0) = (sl(0), sl(1));
    let (b_ih, b_hh) = (sl(n_in - 2), sl(n_in - 1));
    let (tb, bh, gh) = (d.t * d.b, d.b * d.h, d.gh());

    // XW = X W_ih^T + b_ih, all steps in one GEMM.
    // For the RNN and the LSTM only the sum b_ih + b_hh matters, so it goes in here once and
    // each step's recurrent GEMM accumulates straight into XW; the GRU keeps b_hh apart
    // (r multiplies h W_hn^T + b_hn).
    let fused = kind != CellKind::Gru;
    let bias: Vec<T> = if fused { b_ih.iter().zip(b_hh).map(|(&a, &b)| a + b).collect() } else { b_ih.to_vec() };
    let mut xw = vec![T::zero(); tb * gh];
    gemm_parallel(&mut xw, Mat::new(x, tb, d.i), Mat::new(sl(n_in - 4), gh, d.i).t());
    for row in xw.chunks_exact_mut(gh) {
        row.iter_mut().zip(&bias).for_each(|(v, &c)| *v += c);
    }

    // W_hh^T once, row-major (H, G H), packed once for the per-step products (see
    // `super::packed`); the general GEMM fallback reads it contiguously.
    let w_hh_t = owned[n_in - 3].t()?.contiguous();
    let w_hh_t = PackedRhs::new(Mat::new(w_hh_t.as_slice().expect("contiguous"), d.h, gh));
    let mut states = vec![T::zero(); (d.t + 1) * bh];
    states[..bh].copy_from_slice(h0);
    let mut cells = if lstm { vec![T::zero(); (d.t + 1) * bh] } else { Vec::new() };
    if lstm {
        cells[..bh].copy_from_slice(sl(2));
    }
    let mut extra =
        if kind == CellKind::RnnTanh || kind == CellKind::RnnRelu { Vec::new() } else { vec![T::zero(); tb * d.h] };
    let mut hw = if fused { Vec::new() } else { vec![T::zero(); d.b * gh] };
    let mask_vec = mask.map(|m| m.to_vec());
    for t in 0..d.t {
        let (done, rest) = states.split_at_mut((t + 1) * bh);
        let h_prev = &done[t * bh..];
        let h_next = &mut rest[..bh];
        let pre_t = &mut xw[t * d.b * gh..(t + 1) * d.b * gh];
        if fused {
            // pre_t += h_{t-1} W_hh^T
            w_hh_t.mul_add(pre_t, Mat::new(h_prev, d.b, d.h));
        } else {
            // hw = h_{t-1} W_hh^T + b_hh
            for row in hw.chunks_exact_mut(gh) {
                row.copy_from_slice(b_hh);
            }
            w_hh_t.mul_add(&mut hw, Mat::new(h_prev, d.b, d.h));
        }
        let (cdone, crest) = if lstm { cells.split_at_mut((t + 1) * bh) } else { (&mut [][..], &mut [][..]) };
        let c_prev = if lstm { &cdone[t * bh..] } else { &[][..] };
        let extra_t = if extra.is_empty() { &mut [][..] } else { &mut extra[t * bh..(t + 1) * bh] };
        match kind {
            CellKind::RnnTanh | CellKind::RnnRelu => {
                h_next.copy_from_slice(pre_t);
                if kind == CellKind::RnnTanh {
                    tanh_in_place(h_next);
                } else {
                    h_next.iter_mut().for_each(|v| *v = v.max(T::zero()));
                }
            }
            CellKind::Lstm => {
                for b in 0..d.b {
                    let (hd, r) = (d.h, b * d.h..(b + 1) * d.h);
                    let pre = &mut pre_t[b * gh..(b + 1) * gh];
                    sigmoid_in_place(&mut pre[..2 * hd]);
                    tanh_in_place(&mut pre[2 * hd..3 * hd]);
                    sigmoid_in_place(&mut pre[3 * hd..]);
                    let (i, rest) = pre.split_at(hd);
                    let (f, rest) = rest.split_at(hd);
                    let (g, o) = rest.split_at(hd);
                    let c_next = &mut crest[r.clone()];
                    for ((c, &cp), ((&fv, &iv), &gv)) in
                        c_next.iter_mut().zip(&c_prev[r.clone()]).zip(f.iter().zip(i).zip(g))
                    {
                        *c = fv * cp + iv * gv;
                    }
                    let tanh_c = &mut extra_t[r.clone()];
                    tanh_c.copy_from_slice(c_next);
                    tanh_in_place(tanh_c);
                    for ((hv, &ov), &tc) in h_next[r].iter_mut().zip(o).zip(tanh_c.iter()) {
                        *hv = ov * tc;
                    }
                }
            }
            CellKind::Gru => {
                for b in 0..d.b {
                    let (hd, r) = (d.h, b * d.h..(b + 1) * d.h);
                    let pre = &mut pre_t[b * gh..(b + 1) * gh];
                    let hwr = &hw[b * gh..(b + 1) * gh];
                    let hn_part = &mut extra_t[r.clone()];
                    hn_part.copy_from_slice(&hwr[2 * hd..]);
                    pre[..2 * hd].iter_mut().zip(&hwr[..2 * hd]).for_each(|(a, &c)| *a += c);
                    sigmoid_in_place(&mut pre[..2 * hd]);
                    let (rz, n) = pre.split_at_mut(2 * hd);
                    for (j, nv) in n.iter_mut().enumerate() {
                        *nv += rz[j] * hn_part[j];
                    }
                    tanh_in_place(n);
                    for (j, hv) in h_next[r.clone()].iter_mut().enumerate() {
                        let z = rz[hd + j];
                        *hv = (T::one() - z) * n[j] + z * h_prev[r.start + j];
                    }
                }
            }
        }
        // A padded step repeats its state (whatever the cell computed from its input).
        if let Some(m) = &mask_vec {
            for b in (0..d.b).filter(|&b| !m[t * d.b + b]) {
                let r = b * d.h..(b + 1) * d.h;
                h_next[r.clone()].copy_from_slice(&h_prev[r.clone()]);
                if lstm {
                    crest[r.clone()].copy_from_slice(&c_prev[r]);
                }
            }
        }
    }

    let slots = kind.state_slots();
    let mut out = vec![T::zero(); (d.t + slots) * bh];
    for t in 0..d.t {
        for b in 0..d.b {
            if mask_vec.as_ref().is_none_or(|m| m[t * d.b + b]) {
                let src = (t + 1) * bh + b * d.h;
                out[t * bh + b * d.h..t * bh + (b + 1) * d.h].copy_from_slice(&states[src..src + d.h]);
            }
        }
    }
    out[d.t * bh..(d.t + 1) * bh].copy_from_slice(&states[d.t * bh..]);
    if lstm {
        out[(d.t + 1) * bh..].copy_from_slice(&cells[d.t * bh..]);
    }
    let gates = if matches!(kind, CellKind::Lstm | CellKind::Gru) { xw } else { Vec::new() };
    let saved = Saved { kind, dims: d, states, cells, gates, extra, mask: mask_vec };
    Ok((Tensor::from_vec(out, &[d.t + slots, d.b, d.h])?, saved))
}
