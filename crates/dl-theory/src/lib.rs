//! # dl-theory — approximation, expressivity and the modern phenomena (seed sections 01, research)
//!
//! What lives where:
//!
//! - [`approximation`]: universal approximation made constructive. Cybenko's sigmoid
//!   staircase and its siblings for tanh, erf, ReLU, softplus, ELU and sin, each a dl-layers
//!   network with a certified sup-norm bound; ridge constructions in `d > 1`; the polynomial
//!   floor of Leshno et al.; rates; Barron's dimension-free greedy approximation beside grid
//!   methods (`docs/approximation.md`).
//! - `expressivity` (not built yet): depth versus width, linear regions.
//! - `double_descent`, `implicit_regularisation`, `lottery_ticket`, `scaling_laws`, `grokking`
//!   (not built yet).

#[warn(missing_docs)]
pub mod approximation;
