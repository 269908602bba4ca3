//! # dl-init — initialisation and signal propagation (seed section 03)
//!
//! This crate is not built yet. What will live here:
//!
//! - `schemes`: Xavier/Glorot, He/Kaiming, LeCun, orthogonal, delta-orthogonal; gains; fans.
//! - `data_dependent`: LSUV and weight-norm initialisation; residual and transformer scalings.
//! - `statistics`: `analyze_activation_statistics`, per-layer activation and gradient statistics.
//! - `gaussian`: the Gaussian-expectation engine (closed forms, Gauss–Hermite quadrature)
//!   shared with dl-ntk.
//! - `mean_field`: the length and correlation maps, q*, c*, chi_1, depth scales xi_q and
//!   xi_c, phase classification and the critical line (Poole et al. 2016; Schoenholz et al. 2017).
