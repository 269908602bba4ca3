//! Divergence reports: a NaN or an infinity in the loss, an activation or a gradient
//! stops training with a [`DivergenceReport`] naming the step and the first place it
//! appeared.
//!
//! Where: every step, the forward pass is searched layer by layer and the first layer whose
//! output holds a non-finite value is named (a value that overflowed in layer 3 poisons
//! every later layer, so the first is where it started; and a ReLU maps NaN to 0, so the
//! loss alone can miss it). If every output and the loss are finite but a gradient is not, the first parameter (in the network's order) with a
//! non-finite gradient is named. Before a checkpoint is written the parameters are checked
//! too, so a checkpoint never holds a non-finite value. The step that diverged is not applied, and no checkpoint
//! is written after it, so the last checkpoint on disk is the last good one.

use std::path::PathBuf;

use dl_tensor::{Element, Tensor};

/// Where the first non-finite value appeared.
#[derive(Clone, Debug, PartialEq)]
pub enum DivergenceSite {
    /// The output of a layer in the forward pass.
    Activation {
        /// The layer's position.
        layer: usize,
        /// `layer 2 (Linear(64 -> 256))`.
        name: String,
    },
    /// The loss itself (every activation was finite).
    Loss,
    /// The gradient of a parameter.
    Gradient {
        /// The parameter's name, e.g. `0.weight`.
        param: String,
    },
    /// A parameter after its update (found before writing a checkpoint, so that no
    /// checkpoint ever holds a non-finite parameter).
    Parameter {
        /// The parameter's name.
        param: String,
    },
}

/// When and where training diverged.
#[derive(Clone, Debug, PartialEq)]
pub struct DivergenceReport {
    /// Optimiser steps completed before the failing one.
    pub step: u64,
    /// The epoch of the failing step (from 0).
    pub epoch: usize,
    /// The first non-finite place.
    pub site: DivergenceSite,
    /// `"NaN"` or `"infinity"`.
    pub kind: &'static str,
    /// The loss of the failing step (may itself be NaN).
    pub loss: f64,
    /// The last checkpoint written before the failure, if any; it is left untouched.
    pub last_checkpoint: Option<PathBuf>,
}

impl std::fmt::Display for DivergenceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let site = match &self.site {
            DivergenceSite::Activation { name, .. } => format!("in the output of {name}"),
            DivergenceSite::Loss => "in the loss (every activation was finite)".to_string(),
            DivergenceSite::Gradient { param } => format!("in the gradient of parameter '{param}'"),
            DivergenceSite::Parameter { param } => format!("in parameter '{param}' after its update"),
        };
        write!(
            f,
            "training diverged at step {} (epoch {}): first {} {site}; loss {}",
            self.step, self.epoch, self.kind, self.loss
        )?;
        match &self.last_checkpoint {
            Some(p) => write!(f, "; the last good checkpoint is {}", p.display()),
            None => write!(f, "; no checkpoint had been written"),
        }
    }
}

/// `Some("NaN")` or `Some("infinity")` if `t` holds a non-finite value (NaN first).
pub fn non_finite_kind<T: Element>(t: &Tensor<T>) -> Option<&'static str> {
    // The vectorised check first; the slower search for a NaN only once something is wrong.
    if t.all_finite() {
        return None;
    }
    Some(if t.array().iter().any(|x| x.is_nan()) { "NaN" } else { "infinity" })
}
