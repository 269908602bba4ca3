//! `theoretical_analysis(network, data)`: what theory says about a network and a dataset.
//! The derivations are in `docs/theoretical_analysis.md`.
//!
//! | file | holds |
//! | --- | --- |
//! | `layers` | what each layer is for the analysis ([`LayerRole`], from the typed `Module::kind`), dense layers' affine maps read by probing, [`dense_stack`] |
//! | `regions` | linear regions by dl-theory's exact counter: along a segment ([`line_regions`]), on 2-D slices ([`plane_regions`]: exact cells beside the grid cross-check), activation patterns, sampled counts |
//! | `signal` | measured `q^l`, `c^l` against dl-init's mean-field maps; `chi_1` and the phase ([`signal_propagation`]) |
//! | `ntk` | the empirical NTK of a [`Network`](crate::Network) of any element type ([`network_ntk`]), its spectrum, condition number and largest stable learning rate |
//! | `layerwise_ntk` | [`layerwise_ntk`]: the trace NTK of a dense network layer by layer (`O(N^2 width)`), multipliers included (NTK, muP) |
//! | `norms` | spectral norm by power iteration, `(2,1)` and Frobenius norms |
//! | `bound` | spectral complexity and the margin bound of Bartlett, Foster and Telgarsky (2017) |
//! | `report` | [`TheoreticalReport`] (serde) and its text summary |
//! | `error` | [`AnalysisError`] |
//!
//! ```
//! use dl_framework::NetworkConfig;
//! use dl_framework::analysis::{AnalysisOptions, theoretical_analysis};
//! use dl_framework::data::digits_split;
//! use dl_layers::Module;
//!
//! let split = digits_split::<f64>(0.5, 0)?;
//! let mut net = NetworkConfig::from_json(r#"{"input_shape": [64], "layers": [
//!     {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 10}]}"#)?
//!     .build::<f64>()?;
//! net.eval();
//! let opts = AnalysisOptions { line_pairs: 2, plane_slices: 0, ntk_inputs: 8, ..AnalysisOptions::default() };
//! let report = theoretical_analysis(&net, &split.train, Some(&split.test), &opts)?;
//! assert!(report.expressivity.mean_line_regions >= 1.0);
//! assert_eq!(report.ntk.as_ref().map(|k| k.eigenvalues.len()), Some(80));
//! assert!(report.summary().contains("spectral bound"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bound;
mod error;
mod layers;
mod layerwise_ntk;
mod norms;
mod ntk;
mod regions;
mod report;
mod signal;

use dl_autodiff::{Var, no_grad};
use dl_layers::Module;
use dl_ntk::OutputKernel;
use dl_tensor::Element;
use serde::{Deserialize, Serialize};

pub use bound::{LayerNorms, SpectralBound, margin_bound, margins, spectral_complexity};
pub use error::{AnalysisError, Result};
pub use layers::{
    AffineMap, DenseBlock, LayerRole, check_evaluation_mode, classify, dense_stack, lipschitz_constant, read_affine,
};
pub use layerwise_ntk::layerwise_ntk;
pub use norms::{SpectralNorm, frobenius_norm, norm_2_1_of_transpose, spectral_norm};
pub use ntk::{NtkSpectrum, network_ntk, ntk_spectrum};
pub use regions::{
    LineRegions, PlaneRegions, activation_patterns, count_neurons, line_regions, plane_regions, plane_regions_bounded,
    sampled_line_regions,
};
pub use report::{Expressivity, Generalisation, TheoreticalReport};
pub use signal::{SignalLayer, SignalSummary, mean_field_activation, signal_propagation};

use crate::data::Dataset;
use crate::loss::{Loss, evaluate};

/// What [`theoretical_analysis`] measures, and on how much data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisOptions {
    /// Segments between consecutive pairs of points `(x_0, x_1), (x_2, x_3), ...`.
    pub line_pairs: usize,
    /// At most this many pieces per segment, and cells per slice (an error beyond).
    pub max_pieces: usize,
    /// 2-D slices through consecutive triples of points.
    pub plane_slices: usize,
    /// Grid points per side of a slice's grid cross-check (the count itself is exact).
    pub plane_resolution: usize,
    /// A slice spans `[-margin, 1 + margin]^2` in its plane coordinates.
    pub plane_margin: f64,
    /// Inputs for the signal-propagation summary (the first of the data).
    pub signal_inputs: usize,
    /// `|chi_1 - 1|` at or below this counts as critical.
    pub critical_tolerance: f64,
    /// Inputs for the empirical NTK (the first of the data); 0 skips it.
    pub ntk_inputs: usize,
    /// At most this many bytes of Jacobian for the NTK.
    pub ntk_budget_bytes: usize,
    /// `gamma` of the margin bound is this quantile of the training margins.
    pub margin_quantile: f64,
    /// The bound holds with probability `1 - delta`.
    pub delta: f64,
    /// Power-iteration steps for spectral norms.
    pub power_iterations: usize,
    /// Seed of the power iterations' starts.
    pub seed: u64,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            line_pairs: 8,
            max_pieces: 1_000_000,
            plane_slices: 1,
            plane_resolution: 64,
            plane_margin: 0.5,
            signal_inputs: 64,
            critical_tolerance: 0.05,
            ntk_inputs: 32,
            ntk_budget_bytes: 256 << 20,
            margin_quantile: 0.1,
            delta: 0.05,
            power_iterations: 1000,
            seed: 0,
        }
    }
}

fn rows_f64<T: Element>(data: &Dataset<T>, count: usize) -> Vec<Vec<f64>> {
    let n = data.len().min(count);
    let x = data.features().contiguous().to_vec();
    let d = x.len() / data.len().max(1);
    (0..n).map(|i| x[i * d..(i + 1) * d].iter().map(|v| v.to_f64_exact()).collect()).collect()
}

fn first<T: Element>(data: &Dataset<T>, count: usize) -> Result<Dataset<T>> {
    Ok(data.subset(&(0..data.len().min(count)).collect::<Vec<_>>())?)
}

/// Regions along segments through consecutive pairs of `points` and on slices through
/// consecutive triples.
fn expressivity<T: Element>(network: &crate::Network<T>, points: &Dataset<T>, opts: &AnalysisOptions) -> Expressivity {
    let pts = rows_f64(points, (2 * opts.line_pairs).max(3 * opts.plane_slices));
    let mut e = Expressivity::default();
    let run = |e: &mut Expressivity| -> Result<()> {
        e.neurons = count_neurons(network)?;
        for pair in pts.chunks_exact(2).take(opts.line_pairs) {
            let r = line_regions(network, &pair[0], &pair[1], opts.max_pieces)?;
            e.line_regions.push(r.regions);
            e.line_lengths.push(r.length);
        }
        for t in pts.chunks_exact(3).take(opts.plane_slices) {
            e.planes.push(plane_regions_bounded(
                network,
                &t[0],
                &t[1],
                &t[2],
                opts.plane_resolution,
                opts.plane_margin,
                opts.max_pieces,
            )?);
        }
        let m = e.line_regions.len().max(1) as f64;
        e.mean_line_regions = e.line_regions.iter().sum::<usize>() as f64 / m;
        e.boundaries_per_unit_length = e
            .line_regions
            .iter()
            .zip(&e.line_lengths)
            .map(|(r, l)| if *l > 0.0 { (*r as f64 - 1.0) / l } else { 0.0 })
            .sum::<f64>()
            / m;
        Ok(())
    };
    if let Err(err) = run(&mut e) {
        e = Expressivity { not_applicable: Some(err.to_string()), ..Expressivity::default() };
    }
    e
}

fn logits_f64<T: Element>(network: &crate::Network<T>, data: &Dataset<T>) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for batch in data.batches::<dl_tensor::TensorRng>(512, None)? {
        let y = no_grad(|| network.forward(&Var::constant(batch.features().clone())))?;
        out.extend(y.value().contiguous().to_vec().iter().map(|v| v.to_f64_exact()));
    }
    Ok(out)
}

/// The spectral bound on the training data `data`, or why it does not apply.
fn spectral_bound<T: Element>(
    network: &crate::Network<T>,
    data: &Dataset<T>,
    opts: &AnalysisOptions,
) -> std::result::Result<SpectralBound, String> {
    let blocks = dense_stack(network)?;
    let labels = data.labels().ok_or("the data has regression targets; the margin bound is for classifiers")?;
    let classes: usize = network.output_shape().iter().product();
    let (layers, product, r_a) = spectral_complexity(&blocks, opts.power_iterations, opts.seed);
    let logits = logits_f64(network, data).map_err(|e| e.to_string())?;
    let m = margins(&logits, classes, labels);
    let x = data.features().contiguous().to_vec();
    let data_norm = x.iter().map(|v| v.to_f64_exact().powi(2)).sum::<f64>().sqrt();
    let width = blocks.iter().map(|b| b.affine.rows.max(b.affine.cols)).max().unwrap_or(1);
    margin_bound(layers, product, r_a, &m, opts.margin_quantile, data_norm, width, opts.delta)
        .ok_or_else(|| "no training point has a positive margin".to_string())
}

/// Analyses `network` on the training data `data` (and a held-out `test` set, if given):
///
/// - **expressivity**: exact linear regions along segments between consecutive pairs of
///   the test points (the training points without a test set), and on 2-D slices through
///   consecutive triples, exactly by cell enumeration and by a grid beside it (see
///   [`line_regions`], [`plane_regions`]);
/// - **signal propagation**: measured `q^l`, `c^l` against mean field on the first
///   `signal_inputs` training inputs, `chi_1` and the phase ([`signal_propagation`]);
/// - **NTK**: the full empirical NTK on the first `ntk_inputs` training inputs, its
///   eigenvalues, condition number and the largest stable learning rate ([`ntk_spectrum`]);
/// - **generalisation**: the spectral complexity and margin bound of Bartlett et al. (2017)
///   beside the observed train/test loss and accuracy.
///
/// Parts that do not apply to the network (a smooth activation for regions, convolutions
/// for the dense-only summaries) are reported as not applicable with the reason. The
/// network must be in evaluation mode if it has dropout or batch normalisation (so the
/// analysis draws no masks). Nothing in the network changes.
pub fn theoretical_analysis<T: Element>(
    network: &crate::Network<T>,
    data: &Dataset<T>,
    test: Option<&Dataset<T>>,
    options: &AnalysisOptions,
) -> Result<TheoreticalReport> {
    check_evaluation_mode(network)?;
    network.check_input(data.features().shape())?;
    if let Some(t) = test {
        network.check_input(t.features().shape())?;
    }
    if data.is_empty() {
        return Err(AnalysisError::invalid("theoretical_analysis", "the training data is empty"));
    }
    let line_points = test.unwrap_or(data);
    let expressivity = expressivity(network, line_points, options);
    let signal_x = first(data, options.signal_inputs)?;
    let signal = signal_propagation(network, signal_x.features(), options.critical_tolerance)?;
    let (ntk, ntk_not_applicable) = if options.ntk_inputs == 0 {
        (None, Some("ntk_inputs = 0".to_string()))
    } else {
        let x = first(data, options.ntk_inputs)?;
        let theta = network_ntk(network, x.features(), OutputKernel::Full, options.ntk_budget_bytes)?;
        (Some(ntk_spectrum(&theta, x.len(), network.output_shape().iter().product())?), None)
    };
    let (bound, bound_not_applicable) = match spectral_bound(network, data, options) {
        Ok(b) => (Some(b), None),
        Err(r) => (None, Some(r)),
    };
    let mut generalisation = Generalisation::default();
    if data.labels().is_some() {
        let loss = Loss::default();
        let (l, a) = evaluate(network, data, &loss, 512)?;
        generalisation.train_loss = Some(l);
        generalisation.train_accuracy = Some(a);
        if let Some(t) = test.filter(|t| t.labels().is_some()) {
            let (tl, ta) = evaluate(network, t, &loss, 512)?;
            generalisation.test_loss = Some(tl);
            generalisation.test_accuracy = Some(ta);
            generalisation.loss_gap = Some(tl - l);
            generalisation.error_gap = Some(a - ta);
        }
    }
    Ok(TheoreticalReport {
        network: network.describe(),
        parameters: network
            .parameters()
            .iter()
            .filter(|p| p.param.requires_grad())
            .map(|p| p.param.shape().iter().product::<usize>())
            .sum(),
        expressivity,
        signal,
        ntk,
        ntk_not_applicable,
        bound,
        bound_not_applicable,
        generalisation,
    })
}
