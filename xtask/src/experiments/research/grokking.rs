//! `grokking`: modular addition learned long after it is memorised (Power, Burda, Edwards,
//! Babuschkin & Misra 2022), with the progress measures of Nanda, Chan, Lieberum, Smith &
//! Steinhardt (2023): weight norm and the Fourier sparsity of the embeddings.
//!
//! Task: `a + b mod p` over all `p^2` pairs, a random fraction of them for training, the
//! rest for testing. Network: two embeddings of the residues (one table, `p x 64`, the two
//! vectors concatenated) and an MLP with one hidden ReLU layer of 128 units and `p` logits.
//! AdamW with Power et al.'s `beta_2 = 0.98`, minibatches of 512 and decoupled weight
//! decay. Departures from Power et al., for a CPU budget of minutes: `p = 59` instead of 97,
//! an MLP instead of their two-layer transformer, and a learning rate of 3e-3 instead of
//! 1e-3 (with weight decay `wd` the weights shrink by `1 - lr wd` a step, so the time
//! scale of the decay is `1 / (lr wd)` steps: three times shorter).
//!
//! Measured, every few steps: training and test accuracy on the whole of each set, the
//! weight norm `|theta|_2`, and the Fourier spectrum of the embedding table over `Z_p`
//! (`dl_theory::grokking::FourierSpectrum`: the fraction of its non-constant energy in the 5
//! largest frequencies, and the participation ratio, the number of frequencies that carry
//! it). Then the time to generalise against weight decay and against the training fraction.
//!
//! Quick size: the same task (`p = 59`, half the pairs) and sweeps, with embeddings of 32,
//! 64 hidden units, a rate of 1e-2 and 800 steps, one seed: seconds of CPU. The delay is
//! short there (the large rate fits and generalises almost together) and the weight-decay
//! sweep has too few runs that generalise within 800 steps for a slope; the full size is
//! where the claims are judged.

use dl_framework::data::{ModOp, ModularArithmetic, Split};
use dl_framework::{NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_tensor::seeded_rng;
use dl_theory::feature_learning::LogLogFit;
use dl_theory::grokking::{FourierSpectrum, GrokkingDelay};
use serde_json::{Value, json};

use crate::claims::{Claim, Criterion, Measured};
use crate::context::{RunContext, derive_seed};
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::experiments::synthesis::digits_mlp::fw;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Grokking on modular addition.
pub struct Grokking;

fn theory(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

/// Training accuracy that counts as fitted, and test accuracy that counts as generalised.
const TRAIN_THRESHOLD: f64 = 0.99;
const TEST_THRESHOLD: f64 = 0.95;
/// Frequencies counted in the top-k energy fraction.
const TOP_K: usize = 5;

/// The sizes of a run.
#[derive(Clone, Copy)]
struct Protocol {
    p: usize,
    dim: usize,
    hidden: usize,
    batch_size: usize,
    lr: f64,
    fraction: f64,
    weight_decay: f64,
    /// Steps of the main runs (curves).
    main_steps: u64,
    /// The most steps a sweep run may take (it stops once the test accuracy reaches the threshold).
    sweep_cap: u64,
    eval_every: u64,
    sweep_eval_every: u64,
    weight_decays: [f64; 3],
    fractions: [f64; 3],
}

impl Protocol {
    fn of(size: Size) -> Self {
        match size {
            // the full size's task and sweeps with a smaller network, a larger rate and 800 steps
            Size::Quick => Protocol {
                p: 59,
                dim: 32,
                hidden: 64,
                batch_size: 512,
                lr: 1e-2,
                fraction: 0.5,
                weight_decay: 1.0,
                main_steps: 800,
                sweep_cap: 800,
                eval_every: 25,
                sweep_eval_every: 25,
                weight_decays: [0.3, 1.0, 3.0],
                fractions: [0.3, 0.5, 0.7],
            },
            Size::Full => Protocol {
                p: 59,
                dim: 64,
                hidden: 128,
                batch_size: 512,
                lr: 3e-3,
                fraction: 0.5,
                weight_decay: 1.0,
                main_steps: 3500,
                sweep_cap: 8000,
                eval_every: 50,
                sweep_eval_every: 100,
                weight_decays: [0.3, 1.0, 3.0],
                fractions: [0.3, 0.5, 0.7],
            },
        }
    }

    fn network(&self, seed: u64) -> Value {
        json!({"input_shape": [2], "seed": seed, "layers": [
            {"type": "embedding", "num_embeddings": self.p, "dim": self.dim},
            {"type": "flatten"},
            {"type": "dense", "units": self.hidden, "activation": "relu"},
            {"type": "dense", "units": self.p}]})
    }

    fn training(&self, seed: u64, weight_decay: f64, steps: u64) -> Value {
        json!({"epochs": 1_000_000, "batch_size": self.batch_size, "seed": seed, "log_every": 1_000_000, "max_steps": steps,
               "optimizer": {"kind": "adam", "lr": self.lr, "beta2": 0.98, "weight_decay": weight_decay, "decoupled_weight_decay": true}})
    }
}

/// What one run recorded.
#[derive(Clone, Default)]
struct Curve {
    steps: Vec<u64>,
    train: Vec<f64>,
    test: Vec<f64>,
    norm: Vec<f64>,
    top_k: Vec<f64>,
    frequencies: Vec<f64>,
    key_frequencies: Vec<usize>,
}

impl Curve {
    fn delay(&self) -> Result<GrokkingDelay, ExperimentError> {
        GrokkingDelay::measure(&self.steps, &self.train, &self.test, TRAIN_THRESHOLD, TEST_THRESHOLD).map_err(theory)
    }

    /// The weight norm at the first recorded step at or after `step`.
    fn norm_at(&self, step: u64) -> f64 {
        self.steps.iter().position(|&s| s >= step).map_or(f64::NAN, |i| self.norm[i])
    }
}

/// One training run: `seed` draws the split and the network, `stop_when_generalised` ends it
/// at the first evaluation with test accuracy at the threshold.
fn run(
    p: &Protocol,
    seed: u64,
    weight_decay: f64,
    fraction: f64,
    steps: u64,
    every: u64,
    stop_when_generalised: bool,
) -> Result<Curve, ExperimentError> {
    let task = ModularArithmetic::new(p.p, ModOp::Add).map_err(|e| fw(e.into()))?;
    let Split { train, test } = task
        .split_tokens::<f32, _>(fraction, &mut seeded_rng(derive_seed(seed, "split", 0)))
        .map_err(|e| fw(e.into()))?;
    let net = NetworkConfig::from_json(&p.network(seed).to_string()).and_then(|c| c.build::<f32>()).map_err(fw)?;
    let mut t =
        Trainer::new(net, TrainConfig::from_json(&p.training(seed, weight_decay, steps).to_string()).map_err(fw)?)
            .map_err(fw)?;
    let mut c = Curve::default();
    loop {
        let (_, tr) = t.evaluate(&train).map_err(fw)?;
        let (_, te) = t.evaluate(&test).map_err(fw)?;
        let sd = t.network().state_dict();
        let norm =
            sd.values().map(|v| v.to_vec().iter().map(|x| f64::from(*x).powi(2)).sum::<f64>()).sum::<f64>().sqrt();
        let spectrum = FourierSpectrum::of_embedding(&sd["0.weight"], p.p).map_err(theory)?;
        c.steps.push(t.step_count());
        c.train.push(tr);
        c.test.push(te);
        c.norm.push(norm);
        c.top_k.push(spectrum.top_k_fraction(TOP_K));
        c.frequencies.push(spectrum.effective_frequencies());
        c.key_frequencies = spectrum.key_frequencies(TOP_K);
        if t.step_count() >= steps || (stop_when_generalised && te >= TEST_THRESHOLD) {
            return Ok(c);
        }
        t.set_max_steps(Some((t.step_count() + every).min(steps)));
        t.fit(&train, None).map_err(fw)?;
    }
}

/// One curve per seed, `values[r][i]` at `xs[i]`.
fn curves(xs: &[f64], values: &[Vec<f64>]) -> Vec<Vec<(f64, f64)>> {
    values.iter().map(|v| xs.iter().copied().zip(v.iter().copied()).collect()).collect()
}

/// Steps to generalise (test accuracy at the threshold), or the cap when it never did.
fn time_to_generalise(c: &Curve, cap: u64) -> Result<(f64, bool), ExperimentError> {
    Ok(match c.delay()?.test_step {
        Some(s) => (s.max(1) as f64, false),
        None => (cap as f64, true),
    })
}

impl Experiment for Grokking {
    fn id(&self) -> &'static str {
        "grokking"
    }
    fn title(&self) -> &'static str {
        "Grokking: modular addition generalised long after it is memorised; weight decay, training fraction, weight norm and Fourier sparsity"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let p = Protocol::of(ctx.size());
        let seeds = ctx.replicate_seeds(ctx.size().pick(1, 3));
        let mut m = Metrics::new();
        m.config("p", p.p);
        m.config("train_fraction", p.fraction);
        m.config("weight_decay", p.weight_decay);
        m.config("steps", p.main_steps);
        m.config("sweep_cap_steps", p.sweep_cap);
        m.config("seeds", seeds.len());
        m.config("network", p.network(ctx.seed()));
        m.config("training", p.training(ctx.seed(), p.weight_decay, p.main_steps));
        m.config(
            "thresholds",
            json!({"train_accuracy": TRAIN_THRESHOLD, "test_accuracy": TEST_THRESHOLD, "top_k": TOP_K}),
        );

        // the main runs: curves over training
        ctx.message("main runs");
        let main =
            par_map(ctx, &seeds, |&s| run(&p, s, p.weight_decay, p.fraction, p.main_steps, p.eval_every, false))?;
        let xs: Vec<f64> = main[0].steps.iter().map(|&s| s.max(1) as f64).collect();
        let collect = |f: fn(&Curve) -> &Vec<f64>| main.iter().map(|c| f(c).clone()).collect::<Vec<_>>();
        let mut acc = LineChart::new(
            &format!(
                "a + b mod {}: accuracy over training ({} seeds, {}% of pairs for training)",
                p.p,
                seeds.len(),
                p.fraction * 100.0
            ),
            "step",
            "accuracy",
        )
        .scales(Scale::Log10, Scale::Linear);
        acc.add_over_seeds("train", SeriesKind::Line, 0, &curves(&xs, &collect(|c| &c.train)));
        acc.add_over_seeds("test", SeriesKind::Line, 1, &curves(&xs, &collect(|c| &c.test)));
        ctx.figure("accuracy", &acc)?;
        let mut progress = LineChart::new(
            "progress measures: weight norm (relative to step 0) and Fourier sparsity of the embedding",
            "step",
            "value",
        )
        .scales(Scale::Log10, Scale::Linear);
        let rel_norm: Vec<Vec<f64>> = main.iter().map(|c| c.norm.iter().map(|n| n / c.norm[0]).collect()).collect();
        progress.add_over_seeds("|theta| / |theta_0|", SeriesKind::Line, 2, &curves(&xs, &rel_norm));
        progress.add_over_seeds(
            &format!("top-{TOP_K} Fourier energy fraction"),
            SeriesKind::Line,
            3,
            &curves(&xs, &collect(|c| &c.top_k)),
        );
        ctx.figure("progress_measures", &progress)?;
        let mut freq =
            LineChart::new("effective number of Fourier frequencies of the embedding", "step", "participation ratio")
                .scales(Scale::Log10, Scale::Linear);
        freq.add_over_seeds("(sum e_k)^2 / sum e_k^2", SeriesKind::Line, 4, &curves(&xs, &collect(|c| &c.frequencies)));
        ctx.figure("fourier_frequencies", &freq)?;

        m.table(
            "main",
            &[
                "seed",
                "train_step_99",
                "test_step_95",
                "ratio",
                "norm_initial",
                "norm_at_fit",
                "norm_at_generalisation",
                "norm_final",
                "top5_initial",
                "top5_final",
                "frequencies_final",
                "key_frequencies",
            ],
        );
        let (mut ratios, mut sparsity, mut norms) = (Vec::new(), Vec::new(), Vec::new());
        for (c, seed) in main.iter().zip(&seeds) {
            let d = c.delay()?;
            let ratio = d.ratio().unwrap_or(f64::NAN);
            let norm_ratio = match (d.train_step, d.test_step) {
                (Some(a), Some(b)) => c.norm_at(b) / c.norm_at(a),
                _ => f64::NAN,
            };
            let last = c.top_k.len() - 1;
            ratios.push(ratio);
            sparsity.push(c.top_k[last] / c.top_k[0]);
            norms.push(norm_ratio);
            m.push_row(
                "main",
                vec![
                    json!(seed),
                    json!(d.train_step),
                    json!(d.test_step),
                    num(ratio),
                    num(c.norm[0]),
                    num(d.train_step.map_or(f64::NAN, |s| c.norm_at(s))),
                    num(d.test_step.map_or(f64::NAN, |s| c.norm_at(s))),
                    num(c.norm[last]),
                    num(c.top_k[0]),
                    num(c.top_k[last]),
                    num(c.frequencies[last]),
                    json!(c.key_frequencies),
                ],
            )?;
        }
        m.claim(
            Claim::new(
                "grokking-delay",
                "training accuracy reaches 100% long before test accuracy rises: generalisation comes at least ten times later than fitting",
                "Power et al. 2022, Figure 1 (two orders of magnitude for their transformer)",
            )
            .measured(&format!("steps to {TEST_THRESHOLD} test accuracy over steps to {TRAIN_THRESHOLD} training accuracy"), Measured::over_seeds(&ratios))
            .criterion(Criterion::at_least(10.0))
            .partly_if(Criterion::at_least(2.0))
            .note("partly: a delay of at least 2x; an MLP with p = 59 and lr 3e-3 for a CPU budget, not their transformer at p = 97 and lr 1e-3"),
        )?;
        m.claim(
            Claim::new(
                "fourier-sparsity-grows",
                "a network that has grokked modular addition embeds the residues through a few key Fourier frequencies",
                "Nanda et al. 2023, Section 4 and Figure 3",
            )
            .measured(
                &format!("top-{TOP_K} fraction of the embedding's non-constant Fourier energy, end over start"),
                Measured::over_seeds(&sparsity),
            )
            .criterion(Criterion::at_least(2.0))
            .partly_if(Criterion::at_least(1.5))
            .note(&format!(
                "a random embedding holds about {TOP_K}/{} of its energy in its top {TOP_K} frequencies",
                p.p / 2
            )),
        )?;
        m.claim(
            Claim::new(
                "weight-norm-falls-while-generalising",
                "the weight norm falls between memorisation and generalisation (weight decay cleaning up the memorising solution)",
                "Nanda et al. 2023, Section 5.2 and Figure 7",
            )
            .measured("weight norm when the test accuracy reaches the threshold over the norm when training accuracy does", Measured::over_seeds(&norms))
            .criterion(Criterion::at_most(1.0)),
        )?;

        // sweeps: time to generalise against weight decay and training fraction
        m.table("sweep", &["sweep", "value", "seed", "steps_to_generalise", "censored"]);
        let sweeps: [(&str, &str, [f64; 3]); 2] =
            [("weight_decay", "weight decay", p.weight_decays), ("train_fraction", "training fraction", p.fractions)];
        for (c, (key, label, values)) in sweeps.iter().enumerate() {
            let mut chart = LineChart::new(
                &format!(
                    "steps until {}% test accuracy against the {label} (capped at {} steps)",
                    TEST_THRESHOLD * 100.0,
                    p.sweep_cap
                ),
                label,
                "steps",
            )
            .scales(Scale::Log10, Scale::Log10);
            ctx.message(format!("sweep over the {label}"));
            let per_seed = par_map(ctx, &seeds, |&s| {
                values
                    .iter()
                    .map(|&v| {
                        let (wd, frac) = if *key == "weight_decay" { (v, p.fraction) } else { (p.weight_decay, v) };
                        time_to_generalise(&run(&p, s, wd, frac, p.sweep_cap, p.sweep_eval_every, true)?, p.sweep_cap)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?;
            let mut slopes = Vec::new();
            let mut censored = 0;
            for (times, seed) in per_seed.iter().zip(&seeds) {
                for (&(t, cens), &v) in times.iter().zip(values) {
                    m.push_row("sweep", vec![json!(key), num(v), json!(seed), num(t), json!(cens)])?;
                    censored += usize::from(cens);
                }
                // a slope needs at least two runs that generalised (all censored: no measurement)
                let ts: Vec<f64> = times.iter().map(|t| t.0).collect();
                let generalised = times.iter().filter(|t| !t.1).count();
                slopes.push(if generalised >= 2 {
                    LogLogFit::fit(values, &ts).map_err(theory)?.slope
                } else {
                    f64::NAN
                });
            }
            let t_values: Vec<Vec<f64>> = per_seed.iter().map(|ts| ts.iter().map(|t| t.0).collect()).collect();
            chart.add_over_seeds("steps to generalise", SeriesKind::Line, c, &curves(values, &t_values));
            ctx.figure(&format!("time_to_generalise_vs_{key}"), &chart)?;
            m.scalar(&format!("{key}_slope"), Measured::over_seeds(&slopes).mean);
            m.scalar_value(&format!("{key}_censored_runs"), censored);
            let censor_note = format!(
                "{censored} of {} runs never reached the threshold and count at the cap ({} steps), a lower bound",
                per_seed.len() * values.len(),
                p.sweep_cap
            );
            let claim = if *key == "weight_decay" {
                Claim::new(
                    "weight-decay-speeds-generalisation",
                    "more weight decay, earlier generalisation",
                    "Power et al. 2022, Figure 2 (weight decay the most effective intervention)",
                )
                .measured(
                    &format!("slope of log steps-to-generalise against log weight decay over {values:?}"),
                    Measured::over_seeds(&slopes),
                )
            } else {
                Claim::new(
                    "smaller-fraction-slows-generalisation",
                    "the less of the table is used for training, the longer generalisation takes",
                    "Power et al. 2022, Figure 1 (right)",
                )
                .measured(
                    &format!("slope of log steps-to-generalise against log training fraction over {values:?}"),
                    Measured::over_seeds(&slopes),
                )
            };
            m.claim(claim.criterion(Criterion::at_most(0.0)).note(&censor_note))?;
            ctx.progress(c as u64 + 1, sweeps.len() as u64);
        }
        Ok(m)
    }
}
