//! Section 05: the neural tangent kernel (finite against infinite width, lazy against feature learning, generalisation bounds, convolutional kernels).

pub mod ntk_cnn_gap;
pub mod ntk_common;
pub mod ntk_finite_vs_infinite;
pub mod ntk_generalisation_bound;
pub mod ntk_lazy_vs_feature_learning;
