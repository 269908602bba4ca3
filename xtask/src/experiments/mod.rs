//! The experiments, one file each. Each file defines a unit struct implementing
//! [`crate::experiment::Experiment`], registered in [`crate::registry::all`].

pub mod gemm_throughput;
pub mod softmax_stability;
pub mod correlation_map;
pub mod phase_diagram;
pub mod autodiff_cost;
pub mod checkpointing_memory;
