//! The dense layer `y = x W^T + b` with `W (out, in)` (PyTorch's layout).
//!
//! Default initialisation is PyTorch's: `W` and `b` uniform on `[-1/sqrt(in), 1/sqrt(in)]`
//! (variance `1 / (3 in)`), drawn from an explicit generator.
//!
//! [`Linear::ntk`] builds the layer in the **NTK parameterisation** (Jacot et al. 2018):
//! `h = (sigma_w / sqrt(in)) x W^T + sigma_b b` with `W`, `b` standard normal. The
//! function at initialisation has the same distribution as in the standard
//! parameterisation `W ~ N(0, sigma_w^2 / in)`, but the gradient with respect to `W` is
//! scaled by `sigma_w / sqrt(in)`, which is what makes the infinite-width limit lazy.
//!
//! More generally a layer may carry constant **multipliers** on its parameters,
//! `h = m_w x W^T + m_b b` ([`Linear::with_multipliers`]): the abc-parameterisations of Yang
//! & Hu (2021) (muP's readout multiplier, say) are written this way.

use dl_autodiff::Var;
use dl_tensor::{Element, Tensor, TensorRng, cst};

use crate::error::{LayerError, Result};
use crate::kind::LayerKind;
use crate::module::{Module, Param, join_name};

/// A fully connected layer over inputs `(..., in_features)`.
pub struct Linear<T: Element> {
    /// The weight `W`, `(out_features, in_features)`, of `y = m_w x W^T + m_b b` (the stored
    /// parameter, before any multiplier).
    pub weight: Param<T>,
    /// The bias `b`, `(out_features)`; `None` for a layer without bias.
    pub bias: Option<Param<T>>,
    /// Input width `in`: the size of the input's last axis (the fan-in).
    pub in_features: usize,
    /// Output width `out`: the size of the output's last axis.
    pub out_features: usize,
    /// The multipliers `(m_w, m_b)` of `h = m_w x W^T + m_b b`: `(sigma_w / sqrt(in),
    /// sigma_b)` in the NTK parameterisation, `None` (both 1) in the standard one.
    ntk_scales: Option<(f64, f64)>,
    training: bool,
}

impl<T: Element> Linear<T> {
    /// A layer with PyTorch's default initialisation drawn from `rng`.
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut TensorRng) -> Self {
        let bound: T = cst(1.0 / (in_features.max(1) as f64).sqrt());
        let draw = |shape: &[usize], rng: &mut TensorRng| {
            Tensor::rand_uniform(shape, -bound, bound, rng).expect("a finite, non-empty range")
        };
        let weight = Param::new(draw(&[out_features, in_features], rng));
        let bias = if bias { Some(Param::new(draw(&[out_features], rng))) } else { None };
        Linear { weight, bias, in_features, out_features, ntk_scales: None, training: true }
    }

    /// A layer with the given weight `(out, in)` and optional bias `(out)` (PyTorch's
    /// layouts, so `state_dict` tensors go straight in). A tensor of another shape is a
    /// [`LayerError::ParamShape`] naming the parameter and both shapes.
    ///
    /// ```
    /// use dl_layers::Linear;
    /// use dl_tensor::Tensor;
    /// let layer = Linear::from_tensors(Tensor::<f64>::ones(&[4, 3]), Some(Tensor::zeros(&[4])))?;
    /// assert_eq!((layer.in_features, layer.out_features), (3, 4));
    /// let err = Linear::from_tensors(Tensor::<f64>::ones(&[4, 3]), Some(Tensor::zeros(&[3]))).err().unwrap();
    /// assert_eq!(err.to_string(), "Linear(3 -> 4): parameter bias must have shape [4], got [3]");
    /// # Ok::<(), dl_layers::LayerError>(())
    /// ```
    pub fn from_tensors(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        if weight.ndim() != 2 {
            return Err(LayerError::param_shape(
                "Linear",
                "weight",
                "(out_features, in_features): 2 axes",
                weight.shape(),
            ));
        }
        let (out_features, in_features) = (weight.shape()[0], weight.shape()[1]);
        if let Some(b) = &bias
            && b.shape() != [out_features]
        {
            let layer = format!("Linear({in_features} -> {out_features})");
            return Err(LayerError::param_shape(layer, "bias", format!("[{out_features}]"), b.shape()));
        }
        Ok(Linear {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
            in_features,
            out_features,
            ntk_scales: None,
            training: true,
        })
    }

    /// A layer in the NTK parameterisation, `h = (sigma_w / sqrt(in)) x W^T + sigma_b b`,
    /// with `W (out, in)` and `b (out)` standard normal drawn from `rng`.
    pub fn ntk(
        in_features: usize,
        out_features: usize,
        bias: bool,
        sigma_w: f64,
        sigma_b: f64,
        rng: &mut TensorRng,
    ) -> Result<Self> {
        if in_features == 0 || !(sigma_w.is_finite() && sigma_w >= 0.0) || !(sigma_b.is_finite() && sigma_b >= 0.0) {
            let detail = format!(
                "need in_features >= 1 and finite sigma_w, sigma_b >= 0, got in_features {in_features}, sigma_w {sigma_w}, sigma_b {sigma_b}"
            );
            return Err(LayerError::config("Linear::ntk", detail));
        }
        let weight = Param::new(Tensor::randn(&[out_features, in_features], rng));
        let bias = if bias { Some(Param::new(Tensor::randn(&[out_features], rng))) } else { None };
        let ntk_scales = Some((sigma_w / (in_features as f64).sqrt(), sigma_b));
        Ok(Linear { weight, bias, in_features, out_features, ntk_scales, training: true })
    }

    /// The multipliers `(m_w, m_b)` if the layer has any: `(sigma_w / sqrt(in), sigma_b)` in
    /// the NTK parameterisation.
    pub fn ntk_scales(&self) -> Option<(f64, f64)> {
        self.ntk_scales
    }

    /// The multipliers `(m_w, m_b)` of `h = m_w x W^T + m_b b` (`(1, 1)` without any).
    pub fn multipliers(&self) -> (f64, f64) {
        self.ntk_scales.unwrap_or((1.0, 1.0))
    }

    /// The same layer computing `h = m_w x W^T + m_b b` with its parameters unchanged (the
    /// gradients pick up the multipliers). `(1, 1)` gives the plain layer back, computing
    /// exactly what [`Linear::new`]'s does. Multipliers must be finite.
    pub fn with_multipliers(mut self, m_w: f64, m_b: f64) -> Result<Self> {
        if !(m_w.is_finite() && m_b.is_finite()) {
            return Err(LayerError::config(
                "Linear::with_multipliers",
                format!("multipliers must be finite, got m_w {m_w}, m_b {m_b}"),
            ));
        }
        self.ntk_scales = if m_w == 1.0 && m_b == 1.0 { None } else { Some((m_w, m_b)) };
        Ok(self)
    }
}

impl<T: Element> Module<T> for Linear<T> {
    fn describe(&self) -> String {
        format!("Linear({} -> {})", self.in_features, self.out_features)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Linear { in_features: self.in_features, out_features: self.out_features, bias: self.bias.is_some() }
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        let s = x.shape();
        if s.is_empty() || s[s.len() - 1] != self.in_features {
            return Err(LayerError::layer(self.describe(), format!("an input (..., {})", self.in_features), s));
        }
        // The weight is stored (out, in), as PyTorch's: y = x Wᵀ + b.
        if let Some((w_scale, b_scale)) = self.ntk_scales {
            let w = self.weight.var().mul_scalar(cst(w_scale))?;
            return Ok(match &self.bias {
                Some(b) => x.linear_wt(&w, &b.var().mul_scalar(cst(b_scale))?)?,
                None => x.matmul(&w.t()?)?,
            });
        }
        let w = self.weight.var();
        Ok(match &self.bias {
            Some(b) => x.linear_wt(&w, &b.var())?,
            None => x.matmul(&w.t()?)?,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::seeded_rng;

    #[test]
    fn ntk_layer_matches_direct_loops_and_scales_its_gradient() {
        let mut rng = seeded_rng(3);
        let (sw, sb) = (1.5, 0.2);
        let layer = Linear::<f64>::ntk(3, 2, true, sw, sb, &mut rng).unwrap();
        let x = Tensor::<f64>::randn(&[4, 3], &mut rng);
        let y = layer.forward(&Var::constant(x.clone())).unwrap();
        let (w, b, xv) = (layer.weight.value().to_vec(), layer.bias.as_ref().unwrap().value().to_vec(), x.to_vec());
        let mut expected = vec![0.0; 8];
        for n in 0..4 {
            for o in 0..2 {
                let dot: f64 = (0..3).map(|i| w[o * 3 + i] * xv[n * 3 + i]).sum();
                expected[n * 2 + o] = sw / 3f64.sqrt() * dot + sb * b[o];
            }
        }
        // one matmul of length 3 against a loop of length 3: a few ulps
        assert_close_slices(&y.value().to_vec(), &expected, Tolerance::default_for::<f64>());
        // d(sum h)/dW_oi = sigma_w / sqrt(in) * sum_n x_ni
        let grads = y.sum_all().unwrap().backward().unwrap();
        let gw = layer.weight.grad(&grads).unwrap().to_vec();
        let col: Vec<f64> = (0..3).map(|i| sw / 3f64.sqrt() * (0..4).map(|n| xv[n * 3 + i]).sum::<f64>()).collect();
        assert_close_slices(&gw, &[col.clone(), col].concat(), Tolerance::default_for::<f64>());
        assert!(Linear::<f64>::ntk(0, 2, true, 1.0, 0.0, &mut rng).is_err());
        assert!(Linear::<f64>::ntk(2, 2, true, f64::NAN, 0.0, &mut rng).is_err());
    }

    #[test]
    fn multipliers_scale_the_output_like_direct_loops() {
        let mut rng = seeded_rng(8);
        let (mw, mb) = (0.25, 3.0);
        let layer = Linear::<f64>::new(3, 2, true, &mut rng).with_multipliers(mw, mb).unwrap();
        assert_eq!(layer.multipliers(), (mw, mb));
        let x = Tensor::<f64>::randn(&[4, 3], &mut rng);
        let y = layer.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
        let (w, b, xv) = (layer.weight.value().to_vec(), layer.bias.as_ref().unwrap().value().to_vec(), x.to_vec());
        let expected: Vec<f64> = (0..8)
            .map(|i| {
                let (n, o) = (i / 2, i % 2);
                mw * (0..3).map(|k| w[o * 3 + k] * xv[n * 3 + k]).sum::<f64>() + mb * b[o]
            })
            .collect();
        assert_close_slices(&y, &expected, Tolerance::default_for::<f64>());
        let plain = Linear::<f64>::new(3, 2, true, &mut seeded_rng(1)).with_multipliers(1.0, 1.0).unwrap();
        assert_eq!(plain.ntk_scales(), None);
        assert!(Linear::<f64>::new(3, 2, true, &mut rng).with_multipliers(f64::INFINITY, 1.0).is_err());
    }
}
