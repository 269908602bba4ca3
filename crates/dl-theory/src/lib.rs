//! # dl-theory — approximation, expressivity and the modern phenomena (seed sections 01, research)
//!
//! What lives where:
//!
//! | module | holds |
//! | --- | --- |
//! | [`lottery`] | lottery tickets (Frankle & Carbin 2019; Frankle et al. 2020): masks by parameter name, layer-wise and global magnitude pruning with deterministic ties, random pruning, rewinding, iterative magnitude pruning over a caller's training closure |
//! | [`grokking`] | grokking (Power et al. 2022; Nanda et al. 2023): the Fourier spectrum of an embedding over `Z_p` (key frequencies, top-k energy fraction, participation ratio) and the delay between fitting and generalising |
//! | [`feature_learning`] | feature learning against lazy training: abc-parameterisations (SP, NTP, muP; Yang & Hu 2021) with per-layer multipliers, initial scales and learning-rate factors anchored at a base width; relative change and log-log slopes (Chizat et al. 2019) |
//!
//! Still to come: universal-approximation constructions and rates, depth versus width,
//! linear regions, double descent, implicit regularisation, scaling-law fits.
//!
//! Nothing here trains a network: dl-theory sits below dl-framework, so the training
//! loop is passed in (a closure) or its results are (parameter snapshots, curves).

pub mod feature_learning;
pub mod grokking;
pub mod lottery;
