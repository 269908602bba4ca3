//! im2col and col2im: convolution as matrix multiplication.
//!
//! For a 2-D input `x` of shape `(N, C, H, W)` and a `kh x kw` window with stride `s`,
//! padding `p` (before) and dilation `d` along each axis, im2col builds, per image, the
//! matrix
//!
//! ```text
//! cols[n][(c*kh + i)*kw + j][oh*OW + ow] = x[n][c][oh*s_h - p_h + i*d_h][ow*s_w - p_w + j*d_w]
//! ```
//!
//! (zero where the index falls in the padding), of shape `(N, C*kh*kw, OH*OW)` with
//! `OH = floor((H + p_lo + p_hi - d*(kh-1) - 1) / s) + 1`. A convolution with weights
//! `(O, C, kh, kw)` is then the GEMM `W.reshape(O, C*kh*kw) @ cols[n]`. col2im is the
//! adjoint (transpose) of im2col: it scatter-adds every column entry back to the pixel it
//! came from, which is exactly the input-gradient step of convolution backward.
//! The 1-D versions are the same with one spatial axis: `(N, C, L)` to `(N, C*k, OL)`.

use rayon::prelude::*;

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::tensor::Tensor;

/// One spatial axis of a sliding window: kernel size, stride, padding before and after,
/// and dilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel size `k`: the number of taps along this axis.
    pub kernel: usize,
    /// Stride `s` between consecutive window positions.
    pub stride: usize,
    /// Zero padding added before the first input element.
    pub pad_lo: usize,
    /// Zero padding added after the last input element.
    pub pad_hi: usize,
    /// Dilation `d`: spacing between taps (1 = contiguous).
    pub dilation: usize,
}

impl Window {
    /// A window of `kernel` taps, stride 1, no padding, no dilation.
    pub fn new(kernel: usize) -> Self {
        Window { kernel, stride: 1, pad_lo: 0, pad_hi: 0, dilation: 1 }
    }
    /// Sets the stride.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }
    /// Sets symmetric padding.
    pub fn padding(mut self, pad: usize) -> Self {
        self.pad_lo = pad;
        self.pad_hi = pad;
        self
    }
    /// Sets padding before and after separately.
    pub fn padding_asym(mut self, lo: usize, hi: usize) -> Self {
        self.pad_lo = lo;
        self.pad_hi = hi;
        self
    }
    /// Sets the dilation.
    pub fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }
    /// 'same' padding for stride 1 (PyTorch's rule): total `d*(k-1)`, the odd one after.
    pub fn same(kernel: usize, dilation: usize) -> Self {
        let total = dilation * kernel.saturating_sub(1);
        Window::new(kernel).dilation(dilation).padding_asym(total / 2, total - total / 2)
    }
    /// The span of the dilated kernel, `d*(k-1) + 1`.
    pub fn effective_kernel(&self) -> usize {
        self.dilation * (self.kernel.saturating_sub(1)) + 1
    }
    /// The number of window positions over an input of length `len`.
    pub fn output_len(&self, op: &'static str, len: usize) -> Result<usize> {
        if self.kernel == 0 || self.stride == 0 || self.dilation == 0 {
            return Err(TensorError::invalid(
                op,
                &[len],
                format!(
                    "kernel {}, stride {} and dilation {} must be positive",
                    self.kernel, self.stride, self.dilation
                ),
            ));
        }
        let padded = len + self.pad_lo + self.pad_hi;
        if padded < self.effective_kernel() {
            return Err(TensorError::invalid(
                op,
                &[len],
                format!("padded length {padded} is shorter than the dilated kernel {}", self.effective_kernel()),
            ));
        }
        Ok((padded - self.effective_kernel()) / self.stride + 1)
    }
    /// The window positions `o` in `0..out_len` whose tap `tap` lands inside an input of
    /// length `len`, i.e. `0 <= o*s + tap*d - p_lo < len`: always one contiguous range, so
    /// the loops over it need no per-element bounds test.
    pub fn positions_inside(&self, tap: usize, len: usize, out_len: usize) -> std::ops::Range<usize> {
        let offset = (tap * self.dilation) as isize - self.pad_lo as isize; // input index at o = 0
        let s = self.stride as isize;
        // smallest o with o*s + offset >= 0, and one past the largest with o*s + offset < len
        let lo = if offset >= 0 { 0 } else { (-offset + s - 1) / s };
        let hi = if (len as isize) <= offset { 0 } else { (len as isize - offset + s - 1) / s };
        let (lo, hi) = (lo.max(0) as usize, (hi.max(0) as usize).min(out_len));
        lo.min(hi)..hi
    }
}

fn check_rank<T: Element>(op: &'static str, x: &Tensor<T>, rank: usize, layout: &str) -> Result<()> {
    if x.ndim() != rank {
        return Err(TensorError::invalid(op, x.shape(), format!("expected a rank-{rank} input {layout}")));
    }
    Ok(())
}

/// Fills one row of a column matrix (fixed channel and kernel taps) for one image.
#[inline]
#[allow(clippy::too_many_arguments)]
fn fill_row<T: Element>(
    src: &[T],
    h: usize,
    w: usize,
    wh: &Window,
    ww: &Window,
    i: usize,
    j: usize,
    oh: usize,
    ow: usize,
    dst: &mut [T],
) {
    let inside = ww.positions_inside(j, w, ow);
    let x_off = (j * ww.dilation) as isize - ww.pad_lo as isize;
    for y in 0..oh {
        let iy = (y * wh.stride + i * wh.dilation) as isize - wh.pad_lo as isize;
        let row = &mut dst[y * ow..(y + 1) * ow];
        if iy < 0 || iy >= h as isize || inside.is_empty() {
            row.fill(T::zero());
            continue;
        }
        let line = &src[iy as usize * w..(iy as usize + 1) * w];
        row[..inside.start].fill(T::zero());
        row[inside.end..].fill(T::zero());
        let first = (inside.start as isize * ww.stride as isize + x_off) as usize;
        if ww.stride == 1 {
            row[inside.clone()].copy_from_slice(&line[first..first + inside.len()]);
        } else {
            for (o, &v) in row[inside.clone()].iter_mut().zip(line[first..].iter().step_by(ww.stride)) {
                *o = v;
            }
        }
    }
}

/// im2col for `(N, C, H, W)` inputs: returns `(N, C*kh*kw, OH*OW)`.
pub fn im2col_2d<T: Element>(x: &Tensor<T>, wh: Window, ww: Window) -> Result<Tensor<T>> {
    check_rank("im2col_2d", x, 4, "(N, C, H, W)")?;
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let oh = wh.output_len("im2col_2d", h)?;
    let ow = ww.output_len("im2col_2d", w)?;
    let (kh, kw) = (wh.kernel, ww.kernel);
    let x = x.contiguous();
    let src = x.as_slice().expect("contiguous");
    let per_image = c * kh * kw * oh * ow;
    // `fill_row` writes every element, padding included.
    let mut out = crate::buffer_pool::take::<T>(n * per_image);
    let work = |(img, dst): (usize, &mut [T])| {
        for ch in 0..c {
            let plane = &src[(img * c + ch) * h * w..(img * c + ch + 1) * h * w];
            for i in 0..kh {
                for j in 0..kw {
                    let r = (ch * kh + i) * kw + j;
                    fill_row(plane, h, w, &wh, &ww, i, j, oh, ow, &mut dst[r * oh * ow..(r + 1) * oh * ow]);
                }
            }
        }
    };
    if per_image > 0 {
        if crate::elementwise::worth_parallel(n * per_image) {
            out.par_chunks_mut(per_image).enumerate().for_each(work);
        } else {
            out.chunks_mut(per_image).enumerate().for_each(work);
        }
    }
    Tensor::from_vec(out, &[n, c * kh * kw, oh * ow])
}

/// col2im for 2-D windows: the adjoint of [`im2col_2d`]. `cols` is `(N, C*kh*kw, OH*OW)`;
/// `input_hw` is the `(H, W)` of the image it came from. Returns `(N, C, H, W)`.
pub fn col2im_2d<T: Element>(
    cols: &Tensor<T>,
    channels: usize,
    input_hw: (usize, usize),
    wh: Window,
    ww: Window,
) -> Result<Tensor<T>> {
    check_rank("col2im_2d", cols, 3, "(N, C*kh*kw, OH*OW)")?;
    let (h, w) = input_hw;
    let oh = wh.output_len("col2im_2d", h)?;
    let ow = ww.output_len("col2im_2d", w)?;
    let (kh, kw) = (wh.kernel, ww.kernel);
    let n = cols.shape()[0];
    if cols.shape()[1] != channels * kh * kw || cols.shape()[2] != oh * ow {
        return Err(TensorError::ShapeMismatch {
            op: "col2im_2d",
            lhs: cols.shape().to_vec(),
            rhs: vec![n, channels * kh * kw, oh * ow],
            dim: 1,
            detail: format!("columns do not match {channels} channels, a {kh}x{kw} window and a {h}x{w} image"),
        });
    }
    let cols = cols.contiguous();
    let src = cols.as_slice().expect("contiguous");
    let per_image = channels * h * w;
    let per_cols = channels * kh * kw * oh * ow;
    let mut out = crate::buffer_pool::take_zeroed::<T>(n * per_image);
    let work = |(img, dst): (usize, &mut [T])| {
        let col = &src[img * per_cols..(img + 1) * per_cols];
        for ch in 0..channels {
            let plane = &mut dst[ch * h * w..(ch + 1) * h * w];
            for i in 0..kh {
                for j in 0..kw {
                    let r = (ch * kh + i) * kw + j;
                    let row = &col[r * oh * ow..(r + 1) * oh * ow];
                    let inside = ww.positions_inside(j, w, ow);
                    if inside.is_empty() {
                        continue;
                    }
                    let first = (inside.start * ww.stride + j * ww.dilation) - ww.pad_lo;
                    for y in wh.positions_inside(i, h, oh) {
                        let iy = y * wh.stride + i * wh.dilation - wh.pad_lo;
                        let line = &mut plane[iy * w..(iy + 1) * w];
                        let taps = &row[y * ow + inside.start..y * ow + inside.end];
                        if ww.stride == 1 {
                            for (o, &v) in line[first..first + taps.len()].iter_mut().zip(taps) {
                                *o += v;
                            }
                        } else {
                            for (o, &v) in line[first..].iter_mut().step_by(ww.stride).zip(taps) {
                                *o += v;
                            }
                        }
                    }
                }
            }
        }
    };
    if per_image > 0 {
        if crate::elementwise::worth_parallel(n * per_cols) {
            out.par_chunks_mut(per_image).enumerate().for_each(work);
        } else {
            out.chunks_mut(per_image).enumerate().for_each(work);
        }
    }
    Tensor::from_vec(out, &[n, channels, h, w])
}

/// im2col for `(N, C, L)` inputs: returns `(N, C*k, OL)`.
pub fn im2col_1d<T: Element>(x: &Tensor<T>, win: Window) -> Result<Tensor<T>> {
    check_rank("im2col_1d", x, 3, "(N, C, L)")?;
    let (n, c, l) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let x4 = x.reshape(&[n, c, 1, l])?;
    let cols = im2col_2d(&x4, Window::new(1), win)?;
    let ol = cols.shape()[2];
    cols.reshape(&[n, c * win.kernel, ol])
}

/// col2im for 1-D windows: the adjoint of [`im2col_1d`]. Returns `(N, C, L)`.
pub fn col2im_1d<T: Element>(cols: &Tensor<T>, channels: usize, len: usize, win: Window) -> Result<Tensor<T>> {
    let x = col2im_2d(cols, channels, (1, len), Window::new(1), win)?;
    let n = x.shape()[0];
    x.reshape(&[n, channels, len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::seeded_rng;

    /// Direct-loop 2-D cross-correlation, the definition that conv layers implement.
    fn conv_direct(x: &Tensor<f64>, wt: &Tensor<f64>, wh: Window, ww: Window) -> Vec<f64> {
        let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
        let (o, kh, kw) = (wt.shape()[0], wt.shape()[2], wt.shape()[3]);
        let oh = wh.output_len("t", h).unwrap();
        let ow = ww.output_len("t", w).unwrap();
        let (xa, wa) = (x.array(), wt.array());
        let mut out = vec![0.0; n * o * oh * ow];
        for b in 0..n {
            for oc in 0..o {
                for y in 0..oh {
                    for z in 0..ow {
                        let mut s = 0.0;
                        for ch in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let iy = (y * wh.stride + i * wh.dilation) as isize - wh.pad_lo as isize;
                                    let ix = (z * ww.stride + j * ww.dilation) as isize - ww.pad_lo as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                        s += xa[[b, ch, iy as usize, ix as usize]] * wa[[oc, ch, i, j]];
                                    }
                                }
                            }
                        }
                        out[((b * o + oc) * oh + y) * ow + z] = s;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_gemm_equals_direct_convolution() {
        let mut rng = seeded_rng(5);
        for &(h, w) in &[(7, 6), (8, 5)] {
            for stride in [1, 2] {
                for pad in [0, 1, 2] {
                    for dil in [1, 2] {
                        let wh = Window::new(3).stride(stride).padding(pad).dilation(dil);
                        let ww = Window::new(2).stride(stride).padding(pad).dilation(dil);
                        let x = Tensor::<f64>::randn(&[2, 3, h, w], &mut rng);
                        let wt = Tensor::<f64>::randn(&[4, 3, 3, 2], &mut rng);
                        let cols = im2col_2d(&x, wh, ww).unwrap();
                        let y = wt.reshape(&[4, 18]).unwrap().matmul(&cols).unwrap();
                        let direct = conv_direct(&x, &wt, wh, ww);
                        for (a, b) in y.to_vec().iter().zip(&direct) {
                            assert!((a - b).abs() < 1e-12, "stride {stride} pad {pad} dil {dil}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn positions_inside_is_the_set_of_in_bounds_taps() {
        // against the definition, element by element, over strides, dilations, paddings
        for (k, s, lo, hi, d) in
            [(3, 1, 1, 1, 1), (3, 2, 1, 1, 1), (5, 3, 2, 0, 1), (3, 1, 2, 2, 2), (2, 2, 0, 1, 1), (4, 1, 3, 3, 1)]
        {
            let win = Window::new(k).stride(s).padding_asym(lo, hi).dilation(d);
            for len in 1..12 {
                let Ok(out) = win.output_len("test", len) else { continue };
                for tap in 0..k {
                    let expect: Vec<usize> = (0..out)
                        .filter(|&o| {
                            let i = (o * s + tap * d) as isize - lo as isize;
                            i >= 0 && i < len as isize
                        })
                        .collect();
                    let got: Vec<usize> = win.positions_inside(tap, len, out).collect();
                    assert_eq!(got, expect, "k {k} s {s} pad {lo},{hi} d {d} len {len} tap {tap}");
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> = <x, col2im(c)> for random x and c.
        let mut rng = seeded_rng(6);
        let wh = Window::new(3).stride(2).padding(1).dilation(2);
        let ww = Window::same(4, 1);
        let x = Tensor::<f64>::randn(&[2, 3, 9, 8], &mut rng);
        let cols = im2col_2d(&x, wh, ww).unwrap();
        let c = Tensor::<f64>::randn(cols.shape(), &mut rng);
        let lhs: f64 = cols.mul(&c).unwrap().sum_all();
        let back = col2im_2d(&c, 3, (9, 8), wh, ww).unwrap();
        let rhs: f64 = x.mul(&back).unwrap().sum_all();
        assert!((lhs - rhs).abs() < 1e-10 * lhs.abs().max(1.0));
    }

    #[test]
    fn one_dimensional_windows_and_same_padding() {
        let w = Window::same(4, 2);
        assert_eq!((w.pad_lo, w.pad_hi), (3, 3));
        assert_eq!(w.output_len("t", 10).unwrap(), 10);
        let w = Window::same(2, 1);
        assert_eq!((w.pad_lo, w.pad_hi), (0, 1));
        let x = Tensor::<f64>::from_vec((1..=5).map(f64::from).collect(), &[1, 1, 5]).unwrap();
        let cols = im2col_1d(&x, Window::new(2).stride(2).padding(1)).unwrap();
        assert_eq!(cols.shape(), &[1, 2, 3]);
        assert_eq!(cols.to_vec(), vec![0., 2., 4., 1., 3., 5.]);
        assert!(Window::new(0).output_len("t", 3).is_err());
        assert!(Window::new(5).output_len("t", 3).is_err());
    }
}
