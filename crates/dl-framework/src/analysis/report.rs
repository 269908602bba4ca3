//! [`TheoreticalReport`]: everything [`super::theoretical_analysis`] measured, serialisable,
//! with a human-readable [`TheoreticalReport::summary`].

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::bound::SpectralBound;
use super::ntk::NtkSpectrum;
use super::regions::PlaneRegions;
use super::signal::SignalSummary;

/// Linear regions along segments and on 2-D slices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Expressivity {
    /// Why regions were not counted (the network is not piecewise linear: the error names
    /// the layer).
    pub not_applicable: Option<String>,
    /// Units of piecewise-linear activations (the `#neurons` of Hanin and Rolnick 2019).
    pub neurons: usize,
    /// Exact regions along each segment between consecutive pairs of points.
    pub line_regions: Vec<usize>,
    /// The length of each segment.
    pub line_lengths: Vec<f64>,
    /// Mean regions per segment.
    pub mean_line_regions: f64,
    /// Mean of `(regions - 1) / length`: pattern changes per unit length.
    pub boundaries_per_unit_length: f64,
    /// Regions on 2-D slices through three points (exact, with the grid cross-check).
    pub planes: Vec<PlaneRegions>,
}

/// Train and test loss and accuracy, and their gaps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Generalisation {
    /// Cross-entropy on the training data.
    pub train_loss: Option<f64>,
    /// Accuracy on the training data.
    pub train_accuracy: Option<f64>,
    /// Cross-entropy on the test data.
    pub test_loss: Option<f64>,
    /// Accuracy on the test data.
    pub test_accuracy: Option<f64>,
    /// `test_loss - train_loss`.
    pub loss_gap: Option<f64>,
    /// `train_accuracy - test_accuracy` (the observed generalisation gap in error).
    pub error_gap: Option<f64>,
}

/// The report of [`super::theoretical_analysis`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TheoreticalReport {
    /// The network's description.
    pub network: String,
    /// Trainable scalars.
    pub parameters: usize,
    /// Linear regions.
    pub expressivity: Expressivity,
    /// Measured signal propagation against mean-field theory.
    pub signal: SignalSummary,
    /// The empirical NTK's spectrum (`None` with the reason in `ntk_not_applicable`).
    pub ntk: Option<NtkSpectrum>,
    /// Why the NTK was not computed.
    pub ntk_not_applicable: Option<String>,
    /// The spectral margin bound.
    pub bound: Option<SpectralBound>,
    /// Why the bound was not computed.
    pub bound_not_applicable: Option<String>,
    /// The observed gap.
    pub generalisation: Generalisation,
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.4}"))
}

impl TheoreticalReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report is plain data")
    }

    /// A few lines of text per section.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Theoretical analysis of {} ({} parameters)", self.network, self.parameters);
        let e = &self.expressivity;
        match &e.not_applicable {
            Some(r) => {
                let _ = writeln!(s, "  expressivity: not applicable: {r}");
            }
            None => {
                let _ = writeln!(
                    s,
                    "  expressivity: {} piecewise-linear units; {:.1} regions per segment over {} segments ({:.2} boundaries per unit length)",
                    e.neurons,
                    e.mean_line_regions,
                    e.line_regions.len(),
                    e.boundaries_per_unit_length
                );
                for p in &e.planes {
                    let _ = writeln!(
                        s,
                        "    2-D slice: {} regions (exact); a {}x{} grid sees {} distinct patterns in {} connected pieces",
                        p.regions, p.resolution, p.resolution, p.distinct_patterns, p.connected_regions
                    );
                }
            }
        }
        let g = &self.signal;
        match &g.not_applicable {
            Some(r) => {
                let _ = writeln!(s, "  signal propagation: not applicable: {r}");
            }
            None => {
                let _ = writeln!(
                    s,
                    "  signal propagation ({}): sigma_w2 = {}, sigma_b2 = {}, chi_1 = {}: {} phase",
                    g.activation.as_deref().unwrap_or("-"),
                    opt(g.sigma_w2),
                    opt(g.sigma_b2),
                    opt(g.chi_1),
                    g.phase.as_deref().unwrap_or("-")
                );
                for l in &g.layers {
                    let _ = writeln!(
                        s,
                        "    layer {}: q = {:.4} (mean field {:.4}), c = {:.4} (mean field {:.4})",
                        l.layer, l.q_measured, l.q_predicted, l.c_measured, l.c_predicted
                    );
                }
            }
        }
        match (&self.ntk, &self.ntk_not_applicable) {
            (Some(k), _) => {
                let _ = writeln!(
                    s,
                    "  empirical NTK on {} inputs x {} outputs: lambda_max = {:.4e}, lambda_min = {:.4e}, condition number {}, largest stable learning rate {:.4e}",
                    k.inputs,
                    k.outputs,
                    k.eigenvalues[0],
                    k.eigenvalues.last().copied().unwrap_or(0.0),
                    k.condition_number.map_or("infinite".into(), |c| format!("{c:.4e}")),
                    k.max_stable_learning_rate
                );
            }
            (None, r) => {
                let _ = writeln!(s, "  empirical NTK: not computed: {}", r.as_deref().unwrap_or("-"));
            }
        }
        match (&self.bound, &self.bound_not_applicable) {
            (Some(b), _) => {
                let _ = writeln!(
                    s,
                    "  spectral bound: R_A = {:.4e}, prod ||W||_2 = {:.4e}, gamma = {:.4} (margin loss {:.3}), R_A / gamma = {:.4e}, bound on test error {:.4e}{}",
                    b.spectral_complexity,
                    b.lipschitz_product,
                    b.gamma,
                    b.margin_loss,
                    b.normalised_complexity,
                    b.bound,
                    if b.bound >= 1.0 { " (vacuous)" } else { "" }
                );
            }
            (None, r) => {
                let _ = writeln!(s, "  spectral bound: not computed: {}", r.as_deref().unwrap_or("-"));
            }
        }
        let q = &self.generalisation;
        let _ = writeln!(
            s,
            "  observed: train accuracy {}, test accuracy {}, error gap {}, loss gap {}",
            opt(q.train_accuracy),
            opt(q.test_accuracy),
            opt(q.error_gap),
            opt(q.loss_gap)
        );
        s
    }
}
