//! # dl-theory — approximation, expressivity and the modern phenomena (seed sections 01, research)
//!
//! What lives where:
//!
//! | module | holds |
//! | --- | --- |
//! | [`double_descent`] | random ReLU features with minimum-norm and ridge fits over nested feature sets (Belkin et al. 2019), label noise (Nakkiran et al. 2019), the shape of double-descent curves |
//! | [`implicit_regularisation`] | gradient descent from zero reaching the minimum-norm solution, the factorised model `U Uᵀ` of matrix sensing against the minimum-trace solution (Gunasekar et al. 2017), logistic regression on separable data converging to the SVM direction (Soudry et al. 2018) |
//! | [`least_squares`] | the minimum-norm least-squares solution (pseudo-inverse with a stated cut-off) and ridge regression through one SVD |
//! | [`scaling_laws`] | fits of `L = a N^(−α) + c` (Levenberg–Marquardt from a profile over `α`), bootstrap confidence intervals over seeds or points, the extrapolation check (Kaplan et al. 2020) |
//! | [`svm`] | the hard-margin linear SVM through the origin, solved exactly (dual coordinate ascent, polished on the support set) and certified by its KKT residuals |
//!
//! The derivations these modules follow, and what the experiments measured with them, are
//! in `docs/research.md`.
//!
//! Still to come: `approximation` (universal-approximation constructions and their rates;
//! depth versus width), `linear_regions`, `lottery_ticket`, `grokking`.

pub mod double_descent;
pub mod implicit_regularisation;
pub mod least_squares;
pub mod scaling_laws;
pub mod svm;
