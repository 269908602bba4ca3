//! Pooling: max and average over `kh x kw` windows, and global average pooling.
//!
//! - **Max pooling** is its own primitive: the forward records, for every output, the flat
//!   index of the input it came from (the first maximum on ties; padding is `-inf`, never
//!   chosen). The VJP routes each output gradient to that argmax: a direct loop in a plain
//!   backward pass, a `scatter_add` when the backward is recorded (so that it is itself
//!   differentiable); the JVP gathers the tangent at the argmax.
//! - **Average pooling** (PyTorch's default `count_include_pad = True`: padded zeros count
//!   in the mean) is a convolution of each channel with a constant `1/(kh kw)` kernel, so it
//!   reuses the im2col convolution primitive and its backward.
//! - **Global average pooling** is the mean over the spatial axes: `(N, C, H, W) -> (N, C)`.

use std::sync::Arc;

use dl_autodiff::{AutodiffError, JvpContext, Primitive, Var, VjpContext};
use dl_tensor::elementwise::worth_parallel;
use dl_tensor::{Element, IndexArray, Tensor, Window, cst};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::conv_primitive::{ConvGeometry, conv2d};
use crate::error::{LayerError, Result};
use crate::kind::{LayerKind, PoolKind};
use crate::module::Module;

/// Kernel, stride and padding of a pooling window: square in 2-D ([`MaxPool2d`],
/// [`AvgPool2d`]), an interval in 1-D ([`crate::MaxPool1d`], [`crate::AvgPool1d`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// Window size `k` (positive) along each pooled axis: `k x k` in 2-D, `k` in 1-D.
    pub kernel: usize,
    /// Stride `s` (positive): output `i` pools the padded inputs `s·i − p … s·i − p + k − 1`,
    /// so `L_out = ⌊(L + 2p − k) / s⌋ + 1`.
    pub stride: usize,
    /// Padding `p` on each side, at most `k / 2` (`-inf` for max pooling, counted zeros for
    /// average pooling).
    pub padding: usize,
}

impl PoolOptions {
    /// PyTorch's default: stride equal to the kernel, no padding.
    pub fn new(kernel: usize) -> Self {
        PoolOptions { kernel, stride: kernel, padding: 0 }
    }
    /// Sets the stride `s`.
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }
    /// Sets the padding `p` on each side.
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = p;
        self
    }
    /// `Name(kernel k, stride s, padding p)`: how a pooling layer describes itself.
    pub(crate) fn describe(&self, layer: &str) -> String {
        format!("{layer}(kernel {}, stride {}, padding {})", self.kernel, self.stride, self.padding)
    }
    pub(crate) fn window(&self) -> Window {
        Window::new(self.kernel).stride(self.stride).padding(self.padding)
    }
    fn check(&self, layer: &str, x: &[usize]) -> Result<(usize, usize)> {
        if self.kernel == 0 || self.stride == 0 {
            return Err(LayerError::config(layer, "kernel and stride must be positive"));
        }
        if 2 * self.padding > self.kernel {
            return Err(LayerError::config(
                layer,
                format!("padding {} exceeds half the kernel {}", self.padding, self.kernel),
            ));
        }
        let expected = format!("an input (N, C, H, W) with H, W + 2x{} >= {}", self.padding, self.kernel);
        if x.len() != 4 {
            return Err(LayerError::layer(layer, expected, x));
        }
        let w = self.window();
        match (w.output_len("pool", x[2]), w.output_len("pool", x[3])) {
            (Ok(oh), Ok(ow)) => Ok((oh, ow)),
            _ => Err(LayerError::layer(layer, expected, x)),
        }
    }
}

/// The max-pooling primitive on `(N, C, H, W)`.
#[derive(Clone, Debug)]
pub struct MaxPool2dPrimitive {
    /// The window: `y[n, c, i, j] = max` of `x[n, c]` over the `k x k` window at `(s·i − p, s·j − p)`.
    pub options: PoolOptions,
    /// Per output, the flat index `h * W + w` of its argmax within its `(n, c)` plane, as
    /// `(N*C, OH*OW)`; set by the forward.
    argmax: std::cell::RefCell<Option<Arc<IndexArray>>>,
}

impl MaxPool2dPrimitive {
    /// The primitive for `options`, with no argmax recorded yet.
    pub fn new(options: PoolOptions) -> Self {
        MaxPool2dPrimitive { options, argmax: Default::default() }
    }

    fn run<T: Element>(&self, x: &Tensor<T>) -> dl_autodiff::Result<(Tensor<T>, IndexArray)> {
        let (oh, ow) = self
            .options
            .check("max_pool2d", x.shape())
            .map_err(|e| AutodiffError::InvalidArgument { op: "max_pool2d", detail: e.to_string() })?;
        let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
        let (k, s, p) = (self.options.kernel, self.options.stride, self.options.padding);
        // The in-bounds part of every window, once: padding is -inf and never chosen, so a
        // window is its in-bounds rectangle (never empty, as the padding is at most k / 2).
        let rows: Vec<(usize, usize)> = (0..oh).map(|y| window_range(y, s, p, k, h)).collect();
        let cols: Vec<(usize, usize)> = (0..ow).map(|xo| window_range(xo, s, p, k, w)).collect();
        let x = x.contiguous();
        let src = x.as_slice().expect("contiguous");
        let mut out = dl_tensor::buffer_pool::take::<T>(n * c * oh * ow);
        let mut idx = vec![0usize; n * c * oh * ow];
        // Planes are independent: on two threads they are split between them, and each
        // output is the same computation whatever the thread count.
        let pool_plane = |(plane, (out, idx)): (&[T], (&mut [T], &mut [usize]))| {
            if (k, s, p) == (2, 2, 0) {
                max_pool_2x2(plane, w, oh, ow, out, idx);
                return;
            }
            for (y, &(y0, y1)) in rows.iter().enumerate() {
                for (xo, &(x0, x1)) in cols.iter().enumerate() {
                    let (best, arg) = window_max(plane, w, (y0, y1), (x0, x1));
                    out[y * ow + xo] = best;
                    idx[y * ow + xo] = arg;
                }
            }
        };
        if worth_parallel(src.len()) {
            src.par_chunks(h * w)
                .zip(out.par_chunks_mut(oh * ow).zip(idx.par_chunks_mut(oh * ow)))
                .for_each(pool_plane);
        } else {
            src.chunks(h * w).zip(out.chunks_mut(oh * ow).zip(idx.chunks_mut(oh * ow))).for_each(pool_plane);
        }
        let y = Tensor::from_vec(out, &[n, c, oh, ow])?;
        let idx = ArrayD::from_shape_vec(IxDyn(&[n * c, oh * ow]), idx).expect("sizes agree");
        Ok((y, idx))
    }
}

/// The maximum of the window `rows x cols` of a `(H, W)` plane and the flat index of its
/// first occurrence (row-major), NaN counting as the maximum.
///
/// Written without data-dependent branches: on real activations "is this element the
/// largest so far" is a coin flip, and a mispredicted branch per element made the direct
/// loop ~4x slower. The first pass takes the maximum with `max` (a `maxss`) and notes any
/// NaN; the second finds the first position holding it, scanning backwards with an
/// integer select (a `cmov`).
#[inline]
pub(crate) fn window_max<T: Element>(
    plane: &[T],
    w: usize,
    (y0, y1): (usize, usize),
    (x0, x1): (usize, usize),
) -> (T, usize) {
    let mut best = plane[y0 * w + x0];
    let mut nan = false;
    for iy in y0..y1 {
        for &v in &plane[iy * w + x0..iy * w + x1] {
            best = best.max(v);
            nan |= v.is_nan();
        }
    }
    if nan {
        best = T::nan();
    }
    let mut arg = y0 * w + x0;
    for iy in (y0..y1).rev() {
        for ix in (x0..x1).rev() {
            let v = plane[iy * w + ix];
            let hit = if nan { v.is_nan() } else { v == best };
            arg = if hit { iy * w + ix } else { arg };
        }
    }
    (best, arg)
}

/// The common 2x2, stride 2, unpadded case of [`window_max`] for one plane: the same
/// result (first maximum in row-major order, NaN wins), with the four candidates of each
/// window compared directly.
fn max_pool_2x2<T: Element>(plane: &[T], w: usize, oh: usize, ow: usize, out: &mut [T], idx: &mut [usize]) {
    // Of two positions `ia` before `ib` (row-major), `ib` wins if strictly larger or the
    // first NaN. The choice is an integer mask, so the compiler cannot turn it into a
    // branch; the value is then read at the chosen position.
    let first_max = |ia: usize, ib: usize| {
        let (a, b) = (plane[ia], plane[ib]);
        let b_wins = ((b > a) | (b.is_nan() & !a.is_nan())) as usize;
        ia ^ ((ia ^ ib) & b_wins.wrapping_neg())
    };
    for y in 0..oh {
        let (r0, r1) = (2 * y * w, (2 * y + 1) * w);
        for xo in 0..ow {
            let (c0, c1) = (2 * xo, 2 * xo + 1);
            let arg = first_max(first_max(r0 + c0, r0 + c1), first_max(r1 + c0, r1 + c1));
            out[y * ow + xo] = plane[arg];
            idx[y * ow + xo] = arg;
        }
    }
}

/// The in-bounds input positions `[start, end)` of output position `o` of a window of size
/// `k`, stride `s` and padding `p` along an axis of length `len`.
pub(crate) fn window_range(o: usize, s: usize, p: usize, k: usize, len: usize) -> (usize, usize) {
    let start = (o * s) as isize - p as isize;
    (start.max(0) as usize, ((start + k as isize).max(0) as usize).min(len))
}

/// The max-pooling VJP of a plain backward pass: each output gradient added at its argmax,
/// plane by plane, in one pass (`x̄[plane, argmax[o]] += ū[plane, o]`).
/// The VJP of max pooling (1-D or 2-D) given every output's argmax `idx`, `(N C, outputs)`
/// as flat positions in its plane: the output gradient added at the argmax. A plain
/// backward pass takes the direct loop [`route_to_argmax`]; a recorded one (second order)
/// the same routing as a differentiable `scatter_add`.
pub(crate) fn argmax_vjp<T: Element>(
    u: &Var<T>,
    idx: &IndexArray,
    input_shape: &[usize],
) -> dl_autodiff::Result<Var<T>> {
    if !dl_autodiff::is_grad_enabled() {
        return Ok(Var::constant(route_to_argmax(u.value(), idx, input_shape)?));
    }
    let nc = input_shape[0] * input_shape[1];
    let (outputs, plane): (usize, usize) = (u.shape()[2..].iter().product(), input_shape[2..].iter().product());
    u.reshape(&[nc, outputs])?.scatter_add(1, idx, &[nc, plane])?.reshape(input_shape)
}

/// The JVP of max pooling: the input tangent `t` read at every output's argmax.
pub(crate) fn argmax_jvp<T: Element>(
    t: &Tensor<T>,
    idx: &IndexArray,
    output_shape: &[usize],
) -> dl_autodiff::Result<Tensor<T>> {
    let s = t.shape();
    let plane: usize = s[2..].iter().product();
    Ok(t.reshape(&[s[0] * s[1], plane])?.gather(1, idx)?.reshape(output_shape)?)
}

fn route_to_argmax<T: Element>(
    u: &Tensor<T>,
    idx: &IndexArray,
    input_shape: &[usize],
) -> dl_autodiff::Result<Tensor<T>> {
    let hw: usize = input_shape[2..].iter().product();
    let l = idx.shape()[1];
    let u = u.contiguous();
    let mut g = dl_tensor::buffer_pool::take_zeroed::<T>(idx.shape()[0] * hw);
    let idx = idx.as_slice().expect("built in standard layout");
    let us = u.as_slice().expect("contiguous");
    let route_plane = |(gp, (up, ip)): (&mut [T], (&[T], &[usize]))| {
        for (&uv, &i) in up.iter().zip(ip) {
            gp[i] += uv;
        }
    };
    if worth_parallel(g.len()) {
        g.par_chunks_mut(hw).zip(us.par_chunks(l).zip(idx.par_chunks(l))).for_each(route_plane);
    } else {
        g.chunks_mut(hw).zip(us.chunks(l).zip(idx.chunks(l))).for_each(route_plane);
    }
    Ok(Tensor::from_vec(g, input_shape)?)
}

impl<T: Element> Primitive<T> for MaxPool2dPrimitive {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> dl_autodiff::Result<Tensor<T>> {
        let (y, idx) = self.run(inputs[0])?;
        *self.argmax.borrow_mut() = Some(Arc::new(idx));
        Ok(y)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> dl_autodiff::Result<Vec<Option<Var<T>>>> {
        if !ctx.needs(0) {
            return Ok(vec![None]);
        }
        let xs = ctx.value(0).shape().to_vec();
        let idx = match self.argmax.borrow().clone() {
            Some(i) => i,
            None => Arc::new(self.run(ctx.value(0))?.1),
        };
        Ok(vec![Some(argmax_vjp(u, &idx, &xs)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> dl_autodiff::Result<Tensor<T>> {
        let Some(t) = t[0] else { return Ok(Tensor::zeros(ctx.output.shape())) };
        argmax_jvp(t, &self.run(ctx.inputs[0])?.1, ctx.output.shape())
    }
}

/// Max pooling over `(N, C, H, W)`.
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    /// Kernel, stride and padding, the same along height and width.
    pub options: PoolOptions,
}

impl MaxPool2d {
    /// Max pooling with `options` (no parameters; the same in training and evaluation).
    pub fn new(options: PoolOptions) -> Self {
        MaxPool2d { options }
    }
}

impl<T: Element> Module<T> for MaxPool2d {
    fn describe(&self) -> String {
        self.options.describe("MaxPool2d")
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool(PoolKind::Max { spatial_dims: 2, options: self.options })
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        self.options.check(&<Self as Module<T>>::describe(self), x.shape())?;
        Ok(Var::apply(MaxPool2dPrimitive::new(self.options), &[x])?)
    }
}

/// Average pooling over `(N, C, H, W)`, padded zeros counted (PyTorch's default).
#[derive(Clone, Debug)]
pub struct AvgPool2d {
    /// Kernel, stride and padding, the same along height and width; each output is the
    /// window's sum divided by `k²`.
    pub options: PoolOptions,
}

impl AvgPool2d {
    /// Average pooling with `options` (no parameters; the same in training and evaluation).
    pub fn new(options: PoolOptions) -> Self {
        AvgPool2d { options }
    }
}

impl<T: Element> Module<T> for AvgPool2d {
    fn describe(&self) -> String {
        self.options.describe("AvgPool2d")
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool(PoolKind::Avg { spatial_dims: 2, options: self.options })
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let (oh, ow) = self.options.check(&<Self as Module<T>>::describe(self), x.shape())?;
        let s = x.shape().to_vec();
        let k = self.options.kernel;
        let w = Var::constant(Tensor::full(&[1, 1, k, k], cst::<T>(1.0 / (k * k) as f64)));
        let g = ConvGeometry { h: self.options.window(), w: self.options.window(), groups: 1 };
        let y = conv2d(&x.reshape(&[s[0] * s[1], 1, s[2], s[3]])?, &w, None, g)?;
        Ok(y.reshape(&[s[0], s[1], oh, ow])?)
    }
}

/// Global average pooling: `(N, C, ...spatial)` to `(N, C)`.
#[derive(Clone, Debug)]
pub struct GlobalAvgPool;

impl GlobalAvgPool {
    /// The global average pooling layer (no parameters).
    pub fn new() -> Self {
        GlobalAvgPool
    }
}

impl Default for GlobalAvgPool {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Module<T> for GlobalAvgPool {
    fn describe(&self) -> String {
        "GlobalAvgPool".into()
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool(PoolKind::GlobalAvg { spatial_dims: None })
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let r = x.shape().len();
        if r < 3 {
            return Err(LayerError::layer(
                "GlobalAvgPool",
                "an input (N, C, ...) with at least one spatial axis",
                x.shape(),
            ));
        }
        let axes: Vec<isize> = (2..r as isize).collect();
        Ok(x.mean_axes(&axes, false)?)
    }
}
