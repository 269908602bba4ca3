//! The empirical NTK of a finite network,
//! `Theta(x, x')_{k k'} = sum_p df_k(x)/dtheta_p df_{k'}(x')/dtheta_p = (J(x) J(x')^T)_{k k'}`,
//! for two input sets and `K` outputs. Three paths compute the same kernel:
//!
//! | path | for | materialises |
//! | --- | --- | --- |
//! | [`empirical_ntk_naive`] | any [`dl_layers::Module`] | both full Jacobians, `(N K) x P` each |
//! | [`empirical_ntk_batched`] | any module | at most `budget_bytes` of Jacobian rows at a time |
//! | [`empirical_ntk_structured`] | a [`crate::FiniteNetwork`] | per-layer activations and backpropagated gradients, `N x width` |
//!
//! The structured path uses the layer-wise form of `J J^T` for dense layers: with
//! `h_l = W_l a_{l-1} + b_l` (scaled as in the parameterisation), the per-example gradient
//! of `W_l` is the outer product `g_l a_{l-1}^T` of the backpropagated gradient
//! `g_l = df_k/dh_l` and the layer's input, so
//!
//! ```text
//! Theta_{k k'}(X, X') = sum_l (G_l^k G_l'^{k' T}) ∘ (c_w A_{l-1} A'^T_{l-1} + c_b)
//! ```
//!
//! (`∘` the elementwise product; `c_w, c_b` from [`crate::finite`]): `O(N^2 width)` per
//! layer instead of `O(N^2 P)`.
//!
//! [`empirical_ntk`] chooses: the structured path for a dense [`crate::FiniteNetwork`], the
//! batched path otherwise (a convolutional one).
//!
//! Every path reports `peak_bytes`, the largest number of bytes of Jacobian (or, for the
//! structured path, of `A` and `G`) held at once; the autodiff tape of a single forward
//! pass is not counted.

mod accumulate;
mod jacobian;
mod structured;

pub use jacobian::{empirical_ntk_batched, empirical_ntk_naive};
pub use structured::empirical_ntk_structured;

use dl_tensor::Tensor;

use crate::error::{NtkError, Result};
use crate::finite::FiniteNetwork;

/// The empirical NTK of a network sampled from an [`crate::Architecture`], by the fastest
/// path that applies: the structured layer-wise path for a dense network (its factors are
/// `O(N width)`, far below any sensible budget), otherwise the batched Jacobian path under
/// `budget_bytes`.
pub fn empirical_ntk(
    net: &FiniteNetwork,
    x1: &Tensor<f64>,
    x2: Option<&Tensor<f64>>,
    output: OutputKernel,
    budget_bytes: usize,
) -> Result<EmpiricalKernel> {
    match net.first_non_dense() {
        None => empirical_ntk_structured(net, x1, x2, output),
        Some(_) => empirical_ntk_batched(net, x1, x2, output, budget_bytes),
    }
}

/// Which part of the `(N1 K) x (N2 K)` kernel to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKernel {
    /// The full kernel, `(N1 K, N2 K)`, entry `(n K + k, n' K + k')`.
    Full,
    /// The trace over outputs, `sum_k Theta_{kk}`, `(N1, N2)`.
    Trace,
    /// The diagonal blocks `Theta_{kk}`, `(K, N1, N2)`.
    DiagonalBlocks,
}

/// An empirical kernel with its memory report.
#[derive(Clone, Debug)]
pub struct EmpiricalKernel {
    /// The kernel, shaped as [`OutputKernel`] says.
    pub kernel: Tensor<f64>,
    /// Which part was computed.
    pub output: OutputKernel,
    /// The number of network outputs `K`.
    pub outputs: usize,
    /// The number of parameters `P`.
    pub parameters: usize,
    /// The largest number of bytes of Jacobian (or layer-wise factors) held at once.
    pub peak_bytes: usize,
}

/// Checks that `x1` and `x2` are batches `(N, ...)` with the same feature shape.
pub(crate) fn check_inputs(op: &'static str, x1: &Tensor<f64>, x2: Option<&Tensor<f64>>) -> Result<()> {
    for (name, x) in [("x1", Some(x1)), ("x2", x2)] {
        let Some(x) = x else { continue };
        if x.ndim() < 2 || x.shape()[0] == 0 {
            return Err(NtkError::Shape {
                op,
                what: format!("{name} must be a non-empty batch (N, features...)"),
                left: x.shape().to_vec(),
                right: vec![],
            });
        }
        if !x.all_finite() {
            return Err(NtkError::NonFinite { op, detail: format!("{name} has non-finite entries") });
        }
    }
    if let Some(x2) = x2
        && x1.shape()[1..] != x2.shape()[1..]
    {
        return Err(NtkError::Shape {
            op,
            what: "x1 and x2 must have the same feature shape".into(),
            left: x1.shape().to_vec(),
            right: x2.shape().to_vec(),
        });
    }
    Ok(())
}
