//! Learning-rate schedules: the learning rate at step `t` (counted from 0) as a function
//! of the base rate `lr0`.
//!
//! | schedule | lr(t) |
//! | --- | --- |
//! | `Constant` | `lr0` |
//! | `Step { step_size, gamma }` | `lr0 * gamma^floor(t / step_size)` |
//! | `Cosine { t_max, eta_min }` | `eta_min + (lr0 - eta_min) (1 + cos(pi min(t, t_max) / t_max)) / 2` (Loshchilov & Hutter 2017, without restarts) |
//! | `Warmup { steps, then }` | `lr0 (t + 1) / steps` for `t < steps`, then `then` at `t - steps` |

use serde::{Deserialize, Serialize};

use super::OptimError;

/// A learning-rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// `lr0` at every step.
    Constant,
    /// Step decay: `lr0 * gamma^floor(t / step_size)`.
    Step {
        /// Steps between decays (positive).
        step_size: u64,
        /// Factor applied at each decay (positive and finite).
        gamma: f64,
    },
    /// Cosine annealing from `lr0` to `eta_min` over `t_max` steps, then held at `eta_min`.
    Cosine {
        /// Length of the anneal in steps (positive).
        t_max: u64,
        /// The final learning rate (non-negative).
        eta_min: f64,
    },
    /// Linear warm-up `lr0 (t + 1) / steps`, then `then` restarted at step 0.
    Warmup {
        /// Warm-up length in steps (positive).
        steps: u64,
        /// The schedule followed after warm-up, evaluated at `t - steps`.
        then: Box<LrSchedule>,
    },
}

impl LrSchedule {
    /// Checks the parameters; errors name the field.
    pub fn validate(&self) -> Result<(), OptimError> {
        match self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Step { step_size, gamma } => {
                if *step_size == 0 {
                    return Err(OptimError::Hyperparameter {
                        field: "step_size",
                        value: 0.0,
                        reason: "must be positive",
                    });
                }
                if !(*gamma > 0.0 && gamma.is_finite()) {
                    return Err(OptimError::Hyperparameter {
                        field: "gamma",
                        value: *gamma,
                        reason: "must be positive and finite",
                    });
                }
                Ok(())
            }
            LrSchedule::Cosine { t_max, eta_min } => {
                if *t_max == 0 {
                    return Err(OptimError::Hyperparameter { field: "t_max", value: 0.0, reason: "must be positive" });
                }
                if !(*eta_min >= 0.0 && eta_min.is_finite()) {
                    return Err(OptimError::Hyperparameter {
                        field: "eta_min",
                        value: *eta_min,
                        reason: "must be non-negative",
                    });
                }
                Ok(())
            }
            LrSchedule::Warmup { steps, then } => {
                if *steps == 0 {
                    return Err(OptimError::Hyperparameter {
                        field: "steps",
                        value: 0.0,
                        reason: "warm-up needs at least one step",
                    });
                }
                then.validate()
            }
        }
    }

    /// The learning rate at step `t` for base rate `lr0`.
    pub fn lr_at(&self, lr0: f64, t: u64) -> f64 {
        match self {
            LrSchedule::Constant => lr0,
            LrSchedule::Step { step_size, gamma } => lr0 * gamma.powi((t / step_size) as i32),
            LrSchedule::Cosine { t_max, eta_min } => {
                let frac = t.min(*t_max) as f64 / *t_max as f64;
                eta_min + (lr0 - eta_min) * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos())
            }
            LrSchedule::Warmup { steps, then } => {
                if t < *steps {
                    lr0 * (t + 1) as f64 / *steps as f64
                } else {
                    then.lr_at(lr0, t - steps)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_formulas() {
        let s = LrSchedule::Step { step_size: 3, gamma: 0.5 };
        let lrs: Vec<f64> = (0..7).map(|t| s.lr_at(1.0, t)).collect();
        assert_eq!(lrs, vec![1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
        let c = LrSchedule::Cosine { t_max: 4, eta_min: 0.0 };
        // cos(pi/4) = sqrt(2)/2: lr(1) = (1 + sqrt(2)/2) / 2
        assert!((c.lr_at(2.0, 1) - (1.0 + std::f64::consts::FRAC_1_SQRT_2)).abs() < 1e-15);
        assert_eq!(c.lr_at(2.0, 2), 1.0);
        assert!(c.lr_at(2.0, 4).abs() < 1e-15);
        assert!(c.lr_at(2.0, 9).abs() < 1e-15);
        let w = LrSchedule::Warmup { steps: 4, then: Box::new(LrSchedule::Constant) };
        assert_eq!((0..6).map(|t| w.lr_at(1.0, t)).collect::<Vec<_>>(), vec![0.25, 0.5, 0.75, 1.0, 1.0, 1.0]);
        assert!(LrSchedule::Step { step_size: 0, gamma: 0.1 }.validate().is_err());
        let parsed: LrSchedule = serde_json::from_str(r#"{"kind":"cosine","t_max":10,"eta_min":0.0}"#).unwrap();
        assert_eq!(parsed, LrSchedule::Cosine { t_max: 10, eta_min: 0.0 });
    }
}
