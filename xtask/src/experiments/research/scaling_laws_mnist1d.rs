//! `scaling-laws-mnist1d`: test loss against parameter count and against training-set size
//! for MLPs on MNIST-1D, with power-law fits `L = a N^(−α) + c`, bootstrap confidence
//! intervals and an extrapolation check (the method of Kaplan et al. 2020, Section 3).
//!
//! **Protocol** (per seed): the 4000 MNIST-1D training sequences split at random into 3500
//! for training and 500 for validation (early stopping), the 1000 test sequences for the
//! loss; features standardised with the training statistics. MLP `40 → h → 10` (ReLU,
//! PyTorch initialisation), Adam at 1e-3, minibatches of 128, at most 3000 steps, early
//! stopping after 500 steps without a better validation loss, the best parameters
//! restored; the reported loss is the test cross-entropy there (Kaplan et al. also report
//! early-stopped test loss for the data axis).
//!
//! - **Parameters**: `h ∈ {2, 4, 8, 16, 32, 64, 128, 256, 512}` on all 3500 examples; `N`
//!   counts every weight and bias.
//! - **Data**: `h = 256` on the first `D ∈ {110, 220, 440, 875, 1750, 3500}` of the
//!   training examples (nested subsets).
//!
//! Fits on the per-size mean over 3 seeds, 90% intervals from 1000 bootstrap replicates
//! resampling seeds (and points, reported beside); the extrapolation fits all sizes but the
//! largest and predicts it. Kaplan et al. fit language models over 6+ orders of magnitude;
//! here about 2.5 (parameters) and 1.5 (data), where a 4000-example data set saturates the
//! loss early (a large irreducible `c`).

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::experiments::research::measure::{fail, mnist1d_split};
use crate::experiments::research::scaling_common::{Sweep, analyse, mlp_json, test_loss, training_json};
use crate::metrics::Metrics;
use crate::replicates::par_map;

/// Scaling laws on MNIST-1D.
pub struct ScalingLawsMnist1d;

impl Experiment for ScalingLawsMnist1d {
    fn id(&self) -> &'static str {
        "scaling-laws-mnist1d"
    }
    fn title(&self) -> &'static str {
        "Scaling laws on MNIST-1D: test loss against parameters and against data, power-law fits with bootstrap intervals"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (n_train, n_valid) = size.pick((400, 200), (3500, 500));
        let widths: Vec<usize> = match size {
            Size::Quick => vec![2, 8, 32, 128],
            Size::Full => vec![2, 4, 8, 16, 32, 64, 128, 256, 512],
        };
        let data_sizes: Vec<usize> = match size {
            Size::Quick => vec![50, 100, 200, 400],
            Size::Full => vec![110, 220, 440, 875, 1750, 3500],
        };
        let data_width = size.pick(64, 256);
        let (max_steps, patience) = size.pick((150, 50), (3000, 500));
        let seeds = ctx.replicate_seeds(3);
        let resamples = size.pick(200, 1000);
        let mut m = Metrics::new();
        m.config("n_train", n_train);
        m.config("n_validation", n_valid);
        m.config("n_test", 1000);
        m.config("widths", serde_json::json!(widths));
        m.config("data_sizes", serde_json::json!(data_sizes));
        m.config("data_sweep_width", data_width);
        m.config("training", training_json(n_train, max_steps, patience, 0));
        m.config("seeds", seeds.len());
        m.config("bootstrap_resamples", resamples);
        // one job per (seed, point): a width on all examples (`Ok`) or the data-sweep
        // width on the first `d` examples (`Err`), run in parallel; every job rebuilds its
        // seed's split (a cheap, deterministic subset)
        let jobs: Vec<(u64, Result<usize, usize>)> = seeds
            .iter()
            .flat_map(|&s| widths.iter().map(move |&w| (s, Ok(w))).chain(data_sizes.iter().map(move |&d| (s, Err(d)))))
            .collect();
        let runs = par_map(ctx, &jobs, |&(seed, point)| {
            let split = mnist1d_split::<f32>(n_train, n_valid, 1000, seed)?;
            let valid = split.validation.ok_or_else(|| fail("a validation set was asked for"))?;
            match point {
                Ok(w) => test_loss(
                    &mlp_json(40, w, 10, seed),
                    &training_json(n_train, max_steps, patience, seed),
                    &split.train,
                    &valid,
                    &split.test,
                ),
                Err(d) => {
                    let subset = split.train.subset(&(0..d).collect::<Vec<_>>()).map_err(fail)?;
                    test_loss(
                        &mlp_json(40, data_width, 10, seed),
                        &training_json(d, max_steps, patience, seed),
                        &subset,
                        &valid,
                        &split.test,
                    )
                }
            }
        })?;
        let mut param_losses = vec![Vec::new(); widths.len()];
        let mut data_losses = vec![Vec::new(); data_sizes.len()];
        let mut params = vec![0.0; widths.len()];
        for per_seed in runs.chunks(widths.len() + data_sizes.len()) {
            for (i, &(loss, p)) in per_seed[..widths.len()].iter().enumerate() {
                param_losses[i].push(loss);
                params[i] = p as f64;
            }
            for (i, &(loss, _)) in per_seed[widths.len()..].iter().enumerate() {
                data_losses[i].push(loss);
            }
        }
        let setting = format!(
            "MLP 40-h-10 on {n_train} MNIST-1D examples, Adam 1e-3, early stopping on {n_valid} held-out examples"
        );
        analyse(
            ctx,
            &mut m,
            &Sweep { key: "params", axis: "parameters N", setting: &setting, sizes: params, losses: param_losses },
            resamples,
        )?;
        let setting = format!("MLP 40-{data_width}-10 on nested subsets of MNIST-1D, Adam 1e-3, early stopping");
        let sizes = data_sizes.iter().map(|&d| d as f64).collect();
        analyse(
            ctx,
            &mut m,
            &Sweep { key: "data", axis: "training examples D", setting: &setting, sizes, losses: data_losses },
            resamples,
        )?;
        Ok(m)
    }
}
