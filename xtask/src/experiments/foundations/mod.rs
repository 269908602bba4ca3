//! Foundations: GEMM throughput and numerically stable softmax.

pub mod gemm_throughput;
pub mod softmax_stability;
