//! `scaling-laws-teacher-student`: test loss against parameter count and against data for
//! student MLPs learning a random teacher network's classification, with power-law fits,
//! bootstrap intervals and an extrapolation check (Kaplan et al. 2020's method on a task
//! with no label noise, where the irreducible loss should be near 0).
//!
//! **Task** (per seed): a random ReLU teacher `20 → 32 → 10` (standard parameterisation,
//! `σ_w² = 2`, `σ_b² = 0`; dl-framework's `TeacherNetwork`) labels inputs `x ~ N(0, I_20)` by
//! the argmax of its outputs; 16 000 training, 2000 validation (early stopping) and 4000
//! test examples. Student MLP `20 → h → 10` (ReLU, PyTorch initialisation), Adam at 1e-3,
//! minibatches of 128, at most 4000 steps, early stopping after 500 steps without a better
//! validation loss, the best parameters restored; the loss is the test cross-entropy.
//!
//! - **Parameters**: `h ∈ {2, 4, 8, 16, 32, 64, 128, 256}` on all 16 000 examples.
//! - **Data**: `h = 128` on the first `D ∈ {250, 500, 1000, 2000, 4000, 8000, 16000}`.
//!
//! Fits, intervals and extrapolation as in `scaling-laws-mnist1d`.

use dl_framework::data::{Activation, TeacherNetwork};
use dl_tensor::seeded_rng;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::experiments::research::measure::{ThreeWay, fail};
use crate::experiments::research::scaling_common::{Sweep, analyse, mlp_json, test_loss, training_json};
use crate::metrics::Metrics;
use crate::replicates::par_map;

/// Scaling laws of a student learning a teacher.
pub struct ScalingLawsTeacherStudent;

/// The teacher's train, validation and test sets for one seed.
fn teacher_data(n_train: usize, n_valid: usize, n_test: usize, seed: u64) -> Result<ThreeWay<f32>, ExperimentError> {
    let mut rng = seeded_rng(seed);
    let teacher = TeacherNetwork::<f32>::random(&[20, 32, 10], Activation::Relu, 2.0, 0.0, &mut rng).map_err(fail)?;
    let all = teacher.classification_data(n_train + n_valid + n_test, &mut rng).map_err(fail)?;
    let part = |r: std::ops::Range<usize>| all.subset(&r.collect::<Vec<_>>()).map_err(fail);
    Ok((part(0..n_train)?, part(n_train..n_train + n_valid)?, part(n_train + n_valid..n_train + n_valid + n_test)?))
}

impl Experiment for ScalingLawsTeacherStudent {
    fn id(&self) -> &'static str {
        "scaling-laws-teacher-student"
    }
    fn title(&self) -> &'static str {
        "Scaling laws of a student MLP learning a random teacher: test loss against parameters and data, power-law fits"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (n_train, n_valid, n_test) = size.pick((800, 400, 800), (16_000, 2000, 4000));
        let widths: Vec<usize> = match size {
            Size::Quick => vec![2, 8, 32, 128],
            Size::Full => vec![2, 4, 8, 16, 32, 64, 128, 256],
        };
        let data_sizes: Vec<usize> = match size {
            Size::Quick => vec![100, 200, 400, 800],
            Size::Full => vec![250, 500, 1000, 2000, 4000, 8000, 16_000],
        };
        let data_width = size.pick(32, 128);
        let (max_steps, patience) = size.pick((150, 50), (4000, 500));
        let seeds = ctx.replicate_seeds(3);
        let resamples = size.pick(200, 1000);
        let mut m = Metrics::new();
        m.config("teacher", "20-32-10 ReLU, sigma_w2 = 2, sigma_b2 = 0, labels = argmax of the outputs");
        m.config("n_train", n_train);
        m.config("n_validation", n_valid);
        m.config("n_test", n_test);
        m.config("widths", serde_json::json!(widths));
        m.config("data_sizes", serde_json::json!(data_sizes));
        m.config("data_sweep_width", data_width);
        m.config("training", training_json(n_train, max_steps, patience, 0));
        m.config("seeds", seeds.len());
        m.config("bootstrap_resamples", resamples);
        // one job per (seed, point): a width on all examples (`Ok`) or the data-sweep width
        // on the first `d` examples (`Err`), run in parallel; every job regenerates its
        // seed's teacher data (cheap and deterministic)
        let jobs: Vec<(u64, Result<usize, usize>)> = seeds
            .iter()
            .flat_map(|&s| widths.iter().map(move |&w| (s, Ok(w))).chain(data_sizes.iter().map(move |&d| (s, Err(d)))))
            .collect();
        let runs = par_map(ctx, &jobs, |&(seed, point)| {
            let (train, valid, test) = teacher_data(n_train, n_valid, n_test, seed)?;
            match point {
                Ok(w) => test_loss(
                    &mlp_json(20, w, 10, seed),
                    &training_json(n_train, max_steps, patience, seed),
                    &train,
                    &valid,
                    &test,
                ),
                Err(d) => {
                    let subset = train.subset(&(0..d).collect::<Vec<_>>()).map_err(fail)?;
                    test_loss(
                        &mlp_json(20, data_width, 10, seed),
                        &training_json(d, max_steps, patience, seed),
                        &subset,
                        &valid,
                        &test,
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
            "student MLP 20-h-10 learning a 20-32-10 ReLU teacher, {n_train} examples, Adam 1e-3, early stopping"
        );
        analyse(
            ctx,
            &mut m,
            &Sweep { key: "params", axis: "parameters N", setting: &setting, sizes: params, losses: param_losses },
            resamples,
        )?;
        let setting = format!(
            "student MLP 20-{data_width}-10 on nested subsets of the teacher's data, Adam 1e-3, early stopping"
        );
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
