//! [`Activation`]: an elementwise nonlinearity described well enough for the
//! Gaussian-expectation engine — its value `phi(x)`, its derivative `dphi(x)`, and the
//! points where it is not smooth (its *kinks*), which quadrature must split at.
//!
//! ```
//! use dl_init::Activation;
//! let relu = Activation::Relu;
//! assert_eq!((relu.phi(-1.0), relu.phi(2.0), relu.dphi(2.0)), (0.0, 2.0, 1.0));
//! assert!(!relu.is_smooth() && Activation::Tanh.is_smooth());
//! // a * phi(x) + b
//! let shifted = Activation::scaled(Activation::Tanh, 2.0, 0.5);
//! assert_eq!(shifted.phi(0.0), 0.5);
//! // anything else: give phi and phi'
//! let cube = Activation::custom("cube", |x| x * x * x, |x| 3.0 * x * x);
//! assert_eq!(cube.dphi(2.0), 12.0);
//! ```

use std::fmt;
use std::sync::Arc;

/// A user-supplied scalar function, shareable across threads.
pub type ScalarFn = Arc<dyn Fn(f64) -> f64 + Send + Sync>;

/// SELU's scale lambda (Klambauer et al. 2017, eq. 14).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's alpha (Klambauer et al. 2017, eq. 14).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// An elementwise activation function.
#[derive(Clone)]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// x for x > 0, `a x` otherwise.
    LeakyRelu(f64),
    /// tanh(x).
    Tanh,
    /// erf(x), whose Gaussian expectations have closed forms (Williams 1997).
    Erf,
    /// The logistic sigmoid 1 / (1 + e^-x).
    Sigmoid,
    /// log(1 + e^x).
    Softplus,
    /// The exact GELU x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016).
    Gelu,
    /// x for x > 0, `a (e^x - 1)` otherwise (Clevert et al. 2016).
    Elu(f64),
    /// lambda * elu(x; alpha) with the published constants [`SELU_LAMBDA`], [`SELU_ALPHA`].
    Selu,
    /// x sigmoid(x) (Ramachandran et al. 2017; SiLU).
    Swish,
    /// The identity.
    Linear,
    /// sin(x).
    Sin,
    /// `scale * inner(x) + shift`.
    Scaled {
        /// The activation being rescaled.
        inner: Box<Activation>,
        /// Multiplier `a` of `inner(x)`; it also scales the derivative.
        scale: f64,
        /// Additive offset `b`; it moves the mean of φ and hence the fixed point q*, not φ′.
        shift: f64,
    },
    /// A user-supplied function with its derivative and its kinks (points where `phi` or
    /// `dphi` is not smooth; empty when both are smooth everywhere).
    Custom {
        /// Name shown in `Debug`, `Display` and error messages.
        name: String,
        /// The activation φ(x).
        phi: ScalarFn,
        /// Its derivative φ′(x), used for χ₁ = σ_w² E[φ′(√q z)²] and gradient statistics.
        dphi: ScalarFn,
        /// Pre-activation values where φ or φ′ is not smooth, sorted and deduplicated;
        /// quadrature splits its interval there.
        kinks: Vec<f64>,
    },
}

impl fmt::Debug for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The standard normal CDF, accurate in both tails (via `erfc`).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal density.
pub(crate) fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The logistic sigmoid, computed without overflow for either sign.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Activation {
    /// `scale * inner(x) + shift`.
    pub fn scaled(inner: Activation, scale: f64, shift: f64) -> Self {
        Activation::Scaled { inner: Box::new(inner), scale, shift }
    }

    /// A smooth user-supplied activation from `phi` and its derivative `dphi`.
    /// Add kinks with [`Activation::with_kinks`] if either is not smooth somewhere.
    pub fn custom(
        name: impl Into<String>,
        phi: impl Fn(f64) -> f64 + Send + Sync + 'static,
        dphi: impl Fn(f64) -> f64 + Send + Sync + 'static,
    ) -> Self {
        Activation::Custom { name: name.into(), phi: Arc::new(phi), dphi: Arc::new(dphi), kinks: Vec::new() }
    }

    /// Declares the points where a custom activation (or its derivative) has a kink or a
    /// jump, so that quadrature splits there. Has no effect on built-in activations,
    /// which know their own kinks.
    pub fn with_kinks(self, new_kinks: &[f64]) -> Self {
        match self {
            Activation::Custom { name, phi, dphi, mut kinks } => {
                kinks.extend_from_slice(new_kinks);
                kinks.sort_by(f64::total_cmp);
                kinks.dedup();
                Activation::Custom { name, phi, dphi, kinks }
            }
            other => other,
        }
    }

    /// A short human-readable name, used in error messages.
    pub fn name(&self) -> String {
        match self {
            Activation::Relu => "relu".into(),
            Activation::LeakyRelu(a) => format!("leaky_relu({a})"),
            Activation::Tanh => "tanh".into(),
            Activation::Erf => "erf".into(),
            Activation::Sigmoid => "sigmoid".into(),
            Activation::Softplus => "softplus".into(),
            Activation::Gelu => "gelu".into(),
            Activation::Elu(a) => format!("elu({a})"),
            Activation::Selu => "selu".into(),
            Activation::Swish => "swish".into(),
            Activation::Linear => "linear".into(),
            Activation::Sin => "sin".into(),
            Activation::Scaled { inner, scale, shift } => format!("{scale} * {} + {shift}", inner.name()),
            Activation::Custom { name, .. } => name.clone(),
        }
    }

    /// The activation's value phi(x).
    pub fn phi(&self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Activation::Tanh => x.tanh(),
            Activation::Erf => libm::erf(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Activation::Gelu => x * normal_cdf(x),
            Activation::Elu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x.exp_m1()
                }
            }
            Activation::Selu => SELU_LAMBDA * if x > 0.0 { x } else { SELU_ALPHA * x.exp_m1() },
            Activation::Swish => x * sigmoid(x),
            Activation::Linear => x,
            Activation::Sin => x.sin(),
            Activation::Scaled { inner, scale, shift } => scale * inner.phi(x) + shift,
            Activation::Custom { phi, .. } => phi(x),
        }
    }

    /// The derivative phi'(x). At a kink at 0 the left-hand derivative is returned
    /// (ReLU'(0) = 0, as in PyTorch); a single point never changes an expectation with
    /// q > 0, and at q = 0 the engine averages the one-sided values.
    pub fn dphi(&self, x: f64) -> f64 {
        match self {
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    *a
                }
            }
            Activation::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Activation::Erf => std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
            Activation::Sigmoid => {
                let s = sigmoid(x);
                s * (1.0 - s)
            }
            Activation::Softplus => sigmoid(x),
            Activation::Gelu => normal_cdf(x) + x * normal_pdf(x),
            Activation::Elu(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    a * x.exp()
                }
            }
            Activation::Selu => SELU_LAMBDA * if x > 0.0 { 1.0 } else { SELU_ALPHA * x.exp() },
            Activation::Swish => {
                let s = sigmoid(x);
                s + x * s * (1.0 - s)
            }
            Activation::Linear => 1.0,
            Activation::Sin => x.cos(),
            Activation::Scaled { inner, scale, .. } => scale * inner.dphi(x),
            Activation::Custom { dphi, .. } => dphi(x),
        }
    }

    /// The points where phi or phi' is not smooth (not infinitely differentiable), sorted.
    /// Quadrature splits its domain there; an empty list means the activation is smooth.
    pub fn kinks(&self) -> Vec<f64> {
        match self {
            Activation::Relu | Activation::Elu(_) | Activation::Selu => vec![0.0],
            Activation::LeakyRelu(a) => {
                if *a == 1.0 {
                    Vec::new()
                } else {
                    vec![0.0]
                }
            }
            Activation::Scaled { inner, .. } => inner.kinks(),
            Activation::Custom { kinks, .. } => kinks.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether phi and phi' are smooth everywhere (no kinks).
    pub fn is_smooth(&self) -> bool {
        self.kinks().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in derivative matches a central difference away from kinks.
    /// Step h = 1e-5: truncation error ~ h^2 |phi'''| / 6 ~ 1e-11, rounding ~ 1e-16 / h ~ 1e-11.
    #[test]
    fn derivatives_match_finite_differences() {
        let acts = [
            Activation::Relu,
            Activation::LeakyRelu(0.1),
            Activation::Tanh,
            Activation::Erf,
            Activation::Sigmoid,
            Activation::Softplus,
            Activation::Gelu,
            Activation::Elu(1.3),
            Activation::Selu,
            Activation::Swish,
            Activation::Linear,
            Activation::Sin,
            Activation::scaled(Activation::Tanh, 1.7, -0.2),
        ];
        let h = 1e-5;
        for act in &acts {
            for &x in &[-3.1, -0.7, -0.2, 0.3, 1.1, 2.9] {
                let fd = (act.phi(x + h) - act.phi(x - h)) / (2.0 * h);
                assert!((fd - act.dphi(x)).abs() < 1e-8, "{act}: x = {x}, fd {fd}, dphi {}", act.dphi(x));
            }
        }
    }

    #[test]
    fn stable_in_the_tails() {
        assert_eq!(Activation::Sigmoid.phi(-800.0), 0.0);
        assert_eq!(Activation::Softplus.phi(800.0), 800.0);
        assert!(Activation::Swish.phi(-800.0).abs() < 1e-300);
        assert_eq!(Activation::Gelu.phi(-50.0), 0.0);
    }

    #[test]
    fn kinks_and_names() {
        assert_eq!(Activation::scaled(Activation::Elu(1.0), 2.0, 0.0).kinks(), vec![0.0]);
        let c =
            Activation::custom("hardtanh", |x: f64| x.clamp(-1.0, 1.0), |x: f64| if x.abs() < 1.0 { 1.0 } else { 0.0 })
                .with_kinks(&[1.0, -1.0]);
        assert_eq!(c.kinks(), vec![-1.0, 1.0]);
        assert_eq!(c.name(), "hardtanh");
        assert_eq!(Activation::scaled(Activation::Relu, 2.0, 1.0).name(), "2 * relu + 1");
    }
}
