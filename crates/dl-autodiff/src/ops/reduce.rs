//! Reductions over a set of axes (empty = all), with or without `keepdim`.
//!
//! Writing `b(·)` for "reshape to keepdim shape and broadcast back to the input's shape":
//!
//! | op | VJP | JVP |
//! | --- | --- | --- |
//! | `sum` | `b(u)` | `sum(t)` |
//! | `mean` | `b(u) / n` | `mean(t)` |
//! | `max` | `b(u) ⊙ m`, where `m` marks the maxima (ties share equally) | `sum(t ⊙ m)` |
//! | `logsumexp` | `b(u) ⊙ exp(x - b(y))` (the softmax) | `sum(t ⊙ softmax)` |
//!
//! `max` is the max-based selection behind max-pooling: the gradient goes to the selected
//! element only. With a tie, `m` splits it equally between the tied elements (the convention
//! of PyTorch's `amax`), which keeps the VJP and the JVP adjoint to each other.

use dl_tensor::{Element, Tensor};

use crate::error::Result;
use crate::ops::keepdim_shape;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// Sum over `axes`.
pub struct SumAxes {
    /// The axes reduced over (negative values count from the end); empty means all axes.
    pub axes: Vec<isize>,
    /// Whether the reduced axes are kept with length 1 (`true`) or dropped (`false`).
    pub keepdim: bool,
}
/// Mean over `axes`.
pub struct MeanAxes {
    /// The axes reduced over (negative values count from the end); empty means all axes.
    pub axes: Vec<isize>,
    /// Whether the reduced axes are kept with length 1 (`true`) or dropped (`false`).
    pub keepdim: bool,
}
/// Maximum over `axes`.
pub struct MaxAxes {
    /// The axes reduced over (negative values count from the end); empty means all axes.
    pub axes: Vec<isize>,
    /// Whether the reduced axes are kept with length 1 (`true`) or dropped (`false`).
    pub keepdim: bool,
}
/// log(sum(exp(x))) over `axes`, stable.
pub struct LogSumExp {
    /// The axes reduced over (negative values count from the end); empty means all axes.
    pub axes: Vec<isize>,
    /// Whether the reduced axes are kept with length 1 (`true`) or dropped (`false`).
    pub keepdim: bool,
}

/// `u` (a reduction's cotangent) spread back over the reduced axes.
fn spread<T: Element>(u: &Var<T>, x_shape: &[usize], axes: &[isize]) -> Result<Var<T>> {
    let keep = keepdim_shape("reduce", x_shape, axes)?;
    u.reshape(&keep)?.broadcast_to(x_shape)
}

fn count<T: Element>(shape: &[usize], axes: &[isize]) -> Result<T> {
    let keep = keepdim_shape("mean", shape, axes)?;
    let n: usize = shape.iter().product::<usize>() / keep.iter().product::<usize>().max(1);
    Ok(T::from_usize(n).expect("count fits"))
}

/// The maxima mask, normalised so that each reduced lane sums to 1.
fn max_mask<T: Element>(x: &Tensor<T>, y: &Tensor<T>, axes: &[isize]) -> Result<Tensor<T>> {
    let keep = keepdim_shape("max", x.shape(), axes)?;
    let hits = x.eq_mask(&y.reshape(&keep)?)?;
    let counts = hits.sum_axes(axes, true)?;
    Ok(hits.div(&counts)?)
}

impl<T: Element> Primitive<T> for SumAxes {
    fn name(&self) -> &'static str {
        "sum"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].sum_axes(&self.axes, self.keepdim)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(spread(u, ctx.value(0).shape(), &self.axes)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(match t[0] {
            Some(t) => t.sum_axes(&self.axes, self.keepdim)?,
            None => Tensor::zeros(ctx.output.shape()),
        })
    }
}

impl<T: Element> Primitive<T> for MeanAxes {
    fn name(&self) -> &'static str {
        "mean"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].mean_axes(&self.axes, self.keepdim)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let n: T = count(ctx.value(0).shape(), &self.axes)?;
        Ok(vec![Some(spread(u, ctx.value(0).shape(), &self.axes)?.div_scalar(n)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(match t[0] {
            Some(t) => t.mean_axes(&self.axes, self.keepdim)?,
            None => Tensor::zeros(ctx.output.shape()),
        })
    }
}

impl<T: Element> Primitive<T> for MaxAxes {
    fn name(&self) -> &'static str {
        "max"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].max_axes(&self.axes, self.keepdim)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let m = max_mask(ctx.value(0), ctx.output.value(), &self.axes)?;
        Ok(vec![Some(spread(u, ctx.value(0).shape(), &self.axes)?.mul(&Var::constant(m))?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let Some(t) = t[0] else { return Ok(Tensor::zeros(ctx.output.shape())) };
        let m = max_mask(ctx.inputs[0], ctx.output, &self.axes)?;
        Ok(t.mul(&m)?.sum_axes(&self.axes, self.keepdim)?)
    }
}

impl<T: Element> Primitive<T> for LogSumExp {
    fn name(&self) -> &'static str {
        "logsumexp"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].logsumexp(&self.axes, self.keepdim)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let x = ctx.input(0);
        let keep = keepdim_shape("logsumexp", x.shape(), &self.axes)?;
        let p = x.sub(&ctx.output.reshape(&keep)?)?.exp()?;
        Ok(vec![Some(p.mul(&u.reshape(&keep)?)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let Some(t) = t[0] else { return Ok(Tensor::zeros(ctx.output.shape())) };
        let x = ctx.inputs[0];
        let keep = keepdim_shape("logsumexp", x.shape(), &self.axes)?;
        let p = x.sub(&ctx.output.reshape(&keep)?)?.exp();
        Ok(t.mul(&p)?.sum_axes(&self.axes, self.keepdim)?)
    }
}

impl<T: Element> Var<T> {
    /// Sum over `axes` (all if empty).
    pub fn sum_axes(&self, axes: &[isize], keepdim: bool) -> Result<Var<T>> {
        Var::apply(SumAxes { axes: axes.to_vec(), keepdim }, &[self])
    }
    /// Sum of all elements (a 0-d result).
    pub fn sum_all(&self) -> Result<Var<T>> {
        self.sum_axes(&[], false)
    }
    /// Mean over `axes` (all if empty).
    pub fn mean_axes(&self, axes: &[isize], keepdim: bool) -> Result<Var<T>> {
        Var::apply(MeanAxes { axes: axes.to_vec(), keepdim }, &[self])
    }
    /// Mean of all elements (a 0-d result).
    pub fn mean_all(&self) -> Result<Var<T>> {
        self.mean_axes(&[], false)
    }
    /// Maximum over `axes` (all if empty); the gradient flows to the maxima.
    pub fn max_axes(&self, axes: &[isize], keepdim: bool) -> Result<Var<T>> {
        Var::apply(MaxAxes { axes: axes.to_vec(), keepdim }, &[self])
    }
    /// log(sum(exp(x))) over `axes`, stable.
    pub fn logsumexp(&self, axes: &[isize], keepdim: bool) -> Result<Var<T>> {
        Var::apply(LogSumExp { axes: axes.to_vec(), keepdim }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_sends_the_gradient_to_the_maximum_and_splits_ties() {
        let x = Var::leaf(Tensor::<f64>::from_vec(vec![1., 5., 2., 3., 3., 0.], &[2, 3]).unwrap(), true);
        let g = x.max_axes(&[1], false).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec(), vec![0., 1., 0., 0.5, 0.5, 0.]);
    }

    #[test]
    fn mean_gradient_is_one_over_n() {
        let x = Var::leaf(Tensor::<f64>::ones(&[2, 4]), true);
        let g = x.mean_axes(&[0], false).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec(), vec![0.5; 8]);
    }

    #[test]
    fn two_by_two_max_pooling_routes_the_gradient_to_each_window_maximum() {
        // (1, 1, 4, 4) -> (1, 1, 2, 2, 2, 2) -> max over the two window axes
        let v: Vec<f64> = (0..16).map(|i| ((i * 7) % 16) as f64).collect();
        let x = Var::leaf(Tensor::from_vec(v.clone(), &[1, 1, 4, 4]).unwrap(), true);
        let pooled = x.reshape(&[1, 1, 2, 2, 2, 2]).unwrap().max_axes(&[3, 5], false).unwrap();
        let w = Var::constant(Tensor::from_vec(vec![1., 2., 3., 4.], &[1, 1, 2, 2]).unwrap());
        let g = pooled.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        // naive: for each window, the weight goes to the position of its maximum
        let mut expect = vec![0.0; 16];
        for (wi, (bi, bj)) in [(0, 0), (0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
            let cells = [(2 * bi, 2 * bj), (2 * bi, 2 * bj + 1), (2 * bi + 1, 2 * bj), (2 * bi + 1, 2 * bj + 1)];
            let best = cells.iter().max_by(|a, b| v[a.0 * 4 + a.1].total_cmp(&v[b.0 * 4 + b.1])).unwrap();
            expect[best.0 * 4 + best.1] = (wi + 1) as f64;
            assert_eq!(pooled.value().to_vec()[wi], v[best.0 * 4 + best.1]);
        }
        assert_eq!(g.get(&x).unwrap().to_vec(), expect);
    }
}
