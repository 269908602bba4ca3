//! # dl-theory — approximation, expressivity and the modern phenomena (seed sections 01, research)
//!
//! What lives where:
//!
//! | module | holds |
//! | --- | --- |
//! | [`regions`] | linear regions of piecewise-linear networks: exact along segments and on 2-D slices (cell enumeration), the grid cross-check, and the bounds (Zaslavsky, Montúfar et al. 2014, Serra et al. 2018, Telgarsky 2016) |
//! | [`expressivity`] | depth and width, constructed and checked: Telgarsky's sawtooth and its lower bound, parity and XOR, Boolean functions (DNF and the counting argument), Mhaskar & Poggio's hierarchical compositional functions |
//!
//! Still to come: `approximation` (universal-approximation constructions and their rates),
//! `double_descent`, `implicit_regularisation`, `lottery_ticket`, `scaling_laws`, `grokking`.
//!
//! The derivations the code follows are in `docs/expressivity.md`.

pub mod expressivity;
pub mod regions;
