//! The first layer of a forward pass whose output holds a non-finite value (the report
//! types are in [`crate::divergence`]).

use dl_autodiff::Var;
use dl_tensor::Element;

use crate::divergence::{DivergenceSite, non_finite_kind};
use crate::network::Network;

/// The first layer whose output is not finite.
pub fn first_non_finite_activation<T: Element>(
    network: &Network<T>,
    outputs: &[Var<T>],
) -> Option<(DivergenceSite, &'static str)> {
    outputs.iter().enumerate().find_map(|(i, h)| {
        non_finite_kind(h.value())
            .map(|kind| (DivergenceSite::Activation { layer: i, name: network.layer_name(i) }, kind))
    })
}
