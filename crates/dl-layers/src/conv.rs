//! Conv1d and Conv2d modules over the explicit-backward convolution primitive
//! ([`crate::conv_primitive`]).
//!
//! Weights are `(out_channels, in_channels / groups, kh, kw)` (Conv1d: `(O, C/G, k)`),
//! PyTorch's layout, with PyTorch's default initialisation: weight and bias uniform on
//! `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`, `fan_in = (C/G) kh kw`. `groups = C` with
//! `out_channels = m C` is a depthwise convolution. Conv1d runs the 2-D primitive on a
//! height-1 image.

use dl_autodiff::Var;
use dl_tensor::{Element, Tensor, TensorRng, Window, cst};

use crate::conv_primitive::{ConvGeometry, conv2d};
use crate::error::{LayerError, Result};
use crate::kind::LayerKind;
use crate::module::{Module, Param, join_name};

/// Padding of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// The same number of zeros before and after, along every spatial axis.
    Explicit(usize),
    /// Output size equals input size (stride 1 only): total `d (k - 1)`, the odd one after
    /// (PyTorch's rule).
    Same,
}

/// Options of a convolution (PyTorch's defaults: stride 1, no padding, dilation 1, one
/// group, with bias).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvOptions {
    /// Stride `s` (positive): output position `i` reads the inputs
    /// `s·i − p, s·i − p + d, …, s·i − p + d(k − 1)` (outside `0..L` the padding zeros), so
    /// `L_out = ⌊(L + 2p − d(k − 1) − 1) / s⌋ + 1`.
    pub stride: usize,
    /// Zero padding `p` on each side of every spatial axis, or `'same'` (stride 1 only).
    pub padding: Padding,
    /// Dilation `d` (positive): the spacing between kernel taps; the kernel spans `d(k − 1) + 1` inputs.
    pub dilation: usize,
    /// Groups `G` (positive, dividing both channel counts): output channels `o` of group
    /// `⌊o / (out/G)⌋` see only that group's `in/G` input channels; `G = in` is depthwise.
    pub groups: usize,
    /// Whether the layer adds a learned bias `(out_channels)` to every output position.
    pub bias: bool,
}

impl Default for ConvOptions {
    fn default() -> Self {
        ConvOptions { stride: 1, padding: Padding::Explicit(0), dilation: 1, groups: 1, bias: true }
    }
}

impl ConvOptions {
    /// Sets the stride `s`.
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }
    /// Sets explicit padding: `p` zeros before and after along every spatial axis.
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = Padding::Explicit(p);
        self
    }
    /// Sets `'same'` padding ([`Padding::Same`]): the output keeps the input's spatial size
    /// (needs stride 1, checked when the layer is built).
    pub fn same(mut self) -> Self {
        self.padding = Padding::Same;
        self
    }
    /// Sets the dilation `d`.
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = d;
        self
    }
    /// Sets the number of groups `G` (`G = in_channels` for a depthwise convolution).
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
    /// Turns the bias on or off.
    pub fn bias(mut self, on: bool) -> Self {
        self.bias = on;
        self
    }

    fn window(&self, kernel: usize) -> Window {
        match self.padding {
            Padding::Explicit(p) => Window::new(kernel).stride(self.stride).padding(p).dilation(self.dilation),
            Padding::Same => Window::same(kernel, self.dilation),
        }
    }

    fn validate(&self, layer: &str, in_ch: usize, out_ch: usize, kernel: &[usize]) -> Result<()> {
        let bad = |d: String| Err(LayerError::config(layer, d));
        if in_ch == 0
            || out_ch == 0
            || kernel.contains(&0)
            || self.stride == 0
            || self.dilation == 0
            || self.groups == 0
        {
            return bad("channels, kernel, stride, dilation and groups must be positive".into());
        }
        if !in_ch.is_multiple_of(self.groups) || !out_ch.is_multiple_of(self.groups) {
            return bad(format!(
                "in_channels {in_ch} and out_channels {out_ch} must be divisible by groups {}",
                self.groups
            ));
        }
        if self.padding == Padding::Same && self.stride != 1 {
            return bad(format!("padding 'same' needs stride 1, got stride {}", self.stride));
        }
        Ok(())
    }
}

fn uniform_init<T: Element>(shape: &[usize], fan_in: usize, rng: &mut TensorRng) -> Result<Tensor<T>> {
    let bound: T = cst(1.0 / (fan_in as f64).sqrt());
    Ok(Tensor::rand_uniform(shape, -bound, bound, rng)?)
}

fn check_spatial(layer: &str, expected: &str, shape: &[usize], windows: &[(Window, usize)]) -> Result<()> {
    for (w, len) in windows {
        if w.output_len("conv", *len).is_err() {
            let detail = format!(
                "{expected} with each padded spatial size at least the dilated kernel {}",
                w.effective_kernel()
            );
            return Err(LayerError::layer(layer, detail, shape));
        }
    }
    Ok(())
}

/// A given bias as a parameter, checked to be `(out_channels)`.
fn checked_bias<T: Element>(layer: &str, bias: Option<Tensor<T>>, out_channels: usize) -> Result<Option<Param<T>>> {
    match bias {
        Some(b) if b.shape() != [out_channels] => {
            Err(LayerError::param_shape(layer, "bias", format!("[{out_channels}]"), b.shape()))
        }
        b => Ok(b.map(Param::new)),
    }
}

/// 2-D convolution over `(N, C, H, W)`.
pub struct Conv2d<T: Element> {
    /// The kernel `W`, `(out_channels, in_channels / groups, kh, kw)`: with `g(o) = ⌊o G / O⌋`
    /// the group of output channel `o`,
    /// `y[n, o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · x_pad[n, g(o)·C/G + c, s·i + d·u, s·j + d·v]`.
    pub weight: Param<T>,
    /// The bias `b`, `(out_channels)`, added at every output position; `None` without bias.
    pub bias: Option<Param<T>>,
    /// Input channels `C` (the `C` of the `(N, C, H, W)` input).
    pub in_channels: usize,
    /// Output channels `O` (the number of filters).
    pub out_channels: usize,
    /// Kernel size `(kh, kw)`: taps along height and width.
    pub kernel: (usize, usize),
    /// Stride, padding, dilation, groups and bias, the same along both spatial axes.
    pub options: ConvOptions,
    training: bool,
}

impl<T: Element> Conv2d<T> {
    /// A convolution with PyTorch's default initialisation drawn from `rng`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        options: ConvOptions,
        rng: &mut TensorRng,
    ) -> Result<Self> {
        options.validate("Conv2d", in_channels, out_channels, &[kernel.0, kernel.1])?;
        let cg = in_channels / options.groups;
        let fan_in = cg * kernel.0 * kernel.1;
        let weight = Param::new(uniform_init(&[out_channels, cg, kernel.0, kernel.1], fan_in, rng)?);
        let bias = if options.bias { Some(Param::new(uniform_init(&[out_channels], fan_in, rng)?)) } else { None };
        Ok(Conv2d { weight, bias, in_channels, out_channels, kernel, options, training: true })
    }

    /// A convolution with the given weight `(out_channels, in_channels / groups, kh, kw)`
    /// and optional bias `(out_channels)` (PyTorch's layouts); `options.groups` gives
    /// `in_channels`, and whether there is a bias is decided by `bias` (`options.bias` is
    /// set to match). A tensor of another shape is a [`LayerError::ParamShape`] naming the
    /// parameter and both shapes.
    pub fn from_tensors(weight: Tensor<T>, bias: Option<Tensor<T>>, options: ConvOptions) -> Result<Self> {
        let w = weight.shape();
        if w.len() != 4 {
            return Err(LayerError::param_shape(
                "Conv2d",
                "weight",
                "(out_channels, in_channels / groups, kh, kw): 4 axes",
                w,
            ));
        }
        let (out_channels, in_channels, kernel) = (w[0], w[1] * options.groups, (w[2], w[3]));
        let options = options.bias(bias.is_some());
        options.validate("Conv2d::from_tensors", in_channels, out_channels, &[kernel.0, kernel.1])?;
        let layer = format!("Conv2d({in_channels} -> {out_channels}, kernel {}x{})", kernel.0, kernel.1);
        let bias = checked_bias(&layer, bias, out_channels)?;
        Ok(Conv2d { weight: Param::new(weight), bias, in_channels, out_channels, kernel, options, training: true })
    }

    /// The windows along height and width.
    pub fn geometry(&self) -> ConvGeometry {
        ConvGeometry {
            h: self.options.window(self.kernel.0),
            w: self.options.window(self.kernel.1),
            groups: self.options.groups,
        }
    }
}

impl<T: Element> Module<T> for Conv2d<T> {
    fn describe(&self) -> String {
        format!("Conv2d({} -> {}, kernel {}x{})", self.in_channels, self.out_channels, self.kernel.0, self.kernel.1)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Conv {
            spatial_dims: 2,
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            kernel: vec![self.kernel.0, self.kernel.1],
            options: self.options,
        }
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        let expected = format!("an input (N, C={}, H, W)", self.in_channels);
        if s.len() != 4 || s[1] != self.in_channels {
            return Err(LayerError::layer(self.describe(), expected, s));
        }
        let g = self.geometry();
        check_spatial(&self.describe(), &expected, s, &[(g.h, s[2]), (g.w, s[3])])?;
        let b = self.bias.as_ref().map(|b| b.var());
        Ok(conv2d(x, &self.weight.var(), b.as_ref(), g)?)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        f(&join_name(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join_name(prefix, "bias"), b);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}

/// 1-D convolution over `(N, C, L)`.
pub struct Conv1d<T: Element> {
    /// The kernel `W`, `(out_channels, in_channels / groups, k)`: with `g(o) = ⌊o G / O⌋`,
    /// `y[n, o, i] = b[o] + Σ_{c, u} W[o, c, u] · x_pad[n, g(o)·C/G + c, s·i + d·u]`.
    pub weight: Param<T>,
    /// The bias `b`, `(out_channels)`, added at every output position; `None` without bias.
    pub bias: Option<Param<T>>,
    /// Input channels `C` (the `C` of the `(N, C, L)` input).
    pub in_channels: usize,
    /// Output channels `O` (the number of filters).
    pub out_channels: usize,
    /// Kernel size `k`: taps along the sequence.
    pub kernel: usize,
    /// Stride, padding, dilation, groups and bias.
    pub options: ConvOptions,
    training: bool,
}

impl<T: Element> Conv1d<T> {
    /// A convolution with PyTorch's default initialisation drawn from `rng`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        options: ConvOptions,
        rng: &mut TensorRng,
    ) -> Result<Self> {
        options.validate("Conv1d", in_channels, out_channels, &[kernel])?;
        let cg = in_channels / options.groups;
        let fan_in = cg * kernel;
        let weight = Param::new(uniform_init(&[out_channels, cg, kernel], fan_in, rng)?);
        let bias = if options.bias { Some(Param::new(uniform_init(&[out_channels], fan_in, rng)?)) } else { None };
        Ok(Conv1d { weight, bias, in_channels, out_channels, kernel, options, training: true })
    }

    /// A convolution with the given weight `(out_channels, in_channels / groups, k)` and
    /// optional bias `(out_channels)`; see [`Conv2d::from_tensors`].
    pub fn from_tensors(weight: Tensor<T>, bias: Option<Tensor<T>>, options: ConvOptions) -> Result<Self> {
        let w = weight.shape();
        if w.len() != 3 {
            return Err(LayerError::param_shape(
                "Conv1d",
                "weight",
                "(out_channels, in_channels / groups, k): 3 axes",
                w,
            ));
        }
        let (out_channels, in_channels, kernel) = (w[0], w[1] * options.groups, w[2]);
        let options = options.bias(bias.is_some());
        options.validate("Conv1d::from_tensors", in_channels, out_channels, &[kernel])?;
        let layer = format!("Conv1d({in_channels} -> {out_channels}, kernel {kernel})");
        let bias = checked_bias(&layer, bias, out_channels)?;
        Ok(Conv1d { weight: Param::new(weight), bias, in_channels, out_channels, kernel, options, training: true })
    }

    /// The 2-D geometry the layer runs on (height 1, a one-tap window along it).
    pub fn geometry(&self) -> ConvGeometry {
        ConvGeometry { h: Window::new(1), w: self.options.window(self.kernel), groups: self.options.groups }
    }
}

impl<T: Element> Module<T> for Conv1d<T> {
    fn describe(&self) -> String {
        format!("Conv1d({} -> {}, kernel {})", self.in_channels, self.out_channels, self.kernel)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Conv {
            spatial_dims: 1,
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            kernel: vec![self.kernel],
            options: self.options,
        }
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape().to_vec();
        let expected = format!("an input (N, C={}, L)", self.in_channels);
        if s.len() != 3 || s[1] != self.in_channels {
            return Err(LayerError::layer(self.describe(), expected, &s));
        }
        let g = self.geometry();
        check_spatial(&self.describe(), &expected, &s, &[(g.w, s[2])])?;
        let (o, cg) = (self.out_channels, self.in_channels / self.options.groups);
        let x4 = x.reshape(&[s[0], s[1], 1, s[2]])?;
        let w4 = self.weight.var().reshape(&[o, cg, 1, self.kernel])?;
        let b = self.bias.as_ref().map(|b| b.var());
        let y4 = conv2d(&x4, &w4, b.as_ref(), g)?;
        let ol = y4.shape()[3];
        Ok(y4.reshape(&[s[0], o, ol])?)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        f(&join_name(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join_name(prefix, "bias"), b);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
