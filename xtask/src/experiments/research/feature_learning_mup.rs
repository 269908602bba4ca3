//! `feature-learning-mup`: feature learning against lazy training, in width and in scale.
//!
//! **Width** (Yang & Hu 2021, "Tensor Programs IV"). MLPs 40 -> n -> n -> 10 (ReLU,
//! `W ~ N(0, 2 / fan_in)` at the base width) on 512 MNIST-1D sequences, trained by SGD at
//! one learning rate for every width, in two abc parameterisations anchored at the base
//! width `n_0` (where both are the standard parameterisation): the NTK parameterisation
//! and muP (`{"kind": "abc", "scheme": ...}` in dl-framework; the multipliers, initial
//! scales and learning-rate factors of `dl_theory::feature_learning::DenseScaling`). On a
//! probe batch of 64 training inputs the empirical NTK (trace over the 10 logits, layer by
//! layer: `dl_framework::analysis::layerwise_ntk`) is measured before and after training:
//! the relative change `|K_T - K_0|_F / |K_0|_F` and the kernel–target alignment
//! `<K, Y Y^T> / (|K| |Y Y^T|)` (Cristianini et al. 2002). Theory: in the NTK
//! parameterisation the kernel is frozen in the limit, its change falling like `n^(-1/2)`;
//! muP's moves by `O(1)` at every width.
//!
//! **Scale** (Chizat, Oyallon & Bach 2019, "On Lazy Training in Differentiable
//! Programming", Section 2). One network of width 256 in the standard parameterisation,
//! trained as the lazy model `alpha (f(w) - f(w_0))` on the loss divided by `alpha^2`
//! (`lazy_scale` in the configuration), for `alpha` from 1 to 64 at one learning rate. The
//! function-space dynamics barely depend on `alpha`, but the weights need to move only
//! `O(1 / alpha)` to produce them: the relative change of the weights and of the kernel
//! falls like `1 / alpha`.

use dl_framework::analysis::layerwise_ntk;
use dl_framework::data::{Dataset, load_mnist1d};
use dl_framework::train::target_matrix;
use dl_framework::{Network, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_ntk::feature_learning::{kernel_target_alignment, relative_kernel_change};
use dl_tensor::Tensor;
use dl_theory::feature_learning::{LogLogFit, relative_change};
use serde_json::{Value, json};

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::experiments::synthesis::digits_mlp::fw;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind, seed_summary};
use crate::replicates::par_map;

/// Feature learning in width (muP against NTK) and in scale (Chizat's alpha).
pub struct FeatureLearningMup;

fn theory(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

/// The sizes of a run.
#[derive(Clone)]
struct Protocol {
    train_examples: usize,
    probe: usize,
    batch_size: usize,
    lr: f64,
    steps: u64,
    base_width: usize,
    widths: Vec<usize>,
    lazy_width: usize,
    alphas: Vec<f64>,
}

impl Protocol {
    fn of(size: Size) -> Self {
        match size {
            Size::Quick => Protocol {
                train_examples: 128,
                probe: 16,
                batch_size: 64,
                lr: 0.1,
                steps: 30,
                base_width: 32,
                widths: vec![32, 64, 128],
                lazy_width: 64,
                alphas: vec![1.0, 4.0, 16.0],
            },
            Size::Full => Protocol {
                train_examples: 512,
                probe: 64,
                batch_size: 128,
                lr: 0.1,
                steps: 300,
                base_width: 64,
                widths: vec![64, 128, 256, 512, 1024, 2048],
                lazy_width: 256,
                alphas: vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
            },
        }
    }

    fn network(&self, width: usize, parameterisation: Value, lazy_scale: Option<f64>, seed: u64) -> Value {
        let mut net = json!({"input_shape": [40], "seed": seed, "layers": [
            {"type": "dense", "units": width, "activation": "relu"},
            {"type": "dense", "units": width, "activation": "relu"},
            {"type": "dense", "units": 10}],
            "init": {"scheme": "gaussian", "sigma_w2": 2.0, "sigma_b2": 0.0},
            "parameterisation": parameterisation});
        if let Some(a) = lazy_scale {
            net["lazy_scale"] = json!(a);
        }
        net
    }

    fn abc(&self, scheme: &str) -> Value {
        json!({"kind": "abc", "scheme": scheme, "base_units": [self.base_width, self.base_width, 10]})
    }

    fn training(&self, seed: u64) -> Value {
        let epochs = (self.steps as usize).div_ceil(self.train_examples.div_ceil(self.batch_size));
        json!({"epochs": epochs, "batch_size": self.batch_size, "seed": seed, "log_every": 1_000_000, "max_steps": self.steps,
               "optimizer": {"kind": "sgd", "lr": self.lr}})
    }
}

/// What one training run measured.
#[derive(Clone, Copy)]
struct Movement {
    kernel_change: f64,
    weight_change: f64,
    alignment_start: f64,
    alignment_end: f64,
    train_loss: f64,
}

fn flat(net: &Network<f32>) -> Vec<f64> {
    net.parameters().iter().flat_map(|p| p.param.value().to_vec()).map(f64::from).collect()
}

/// Trains the network of `config` and measures how far its kernel and weights moved.
fn measure(
    p: &Protocol,
    config: &Value,
    seed: u64,
    train: &Dataset<f32>,
    probe: &Dataset<f32>,
    targets: &Tensor<f64>,
) -> Result<Movement, ExperimentError> {
    let net = NetworkConfig::from_json(&config.to_string()).and_then(|c| c.build::<f32>()).map_err(fw)?;
    let k0 = layerwise_ntk(&net, probe.features()).map_err(theory)?;
    let w0 = flat(&net);
    let mut t = Trainer::new(net, TrainConfig::from_json(&p.training(seed).to_string()).map_err(fw)?).map_err(fw)?;
    t.fit(train, None).map_err(fw)?;
    let kt = layerwise_ntk(t.network(), probe.features()).map_err(theory)?;
    let (train_loss, _) = t.evaluate(train).map_err(fw)?;
    Ok(Movement {
        kernel_change: relative_kernel_change(&k0, &kt).map_err(theory)?,
        weight_change: relative_change(&w0, &flat(t.network())).map_err(theory)?,
        alignment_start: kernel_target_alignment(&k0, targets).map_err(theory)?,
        alignment_end: kernel_target_alignment(&kt, targets).map_err(theory)?,
        train_loss,
    })
}

/// One curve per seed, `values[r][i]` at `xs[i]`.
fn curves(xs: &[f64], values: &[Vec<f64>]) -> Vec<Vec<(f64, f64)>> {
    values.iter().map(|v| xs.iter().copied().zip(v.iter().copied()).collect()).collect()
}

impl Experiment for FeatureLearningMup {
    fn id(&self) -> &'static str {
        "feature-learning-mup"
    }
    fn title(&self) -> &'static str {
        "Feature learning against lazy training: the NTK's movement against width (muP and the NTK parameterisation) and against the lazy scale alpha"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let p = Protocol::of(ctx.size());
        let seeds = ctx.replicate_seeds(ctx.size().pick(1, 3));
        let data = load_mnist1d::<f32>().map_err(|e| fw(e.into()))?;
        let train = data.train.subset(&(0..p.train_examples).collect::<Vec<_>>()).map_err(|e| fw(e.into()))?;
        let probe = train.subset(&(0..p.probe).collect::<Vec<_>>()).map_err(|e| fw(e.into()))?;
        let targets = target_matrix(&probe).map_err(fw)?;
        let mut m = Metrics::new();
        m.config("train_examples", p.train_examples);
        m.config("probe_inputs", p.probe);
        m.config("steps", p.steps);
        m.config("base_width", p.base_width);
        m.config("widths", p.widths.clone());
        m.config("alphas", p.alphas.clone());
        m.config("seeds", seeds.len());
        m.config("training", p.training(ctx.seed()));
        m.config("mup_network", p.network(p.widths[p.widths.len() - 1], p.abc("mup"), None, ctx.seed()));
        m.config("lazy_network", p.network(p.lazy_width, json!({"kind": "standard"}), Some(p.alphas[1]), ctx.seed()));

        // width sweep
        m.table(
            "width_sweep",
            &[
                "parameterisation",
                "width",
                "seed",
                "kernel_change",
                "weight_change",
                "alignment_start",
                "alignment_end",
                "train_loss",
            ],
        );
        let widths: Vec<f64> = p.widths.iter().map(|&w| w as f64).collect();
        let mut kernel_chart = LineChart::new(
            &format!(
                "relative change of the empirical NTK over {} SGD steps against width ({} seeds)",
                p.steps,
                seeds.len()
            ),
            "width n",
            "|K_T - K_0|_F / |K_0|_F",
        )
        .scales(Scale::Log2, Scale::Log10);
        let mut align_chart =
            LineChart::new("kernel-target alignment after training against width", "width n", "alignment")
                .scales(Scale::Log2, Scale::Linear);
        let schemes = [("mup", "muP"), ("ntk", "NTK parameterisation")];
        let mut slopes_of = Vec::new();
        for (c, (scheme, label)) in schemes.iter().enumerate() {
            ctx.message(format!("width sweep, {label}"));
            let runs = par_map(ctx, &seeds, |&s| {
                p.widths
                    .iter()
                    .map(|&w| measure(&p, &p.network(w, p.abc(scheme), None, s), s, &train, &probe, &targets))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            let mut slopes = Vec::new();
            for (per_width, seed) in runs.iter().zip(&seeds) {
                for (mv, &w) in per_width.iter().zip(&p.widths) {
                    m.push_row(
                        "width_sweep",
                        vec![
                            json!(scheme),
                            json!(w),
                            json!(seed),
                            num(mv.kernel_change),
                            num(mv.weight_change),
                            num(mv.alignment_start),
                            num(mv.alignment_end),
                            num(mv.train_loss),
                        ],
                    )?;
                }
                let ks: Vec<f64> = per_width.iter().map(|mv| mv.kernel_change).collect();
                slopes.push(LogLogFit::fit(&widths, &ks).map_err(theory)?.slope);
            }
            let get =
                |f: fn(&Movement) -> f64| runs.iter().map(|r| r.iter().map(f).collect()).collect::<Vec<Vec<f64>>>();
            let kernel_curves = curves(&widths, &get(|mv| mv.kernel_change));
            // geometric mean over seeds, as drawn on the log axis
            let kernel: Vec<(f64, f64)> =
                seed_summary(&kernel_curves, true).iter().map(|&(x, m, _, _)| (x, m)).collect();
            kernel_chart.add_over_seeds(label, SeriesKind::Line, c, &kernel_curves);
            align_chart.add_over_seeds(
                &format!("{label}, after training"),
                SeriesKind::Line,
                c,
                &curves(&widths, &get(|mv| mv.alignment_end)),
            );
            if c == 0 {
                align_chart.add_over_seeds(
                    "at initialisation (muP)",
                    SeriesKind::Line,
                    2,
                    &curves(&widths, &get(|mv| mv.alignment_start)),
                );
            }
            if *scheme == "ntk" {
                // the n^(-1/2) law through the base-width point
                let k0 = kernel[0].1;
                kernel_chart.add(
                    "n^(-1/2) from the base width",
                    SeriesKind::Line,
                    3,
                    widths.iter().map(|&n| (n, k0 * (widths[0] / n).sqrt())).collect(),
                );
            }
            m.scalar(&format!("{scheme}_kernel_change_slope"), Measured::over_seeds(&slopes).mean);
            m.scalar(&format!("{scheme}_kernel_change_at_largest_width"), kernel[kernel.len() - 1].1);
            let last = kernel.len() - 1;
            let local = (kernel[last].1 / kernel[last - 1].1).ln() / (kernel[last].0 / kernel[last - 1].0).ln();
            m.scalar(&format!("{scheme}_kernel_change_local_slope"), local);
            slopes_of.push(slopes);
            ctx.progress(c as u64 + 1, 3);
        }
        ctx.figure("kernel_change_vs_width", &kernel_chart)?;
        ctx.figure("alignment_vs_width", &align_chart)?;
        let widths_text = format!("{:?}", p.widths);
        m.claim(
            Claim::new(
                "ntk-kernel-freezes-with-width",
                "in the NTK parameterisation the empirical NTK moves less and less as the width grows, like n^(-1/2)",
                "Jacot et al. 2018; Lee et al. 2019 (Theorem 2.1); Yang & Hu 2021, Section 3",
            )
            .measured(&format!("slope of log relative kernel change against log width over {widths_text}"), Measured::over_seeds(&slopes_of[1]))
            .criterion(Criterion::within(-0.5, 0.15))
            .partly_if(Criterion::within(-0.5, 0.3))
            .note(
                "n^(-1/2) is the upper bound of Lee et al. (2019, Theorem 2.1); Dyer & Gur-Ari (2020) and Huang & Yau (2020) find the kernel moves by O(1/n) during training, a slope of -1; see ntk_kernel_change_local_slope for the two largest widths",
            ),
        )?;
        m.claim(
            Claim::new(
                "mup-kernel-keeps-moving",
                "in muP the kernel keeps moving by O(1) at every width (feature learning survives the limit)",
                "Yang & Hu 2021, Theorem 3.4 and Section 5 (maximal update parameterisation)",
            )
            .measured(
                &format!("slope of log relative kernel change against log width over {widths_text}"),
                Measured::over_seeds(&slopes_of[0]),
            )
            .criterion(Criterion::within(0.0, 0.15))
            .partly_if(Criterion::within(0.0, 0.3)),
        )?;

        // alpha sweep
        ctx.message("lazy scale sweep");
        let alphas = p.alphas.clone();
        let runs = par_map(ctx, &seeds, |&s| {
            alphas
                .iter()
                .map(|&a| {
                    measure(
                        &p,
                        &p.network(p.lazy_width, json!({"kind": "standard"}), Some(a), s),
                        s,
                        &train,
                        &probe,
                        &targets,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        m.table("alpha_sweep", &["alpha", "seed", "weight_change", "kernel_change", "train_loss"]);
        let (mut weight_slopes, mut kernel_slopes) = (Vec::new(), Vec::new());
        for (per_alpha, seed) in runs.iter().zip(&seeds) {
            for (mv, &a) in per_alpha.iter().zip(&alphas) {
                m.push_row(
                    "alpha_sweep",
                    vec![num(a), json!(seed), num(mv.weight_change), num(mv.kernel_change), num(mv.train_loss)],
                )?;
            }
            let ws: Vec<f64> = per_alpha.iter().map(|mv| mv.weight_change).collect();
            let ks: Vec<f64> = per_alpha.iter().map(|mv| mv.kernel_change).collect();
            weight_slopes.push(LogLogFit::fit(&alphas, &ws).map_err(theory)?.slope);
            kernel_slopes.push(LogLogFit::fit(&alphas, &ks).map_err(theory)?.slope);
        }
        let get = |f: fn(&Movement) -> f64| runs.iter().map(|r| r.iter().map(f).collect()).collect::<Vec<Vec<f64>>>();
        let mut chart = LineChart::new(
            &format!(
                "lazy training: relative change after {} SGD steps against the scale alpha (width {})",
                p.steps, p.lazy_width
            ),
            "alpha",
            "relative change",
        )
        .scales(Scale::Log2, Scale::Log10);
        let weight_curves = curves(&alphas, &get(|mv| mv.weight_change));
        let weights: Vec<(f64, f64)> = seed_summary(&weight_curves, true).iter().map(|&(x, m, _, _)| (x, m)).collect();
        chart.add_over_seeds("weights |w_T - w_0| / |w_0|", SeriesKind::Line, 0, &weight_curves);
        chart.add_over_seeds(
            "kernel |K_T - K_0| / |K_0|",
            SeriesKind::Line,
            1,
            &curves(&alphas, &get(|mv| mv.kernel_change)),
        );
        chart.add(
            "1 / alpha from alpha = 1",
            SeriesKind::Line,
            3,
            alphas.iter().map(|&a| (a, weights[0].1 / a)).collect(),
        );
        ctx.figure("change_vs_alpha", &chart)?;
        let mut loss = LineChart::new(
            "training loss after training against alpha (the function-space dynamics barely depend on it)",
            "alpha",
            "cross-entropy",
        )
        .scales(Scale::Log2, Scale::Linear);
        loss.add_over_seeds("training loss", SeriesKind::Line, 2, &curves(&alphas, &get(|mv| mv.train_loss)));
        ctx.figure("loss_vs_alpha", &loss)?;
        m.scalar("alpha_weight_change_slope", Measured::over_seeds(&weight_slopes).mean);
        m.scalar("alpha_kernel_change_slope", Measured::over_seeds(&kernel_slopes).mean);
        let alphas_text = format!("{alphas:?}");
        for (id, what, slopes) in [
            ("lazy-weights-move-like-one-over-alpha", "weights", &weight_slopes),
            ("lazy-kernel-moves-like-one-over-alpha", "kernel", &kernel_slopes),
        ] {
            m.claim(
                Claim::new(
                    id,
                    &format!("training alpha (f(w) - f(w_0)) on the loss over alpha^2, the relative change of the {what} falls like 1 / alpha"),
                    "Chizat, Oyallon & Bach 2019, Theorem 2.2 and Section 2",
                )
                .measured(&format!("slope of log relative {what} change against log alpha over {alphas_text}"), Measured::over_seeds(slopes))
                .criterion(Criterion::within(-1.0, 0.15))
                .partly_if(Criterion::within(-1.0, 0.3)),
            )?;
        }
        ctx.progress(3, 3);
        Ok(m)
    }
}
