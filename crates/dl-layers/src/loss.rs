//! Losses, each the mean over the batch.
//!
//! - [`mse`]: `mean((pred - target)^2)`.
//! - [`cross_entropy`]: softmax cross-entropy of logits `(N, C)` against integer labels,
//!   with optional label smoothing `eps` (PyTorch's definition: the target distribution is
//!   `(1 - eps) onehot + eps / C`, so the loss is `(1 - eps) CE + eps mean_c(-log p_c)`).
//!   It works on `log_softmax`, so logits of ±1e4 give finite, exact values.
//! - [`bce_with_logits`]: binary cross-entropy of logits `x` against targets `y` in [0, 1],
//!   in the stable form `softplus(x) - x y = max(x, 0) - x y + log(1 + e^{-|x|})`, whose
//!   gradient `sigmoid(x) - y` is exact everywhere (including `x = 0`).

use dl_autodiff::Var;
use dl_tensor::{Element, cst};
use ndarray::{ArrayD, IxDyn};

use crate::error::{LayerError, Result};

/// Mean squared error.
pub fn mse<T: Element>(pred: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    if pred.shape() != target.shape() {
        return Err(LayerError::layer("mse", format!("a target of the prediction's shape {:?}", pred.shape()), target.shape()));
    }
    Ok(pred.sub(target)?.square()?.mean_all()?)
}

/// Softmax cross-entropy of `logits (N, C)` against `labels` (N values in `0..C`), with
/// label smoothing `eps` in `[0, 1]` (0 for none).
pub fn cross_entropy<T: Element>(logits: &Var<T>, labels: &[usize], label_smoothing: f64) -> Result<Var<T>> {
    let s = logits.shape();
    if s.len() != 2 {
        return Err(LayerError::layer("cross_entropy", "logits (N, classes)", s));
    }
    let (n, c) = (s[0], s[1]);
    if labels.len() != n {
        return Err(LayerError::config("cross_entropy", format!("{} labels for {n} rows of logits {s:?}", labels.len())));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= c) {
        return Err(LayerError::config("cross_entropy", format!("label {l} at row {i} is out of range for {c} classes")));
    }
    if !(0.0..=1.0).contains(&label_smoothing) {
        return Err(LayerError::config("cross_entropy", format!("label_smoothing {label_smoothing} is outside [0, 1]")));
    }
    if label_smoothing == 0.0 {
        return Ok(logits.softmax_cross_entropy(labels)?);
    }
    let logp = logits.log_softmax(-1)?;
    let idx = ArrayD::from_shape_vec(IxDyn(&[n, 1]), labels.to_vec()).expect("n labels");
    let nll = logp.gather(1, &idx)?.mean_all()?.neg()?;
    let uniform = logp.mean_all()?.neg()?; // mean over rows of mean over classes of -log p
    Ok(nll.mul_scalar(cst(1.0 - label_smoothing))?.add(&uniform.mul_scalar(cst(label_smoothing))?)?)
}

/// Binary cross-entropy with logits, averaged over all elements.
pub fn bce_with_logits<T: Element>(logits: &Var<T>, targets: &Var<T>) -> Result<Var<T>> {
    if logits.shape() != targets.shape() {
        return Err(LayerError::layer("bce_with_logits", format!("targets of the logits' shape {:?}", logits.shape()), targets.shape()));
    }
    Ok(logits.softplus()?.sub(&logits.mul(targets)?)?.mean_all()?)
}
