//! `rnn_backward`: the explicit backward-through-time loop (the derivation is in
//! `docs/bptt.md`).
//!
//! Walking `t = T-1 .. 0` with `dh` the gradient reaching `h_t` (from the output `y_t`, from
//! `h_n` at the end, and from step `t+1`), each step computes the gradient of its gate
//! pre-activations, `dA_t (B, G H)`, and passes on
//!
//! ```text
//! dh_{t-1} = (direct part) + dA^h_t W_hh,        (one (B, G H) x (G H, H) GEMM)
//! RNN:   dA_t = dh ⊙ f'(a_t)                     direct part 0
//! LSTM:  dc   = dc_{t+1 -> t} + dh ⊙ o ⊙ (1 - tanh² c_t)
//!        dA_t = [dc ⊙ g ⊙ i(1-i), dc ⊙ c_{t-1} ⊙ f(1-f), dc ⊙ i ⊙ (1-g²), dh ⊙ tanh c_t ⊙ o(1-o)]
//!        dc_{t-1} = dc ⊙ f                        direct part 0
//! GRU:   dn = dh ⊙ (1-z),  da_n = dn ⊙ (1-n²),   da_z = dh ⊙ (h_{t-1} - n) ⊙ z(1-z)
//!        da_r = da_n ⊙ (h_{t-1} W_hn^T + b_hn) ⊙ r(1-r)
//!        dA^x_t = [da_r, da_z, da_n],  dA^h_t = [da_r, da_z, r ⊙ da_n]   direct part dh ⊙ z
//! ```
//!
//! (`dA^h = dA^x = dA` except for the GRU's `n` block.) The weight gradients are sums over
//! time, so they are computed after the loop as single GEMMs over the stacked `(T B)` rows:
//! `dW_ih = sum_t dA^x_t^T x_t = dA^x^T X`, `dW_hh = dA^h^T [h_0; ..; h_{T-1}]`,
//! `dX = dA^x W_ih`, `db_ih = sum_rows dA^x`, `db_hh = sum_rows dA^h`. A padded step of a
//! sequence passes `dh` (and `dc`) through unchanged and contributes nothing else.

use dl_tensor::Element;

use super::cell::CellKind;
use super::gemm::{Mat, add_column_sums, gemm_parallel};
use super::packed::{PackedRhs, avx512_available};
use super::sequence::Saved;

/// The gradients of a sequence primitive's inputs, as flat row-major buffers (`None` where
/// not requested).
pub struct SequenceGrads<T> {
    /// `dX = dA^x W_ih`, `(T, B, I)`; `None` unless [`Needs::x`].
    pub dx: Option<Vec<T>>,
    /// The gradient reaching the initial state `h_0`, `(B, H)` (always computed: it is the
    /// loop's final `dh`).
    pub dh0: Vec<T>,
    /// The gradient reaching the LSTM's initial memory `c_0`, `(B, H)`; `None` for the RNN and GRU.
    pub dc0: Option<Vec<T>>,
    /// `dW_ih = dA^x^T X`, `(G H, I)`; `None` unless [`Needs::weights`].
    pub dw_ih: Option<Vec<T>>,
    /// `dW_hh = dA^h^T [h_0; …; h_{T−1}]`, `(G H, H)`; `None` unless [`Needs::weights`].
    pub dw_hh: Option<Vec<T>>,
    /// `db_ih`, the column sums of `dA^x`, `(G H)`; `None` unless [`Needs::biases`].
    pub db_ih: Option<Vec<T>>,
    /// `db_hh`, the column sums of `dA^h`, `(G H)`; `None` unless [`Needs::biases`].
    pub db_hh: Option<Vec<T>>,
}

/// Which gradients to compute.
#[derive(Clone, Copy, Debug)]
pub struct Needs {
    /// Compute the input gradient `dx` (one more `(T B, G H) x (G H, I)` GEMM).
    pub x: bool,
    /// Compute both weight gradients `dw_ih`, `dw_hh`.
    pub weights: bool,
    /// Compute both bias gradients `db_ih`, `db_hh`.
    pub biases: bool,
}

/// BPTT through a recorded sequence: `saved` from [`super::sequence::forward_sequence`],
/// the input `x (T B I)`, the weights `w_ih (G H, I)`, `w_hh (G H, H)` (row-major slices) and
/// the cotangent `u` of the packed output `(T + S, B, H)`.
pub fn rnn_backward<T: Element>(
    saved: &Saved<T>,
    x: &[T],
    w_ih: &[T],
    w_hh: &[T],
    u: &[T],
    needs: Needs,
) -> SequenceGrads<T> {
    #[cfg(target_arch = "x86_64")]
    if avx512_available() {
        // SAFETY: AVX-512F is present (detected at run time).
        return unsafe { rnn_backward_avx512(saved, x, w_ih, w_hh, u, needs) };
    }
    rnn_backward_body(saved, x, w_ih, w_hh, u, needs)
}

/// [`rnn_backward`] compiled for AVX-512: the per-step gate derivatives vectorise 16
/// lanes wide instead of the baseline's 4. No floating-point operation is reordered (Rust never contracts or
/// reassociates), so the bits are those of the baseline build.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn rnn_backward_avx512<T: Element>(
    saved: &Saved<T>,
    x: &[T],
    w_ih: &[T],
    w_hh: &[T],
    u: &[T],
    needs: Needs,
) -> SequenceGrads<T> {
    rnn_backward_body(saved, x, w_ih, w_hh, u, needs)
}

#[inline(always)]
fn rnn_backward_body<T: Element>(
    saved: &Saved<T>,
    x: &[T],
    w_ih: &[T],
    w_hh: &[T],
    u: &[T],
    needs: Needs,
) -> SequenceGrads<T> {
    let d = saved.dims;
    let (tb, bh, gh, hh) = (d.t * d.b, d.b * d.h, d.gh(), d.h);
    let kind = saved.kind;
    let lstm = kind.has_cell_state();
    let gru = kind == CellKind::Gru;
    let mut dgx = vec![T::zero(); tb * gh];
    let mut dgh = if gru { vec![T::zero(); tb * gh] } else { Vec::new() };
    let mut dh = u[d.t * bh..(d.t + 1) * bh].to_vec();
    let mut dc = if lstm { u[(d.t + 1) * bh..(d.t + 2) * bh].to_vec() } else { Vec::new() };
    let mut dh_prev = vec![T::zero(); bh];
    let mut dc_prev = vec![T::zero(); if lstm { bh } else { 0 }];
    let one = T::one();
    // W_hh (G H, H), the right operand of every step's product, packed once.
    let w_hh_packed = PackedRhs::new(Mat::new(w_hh, gh, d.h));

    for t in (0..d.t).rev() {
        for b in 0..d.b {
            let r = b * hh..(b + 1) * hh;
            if !saved.real(t, b) {
                dh_prev[r.clone()].copy_from_slice(&dh[r.clone()]);
                if lstm {
                    dc_prev[r.clone()].copy_from_slice(&dc[r]);
                }
                continue;
            }
            // the output y_t = h_t of a real step
            dh[r.clone()].iter_mut().zip(&u[t * bh + r.start..t * bh + r.end]).for_each(|(g, &v)| *g += v);
            let row = (t * d.b + b) * gh;
            let da = &mut dgx[row..row + gh];
            let h_t = &saved.states[(t + 1) * bh + r.start..(t + 1) * bh + r.end];
            let h_prev = &saved.states[t * bh + r.start..t * bh + r.end];
            let dhr = &dh[r.clone()];
            match kind {
                CellKind::RnnTanh => {
                    da.iter_mut().zip(dhr.iter().zip(h_t)).for_each(|(a, (&g, &h))| *a = g * (one - h * h));
                    dh_prev[r].iter_mut().for_each(|v| *v = T::zero());
                }
                CellKind::RnnRelu => {
                    da.iter_mut()
                        .zip(dhr.iter().zip(h_t))
                        .for_each(|(a, (&g, &h))| *a = if h > T::zero() { g } else { T::zero() });
                    dh_prev[r].iter_mut().for_each(|v| *v = T::zero());
                }
                CellKind::Lstm => {
                    let gates = &saved.gates[row..row + gh];
                    // every slice cut to exactly `hh`, so the loop runs without bounds
                    // checks and vectorises
                    let (i, f, g, o) =
                        (&gates[..hh], &gates[hh..2 * hh], &gates[2 * hh..3 * hh], &gates[3 * hh..4 * hh]);
                    let tanh_c = &saved.extra[(t * d.b + b) * hh..][..hh];
                    let c_prev = &saved.cells[t * bh + r.start..][..hh];
                    let (da_i, rest) = da.split_at_mut(hh);
                    let (da_f, rest) = rest.split_at_mut(hh);
                    let (da_g, da_o) = rest.split_at_mut(hh);
                    let (da_o, dhr) = (&mut da_o[..hh], &dhr[..hh]);
                    let dc_in = &dc[r.start..][..hh];
                    let dc_out = &mut dc_prev[r.start..][..hh];
                    for j in 0..hh {
                        let tc = tanh_c[j];
                        let dct = dc_in[j] + dhr[j] * o[j] * (one - tc * tc);
                        da_i[j] = dct * g[j] * i[j] * (one - i[j]);
                        da_f[j] = dct * c_prev[j] * f[j] * (one - f[j]);
                        da_g[j] = dct * i[j] * (one - g[j] * g[j]);
                        da_o[j] = dhr[j] * tc * o[j] * (one - o[j]);
                        dc_out[j] = dct * f[j];
                    }
                    dh_prev[r].iter_mut().for_each(|v| *v = T::zero());
                }
                CellKind::Gru => {
                    let gates = &saved.gates[row..row + gh];
                    let hn = &saved.extra[(t * d.b + b) * hh..(t * d.b + b + 1) * hh];
                    let dah = &mut dgh[row..row + gh];
                    for j in 0..hh {
                        let (rg, z, n) = (gates[j], gates[hh + j], gates[2 * hh + j]);
                        let g = dhr[j];
                        let da_n = g * (one - z) * (one - n * n);
                        let da_z = g * (h_prev[j] - n) * z * (one - z);
                        let da_r = da_n * hn[j] * rg * (one - rg);
                        da[j] = da_r;
                        da[hh + j] = da_z;
                        da[2 * hh + j] = da_n;
                        dah[j] = da_r;
                        dah[hh + j] = da_z;
                        dah[2 * hh + j] = rg * da_n;
                        dh_prev[r.start + j] = g * z;
                    }
                }
            }
        }
        // dh_{t-1} += dA^h_t W_hh
        let dah_t = if gru { &dgh[t * d.b * gh..(t + 1) * d.b * gh] } else { &dgx[t * d.b * gh..(t + 1) * d.b * gh] };
        w_hh_packed.mul_add(&mut dh_prev, Mat::new(dah_t, d.b, gh));
        std::mem::swap(&mut dh, &mut dh_prev);
        if lstm {
            std::mem::swap(&mut dc, &mut dc_prev);
        }
    }

    let dah = if gru { &dgh } else { &dgx };
    let dx = needs.x.then(|| {
        let mut dx = vec![T::zero(); tb * d.i];
        gemm_parallel(&mut dx, Mat::new(&dgx, tb, gh), Mat::new(w_ih, gh, d.i));
        dx
    });
    let (dw_ih, dw_hh) = if needs.weights {
        let mut dw_ih = vec![T::zero(); gh * d.i];
        gemm_parallel(&mut dw_ih, Mat::new(&dgx, tb, gh).t(), Mat::new(x, tb, d.i));
        let mut dw_hh = vec![T::zero(); gh * d.h];
        gemm_parallel(&mut dw_hh, Mat::new(dah, tb, gh).t(), Mat::new(&saved.states[..tb * d.h], tb, d.h));
        (Some(dw_ih), Some(dw_hh))
    } else {
        (None, None)
    };
    let (db_ih, db_hh) = if needs.biases {
        let mut db_ih = vec![T::zero(); gh];
        add_column_sums(&mut db_ih, &dgx, gh);
        let db_hh = if gru {
            let mut v = vec![T::zero(); gh];
            add_column_sums(&mut v, &dgh, gh);
            v
        } else {
            db_ih.clone()
        };
        (Some(db_ih), Some(db_hh))
    } else {
        (None, None)
    };
    SequenceGrads { dx, dh0: dh, dc0: lstm.then_some(dc), dw_ih, dw_hh, db_ih, db_hh }
}
