//! Section 01 (week 1): universal approximation — certified constructions and their rates,
//! the polynomial floor, Barron's dimension-free rate, and the gap between what a width can
//! represent and what gradient descent finds.

pub mod approx_common;
pub mod approximation_rates;
pub mod barron_dimension_free;
pub mod learnability_gap;
pub mod polynomial_floor;
