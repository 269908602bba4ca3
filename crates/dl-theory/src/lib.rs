//! # dl-theory — approximation, expressivity and the modern phenomena (seed sections 01, research)
//!
//! This crate is not built yet. What will live here:
//!
//! - `approximation`: universal-approximation constructions and their rates; depth versus width.
//! - `linear_regions`: counting the linear regions of ReLU networks.
//! - `double_descent`, `implicit_regularisation`, `lottery_ticket`, `scaling_laws`, `grokking`.
