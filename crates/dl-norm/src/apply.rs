//! Applying a [`Normalizer`] to a variable: with batch statistics (the [`Normalize`]
//! primitive) or with given statistics (running statistics in evaluation mode).
//!
//! The input is reshaped to its grouped shape, permuted if its kept axes are not contiguous,
//! viewed as `(a, s, b)`, normalised, and brought back to its own shape. All of these steps
//! are differentiable `Var` operations, so the output's gradient reaches `x` and the
//! per-statistic affine parameters.

use dl_autodiff::Var;
use dl_layers::{LayerError, Result};
use dl_tensor::{Element, Tensor, cst};

use crate::kernels::Moments;
use crate::primitive::Normalize;
use crate::spec::{Normalizer, Plan};

/// Where the statistics come from.
#[derive(Clone, Copy, Debug)]
pub enum Statistics<'a, T> {
    /// Computed from the input (training mode, or a method without running statistics).
    Batch,
    /// Given per statistic (length `s`): a mean and a biased variance, e.g. running ones.
    Given {
        /// The mean `mu_j` of each statistic `j` (length `s`).
        mean: &'a [T],
        /// The biased variance `var_j` of each statistic `j` (length `s`).
        var: &'a [T],
    },
}

/// The result of [`Normalizer::apply`].
pub struct Normalized<T: Element> {
    /// `x̂`, or `gamma x̂ + beta` with the per-statistic affine parameters, in `x`'s shape.
    pub output: Var<T>,
    /// The batch mean and biased variance (for [`Statistics::Batch`]).
    pub batch: Option<Moments<T>>,
    /// The resolved plan (view sizes, statistic shape).
    pub plan: Plan,
}

impl Normalizer {
    /// Normalises `x` over the spec's reduced axes. `affine`, if given, is a scale and a
    /// shift with one value per statistic (`plan.view.s` values, e.g. per channel for batch
    /// norm); affine parameters laid out otherwise are applied by the caller. `layer`
    /// names the caller in errors.
    pub fn apply<T: Element>(
        &self,
        layer: &str,
        x: &Var<T>,
        stats: Statistics<'_, T>,
        affine: Option<(&Var<T>, &Var<T>)>,
    ) -> Result<Normalized<T>> {
        let plan = self.plan(layer, x.shape())?;
        let view = plan.view;
        let mut h = x.reshape(&plan.grouped_shape)?;
        if let Some(perm) = &plan.perm {
            h = h.permute(perm)?;
        }
        let permuted_shape = h.shape().to_vec();
        let h = h.reshape(&[view.a, view.s, view.b])?;
        let affine = match affine {
            Some((g, b)) => {
                if g.value().numel() != view.s || b.value().numel() != view.s {
                    let expected = format!(
                        "a scale and shift with one value per statistic ({} values), got {:?} and {:?} for",
                        view.s,
                        g.shape(),
                        b.shape()
                    );
                    return Err(LayerError::layer(layer, expected, x.shape()));
                }
                Some((g.reshape(&[view.s])?, b.reshape(&[view.s])?))
            }
            None => None,
        };
        let (y, batch) = match stats {
            Statistics::Batch => {
                let op = Normalize::new(self.centred, self.eps, affine.is_some());
                let handle = op.stats_handle();
                let y = match &affine {
                    Some((g, b)) => Var::apply(op, &[&h, g, b])?,
                    None => Var::apply(op, &[&h])?,
                };
                let batch = handle.borrow().clone();
                (y, batch)
            }
            Statistics::Given { mean, var } => {
                if mean.len() != view.s || var.len() != view.s {
                    let expected = format!(
                        "statistics with {} values, got {} means and {} variances for",
                        view.s,
                        mean.len(),
                        var.len()
                    );
                    return Err(LayerError::layer(layer, expected, x.shape()));
                }
                // y = (x - mu) r with constants: the Jacobian is the diagonal r.
                let inv_std: Vec<T> = var.iter().map(|&v| T::one() / (v + cst(self.eps)).sqrt()).collect();
                let shift = if self.centred { mean.to_vec() } else { vec![T::zero(); view.s] };
                let per_stat = |v: Vec<T>| Tensor::from_vec(v, &[1, view.s, 1]).map(Var::constant);
                let mut y = h.sub(&per_stat(shift)?)?.mul(&per_stat(inv_std)?)?;
                if let Some((g, b)) = &affine {
                    y = y.mul(&g.reshape(&[1, view.s, 1])?)?.add(&b.reshape(&[1, view.s, 1])?)?;
                }
                (y, None)
            }
        };
        let mut y = y.reshape(&permuted_shape)?;
        if let Some(perm) = &plan.perm {
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            y = y.permute(&inverse)?;
        }
        let output = y.reshape(x.shape())?;
        Ok(Normalized { output, batch, plan })
    }
}
