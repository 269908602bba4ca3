//! 1-D pooling over `(N, C, L)` sequences: max, average and global average, as PyTorch's
//! `MaxPool1d`, `AvgPool1d` and `AdaptiveAvgPool1d(1)`.
//!
//! With kernel `k`, stride `s` and zero padding `p` on both ends (floor mode, PyTorch's
//! default `ceil_mode = False`), output `o` covers the padded positions `o s .. o s + k - 1`,
//! that is the input positions `l = o s + j - p`, `j = 0 .. k-1`, and
//!
//! ```text
//! L_out = floor((L + 2p - k) / s) + 1,        p <= k / 2 (PyTorch's constraint)
//! max:     y[o] = max_{j : 0 <= o s + j - p < L} x[o s + j - p]         (padding is -inf)
//! average: y[o] = (1 / k) sum_{j : 0 <= o s + j - p < L} x[o s + j - p]  (count_include_pad)
//! global:  y    = (1 / L) sum_l x[l]                                   (N, C, L) -> (N, C)
//! ```
//!
//! The average divides by `k` even where the window overhangs the padding, PyTorch's default
//! `count_include_pad = True`: the padded positions count as zeros. (With
//! `count_include_pad = False` PyTorch divides by the number of real positions instead; that
//! variant is not offered here.) The derivatives: the max routes each output gradient to its
//! argmax (the first maximum on ties), the average spreads it as `1/k` over the window.
//!
//! - [`MaxPool1dPrimitive`] is its own primitive, like the 2-D one and sharing its window
//!   search (a row is a one-row plane): the forward records every output's argmax, the
//!   VJP routes each output gradient to it (a direct loop in a plain backward pass, a
//!   `scatter_add` when the backward is recorded, so that it is differentiable again), the
//!   JVP is a gather of the tangent.
//! - [`AvgPool1d`] is the 2-D convolution primitive applied to `(N C, 1, 1, L)` with a
//!   constant `1 x k` kernel of `1/k`, reusing its im2col backward.
//! - [`GlobalAvgPool1d`] is the mean over the length axis.

use std::sync::Arc;

use dl_autodiff::{AutodiffError, JvpContext, Primitive, Var, VjpContext};
use dl_tensor::{Element, IndexArray, Tensor, Window, cst};
use ndarray::{ArrayD, IxDyn};

use crate::conv_primitive::{ConvGeometry, conv2d};
use crate::error::{LayerError, Result};
use crate::kind::{LayerKind, PoolKind};
use crate::module::Module;
use crate::pool::{PoolOptions, argmax_jvp, argmax_vjp, window_max, window_range};

/// Checks a 1-D pooling configuration against the input shape `x` and returns `L_out`.
/// Errors name `layer`, what it expected and the shape it got.
pub(crate) fn pool1d_output_len(options: &PoolOptions, layer: &str, x: &[usize]) -> Result<usize> {
    if options.kernel == 0 || options.stride == 0 {
        return Err(LayerError::config(layer, "kernel and stride must be positive"));
    }
    if 2 * options.padding > options.kernel {
        return Err(LayerError::config(
            layer,
            format!("padding {} exceeds half the kernel {}", options.padding, options.kernel),
        ));
    }
    let expected = format!("an input (N, C, L) with L >= 1 and L + 2x{} >= {}", options.padding, options.kernel);
    if x.len() != 3 || x[2] == 0 {
        return Err(LayerError::layer(layer, expected, x));
    }
    options.window().output_len("pool1d", x[2]).map_err(|_| LayerError::layer(layer, expected, x))
}

/// The max-pooling primitive on `(N, C, L)`.
#[derive(Clone, Debug)]
pub struct MaxPool1dPrimitive {
    /// The window: `y[n, c, o] = max_j x[n, c, o s + j − p]` over the in-bounds taps `j < k`.
    pub options: PoolOptions,
    /// Per output, the position `l` of its argmax within its `(n, c)` row, as
    /// `(N*C, L_out)`; set by the forward.
    argmax: std::cell::RefCell<Option<Arc<IndexArray>>>,
}

impl MaxPool1dPrimitive {
    /// The primitive for `options`, with no argmax recorded yet.
    pub fn new(options: PoolOptions) -> Self {
        MaxPool1dPrimitive { options, argmax: Default::default() }
    }

    fn run<T: Element>(&self, x: &Tensor<T>) -> dl_autodiff::Result<(Tensor<T>, IndexArray)> {
        let lo = pool1d_output_len(&self.options, "max_pool1d", x.shape())
            .map_err(|e| AutodiffError::InvalidArgument { op: "max_pool1d", detail: e.to_string() })?;
        let (n, c, l) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let (k, s, p) = (self.options.kernel, self.options.stride, self.options.padding);
        let x = x.contiguous();
        let src = x.as_slice().expect("contiguous");
        let mut out = dl_tensor::buffer_pool::take::<T>(n * c * lo);
        let mut idx = vec![0usize; n * c * lo];
        // A row is a one-row plane, so the 2-D window search applies (first maximum, NaN
        // wins, no data-dependent branches); padding is never chosen.
        let windows: Vec<(usize, usize)> = (0..lo).map(|o| window_range(o, s, p, k, l)).collect();
        let rows = src.chunks(l.max(1)).zip(out.chunks_mut(lo.max(1)).zip(idx.chunks_mut(lo.max(1))));
        for (row, (out, idx)) in rows.take(n * c) {
            for (o, &cols) in windows.iter().enumerate() {
                (out[o], idx[o]) = window_max(row, l, (0, 1), cols);
            }
        }
        let y = Tensor::from_vec(out, &[n, c, lo])?;
        let idx = ArrayD::from_shape_vec(IxDyn(&[n * c, lo]), idx).expect("sizes agree");
        Ok((y, idx))
    }
}

impl<T: Element> Primitive<T> for MaxPool1dPrimitive {
    fn name(&self) -> &'static str {
        "max_pool1d"
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

/// Max pooling over `(N, C, L)` (PyTorch's `MaxPool1d` without dilation, floor mode).
#[derive(Clone, Debug)]
pub struct MaxPool1d {
    /// Kernel `k`, stride `s` and padding `p` along the length axis.
    pub options: PoolOptions,
}

impl MaxPool1d {
    /// Max pooling with `options` (no parameters; the same in training and evaluation).
    pub fn new(options: PoolOptions) -> Self {
        MaxPool1d { options }
    }
}

impl<T: Element> Module<T> for MaxPool1d {
    fn describe(&self) -> String {
        self.options.describe("MaxPool1d")
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool(PoolKind::Max { spatial_dims: 1, options: self.options })
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        pool1d_output_len(&self.options, &<Self as Module<T>>::describe(self), x.shape())?;
        Ok(Var::apply(MaxPool1dPrimitive::new(self.options), &[x])?)
    }
}

/// Average pooling over `(N, C, L)`, padded zeros counted in the mean (PyTorch's `AvgPool1d`
/// with its default `count_include_pad = True`, floor mode).
#[derive(Clone, Debug)]
pub struct AvgPool1d {
    /// Kernel `k`, stride `s` and padding `p` along the length axis; each output is the
    /// window's sum divided by `k`.
    pub options: PoolOptions,
}

impl AvgPool1d {
    /// Average pooling with `options` (no parameters; the same in training and evaluation).
    pub fn new(options: PoolOptions) -> Self {
        AvgPool1d { options }
    }
}

impl<T: Element> Module<T> for AvgPool1d {
    fn describe(&self) -> String {
        self.options.describe("AvgPool1d")
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool(PoolKind::Avg { spatial_dims: 1, options: self.options })
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let lo = pool1d_output_len(&self.options, &<Self as Module<T>>::describe(self), x.shape())?;
        let s = x.shape().to_vec();
        let k = self.options.kernel;
        let w = Var::constant(Tensor::full(&[1, 1, 1, k], cst::<T>(1.0 / k as f64)));
        let g = ConvGeometry { h: Window::new(1), w: self.options.window(), groups: 1 };
        let y = conv2d(&x.reshape(&[s[0] * s[1], 1, 1, s[2]])?, &w, None, g)?;
        Ok(y.reshape(&[s[0], s[1], lo])?)
    }
}

/// Global average pooling of sequences: `(N, C, L)` to `(N, C)`, the mean over `L`
/// (PyTorch's `AdaptiveAvgPool1d(1)` followed by a flatten).
#[derive(Clone, Debug)]
pub struct GlobalAvgPool1d;

impl GlobalAvgPool1d {
    /// The global average pooling layer (no parameters).
    pub fn new() -> Self {
        GlobalAvgPool1d
    }
}

impl Default for GlobalAvgPool1d {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Module<T> for GlobalAvgPool1d {
    fn describe(&self) -> String {
        "GlobalAvgPool1d".into()
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool(PoolKind::GlobalAvg { spatial_dims: Some(1) })
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        if s.len() != 3 || s[2] == 0 {
            return Err(LayerError::layer("GlobalAvgPool1d", "an input (N, C, L) with L >= 1", s));
        }
        Ok(x.mean_axes(&[2], false)?)
    }
}
