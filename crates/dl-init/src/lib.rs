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
//! | [`mean_field`] | [`MeanField`]: the length map, its slope, chi_1 at any q |
//! | [`length_fixed_point`] | q* and its edge cases ([`LengthFixedPoint`]: positive, the degenerate q* = 0, every q; divergence), chi_1 at q*, xi_q |
//! | [`correlation_map`] | the covariance and correlation maps, c*, chi_c, the depth scale xi_c |
//! | [`phase`] | ordered / critical / chaotic / degenerate (q* = 0), [`MeanField::analyze`], [`critical_sigma_w2`], the critical line, phase diagrams |
//! | [`critical_init`] | [`CriticalInit`]: weights and biases drawn on the critical line |
//! | [`activation_design`] | parameters of an activation family for chi_1 = 1, q* = 1; SELU's constants; the gain of any activation |
//! | [`error`] | [`InitError`]: every failure with the values involved; no NaN is ever returned in its place |
//!
//! Initialisation schemes and measurements on networks (dl-layers modules):
//!
//! | file | holds |
//! | --- | --- |
//! | [`fans`] | [`fans::Fans`] of dense and convolution weights (with groups; PyTorch's convention side by side) |
//! | [`gain`] | the gain of each activation: the engine's fixed-point value and PyTorch's table, with their differences |
//! | [`orthogonal`] | Householder QR, Haar (sign-corrected) orthogonal matrices, delta-orthogonal kernels |
//! | [`scheme`] | [`scheme::Scheme`]: Xavier/Glorot, He/Kaiming (fan_in / fan_out), LeCun, orthogonal, delta-orthogonal, mean-field (critical), normal, zeros; each with its variance formula |
//! | [`apply`] | [`apply::Initializer`] (weight scheme + bias rule, `Initializer::critical`) applied to a whole network or to layers chosen by name |
//! | [`layerwise`] | a `Sequential` layer by layer: its weight layers, per-unit statistics |
//! | [`mod@lsuv`] | LSUV (Mishkin and Matas 2016) with tolerance and iteration limit, per-layer variances before and after |
//! | [`data_dependent`] | the data-dependent initialisation of weight normalisation (Salimans and Kingma 2016) |
//! | [`residual_init`] | zero last layer of residual branches, Fixup depth scaling, GPT-2's 1/sqrt(2L) residual projections |
//! | [`statistics`] | [`statistics::analyze_activation_statistics`]: per-layer means, variances, dead units, gradient norms, vanishing/exploding flags, a table and plot series |
//! | [`phi_layer`] | [`phi_layer::PhiLayer`]: any activation of this crate (designed ones included) as a trainable-network layer |
//!
//! The derivations are in `docs/signal_propagation.md`.
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
//! assert!(chaotic.c_star.unwrap() < 1.0);
//! // Without bias and at LeCun's sigma_w2 = 1 the signal dies (q* = 0): no correlation to speak of.
//! let lecun = MeanField::new(Activation::Tanh, 1.0, 0.0)?.analyze()?;
//! assert_eq!((lecun.phase, lecun.q_star, lecun.c_star), (Phase::Degenerate, 0.0, None));
//! # Ok::<(), dl_init::InitError>(())
//! ```
//!
//! Initialising a network and measuring it:
//!
//! ```
//! use dl_init::{Activation, apply::{Initializer, initialize}, lsuv::{LsuvOptions, lsuv}};
//! use dl_init::statistics::analyze_activation_statistics;
//! use dl_layers::{Act, Linear, Sequential};
//! use dl_tensor::{Tensor, seeded_rng};
//! let mut rng = seeded_rng(0);
//! let mut net = Sequential::<f32>::new();
//! for _ in 0..10 {
//!     net.push(Box::new(Linear::new(32, 32, true, &mut rng)));
//!     net.push(Box::new(Act::tanh()));
//! }
//! let batch = Tensor::randn(&[128, 32], &mut rng);
//! initialize(&net, &Initializer::critical(&Activation::Tanh, 0.0)?, &mut rng)?;  // LeCun for tanh
//! let stats = analyze_activation_statistics(&net, &batch)?;
//! assert!(stats.layers.iter().all(|l| l.flags.is_empty()));
//! let report = lsuv(&net, &batch, LsuvOptions::default(), &mut rng)?;         // unit variance, layer by layer
//! assert!(report.iter().all(|l| l.converged));
//! # Ok::<(), dl_init::InitError>(())
//! ```

pub mod activation;
pub mod activation_design;
pub mod apply;
pub mod closed_form;
pub mod correlation_map;
pub mod critical_init;
pub mod data_dependent;
pub mod error;
pub mod fans;
pub mod gain;
pub mod gauss_hermite;
pub mod gaussian;
pub mod kronrod;
pub mod layerwise;
pub mod length_fixed_point;
pub mod lsuv;
pub mod mean_field;
pub mod orthogonal;
pub mod phase;
pub mod phi_layer;
pub mod residual_init;
mod roots;
pub mod scheme;
pub mod statistics;

pub use activation::Activation;
pub use apply::{BiasInit, Initializer, initialize, initialize_selected};
pub use correlation_map::CorrelationFixedPoint;
pub use critical_init::CriticalInit;
pub use error::{InitError, Result};
pub use fans::{FanMode, Fans};
pub use gaussian::{PairExpectation, gaussian_expectation_pair};
pub use length_fixed_point::LengthFixedPoint;
pub use lsuv::{LsuvOptions, lsuv};
pub use mean_field::MeanField;
pub use phase::{Phase, PhaseOutcome, PhasePoint, SignalPropagation, critical_line, critical_sigma_w2, phase_diagram};
pub use phi_layer::PhiLayer;
pub use scheme::Scheme;
pub use statistics::{ActivationStatistics, analyze_activation_statistics};
