//! Sections 02 (backpropagation) and 02 (specialised backprop): the cost of reverse mode, checkpointing, convolution gradients and BPTT.

pub mod autodiff_cost;
pub mod checkpointing_memory;
pub mod conv_gradient_check;
pub mod rnn_gradient_flow;
pub mod truncated_bptt;
