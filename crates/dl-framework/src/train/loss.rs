//! The training objective.

use dl_autodiff::Var;
use dl_tensor::Element;
use serde::{Deserialize, Serialize};

use crate::error::{FrameworkError, Result};

/// The loss a classifier is trained on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Loss {
    /// Mean softmax cross-entropy of logits `(N, C)` against labels, with PyTorch's label
    /// smoothing `eps`: targets `(1 - eps) onehot + eps / C`.
    CrossEntropy {
        /// Label smoothing in [0, 1] (0 for none).
        #[serde(default)]
        label_smoothing: f64,
    },
}

impl Default for Loss {
    fn default() -> Self {
        Loss::CrossEntropy { label_smoothing: 0.0 }
    }
}

impl Loss {
    /// The loss of `logits` against `labels`.
    pub fn apply<T: Element>(&self, logits: &Var<T>, labels: &[usize]) -> Result<Var<T>> {
        match *self {
            Loss::CrossEntropy { label_smoothing } => Ok(dl_layers::cross_entropy(logits, labels, label_smoothing)?),
        }
    }

    /// Checks the loss's own parameters; errors name the field.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Loss::CrossEntropy { label_smoothing } if !(0.0..=1.0).contains(&label_smoothing) => Err(
                FrameworkError::config("loss.label_smoothing", format!("must lie in [0, 1], got {label_smoothing}")),
            ),
            _ => Ok(()),
        }
    }
}

/// The fraction of rows of `logits (N, C)` whose largest entry is at the label (ties go
/// to the first index, as `argmax` does in NumPy and PyTorch).
pub fn accuracy<T: Element>(logits: &dl_tensor::Tensor<T>, labels: &[usize]) -> f64 {
    let c = logits.shape().last().copied().unwrap_or(1).max(1);
    let v = logits.contiguous().to_vec();
    let correct = v
        .chunks_exact(c)
        .zip(labels)
        .filter(|(row, l)| {
            let mut best = 0;
            for (j, x) in row.iter().enumerate() {
                if *x > row[best] {
                    best = j;
                }
            }
            best == **l
        })
        .count();
    if labels.is_empty() { 0.0 } else { correct as f64 / labels.len() as f64 }
}
