//! Independent references for the convolution: a direct seven-fold loop, and the same
//! convolution built from generic differentiable ops (zero padding, window taps by
//! `index_select`, a grouped `matmul`) whose gradient comes from those ops' own rules, not
//! from im2col / col2im. The tests and the `conv-gradient-check` experiment compare the
//! explicit backward of [`crate::conv_primitive`] with both.

use dl_autodiff::Var;
use dl_tensor::{Element, Tensor};

use crate::conv_primitive::ConvGeometry;
use crate::error::{LayerError, Result};

fn sizes(op: &str, x: &[usize], w: &[usize], g: &ConvGeometry) -> Result<[usize; 10]> {
    if x.len() != 4 || w.len() != 4 || g.groups == 0 || x[1] != w[1] * g.groups || !w[0].is_multiple_of(g.groups) {
        return Err(LayerError::config(
            op,
            format!(
                "expected x (N, C, H, W) and w (O, C/groups, kh, kw) with {} groups, got {x:?} and {w:?}",
                g.groups
            ),
        ));
    }
    let oh = g.h.output_len("conv reference", x[2])?;
    let ow = g.w.output_len("conv reference", x[3])?;
    Ok([x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3], oh, ow])
}

/// `y[n, o, p, q] = sum_{c in group(o), i, j} x[n, c, p s - pad + i d, q s - pad + j d] w[o, c - g C/G, i, j]`
/// by direct loops (padding read as zeros).
pub fn conv2d_direct<T: Element>(x: &Tensor<T>, w: &Tensor<T>, g: &ConvGeometry) -> Result<Tensor<T>> {
    let [n, c, h, wd, o, cg, kh, kw, oh, ow] = sizes("conv2d_direct", x.shape(), w.shape(), g)?;
    let og = o / g.groups;
    let (xv, wv) = (x.to_vec(), w.to_vec());
    let mut y = vec![T::zero(); n * o * oh * ow];
    for b in 0..n {
        for oc in 0..o {
            let grp = oc / og;
            for p in 0..oh {
                for q in 0..ow {
                    let mut acc = T::zero();
                    for cl in 0..cg {
                        let ci = grp * cg + cl;
                        for i in 0..kh {
                            let iy = (p * g.h.stride + i * g.h.dilation) as isize - g.h.pad_lo as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for j in 0..kw {
                                let ix = (q * g.w.stride + j * g.w.dilation) as isize - g.w.pad_lo as isize;
                                if ix < 0 || ix >= wd as isize {
                                    continue;
                                }
                                acc += xv[((b * c + ci) * h + iy as usize) * wd + ix as usize]
                                    * wv[((oc * cg + cl) * kh + i) * kw + j];
                            }
                        }
                    }
                    y[((b * o + oc) * oh + p) * ow + q] = acc;
                }
            }
        }
    }
    Ok(Tensor::from_vec(y, &[n, o, oh, ow])?)
}

/// The same convolution from generic `Var` ops (`pad_narrow`, `index_select` of the window
/// taps on the flattened padded image, a grouped `matmul`): differentiable through those
/// ops' rules only.
pub fn conv2d_generic<T: Element>(x: &Var<T>, w: &Var<T>, g: &ConvGeometry) -> Result<Var<T>> {
    let [n, c, h, wd, o, cg, kh, kw, oh, ow] = sizes("conv2d_generic", x.shape(), w.shape(), g)?;
    let (hp, wp) = (h + g.h.pad_lo + g.h.pad_hi, wd + g.w.pad_lo + g.w.pad_hi);
    let xp = x.pad_narrow(2, g.h.pad_lo, hp)?.pad_narrow(3, g.w.pad_lo, wp)?;
    let flat = xp.reshape(&[n, c, hp * wp])?;
    let mut idx = Vec::with_capacity(kh * kw * oh * ow);
    for i in 0..kh {
        for j in 0..kw {
            for p in 0..oh {
                for q in 0..ow {
                    idx.push((p * g.h.stride + i * g.h.dilation) * wp + q * g.w.stride + j * g.w.dilation);
                }
            }
        }
    }
    let taps = flat.index_select(2, &idx)?.reshape(&[n, g.groups, cg * kh * kw, oh * ow])?;
    let wm = w.reshape(&[g.groups, o / g.groups, cg * kh * kw])?;
    Ok(wm.matmul(&taps)?.reshape(&[n, o, oh, ow])?)
}
