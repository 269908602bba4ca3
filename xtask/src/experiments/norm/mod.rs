//! Section 04: normalisation (training curves, landscape smoothness, learning-rate range, batch size).

pub mod norm_batch_size;
pub mod norm_common;
pub mod norm_landscape;
pub mod norm_lr_range;
pub mod norm_training;
