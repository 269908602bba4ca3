//! # dl-theory — approximation, expressivity and the modern phenomena (seed sections 01, research)
//!
//! What lives where:
//!
//! | module | holds |
//! | --- | --- |
//! | [`approximation`] | universal approximation made constructive: Cybenko's sigmoid staircase and its siblings for tanh, erf, ReLU, softplus, ELU and sin, each a dl-layers network with a certified sup-norm bound; ridge constructions in `d > 1`; the polynomial floor of Leshno et al.; rates; Barron's dimension-free greedy approximation beside grid methods (`docs/approximation.md`) |
//! | [`regions`] | linear regions of piecewise-linear networks: exact along segments and on 2-D slices (cell enumeration), the grid cross-check, and the bounds (Zaslavsky, Montúfar et al. 2014, Serra et al. 2018, Telgarsky 2016) |
//! | [`expressivity`] | depth and width, constructed and checked: Telgarsky's sawtooth and its lower bound, parity and XOR, Boolean functions (DNF and the counting argument), Mhaskar & Poggio's hierarchical compositional functions (`docs/expressivity.md`) |

pub mod approximation;
pub mod expressivity;
pub mod regions;
