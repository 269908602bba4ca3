//! The convolution primitive with its backward written explicitly as GEMMs (im2col, col2im).
//!
//! For `x (N, C, H, W)`, weights `w (O, C/G, kh, kw)` and `G` groups, let
//! `cols = im2col(x)` of shape `(N, C*kh*kw, L)` with `L = OH*OW`, viewed per group as
//! `(N, G, K, L)` with `K = (C/G)*kh*kw` (the rows of one group are contiguous because
//! im2col orders rows channel-major), and `W_g` the `(O/G, K)` matrix of group `g`. Then
//!
//! ```text
//! forward       Y[n, g]  = W_g · cols[n, g]                      (one batched GEMM)
//! weight grad   dW_g     = sum_n dY[n, g] · cols[n, g]^T          (batched GEMM, sum over n)
//! input grad    dX       = col2im( W_g^T · dY[n, g] )             (batched GEMM, then col2im)
//! ```
//!
//! The three maps are the three partial contractions of one trilinear form
//! `<dY, conv(X, W)>`, so each one's VJP is written with the other two
//! ([`Conv2dPrimitive`], [`Conv2dInputGrad`], [`Conv2dWeightGrad`] are mutually transposed):
//! backward rules stay differentiable (higher-order derivatives, Hessian-vector products)
//! with no extra code. The JVPs use bilinearity: `J (t_x, t_w) = conv(t_x, W) + conv(X, t_w)`.
//! An optional bias `b (O)` is a third input of the forward op, added in place into the fresh
//! output; its gradient is [`ChannelSum`] (the sum of `dY` over every axis but the channels).
//! The derivation is in `docs/convolution.md`.
//!
//! The forward keeps its im2col matrix for the weight gradient (one im2col per forward and
//! backward); it is reused only when the backward sees the very buffer the forward read.

use std::cell::RefCell;

use dl_autodiff::{AutodiffError, JvpContext, Primitive, Result, Var, VjpContext};
use dl_tensor::elementwise::worth_parallel;
use dl_tensor::{Element, Tensor, Window, col2im_2d, im2col_2d};
use rayon::prelude::*;

/// The window along each spatial axis and the number of channel groups. The windows'
/// kernel sizes must equal the weight's `(kh, kw)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// The window along the height: kernel `kh`, stride, padding before/after and dilation;
    /// `OH = ⌊(H + p_lo + p_hi − d(kh − 1) − 1) / s⌋ + 1`.
    pub h: Window,
    /// The window along the width, likewise giving `OW` from `W` and `kw`.
    pub w: Window,
    /// Channel groups `G`, dividing `C` and `O`: output channels of group `g` see input
    /// channels `g·C/G … (g + 1)·C/G − 1` only, through the `(O/G, K)` matrix `W_g`.
    pub groups: usize,
}

fn invalid(op: &'static str, detail: String) -> AutodiffError {
    AutodiffError::InvalidArgument { op, detail }
}

/// Checked sizes of one convolution.
#[derive(Clone, Copy, Debug)]
struct Dims {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    oh: usize,
    ow: usize,
}

impl Dims {
    fn k(&self, g: &ConvGeometry) -> usize {
        self.c / g.groups * g.h.kernel * g.w.kernel
    }
    fn l(&self) -> usize {
        self.oh * self.ow
    }
}

fn dims(op: &'static str, x: &[usize], w: &[usize], g: &ConvGeometry) -> Result<Dims> {
    if x.len() != 4 || w.len() != 4 {
        return Err(invalid(op, format!("expected x (N, C, H, W) and w (O, C/groups, kh, kw), got {x:?} and {w:?}")));
    }
    let (n, c, h, wd) = (x[0], x[1], x[2], x[3]);
    let (o, cg, kh, kw) = (w[0], w[1], w[2], w[3]);
    if g.groups == 0 || c % g.groups != 0 || o % g.groups != 0 || cg * g.groups != c {
        return Err(invalid(
            op,
            format!(
                "{} groups need in_channels {c} = groups x weight.shape[1] ({cg}) and out_channels {o} divisible by groups",
                g.groups
            ),
        ));
    }
    if kh != g.h.kernel || kw != g.w.kernel {
        return Err(invalid(
            op,
            format!("the weight's kernel {kh}x{kw} differs from the windows' {}x{}", g.h.kernel, g.w.kernel),
        ));
    }
    let oh = g.h.output_len(op, h)?;
    let ow = g.w.output_len(op, wd)?;
    Ok(Dims { n, c, h, w: wd, o, oh, ow })
}

/// im2col of `x` as `(N, G, K, L)`.
fn grouped_cols<T: Element>(x: &Tensor<T>, g: &ConvGeometry, d: &Dims) -> Result<Tensor<T>> {
    Ok(im2col_2d(x, g.h, g.w)?.reshape(&[d.n, g.groups, d.k(g), d.l()])?)
}

/// `Y = conv(x, w)` from the grouped im2col matrix.
fn forward_from_cols<T: Element>(cols: &Tensor<T>, w: &Tensor<T>, g: &ConvGeometry, d: &Dims) -> Result<Tensor<T>> {
    let w3 = w.reshape(&[g.groups, d.o / g.groups, d.k(g)])?;
    Ok(w3.matmul(cols)?.reshape(&[d.n, d.o, d.oh, d.ow])?)
}

/// The convolution forward on tensors: `(N, C, H, W) x (O, C/G, kh, kw) -> (N, O, OH, OW)`.
pub fn conv2d_tensor<T: Element>(x: &Tensor<T>, w: &Tensor<T>, g: &ConvGeometry) -> Result<Tensor<T>> {
    let d = dims("conv2d", x.shape(), w.shape(), g)?;
    forward_from_cols(&grouped_cols(x, g, &d)?, w, g, &d)
}

/// The input gradient `col2im(W^T dY)` for an input of shape `x_shape`.
pub fn conv2d_input_grad_tensor<T: Element>(
    dy: &Tensor<T>,
    w: &Tensor<T>,
    x_shape: &[usize],
    g: &ConvGeometry,
) -> Result<Tensor<T>> {
    let d = dims("conv2d_input_grad", x_shape, w.shape(), g)?;
    check_dy("conv2d_input_grad", dy, &d)?;
    let og = d.o / g.groups;
    let wt = w.reshape(&[g.groups, og, d.k(g)])?.transpose(-1, -2)?;
    let dy4 = dy.reshape(&[d.n, g.groups, og, d.l()])?;
    let dcols = wt.matmul(&dy4)?.reshape(&[d.n, d.c * g.h.kernel * g.w.kernel, d.l()])?;
    Ok(col2im_2d(&dcols, d.c, (d.h, d.w), g.h, g.w)?)
}

/// The weight gradient `sum_n dY_n cols_n^T` from the grouped im2col matrix of the input.
fn weight_grad_from_cols<T: Element>(
    dy: &Tensor<T>,
    cols: &Tensor<T>,
    w_shape: &[usize],
    g: &ConvGeometry,
    d: &Dims,
) -> Result<Tensor<T>> {
    let og = d.o / g.groups;
    let dy4 = dy.reshape(&[d.n, g.groups, og, d.l()])?;
    let per_image = dy4.matmul(&cols.transpose(-1, -2)?)?; // (N, G, O/G, K)
    Ok(per_image.sum_axes(&[0], false)?.reshape(w_shape)?)
}

/// The weight gradient for an input `x` and weights of shape `w_shape`.
pub fn conv2d_weight_grad_tensor<T: Element>(
    dy: &Tensor<T>,
    x: &Tensor<T>,
    w_shape: &[usize],
    g: &ConvGeometry,
) -> Result<Tensor<T>> {
    let d = dims("conv2d_weight_grad", x.shape(), w_shape, g)?;
    check_dy("conv2d_weight_grad", dy, &d)?;
    weight_grad_from_cols(dy, &grouped_cols(x, g, &d)?, w_shape, g, &d)
}

fn check_dy<T: Element>(op: &'static str, dy: &Tensor<T>, d: &Dims) -> Result<()> {
    let want = [d.n, d.o, d.oh, d.ow];
    if dy.shape() != want {
        return Err(invalid(op, format!("the output gradient has shape {:?}, expected {want:?}", dy.shape())));
    }
    Ok(())
}

/// The im2col matrix with the (address, shape) of the input buffer it was built from.
type ColsCache<T> = ((usize, Vec<usize>), Tensor<T>);

fn buffer_id<T: Element>(t: &Tensor<T>) -> (usize, Vec<usize>) {
    (t.array().as_ptr() as usize, t.shape().to_vec())
}

/// `y = conv(x, w) (+ b)`: inputs `[x (N, C, H, W), w (O, C/G, kh, kw)]` and optionally
/// `b (O)`. Without the bias the op is bilinear; the bias is added in place into the fresh
/// output (one pass fewer than a broadcasting `add`), and its gradient is [`ChannelSum`].
#[derive(Clone)]
pub struct Conv2dPrimitive<T: Element> {
    /// The windows and groups of the convolution.
    pub geometry: ConvGeometry,
    /// The im2col matrix of the last forward, keyed by the input buffer it came from.
    cols: RefCell<Option<ColsCache<T>>>,
}

impl<T: Element> Conv2dPrimitive<T> {
    /// The primitive for `geometry`, with no im2col matrix cached yet.
    pub fn new(geometry: ConvGeometry) -> Self {
        Conv2dPrimitive { geometry, cols: RefCell::new(None) }
    }
}

impl<T: Element> Primitive<T> for Conv2dPrimitive<T> {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (x, w) = (inputs[0], inputs[1]);
        let g = &self.geometry;
        let d = dims("conv2d", x.shape(), w.shape(), g)?;
        let cols = grouped_cols(x, g, &d)?;
        let mut y = forward_from_cols(&cols, w, g, &d)?;
        *self.cols.borrow_mut() = Some((buffer_id(x), cols));
        if let Some(b) = inputs.get(2) {
            add_channel_bias(&mut y, b)?;
        }
        Ok(y)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let g = self.geometry;
        let dx = if ctx.needs(0) {
            Some(Var::apply(
                Conv2dInputGrad { geometry: g, x_shape: ctx.value(0).shape().to_vec() },
                &[u, ctx.input(1)],
            )?)
        } else {
            None
        };
        let dw = if ctx.needs(1) {
            let key = buffer_id(ctx.value(0));
            let cols = self.cols.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, c)| c.clone());
            let op = Conv2dWeightGrad { geometry: g, w_shape: ctx.value(1).shape().to_vec(), cols };
            Some(Var::apply(op, &[u, ctx.input(0)])?)
        } else {
            None
        };
        let mut grads = vec![dx, dw];
        if ctx.inputs.len() == 3 {
            grads.push(if ctx.needs(2) { Some(Var::apply(ChannelSum, &[u])?) } else { None });
        }
        Ok(grads)
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (x, w) = (ctx.inputs[0], ctx.inputs[1]);
        let mut out = Tensor::zeros(ctx.output.shape());
        if let Some(tx) = t[0] {
            out = out.add(&conv2d_tensor(tx, w, &self.geometry)?)?;
        }
        if let Some(tw) = t[1] {
            out = out.add(&conv2d_tensor(x, tw, &self.geometry)?)?;
        }
        if let Some(Some(tb)) = t.get(2) {
            add_channel_bias(&mut out, tb)?;
        }
        Ok(out)
    }
}

/// `dx = col2im(W^T dY)`: inputs `[dy (N, O, OH, OW), w]`, output of shape `x_shape`.
/// Linear in each input; its VJP is the forward convolution and the weight gradient.
#[derive(Clone, Debug)]
pub struct Conv2dInputGrad {
    /// The windows and groups of the forward convolution it transposes.
    pub geometry: ConvGeometry,
    /// The forward input's shape `(N, C, H, W)`, which the output takes (col2im cannot infer
    /// `H, W` from `OH, OW` when the stride skips inputs).
    pub x_shape: Vec<usize>,
}

impl<T: Element> Primitive<T> for Conv2dInputGrad {
    fn name(&self) -> &'static str {
        "conv2d_input_grad"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        conv2d_input_grad_tensor(inputs[0], inputs[1], &self.x_shape, &self.geometry)
    }
    // <v, IG(dy, w)> = <dy, conv(v, w)> = <w, WG(dy, v)>.
    fn vjp(&self, ctx: &VjpContext<'_, T>, v: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let g = self.geometry;
        let ddy = if ctx.needs(0) { Some(conv2d(v, ctx.input(1), None, g)?) } else { None };
        let dw = if ctx.needs(1) {
            let op = Conv2dWeightGrad { geometry: g, w_shape: ctx.value(1).shape().to_vec(), cols: None };
            Some(Var::apply(op, &[ctx.input(0), v])?)
        } else {
            None
        };
        Ok(vec![ddy, dw])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (dy, w) = (ctx.inputs[0], ctx.inputs[1]);
        let mut out = Tensor::zeros(ctx.output.shape());
        if let Some(tdy) = t[0] {
            out = out.add(&conv2d_input_grad_tensor(tdy, w, &self.x_shape, &self.geometry)?)?;
        }
        if let Some(tw) = t[1] {
            out = out.add(&conv2d_input_grad_tensor(dy, tw, &self.x_shape, &self.geometry)?)?;
        }
        Ok(out)
    }
}

/// `dW = sum_n dY_n cols_n^T`: inputs `[dy (N, O, OH, OW), x (N, C, H, W)]`, output of
/// shape `w_shape`. Linear in each input; its VJP is the forward convolution and the input
/// gradient.
#[derive(Clone)]
pub struct Conv2dWeightGrad<T: Element> {
    /// The windows and groups of the forward convolution.
    pub geometry: ConvGeometry,
    /// The weight's shape `(O, C/G, kh, kw)`, which the output takes.
    pub w_shape: Vec<usize>,
    /// The im2col matrix of `x` when the forward pass kept it.
    cols: Option<Tensor<T>>,
}

impl<T: Element> Conv2dWeightGrad<T> {
    /// The weight gradient for `geometry` and a weight of shape `w_shape`, recomputing the
    /// im2col matrix of `x` in its forward (no cached matrix).
    pub fn new(geometry: ConvGeometry, w_shape: &[usize]) -> Self {
        Conv2dWeightGrad { geometry, w_shape: w_shape.to_vec(), cols: None }
    }
}

impl<T: Element> Primitive<T> for Conv2dWeightGrad<T> {
    fn name(&self) -> &'static str {
        "conv2d_weight_grad"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (dy, x) = (inputs[0], inputs[1]);
        let g = &self.geometry;
        match &self.cols {
            Some(cols) => {
                let d = dims("conv2d_weight_grad", x.shape(), &self.w_shape, g)?;
                check_dy("conv2d_weight_grad", dy, &d)?;
                weight_grad_from_cols(dy, cols, &self.w_shape, g, &d)
            }
            None => conv2d_weight_grad_tensor(dy, x, &self.w_shape, g),
        }
    }
    // <v, WG(dy, x)> = <dy, conv(x, v)> = <x, IG(dy, v)>.
    fn vjp(&self, ctx: &VjpContext<'_, T>, v: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let g = self.geometry;
        let ddy = if ctx.needs(0) { Some(conv2d(ctx.input(1), v, None, g)?) } else { None };
        let dx = if ctx.needs(1) {
            let op = Conv2dInputGrad { geometry: g, x_shape: ctx.value(1).shape().to_vec() };
            Some(Var::apply(op, &[ctx.input(0), v])?)
        } else {
            None
        };
        Ok(vec![ddy, dx])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (dy, x) = (ctx.inputs[0], ctx.inputs[1]);
        let mut out = Tensor::zeros(ctx.output.shape());
        if let Some(tdy) = t[0] {
            out = out.add(&conv2d_weight_grad_tensor(tdy, x, &self.w_shape, &self.geometry)?)?;
        }
        if let Some(tx) = t[1] {
            out = out.add(&conv2d_weight_grad_tensor(dy, tx, &self.w_shape, &self.geometry)?)?;
        }
        Ok(out)
    }
}

/// Applies the convolution primitive to variables, with an optional bias `(O)`.
pub fn conv2d<T: Element>(x: &Var<T>, w: &Var<T>, bias: Option<&Var<T>>, geometry: ConvGeometry) -> Result<Var<T>> {
    match bias {
        Some(b) => Var::apply(Conv2dPrimitive::new(geometry), &[x, w, b]),
        None => Var::apply(Conv2dPrimitive::new(geometry), &[x, w]),
    }
}

/// `y[n, c, ...] += b[c]` in place, for a contiguous `y (N, C, ...)` and `b (C)`.
fn add_channel_bias<T: Element>(y: &mut Tensor<T>, b: &Tensor<T>) -> Result<()> {
    let c = y.shape().get(1).copied().unwrap_or(0);
    if b.shape() != [c] {
        return Err(invalid("conv2d", format!("the bias has shape {:?}, expected [{c}]", b.shape())));
    }
    let inner: usize = y.shape()[2..].iter().product();
    let bv = b.to_vec();
    if !y.array().is_standard_layout() {
        *y = y.contiguous();
    }
    let data = y.array_mut().as_slice_mut().expect("standard layout");
    let add = |(row, chunk): (usize, &mut [T])| {
        let bias = bv[row % c];
        chunk.iter_mut().for_each(|v| *v += bias);
    };
    if worth_parallel(data.len()) {
        data.par_chunks_mut(inner.max(1)).enumerate().for_each(add);
    } else {
        data.chunks_mut(inner.max(1)).enumerate().for_each(add);
    }
    Ok(())
}

/// The sum over every axis but axis 1: `(N, C, ...) -> (C)`, the bias gradient of a
/// convolution, in one pass (summed in a fixed order, so deterministic).
#[derive(Clone, Copy, Debug)]
pub struct ChannelSum;

/// The sum of a slice in eight interleaved partial sums, added pairwise at the end: the
/// same order on every call (so the same bits), and independent chains that the compiler
/// vectorises, where one running sum waits on each add in turn.
fn lane_sum<T: Element>(s: &[T]) -> T {
    const LANES: usize = 8;
    let mut acc = [T::zero(); LANES];
    let chunks = s.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let pairs = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail.iter().copied().fold(T::zero(), |a, v| a + v)
}

fn channel_sum<T: Element>(x: &Tensor<T>) -> Result<Tensor<T>> {
    if x.ndim() < 2 {
        return Err(invalid("channel_sum", format!("expected an input (N, C, ...), got {:?}", x.shape())));
    }
    let c = x.shape()[1];
    let inner: usize = x.shape()[2..].iter().product();
    let x = x.contiguous();
    let src = x.as_slice().expect("contiguous");
    let mut out = vec![T::zero(); c];
    if inner > 0 {
        // Each (n, c) row is summed on its own (on two threads when large), then the rows
        // are added into their channel in order: the same bits whatever the thread count.
        let row_sums: Vec<T> = if worth_parallel(src.len()) {
            src.par_chunks(inner).map(lane_sum).collect()
        } else {
            src.chunks(inner).map(lane_sum).collect()
        };
        for (row, s) in row_sums.into_iter().enumerate() {
            out[row % c] += s;
        }
    }
    Ok(Tensor::from_vec(out, &[c])?)
}

impl<T: Element> Primitive<T> for ChannelSum {
    fn name(&self) -> &'static str {
        "channel_sum"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        channel_sum(inputs[0])
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let shape = ctx.value(0).shape().to_vec();
        let mut bshape = vec![1; shape.len()];
        bshape[1] = shape[1];
        Ok(vec![Some(u.reshape(&bshape)?.broadcast_to(&shape)?)])
    }
    fn jvp(&self, _ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        match t[0] {
            Some(t) => channel_sum(t),
            None => Ok(Tensor::zeros(_ctx.output.shape())),
        }
    }
}
