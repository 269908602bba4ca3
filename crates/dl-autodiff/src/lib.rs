//! # dl-autodiff — automatic differentiation (seed section 02, backpropagation)
//!
//! This crate is not built yet. What will live here:
//!
//! - `tape`: the reverse-mode tape of primitive ops over `dl_tensor::Tensor`, `backward`
//!   from a scalar and vector–Jacobian products from a non-scalar output with a cotangent;
//!   `no_grad` and `detach`.
//! - `ops/`: one file per primitive family, each defining forward, VJP (reverse rule) and
//!   JVP (forward rule) side by side, so a primitive without its rules cannot exist.
//! - `forward`: forward mode (`jvp`), Jacobians by columns or rows.
//! - `hessian`: exact Hessian-vector products (forward-over-reverse).
//! - `gradcheck`: central finite differences in f64, like PyTorch's `gradcheck`.
//! - `checkpoint`: gradient checkpointing, recomputing chosen segments during backward.
