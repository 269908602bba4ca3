//! **Initialisation schemes** for one weight tensor, each with the variance formula it
//! is built from (derivations in `docs/signal_propagation.md`).
//!
//! With `fan_in`, `fan_out` from [`Fans`] and a gain `g` (see [`crate::gain`]):
//!
//! | scheme | distribution | variance of each entry |
//! | --- | --- | --- |
//! | Xavier/Glorot normal (Glorot and Bengio 2010) | N(0, s^2) | `g^2 * 2 / (fan_in + fan_out)` |
//! | Xavier/Glorot uniform | U(-a, a), `a = g sqrt(6 / (fan_in + fan_out))` | `a^2 / 3`, the same |
//! | He/Kaiming normal (He et al. 2015), mode fan_in or fan_out | N(0, s^2) | `g^2 / fan` |
//! | He/Kaiming uniform | U(-a, a), `a = g sqrt(3 / fan)` | `g^2 / fan` |
//! | LeCun normal / uniform (LeCun et al. 1998) | Kaiming with g = 1, fan_in | `1 / fan_in` |
//! | orthogonal (Saxe et al. 2014) | `g Q`, Q Haar semi-orthogonal | `g^2 / max(rows, cols)` (rows or columns have norm g) |
//! | delta-orthogonal (Xiao et al. 2018) | zero but the centre tap, `g H`, `H^T H = I` | `g^2 / out` at the centre tap, 0 elsewhere |
//! | critical (Schoenholz et al. 2017) | N(0, sigma_w2 / fan_in) | `sigma_w2 / fan_in`, sigma_w2 on the critical line |
//! | normal(std) (GPT-2's N(0, 0.02^2)) | N(0, std^2) | `std^2` |
//! | zeros | 0 | 0 |
//!
//! He with ReLU's gain `sqrt(2)` is the critical initialisation of ReLU at sigma_b2 = 0,
//! and LeCun's is tanh's (see [`crate::critical_init`]).
//!
//! ```
//! use dl_init::{fans::{Fans, FanMode}, scheme::Scheme};
//! use dl_tensor::seeded_rng;
//! let he = Scheme::KaimingNormal { gain: 2f64.sqrt(), mode: FanMode::FanIn };
//! let w = he.draw::<f32>(&[128, 64, 3, 3], 1, &mut seeded_rng(0))?;
//! let fans = Fans::of_weight(&[128, 64, 3, 3], 1)?;
//! assert!((he.variance(&[128, 64, 3, 3], fans)? - 2.0 / (64.0 * 9.0)).abs() < 1e-18);
//! assert_eq!(w.shape(), &[128, 64, 3, 3]);
//! // bad input is an error that names the value, never NaN
//! let err = Scheme::XavierNormal { gain: -1.0 }.draw::<f32>(&[4, 4], 1, &mut seeded_rng(0)).unwrap_err();
//! assert!(err.to_string().contains("-1"));
//! # Ok::<(), dl_init::InitError>(())
//! ```

use dl_tensor::{Element, Tensor, TensorRng};

use crate::error::{Result, non_negative, positive};
use crate::fans::{FanMode, Fans};
use crate::orthogonal::{delta_orthogonal, orthogonal};

/// A rule for drawing one weight tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scheme {
    /// N(0, g^2 2 / (fan_in + fan_out)).
    XavierNormal {
        /// Gain g (see [`crate::gain`]); 1 for the original Glorot–Bengio scheme.
        gain: f64,
    },
    /// U(-a, a) with a = g sqrt(6 / (fan_in + fan_out)).
    XavierUniform {
        /// Gain g; 1 for the original Glorot–Bengio scheme.
        gain: f64,
    },
    /// N(0, g^2 / fan).
    KaimingNormal {
        /// Gain g: √2 for ReLU (He et al. 2015).
        gain: f64,
        /// Which fan divides: fan_in preserves the forward variance, fan_out the backward.
        mode: FanMode,
    },
    /// U(-a, a) with a = g sqrt(3 / fan).
    KaimingUniform {
        /// Gain g: √2 for ReLU.
        gain: f64,
        /// Which fan divides.
        mode: FanMode,
    },
    /// N(0, 1 / fan_in).
    LeCunNormal,
    /// U(-a, a) with a = sqrt(3 / fan_in).
    LeCunUniform,
    /// g times a Haar semi-orthogonal matrix (the weight flattened to rows x rest).
    Orthogonal {
        /// Gain g: every row (or column, whichever are fewer) has norm g.
        gain: f64,
    },
    /// Zero except the centre tap, g times an orthogonal out x in matrix (convolutions).
    DeltaOrthogonal {
        /// Gain g of the centre tap's orthogonal matrix.
        gain: f64,
    },
    /// N(0, sigma_w2 / fan_in): a point of the mean-field phase diagram (the critical line
    /// when sigma_w2 comes from [`crate::critical_sigma_w2`]).
    MeanField {
        /// Weight variance σ_w², the phase diagram's horizontal axis.
        sigma_w2: f64,
    },
    /// N(0, std^2), independent of the fans.
    Normal {
        /// Standard deviation of each entry (not its variance).
        std: f64,
    },
    /// All zeros (the last layer of a residual branch, say).
    Zeros,
}

impl Scheme {
    /// A short name for reports and error messages.
    pub fn name(&self) -> String {
        match self {
            Scheme::XavierNormal { gain } => format!("xavier_normal(gain {gain})"),
            Scheme::XavierUniform { gain } => format!("xavier_uniform(gain {gain})"),
            Scheme::KaimingNormal { gain, mode } => format!("kaiming_normal(gain {gain}, {mode:?})"),
            Scheme::KaimingUniform { gain, mode } => format!("kaiming_uniform(gain {gain}, {mode:?})"),
            Scheme::LeCunNormal => "lecun_normal".into(),
            Scheme::LeCunUniform => "lecun_uniform".into(),
            Scheme::Orthogonal { gain } => format!("orthogonal(gain {gain})"),
            Scheme::DeltaOrthogonal { gain } => format!("delta_orthogonal(gain {gain})"),
            Scheme::MeanField { sigma_w2 } => format!("mean_field(sigma_w2 {sigma_w2})"),
            Scheme::Normal { std } => format!("normal(std {std})"),
            Scheme::Zeros => "zeros".into(),
        }
    }

    /// The variance of each entry (for delta-orthogonal: of each centre-tap entry) that the
    /// scheme's formula gives for a weight of `shape` with `fans`.
    pub fn variance(&self, shape: &[usize], fans: Fans) -> Result<f64> {
        let (fi, fo) = (fans.fan_in as f64, fans.fan_out as f64);
        let fan = |mode: FanMode| fans.select(mode) as f64;
        Ok(match *self {
            Scheme::XavierNormal { gain } | Scheme::XavierUniform { gain } => {
                positive("gain", gain)?.powi(2) * 2.0 / (fi + fo)
            }
            Scheme::KaimingNormal { gain, mode } | Scheme::KaimingUniform { gain, mode } => {
                positive("gain", gain)?.powi(2) / fan(mode)
            }
            Scheme::LeCunNormal | Scheme::LeCunUniform => 1.0 / fi,
            Scheme::Orthogonal { gain } => {
                let cols: usize = shape[1..].iter().product();
                positive("gain", gain)?.powi(2) / shape[0].max(cols) as f64
            }
            Scheme::DeltaOrthogonal { gain } => positive("gain", gain)?.powi(2) / shape[0] as f64,
            Scheme::MeanField { sigma_w2 } => positive("sigma_w2", sigma_w2)? / fi,
            Scheme::Normal { std } => non_negative("std", std)?.powi(2),
            Scheme::Zeros => 0.0,
        })
    }

    /// Draws a weight of `shape` (`(out, in / groups, k...)`) in a layer with `groups`
    /// groups. Errors name the scheme and the shape, or the offending gain / variance.
    pub fn draw<T: Element>(&self, shape: &[usize], groups: usize, rng: &mut TensorRng) -> Result<Tensor<T>> {
        match *self {
            Scheme::Orthogonal { gain } => return orthogonal(shape, gain, rng),
            Scheme::DeltaOrthogonal { gain } => return delta_orthogonal(shape, gain, rng),
            Scheme::Zeros => return Ok(Tensor::zeros(shape)),
            Scheme::Normal { std } => {
                non_negative("std", std)?;
                return Ok(Tensor::randn_scaled(shape, T::zero(), T::from_f64_lossy(std), rng)?);
            }
            _ => {}
        }
        let fans = Fans::of_weight(shape, groups)?;
        let var = self.variance(shape, fans)?;
        let uniform =
            matches!(self, Scheme::XavierUniform { .. } | Scheme::KaimingUniform { .. } | Scheme::LeCunUniform);
        if uniform {
            // U(-a, a) has variance a^2 / 3.
            let a = T::from_f64_lossy((3.0 * var).sqrt());
            Ok(Tensor::rand_uniform(shape, -a, a, rng)?)
        } else {
            Ok(Tensor::randn_scaled(shape, T::zero(), T::from_f64_lossy(var.sqrt()), rng)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    /// Draws every scheme on a dense (300, 500) and a conv (64, 32, 3, 3) shape and compares
    /// the sample second moment (the mean is 0 by symmetry) with the formula. For n normal
    /// draws the relative standard error of the sample second moment is sqrt(2 / n); for
    /// uniform ones sqrt(0.8 / n) (Var[x^2] / E[x^2]^2 = (a^4/5 - a^4/9) / (a^4/9)).
    /// We allow 5 standard errors.
    #[test]
    fn sample_variances_match_the_formulas() {
        let g = 1.3;
        let schemes = [
            Scheme::XavierNormal { gain: g },
            Scheme::XavierUniform { gain: g },
            Scheme::KaimingNormal { gain: g, mode: FanMode::FanIn },
            Scheme::KaimingNormal { gain: g, mode: FanMode::FanOut },
            Scheme::KaimingUniform { gain: g, mode: FanMode::FanIn },
            Scheme::KaimingUniform { gain: g, mode: FanMode::FanOut },
            Scheme::LeCunNormal,
            Scheme::LeCunUniform,
            Scheme::MeanField { sigma_w2: 1.76 },
            Scheme::Normal { std: 0.02 },
        ];
        for shape in [vec![300, 500], vec![64, 32, 3, 3]] {
            let fans = Fans::of_weight(&shape, 1).unwrap();
            // Closed forms written out independently of `variance`.
            let (fi, fo) = (fans.fan_in as f64, fans.fan_out as f64);
            let expected = [
                g * g * 2.0 / (fi + fo),
                g * g * 2.0 / (fi + fo),
                g * g / fi,
                g * g / fo,
                g * g / fi,
                g * g / fo,
                1.0 / fi,
                1.0 / fi,
                1.76 / fi,
                0.0004,
            ];
            for (s, e) in schemes.iter().zip(expected) {
                assert!((s.variance(&shape, fans).unwrap() - e).abs() < 1e-15 * e.max(1.0), "{}", s.name());
                let w = s.draw::<f64>(&shape, 1, &mut seeded_rng(11)).unwrap().to_vec();
                let n = w.len() as f64;
                let m2 = w.iter().map(|v| v * v).sum::<f64>() / n;
                let uniform =
                    matches!(s, Scheme::XavierUniform { .. } | Scheme::KaimingUniform { .. } | Scheme::LeCunUniform);
                let se = if uniform { (0.8 / n).sqrt() } else { (2.0 / n).sqrt() };
                assert!((m2 / e - 1.0).abs() < 5.0 * se, "{} on {shape:?}: {m2} vs {e}", s.name());
                if uniform {
                    let bound = (3.0 * e).sqrt();
                    assert!(w.iter().all(|v| v.abs() <= bound), "{} exceeds its bound", s.name());
                }
            }
        }
    }

    /// Orthogonal rows of length cols have squared norm g^2 exactly, so the mean square of
    /// the entries is g^2 / cols up to rounding (1e-12).
    #[test]
    fn orthogonal_variance_is_exact() {
        let s = Scheme::Orthogonal { gain: 0.5 };
        let shape = [20, 8, 3];
        let w = s.draw::<f64>(&shape, 1, &mut seeded_rng(1)).unwrap().to_vec();
        let m2 = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        let e = s.variance(&shape, Fans::of_weight(&shape, 1).unwrap()).unwrap();
        assert!((m2 - e).abs() < 1e-12, "{m2} vs {e}");
    }

    #[test]
    fn bad_parameters_are_errors_with_the_values() {
        let mut rng = seeded_rng(0);
        for (s, needle) in [
            (Scheme::KaimingNormal { gain: 0.0, mode: FanMode::FanIn }, "gain"),
            (Scheme::MeanField { sigma_w2: -2.0 }, "-2"),
            (Scheme::Normal { std: f64::NAN }, "NaN"),
            (Scheme::XavierUniform { gain: f64::INFINITY }, "inf"),
        ] {
            let e = s.draw::<f32>(&[3, 3], 1, &mut rng).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
        assert!(Scheme::LeCunNormal.draw::<f32>(&[3], 1, &mut rng).unwrap_err().to_string().contains("[3]"));
    }
}
