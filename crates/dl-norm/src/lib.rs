//! # dl-norm — normalisation layers (seed section 04)
//!
//! Batch, layer, group, instance and RMS normalisation as instances of one general
//! normaliser, each with its train and eval behaviour and a closed-form backward. The
//! derivation of the backward and a table of which axes each method reduces are in
//! `docs/normalisation.md`. What lives where:
//!
//! | file | holds |
//! | --- | --- |
//! | [`spec`] | [`Normalizer`]: which axes are reduced (after an optional group split), centring, `eps`; its resolution to an `(a, s, b)` [`View`] |
//! | [`kernels`] | the fused loops: per-statistic mean and variance (corrected two-pass, accurate in f32 at large means), the forward and backward output passes |
//! | [`primitive`] | [`Normalize`]: the primitive `y = gamma x̂ + beta` with batch statistics, its closed-form VJP and JVP |
//! | [`apply`](mod@apply) | [`Normalizer::apply`]: a normaliser on a variable, with batch or given (running) [`Statistics`] |
//! | [`running`] | [`RunningStats`]: the buffers `running_mean`, `running_var`, `num_batches_tracked` and PyTorch's momentum rule |
//! | [`batch_norm`] | [`BatchNorm1d`] `(N, C)` / `(N, C, L)`, [`BatchNorm2d`] `(N, C, H, W)` |
//! | [`layer_norm`], [`rms_norm`] | [`LayerNorm`], [`RmsNorm`] over trailing axes |
//! | [`group_norm`], [`instance_norm`] | [`GroupNorm`] (any number of groups dividing `C`), [`InstanceNorm2d`] (optional affine and running statistics, [`InstanceNormOptions`]) |
//!
//! Every layer is built by `new` (PyTorch's defaults; a `Result`, as every constructor here:
//! zero channels, an empty normalised shape or groups that do not divide the channels are
//! errors) or from given tensors by `from_tensors` (a wrong shape names the layer, the
//! parameter and both shapes), then adjusted by `with_eps`, `with_momentum` (which keeps
//! loaded running statistics), `without_affine`; [`InstanceNorm2d`] takes its flags as an
//! [`InstanceNormOptions`] value.
//!
//! Running statistics are module *buffers*: they appear in the state dict under PyTorch's
//! names but are not parameters, so optimisers do not see them.
//!
//! ```
//! use dl_autodiff::Var;
//! use dl_layers::Module;
//! use dl_norm::BatchNorm1d;
//! use dl_tensor::{Tensor, seeded_rng};
//!
//! let mut rng = seeded_rng(0);
//! let mut bn = BatchNorm1d::<f64>::new(3)?;
//! let x = Var::constant(Tensor::randn(&[16, 3], &mut rng).mul_scalar(5.0).add_scalar(2.0));
//! let y = bn.forward(&x)?;                       // training mode: batch statistics
//! let mean = y.value().mean_axes(&[0], false)?;   // each feature now has mean 0 ...
//! assert!(mean.to_vec().iter().all(|m| m.abs() < 1e-12));
//! let state = bn.state_dict();                    // ... and the running statistics moved
//! assert!(state["running_mean"].to_vec().iter().all(|&m| m != 0.0));
//! assert_eq!(state["num_batches_tracked"].item()?, 1.0);
//! bn.eval();                                      // evaluation: the running statistics
//! let _ = bn.forward(&Var::constant(Tensor::zeros(&[1, 3])))?;   // a batch of one is fine here
//! bn.train();
//! let err = bn.forward(&Var::constant(Tensor::zeros(&[1, 3]))).unwrap_err();
//! assert!(err.to_string().contains("BatchNorm1d(3)"));   // ... but not in training
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod apply;
pub mod batch_norm;
pub mod group_norm;
pub mod instance_norm;
pub mod kernels;
pub mod layer_norm;
pub mod primitive;
pub mod rms_norm;
pub mod running;
pub mod spec;

pub use apply::{Normalized, Statistics};
pub use batch_norm::{BatchNorm, BatchNorm1d, BatchNorm2d};
pub use group_norm::GroupNorm;
pub use instance_norm::{InstanceNorm2d, InstanceNormOptions};
pub use kernels::Moments;
pub use layer_norm::LayerNorm;
pub use primitive::Normalize;
pub use rms_norm::RmsNorm;
pub use running::RunningStats;
pub use spec::{Normalizer, Plan, Reduce, View};
