//! # dl-autodiff — automatic differentiation (seed section 02, backpropagation)
//!
//! Reverse mode (a tape), forward mode (tangents), exact Hessian-vector products, gradient
//! checking and gradient checkpointing over [`dl_tensor::Tensor`]. The derivation of each
//! piece from the chain rule is in `docs/autodiff.md`. What lives where:
//!
//! | file | holds |
//! | --- | --- |
//! | [`primitive`] | the [`Primitive`] trait: forward, VJP and JVP of one op, together |
//! | [`var`] | [`Var`]: a value and its place in the graph; `leaf`, `constant`, `dual`, `detach`, [`Var::apply`] |
//! | [`ops`] | every built-in primitive, one file per family, with its `Var` method and tests |
//! | [`backward`] | reverse mode: topological order, VJPs, accumulation, freeing the tape; [`Gradients`] |
//! | [`forward`] | forward mode: [`forward::jvp`], Jacobians by columns or rows |
//! | [`hessian`](mod@hessian) | [`hessian::hvp`] (reverse-over-reverse), forward-over-reverse, dense Hessians |
//! | [`gradcheck`] | finite-difference checks of every rule, `gradcheck` and `gradgradcheck` |
//! | [`checkpoint`](mod@checkpoint) | gradient checkpointing |
//! | [`mlp`] | a reference MLP (Linear-ReLU, softmax cross-entropy) for benches, tests and experiments |
//! | [`mode`] | `no_grad`, and the count of bytes held by recorded activations |
//! | [`error`] | [`AutodiffError`] |
//!
//! A training step of a one-layer softmax regression:
//!
//! ```
//! use dl_autodiff::{Var, no_grad};
//! use dl_tensor::{Tensor, seeded_rng};
//!
//! let mut rng = seeded_rng(0);
//! let x = Var::constant(Tensor::<f32>::randn(&[8, 4], &mut rng));
//! let labels = [0usize, 1, 2, 0, 1, 2, 0, 1];
//! let mut w = Var::leaf(Tensor::<f32>::randn(&[4, 3], &mut rng), true);
//! let mut b = Var::leaf(Tensor::<f32>::zeros(&[3]), true);
//!
//! let loss = x.matmul(&w)?.add(&b)?.softmax_cross_entropy(&labels)?;
//! let mut grads = loss.backward()?;                    // frees the tape
//! let (gw, gb) = (grads.take(&w).unwrap(), grads.take(&b).unwrap());
//! drop(loss);
//! // SGD, in place: the graph is gone, so the leaves are no longer shared.
//! w.value_mut()?.array_mut().zip_mut_with(gw.array(), |p, g| *p -= 0.1 * g);
//! b.value_mut()?.array_mut().zip_mut_with(gb.array(), |p, g| *p -= 0.1 * g);
//! let new_loss = no_grad(|| x.matmul(&w)?.add(&b)?.softmax_cross_entropy(&labels))?;
//! assert!(new_loss.value().item()? < 2.0);
//! # Ok::<(), dl_autodiff::AutodiffError>(())
//! ```

pub mod backward;
pub mod checkpoint;
pub mod error;
pub mod forward;
pub mod gradcheck;
pub mod hessian;
pub mod mlp;
pub mod mode;
pub mod ops;
pub mod primitive;
pub mod var;

pub use backward::{BackwardOptions, Gradients, backward_with, grad, vjp};
pub use checkpoint::{checkpoint, checkpoint_sequential};
pub use error::{AutodiffError, Result};
pub use forward::{jacobian, jvp};
pub use hessian::{hessian, hvp};
pub use mode::{enable_grad, is_grad_enabled, no_grad};
pub use primitive::{JvpContext, Primitive, VjpContext};
pub use var::Var;
