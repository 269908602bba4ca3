//! Expressivity and depth: what networks of a given depth and width can represent, built
//! as explicit networks and checked exactly, beside the bounds that say what smaller or
//! shallower networks cannot do.
//!
//! | file | holds |
//! | --- | --- |
//! | `sawtooth` | Telgarsky's (2016) sawtooth: the k-fold tent map as a depth-k, width-2 ReLU network ([`sawtooth_network`], `2^k` pieces), its exact L1 distance to any piecewise-linear network ([`sawtooth_l1_distance`]), and the lower bound on that distance for any network with fewer pieces ([`sawtooth_l1_lower_bound`]) |
//! | `parity` | n-bit parity with one hidden layer of `n` ReLU units ([`parity_relu_network`]) or `n` threshold units ([`parity_threshold_network`]), and as a tree of XORs of depth `ceil(log2 n)` ([`xor_tree_network`]) |
//! | `boolean` | Boolean functions ([`BooleanFunction`]) as one-hidden-layer ReLU networks ([`dnf_network`]); threshold networks ([`ThresholdNetwork`]); the counting argument that most functions need exponential width: the exact number of threshold functions for small `n` ([`threshold_function_count`]), Cover's bound ([`log2_threshold_functions_bound`]) and the width it forces ([`width_needed`]) |
//! | `compositional` | Mhaskar & Poggio's (2016) hierarchical compositional functions: a binary tree of bivariate functions of 8 inputs ([`CompositionalTarget`]), the deep network matching its structure ([`tree_network`]) and the shallow one ([`shallow_network`]) |
//! | `exhaustive` | checking a network on every one of the `2^n` Boolean inputs ([`check_on_all_inputs`]) |
//!
//! Every construction is a dl-layers network that evaluates and trains like any other, and
//! the piece counts come from the exact region counter ([`crate::regions`]). The derivations
//! (Telgarsky's bound with its constant, the piece-count bound, the counting argument) are
//! in `docs/expressivity.md`.

mod boolean;
mod compositional;
mod exhaustive;
mod parity;
mod sawtooth;

use thiserror::Error;

pub use boolean::{
    BooleanFunction, ThresholdNetwork, ThresholdUnit, dnf_network, log2_cover_bound, log2_threshold_functions_bound,
    log2_threshold_network_functions_bound, threshold_function_count, width_needed,
};
pub use compositional::{CompositionalTarget, NodeFunction, shallow_network, tree_network, tree_parameters};
pub use exhaustive::{ExhaustiveCheck, MAX_EXHAUSTIVE_BITS, check_on_all_inputs, inputs_of};
pub use parity::{parity, parity_relu_network, parity_threshold_network, xor_tree_network};
pub use sawtooth::{
    MAX_SAWTOOTH_DEPTH, sawtooth, sawtooth_l1_distance, sawtooth_l1_lower_bound, sawtooth_network, sawtooth_pieces,
    tent_map,
};

/// Why a construction or a check could not be made.
#[derive(Debug, Error)]
pub enum ExpressivityError {
    /// An argument out of range (the message names it and its value).
    #[error("{op}: {detail}")]
    Invalid {
        /// The function.
        op: &'static str,
        /// What was wrong, with the values.
        detail: String,
    },
    /// A layer's construction or forward pass failed.
    #[error(transparent)]
    Layer(#[from] dl_layers::LayerError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] dl_tensor::TensorError),
    /// The region counter failed (a network that is not piecewise linear, a limit).
    #[error(transparent)]
    Regions(#[from] crate::regions::RegionError),
}

impl ExpressivityError {
    /// An [`ExpressivityError::Invalid`].
    pub(crate) fn invalid(op: &'static str, detail: impl Into<String>) -> Self {
        ExpressivityError::Invalid { op, detail: detail.into() }
    }
}

/// Results of this module.
pub type Result<T, E = ExpressivityError> = std::result::Result<T, E>;

/// A dense layer from row-major weights `(out, in)` and a bias.
pub(crate) fn dense(weight: Vec<f64>, bias: Vec<f64>, out: usize, inp: usize) -> Result<dl_layers::Linear<f64>> {
    use dl_tensor::Tensor;
    Ok(dl_layers::Linear::from_tensors(Tensor::from_vec(weight, &[out, inp])?, Some(Tensor::from_vec(bias, &[out])?))?)
}
