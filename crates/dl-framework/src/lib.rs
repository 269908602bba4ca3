//! # dl-framework — the synthesis: configured networks, training and monitoring (seed week 11)
//!
//! What lives, or will live, here (modules marked *built* are done; the others are being written):
//!
//! - `config`: networks built from serde JSON configurations, validated field by field.
//! - `optim`: SGD, momentum, Nesterov, Adam, AdamW, RMSprop; schedules; clipping.
//! - `train`: the training loop with theoretical monitors, divergence detection and history.
//! - `checkpoint`: atomic, versioned, checksummed checkpoints that resume bit for bit.
//! - [`data`] (*built*): the vendored digits and MNIST-1D datasets (embedded, checksummed),
//!   synthetic generators (teacher networks, sparse parity, modular arithmetic, two spirals,
//!   sinusoids), loaders for users' `.npy` and CSV files, seeded minibatches, standardisation.
//! - `analysis`: `theoretical_analysis(network, data)`.

pub mod optim;

pub mod data;
