//! [`NtkConv`]: the finite convolution of a [`KernelLayer::Conv`](crate::KernelLayer),
//! stride 1 and 'same' zero padding, built on dl-layers' [`Conv1d`] / [`Conv2d`].
//!
//! With `C` input channels and a filter of `k` taps (`k = kh kw` in 2-D), pixel `i` of
//! output channel `o` is
//!
//! - NTK parameterisation: `h_{o,i} = (sigma_w / sqrt(C k)) sum_{c,d} W_{o,c,d} a_{c,i+d} + sigma_b b_o`,
//!   `W, b ~ N(0, 1)`;
//! - standard parameterisation: `W ~ N(0, sigma_w2 / (C k))`, `b ~ N(0, sigma_b2)`, no scale,
//!
//! with `a_{c,j} = 0` outside the image (zero padding). dl-layers' convolutions have no NTK
//! parameterisation of their own, so in the NTK case the dl-layers module runs without bias
//! on the input multiplied by `sigma_w / sqrt(C k)` (the same gradient with respect to `W`
//! as scaling `W`), and the scaled bias `sigma_b b` is added by broadcasting.

use dl_autodiff::Var;
use dl_layers::{Conv1d, Conv2d, ConvOptions, LayerKind, Module, Param, join_name};
use dl_tensor::{Tensor, TensorRng, cst, seeded_rng};

use crate::error::{NtkError, Result};
use crate::layer::Parameterisation;

/// The dl-layers module underneath.
enum Inner {
    One(Conv1d<f64>),
    Two(Conv2d<f64>),
}

/// A 'same' convolution in the NTK or standard parameterisation (see the module
/// documentation).
pub struct NtkConv {
    inner: Inner,
    /// `Some(sigma_w / sqrt(C k), sigma_b)` in the NTK parameterisation.
    ntk_scales: Option<(f64, f64)>,
    /// The NTK parameterisation's bias `b ~ N(0, 1)`, `(O)`.
    ntk_bias: Option<Param<f64>>,
    training: bool,
}

impl NtkConv {
    /// A convolution from `in_channels` to `out_channels` with `filter` (`[k]` or `[kh, kw]`,
    /// odd sizes: checked by [`crate::KernelLayer::validate`]), parameters drawn from `rng`.
    pub fn sample(
        in_channels: usize,
        out_channels: usize,
        filter: &[usize],
        sigma_w2: f64,
        sigma_b2: f64,
        param: Parameterisation,
        rng: &mut TensorRng,
    ) -> Result<Self> {
        let taps: usize = filter.iter().product();
        let fan_in = in_channels * taps;
        let options = ConvOptions::default().same().bias(param == Parameterisation::Standard);
        // the dl-layers constructor draws PyTorch's uniform init; it is replaced below, so
        // draw it from a throwaway generator and keep `rng`'s stream for the real draws
        let scratch = &mut seeded_rng(0);
        let inner = match filter {
            [k] => Inner::One(Conv1d::new(in_channels, out_channels, *k, options, scratch)?),
            [kh, kw] => Inner::Two(Conv2d::new(in_channels, out_channels, (*kh, *kw), options, scratch)?),
            _ => {
                return Err(NtkError::Shape {
                    op: "NtkConv::sample",
                    what: "a filter has one (Conv1d) or two (Conv2d) sizes".into(),
                    left: filter.to_vec(),
                    right: vec![],
                });
            }
        };
        let (weight, bias) = match &inner {
            Inner::One(c) => (&c.weight, &c.bias),
            Inner::Two(c) => (&c.weight, &c.bias),
        };
        let (ntk_scales, ntk_bias) = match param {
            Parameterisation::Ntk => {
                weight.set(Tensor::randn(&weight.shape(), rng))?;
                let b = Param::new(Tensor::randn(&[out_channels], rng));
                (Some((sigma_w2.sqrt() / (fan_in as f64).sqrt(), sigma_b2.sqrt())), Some(b))
            }
            Parameterisation::Standard => {
                weight.set(Tensor::randn_scaled(&weight.shape(), 0.0, (sigma_w2 / fan_in as f64).sqrt(), rng)?)?;
                if let Some(b) = bias {
                    b.set(Tensor::randn_scaled(&[out_channels], 0.0, sigma_b2.sqrt(), rng)?)?;
                }
                (None, None)
            }
        };
        Ok(NtkConv { inner, ntk_scales, ntk_bias, training: true })
    }

    fn module(&self) -> &dyn Module<f64> {
        match &self.inner {
            Inner::One(c) => c,
            Inner::Two(c) => c,
        }
    }

    /// The number of spatial axes (1 or 2).
    pub fn spatial_rank(&self) -> usize {
        match self.inner {
            Inner::One(_) => 1,
            Inner::Two(_) => 2,
        }
    }
}

impl Module<f64> for NtkConv {
    fn describe(&self) -> String {
        let p = if self.ntk_scales.is_some() { "NTK" } else { "standard" };
        format!("{} same, {p} parameterisation", self.module().describe())
    }
    /// The dl-layers convolution's kind; in the NTK parameterisation it has a (scaled) bias.
    fn kind(&self) -> LayerKind {
        let mut kind = self.module().kind();
        if let LayerKind::Conv { options, .. } = &mut kind {
            options.bias |= self.ntk_bias.is_some();
        }
        kind
    }
    fn forward(&self, x: &Var<f64>) -> dl_layers::Result<Var<f64>> {
        let Some((w_scale, b_scale)) = self.ntk_scales else { return self.module().forward(x) };
        let h = self.module().forward(&x.mul_scalar(cst(w_scale))?)?;
        let bias = self.ntk_bias.as_ref().expect("the NTK parameterisation has a bias parameter");
        // (O) -> (1, O, 1) or (1, O, 1, 1), broadcast over examples and pixels
        let mut shape = vec![1; h.shape().len()];
        shape[1] = h.shape()[1];
        Ok(h.add(&bias.var().mul_scalar(cst(b_scale))?.reshape(&shape)?)?)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<f64>)) {
        self.module().visit_parameters(prefix, f);
        if let Some(b) = &self.ntk_bias {
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
