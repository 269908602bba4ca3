//! [`TwoSpirals`]: two interleaved Archimedean spirals (Lang and Witbrock 1988).

use dl_tensor::Element;
use dl_tensor::random::standard_normal_f64;
use rand::Rng;

use super::super::dataset::Dataset;
use super::super::error::{DataError, Result};
use super::{non_negative, to_tensor};

/// Two interleaved spirals in the plane (the benchmark of Lang and Witbrock 1988), as
/// Archimedean spirals: point `i` of `n` has `t = i / (n - 1)`, angle
/// `theta = 2 pi turns t` and radius `r = 0.1 + 0.9 t`; class 0 is
/// `(r cos theta, r sin theta)` and class 1 the same point rotated by pi. Each coordinate
/// gets i.i.d. `N(0, noise_std^2)` noise. Rows alternate class 0, class 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoSpirals {
    /// Points on each spiral.
    pub points_per_class: usize,
    /// Number of turns of each spiral.
    pub turns: f64,
    /// Standard deviation of the coordinate noise.
    pub noise_std: f64,
}

impl Default for TwoSpirals {
    /// 97 points per class and about 3 turns, as Lang and Witbrock's original; no noise.
    fn default() -> Self {
        TwoSpirals { points_per_class: 97, turns: 3.0, noise_std: 0.0 }
    }
}

impl TwoSpirals {
    /// The noiseless radius and angle of point `i`.
    pub fn polar(&self, i: usize) -> (f64, f64) {
        let t = if self.points_per_class > 1 { i as f64 / (self.points_per_class - 1) as f64 } else { 0.0 };
        (0.1 + 0.9 * t, 2.0 * std::f64::consts::PI * self.turns * t)
    }

    /// Features (2 points_per_class, 2), labels 0/1.
    ///
    /// Errors: `turns` not finite and positive, `noise_std` negative or not finite.
    pub fn generate<T: Element, R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset<T>> {
        let op = "TwoSpirals::generate";
        if self.turns.is_nan() || self.turns <= 0.0 || !self.turns.is_finite() {
            return Err(DataError::invalid(op, format!("turns must be finite and > 0, got {}", self.turns)));
        }
        non_negative(op, "noise_std", self.noise_std)?;
        let n = self.points_per_class;
        let noise = standard_normal_f64(4 * n, rng);
        let mut x = Vec::with_capacity(4 * n);
        let mut labels = Vec::with_capacity(2 * n);
        for i in 0..n {
            let (r, th) = self.polar(i);
            for (class, sign) in [(0, 1.0), (1, -1.0)] {
                let k = 4 * i + 2 * class;
                x.push(sign * r * th.cos() + self.noise_std * noise[k]);
                x.push(sign * r * th.sin() + self.noise_std * noise[k + 1]);
                labels.push(class);
            }
        }
        Dataset::classification(to_tensor(x, &[2 * n, 2])?, labels, 2)
    }
}

// ---- sinusoid regression ------------------------------------------------------------
