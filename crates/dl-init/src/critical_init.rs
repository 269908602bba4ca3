//! **Critical initialisation**: for any activation and a chosen bias variance sigma_b2, take
//! the weight variance on the critical line (chi_1 = 1) and draw
//! W_ij ~ N(0, sigma_w2 / fan_in), b_i ~ N(0, sigma_b2) (standard parameterisation).
//! At criticality both depth scales diverge, so signals and gradients propagate through
//! deep networks (Schoenholz et al. 2017). For ReLU with sigma_b2 = 0 this is He
//! initialisation (sigma_w2 = 2); for tanh with sigma_b2 = 0 it is LeCun's (sigma_w2 = 1).
//! For ReLU with sigma_b2 > 0 it is still sigma_w2 = 2 (chi_1 = sigma_w2 / 2 whatever q), but
//! there the length map has no fixed point: the forward variance grows by sigma_b2 per layer.
//!
//! ```
//! use dl_init::{Activation, CriticalInit};
//! use dl_tensor::seeded_rng;
//! let init = CriticalInit::new(&Activation::Tanh, 0.05)?;
//! assert!((init.sigma_w2 - 1.76).abs() < 0.01);
//! let w = init.weight::<f32>(256, 128, &mut seeded_rng(0))?;   // shape (fan_out, fan_in)
//! assert_eq!(w.shape(), &[256, 128]);
//! assert!((init.weight_std(128)? - (init.sigma_w2 / 128.0).sqrt()).abs() < 1e-15);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use dl_tensor::{Element, Tensor, TensorRng};

use crate::activation::Activation;
use crate::error::{InitError, Result, non_negative, positive};
use crate::phase::critical_sigma_w2;

/// Weight and bias variances on the critical line of an activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CriticalInit {
    /// Weight variance times fan_in.
    pub sigma_w2: f64,
    /// Bias variance.
    pub sigma_b2: f64,
}

impl CriticalInit {
    /// The critical sigma_w2 of `act` at bias variance `sigma_b2` (see [`critical_sigma_w2`]).
    pub fn new(act: &Activation, sigma_b2: f64) -> Result<Self> {
        Ok(CriticalInit { sigma_w2: critical_sigma_w2(act, sigma_b2)?, sigma_b2 })
    }

    /// Standard deviation of each weight: sqrt(sigma_w2 / fan_in).
    pub fn weight_std(&self, fan_in: usize) -> Result<f64> {
        if fan_in == 0 {
            return Err(InitError::InvalidParameter { name: "fan_in", requirement: "at least 1", value: 0.0 });
        }
        Ok((self.sigma_w2 / fan_in as f64).sqrt())
    }

    /// Standard deviation of each bias: sqrt(sigma_b2).
    pub fn bias_std(&self) -> f64 {
        self.sigma_b2.sqrt()
    }

    /// A weight matrix of shape (fan_out, fan_in) with entries N(0, sigma_w2 / fan_in).
    pub fn weight<T: Element>(&self, fan_out: usize, fan_in: usize, rng: &mut TensorRng) -> Result<Tensor<T>> {
        positive("sigma_w2", self.sigma_w2)?;
        let std = self.weight_std(fan_in)?;
        Tensor::randn_scaled(&[fan_out, fan_in], T::zero(), T::from_f64_lossy(std), rng)
            .map_err(|e| InitError::Undefined(format!("drawing the weights failed: {e}")))
    }

    /// A bias vector of length `fan_out` with entries N(0, sigma_b2).
    pub fn bias<T: Element>(&self, fan_out: usize, rng: &mut TensorRng) -> Result<Tensor<T>> {
        non_negative("sigma_b2", self.sigma_b2)?;
        Tensor::randn_scaled(&[fan_out], T::zero(), T::from_f64_lossy(self.bias_std()), rng)
            .map_err(|e| InitError::Undefined(format!("drawing the biases failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    /// He for ReLU; the drawn weights have variance sigma_w2 / fan_in (n = 400 * 500 draws:
    /// the sample variance has relative standard error sqrt(2 / n) ~ 3.2e-3; allow 5 of them).
    #[test]
    fn relu_is_he_and_draws_have_the_right_variance() {
        let init = CriticalInit::new(&Activation::Relu, 0.0).unwrap();
        assert!((init.sigma_w2 - 2.0).abs() < 1e-12);
        let w = init.weight::<f64>(400, 500, &mut seeded_rng(1)).unwrap().to_vec();
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        let expected = 2.0 / 500.0;
        assert!((var / expected - 1.0).abs() < 5.0 * 3.2e-3, "{var} vs {expected}");
        assert_eq!(init.bias::<f32>(7, &mut seeded_rng(2)).unwrap().to_vec(), vec![0.0; 7]);
        assert!(init.weight_std(0).is_err());
    }
}
