//! Grokking: generalisation long after memorisation (Power, Burda, Edwards, Babuschkin &
//! Misra 2022, "Grokking: Generalization beyond overfitting on small algorithmic
//! datasets"), and the progress measures that explain it (Nanda, Chan, Lieberum, Smith &
//! Steinhardt 2023).
//!
//! A network trained on a fraction of the table of `a + b mod p` with weight decay first
//! fits its training pairs (training accuracy 100%) while the test accuracy stays near
//! chance, and much later, without any change of the training loss to speak of, the test
//! accuracy climbs to 100%. Power et al. (Figure 1) report the time to generalise growing
//! steeply as the training fraction falls, and weight decay as the intervention that
//! shortens it most (Figure 2). Nanda et al. show what happens meanwhile: the weight norm
//! falls, and the embeddings concentrate on a few key Fourier frequencies.
//!
//! | file | holds |
//! | --- | --- |
//! | `fourier` | [`FourierSpectrum`]: the energy of an embedding per frequency of `Z_p`, key frequencies, top-k fraction, participation ratio |
//! | here | [`first_crossing`] and [`GrokkingDelay`]: when a curve first reaches a threshold, and the ratio of the times at which training and test accuracy do |
//!
//! ```
//! use dl_theory::grokking::GrokkingDelay;
//! let steps = [0, 100, 200, 300, 400, 500];
//! let train = [0.1, 0.6, 1.0, 1.0, 1.0, 1.0];
//! let test = [0.0, 0.01, 0.02, 0.1, 0.97, 1.0];
//! let d = GrokkingDelay::measure(&steps, &train, &test, 0.99, 0.95)?;
//! assert_eq!((d.train_step, d.test_step), (Some(200), Some(400)));
//! assert_eq!(d.ratio(), Some(2.0));
//! # Ok::<(), dl_theory::grokking::GrokkingError>(())
//! ```

mod fourier;

pub use fourier::FourierSpectrum;

/// What can go wrong in the grokking measures.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GrokkingError {
    /// An argument outside its domain.
    #[error("{op}: {detail}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What is wrong, with the values.
        detail: String,
    },
}

/// The first step at which `values` reaches `threshold` (`values[i] >= threshold`), or
/// `None` if it never does. `steps` must be increasing and as long as `values`; NaN values
/// never count as reaching.
pub fn first_crossing(steps: &[u64], values: &[f64], threshold: f64) -> Result<Option<u64>, GrokkingError> {
    let op = "first_crossing";
    if steps.len() != values.len() {
        return Err(GrokkingError::Invalid {
            op,
            detail: format!("{} steps for {} values", steps.len(), values.len()),
        });
    }
    if let Some(w) = steps.windows(2).position(|w| w[1] <= w[0]) {
        return Err(GrokkingError::Invalid {
            op,
            detail: format!("steps must increase, but step {} is followed by {}", steps[w], steps[w + 1]),
        });
    }
    if threshold.is_nan() {
        return Err(GrokkingError::Invalid { op, detail: "the threshold is NaN".into() });
    }
    Ok(steps.iter().zip(values).find(|(_, v)| **v >= threshold).map(|(s, _)| *s))
}

/// When training accuracy and test accuracy first reach their thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrokkingDelay {
    /// First step with training accuracy at or above the training threshold.
    pub train_step: Option<u64>,
    /// First step with test accuracy at or above the test threshold.
    pub test_step: Option<u64>,
}

impl GrokkingDelay {
    /// The crossings of `train` (at `train_threshold`) and `test` (at `test_threshold`),
    /// both recorded at `steps`.
    pub fn measure(
        steps: &[u64],
        train: &[f64],
        test: &[f64],
        train_threshold: f64,
        test_threshold: f64,
    ) -> Result<Self, GrokkingError> {
        Ok(GrokkingDelay {
            train_step: first_crossing(steps, train, train_threshold)?,
            test_step: first_crossing(steps, test, test_threshold)?,
        })
    }

    /// `test_step / train_step`: how many times longer generalisation took than fitting
    /// (`None` if either never happened; a training crossing at step 0 counts as step 1).
    pub fn ratio(&self) -> Option<f64> {
        Some(self.test_step? as f64 / self.train_step?.max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_and_ratios() {
        let steps = [0, 10, 20, 30];
        assert_eq!(first_crossing(&steps, &[0.0, 0.5, f64::NAN, 0.9], 0.9).unwrap(), Some(30));
        assert_eq!(first_crossing(&steps, &[0.0, 0.5, 0.2, 0.3], 0.9).unwrap(), None);
        assert_eq!(first_crossing(&steps, &[1.0, 0.5, 0.2, 0.3], 0.9).unwrap(), Some(0));
        let d = GrokkingDelay { train_step: Some(0), test_step: Some(30) };
        assert_eq!(d.ratio(), Some(30.0));
        assert_eq!(GrokkingDelay { train_step: Some(5), test_step: None }.ratio(), None);
    }

    #[test]
    fn bad_curves_are_named() {
        let e = first_crossing(&[0, 10], &[0.0], 0.5).unwrap_err().to_string();
        assert!(e.contains("2 steps for 1 values"), "{e}");
        let e = first_crossing(&[0, 10, 10], &[0.0; 3], 0.5).unwrap_err().to_string();
        assert!(e.contains("step 10 is followed by 10"), "{e}");
        assert!(first_crossing(&[0], &[0.0], f64::NAN).is_err());
    }
}
