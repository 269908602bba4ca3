//! Losses, with PyTorch's reductions ([`Reduction`]: `mean`, the default, `sum` or `none`).
//!
//! - [`mse`]: `(pred - target)^2` per element.
//! - [`cross_entropy`]: softmax cross-entropy of logits `(N, C)` against integer labels,
//!   per row, with optional label smoothing `eps` (PyTorch's definition: the target
//!   distribution is `(1 - eps) onehot + eps / C`, so a row's loss is
//!   `(1 - eps) (-log p_label) + eps mean_c(-log p_c)`). It works on `log_softmax`, so
//!   logits of ±1e4 give finite, exact values.
//! - [`bce_with_logits`]: binary cross-entropy of logits `x` against targets `y` in [0, 1]
//!   per element, in the stable form `softplus(x) - x y = max(x, 0) - x y + log(1 + e^{-|x|})`,
//!   whose gradient `sigmoid(x) - y` is exact everywhere (including `x = 0`).
//!
//! The plain names reduce by the mean (PyTorch's default); the `_with_reduction` forms take
//! the reduction: `Mean` averages the per-element (per-row, for cross-entropy) losses,
//! `Sum` adds them, `None` returns them, shaped like the prediction (cross-entropy: `(N)`).
//!
//! ```
//! use dl_autodiff::Var;
//! use dl_layers::{Reduction, mse, mse_with_reduction};
//! use dl_tensor::Tensor;
//! let pred = Var::constant(Tensor::<f64>::from_vec(vec![1.0, 2.0, 4.0], &[3])?);
//! let target = Var::constant(Tensor::zeros(&[3]));
//! assert_eq!(mse(&pred, &target)?.value().item()?, 7.0);
//! assert_eq!(mse_with_reduction(&pred, &target, Reduction::Sum)?.value().item()?, 21.0);
//! assert_eq!(mse_with_reduction(&pred, &target, Reduction::None)?.value().to_vec(), vec![1.0, 4.0, 16.0]);
//! # Ok::<(), dl_layers::LayerError>(())
//! ```

use dl_autodiff::Var;
use dl_tensor::{Element, cst};
use ndarray::{ArrayD, IxDyn};

use crate::error::{LayerError, Result};

/// How a loss combines its per-element (per-row) values (PyTorch's `reduction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean (PyTorch's default): a 0-d result.
    #[default]
    Mean,
    /// The sum: a 0-d result.
    Sum,
    /// No reduction: one value per element (per row, for cross-entropy).
    None,
}

impl Reduction {
    fn apply<T: Element>(self, losses: Var<T>) -> Result<Var<T>> {
        Ok(match self {
            Reduction::Mean => losses.mean_all()?,
            Reduction::Sum => losses.sum_all()?,
            Reduction::None => losses,
        })
    }
}

/// Mean squared error (see [`mse_with_reduction`]).
pub fn mse<T: Element>(pred: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    mse_with_reduction(pred, target, Reduction::Mean)
}

/// Squared error `(pred - target)^2`, reduced by `reduction`.
pub fn mse_with_reduction<T: Element>(pred: &Var<T>, target: &Var<T>, reduction: Reduction) -> Result<Var<T>> {
    if pred.shape() != target.shape() {
        return Err(LayerError::layer(
            "mse",
            format!("a target of the prediction's shape {:?}", pred.shape()),
            target.shape(),
        ));
    }
    reduction.apply(pred.sub(target)?.square()?)
}

/// Softmax cross-entropy averaged over the rows (see [`cross_entropy_with_reduction`]).
pub fn cross_entropy<T: Element>(logits: &Var<T>, labels: &[usize], label_smoothing: f64) -> Result<Var<T>> {
    cross_entropy_with_reduction(logits, labels, label_smoothing, Reduction::Mean)
}

/// Softmax cross-entropy of `logits (N, C)` against `labels` (N values in `0..C`), with
/// label smoothing `eps` in `[0, 1]` (0 for none), per row and reduced by `reduction`.
pub fn cross_entropy_with_reduction<T: Element>(
    logits: &Var<T>,
    labels: &[usize],
    label_smoothing: f64,
    reduction: Reduction,
) -> Result<Var<T>> {
    let s = logits.shape();
    if s.len() != 2 {
        return Err(LayerError::layer("cross_entropy", "logits (N, classes)", s));
    }
    let (n, c) = (s[0], s[1]);
    if labels.len() != n {
        return Err(LayerError::config(
            "cross_entropy",
            format!("{} labels for {n} rows of logits {s:?}", labels.len()),
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= c) {
        return Err(LayerError::config(
            "cross_entropy",
            format!("label {l} at row {i} is out of range for {c} classes"),
        ));
    }
    if !(0.0..=1.0).contains(&label_smoothing) {
        return Err(LayerError::config(
            "cross_entropy",
            format!("label_smoothing {label_smoothing} is outside [0, 1]"),
        ));
    }
    if label_smoothing == 0.0 && reduction == Reduction::Mean {
        // the fused primitive (one pass, its own backward)
        return Ok(logits.softmax_cross_entropy(labels)?);
    }
    let logp = logits.log_softmax(-1)?;
    let idx = ArrayD::from_shape_vec(IxDyn(&[n, 1]), labels.to_vec()).expect("n labels");
    let nll = logp.gather(1, &idx)?.reshape(&[n])?.neg()?; // -log p_label per row
    let per_row = if label_smoothing == 0.0 {
        nll
    } else {
        let uniform = logp.mean_axes(&[1], false)?.neg()?; // mean over classes of -log p
        nll.mul_scalar(cst(1.0 - label_smoothing))?.add(&uniform.mul_scalar(cst(label_smoothing))?)?
    };
    reduction.apply(per_row)
}

/// Binary cross-entropy with logits, averaged over all elements (see
/// [`bce_with_logits_with_reduction`]).
pub fn bce_with_logits<T: Element>(logits: &Var<T>, targets: &Var<T>) -> Result<Var<T>> {
    bce_with_logits_with_reduction(logits, targets, Reduction::Mean)
}

/// Binary cross-entropy with logits per element, reduced by `reduction`.
pub fn bce_with_logits_with_reduction<T: Element>(
    logits: &Var<T>,
    targets: &Var<T>,
    reduction: Reduction,
) -> Result<Var<T>> {
    if logits.shape() != targets.shape() {
        return Err(LayerError::layer(
            "bce_with_logits",
            format!("targets of the logits' shape {:?}", logits.shape()),
            targets.shape(),
        ));
    }
    reduction.apply(logits.softplus()?.sub(&logits.mul(targets)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::{Tensor, seeded_rng};

    /// Every loss and reduction against direct loops over the elements (values), and the
    /// gradient of the sum against the sum of the per-element gradients written out:
    /// mse 2 (p - t), bce sigmoid(x) - y, cross-entropy softmax - target distribution.
    #[test]
    fn reductions_match_direct_loops() {
        let mut rng = seeded_rng(4);
        let (n, c) = (5, 4);
        let logits = Tensor::<f64>::randn(&[n, c], &mut rng).mul_scalar(3.0);
        let labels = [2, 0, 3, 3, 1];
        let tol = Tolerance::new(1e-13, 1e-15);
        for eps in [0.0, 0.1] {
            let mut per_row = Vec::new();
            let mut grad = vec![0.0; n * c];
            let v = logits.to_vec();
            for i in 0..n {
                let row = &v[i * c..(i + 1) * c];
                let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + row.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
                let logp: Vec<f64> = row.iter().map(|x| x - lse).collect();
                let smooth = logp.iter().map(|l| -l).sum::<f64>() / c as f64;
                per_row.push((1.0 - eps) * -logp[labels[i]] + eps * smooth);
                for k in 0..c {
                    let target = (1.0 - eps) * f64::from(u8::from(k == labels[i])) + eps / c as f64;
                    grad[i * c + k] = logp[k].exp() - target;
                }
            }
            let x = Var::leaf(logits.clone(), true);
            let none = cross_entropy_with_reduction(&x, &labels, eps, Reduction::None).unwrap();
            assert_eq!(none.shape(), &[n]);
            assert_close_slices(&none.value().to_vec(), &per_row, tol);
            let sum = cross_entropy_with_reduction(&x, &labels, eps, Reduction::Sum).unwrap();
            assert_close_slices(&[sum.value().item().unwrap()], &[per_row.iter().sum()], tol);
            let mean = cross_entropy(&x, &labels, eps).unwrap();
            assert_close_slices(&[mean.value().item().unwrap()], &[per_row.iter().sum::<f64>() / n as f64], tol);
            let g = sum.backward().unwrap();
            assert_close_slices(&g.get(&x).unwrap().to_vec(), &grad, tol);
        }
        let p = Tensor::<f64>::randn(&[3, 2], &mut rng);
        let t = Tensor::<f64>::rand_uniform(&[3, 2], 0.0, 1.0, &mut rng).unwrap();
        let (pv, tv) = (p.to_vec(), t.to_vec());
        let sq: Vec<f64> = pv.iter().zip(&tv).map(|(a, b)| (a - b) * (a - b)).collect();
        let bce: Vec<f64> = pv.iter().zip(&tv).map(|(x, y)| x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()).collect();
        let (xp, xt) = (Var::leaf(p.clone(), true), Var::constant(t.clone()));
        for (loss, expect) in [
            (mse_with_reduction(&xp, &xt, Reduction::None).unwrap(), sq.clone()),
            (bce_with_logits_with_reduction(&xp, &xt, Reduction::None).unwrap(), bce.clone()),
        ] {
            assert_eq!(loss.shape(), &[3, 2]);
            assert_close_slices(&loss.value().to_vec(), &expect, tol);
        }
        let total = |v: &[f64]| v.iter().sum::<f64>();
        let s = mse_with_reduction(&xp, &xt, Reduction::Sum).unwrap();
        assert_close_slices(&[s.value().item().unwrap()], &[total(&sq)], tol);
        let g: Vec<f64> = pv.iter().zip(&tv).map(|(a, b)| 2.0 * (a - b)).collect();
        assert_close_slices(&s.backward().unwrap().get(&xp).unwrap().to_vec(), &g, tol);
        let s = bce_with_logits_with_reduction(&xp, &xt, Reduction::Sum).unwrap();
        assert_close_slices(&[s.value().item().unwrap()], &[total(&bce)], tol);
        let g: Vec<f64> = pv.iter().zip(&tv).map(|(x, y)| 1.0 / (1.0 + (-x).exp()) - y).collect();
        assert_close_slices(&s.backward().unwrap().get(&xp).unwrap().to_vec(), &g, tol);
        let m = bce_with_logits(&xp, &xt).unwrap();
        assert_close_slices(&[m.value().item().unwrap()], &[total(&bce) / 6.0], tol);
        let m = mse(&xp, &xt).unwrap();
        assert_close_slices(&[m.value().item().unwrap()], &[total(&sq) / 6.0], tol);
    }
}
