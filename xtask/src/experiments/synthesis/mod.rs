//! Section 11: synthesis (config-built networks trained by the framework, and its theoretical analysis).

pub mod digits_cnn;
pub mod digits_mlp;
pub mod framework_theoretical_analysis;
pub mod mnist1d_table;
