//! `framework-theoretical-analysis`: an MLP trained on the digits with the empirical-NTK
//! monitors, and `dl_framework::analysis::theoretical_analysis` before and after training.
//!
//! During training the `NtkMonitor` holds a probe batch of training inputs and the kernel
//! at initialisation, and records the relative kernel change `||K_t - K_0||_F / ||K_0||_F`
//! and the kernel-target alignment `<K_t, Y Y^T>_F / (||K_t||_F ||Y Y^T||_F)` (one-hot
//! `Y`). A standard-parameterisation MLP of width 128 trained with Adam is far from the
//! lazy regime: the kernel moves by O(1) and aligns with the labels.
//!
//! Before and after training the analysis reports: exact linear regions along segments
//! between consecutive test points and on one 2-D slice through three test points; the
//! signal-propagation summary (measured q, c against mean field; chi_1 and the phase of
//! the read-off variances); the empirical NTK's condition number and largest stable
//! learning rate on training inputs; and the spectral complexity R_A of Bartlett et al.
//! (2017) with its margin bound, beside the observed train/test gap. The bound is vacuous
//! (far above 1), as in the paper; what it tracks is R_A / gamma.

use dl_framework::analysis::{AnalysisOptions, TheoreticalReport, theoretical_analysis};
use dl_framework::train::NtkMonitor;
use dl_framework::{NetworkConfig, TrainConfig, Trainer};
use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::synthesis::digits_mlp::{digits_data, fw, points};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// The theoretical analysis of a trained MLP.
pub struct FrameworkTheoreticalAnalysis;

const NET: &str = r#"{
  "input_shape": [64],
  "seed": 0,
  "layers": [
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dense", "units": 10}
  ]
}"#;

fn analysis_error(e: dl_framework::analysis::AnalysisError) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

/// The scalars of one report, prefixed `before_` or `after_`.
fn report_scalars(m: &mut Metrics, prefix: &str, r: &TheoreticalReport) {
    let e = &r.expressivity;
    m.scalar(&format!("{prefix}mean_line_regions"), e.mean_line_regions);
    m.scalar(&format!("{prefix}boundaries_per_unit_length"), e.boundaries_per_unit_length);
    if let Some(p) = e.planes.first() {
        m.scalar(&format!("{prefix}plane_regions"), p.connected_regions as f64);
        m.scalar(&format!("{prefix}plane_distinct_patterns"), p.distinct_patterns as f64);
    }
    if let Some(chi) = r.signal.chi_1 {
        m.scalar(&format!("{prefix}chi_1"), chi);
        m.scalar_value(&format!("{prefix}phase"), r.signal.phase.clone().unwrap_or_default());
    }
    if let Some(k) = &r.ntk {
        m.scalar(&format!("{prefix}ntk_lambda_max"), k.eigenvalues[0]);
        m.scalar(&format!("{prefix}ntk_lambda_min"), *k.eigenvalues.last().expect("non-empty"));
        m.scalar_value(
            &format!("{prefix}ntk_condition_number"),
            k.condition_number.map_or(serde_json::Value::Null, num),
        );
        m.scalar(&format!("{prefix}ntk_max_stable_learning_rate"), k.max_stable_learning_rate);
    }
    if let Some(b) = &r.bound {
        m.scalar(&format!("{prefix}spectral_complexity"), b.spectral_complexity);
        m.scalar(&format!("{prefix}lipschitz_product"), b.lipschitz_product);
        m.scalar(&format!("{prefix}margin_gamma"), b.gamma);
        m.scalar(&format!("{prefix}normalised_complexity"), b.normalised_complexity);
        m.scalar(&format!("{prefix}margin_bound"), b.bound);
    }
    let g = &r.generalisation;
    for (name, v) in [
        ("train_accuracy", g.train_accuracy),
        ("test_accuracy", g.test_accuracy),
        ("error_gap", g.error_gap),
        ("loss_gap", g.loss_gap),
    ] {
        if let Some(v) = v {
            m.scalar(&format!("{prefix}{name}"), v);
        }
    }
}

impl Experiment for FrameworkTheoreticalAnalysis {
    fn id(&self) -> &'static str {
        "framework-theoretical-analysis"
    }
    fn title(&self) -> &'static str {
        "Theoretical analysis of an MLP on the digits before and after training, with empirical-NTK drift and kernel-target alignment"
    }
    fn section(&self) -> &'static str {
        "11 synthesis"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (train, test) = digits_data(size, ctx.seed(), 256, 120)?;
        let epochs = size.pick(3, 30);
        let every = size.pick(4, 20);
        let probe = train.subset(&(0..size.pick(24, 64)).collect::<Vec<_>>()).map_err(|e| fw(e.into()))?;
        let options = AnalysisOptions {
            line_pairs: size.pick(4, 16),
            plane_slices: 1,
            plane_resolution: size.pick(24, 96),
            plane_margin: 0.25,
            signal_inputs: size.pick(32, 128),
            ntk_inputs: size.pick(12, 40),
            seed: ctx.seed(),
            ..AnalysisOptions::default()
        };
        let train_json = json!({
            "epochs": epochs, "batch_size": 32, "seed": ctx.seed(),
            "optimizer": {"kind": "adam", "lr": 1e-3}
        })
        .to_string();
        let mut m = Metrics::new();
        m.config("network", serde_json::from_str::<serde_json::Value>(NET).expect("valid JSON"));
        m.config("training", serde_json::from_str::<serde_json::Value>(&train_json).expect("valid JSON"));
        m.config("analysis_options", serde_json::to_value(&options).expect("plain data"));
        m.config("train_examples", train.len());
        m.config("test_examples", test.len());
        m.config("ntk_probe_examples", probe.len());
        m.config("monitor_every_steps", every);

        let net = NetworkConfig::from_json(NET).and_then(|c| c.build::<f32>()).map_err(fw)?;
        ctx.message("analysis at initialisation");
        let before = theoretical_analysis(&net, &train, Some(&test), &options).map_err(analysis_error)?;
        ctx.progress(1, 3);
        ctx.message("training with the NTK monitor");
        let monitor = NtkMonitor::new(probe, every, 1 << 28).map_err(fw)?;
        let mut trainer =
            Trainer::new(net, TrainConfig::from_json(&train_json).map_err(fw)?).map_err(fw)?.with_monitor(monitor);
        trainer.fit(&train, Some(&test)).map_err(fw)?;
        ctx.progress(2, 3);
        ctx.message("analysis after training");
        let after = theoretical_analysis(trainer.network(), &train, Some(&test), &options).map_err(analysis_error)?;
        ctx.progress(3, 3);

        report_scalars(&mut m, "before_", &before);
        report_scalars(&mut m, "after_", &after);
        let h = trainer.history();
        m.scalar("steps", trainer.step_count() as f64);
        for key in ["ntk_drift", "ntk_alignment"] {
            if let Some(v) = h.last(key) {
                m.scalar(&format!("final_{key}"), v);
            }
        }
        if let Some((_, a0)) = h.series("ntk_alignment").first() {
            m.scalar("initial_ntk_alignment", *a0);
        }
        m.table(
            "signal_propagation_after",
            &["layer", "sigma_w2", "sigma_b2", "q_measured", "q_mean_field", "c_measured", "c_mean_field"],
        );
        for l in &after.signal.layers {
            m.push_row(
                "signal_propagation_after",
                vec![
                    num(l.layer as f64),
                    num(l.sigma_w2),
                    num(l.sigma_b2),
                    num(l.q_measured),
                    num(l.q_predicted),
                    num(l.c_measured),
                    num(l.c_predicted),
                ],
            )?;
        }
        m.table("line_regions", &["segment", "length", "regions_before", "regions_after"]);
        for (i, ((l, rb), ra)) in after
            .expressivity
            .line_lengths
            .iter()
            .zip(&before.expressivity.line_regions)
            .zip(&after.expressivity.line_regions)
            .enumerate()
        {
            m.push_row("line_regions", vec![num(i as f64), num(*l), num(*rb as f64), num(*ra as f64)])?;
        }

        let mut drift = LineChart::new("empirical NTK drift on the probe batch", "step", "||K_t - K_0||_F / ||K_0||_F");
        drift.add("relative kernel change", SeriesKind::Line, 0, points(h, "ntk_drift"));
        ctx.figure("ntk_drift", &drift)?;
        let mut align =
            LineChart::new("kernel-target alignment on the probe batch", "step", "<K, YY^T>_F / (|K|_F |YY^T|_F)");
        align.add("alignment", SeriesKind::Line, 0, points(h, "ntk_alignment"));
        ctx.figure("ntk_alignment", &align)?;
        let mut spec = LineChart::new("empirical NTK eigenspectrum (training inputs)", "index", "eigenvalue")
            .scales(Scale::Linear, Scale::Log10);
        for (i, (name, r)) in [("initialisation", &before), ("trained", &after)].into_iter().enumerate() {
            if let Some(k) = &r.ntk {
                spec.add(
                    name,
                    SeriesKind::Line,
                    i,
                    k.eigenvalues.iter().enumerate().map(|(j, v)| (j as f64, *v)).collect(),
                );
            }
        }
        ctx.figure("ntk_spectrum", &spec)?;
        ctx.message(after.summary());
        Ok(m)
    }
}
