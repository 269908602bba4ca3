//! Seeded random tensors. Every draw comes from an explicit ChaCha8 generator, so the same
//! seed gives the same bits on every machine and thread count.
//!
//! Normal draws use the Box–Muller transform in f64 (z = sqrt(-2 ln u1) cos(2 pi u2) and
//! the matching sine), then round to `T`.

use std::cmp::Ordering;

use rand::{Rng, RngExt, SeedableRng};
pub use rand_chacha::ChaCha8Rng;

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::shape::numel;
use crate::tensor::Tensor;

/// The library's generator type.
pub type TensorRng = ChaCha8Rng;

/// A ChaCha8 generator from a 64-bit seed.
pub fn seeded_rng(seed: u64) -> TensorRng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Draws `n` standard normal values in f64 by Box–Muller.
pub fn standard_normal_f64<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        out.push(r * theta.cos());
        out.push(r * theta.sin());
    }
    out.truncate(n);
    out
}

impl<T: Element> Tensor<T> {
    /// Standard normal draws N(0, 1).
    pub fn randn<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        let data = standard_normal_f64(numel(shape), rng).into_iter().map(T::from_f64_lossy).collect();
        Self::from_vec(data, shape).expect("length matches")
    }

    /// Normal draws N(mean, std^2); `std` must be non-negative and finite.
    pub fn randn_scaled<R: Rng + ?Sized>(shape: &[usize], mean: T, std: T, rng: &mut R) -> Result<Self> {
        // `partial_cmp` is `None` for a NaN `std`, so NaN is rejected along with negatives.
        if matches!(std.partial_cmp(&T::zero()), None | Some(Ordering::Less)) || !std.is_finite() || !mean.is_finite() {
            return Err(TensorError::invalid(
                "randn_scaled",
                shape,
                format!("need a finite mean and a finite std >= 0, got mean {mean}, std {std}"),
            ));
        }
        let data = standard_normal_f64(numel(shape), rng)
            .into_iter()
            .map(|z| T::from_f64_lossy(mean.to_f64_exact() + std.to_f64_exact() * z))
            .collect();
        Self::from_vec(data, shape)
    }

    /// Uniform draws on [low, high).
    pub fn rand_uniform<R: Rng + ?Sized>(shape: &[usize], low: T, high: T, rng: &mut R) -> Result<Self> {
        // Anything but `Some(Less)` (including `None` for a NaN bound) is rejected.
        if low.partial_cmp(&high) != Some(Ordering::Less) || !low.is_finite() || !high.is_finite() {
            return Err(TensorError::invalid(
                "rand_uniform",
                shape,
                format!("need finite low < high, got low {low}, high {high}"),
            ));
        }
        let (lo, hi) = (low.to_f64_exact(), high.to_f64_exact());
        let data = (0..numel(shape))
            .map(|_| {
                let v = T::from_f64_lossy(lo + (hi - lo) * rng.random::<f64>());
                // Rounding to f32 can land exactly on `high`; keep the interval half-open.
                if v >= high { low.max(high - high.abs() * T::epsilon()) } else { v }
            })
            .collect();
        Self::from_vec(data, shape)
    }

    /// Bernoulli draws: 1 with probability `p`, else 0.
    pub fn bernoulli<R: Rng + ?Sized>(shape: &[usize], p: f64, rng: &mut R) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(TensorError::invalid("bernoulli", shape, format!("probability {p} is outside [0, 1]")));
        }
        let data = (0..numel(shape)).map(|_| if rng.random::<f64>() < p { T::one() } else { T::zero() }).collect();
        Self::from_vec(data, shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bits() {
        let a = Tensor::<f32>::randn(&[7, 5], &mut seeded_rng(3));
        let b = Tensor::<f32>::randn(&[7, 5], &mut seeded_rng(3));
        assert_eq!(
            a.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let c = Tensor::<f32>::randn(&[7, 5], &mut seeded_rng(4));
        assert_ne!(a, c);
    }

    #[test]
    fn moments_match_distributions() {
        // n = 200_000: the standard error of the mean is 1/sqrt(n) ~ 2.2e-3 for N(0,1),
        // and of the variance sqrt(2/n) ~ 3.2e-3; 5 standard errors bound each check.
        let n = 200_000;
        let mut rng = seeded_rng(11);
        let z = Tensor::<f64>::randn(&[n], &mut rng).to_vec();
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0 * 2.3e-3, "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * 3.2e-3, "var {var}");
        let u = Tensor::<f64>::rand_uniform(&[n], -1.0, 3.0, &mut rng).unwrap().to_vec();
        assert!(u.iter().all(|&v| (-1.0..3.0).contains(&v)));
        let um = u.iter().sum::<f64>() / n as f64;
        // uniform on [-1, 3): mean 1, std 4/sqrt(12) ~ 1.155, standard error ~ 2.6e-3
        assert!((um - 1.0).abs() < 5.0 * 2.6e-3, "uniform mean {um}");
        let b = Tensor::<f64>::bernoulli(&[n], 0.3, &mut rng).unwrap().to_vec();
        let p = b.iter().sum::<f64>() / n as f64;
        // standard error sqrt(0.21/n) ~ 1.0e-3
        assert!((p - 0.3).abs() < 5.0 * 1.03e-3, "bernoulli p {p}");
        assert!(Tensor::<f64>::bernoulli(&[2], 1.5, &mut rng).is_err());
    }
}
