//! `ntk-generalisation-bound`: the NTK generalisation bound of Arora et al. (2019,
//! Theorem 5.1), `sqrt(2 y^T Theta^{-1} y / n)`, beside the observed test error of the
//! infinite-width network trained to convergence (kernel regression with the analytic
//! NTK), for true and for randomised labels, on two classes of the digits (3 against 8).
//!
//! Arora et al.'s network is one hidden ReLU layer; so is this architecture (NTK
//! parameterisation, `sigma_w2 = 2`, `sigma_b2 = 0`, inputs scaled to `x . x / d = 1`).
//! Their bound separates true labels (a small `y^T Theta^{-1} y`: the labels lie along the
//! kernel's large eigendirections) from random ones (a large one), as the test error does.

use dl_framework::data::permutation;
use dl_init::Activation;
use dl_ntk::predict::{arora_bound, kernel_regression};
use dl_ntk::{Architecture, Parameterisation};
use dl_tensor::{Tensor, seeded_rng};

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
        let n_max = *sizes.last().expect("sizes");
        let data = digits_binary(3, 8, n_max, n_test, ctx.seed())?;
        let arch = Architecture::mlp(1, 1, Activation::Relu, 2.0, 0.0, 1, Parameterisation::Ntk).map_err(fail)?;
        let mut m = Metrics::new();
        m.config("train_sizes", sizes.clone());
        m.config("n_test", n_test);
        m.config(
            "architecture",
            "Dense - ReLU - Dense, NTK parameterisation, sigma_w2 = 2, sigma_b2 = 0 (infinite width)",
        );
        m.table("bound", &["n", "labels", "arora_bound", "test_error", "test_mse", "solve"]);
        let mut rng = seeded_rng(ctx.seed() ^ 0xa207a);
        let y_all = data.y_train.to_vec();
        let shuffled: Vec<f64> = permutation(n_max, &mut rng).into_iter().map(|i| y_all[i]).collect();
        let (mut bt, mut br, mut et, mut er) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, &n) in sizes.iter().enumerate() {
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
            for (label, y, y_test) in [("true", &y_true, &data.y_test), ("random", &y_rand, &test_rand)] {
                let (bound, method) = arora_bound(&theta, y).map_err(fail)?;
                let (pred, _) = kernel_regression(&theta, &cross, y, 0.0).map_err(fail)?;
                let err = sign_error(&pred, y_test);
                let mse = pred.to_vec().iter().zip(y_test.to_vec()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
                    / n_test as f64;
                m.push_row(
                    "bound",
                    vec![num(n as f64), label.into(), num(bound), num(err), num(mse), format!("{method:?}").into()],
                )?;
                if label == "true" {
                    bt.push((n as f64, bound));
                    et.push((n as f64, err));
                } else {
                    br.push((n as f64, bound));
                    er.push((n as f64, err));
                }
            }
            ctx.progress(i as u64 + 1, sizes.len() as u64);
        }
        m.scalar("bound_true_labels_at_largest_n", bt.last().expect("rows").1);
        m.scalar("bound_random_labels_at_largest_n", br.last().expect("rows").1);
        m.scalar("test_error_true_labels_at_largest_n", et.last().expect("rows").1);
        m.scalar("test_error_random_labels_at_largest_n", er.last().expect("rows").1);
        let mut chart =
            LineChart::new("Arora et al. (2019) bound and test error", "training points n", "error / bound")
                .scales(Scale::Log2, Scale::Linear);
        chart.add("bound, true labels", SeriesKind::Line, 0, bt);
        chart.add("bound, random labels", SeriesKind::Line, 1, br);
        chart.add("test error, true labels", SeriesKind::Line, 2, et);
        chart.add("test error, random labels", SeriesKind::Line, 3, er);
        ctx.figure("generalisation_bound", &chart)?;
        Ok(m)
    }
}
