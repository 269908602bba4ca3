//! Section 03: initialisation and signal propagation (mean-field maps, activation statistics, trainability against depth).

pub mod correlation_map;
pub mod init_activation_statistics;
pub mod init_designed_activation;
pub mod init_trainability_depth;
pub mod init_training;
pub mod phase_diagram;
