//! `lottery-tickets`: iterative magnitude pruning with rewinding (Frankle & Carbin 2019;
//! Frankle, Dziugaite, Roy & Carbin 2020) on MNIST-1D, for the MLP and the CNN of
//! Greydanus (2020).
//!
//! Protocol, per seed and architecture:
//!
//! 1. Train the dense network (Adam, constant rate, minibatches of 100) for `T` steps,
//!    keeping the full training state at step 0 and at step `k` (one epoch).
//! 2. Iterative magnitude pruning, rewinding either to step 0 (Frankle & Carbin 2019) or
//!    to step `k` (Frankle et al. 2020): prune by magnitude from the trained weights,
//!    put the training state of the rewinding step back (parameters, optimiser state, data
//!    order), mask, train to step `T`, repeat. The MLP is pruned layer-wise at a rate `q`
//!    a round with the output layer at `q / 2` (the Lenet protocol of Frankle & Carbin);
//!    the CNN globally at `q` a round, output layer included (the protocol of Frankle et
//!    al. 2020 for their convolutional networks). Biases are not pruned. The trainer keeps
//!    the pruned weights at exactly zero.
//! 3. Two controls at every second sparsity of the rewind-to-0 series (and the last): the
//!    same masks with a fresh random initialisation ("random reinitialisation"), and random
//!    masks with the same number of weights per layer on the original initialisation
//!    ("random pruning"), each trained for `T` steps from step 0.
//!
//! **Cost.** Full size: `T = 1000` steps (25 epochs of 4000 sequences), 3 seeds, every
//! (architecture, seed) pair run in parallel. Three design choices keep it to minutes of
//! CPU, each a departure from the papers: (a) `q = 32%` a round instead of their 20%, so
//! that about 2% of the weights remain after 10–11 rounds instead of 18–20 (a coarser
//! sparsity grid; faster pruning is closer to one-shot pruning, which Frankle & Carbin
//! (Figure 4) find worse than iterative pruning at high sparsity, so it can only weaken
//! the tickets); (b) the controls at every second round only, and at the last; (c)
//! rewinding to step `k` for the MLP only (its claim), the CNN rewinding to 0.
//!
//! The test accuracy after `T` steps is reported against the percentage of weights
//! remaining (100% down to about 2%).

use std::collections::BTreeMap;
use std::path::Path;

use dl_framework::data::{Dataset, load_mnist1d};
use dl_framework::{Checkpoint, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_tensor::{Tensor, seeded_rng};
use dl_theory::lottery::{LotteryError, MaskSet, PruningPlan, iterative_magnitude_pruning, random_masks_like, rewind};
use serde_json::{Value, json};

use crate::claims::{Claim, Criterion, Measured};
use crate::context::{RunContext, derive_seed};
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::experiments::synthesis::digits_mlp::fw;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Lottery tickets on MNIST-1D.
pub struct LotteryTickets;

fn lt(e: LotteryError) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

impl From<LotteryError> for ExperimentError {
    fn from(e: LotteryError) -> Self {
        lt(e)
    }
}

/// One architecture of the experiment.
struct Arch {
    key: &'static str,
    name: &'static str,
    input_shape: &'static [usize],
    layers: &'static str,
    /// The weights that are pruned (biases never are).
    prunable: &'static [&'static str],
    /// The output layer's weight (pruned at half rate layer-wise, with the rest globally).
    output: &'static str,
    global: bool,
    /// Whether the rewind-to-step-k series runs too (its claim is made for the MLP).
    rewind_to_k: bool,
}

const ARCHS: [Arch; 2] = [
    Arch {
        key: "mlp",
        name: "MLP 40-100-100-10",
        input_shape: &[40],
        layers: r#"[{"type": "dense", "units": 100, "activation": "relu"}, {"type": "dense", "units": 100, "activation": "relu"},
                    {"type": "dense", "units": 10}]"#,
        prunable: &["0.weight", "2.weight", "4.weight"],
        output: "4.weight",
        global: false,
        rewind_to_k: true,
    },
    Arch {
        key: "cnn",
        name: "CNN 3 x conv1d(25) + linear",
        input_shape: &[1, 40],
        layers: r#"[{"type": "conv1d", "channels": 25, "kernel_size": 5, "stride": 2, "padding": 1, "activation": "relu"},
                    {"type": "conv1d", "channels": 25, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "relu"},
                    {"type": "conv1d", "channels": 25, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "relu"},
                    {"type": "flatten"}, {"type": "dense", "units": 10}]"#,
        prunable: &["0.weight", "2.weight", "4.weight", "7.weight"],
        output: "7.weight",
        global: true,
        rewind_to_k: false,
    },
];

/// The sizes of a run.
#[derive(Clone, Copy)]
struct Protocol {
    train_examples: usize,
    test_examples: usize,
    batch_size: usize,
    steps: u64,
    rewind_step: u64,
    rate: f64,
    rounds_mlp: usize,
    rounds_cnn: usize,
    lr: f64,
    /// The controls are trained at every this many rounds (and at the last).
    control_every: usize,
}

impl Protocol {
    fn of(size: Size) -> Self {
        match size {
            Size::Quick => Protocol {
                train_examples: 400,
                test_examples: 300,
                batch_size: 50,
                steps: 48,
                rewind_step: 8,
                rate: 0.55,
                rounds_mlp: 4,
                rounds_cnn: 3,
                lr: 3e-3,
                control_every: 1,
            },
            Size::Full => Protocol {
                train_examples: 4000,
                test_examples: 1000,
                batch_size: 100,
                steps: 1000,
                rewind_step: 40,
                rate: 0.32,
                rounds_mlp: 11,
                rounds_cnn: 10,
                lr: 2e-3,
                control_every: 2,
            },
        }
    }

    fn rounds(&self, arch: &Arch) -> usize {
        if arch.global { self.rounds_cnn } else { self.rounds_mlp }
    }

    fn plan(&self, arch: &Arch) -> Result<PruningPlan, ExperimentError> {
        if arch.global {
            PruningPlan::global(self.rate).map_err(lt)
        } else {
            PruningPlan::frankle_carbin(self.rate, arch.output).map_err(lt)
        }
    }

    fn network(&self, arch: &Arch, seed: u64) -> Value {
        json!({"input_shape": arch.input_shape, "seed": seed, "layers": serde_json::from_str::<Value>(arch.layers).expect("valid JSON")})
    }

    fn training(&self, seed: u64) -> Value {
        let epochs = (self.steps as usize).div_ceil(self.train_examples.div_ceil(self.batch_size));
        json!({"epochs": epochs, "batch_size": self.batch_size, "seed": seed, "log_every": 1_000_000,
               "optimizer": {"kind": "adam", "lr": self.lr}, "max_steps": self.steps})
    }
}

/// The accuracies of one seed and architecture, per round (index = pruning round).
struct SeedResult {
    /// Fraction of prunable weights remaining in each round.
    density: Vec<f64>,
    ticket_init: Vec<f64>,
    ticket_rewind: Vec<f64>,
    reinit: Vec<f64>,
    random: Vec<f64>,
}

/// The data of one run, shaped for `arch`.
struct Data {
    train: Dataset<f32>,
    test: Dataset<f32>,
}

fn load(p: &Protocol, arch: &Arch) -> Result<Data, ExperimentError> {
    let d = load_mnist1d::<f32>().map_err(|e| fw(e.into()))?;
    let take = |d: &Dataset<f32>, n: usize| -> Result<Dataset<f32>, ExperimentError> {
        let s = d.subset(&(0..n.min(d.len())).collect::<Vec<_>>()).map_err(|e| fw(e.into()))?;
        let mut shape = vec![s.len()];
        shape.extend_from_slice(arch.input_shape);
        s.with_features(s.features().reshape(&shape)?).map_err(|e| fw(e.into()))
    };
    Ok(Data { train: take(&d.train, p.train_examples)?, test: take(&d.test, p.test_examples)? })
}

/// A trainer for `arch` with seed `seed`, from the checkpoint `start` (if any) and under
/// `masks` (if any), trained to the protocol's step count: the test accuracy and the
/// trained parameters.
fn train(
    p: &Protocol,
    arch: &Arch,
    data: &Data,
    seed: u64,
    start: Option<&Checkpoint<f32>>,
    params: Option<&BTreeMap<String, Tensor<f32>>>,
    masks: Option<&MaskSet>,
) -> Result<(f64, BTreeMap<String, Tensor<f32>>), ExperimentError> {
    let net =
        NetworkConfig::from_json(&p.network(arch, seed).to_string()).and_then(|c| c.build::<f32>()).map_err(fw)?;
    if let Some(values) = params {
        net.load_state_dict(values).map_err(|e| fw(e.into()))?;
    }
    let mut t = Trainer::new(net, TrainConfig::from_json(&p.training(seed).to_string()).map_err(fw)?).map_err(fw)?;
    if let Some(ck) = start {
        t.restore(Path::new("rewind point"), ck.clone()).map_err(fw)?;
    }
    if let Some(m) = masks {
        t.set_masks(m.clone()).map_err(fw)?;
    }
    t.fit(&data.train, None).map_err(fw)?;
    let (_, acc) = t.evaluate(&data.test).map_err(fw)?;
    Ok((acc, t.network().state_dict()))
}

/// Every run of one seed and architecture.
fn run_seed(p: &Protocol, arch: &Arch, seed: u64) -> Result<SeedResult, ExperimentError> {
    let data = load(p, arch)?;
    let plan = p.plan(arch)?;
    let rounds = p.rounds(arch);
    // the dense run, with the states at step 0 and at step k
    let net =
        NetworkConfig::from_json(&p.network(arch, seed).to_string()).and_then(|c| c.build::<f32>()).map_err(fw)?;
    let mut dense =
        Trainer::new(net, TrainConfig::from_json(&p.training(seed).to_string()).map_err(fw)?).map_err(fw)?;
    let at_init = dense.checkpoint();
    dense.set_max_steps(Some(p.rewind_step));
    dense.fit(&data.train, None).map_err(fw)?;
    let at_k = dense.checkpoint();
    dense.set_max_steps(Some(p.steps));
    dense.fit(&data.train, None).map_err(fw)?;
    let dense_acc = dense.evaluate(&data.test).map_err(fw)?.1;
    let dense_params = dense.network().state_dict();
    let theta_0 = at_init.params.clone();
    let ones = MaskSet::ones_for(&theta_0, arch.prunable).map_err(lt)?;

    let imp = |from: &Checkpoint<f32>| {
        iterative_magnitude_pruning(ones.clone(), &plan, rounds, |r, masks| {
            if r == 0 {
                return Ok((dense_params.clone(), dense_acc));
            }
            let (acc, trained) = train(p, arch, &data, seed, Some(from), None, Some(masks))?;
            Ok::<_, ExperimentError>((trained, acc))
        })
    };
    let from_init = imp(&at_init)?;
    let ticket_rewind =
        if arch.rewind_to_k { imp(&at_k)?.iter().map(|r| r.result).collect() } else { vec![f64::NAN; rounds + 1] };
    let mut result = SeedResult {
        density: from_init.iter().map(|r| r.masks.density()).collect(),
        ticket_init: from_init.iter().map(|r| r.result).collect(),
        ticket_rewind,
        reinit: vec![dense_acc],
        random: vec![dense_acc],
    };
    for (r, round) in from_init.iter().enumerate().skip(1) {
        if r % p.control_every != 0 && r != rounds {
            result.reinit.push(f64::NAN);
            result.random.push(f64::NAN);
            continue;
        }
        // the same masks on a fresh initialisation
        let fresh_seed = derive_seed(seed, "reinitialisation", r as u64);
        let fresh = NetworkConfig::from_json(&p.network(arch, fresh_seed).to_string())
            .and_then(|c| c.build::<f32>())
            .map_err(fw)?
            .state_dict();
        let (acc, _) =
            train(p, arch, &data, seed, None, Some(&rewind(&fresh, &round.masks).map_err(lt)?), Some(&round.masks))?;
        result.reinit.push(acc);
        // random masks of the same layer-wise sizes on the original initialisation
        let random = random_masks_like(&round.masks, &mut seeded_rng(derive_seed(seed, "random-pruning", r as u64)));
        let (acc, _) = train(p, arch, &data, seed, None, Some(&rewind(&theta_0, &random).map_err(lt)?), Some(&random))?;
        result.random.push(acc);
    }
    Ok(result)
}

/// Which accuracies of a [`SeedResult`].
type Accuracies = fn(&SeedResult) -> &[f64];

/// Per seed: the mean over rounds with at most `max_density` remaining of `a - b`.
fn gap_at_high_sparsity(results: &[SeedResult], max_density: f64, a: Accuracies, b: Accuracies) -> Vec<f64> {
    results
        .iter()
        .map(|r| {
            // rounds where both were trained (the controls run every few rounds)
            let gaps: Vec<f64> = (0..r.density.len())
                .filter(|&i| r.density[i] <= max_density)
                .map(|i| a(r)[i] - b(r)[i])
                .filter(|g| g.is_finite())
                .collect();
            if gaps.is_empty() { f64::NAN } else { gaps.iter().sum::<f64>() / gaps.len() as f64 }
        })
        .collect()
}

impl Experiment for LotteryTickets {
    fn id(&self) -> &'static str {
        "lottery-tickets"
    }
    fn title(&self) -> &'static str {
        "Lottery tickets: iterative magnitude pruning with rewinding on MNIST-1D (MLP and CNN) against random re-initialisation and random pruning"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let p = Protocol::of(ctx.size());
        let seeds = ctx.replicate_seeds(ctx.size().pick(1, 3));
        let mut m = Metrics::new();
        m.config("train_examples", p.train_examples);
        m.config("test_examples", p.test_examples);
        m.config("steps", p.steps);
        m.config("rewind_step", p.rewind_step);
        m.config("pruning_rate", p.rate);
        m.config("seeds", seeds.len());
        m.config("controls_every_rounds", p.control_every);
        m.config("mlp_pruning", format!("layer-wise, {}% a round, output layer {}%", p.rate * 100.0, p.rate * 50.0));
        m.config("cnn_pruning", format!("global over every weight, {}% a round", p.rate * 100.0));
        m.table(
            "accuracy",
            &[
                "arch",
                "round",
                "seed",
                "percent_remaining",
                "ticket_rewind_0",
                "ticket_rewind_k",
                "random_reinit",
                "random_pruning",
            ],
        );
        // every (architecture, seed) pair is an independent run: all of them in parallel
        let pairs: Vec<(usize, u64)> = (0..ARCHS.len()).flat_map(|a| seeds.iter().map(move |&s| (a, s))).collect();
        let mut all = par_map(ctx, &pairs, |&(a, s)| run_seed(&p, &ARCHS[a], s))?.into_iter();
        for arch in ARCHS.iter() {
            m.config(&format!("{}_network", arch.key), p.network(arch, ctx.seed()));
            m.config(&format!("{}_training", arch.key), p.training(ctx.seed()));
            let results: Vec<SeedResult> = all.by_ref().take(seeds.len()).collect();
            for (r, seed) in results.iter().zip(&seeds) {
                for i in 0..r.density.len() {
                    m.push_row(
                        "accuracy",
                        vec![
                            json!(arch.key),
                            json!(i),
                            json!(seed),
                            num(100.0 * r.density[i]),
                            num(r.ticket_init[i]),
                            num(r.ticket_rewind[i]),
                            num(r.reinit[i]),
                            num(r.random[i]),
                        ],
                    )?;
                }
            }
            let xs: Vec<f64> = results[0].density.iter().map(|d| 100.0 * d).collect();
            let mut chart = LineChart::new(
                &format!("{}: test accuracy against weights remaining (MNIST-1D, {} seeds)", arch.name, seeds.len()),
                "percent of weights remaining",
                "test accuracy",
            )
            .scales(Scale::Log10, Scale::Linear);
            let series: [(&str, Accuracies); 4] = [
                ("winning ticket, rewind to 0", |r| r.ticket_init.as_slice()),
                ("winning ticket, rewind to step k", |r| r.ticket_rewind.as_slice()),
                ("same masks, random re-init", |r| r.reinit.as_slice()),
                ("random pruning", |r| r.random.as_slice()),
            ];
            for (c, (label, get)) in series.iter().enumerate() {
                let curves: Vec<Vec<(f64, f64)>> =
                    results.iter().map(|r| xs.iter().copied().zip(get(r).iter().copied()).collect()).collect();
                if curves.iter().flatten().skip(1).any(|v| v.1.is_finite()) {
                    chart.add_over_seeds(label, SeriesKind::Line, c, &curves);
                }
            }
            let dense: Vec<f64> = results.iter().map(|r| r.ticket_init[0]).collect();
            let dense_mean = Measured::over_seeds(&dense).mean;
            chart.add(
                "dense network",
                SeriesKind::Line,
                4,
                vec![(xs[0], dense_mean), (*xs.last().unwrap_or(&xs[0]), dense_mean)],
            );
            ctx.figure(&format!("{}_accuracy_vs_remaining", arch.key), &chart)?;
            m.scalar(&format!("{}_dense_accuracy", arch.key), dense_mean);
            m.scalar(
                &format!("{}_final_percent_remaining", arch.key),
                100.0 * results[0].density.last().copied().unwrap_or(1.0),
            );

            let ticket: Accuracies = |r| &r.ticket_init;
            let vs_reinit = gap_at_high_sparsity(&results, 0.10, ticket, |r| &r.reinit);
            let vs_random = gap_at_high_sparsity(&results, 0.10, ticket, |r| &r.random);
            m.claim(
                Claim::new(
                    &format!("{}-ticket-beats-reinit", arch.key),
                    "winning tickets train to higher test accuracy than the same sparse networks randomly re-initialised, at 10% of the weights or fewer",
                    "Frankle & Carbin 2019, Figures 3 and 4 (random reinitialisation)",
                )
                .measured("mean over rounds with <= 10% remaining of (ticket - re-init) test accuracy", Measured::over_seeds(&vs_reinit))
                .criterion(Criterion::at_least(0.0))
                .note("rewind to step 0; re-initialisation draws a fresh network and keeps the masks"),
            )?;
            m.claim(
                Claim::new(
                    &format!("{}-ticket-beats-random-pruning", arch.key),
                    "winning tickets train to higher test accuracy than randomly pruned networks of the same layer-wise sparsity, at 10% of the weights or fewer",
                    "Frankle & Carbin 2019, Section 2 and Figure 1",
                )
                .measured("mean over rounds with <= 10% remaining of (ticket - random pruning) test accuracy", Measured::over_seeds(&vs_random))
                .criterion(Criterion::at_least(0.0))
                .note("random masks keep as many weights per layer as the ticket, on the original initialisation"),
            )?;
            // Frankle & Carbin: winning tickets match the dense network down to ~20% remaining
            let near_20: Vec<f64> = results
                .iter()
                .map(|r| {
                    let i = (0..r.density.len()).rfind(|&i| r.density[i] >= 0.2).unwrap_or(0);
                    r.ticket_init[i] - r.ticket_init[0]
                })
                .collect();
            m.claim(
                Claim::new(
                    &format!("{}-ticket-matches-dense", arch.key),
                    "a winning ticket with about a fifth of the weights reaches the dense network's test accuracy (within 1 point)",
                    "Frankle & Carbin 2019, Figure 3 (Lenet at 21.1% remaining)",
                )
                .measured("ticket accuracy at the sparsest round with >= 20% remaining minus the dense accuracy", Measured::over_seeds(&near_20))
                .criterion(Criterion::at_least(-0.01))
                .partly_if(Criterion::at_least(-0.03)),
            )?;
            if arch.rewind_to_k {
                let rewind_gap = gap_at_high_sparsity(&results, 0.10, |r| &r.ticket_rewind, ticket);
                m.claim(
                    Claim::new(
                        "mlp-rewind-k-matches-rewind-0",
                        "for a small network, rewinding to an early step k finds tickets at least as good as rewinding to initialisation (within 2 points)",
                        "Frankle, Dziugaite, Roy & Carbin 2020, Section 5 and Figure 5 (Lenet)",
                    )
                    .measured("mean over rounds with <= 10% remaining of (rewind-to-k - rewind-to-0) test accuracy", Measured::over_seeds(&rewind_gap))
                    .criterion(Criterion::at_least(-0.02))
                    .note("k = one epoch; the whole training state at step k (parameters, Adam moments, data order) is restored"),
                )?;
            }
        }
        Ok(m)
    }
}
