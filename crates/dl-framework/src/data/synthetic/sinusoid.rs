//! [`Sinusoid`]: `y = A sin(omega x + phi) + noise` (Finn et al. 2017).

use dl_tensor::Element;
use dl_tensor::random::standard_normal_f64;
use rand::{Rng, RngExt};

use super::super::dataset::Dataset;
use super::super::error::{DataError, Result};
use super::{finite, non_negative, to_tensor};

/// Sinusoid regression `y = amplitude sin(omega x + phase) + noise`, `x` uniform on
/// `[x_min, x_max)`, noise i.i.d. `N(0, noise_std^2)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sinusoid {
    /// A.
    pub amplitude: f64,
    /// The angular frequency omega.
    pub omega: f64,
    /// The phase phi.
    pub phase: f64,
    /// Lower end of the input interval.
    pub x_min: f64,
    /// Upper end of the input interval (excluded).
    pub x_max: f64,
    /// Standard deviation of the target noise.
    pub noise_std: f64,
}

impl Default for Sinusoid {
    /// `sin(x)` on [-5, 5) without noise.
    fn default() -> Self {
        Sinusoid { amplitude: 1.0, omega: 1.0, phase: 0.0, x_min: -5.0, x_max: 5.0, noise_std: 0.0 }
    }
}

impl Sinusoid {
    /// A task of Finn et al. (2017)'s sinusoid meta-learning benchmark: amplitude uniform
    /// on [0.1, 5), phase uniform on [0, pi), omega 1, x on [-5, 5), no noise.
    pub fn random_task<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let amplitude = 0.1 + 4.9 * rng.random::<f64>();
        let phase = std::f64::consts::PI * rng.random::<f64>();
        Sinusoid { amplitude, phase, ..Self::default() }
    }

    /// The noiseless target at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        self.amplitude * (self.omega * x + self.phase).sin()
    }

    /// `n` examples: features (n, 1), targets (n, 1).
    ///
    /// Errors: a non-finite parameter, `x_min >= x_max`, a negative `noise_std`.
    pub fn generate<T: Element, R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Dataset<T>> {
        let op = "Sinusoid::generate";
        for (name, v) in [
            ("amplitude", self.amplitude),
            ("omega", self.omega),
            ("phase", self.phase),
            ("x_min", self.x_min),
            ("x_max", self.x_max),
        ] {
            finite(op, name, v)?;
        }
        if self.x_min >= self.x_max {
            return Err(DataError::invalid(op, format!("need x_min < x_max, got [{}, {})", self.x_min, self.x_max)));
        }
        non_negative(op, "noise_std", self.noise_std)?;
        let xs: Vec<f64> = (0..n).map(|_| self.x_min + (self.x_max - self.x_min) * rng.random::<f64>()).collect();
        let noise = standard_normal_f64(n, rng);
        let ys = xs.iter().zip(noise).map(|(&x, z)| self.eval(x) + self.noise_std * z).collect();
        Dataset::regression(to_tensor(xs, &[n, 1])?, to_tensor(ys, &[n, 1])?)
    }
}
