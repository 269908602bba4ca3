//! Forward mode: Jacobian-vector products, carried through one forward pass.
//!
//! Every variable may carry a tangent `ẋ` (a dual number `x + ε ẋ` with `ε² = 0`). When
//! [`Var::apply`] runs a primitive on inputs of which any carries a tangent, it also runs the
//! primitive's JVP rule, `ẏ = sum_i J_i ẋ_i`, so after the pass the output carries `J v`.
//! The cost is a small constant times one forward pass per direction `v`: cheap for few
//! inputs and many outputs, the mirror image of reverse mode.
//!
//! A full Jacobian therefore takes `n_in` forward passes (columns) or `n_out` backward
//! passes (rows); [`jacobian`] picks the smaller.

use dl_tensor::{Element, Tensor};

use crate::backward::{BackwardOptions, grad};
use crate::error::{AutodiffError, Result};
use crate::mode::{enable_grad, no_grad};
use crate::var::Var;

/// `(f(x), J v)` for a function of several inputs, in one forward pass.
///
/// ```
/// use dl_autodiff::{Var, forward::jvp};
/// use dl_tensor::Tensor;
/// // f(x) = sin(x) ⊙ x, J = diag(cos(x) x + sin(x))
/// let x = Tensor::<f64>::from_vec(vec![0.5, 1.0], &[2])?;
/// let v = Tensor::<f64>::from_vec(vec![1.0, 0.0], &[2])?;
/// let (y, jv) = jvp(|xs: &[Var<f64>]| xs[0].sin()?.mul(&xs[0]), &[x], &[v])?;
/// let expect = 0.5f64.cos() * 0.5 + 0.5f64.sin();
/// assert!((jv.to_vec()[0] - expect).abs() < 1e-15 && jv.to_vec()[1] == 0.0);
/// # Ok::<(), dl_autodiff::AutodiffError>(())
/// ```
pub fn jvp<T: Element, F>(f: F, x: &[Tensor<T>], v: &[Tensor<T>]) -> Result<(Tensor<T>, Tensor<T>)>
where
    F: Fn(&[Var<T>]) -> Result<Var<T>>,
{
    if x.len() != v.len() {
        return Err(AutodiffError::invalid("jvp", format!("{} inputs but {} tangents", x.len(), v.len())));
    }
    let duals: Vec<Var<T>> = x.iter().zip(v).map(|(x, v)| Var::dual(x.clone(), v.clone())).collect::<Result<_>>()?;
    let y = no_grad(|| f(&duals))?;
    let t = y.tangent().cloned().unwrap_or_else(|| Tensor::zeros(y.shape()));
    Ok((y.value().clone(), t))
}

/// How a Jacobian was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JacobianMode {
    /// One JVP per input element (column by column).
    Forward,
    /// One VJP per output element (row by row), over a single recorded forward pass.
    Reverse,
}

/// The Jacobian of `f` at `x`, of shape `f(x).shape ++ x.shape`, by forward mode when `x`
/// has no more elements than `f(x)`, by reverse mode otherwise.
pub fn jacobian<T: Element, F>(f: F, x: &Tensor<T>) -> Result<(Tensor<T>, JacobianMode)>
where
    F: Fn(&Var<T>) -> Result<Var<T>>,
{
    let n_out = no_grad(|| f(&Var::constant(x.clone())))?.value().numel();
    if x.numel() <= n_out {
        Ok((jacobian_forward(f, x)?, JacobianMode::Forward))
    } else {
        Ok((jacobian_reverse(f, x)?, JacobianMode::Reverse))
    }
}

fn jacobian_shape(out: &[usize], inp: &[usize]) -> Vec<usize> {
    out.iter().chain(inp).copied().collect()
}

/// The Jacobian column by column: `J e_j` for each input element `j`.
pub fn jacobian_forward<T: Element, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    F: Fn(&Var<T>) -> Result<Var<T>>,
{
    let n_in = x.numel();
    let mut out_shape = None;
    let mut columns = Vec::with_capacity(n_in);
    for j in 0..n_in {
        let mut e = vec![T::zero(); n_in];
        e[j] = T::one();
        let (y, col) = jvp(|xs: &[Var<T>]| f(&xs[0]), std::slice::from_ref(x), &[Tensor::from_vec(e, x.shape())?])?;
        out_shape.get_or_insert_with(|| y.shape().to_vec());
        columns.push(col.to_vec());
    }
    let out_shape = match out_shape {
        Some(s) => s,
        None => no_grad(|| f(&Var::constant(x.clone())))?.shape().to_vec(),
    };
    let n_out: usize = out_shape.iter().product();
    let mut data = vec![T::zero(); n_out * n_in];
    for (j, col) in columns.iter().enumerate() {
        for (i, &v) in col.iter().enumerate() {
            data[i * n_in + j] = v;
        }
    }
    Ok(Tensor::from_vec(data, &jacobian_shape(&out_shape, x.shape()))?)
}

/// The Jacobian row by row: `J^T e_i` for each output element `i`, all from one recorded
/// forward pass (the tape is kept between rows).
pub fn jacobian_reverse<T: Element, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    F: Fn(&Var<T>) -> Result<Var<T>>,
{
    enable_grad(|| {
        let xv = Var::leaf(x.clone(), true);
        let y = f(&xv)?;
        let n_out = y.value().numel();
        let mut data = Vec::with_capacity(n_out * x.numel());
        for i in 0..n_out {
            let mut e = vec![T::zero(); n_out];
            e[i] = T::one();
            let cot = Var::constant(Tensor::from_vec(e, y.shape())?);
            let row = if y.requires_grad() {
                grad(&y, Some(&cot), &[&xv], BackwardOptions::retain())?.remove(0)
            } else {
                None
            };
            match row {
                Some(r) => data.extend(r.value().to_vec()),
                None => data.extend(std::iter::repeat_n(T::zero(), x.numel())),
            }
        }
        Ok(Tensor::from_vec(data, &jacobian_shape(y.shape(), x.shape()))?)
    })
}
