//! Section 01, expressivity and depth: Telgarsky's sawtooth, parity, Boolean functions,
//! hierarchical compositional functions and linear regions, built and counted by dl-theory.

pub mod boolean_functions_width;
pub mod compositional_deep_vs_shallow;
pub mod linear_regions_depth_width;
pub mod parity_representation_vs_learning;
pub mod sawtooth_depth_separation;
pub mod training;
