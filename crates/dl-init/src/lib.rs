//! # dl-init — initialisation and signal propagation (seed section 03)
//!
//! What lives where:
//!
//! | file | holds |
//! | --- | --- |
//! | [`activation`] | [`Activation`]: phi, phi', kinks; built-ins, `scale * phi + shift`, custom |
//! | [`gauss_hermite`] | Gauss–Hermite nodes and weights of any order (Sturm bisection + Newton), cached |
//! | [`kronrod`] | adaptive Gauss–Kronrod (G7/K15) with breakpoints, for kinked integrands |
//! | [`closed_form`] | arc-cosine (ReLU, leaky ReLU), Williams' erf, sin and linear Gaussian kernels |
//! | [`gaussian`] | **the Gaussian-expectation engine** shared with dl-ntk: [`gaussian_expectation_pair`] gives E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for any 2x2 covariance |
//! | [`mean_field`] | [`MeanField`]: the length map, q*, chi_1, the depth scale xi_q |
//! | [`correlation_map`] | the covariance and correlation maps, c*, chi_c, the depth scale xi_c |
//! | [`phase`] | ordered / critical / chaotic, [`critical_sigma_w2`], the critical line, phase diagrams |
//! | [`critical_init`] | [`CriticalInit`]: weights and biases drawn on the critical line |
//! | [`activation_design`] | parameters of an activation family for chi_1 = 1, q* = 1; SELU's constants; the gain of any activation |
//! | [`error`] | [`InitError`]: every failure with the values involved; no NaN is ever returned in its place |
//!
//! To come (by the rest of issue 5, not in this crate yet): the classical schemes (Xavier,
//! He, LeCun, orthogonal) with fans, LSUV and data-dependent initialisation, residual and
//! transformer scalings, and activation statistics. The derivations are in
//! `docs/signal_propagation.md`.
//!
//! ```
//! use dl_init::{Activation, MeanField, Phase, critical_sigma_w2};
//! // The critical weight variance of tanh with bias variance 0.05 (Poole et al. 2016, Fig. 2).
//! let sigma_w2 = critical_sigma_w2(&Activation::Tanh, 0.05)?;
//! assert!((sigma_w2 - 1.7614).abs() < 1e-3);
//! let mf = MeanField::new(Activation::Tanh, sigma_w2, 0.05)?;
//! assert_eq!(mf.phase()?, Phase::Critical);
//! // Deeper in the chaotic phase nearby inputs decorrelate to c* < 1.
//! let chaotic = MeanField::new(Activation::Tanh, 4.0, 0.05)?.analyze()?;
//! assert_eq!(chaotic.phase, Phase::Chaotic);
//! assert!(chaotic.c_star < 1.0);
//! # Ok::<(), dl_init::InitError>(())
//! ```

pub mod activation;
pub mod activation_design;
pub mod closed_form;
pub mod correlation_map;
pub mod critical_init;
pub mod error;
pub mod gauss_hermite;
pub mod gaussian;
pub mod kronrod;
pub mod mean_field;
pub mod phase;
mod roots;

pub use activation::Activation;
pub use correlation_map::CorrelationFixedPoint;
pub use critical_init::CriticalInit;
pub use error::{InitError, Result};
pub use gaussian::{PairExpectation, gaussian_expectation_pair};
pub use mean_field::MeanField;
pub use phase::{Phase, SignalPropagation, critical_line, critical_sigma_w2, phase_diagram};
