//! The primitives, one file per family. Each file holds, per op: the primitive struct with
//! its forward, VJP and JVP rules, the `Var` method that applies it, and its tests.
//!
//! | file | primitives |
//! | --- | --- |
//! | [`arith`] | broadcasting `add`, `sub`, `mul`, `div`; `neg`; scalar `add_scalar`, `mul_scalar` |
//! | [`unary`] | elementwise functions and activations: `exp`, `log`, `sqrt`, `powf`, `sin`, `cos`, `tanh`, `sigmoid`, `erf`, `softplus`, `relu`, `leaky_relu`, `elu`, `gelu`, `abs`; `step_scale` (the one-pass relu VJP) |
//! | [`broadcast`] | `broadcast_to` and its adjoint `sum_to` (the reduction of a gradient to its input's shape) |
//! | [`reduce`] | `sum_axes`, `mean_axes`, `max_axes` (max-based selection), `logsumexp` |
//! | [`softmax`] | stable `softmax`, `log_softmax`, and the fused `softmax_cross_entropy` |
//! | [`views`] | `reshape`, `permute`, `transpose`, `narrow` (and its adjoint `pad_narrow`), `concat`, `stack` |
//! | [`matmul`] | `matmul`, 2-D and batched with broadcast batch dimensions |
//! | [`linear`] | the fused dense-layer map `x W + b` |
//! | [`index`] | `index_select` / `index_add`, `gather` / `scatter_add` (cross-entropy, embeddings) |
//!
//! [`ALL_PRIMITIVES`] lists every primitive's name; the generic gradient-check test asserts
//! that it checked each of them.

pub mod arith;
pub mod broadcast;
pub mod index;
pub mod linear;
pub mod matmul;
pub mod reduce;
pub mod softmax;
pub mod unary;
pub mod views;

use dl_tensor::shape::{normalize_axes, reduced_shape};

use crate::error::Result;

/// The name of every built-in primitive (and of the checkpoint op).
pub const ALL_PRIMITIVES: &[&str] = &[
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "add_scalar",
    "mul_scalar", //
    "exp",
    "log",
    "sqrt",
    "powf",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "erf",
    "softplus",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "abs",
    "step_scale", //
    "broadcast_to",
    "sum_to", //
    "sum",
    "mean",
    "max",
    "logsumexp", //
    "softmax",
    "log_softmax",
    "softmax_cross_entropy", //
    "reshape",
    "permute",
    "transpose",
    "narrow",
    "pad_narrow",
    "concat", //
    "matmul",
    "linear", //
    "index_select",
    "index_add",
    "gather",
    "scatter_add", //
    "checkpoint",
];

/// The shape of a reduction's output with the reduced axes kept as size 1.
pub(crate) fn keepdim_shape(op: &'static str, shape: &[usize], axes: &[isize]) -> Result<Vec<usize>> {
    let axes = normalize_axes(op, axes, shape)?;
    Ok(reduced_shape(shape, &axes, true))
}
