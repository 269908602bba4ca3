//! # dl-ntk — neural tangent kernels (seed sections 01 week 3 and 05)
//!
//! This crate is not built yet. What will live here:
//!
//! - `empirical`: the empirical NTK of any network, batched under a memory budget, and a
//!   structured layer-wise path for dense networks.
//! - `analytic`: the infinite-width NNGP and NTK recursions (arc-cosine and erf closed
//!   forms, quadrature otherwise), on dl-init's Gaussian-expectation engine.
//! - `predict`: gradient-flow predictions at any time t, kernel regression, NNGP posterior,
//!   the largest stable learning rate and the Arora et al. (2019) bound.
//! - `feature_learning`: kernel distance and kernel–target alignment over training.
