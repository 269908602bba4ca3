//! # dl-theory — approximation, expressivity and the modern phenomena (seed sections 01, research)
//!
//! What lives where:
//!
//! | module | holds |
//! | --- | --- |
//! | [`approximation`] | universal approximation made constructive: Cybenko's sigmoid staircase and its siblings for tanh, erf, ReLU, softplus, ELU and sin, each a dl-layers network with a certified sup-norm bound; ridge constructions in `d > 1`; the polynomial floor of Leshno et al.; rates; Barron's dimension-free greedy approximation beside grid methods (`docs/approximation.md`) |
//! | [`regions`] | linear regions of piecewise-linear networks: exact along segments and on 2-D slices (cell enumeration), the grid cross-check, and the bounds (Zaslavsky, Montúfar et al. 2014, Serra et al. 2018, Telgarsky 2016) |
//! | [`expressivity`] | depth and width, constructed and checked: Telgarsky's sawtooth and its lower bound, parity and XOR, Boolean functions (DNF and the counting argument), Mhaskar & Poggio's hierarchical compositional functions (`docs/expressivity.md`) |
//! | [`double_descent`] | random ReLU features with minimum-norm and ridge fits over nested feature sets (Belkin et al. 2019), label noise (Nakkiran et al. 2019), the shape of double-descent curves |
//! | [`implicit_regularisation`] | gradient descent from zero reaching the minimum-norm solution, the factorised model `U Uᵀ` of matrix sensing against the minimum-trace solution (Gunasekar et al. 2017), logistic regression on separable data converging to the SVM direction (Soudry et al. 2018) |
//! | [`lottery`] | lottery tickets (Frankle & Carbin 2019; Frankle et al. 2020): masks by parameter name, layer-wise and global magnitude pruning with deterministic ties, random pruning, rewinding, iterative magnitude pruning over a caller's training closure |
//! | [`grokking`] | grokking (Power et al. 2022; Nanda et al. 2023): the Fourier spectrum of an embedding over `Z_p` (key frequencies, top-k energy fraction, participation ratio) and the delay between fitting and generalising |
//! | [`feature_learning`] | feature learning against lazy training: abc-parameterisations (SP, NTP, muP; Yang & Hu 2021) with per-layer multipliers, initial scales and learning-rate factors anchored at a base width; relative change and log-log slopes (Chizat et al. 2019) |
//! | [`least_squares`] | the minimum-norm least-squares solution (pseudo-inverse with a stated cut-off) and ridge regression through one SVD |
//! | [`scaling_laws`] | fits of `L = a N^(−α) + c` (Levenberg–Marquardt from a profile over `α`), bootstrap confidence intervals over seeds or points, the extrapolation check (Kaplan et al. 2020) |
//! | [`svm`] | the hard-margin linear SVM through the origin, solved exactly (dual coordinate ascent, polished on the support set) and certified by its KKT residuals |
//!
//! dl-theory sits below dl-framework: where a network has to be trained (lottery tickets,
//! say), the training loop is passed in as a closure, or its results are (parameter
//! snapshots, curves). The linear models of the implicit-regularisation results are
//! optimised here, in closed loops that the tests check against closed forms.
//!
//! The derivations the code follows are in `docs/approximation.md`, `docs/expressivity.md`
//! and `docs/research.md` (which also records what the experiments measured).

pub mod approximation;
pub mod double_descent;
pub mod expressivity;
pub mod feature_learning;
pub mod grokking;
pub mod implicit_regularisation;
pub mod least_squares;
pub mod lottery;
pub mod regions;
pub mod scaling_laws;
pub mod svm;
