//! The softmax family, all computed stably (the lane maximum is subtracted first).
//!
//! With `p = softmax(x)` along an axis and `⟨a⟩ = sum of a along that axis (kept)`:
//!
//! | op | VJP | JVP |
//! | --- | --- | --- |
//! | `softmax` | `p ⊙ (u - ⟨u ⊙ p⟩)` | `p ⊙ (t - ⟨t ⊙ p⟩)` |
//! | `log_softmax` | `u - p ⟨u⟩` | `t - ⟨t ⊙ p⟩` |
//! | `softmax_cross_entropy` | `u (p - onehot(y)) / n` | `mean_i(⟨t_i ⊙ p_i⟩ - t_i[y_i])` |
//!
//! `softmax_cross_entropy(logits (n, c), labels)` is the mean over rows of
//! `logsumexp(x_i) - x_i[y_i]`, fused so that its VJP is the single expression
//! `(softmax - onehot) / n` instead of a chain of log-softmax and gather rules.

use dl_tensor::{Element, Tensor, TensorError};

use crate::error::Result;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// Softmax along `axis`.
pub struct Softmax {
    /// The axis the lanes run along; negative values count from the last axis.
    pub axis: isize,
}
/// Log-softmax along `axis`.
pub struct LogSoftmax {
    /// The axis the lanes run along; negative values count from the last axis.
    pub axis: isize,
}
/// Mean softmax cross-entropy of logits `(n, c)` against integer labels.
pub struct SoftmaxCrossEntropy {
    /// The class label `y_i ∈ [0, c)` of each of the `n` rows.
    pub labels: Vec<usize>,
}

impl<T: Element> Primitive<T> for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].softmax(self.axis)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let p = ctx.output;
        let up = u.mul(p)?;
        let s = up.sum_axes(&[self.axis], true)?;
        Ok(vec![Some(up.sub(&p.mul(&s)?)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let Some(t) = t[0] else { return Ok(Tensor::zeros(ctx.output.shape())) };
        let p = ctx.output;
        let tp = t.mul(p)?;
        Ok(tp.sub(&p.mul(&tp.sum_axes(&[self.axis], true)?)?)?)
    }
}

impl<T: Element> Primitive<T> for LogSoftmax {
    fn name(&self) -> &'static str {
        "log_softmax"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].log_softmax(self.axis)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let p = ctx.output.exp()?;
        Ok(vec![Some(u.sub(&p.mul(&u.sum_axes(&[self.axis], true)?)?)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let Some(t) = t[0] else { return Ok(Tensor::zeros(ctx.output.shape())) };
        let p = ctx.output.exp();
        Ok(t.sub(&t.mul(&p)?.sum_axes(&[self.axis], true)?)?)
    }
}

impl SoftmaxCrossEntropy {
    fn check<T: Element>(&self, x: &Tensor<T>) -> Result<(usize, usize)> {
        let s = x.shape();
        if s.len() != 2 || s[0] != self.labels.len() || s[0] == 0 {
            return Err(TensorError::ShapeMismatch {
                op: "softmax_cross_entropy",
                lhs: s.to_vec(),
                rhs: vec![self.labels.len()],
                dim: 0,
                detail: "logits must be (n, classes) with n > 0 and one label per row".into(),
            }
            .into());
        }
        if let Some(&bad) = self.labels.iter().find(|&&l| l >= s[1]) {
            return Err(TensorError::IndexOutOfBounds {
                op: "softmax_cross_entropy",
                index: bad,
                axis: 1,
                size: s[1],
                shape: s.to_vec(),
            }
            .into());
        }
        Ok((s[0], s[1]))
    }

    fn onehot<T: Element>(&self, n: usize, c: usize) -> Tensor<T> {
        let mut v = vec![T::zero(); n * c];
        for (i, &l) in self.labels.iter().enumerate() {
            v[i * c + l] = T::one();
        }
        Tensor::from_vec(v, &[n, c]).expect("n * c values")
    }
}

impl<T: Element> Primitive<T> for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (n, c) = self.check(x[0])?;
        let x = x[0].contiguous();
        let data = x.as_slice().expect("contiguous");
        let mut total = T::zero();
        for (row, &label) in data.chunks_exact(c).zip(&self.labels) {
            let m = row.iter().copied().fold(T::neg_infinity(), T::max);
            let m = if m.is_finite() { m } else { T::zero() };
            let s: T = row.iter().map(|&v| (v - m).exp()).sum();
            total += m + s.ln() - row[label];
        }
        Ok(Tensor::scalar(total / T::from_usize(n).expect("n fits")))
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let x = ctx.input(0);
        let (n, c) = self.check(x.value())?;
        let scale = u.div_scalar(T::from_usize(n).expect("n fits"))?;
        let g = x.softmax(-1)?.sub(&Var::constant(self.onehot(n, c)))?.mul(&scale)?;
        Ok(vec![Some(g)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let Some(t) = t[0] else { return Ok(Tensor::zeros(&[])) };
        let (n, c) = self.check(ctx.inputs[0])?;
        let p = ctx.inputs[0].softmax(-1)?;
        let d = t.mul(&p.sub(&self.onehot(n, c))?)?;
        Ok(Tensor::scalar(d.sum_all() / T::from_usize(n).expect("n fits")))
    }
}

impl<T: Element> Var<T> {
    /// Softmax along `axis`.
    pub fn softmax(&self, axis: isize) -> Result<Var<T>> {
        Var::apply(Softmax { axis }, &[self])
    }
    /// Log-softmax along `axis`.
    pub fn log_softmax(&self, axis: isize) -> Result<Var<T>> {
        Var::apply(LogSoftmax { axis }, &[self])
    }
    /// Mean cross-entropy of logits `(n, classes)` against `labels` (one per row), fused
    /// and stable; a 0-d result.
    pub fn softmax_cross_entropy(&self, labels: &[usize]) -> Result<Var<T>> {
        Var::apply(SoftmaxCrossEntropy { labels: labels.to_vec() }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_equals_log_softmax_and_gather() {
        let x = Tensor::<f64>::from_vec(vec![1.0, -2.0, 0.5, 3.0, 0.0, -1.0], &[2, 3]).unwrap();
        let labels = [2usize, 0];
        let a = Var::leaf(x.clone(), true);
        let fused = a.softmax_cross_entropy(&labels).unwrap();
        let b = Var::leaf(x, true);
        let idx = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 1]), labels.to_vec()).unwrap();
        let composed = b.log_softmax(-1).unwrap().gather(1, &idx).unwrap().mean_all().unwrap().neg().unwrap();
        assert!((fused.value().item().unwrap() - composed.value().item().unwrap()).abs() < 1e-15);
        let ga = fused.backward().unwrap();
        let gb = composed.backward().unwrap();
        dl_tensor::assert_close(ga.get(&a).unwrap(), gb.get(&b).unwrap(), dl_tensor::Tolerance::new(1e-14, 1e-15));
    }

    #[test]
    fn cross_entropy_is_finite_at_extreme_logits_and_checks_labels() {
        let x = Var::leaf(Tensor::<f32>::from_vec(vec![1e4, -1e4], &[1, 2]).unwrap(), true);
        assert_eq!(x.softmax_cross_entropy(&[0]).unwrap().value().item().unwrap(), 0.0);
        assert!(x.softmax_cross_entropy(&[2]).is_err());
        assert!(x.softmax_cross_entropy(&[0, 1]).is_err());
    }
}
