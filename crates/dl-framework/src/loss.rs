//! The training objective, and the loss and accuracy of a network on a dataset
//! ([`evaluate`], shared by the trainer, its monitors and the theoretical analysis).

use dl_autodiff::{Var, no_grad};
use dl_layers::Module;
use dl_tensor::Element;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{FrameworkError, Result};
use crate::network::Network;

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

pub(crate) fn labels_of<T: Element>(data: &Dataset<T>, what: &str) -> Result<Vec<usize>> {
    data.labels()
        .map(<[usize]>::to_vec)
        .ok_or_else(|| FrameworkError::DataMismatch(format!("{what} needs class labels, got regression targets")))
}

/// Mean loss and accuracy of `network` on `data`, in batches of `batch_size`, without
/// recording a graph. The network should be in evaluation mode.
pub fn evaluate<T: Element>(
    network: &Network<T>,
    data: &Dataset<T>,
    loss: &Loss,
    batch_size: usize,
) -> Result<(f64, f64)> {
    let labels = labels_of(data, "evaluation")?;
    network.check_input(data.features().shape())?;
    let (mut total, mut correct) = (0.0, 0.0);
    for batch in data.batches::<dl_tensor::TensorRng>(batch_size.max(1), None)? {
        let y = labels_of(&batch, "evaluation")?;
        let logits = no_grad(|| network.forward(&Var::constant(batch.features().clone())))?;
        let l = no_grad(|| loss.apply(&logits, &y))?;
        total += l.value().item()?.to_f64_exact() * y.len() as f64;
        correct += accuracy(logits.value(), &y) * y.len() as f64;
    }
    let n = labels.len().max(1) as f64;
    Ok((total / n, correct / n))
}
