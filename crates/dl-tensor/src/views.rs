//! Views and data movement: reshape, permute/transpose, narrow, concat, stack,
//! broadcast_to, squeeze/unsqueeze, and the index ops index_select, gather and scatter_add.
//!
//! Index tensors are `ndarray::ArrayD<usize>` ([`IndexArray`]). `gather(axis, idx)` follows
//! PyTorch: `out[i][j][k] = x[idx[i][j][k]][j][k]` for axis 0, and so on; `idx` has the
//! input's rank and is no larger than the input on any other axis. `scatter_add` is its
//! adjoint: `out[idx[i][j][k]][j][k] += src[i][j][k]`.

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::shape::{normalize_axis, numel};
use crate::tensor::Tensor;

/// Integer index tensors for `index_select`, `gather` and `scatter_add`.
pub type IndexArray = ArrayD<usize>;

fn check_index_shape(op: &'static str, axis: usize, x: &[usize], idx: &[usize]) -> Result<()> {
    if idx.len() != x.len() {
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: x.to_vec(),
            rhs: idx.to_vec(),
            dim: 0,
            detail: format!("the index must have the input's rank {}, not {}", x.len(), idx.len()),
        });
    }
    for d in 0..x.len() {
        if d != axis && idx[d] > x[d] {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: x.to_vec(),
                rhs: idx.to_vec(),
                dim: d,
                detail: format!("index size {} exceeds input size {} off the gather axis", idx[d], x[d]),
            });
        }
    }
    Ok(())
}

impl<T: Element> Tensor<T> {
    /// The same elements in a new shape (row-major order); a view when the layout allows.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        if numel(shape) != self.numel() {
            return Err(TensorError::ShapeMismatch {
                op: "reshape",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
                dim: 0,
                detail: format!("{} elements cannot take a shape of {} elements", self.numel(), numel(shape)),
            });
        }
        let src = self.contiguous();
        let arr = src
            .array()
            .clone()
            .into_shape_with_order(IxDyn(shape))
            .map_err(|e| TensorError::invalid("reshape", self.shape(), e.to_string()))?;
        Ok(Tensor::from_shared(arr))
    }

    /// Flattens to one dimension.
    pub fn flatten(&self) -> Self {
        self.reshape(&[self.numel()]).expect("same element count")
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]` (a strided view).
    pub fn permute(&self, perm: &[usize]) -> Result<Self> {
        let mut seen = vec![false; self.ndim()];
        let ok =
            perm.len() == self.ndim() && perm.iter().all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
        if !ok {
            return Err(TensorError::invalid(
                "permute",
                self.shape(),
                format!("{perm:?} is not a permutation of 0..{}", self.ndim()),
            ));
        }
        Ok(Tensor::from_shared(self.array().clone().permuted_axes(IxDyn(perm))))
    }

    /// Swaps two axes (a strided view).
    pub fn transpose(&self, a: isize, b: isize) -> Result<Self> {
        let a = normalize_axis("transpose", a, self.shape())?;
        let b = normalize_axis("transpose", b, self.shape())?;
        let mut arr = self.array().clone();
        arr.swap_axes(a, b);
        Ok(Tensor::from_shared(arr))
    }

    /// The transpose of a matrix (swaps the last two axes).
    pub fn t(&self) -> Result<Self> {
        if self.ndim() < 2 {
            return Err(TensorError::invalid("t", self.shape(), "a transpose needs at least 2 dimensions"));
        }
        self.transpose(-2, -1)
    }

    /// `len` entries of `axis` starting at `start` (a view).
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Self> {
        let ax = normalize_axis("narrow", axis, self.shape())?;
        let size = self.shape()[ax];
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(TensorError::invalid(
                "narrow",
                self.shape(),
                format!("range {start}..{} is outside axis {ax} of size {size}", start.saturating_add(len)),
            ));
        }
        let mut arr = self.array().clone();
        arr.slice_axis_inplace(Axis(ax), Slice::from(start..start + len));
        Ok(Tensor::from_shared(arr))
    }

    /// Every `step`-th entry of `axis` in `start..end` (a view).
    pub fn slice_step(&self, axis: isize, start: usize, end: usize, step: usize) -> Result<Self> {
        let ax = normalize_axis("slice", axis, self.shape())?;
        let size = self.shape()[ax];
        if step == 0 || start > end || end > size {
            return Err(TensorError::invalid(
                "slice",
                self.shape(),
                format!("range {start}..{end} step {step} is invalid for axis {ax} of size {size}"),
            ));
        }
        let mut arr = self.array().clone();
        arr.slice_axis_inplace(Axis(ax), Slice::new(start as isize, Some(end as isize), step as isize));
        Ok(Tensor::from_shared(arr))
    }

    /// Inserts an axis of size 1 at `axis` (which may equal `ndim`).
    pub fn unsqueeze(&self, axis: usize) -> Result<Self> {
        if axis > self.ndim() {
            return Err(TensorError::InvalidAxis {
                op: "unsqueeze",
                axis: axis as isize,
                shape: self.shape().to_vec(),
                detail: format!("expected an axis in 0..={}", self.ndim()),
            });
        }
        Ok(Tensor::from_shared(self.array().clone().insert_axis(Axis(axis))))
    }

    /// Removes an axis of size 1.
    pub fn squeeze(&self, axis: isize) -> Result<Self> {
        let ax = normalize_axis("squeeze", axis, self.shape())?;
        if self.shape()[ax] != 1 {
            return Err(TensorError::InvalidAxis {
                op: "squeeze",
                axis,
                shape: self.shape().to_vec(),
                detail: "only an axis of size 1 can be squeezed".into(),
            });
        }
        Ok(Tensor::from_shared(self.array().clone().remove_axis(Axis(ax))))
    }

    /// Broadcasts to `shape` (NumPy rules; the result is materialised).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        let target = crate::shape::broadcast_shapes("broadcast_to", self.shape(), shape)?;
        if target != shape {
            return Err(TensorError::ShapeMismatch {
                op: "broadcast_to",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
                dim: 0,
                detail: "the source has a dimension that does not fit the target".into(),
            });
        }
        let view = self.array().broadcast(IxDyn(shape)).expect("checked");
        Ok(Tensor::from_ndarray(view.to_owned()))
    }

    /// Joins tensors along an existing axis; all other dimensions must agree.
    pub fn concat(parts: &[&Self], axis: isize) -> Result<Self> {
        let first = parts.first().ok_or_else(|| TensorError::invalid("concat", &[], "nothing to concatenate"))?;
        let ax = normalize_axis("concat", axis, first.shape())?;
        for p in &parts[1..] {
            let same_rank = p.ndim() == first.ndim();
            let bad = (0..first.ndim()).find(|&d| d != ax && (!same_rank || p.shape()[d] != first.shape()[d]));
            if !same_rank || bad.is_some() {
                return Err(TensorError::ShapeMismatch {
                    op: "concat",
                    lhs: first.shape().to_vec(),
                    rhs: p.shape().to_vec(),
                    dim: bad.unwrap_or(0),
                    detail: format!("all dimensions except the concatenation axis {ax} must agree"),
                });
            }
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        let out = ndarray::concatenate(Axis(ax), &views)
            .map_err(|e| TensorError::invalid("concat", first.shape(), e.to_string()))?;
        Ok(Tensor::from_ndarray(out))
    }

    /// Stacks equal-shaped tensors along a new axis.
    pub fn stack(parts: &[&Self], axis: usize) -> Result<Self> {
        let first = parts.first().ok_or_else(|| TensorError::invalid("stack", &[], "nothing to stack"))?;
        for p in &parts[1..] {
            if p.shape() != first.shape() {
                let dim = first.shape().iter().zip(p.shape()).position(|(a, b)| a != b).unwrap_or(0);
                return Err(TensorError::ShapeMismatch {
                    op: "stack",
                    lhs: first.shape().to_vec(),
                    rhs: p.shape().to_vec(),
                    dim,
                    detail: "stacked tensors must have equal shapes".into(),
                });
            }
        }
        let expanded: Vec<Self> = parts.iter().map(|p| p.unsqueeze(axis)).collect::<Result<_>>()?;
        let refs: Vec<&Self> = expanded.iter().collect();
        Self::concat(&refs, axis as isize)
    }

    /// Selects entries `indices` along `axis` (repeats allowed).
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Self> {
        let ax = normalize_axis("index_select", axis, self.shape())?;
        let size = self.shape()[ax];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(TensorError::IndexOutOfBounds {
                op: "index_select",
                index: bad,
                axis: ax,
                size,
                shape: self.shape().to_vec(),
            });
        }
        Ok(Tensor::from_ndarray(self.array().select(Axis(ax), indices)))
    }

    /// `out[.., i, ..] = x[.., idx[.., i, ..], ..]` along `axis`; the output has `idx`'s shape.
    pub fn gather(&self, axis: isize, idx: &IndexArray) -> Result<Self> {
        let ax = normalize_axis("gather", axis, self.shape())?;
        check_index_shape("gather", ax, self.shape(), idx.shape())?;
        let size = self.shape()[ax];
        let src = self.array();
        let mut out = ArrayD::<T>::zeros(idx.raw_dim());
        let mut pos = vec![0usize; self.ndim()];
        for (ix, (o, &i)) in out.iter_mut().zip(idx.iter()).enumerate() {
            if i >= size {
                return Err(TensorError::IndexOutOfBounds {
                    op: "gather",
                    index: i,
                    axis: ax,
                    size,
                    shape: self.shape().to_vec(),
                });
            }
            *o = src[IxDyn(pos_with(&mut pos, idx.shape(), ix, ax, i))];
        }
        Ok(Tensor::from_ndarray(out))
    }

    /// Returns `self` with `src` added at `idx` along `axis`:
    /// `out[.., idx[.., i, ..], ..] += src[.., i, ..]`. Repeated indices accumulate.
    pub fn scatter_add(&self, axis: isize, idx: &IndexArray, src: &Self) -> Result<Self> {
        let ax = normalize_axis("scatter_add", axis, self.shape())?;
        check_index_shape("scatter_add", ax, self.shape(), idx.shape())?;
        if src.shape() != idx.shape() {
            return Err(TensorError::ShapeMismatch {
                op: "scatter_add",
                lhs: idx.shape().to_vec(),
                rhs: src.shape().to_vec(),
                dim: 0,
                detail: "the source must have the index's shape".into(),
            });
        }
        let size = self.shape()[ax];
        let mut out = self.array().to_owned();
        let mut pos = vec![0usize; self.ndim()];
        for (ix, (&i, &v)) in idx.iter().zip(src.array().iter()).enumerate() {
            if i >= size {
                return Err(TensorError::IndexOutOfBounds {
                    op: "scatter_add",
                    index: i,
                    axis: ax,
                    size,
                    shape: self.shape().to_vec(),
                });
            }
            out[IxDyn(pos_with(&mut pos, idx.shape(), ix, ax, i))] += v;
        }
        Ok(Tensor::from_ndarray(out))
    }
}

/// The multi-index of the `flat`-th element (row-major) of `shape`, with coordinate `axis`
/// replaced by `value`.
fn pos_with<'a>(pos: &'a mut [usize], shape: &[usize], mut flat: usize, axis: usize, value: usize) -> &'a [usize] {
    for d in (0..shape.len()).rev() {
        pos[d] = flat % shape[d];
        flat /= shape[d];
    }
    pos[axis] = value;
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn gather_and_scatter_add_are_adjoint_on_an_example() {
        let x = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let idx = IndexArray::from_shape_vec(IxDyn(&[2, 2]), vec![2, 0, 1, 1]).unwrap();
        let g = x.gather(1, &idx).unwrap();
        assert_eq!(g.to_vec(), vec![3., 1., 5., 5.]);
        let z = Tensor::<f64>::zeros(&[2, 3]);
        let s = z.scatter_add(1, &idx, &Tensor::ones(&[2, 2])).unwrap();
        assert_eq!(s.to_vec(), vec![1., 0., 1., 0., 2., 0.]);
        let bad = IndexArray::from_shape_vec(IxDyn(&[2, 1]), vec![3, 0]).unwrap();
        assert!(matches!(x.gather(1, &bad), Err(TensorError::IndexOutOfBounds { index: 3, .. })));
    }

    #[test]
    fn views_and_moves() {
        let x = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        assert_eq!(x.t().unwrap().to_vec(), vec![1., 4., 2., 5., 3., 6.]);
        assert_eq!(x.t().unwrap().reshape(&[6]).unwrap().to_vec(), vec![1., 4., 2., 5., 3., 6.]);
        assert_eq!(x.narrow(1, 1, 2).unwrap().to_vec(), vec![2., 3., 5., 6.]);
        assert!(x.narrow(1, 2, 2).is_err());
        assert_eq!(x.index_select(0, &[1, 1, 0]).unwrap().shape(), &[3, 3]);
        let c = Tensor::concat(&[&x, &x.narrow(1, 0, 1).unwrap()], 1).unwrap();
        assert_eq!(c.to_vec(), vec![1., 2., 3., 1., 4., 5., 6., 4.]);
        assert!(Tensor::concat(&[&x, &t(&[1., 2.], &[1, 2])], 1).is_err());
        let s = Tensor::stack(&[&x, &x], 1).unwrap();
        assert_eq!(s.shape(), &[2, 2, 3]);
        assert_eq!(x.broadcast_to(&[4, 2, 3]).unwrap().shape(), &[4, 2, 3]);
        assert!(x.broadcast_to(&[3, 3]).is_err());
        assert!(x.reshape(&[4]).unwrap_err().to_string().contains("reshape"));
    }
}
