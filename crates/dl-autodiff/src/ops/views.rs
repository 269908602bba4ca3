//! Views and moves. Each is linear and only relocates elements, so its VJP relocates them
//! back (the transpose of a permutation matrix is its inverse) and its JVP applies the same
//! move to the tangent:
//!
//! | op | VJP |
//! | --- | --- |
//! | `reshape` | reshape back |
//! | `permute(p)` | `permute(p⁻¹)` |
//! | `transpose(a, b)` | `transpose(a, b)` |
//! | `narrow(axis, start, len)` | `pad_narrow`: place into zeros of the input's shape |
//! | `pad_narrow` | `narrow` |
//! | `concat(axis)` | `narrow` each part out of the cotangent |
//!
//! `stack`, `unsqueeze`, `squeeze` and `flatten` are compositions of these.

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use dl_tensor::shape::normalize_axis;
use dl_tensor::{Element, Tensor, TensorError};

use crate::error::Result;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// The same elements in a new shape.
pub struct Reshape {
    /// The new shape; its product must equal the input's element count.
    pub shape: Vec<usize>,
}
/// Reorders axes: output axis `i` is input axis `perm[i]`.
pub struct Permute {
    /// A permutation of `0..ndim`: output axis `i` is input axis `perm[i]`.
    pub perm: Vec<usize>,
}
/// Swaps two axes.
pub struct Transpose {
    /// The first axis swapped (negative values count from the last axis).
    pub a: isize,
    /// The second axis swapped (negative values count from the last axis).
    pub b: isize,
}
/// `len` entries of `axis` from `start`.
pub struct Narrow {
    /// The axis narrowed; negative values count from the last axis.
    pub axis: isize,
    /// The first index kept along `axis`.
    pub start: usize,
    /// How many consecutive indices are kept (`start + len` ≤ the axis length).
    pub len: usize,
}
/// Places the input at `start` along `axis` inside zeros of size `size` there (the
/// adjoint of [`Narrow`]).
pub struct PadNarrow {
    /// The axis padded; negative values count from the last axis.
    pub axis: isize,
    /// The output index along `axis` where the input's first slice lands.
    pub start: usize,
    /// The output's length along `axis` (`start` + the input's length ≤ `size`).
    pub size: usize,
}
/// Joins inputs along `axis`.
pub struct Concat {
    /// The axis joined along (negative values count from the last axis); every input must
    /// agree on all other axes.
    pub axis: isize,
}

fn zeros_or<T: Element>(
    t: Option<&Tensor<T>>,
    shape: &[usize],
    f: impl FnOnce(&Tensor<T>) -> Result<Tensor<T>>,
) -> Result<Tensor<T>> {
    match t {
        Some(t) => f(t),
        None => Ok(Tensor::zeros(shape)),
    }
}

impl<T: Element> Primitive<T> for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].reshape(&self.shape)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(u.reshape(ctx.value(0).shape())?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        zeros_or(t[0], ctx.output.shape(), |t| Ok(t.reshape(&self.shape)?))
    }
}

impl<T: Element> Primitive<T> for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].permute(&self.perm)?)
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let mut inverse = vec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(vec![Some(u.permute(&inverse)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        zeros_or(t[0], ctx.output.shape(), |t| Ok(t.permute(&self.perm)?))
    }
}

impl<T: Element> Primitive<T> for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].transpose(self.a, self.b)?)
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(u.transpose(self.a, self.b)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        zeros_or(t[0], ctx.output.shape(), |t| Ok(t.transpose(self.a, self.b)?))
    }
}

impl<T: Element> Primitive<T> for Narrow {
    fn name(&self) -> &'static str {
        "narrow"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].narrow(self.axis, self.start, self.len)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let ax = normalize_axis("narrow", self.axis, ctx.value(0).shape())?;
        let size = ctx.value(0).shape()[ax];
        Ok(vec![Some(u.pad_narrow(self.axis, self.start, size)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        zeros_or(t[0], ctx.output.shape(), |t| Ok(t.narrow(self.axis, self.start, self.len)?.contiguous()))
    }
}

fn pad_narrow<T: Element>(x: &Tensor<T>, axis: isize, start: usize, size: usize) -> Result<Tensor<T>> {
    let ax = normalize_axis("pad_narrow", axis, x.shape())?;
    let len = x.shape()[ax];
    if start.checked_add(len).is_none_or(|end| end > size) {
        return Err(TensorError::InvalidArgument {
            op: "pad_narrow",
            shape: x.shape().to_vec(),
            detail: format!("{len} entries at offset {start} do not fit in size {size} along axis {ax}"),
        }
        .into());
    }
    let mut shape = x.shape().to_vec();
    shape[ax] = size;
    let mut out = ArrayD::<T>::zeros(IxDyn(&shape));
    out.slice_axis_mut(Axis(ax), Slice::from(start..start + len)).assign(&x.view());
    Ok(Tensor::from_ndarray(out))
}

impl<T: Element> Primitive<T> for PadNarrow {
    fn name(&self) -> &'static str {
        "pad_narrow"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        pad_narrow(x[0], self.axis, self.start, self.size)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let ax = normalize_axis("pad_narrow", self.axis, ctx.value(0).shape())?;
        Ok(vec![Some(u.narrow(self.axis, self.start, ctx.value(0).shape()[ax])?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        zeros_or(t[0], ctx.output.shape(), |t| pad_narrow(t, self.axis, self.start, self.size))
    }
}

impl<T: Element> Primitive<T> for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(Tensor::concat(x, self.axis)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let ax = normalize_axis("concat", self.axis, u.shape())?;
        let mut offset = 0;
        let mut grads = Vec::with_capacity(ctx.inputs.len());
        for (i, input) in ctx.inputs.iter().enumerate() {
            let len = input.shape()[ax];
            grads.push(if ctx.needs(i) { Some(u.narrow(self.axis, offset, len)?) } else { None });
            offset += len;
        }
        Ok(grads)
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let parts: Vec<Tensor<T>> =
            ctx.inputs.iter().zip(t).map(|(x, t)| t.map_or_else(|| Tensor::zeros(x.shape()), |t| t.clone())).collect();
        let refs: Vec<&Tensor<T>> = parts.iter().collect();
        Ok(Tensor::concat(&refs, self.axis)?)
    }
}

impl<T: Element> Var<T> {
    /// The same elements in a new shape; `self` when the shape already matches.
    pub fn reshape(&self, shape: &[usize]) -> Result<Var<T>> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        Var::apply(Reshape { shape: shape.to_vec() }, &[self])
    }
    /// Flattens to one dimension.
    pub fn flatten(&self) -> Result<Var<T>> {
        self.reshape(&[self.value().numel()])
    }
    /// Reorders axes (output axis `i` is input axis `perm[i]`).
    pub fn permute(&self, perm: &[usize]) -> Result<Var<T>> {
        Var::apply(Permute { perm: perm.to_vec() }, &[self])
    }
    /// Swaps two axes (a strided view: no copy).
    pub fn transpose(&self, a: isize, b: isize) -> Result<Var<T>> {
        Var::apply(Transpose { a, b }, &[self])
    }
    /// Swaps the last two axes.
    pub fn t(&self) -> Result<Var<T>> {
        self.transpose(-2, -1)
    }
    /// `len` entries of `axis` from `start`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Var<T>> {
        Var::apply(Narrow { axis, start, len }, &[self])
    }
    /// Places `self` at `start` along `axis` inside zeros of size `size` there.
    pub fn pad_narrow(&self, axis: isize, start: usize, size: usize) -> Result<Var<T>> {
        Var::apply(PadNarrow { axis, start, size }, &[self])
    }
    /// Joins variables along an existing axis.
    pub fn concat(parts: &[&Var<T>], axis: isize) -> Result<Var<T>> {
        Var::apply(Concat { axis }, parts)
    }
    /// Stacks equal-shaped variables along a new axis.
    pub fn stack(parts: &[&Var<T>], axis: usize) -> Result<Var<T>> {
        let expanded: Vec<Var<T>> = parts.iter().map(|p| p.unsqueeze(axis)).collect::<Result<_>>()?;
        let refs: Vec<&Var<T>> = expanded.iter().collect();
        Var::concat(&refs, axis as isize)
    }
    /// Inserts an axis of size 1 at `axis` (which may equal the rank).
    pub fn unsqueeze(&self, axis: usize) -> Result<Var<T>> {
        let mut shape = self.shape().to_vec();
        if axis > shape.len() {
            return Err(TensorError::InvalidAxis {
                op: "unsqueeze",
                axis: axis as isize,
                shape,
                detail: "beyond the rank".into(),
            }
            .into());
        }
        shape.insert(axis, 1);
        self.reshape(&shape)
    }
    /// Removes an axis of size 1.
    pub fn squeeze(&self, axis: isize) -> Result<Var<T>> {
        let ax = normalize_axis("squeeze", axis, self.shape())?;
        let mut shape = self.shape().to_vec();
        if shape[ax] != 1 {
            return Err(TensorError::InvalidAxis {
                op: "squeeze",
                axis,
                shape,
                detail: "only an axis of size 1 can be squeezed".into(),
            }
            .into());
        }
        shape.remove(ax);
        self.reshape(&shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_and_concat_route_gradients_to_the_right_slots() {
        let x = Var::leaf(Tensor::<f64>::from_vec((0..6).map(f64::from).collect(), &[2, 3]).unwrap(), true);
        let w = Var::constant(Tensor::from_vec(vec![1.0, 10.0, 100.0, 1000.0], &[2, 2]).unwrap());
        let y = x.narrow(1, 1, 2).unwrap().mul(&w).unwrap().sum_all().unwrap();
        assert_eq!(y.backward().unwrap().get(&x).unwrap().to_vec(), vec![0., 1., 10., 0., 100., 1000.]);
        let a = Var::leaf(Tensor::<f64>::ones(&[1, 2]), true);
        let b = Var::leaf(Tensor::<f64>::ones(&[2, 2]), true);
        let c = Var::concat(&[&a, &b], 0).unwrap();
        let w = Var::constant(Tensor::from_vec((1..=6).map(f64::from).collect(), &[3, 2]).unwrap());
        let g = c.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&a).unwrap().to_vec(), vec![1., 2.]);
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![3., 4., 5., 6.]);
    }
}
