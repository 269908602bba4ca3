//! `ntk-generalisation-bound`: the NTK generalisation bound of Arora et al. (2019,
//! Theorem 5.1), `sqrt(2 y^T Theta^{-1} y / n)`, beside the observed test error of the
//! infinite-width network trained to convergence (kernel regression with the analytic
//! NTK), for true and for randomised labels, on two classes of the digits (3 against 8).
//!
//! Arora et al.'s network is one hidden ReLU layer; so is this architecture (NTK
//! parameterisation, `sigma_w2 = 2`, `sigma_b2 = 0`, inputs scaled to `x . x / d = 1`).
//! Their bound separates true labels (a small `y^T Theta^{-1} y`: the labels lie along the
//! kernel's large eigendirections) from random ones (a large one), as the test error does.
//!
//! Claims, over replicate seeds (3 at full size; each draws the images and the label
//! permutations): at the largest `n` the bound for random labels is at least 1.5 times that
//! for true labels (partly: larger at all), as their test errors differ; and the bound is
//! above the observed test error at every `n`, for both label sets (it bounds the
//! population error, up to terms that vanish with `n`).

use dl_framework::data::permutation;
use dl_init::Activation;
use dl_ntk::predict::{arora_bound, kernel_regression};
use dl_ntk::{Architecture, Parameterisation};
use dl_tensor::{Tensor, seeded_rng};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured, mean_and_spread};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::ntk::ntk_common::{digits_binary, fail, sign_error};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Arora et al.'s bound against the observed error.
pub struct NtkGeneralisationBound;

impl Experiment for NtkGeneralisationBound {
    fn id(&self) -> &'static str {
        "ntk-generalisation-bound"
    }
    fn title(&self) -> &'static str {
        "The NTK generalisation bound of Arora et al. (2019) against the observed test error, true and random labels"
    }
    fn section(&self) -> &'static str {
        "05 neural tangent kernel"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let sizes: Vec<usize> = size.pick(vec![32, 64, 128], vec![32, 64, 128, 256]);
        let n_test = size.pick(64, 96);
        let seeds = ctx.replicate_seeds(size.pick(2, 3));
        let mut m = Metrics::new();
        m.config("train_sizes", sizes.clone());
        m.config("n_test", n_test);
        m.config(
            "architecture",
            "Dense - ReLU - Dense, NTK parameterisation, sigma_w2 = 2, sigma_b2 = 0 (infinite width)",
        );
        m.config("replicate_seeds", json!(seeds));
        // rows[r][i]: (n, [bound, error, mse] for true labels, the same for random labels, solve names)
        let mut rows = Vec::with_capacity(seeds.len());
        for &seed in &seeds {
            rows.push(replicate(&sizes, n_test, seed)?);
        }
        m.table(
            "bound",
            &["n", "labels", "arora_bound", "test_error", "test_mse", "solve", "arora_bound_mean", "test_error_mean"],
        );
        for (i, &n) in sizes.iter().enumerate() {
            for (l, label) in ["true", "random"].into_iter().enumerate() {
                let r0 = &rows[0][i][l];
                let bound = mean_and_spread(&rows.iter().map(|r| r[i][l].bound).collect::<Vec<_>>()).0;
                let error = mean_and_spread(&rows.iter().map(|r| r[i][l].error).collect::<Vec<_>>()).0;
                m.push_row(
                    "bound",
                    vec![
                        num(n as f64),
                        label.into(),
                        num(r0.bound),
                        num(r0.error),
                        num(r0.mse),
                        r0.solve.clone().into(),
                        num(bound),
                        num(error),
                    ],
                )?;
            }
        }
        let curve = |l: usize, pick: fn(&Row) -> f64| -> Vec<Vec<(f64, f64)>> {
            rows.iter().map(|r| sizes.iter().zip(r).map(|(&n, row)| (n as f64, pick(&row[l]))).collect()).collect()
        };
        let last = sizes.len() - 1;
        let at_last = |l: usize, pick: fn(&Row) -> f64| {
            mean_and_spread(&rows.iter().map(|r| pick(&r[last][l])).collect::<Vec<_>>()).0
        };
        m.scalar("bound_true_labels_at_largest_n", at_last(0, |r| r.bound));
        m.scalar("bound_random_labels_at_largest_n", at_last(1, |r| r.bound));
        m.scalar("test_error_true_labels_at_largest_n", at_last(0, |r| r.error));
        m.scalar("test_error_random_labels_at_largest_n", at_last(1, |r| r.error));
        let mut chart =
            LineChart::new("Arora et al. (2019) bound and test error", "training points n", "error / bound")
                .scales(Scale::Log2, Scale::Linear);
        let (bt, br, et, er) =
            (curve(0, |r| r.bound), curve(1, |r| r.bound), curve(0, |r| r.error), curve(1, |r| r.error));
        chart.add_over_seeds("bound, true labels", SeriesKind::Line, 0, &bt);
        chart.add_over_seeds("bound, random labels", SeriesKind::Line, 1, &br);
        chart.add_over_seeds("test error, true labels", SeriesKind::Line, 2, &et);
        chart.add_over_seeds("test error, random labels", SeriesKind::Line, 3, &er);
        ctx.figure("generalisation_bound", &chart)?;
        let ratio: Vec<f64> = (0..seeds.len()).map(|r| br[r][last].1 / bt[r][last].1).collect();
        let margin: Vec<f64> = (0..seeds.len())
            .map(|r| {
                (0..sizes.len())
                    .map(|i| (bt[r][i].1 - et[r][i].1).min(br[r][i].1 - er[r][i].1))
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        m.claim(
            Claim::new(
                "bound-separates-true-from-random-labels",
                "the data-dependent complexity sqrt(2 y^T Theta^-1 y / n) is small for true labels, which lie along the \
                 kernel's large eigendirections, and large for random labels: the bound separates them as their test \
                 errors do",
                "Arora, Du, Hu, Li & Wang 2019, 'Fine-grained analysis of optimization and generalization', Theorem \
                 5.1 and section 6 (true against random labels)",
            )
            .measured("bound for random labels over bound for true labels, at the largest n", Measured::over_seeds(&ratio))
            .criterion(Criterion::at_least(1.5))
            .partly_if(Criterion::at_least(1.0)),
        )?;
        m.claim(
            Claim::new(
                "bound-above-test-error",
                "the bound is an upper bound on the test error of the trained (infinitely wide) network",
                "Arora et al. 2019, Theorem 5.1",
            )
            .measured(
                "smallest bound minus observed test error over n and both label sets",
                Measured::over_seeds(&margin),
            )
            .criterion(Criterion::at_least(0.0))
            .note("the theorem adds terms of order sqrt(log(n / delta) / n); the leading term alone is compared"),
        )?;
        Ok(m)
    }
}

/// One label set at one training size.
struct Row {
    bound: f64,
    error: f64,
    mse: f64,
    solve: String,
}

/// One replicate: images and label permutations drawn from `seed`; for every `n`, the true
/// and the random labels.
fn replicate(sizes: &[usize], n_test: usize, seed: u64) -> Result<Vec<[Row; 2]>, ExperimentError> {
    let n_max = *sizes.last().expect("sizes");
    let data = digits_binary(3, 8, n_max, n_test, seed)?;
    let arch = Architecture::mlp(1, 1, Activation::Relu, 2.0, 0.0, 1, Parameterisation::Ntk).map_err(fail)?;
    let mut rng = seeded_rng(seed ^ 0xa207a);
    let y_all = data.y_train.to_vec();
    let shuffled: Vec<f64> = permutation(n_max, &mut rng).into_iter().map(|i| y_all[i]).collect();
    let mut out = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let x = data.x_train.narrow(0, 0, n)?;
        let theta = arch.kernels(&x, None).map_err(fail)?.ntk;
        let cross = arch.kernels(&data.x_test, Some(&x)).map_err(fail)?.ntk;
        // random labels: the training labels permuted, the test labels those of a fresh permutation
        let y_true = Tensor::from_vec(y_all[..n].to_vec(), &[n, 1])?;
        let y_rand = Tensor::from_vec(shuffled[..n].to_vec(), &[n, 1])?;
        let test_rand = Tensor::from_vec(
            permutation(n_test, &mut rng).into_iter().map(|j| data.y_test.to_vec()[j]).collect(),
            &[n_test, 1],
        )?;
        let mut row = Vec::with_capacity(2);
        for (y, y_test) in [(&y_true, &data.y_test), (&y_rand, &test_rand)] {
            let (bound, method) = arora_bound(&theta, y).map_err(fail)?;
            let (pred, _) = kernel_regression(&theta, &cross, y, 0.0).map_err(fail)?;
            let error = sign_error(&pred, y_test);
            let mse =
                pred.to_vec().iter().zip(y_test.to_vec()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / n_test as f64;
            row.push(Row { bound, error, mse, solve: format!("{method:?}") });
        }
        let [a, b]: [Row; 2] = row.try_into().map_err(|_| ExperimentError::Invalid("two label sets".into()))?;
        out.push([a, b]);
    }
    Ok(out)
}
