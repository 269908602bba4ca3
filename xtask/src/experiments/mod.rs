//! The experiments, one file each. Each file defines a unit struct implementing
//! [`crate::experiment::Experiment`], registered in [`crate::registry::all`].

pub mod gemm_throughput;
pub mod softmax_stability;
pub mod correlation_map;
pub mod phase_diagram;
pub mod autodiff_cost;
pub mod checkpointing_memory;
pub mod init_training;
pub mod init_activation_statistics;
pub mod init_designed_activation;
pub mod norm_common;
pub mod norm_training;
pub mod norm_landscape;
pub mod norm_lr_range;
pub mod norm_batch_size;
pub mod conv_gradient_check;
pub mod truncated_bptt;
pub mod rnn_gradient_flow;
pub mod digits_mlp;
pub mod digits_cnn;
pub mod mnist1d_table;
pub mod ntk_common;
pub mod ntk_finite_vs_infinite;
pub mod ntk_lazy_vs_feature_learning;
pub mod ntk_generalisation_bound;
pub mod ntk_cnn_gap;
pub mod init_trainability_depth;
pub mod framework_theoretical_analysis;
