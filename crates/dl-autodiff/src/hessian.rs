//! Second order: exact Hessian-vector products.
//!
//! For a scalar `f`, `H v = ∇_x ⟨∇_x f(x), v⟩`. Two exact ways, both implemented:
//!
//! - **reverse-over-reverse** ([`hvp`]): run the backward pass with `create_graph`, so that
//!   `g = ∇f` is itself a recorded variable (every VJP rule is written with differentiable
//!   ops), then backward again from `⟨g, v⟩`. Cost: about two gradients.
//! - **forward-over-reverse** ([`hvp_forward_over_reverse`]): give `x` the tangent `v` and
//!   run an ordinary backward pass; the VJP rules' `Var` ops carry tangents like any other
//!   op, so the gradient comes out carrying `d/dε ∇f(x + ε v) = H v`. Cost: one gradient
//!   with dual numbers, no second tape.
//!
//! Neither forms `H`; [`hessian`] does, one column per basis vector, for tests and small
//! problems.

use dl_tensor::{Element, Tensor};

use crate::backward::{BackwardOptions, grad};
use crate::error::{AutodiffError, Result};
use crate::mode::enable_grad;
use crate::var::Var;

/// The value, gradient and Hessian-vector product of a scalar function at a point.
#[derive(Clone, Debug)]
pub struct Hvp<T: Element> {
    /// `f(x)`.
    pub value: T,
    /// `∇f(x)`, shape of `x`.
    pub grad: Tensor<T>,
    /// `H v = ∇²f(x) v`, shape of `x`.
    pub hvp: Tensor<T>,
}

fn scalar_output<T: Element>(y: &Var<T>) -> Result<()> {
    if y.value().numel() != 1 {
        return Err(AutodiffError::NonScalarWithoutCotangent { shape: y.shape().to_vec(), numel: y.value().numel() });
    }
    Ok(())
}

fn check_direction<T: Element>(x: &Tensor<T>, v: &Tensor<T>) -> Result<()> {
    if x.shape() != v.shape() {
        return Err(AutodiffError::invalid(
            "hvp",
            format!("the direction has shape {:?}, the point {:?}", v.shape(), x.shape()),
        ));
    }
    Ok(())
}

/// `H v` for a scalar `f` at `x`, by reverse-over-reverse.
///
/// ```
/// use dl_autodiff::{Var, hessian::hvp};
/// use dl_tensor::Tensor;
/// // f(x) = x0^2 x1: H = [[2 x1, 2 x0], [2 x0, 0]]
/// let x = Tensor::<f64>::from_vec(vec![3.0, 2.0], &[2])?;
/// let v = Tensor::<f64>::from_vec(vec![1.0, 1.0], &[2])?;
/// let f = |x: &Var<f64>| x.narrow(0, 0, 1)?.square()?.mul(&x.narrow(0, 1, 1)?)?.sum_all();
/// let r = hvp(f, &x, &v)?;
/// assert_eq!(r.hvp.to_vec(), vec![2.0 * 2.0 + 2.0 * 3.0, 2.0 * 3.0]);
/// # Ok::<(), dl_autodiff::AutodiffError>(())
/// ```
pub fn hvp<T: Element, F>(f: F, x: &Tensor<T>, v: &Tensor<T>) -> Result<Hvp<T>>
where
    F: Fn(&Var<T>) -> Result<Var<T>>,
{
    check_direction(x, v)?;
    enable_grad(|| {
        let xv = Var::leaf(x.clone(), true);
        let y = f(&xv)?;
        scalar_output(&y)?;
        let value = y.value().item()?;
        let Some(g) = grad(&y, None, &[&xv], BackwardOptions::create_graph())?.remove(0) else {
            return Ok(Hvp { value, grad: Tensor::zeros(x.shape()), hvp: Tensor::zeros(x.shape()) });
        };
        let gv = g.mul(&Var::constant(v.clone()))?.sum_all()?;
        let hv = grad(&gv, None, &[&xv], BackwardOptions::default())?.remove(0);
        Ok(Hvp {
            value,
            grad: g.value().clone(),
            hvp: hv.map_or_else(|| Tensor::zeros(x.shape()), |h| h.value().clone()),
        })
    })
}

/// `H v` for a scalar `f` at `x`, by forward-over-reverse (tangents through the backward
/// pass).
pub fn hvp_forward_over_reverse<T: Element, F>(f: F, x: &Tensor<T>, v: &Tensor<T>) -> Result<Hvp<T>>
where
    F: Fn(&Var<T>) -> Result<Var<T>>,
{
    check_direction(x, v)?;
    enable_grad(|| {
        let xv = Var::dual_leaf(x.clone(), v.clone(), true)?;
        let y = f(&xv)?;
        scalar_output(&y)?;
        let value = y.value().item()?;
        let g = grad(&y, None, &[&xv], BackwardOptions::default())?.remove(0);
        Ok(match g {
            Some(g) => Hvp {
                value,
                grad: g.value().clone(),
                hvp: g.tangent().cloned().unwrap_or_else(|| Tensor::zeros(x.shape())),
            },
            None => Hvp { value, grad: Tensor::zeros(x.shape()), hvp: Tensor::zeros(x.shape()) },
        })
    })
}

/// The dense Hessian of a scalar `f` at `x`, shape `x.shape ++ x.shape`: the gradient is
/// recorded once, then differentiated once per column.
pub fn hessian<T: Element, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    F: Fn(&Var<T>) -> Result<Var<T>>,
{
    enable_grad(|| {
        let n = x.numel();
        let xv = Var::leaf(x.clone(), true);
        let y = f(&xv)?;
        scalar_output(&y)?;
        let shape: Vec<usize> = x.shape().iter().chain(x.shape()).copied().collect();
        let Some(g) = grad(&y, None, &[&xv], BackwardOptions::create_graph())?.remove(0) else {
            return Ok(Tensor::zeros(&shape));
        };
        let g = g.flatten()?;
        let mut data = Vec::with_capacity(n * n);
        for j in 0..n {
            // row j of H = ∇(g_j); H is symmetric, so rows are columns.
            let gj = g.narrow(0, j, 1)?.sum_all()?;
            let row =
                if gj.requires_grad() { grad(&gj, None, &[&xv], BackwardOptions::retain())?.remove(0) } else { None };
            match row {
                Some(r) => data.extend(r.value().to_vec()),
                None => data.extend(std::iter::repeat_n(T::zero(), n)),
            }
        }
        Ok(Tensor::from_vec(data, &shape)?)
    })
}
