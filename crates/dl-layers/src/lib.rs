//! # dl-layers — modules and layers with their specialised backpropagation (seed section 02)
//!
//! This crate is not built yet. What will live here:
//!
//! - `module`: the `Module` trait, named parameters (state dict), train/eval modes,
//!   `Sequential` and residual blocks; save and load in an interoperable format.
//! - `linear`, `conv`: Linear; Conv1d/Conv2d (stride, padding, dilation, groups) whose
//!   backward is written explicitly as GEMMs with the im2col matrix and col2im.
//! - `pool`, `dropout`, `embedding`, `activation`.
//! - `recurrent`: vanilla RNN, LSTM, GRU; full and truncated BPTT; masks.
//! - `loss`: MSE, softmax cross-entropy (with label smoothing), BCE with logits.
