//! # dl-norm — normalisation layers (seed section 04)
//!
//! This crate is not built yet. What will live here:
//!
//! - `framework`: one general normaliser over chosen axes and groups, with a closed-form backward.
//! - `batch_norm`, `layer_norm`, `group_norm`, `instance_norm`, `rms_norm`: its instances,
//!   each with train and eval behaviour.
