//! # dl-framework — the synthesis: configured networks, training and monitoring (seed week 11)
//!
//! This crate is not built yet. What will live here:
//!
//! - `config`: networks built from serde JSON configurations, validated field by field.
//! - `optim`: SGD, momentum, Nesterov, Adam, AdamW, RMSprop; schedules; clipping.
//! - `train`: the training loop with theoretical monitors, divergence detection and history.
//! - `checkpoint`: atomic, versioned, checksummed checkpoints that resume bit for bit.
//! - `data`: the vendored digits and MNIST-1D datasets, synthetic generators, user loaders.
//! - `analysis`: `theoretical_analysis(network, data)`.
