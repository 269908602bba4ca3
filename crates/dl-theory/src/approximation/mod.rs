//! # Universal approximation: constructions, certificates and rates (seed section 01, week 1)
//!
//! Every theorem here is a construction that runs: a one-hidden-layer dl-layers network built
//! from a target, with a **certified** sup-norm bound for its f64 evaluation, and the tools
//! to measure errors, fit rates and compare with the theory. The derivations and every
//! constant are in `docs/approximation.md`.
//!
//! | file | holds |
//! | --- | --- |
//! | [`target`], [`modulus`] | [`Target`] (a closure on a box, its moduli of continuity per axis, optionally `sup |f''|`) and [`Modulus`] (Lipschitz, Hölder, any concave function) |
//! | [`approximator`] | [`UniversalApproximator`]: the public entry point, target + `eps` to network + [`Certificate`]; [`Approximation`], [`Construction`] |
//! | [`staircase`], [`sigmoidal`] | Cybenko's construction: a staircase of steep sigmoid / tanh / erf steps, width from the modulus, steepness from the tail budget |
//! | [`piecewise_linear`] | ReLU interpolation (exact at the knots, `O(N^-2)`), and its softplus and ELU smoothings |
//! | [`fourier`] | the certified Fejér–Korovkin cosine approximation (the `sin` construction, and the first stage in `d > 1`) |
//! | [`ridge`] | one hidden layer in `d > 1`: ridge profiles of the cosine approximation, each built by a 1-D construction |
//! | [`certificate`], [`rounding`] | the certificate's terms; the f64 accounting (`gamma(n)`, error-free sums) behind them |
//! | [`network`] | [`ShallowNetwork`]: the parameters, conversion to `Sequential`, a direct-loop reference evaluation |
//! | [`verify`] | [`verify_approximation_error`]: sup and L2 errors on a dense grid and on random points |
//! | [`rates`] | least-squares slopes of log error against log width |
//! | [`polynomial`] | polynomial activations (Leshno et al. 1993): the network is a polynomial, so its error has a floor; the floor computed independently |
//! | [`grid`] | the `d`-dimensional grid methods (piecewise-constant and multilinear) whose rates degrade with `d` |
//! | [`barron`] | Barron (1993): targets with closed-form `C_f`, the uniform measure on a ball, the bound `2 r C_f / sqrt(n)` |
//! | [`least_squares`] | minimum-norm least squares by the truncated SVD (faer), for output layers |
//! | [`greedy`] | Jones–Barron relaxed greedy and orthogonal greedy fitting of ridge units from a dictionary |
//! | [`error`] | [`ApproximationError`] |
//!
//! ```
//! use dl_layers::Activation;
//! use dl_theory::approximation::{Modulus, Target, UniversalApproximator, verify_approximation_error};
//!
//! // sqrt on [0, 1] is not Lipschitz; its modulus is omega(delta) = sqrt(delta)
//! let target = Target::new_1d(f64::sqrt, 0.0, 1.0, Modulus::holder(1.0, 0.5)?)?;
//! let approx = UniversalApproximator::new(Activation::Tanh)?.approximate(&target, 0.05)?;
//! let measured = verify_approximation_error(approx.network(), &target, 4001, 2000, 0)?;
//! assert!(measured.sup() <= approx.certified_error());
//! # Ok::<(), dl_theory::approximation::ApproximationError>(())
//! ```

pub mod approximator;
pub mod barron;
pub mod certificate;
pub(crate) mod construction;
pub mod error;
pub mod fourier;
pub mod greedy;
pub mod grid;
pub mod least_squares;
pub mod modulus;
pub mod network;
pub mod piecewise_linear;
pub mod polynomial;
pub mod rates;
pub mod ridge;
pub mod rounding;
pub mod sigmoidal;
pub mod staircase;
pub mod target;
pub mod verify;

pub use approximator::{Approximation, Construction, UniversalApproximator};
pub use certificate::{Certificate, CertificateTerm};
pub use error::{ApproximationError, Result};
pub use modulus::Modulus;
pub use network::ShallowNetwork;
pub use target::Target;
pub use verify::{ErrorReport, PointErrors, error_on_points, evaluate_network, verify_approximation_error};
