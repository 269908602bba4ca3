//! The experiments, grouped by the chapter section they belong to (one folder per section,
//! as the report groups them). Each file defines a unit struct implementing
//! [`crate::experiment::Experiment`], registered in [`crate::registry::all`].

pub mod backprop;
pub mod foundations;
pub mod init;
pub mod norm;
pub mod ntk;
pub mod research;
pub mod synthesis;
