//! Index ops: selection and its adjoint, scattering with accumulation.
//!
//! `index_select(axis, idx)` copies slices `x[.., idx[i], ..]`; its Jacobian is a 0/1
//! selection matrix `S`, whose transpose *adds* each cotangent slice back into slot
//! `idx[i]` (repeats accumulate): that is `index_add`. Likewise `gather(axis, idx)` (the
//! per-element selection behind cross-entropy's `x_i[y_i]`) has `scatter_add` as its VJP,
//! and each pair are each other's adjoint. The indices themselves are not differentiable.
//! An embedding lookup is `index_select(0, token_ids)` on the embedding matrix.

use std::sync::Arc;

use ndarray::{ArrayD, Axis, IxDyn};

use dl_tensor::shape::normalize_axis;
use dl_tensor::{Element, IndexArray, Tensor, TensorError};

use crate::error::Result;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// Selects `indices` along `axis`.
pub struct IndexSelect {
    /// The axis to index along; negative values count from the last axis.
    pub axis: isize,
    /// The slots to copy, in output order; repeats are allowed (and accumulate in the VJP).
    pub indices: Arc<[usize]>,
}
/// Adds slice `i` of the input into slot `indices[i]` of zeros with `size` slots along `axis`.
pub struct IndexAdd {
    /// The axis to index along; negative values count from the last axis.
    pub axis: isize,
    /// `indices[i]` is the output slot that input slice `i` is added into; one per input
    /// slice along `axis`, each `< size`.
    pub indices: Arc<[usize]>,
    /// The output's length along `axis` (the selected tensor's length, in the VJP of
    /// [`IndexSelect`]).
    pub size: usize,
}
/// PyTorch's `gather` along `axis`.
pub struct Gather {
    /// The axis to index along; negative values count from the last axis.
    pub axis: isize,
    /// The index array, of the output's shape: `out[.., i, ..] = x[.., index[.., i, ..], ..]`,
    /// with each entry `<` the input's length along `axis`.
    pub index: Arc<IndexArray>,
}
/// Scatters the input into zeros of `shape` along `axis`, adding at repeated indices.
pub struct ScatterAdd {
    /// The axis to index along; negative values count from the last axis.
    pub axis: isize,
    /// The index array, of the input's shape: input entry at position `p` is added into the
    /// output at `p` with its `axis` coordinate replaced by `index[p]`.
    pub index: Arc<IndexArray>,
    /// The output's shape (the gathered-from tensor's shape, in the VJP of [`Gather`]).
    pub shape: Vec<usize>,
}

fn index_add<T: Element>(x: &Tensor<T>, axis: isize, indices: &[usize], size: usize) -> Result<Tensor<T>> {
    let ax = normalize_axis("index_add", axis, x.shape())?;
    if x.shape()[ax] != indices.len() {
        return Err(TensorError::InvalidArgument {
            op: "index_add",
            shape: x.shape().to_vec(),
            detail: format!("{} indices for {} slices along axis {ax}", indices.len(), x.shape()[ax]),
        }
        .into());
    }
    let mut shape = x.shape().to_vec();
    shape[ax] = size;
    let mut out = ArrayD::<T>::zeros(IxDyn(&shape));
    for (i, &slot) in indices.iter().enumerate() {
        if slot >= size {
            return Err(TensorError::IndexOutOfBounds { op: "index_add", index: slot, axis: ax, size, shape }.into());
        }
        let src = x.array().index_axis(Axis(ax), i);
        out.index_axis_mut(Axis(ax), slot).zip_mut_with(&src, |o, &s| *o += s);
    }
    Ok(Tensor::from_ndarray(out))
}

impl<T: Element> Primitive<T> for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].index_select(self.axis, &self.indices)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let ax = normalize_axis("index_select", self.axis, ctx.value(0).shape())?;
        let size = ctx.value(0).shape()[ax];
        let op = IndexAdd { axis: self.axis, indices: Arc::clone(&self.indices), size };
        Ok(vec![Some(Var::apply(op, &[u])?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(match t[0] {
            Some(t) => t.index_select(self.axis, &self.indices)?,
            None => Tensor::zeros(ctx.output.shape()),
        })
    }
}

impl<T: Element> Primitive<T> for IndexAdd {
    fn name(&self) -> &'static str {
        "index_add"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        index_add(x[0], self.axis, &self.indices, self.size)
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let op = IndexSelect { axis: self.axis, indices: Arc::clone(&self.indices) };
        Ok(vec![Some(Var::apply(op, &[u])?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        match t[0] {
            Some(t) => index_add(t, self.axis, &self.indices, self.size),
            None => Ok(Tensor::zeros(ctx.output.shape())),
        }
    }
}

impl<T: Element> Primitive<T> for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].gather(self.axis, &self.index)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let op = ScatterAdd { axis: self.axis, index: Arc::clone(&self.index), shape: ctx.value(0).shape().to_vec() };
        Ok(vec![Some(Var::apply(op, &[u])?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(match t[0] {
            Some(t) => t.gather(self.axis, &self.index)?,
            None => Tensor::zeros(ctx.output.shape()),
        })
    }
}

impl<T: Element> Primitive<T> for ScatterAdd {
    fn name(&self) -> &'static str {
        "scatter_add"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(Tensor::zeros(&self.shape).scatter_add(self.axis, &self.index, x[0])?)
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let op = Gather { axis: self.axis, index: Arc::clone(&self.index) };
        Ok(vec![Some(Var::apply(op, &[u])?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(match t[0] {
            Some(t) => Tensor::zeros(&self.shape).scatter_add(self.axis, &self.index, t)?,
            None => Tensor::zeros(ctx.output.shape()),
        })
    }
}

impl<T: Element> Var<T> {
    /// Selects entries `indices` along `axis` (repeats allowed); an embedding lookup is
    /// `table.index_select(0, ids)`.
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Var<T>> {
        Var::apply(IndexSelect { axis, indices: indices.into() }, &[self])
    }
    /// `out[.., i, ..] = x[.., idx[.., i, ..], ..]` along `axis` (PyTorch's `gather`).
    pub fn gather(&self, axis: isize, index: &IndexArray) -> Result<Var<T>> {
        Var::apply(Gather { axis, index: Arc::new(index.clone()) }, &[self])
    }
    /// Adds slice `i` along `axis` into slot `indices[i]` of zeros with `size` slots.
    pub fn index_add(&self, axis: isize, indices: &[usize], size: usize) -> Result<Var<T>> {
        Var::apply(IndexAdd { axis, indices: indices.into(), size }, &[self])
    }
    /// Scatters into zeros of `shape` along `axis`, adding at repeated indices.
    pub fn scatter_add(&self, axis: isize, index: &IndexArray, shape: &[usize]) -> Result<Var<T>> {
        Var::apply(ScatterAdd { axis, index: Arc::new(index.clone()), shape: shape.to_vec() }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_indices_accumulate_in_the_gradient() {
        // an embedding table of 3 rows, looked up as [2, 0, 2]
        let table = Var::leaf(Tensor::<f64>::zeros(&[3, 2]), true);
        let rows = table.index_select(0, &[2, 0, 2]).unwrap();
        let w = Var::constant(Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], &[3, 2]).unwrap());
        let g = rows.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&table).unwrap().to_vec(), vec![3., 4., 0., 0., 6., 8.]);
    }
}
