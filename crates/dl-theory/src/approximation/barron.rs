//! Barron (1993): targets whose Fourier transform has a finite first moment are approximated
//! by `n` sigmoid units with an L2 error `O(n^(-1/2))`, **whatever the dimension**.
//!
//! For `f(x) = int e^{i w . x} F(dw)` (Barron's convention, no `2 pi` in the exponent) the
//! Barron constant is
//!
//! ```text
//! C_f = int |w| |F|(dw),
//! ```
//!
//! and Barron's Theorem 1 gives, for every probability measure `mu` on the ball `B_r` and every
//! `n`, a network `f_n(x) = c_0 + sum_{k=1}^n c_k sigma(a_k . x + b_k)` with
//!
//! ```text
//! ( int_{B_r} (f - f_n)^2 dmu )^(1/2) <= 2 r C_f / sqrt(n)       ([`barron_bound`]).
//! ```
//!
//! Closed forms for the targets here (derivations in `docs/approximation.md`):
//!
//! - **Gaussian bump** `A exp(-|x - c|^2 / (2 s^2))` in `d` dimensions: `F` is `A` times the
//!   density of `N(0, s^-2 I)` (times a phase), so `C_f = A E|w| = A sqrt(2) Gamma((d+1)/2) /
//!   (s Gamma(d/2))`, which grows like `A sqrt(d) / s`.
//! - **Sum of ridge functions** `sum_j c_j g(a_j . x)`: each term's transform lives on the
//!   line through `a_j`. For the Gaussian profile `g(t) = exp(-t^2 / 2)` (`C_g = sqrt(2 / pi)`
//!   = `E|t|`, `t ~ N(0, 1)`) with pairwise non-parallel `a_j`, the lines meet only at `w = 0`
//!   where `|w| = 0`; for `g(t) = cos t` (`C_g = 1`: point masses `1/2` at `w = +-a_j`) the
//!   masses sit at distinct points when `a_j != +-a_k`. Either way the measures are mutually
//!   singular where `|w| > 0`, so `C_f = sum_j |c_j| |a_j| C_g` exactly.

use dl_tensor::TensorRng;
use dl_tensor::random::standard_normal_f64;
use rand::RngExt;

use crate::approximation::error::{ApproximationError, Result, positive};

/// The profile of a ridge term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RidgeShape {
    /// `g(t) = exp(-t^2 / 2)`, `C_g = sqrt(2 / pi)`.
    Gaussian,
    /// `g(t) = cos t`, `C_g = 1`.
    Cosine,
}

impl RidgeShape {
    fn eval(self, t: f64) -> f64 {
        match self {
            RidgeShape::Gaussian => (-0.5 * t * t).exp(),
            RidgeShape::Cosine => t.cos(),
        }
    }

    /// `C_g = int |t| |g^(t)| dt` for the 1-D profile.
    pub fn barron_constant(self) -> f64 {
        match self {
            RidgeShape::Gaussian => (2.0 / std::f64::consts::PI).sqrt(),
            RidgeShape::Cosine => 1.0,
        }
    }
}

/// A target with a closed-form Barron constant.
#[derive(Clone, Debug, PartialEq)]
pub enum BarronTarget {
    /// `amplitude exp(-|x - center|^2 / (2 scale^2))`.
    Gaussian {
        /// `A`.
        amplitude: f64,
        /// `s`.
        scale: f64,
        /// `c` (its length is the dimension).
        center: Vec<f64>,
    },
    /// `sum_j coefficients[j] shape(directions[j] . x)`.
    RidgeSum {
        /// `a_j`, pairwise non-parallel.
        directions: Vec<Vec<f64>>,
        /// `c_j`.
        coefficients: Vec<f64>,
        /// `g`.
        shape: RidgeShape,
    },
}

/// `log Gamma(x)` for `x > 0`.
fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

impl BarronTarget {
    /// A Gaussian bump; `scale > 0`, finite amplitude and centre.
    pub fn gaussian(amplitude: f64, scale: f64, center: Vec<f64>) -> Result<Self> {
        const OP: &str = "BarronTarget::gaussian";
        positive(OP, "scale", scale)?;
        if !amplitude.is_finite() {
            return Err(ApproximationError::InvalidArgument {
                op: OP,
                name: "amplitude".into(),
                value: amplitude,
                requirement: "must be finite",
            });
        }
        if center.is_empty() {
            return Err(ApproximationError::Dimension {
                op: OP,
                what: "centre coordinates (the dimension)",
                expected: 1,
                got: 0,
            });
        }
        if let Some(&c) = center.iter().find(|c| !c.is_finite()) {
            return Err(ApproximationError::InvalidArgument {
                op: OP,
                name: "center".into(),
                value: c,
                requirement: "must be finite",
            });
        }
        Ok(BarronTarget::Gaussian { amplitude, scale, center })
    }

    /// A sum of ridge functions; directions non-zero and of one dimension; pairwise
    /// non-parallel (`|cos angle| < 1 - 1e-9`) for the Gaussian profile, pairwise distinct up
    /// to sign (`|a_j -+ a_k| > 1e-9 |a_j|`) for the cosine, so that the closed-form `C_f` is
    /// exact.
    pub fn ridge_sum(directions: Vec<Vec<f64>>, coefficients: Vec<f64>, shape: RidgeShape) -> Result<Self> {
        const OP: &str = "BarronTarget::ridge_sum";
        if directions.is_empty() || directions.len() != coefficients.len() {
            return Err(ApproximationError::Dimension {
                op: OP,
                what: "coefficients (one per direction, at least one)",
                expected: directions.len().max(1),
                got: coefficients.len(),
            });
        }
        let d = directions[0].len();
        for a in &directions {
            if a.len() != d || d == 0 {
                return Err(ApproximationError::Dimension {
                    op: OP,
                    what: "direction coordinates",
                    expected: d.max(1),
                    got: a.len(),
                });
            }
            let norm = a.iter().map(|v| v * v).sum::<f64>().sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                return Err(ApproximationError::InvalidArgument {
                    op: OP,
                    name: "direction norm".into(),
                    value: norm,
                    requirement: "must be finite and positive",
                });
            }
        }
        for (i, a) in directions.iter().enumerate() {
            for b in &directions[..i] {
                let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
                let nb = b.iter().map(|v| v * v).sum::<f64>().sqrt();
                let cos = dot / (na * nb);
                let coincide =
                    |sign: f64| a.iter().zip(b).map(|(x, y)| (x - sign * y).powi(2)).sum::<f64>().sqrt() <= 1e-9 * na;
                let (bad, requirement) = match shape {
                    RidgeShape::Gaussian => (
                        cos.abs() >= 1.0 - 1e-9,
                        "Gaussian ridges must be pairwise non-parallel for the closed-form C_f",
                    ),
                    RidgeShape::Cosine => (
                        coincide(1.0) || coincide(-1.0),
                        "cosine ridges must have distinct frequency vectors (a_j != +-a_k) for the closed-form C_f",
                    ),
                };
                if bad {
                    return Err(ApproximationError::InvalidArgument {
                        op: OP,
                        name: format!("cosine between direction {i} and an earlier one"),
                        value: cos,
                        requirement,
                    });
                }
            }
        }
        if let Some(&c) = coefficients.iter().find(|c| !c.is_finite()) {
            return Err(ApproximationError::InvalidArgument {
                op: OP,
                name: "coefficient".into(),
                value: c,
                requirement: "must be finite",
            });
        }
        Ok(BarronTarget::RidgeSum { directions, coefficients, shape })
    }

    /// `terms` ridge functions with directions uniform on the sphere of radius `frequency`
    /// and coefficients `1 / terms` with random signs.
    pub fn random_ridge_sum(
        dim: usize,
        terms: usize,
        frequency: f64,
        shape: RidgeShape,
        rng: &mut TensorRng,
    ) -> Result<Self> {
        positive("BarronTarget::random_ridge_sum", "frequency", frequency)?;
        let directions: Vec<Vec<f64>> = (0..terms)
            .map(|_| {
                let g = standard_normal_f64(dim, rng);
                let n = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                g.iter().map(|v| frequency * v / n).collect()
            })
            .collect();
        let coefficients = (0..terms).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 } / terms as f64).collect();
        Self::ridge_sum(directions, coefficients, shape)
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        match self {
            BarronTarget::Gaussian { center, .. } => center.len(),
            BarronTarget::RidgeSum { directions, .. } => directions[0].len(),
        }
    }

    /// `f(x)`.
    pub fn eval(&self, x: &[f64]) -> f64 {
        match self {
            BarronTarget::Gaussian { amplitude, scale, center } => {
                let r2: f64 = x.iter().zip(center).map(|(a, c)| (a - c) * (a - c)).sum();
                amplitude * (-r2 / (2.0 * scale * scale)).exp()
            }
            BarronTarget::RidgeSum { directions, coefficients, shape } => directions
                .iter()
                .zip(coefficients)
                .map(|(a, c)| c * shape.eval(a.iter().zip(x).map(|(u, v)| u * v).sum()))
                .sum(),
        }
    }

    /// The closed-form Barron constant `C_f` (see the module documentation).
    pub fn barron_constant(&self) -> f64 {
        match self {
            BarronTarget::Gaussian { amplitude, scale, center } => {
                let d = center.len() as f64;
                amplitude.abs() * 2f64.sqrt() * (ln_gamma((d + 1.0) / 2.0) - ln_gamma(d / 2.0)).exp() / scale
            }
            BarronTarget::RidgeSum { directions, coefficients, shape } => {
                directions
                    .iter()
                    .zip(coefficients)
                    .map(|(a, c)| c.abs() * a.iter().map(|v| v * v).sum::<f64>().sqrt())
                    .sum::<f64>()
                    * shape.barron_constant()
            }
        }
    }
}

/// Barron's bound `2 r C_f / sqrt(n)` on the L2(mu) error of the best `n`-unit network.
pub fn barron_bound(barron_constant: f64, radius: f64, n: usize) -> f64 {
    2.0 * radius * barron_constant / (n as f64).sqrt()
}

/// `count` points uniform in the ball of radius `radius` in `dim` dimensions (row-major):
/// a uniform direction (a normalised Gaussian) times `radius U^(1/d)`.
pub fn sample_ball(dim: usize, radius: f64, count: usize, rng: &mut TensorRng) -> Result<Vec<f64>> {
    positive("sample_ball", "radius", radius)?;
    if dim == 0 {
        return Err(ApproximationError::Dimension { op: "sample_ball", what: "dimension", expected: 1, got: 0 });
    }
    let mut out = Vec::with_capacity(dim * count);
    for _ in 0..count {
        let g = standard_normal_f64(dim, rng);
        let n = g.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
        let rho = radius * rng.random::<f64>().powf(1.0 / dim as f64);
        out.extend(g.iter().map(|v| rho * v / n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn gaussian_constant_matches_monte_carlo_of_the_spectral_mean() {
        // F is the N(0, I / s^2) density: C_f / A = E|w|. 200 000 draws: standard error of the
        // mean of |w| is below 0.003 |w|; allow 5 standard errors.
        let mut rng = seeded_rng(11);
        for (d, s) in [(1usize, 1.0), (4, 0.5), (16, 2.0)] {
            let t = BarronTarget::gaussian(1.0, s, vec![0.0; d]).unwrap();
            let n = 200_000;
            let norms: Vec<f64> = (0..n)
                .map(|_| standard_normal_f64(d, &mut rng).iter().map(|v| v * v).sum::<f64>().sqrt() / s)
                .collect();
            let mean = norms.iter().sum::<f64>() / n as f64;
            let sd = (norms.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
            let se = sd / (n as f64).sqrt();
            assert!((t.barron_constant() - mean).abs() < 5.0 * se, "d {d}: {} vs {mean} +- {se}", t.barron_constant());
        }
    }

    #[test]
    fn one_dimensional_constant_matches_a_numerical_fourier_transform() {
        // f(x) = exp(-x^2 / (2 s^2)): F(w) = (1 / 2 pi) int f(x) e^{-iwx} dx by the trapezoid rule
        // on [-40 s, 40 s] (spectrally accurate for this smooth, decaying integrand), then
        // C_f = int |w| |F(w)| dw.
        let s = 0.7;
        let t = BarronTarget::gaussian(1.3, s, vec![0.4]).unwrap();
        let f = |x: f64| t.eval(&[x]);
        let ft = |w: f64| {
            let (a, n) = (40.0 * s, 4000);
            let h = 2.0 * a / n as f64;
            let (mut re, mut im) = (0.0, 0.0);
            for k in 0..=n {
                let x = -a + k as f64 * h;
                let wk = if k == 0 || k == n { 0.5 } else { 1.0 };
                re += wk * f(x) * (w * x).cos();
                im -= wk * f(x) * (w * x).sin();
            }
            (re * h / (2.0 * std::f64::consts::PI)).hypot(im * h / (2.0 * std::f64::consts::PI))
        };
        // |w| F(w) is even with a kink at 0: integrate w F(w) on [0, 40/s] by Simpson's rule
        // (smooth there; error O(h^4)) and double it
        let (b, n) = (40.0 / s, 4000);
        let h = b / n as f64;
        let c: f64 = 2.0 * h / 3.0
            * (0..=n)
                .map(|k| {
                    let w = k as f64 * h;
                    let wk = if k == 0 || k == n {
                        1.0
                    } else if k % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    wk * w * ft(w)
                })
                .sum::<f64>();
        assert!((c - t.barron_constant()).abs() < 1e-6 * t.barron_constant(), "{c} vs {}", t.barron_constant());
    }

    #[test]
    fn ridge_sums_and_ball_samples() {
        let t =
            BarronTarget::ridge_sum(vec![vec![3.0, 4.0], vec![0.0, 2.0]], vec![0.5, -2.0], RidgeShape::Cosine).unwrap();
        assert!((t.barron_constant() - (0.5 * 5.0 + 2.0 * 2.0)).abs() < 1e-14);
        assert!((t.eval(&[0.1, 0.2]) - (0.5 * (1.1f64).cos() - 2.0 * (0.4f64).cos())).abs() < 1e-15);
        let err = BarronTarget::ridge_sum(vec![vec![1.0, 1.0], vec![-2.0, -2.0]], vec![1.0, 1.0], RidgeShape::Gaussian)
            .unwrap_err();
        assert!(err.to_string().contains("non-parallel"), "{err}");
        // parallel cosines of different frequencies are fine; the same frequency is not
        assert!(BarronTarget::ridge_sum(vec![vec![3.0], vec![2.0]], vec![1.0, 1.0], RidgeShape::Cosine).is_ok());
        assert!(BarronTarget::ridge_sum(vec![vec![3.0], vec![-3.0]], vec![1.0, 1.0], RidgeShape::Cosine).is_err());
        // uniform in the ball: E|x|^2 = d r^2 / (d + 2)
        let mut rng = seeded_rng(3);
        let (d, r, n) = (5, 2.0, 100_000);
        let pts = sample_ball(d, r, n, &mut rng).unwrap();
        let norms2: Vec<f64> = pts.chunks(d).map(|p| p.iter().map(|v| v * v).sum()).collect();
        assert!(norms2.iter().all(|&q| q <= r * r * (1.0 + 1e-12)));
        let mean = norms2.iter().sum::<f64>() / n as f64;
        let exact = d as f64 * r * r / (d as f64 + 2.0);
        // sd of |x|^2 <= r^2 = 4: standard error <= 0.013, allow 4 of them
        assert!((mean - exact).abs() < 0.05, "{mean} vs {exact}");
    }
}
