//! Broadcasting and its adjoint.
//!
//! Broadcasting `x` of shape `s` to shape `S` copies each element to every position that
//! maps to it, so the VJP adds the cotangent over those positions: it sums over the axes
//! that broadcasting created or stretched. That reduction, [`sum_to_shape`], is what every
//! broadcasting op's VJP ends with ("reduce the gradient back to the input's shape"). The
//! two are each other's adjoint: `broadcast_to`'s VJP is `sum_to`, and `sum_to`'s VJP is
//! `broadcast_to`.

use dl_tensor::shape::broadcast_shapes;
use dl_tensor::{Element, Tensor, TensorError};

use crate::error::Result;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// Sums `g` down to `shape`, which must broadcast to `g`'s shape.
///
/// The common case of a gradient whose leading axes were broadcast (a bias of shape `(n,)`
/// added to a batch `(b, n)`) runs as a row-by-row accumulation in a fixed order, without
/// the transposing copy a general reduction makes.
pub fn sum_to_shape<T: Element>(g: &Tensor<T>, shape: &[usize]) -> Result<Tensor<T>> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let gs = g.shape();
    let target = broadcast_shapes("sum_to", shape, gs)?;
    if target != gs {
        return Err(TensorError::ShapeMismatch {
            op: "sum_to",
            lhs: gs.to_vec(),
            rhs: shape.to_vec(),
            dim: 0,
            detail: "the target shape must broadcast to the gradient's shape".into(),
        }
        .into());
    }
    let nd = gs.len();
    let padded: Vec<usize> = std::iter::repeat_n(1, nd - shape.len()).chain(shape.iter().copied()).collect();
    // Fast path: the reduced axes are exactly a leading block and g is contiguous.
    let lead = padded.iter().take_while(|&&s| s == 1).count();
    let tail_matches = padded[lead..] == gs[lead..];
    if let (true, Some(src)) = (tail_matches, g.as_slice()) {
        let cols: usize = gs[lead..].iter().product();
        let mut out = vec![T::zero(); cols];
        if cols > 0 {
            for row in src.chunks_exact(cols) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += v;
                }
            }
        }
        return Ok(Tensor::from_vec(out, shape)?);
    }
    let axes: Vec<isize> = (0..nd).filter(|&i| padded[i] == 1 && gs[i] != 1).map(|i| i as isize).collect();
    let summed = if axes.is_empty() { g.clone() } else { g.sum_axes(&axes, true)? };
    Ok(summed.reshape(shape)?)
}

/// Broadcasts to `shape` (NumPy rules).
pub struct BroadcastTo {
    /// The target shape; the input's shape must broadcast to it (trailing axes aligned,
    /// each input axis equal to the target's or 1).
    pub shape: Vec<usize>,
}

impl<T: Element> Primitive<T> for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].broadcast_to(&self.shape)?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, g: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(g.sum_to(ctx.value(0).shape())?)])
    }
    fn jvp(&self, _ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(match t[0] {
            Some(t) => t.broadcast_to(&self.shape)?,
            None => Tensor::zeros(&self.shape),
        })
    }
}

/// Sums down to `shape` (the adjoint of broadcasting).
pub struct SumTo {
    /// The reduced shape; it must broadcast to the input's shape, and the axes it
    /// broadcasts over (missing leading axes and size-1 axes) are summed out.
    pub shape: Vec<usize>,
}

impl<T: Element> Primitive<T> for SumTo {
    fn name(&self) -> &'static str {
        "sum_to"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        sum_to_shape(x[0], &self.shape)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, g: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(g.broadcast_to(ctx.value(0).shape())?)])
    }
    fn jvp(&self, _ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(match t[0] {
            Some(t) => sum_to_shape(t, &self.shape)?,
            None => Tensor::zeros(&self.shape),
        })
    }
}

impl<T: Element> Var<T> {
    /// Broadcasts to `shape`; returns `self` unchanged when the shape already matches.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Var<T>> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        Var::apply(BroadcastTo { shape: shape.to_vec() }, &[self])
    }

    /// Sums down to `shape` (which must broadcast to this shape); returns `self` unchanged
    /// when the shape already matches.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Var<T>> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        Var::apply(SumTo { shape: shape.to_vec() }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn sum_to_matches_direct_loops_on_fast_and_general_paths() {
        let mut rng = seeded_rng(0);
        let g = Tensor::<f64>::randn(&[3, 4, 5], &mut rng);
        let v = g.to_vec();
        // leading block (fast path)
        let s = sum_to_shape(&g, &[5]).unwrap().to_vec();
        for k in 0..5 {
            let e: f64 = (0..12).map(|r| v[r * 5 + k]).sum();
            assert!((s[k] - e).abs() < 1e-12);
        }
        // an inner axis (general path)
        let s = sum_to_shape(&g, &[3, 1, 5]).unwrap();
        assert_eq!(s.shape(), &[3, 1, 5]);
        let s = s.to_vec();
        for i in 0..3 {
            for k in 0..5 {
                let e: f64 = (0..4).map(|j| v[i * 20 + j * 5 + k]).sum();
                assert!((s[i * 5 + k] - e).abs() < 1e-12);
            }
        }
        assert!(sum_to_shape(&g, &[2, 5]).is_err());
    }
}
