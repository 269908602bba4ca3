//! # dl-framework — the synthesis: configured networks, training and monitoring (seed week 11)
//!
//! What lives where:
//!
//! | module | holds |
//! | --- | --- |
//! | [`config`] | [`NetworkConfig`]: networks from serde JSON (dense, conv1d/conv2d, pooling, flatten, dropout, activations, embeddings, recurrent, batch/layer/group/instance/RMS normalisation, residual blocks; PyTorch, critical or Gaussian (sigma_w2, sigma_b2) initialisation; standard, NTK, muP or any abc parameterisation anchored at a base width; the lazy model `alpha (f - f_0)`), validated with the field path in every error |
//! | [`network`] | [`Network`]: the built layers, every layer's output for monitors, buffers (running statistics) in the state dict, checkpointable dropout generators, per-parameter learning-rate factors, the lazy reference |
//! | [`train`] | [`Trainer`] and [`TrainConfig`]: epochs, seeded shuffling, optimiser, schedule, clipping, validation, early stopping, progress, pruning masks kept at zero (lottery tickets), per-layer learning rates; [`Monitor`]s (loss/accuracy, gradient and activation statistics, sharpness by power iteration on Hessian-vector products, NTK drift and alignment); divergence reports; [`History`] to JSON and CSV |
//! | [`checkpoint`] | [`Checkpoint`]: parameters and buffers, optimiser state, generator states, step and pruning masks, written atomically with a versioned header and a SHA-256; resuming reproduces the uninterrupted run bit for bit |
//! | [`optim`] | SGD (momentum, Nesterov), Adam/AdamW, RMSprop, each with per-parameter learning-rate factors; schedules; clipping |
//! | [`data`] | the vendored digits and MNIST-1D datasets, synthetic generators, loaders for users' `.npy` and CSV files, seeded minibatches, standardisation |
//! | [`analysis`] | [`theoretical_analysis`](analysis::theoretical_analysis): linear regions along lines and 2-D slices, signal propagation against mean field, the empirical NTK's spectrum (by Jacobian, or layer by layer for dense networks), the spectral margin bound beside the observed gap |
//! | [`loss`] | [`Loss`](loss::Loss), accuracy, and [`evaluate`](loss::evaluate): a network's mean loss and accuracy on a dataset |
//! | [`divergence`] | [`DivergenceReport`](divergence::DivergenceReport): where a NaN or infinity first appeared |
//! | [`history`] | [`History`]: the per-step records of a run, to JSON and CSV |
//! | [`rng_state`] | [`RngState`](rng_state::RngState): a ChaCha generator's exact position, for checkpoints |
//! | [`error`] | [`FrameworkError`] |
//!
//! The modules form a one-way stack, each using only those below it (bottom first: `optim`,
//! `data`, `divergence`, `error`, `history`, `rng_state`, `config`, `network`, `loss`,
//! `analysis`, `checkpoint`, `train`), checked by `tests/module_layering.rs`. The old paths
//! stay valid: `train` re-exports the loss, history and divergence types, `checkpoint` the
//! generator state and `network` the recurrent output kind.
//!
//! The training loop is described with its equations in `docs/training.md`, the
//! theoretical analysis and the NTK monitors in `docs/theoretical_analysis.md`.
//!
//! Reliability: no input makes anything panic or abort. Configurations, checkpoints,
//! `.npy`, safetensors and CSV files are read into `Result`s whose errors name the file
//! and the field; sizes are computed with checked arithmetic and a network, a batch or a
//! tensor that would exceed the memory limit (the machine's available memory unless
//! `memory_limit_bytes` says otherwise) is refused before it is allocated; a checkpoint
//! holding a NaN, or made under another configuration, is refused unless the change is
//! allowed ([`ResumePolicy`]). The readers are fuzzed in `tests/fuzz_readers.rs`.
//!
//! Examples: `examples/train_from_config.rs` (train from JSON files, checkpoint, resume;
//! `cargo run -p dl-framework --example train_from_config`).
//!
//! Train a small MLP on the digits from two JSON documents:
//!
//! ```
//! use dl_framework::{NetworkConfig, TrainConfig, Trainer};
//! use dl_framework::data::{Standardizer, digits_split};
//!
//! let split = digits_split::<f32>(0.5, 0)?;
//! let scaler = Standardizer::fit(split.train.features())?;
//! let (train, test) = (scaler.apply(&split.train)?, scaler.apply(&split.test)?);
//! let net = NetworkConfig::from_json(r#"{"input_shape": [64], "layers": [
//!     {"type": "dense", "units": 64, "activation": "relu"},
//!     {"type": "dense", "units": 10}]}"#)?.build::<f32>()?;
//! let cfg = TrainConfig::from_json(r#"{"epochs": 3, "batch_size": 32,
//!     "optimizer": {"kind": "adam", "lr": 0.003}}"#)?;
//! let mut trainer = Trainer::new(net, cfg)?;
//! trainer.fit(&train, Some(&test))?;
//! let (_, accuracy) = trainer.evaluate(&test)?;
//! assert!(accuracy > 0.9, "{accuracy}");
//! assert!(trainer.history().to_csv().starts_with("step,epoch,"));
//! # Ok::<(), dl_framework::FrameworkError>(())
//! ```

pub mod analysis;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod divergence;
pub mod error;
pub mod history;
pub mod loss;
pub mod network;
pub mod optim;
pub mod rng_state;
pub mod train;

/// The module trait every network implements (`parameters`, `state_dict`, `forward`, ...),
/// re-exported so that using a [`Network`] needs no direct dl-layers dependency.
pub use dl_layers::Module;
/// Tensors, their element types and the memory limit, re-exported for the same reason.
pub use dl_tensor::{Element, MemoryLimit, Tensor};

pub use checkpoint::Checkpoint;
pub use config::NetworkConfig;
pub use error::{FrameworkError, Result};
pub use network::Network;
pub use train::{History, Monitor, ResumePolicy, TrainConfig, Trainer};
