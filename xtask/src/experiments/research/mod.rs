//! Section 12: research phenomena (double descent, implicit regularisation, scaling laws,
//! lottery tickets, grokking, feature learning against lazy training), reproduced at CPU
//! scale with the published claim beside the measured one.

pub mod double_descent_mlp;
pub mod double_descent_random_features;
pub mod feature_learning_mup;
pub mod grokking;
pub mod implicit_regularisation_least_squares;
pub mod implicit_regularisation_logistic;
pub mod implicit_regularisation_matrix_factorisation;
pub mod lottery_tickets;
pub(crate) mod measure;
pub(crate) mod scaling_common;
pub mod scaling_laws_mnist1d;
pub mod scaling_laws_teacher_student;
