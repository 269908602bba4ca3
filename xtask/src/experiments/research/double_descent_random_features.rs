//! `double-descent-random-features`: the double-descent curve of minimum-norm least squares
//! on random ReLU features (Belkin, Hsu, Ma & Mandal 2019, Fig. 2), and optimally tuned
//! ridge removing its peak (Nakkiran, Venkat, Kakade & Ma 2020, Fig. 1).
//!
//! Data: the 8x8 handwritten digits (the vendored stand-in for Belkin et al.'s MNIST) as a
//! regression on one-hot targets (10 outputs), pixels centred by the training mean image and
//! scaled to `E‖x‖² = 64` (raw pixels sit in a narrow cone where many ReLU features are
//! never or always active, which costs the feature matrix its rank); per seed a random
//! split into `n` training images, a disjoint validation set of `n` images, and the
//! remaining `1797 − 2n` as the test set. Features `φ(x) = relu(W x / √64)`, `W` of shape
//! `(5n, 64)` with i.i.d. `N(0, 1)` entries (per seed); the sweep fits the first `p` rows for
//! `p/n` from 0.1 to 5, densely around 1. The minimum-norm fit uses the pseudo-inverse with relative
//! cut-off `max(n, p) · ε`; the ridge objective is `(1/n) ‖Φβ − Y‖² + λ‖β‖²` with `λ` on a
//! log grid from 1e-8 to 10 (28 values), chosen per `p` on the validation set (held-out)
//! or by the test error (oracle, the optimum the theorem assumes). Belkin et al. used
//! MNIST (`n = 10⁴`) with random Fourier features; the shape, not the scale, is compared.

use dl_tensor::{Tensor, seeded_rng};
use dl_theory::double_descent::{RandomFeaturesProblem, RidgeSelection, argmax, largest_rise, log_grid, select_ridge};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::experiments::research::measure::{ceil_log10, digits_three_way, fail, mean_sd, seed_curves};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Double descent of random ReLU features.
pub struct DoubleDescentRandomFeatures;

/// The ratios `p / n` of the sweep.
const RATIOS: [f64; 27] = [
    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0,
    2.5, 3.0, 3.5, 4.0, 4.5, 5.0,
];

/// One seed's curves over the sweep.
struct Sweep {
    test_min_norm: Vec<f64>,
    train_min_norm: Vec<f64>,
    error_min_norm: Vec<f64>,
    norm: Vec<f64>,
    sigma_min: Vec<f64>,
    test_held_out: Vec<f64>,
    error_held_out: Vec<f64>,
    test_oracle: Vec<f64>,
    lambda_held_out: Vec<f64>,
}

fn sweep(n: usize, ps: &[usize], lambdas: &[f64], seed: u64) -> Result<Sweep, ExperimentError> {
    let (train, validation, test) = digits_three_way(n, n, seed)?;
    let mut rng = seeded_rng(seed ^ 0x5eed_f00d);
    let p_max = *ps.last().expect("non-empty sweep");
    let w = Tensor::<f64>::randn(&[p_max, 64], &mut rng);
    let y = |d: &dl_framework::data::Dataset<f64>| d.one_hot().map_err(fail);
    let problem = RandomFeaturesProblem::new(train.features(), &y(&train)?, test.features(), &y(&test)?, &w)
        .map_err(fail)?
        .with_validation(validation.features(), &y(&validation)?, &w)
        .map_err(fail)?;
    let mut s = Sweep {
        test_min_norm: vec![],
        train_min_norm: vec![],
        error_min_norm: vec![],
        norm: vec![],
        sigma_min: vec![],
        test_held_out: vec![],
        error_held_out: vec![],
        test_oracle: vec![],
        lambda_held_out: vec![],
    };
    for &p in ps {
        let fit = problem.min_norm(p, None).map_err(fail)?;
        s.test_min_norm.push(fit.test_mse);
        s.train_min_norm.push(fit.train_mse);
        s.error_min_norm.push(fit.test_classification_error.unwrap_or(f64::NAN));
        s.norm.push(fit.coefficient_norm);
        s.sigma_min.push(fit.smallest_singular_value.unwrap_or(0.0));
        let path = problem.ridge_path(p, lambdas).map_err(fail)?;
        let held = select_ridge(&path, RidgeSelection::HeldOut).map_err(fail)?;
        s.test_held_out.push(held.test_mse);
        s.error_held_out.push(held.test_classification_error.unwrap_or(f64::NAN));
        s.lambda_held_out.push(held.lambda);
        s.test_oracle.push(select_ridge(&path, RidgeSelection::Oracle).map_err(fail)?.test_mse);
    }
    Ok(s)
}

impl Experiment for DoubleDescentRandomFeatures {
    fn id(&self) -> &'static str {
        "double-descent-random-features"
    }
    fn title(&self) -> &'static str {
        "Double descent of minimum-norm random ReLU features on the digits, and optimal ridge removing the peak"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let n = size.pick(80, 400);
        let seeds = ctx.replicate_seeds(size.pick(2, 3));
        let ratios: Vec<f64> = match size {
            Size::Quick => vec![0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0],
            Size::Full => RATIOS.to_vec(),
        };
        let ps: Vec<usize> = ratios.iter().map(|r| ((r * n as f64).round() as usize).max(1)).collect();
        let xs: Vec<f64> = ps.iter().map(|&p| p as f64 / n as f64).collect();
        let lambdas = log_grid(1e-8, 10.0, 28).map_err(fail)?;
        let mut m = Metrics::new();
        m.config("n_train", n);
        m.config("n_validation", n);
        m.config("n_test", 1797 - 2 * n);
        m.config("data", "8x8 digits centred by the training mean image, one global scale, random train / validation / test split per seed");
        m.config("features", json!(ps));
        m.config("seeds", seeds.len());
        m.config("rcond", "max(n, p) * f64::EPSILON");
        m.config("ridge_objective", "(1/n) |Phi beta - Y|^2 + lambda |beta|^2, lambda on log_grid(1e-8, 10, 28)");
        m.config("targets", "one-hot (10 outputs), MSE averaged over examples and outputs");
        // the seeds in parallel
        let runs = par_map(ctx, &seeds, |&seed| sweep(n, &ps, &lambdas, seed))?;
        let per = |f: fn(&Sweep) -> &Vec<f64>| runs.iter().map(|r| f(r).clone()).collect::<Vec<_>>();
        m.table(
            "sweep_seed0",
            &[
                "p",
                "p_over_n",
                "test_mse_min_norm",
                "train_mse_min_norm",
                "test_error_min_norm",
                "coefficient_norm",
                "smallest_singular_value",
                "test_mse_ridge_held_out",
                "lambda_held_out",
                "test_mse_ridge_oracle",
            ],
        );
        let r0 = &runs[0];
        for (i, &p) in ps.iter().enumerate() {
            m.push_row(
                "sweep_seed0",
                vec![
                    json!(p),
                    num(xs[i]),
                    num(r0.test_min_norm[i]),
                    json!(ceil_log10(r0.train_min_norm[i])),
                    num(r0.error_min_norm[i]),
                    num(r0.norm[i]),
                    num(r0.sigma_min[i]),
                    num(r0.test_held_out[i]),
                    num(r0.lambda_held_out[i]),
                    num(r0.test_oracle[i]),
                ],
            )?;
        }
        // per-seed measurements
        let peak_ratio: Vec<f64> = runs
            .iter()
            .map(|r| argmax(&r.test_min_norm).map(|(i, _)| xs[i]))
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        let norm_peak: Vec<f64> =
            runs.iter().map(|r| argmax(&r.norm).map(|(i, _)| xs[i])).collect::<Result<_, _>>().map_err(fail)?;
        let over: Vec<usize> = (0..ps.len()).filter(|&i| ps[i] >= n).collect();
        let under: Vec<usize> = (0..ps.len()).filter(|&i| ps[i] < n).collect();
        let interp: Vec<f64> =
            runs.iter().map(|r| ceil_log10(over.iter().map(|&i| r.train_min_norm[i]).fold(0.0, f64::max))).collect();
        let second: Vec<f64> = runs
            .iter()
            .map(|r| {
                r.test_min_norm[ps.len() - 1] / under.iter().map(|&i| r.test_min_norm[i]).fold(f64::INFINITY, f64::min)
            })
            .collect();
        let rise_held: Vec<f64> =
            runs.iter().map(|r| largest_rise(&r.test_held_out)).collect::<Result<_, _>>().map_err(fail)?;
        let rise_oracle: Vec<f64> =
            runs.iter().map(|r| largest_rise(&r.test_oracle)).collect::<Result<_, _>>().map_err(fail)?;
        let rise_min_norm: Vec<f64> =
            runs.iter().map(|r| largest_rise(&r.test_min_norm)).collect::<Result<_, _>>().map_err(fail)?;
        let at_n = ps.iter().position(|&p| p == n).expect("p = n is on the grid");
        let gain_at_n: Vec<f64> = runs.iter().map(|r| r.test_min_norm[at_n] / r.test_held_out[at_n]).collect();
        let sigma_at_n: Vec<f64> = runs.iter().map(|r| r.sigma_min[at_n]).collect();
        for (name, v) in [
            ("peak_p_over_n", &peak_ratio),
            ("norm_peak_p_over_n", &norm_peak),
            ("test_mse_last_over_best_underparameterised", &second),
            ("largest_rise_min_norm", &rise_min_norm),
            ("largest_rise_ridge_held_out", &rise_held),
            ("largest_rise_ridge_oracle", &rise_oracle),
            ("min_norm_over_ridge_test_mse_at_p_eq_n", &gain_at_n),
            ("smallest_singular_value_at_p_eq_n", &sigma_at_n),
        ] {
            let (mean, sd) = mean_sd(v);
            m.scalar(&format!("{name}_mean"), mean);
            m.scalar(&format!("{name}_sd"), sd);
        }
        m.claim(
            Claim::new(
                "peak-at-interpolation",
                "the test error of the minimum-norm fit peaks at the interpolation threshold p = n",
                "Belkin, Hsu, Ma & Mandal 2019, Fig. 2; Section 3",
            )
            .measured("p / n at the largest test MSE of the minimum-norm fit", Measured::over_seeds(&peak_ratio))
            .criterion(Criterion::within(1.0, 0.1))
            .partly_if(Criterion::within(1.0, 0.25))
            .note("grid of p/n dense around 1 (0.95, 0.98, 1, 1.02, 1.05); 8x8 digits with random ReLU features, not MNIST with random Fourier features"),
        )?;
        m.claim(
            Claim::new(
                "interpolation-beyond-threshold",
                "for p >= n the minimum-norm fit interpolates the training data",
                "Belkin et al. 2019, Section 3",
            )
            .measured(
                "ceil(log10) of the largest training MSE over p >= n (targets of variance 0.09)",
                Measured::over_seeds(&interp),
            )
            .criterion(Criterion::at_most(-20.0)),
        )?;
        m.claim(
            Claim::new(
                "norm-peaks-at-threshold",
                "the norm of the minimum-norm coefficients peaks at p = n and falls beyond it (the smallest singular value of the features collapses there)",
                "Belkin et al. 2019, Fig. 2 (bottom); Hastie, Montanari, Rosset & Tibshirani 2022",
            )
            .measured("p / n at the largest coefficient norm", Measured::over_seeds(&norm_peak))
            .criterion(Criterion::within(1.0, 0.1))
            .partly_if(Criterion::within(1.0, 0.25)),
        )?;
        m.claim(
            Claim::new(
                "second-descent-below-classical-optimum",
                "far beyond the threshold the test error falls below the best under-parameterised test error",
                "Belkin et al. 2019, Fig. 2 (the global minimum lies in the over-parameterised regime)",
            )
            .measured("test MSE at p = 5n over the smallest test MSE at p < n", Measured::over_seeds(&second))
            .criterion(Criterion::at_most(1.0))
            .partly_if(Criterion::at_most(1.1))
            .note("the sweep stops at p = 5n (Belkin et al. went to about 6n on MNIST)"),
        )?;
        m.claim(
            Claim::new(
                "optimal-ridge-removes-peak",
                "with the ridge parameter tuned per p, the test error no longer rises at p = n: the curve is monotone in p",
                "Nakkiran, Venkat, Kakade & Ma 2020, Theorem 1 and Fig. 1",
            )
            .measured("largest rise of the held-out-tuned ridge test MSE above its running minimum over p (1 = monotone)", Measured::over_seeds(&rise_held))
            .criterion(Criterion::at_most(1.05))
            .partly_if(Criterion::at_most(1.2))
            .note("lambda chosen on a disjoint validation set of n examples; the oracle choice (test set) is reported as largest_rise_ridge_oracle"),
        )?;
        // figures
        let mut test =
            LineChart::new("Random ReLU features on the 8x8 digits: test MSE against p / n", "p / n", "test MSE")
                .scales(Scale::Log10, Scale::Log10);
        test.add_over_seeds(
            "minimum norm (ridge-free)",
            SeriesKind::Line,
            1,
            &seed_curves(&xs, &per(|r| &r.test_min_norm)),
        );
        test.add_over_seeds(
            "ridge, lambda on held-out data",
            SeriesKind::Line,
            0,
            &seed_curves(&xs, &per(|r| &r.test_held_out)),
        );
        test.add_over_seeds("ridge, oracle lambda", SeriesKind::Line, 2, &seed_curves(&xs, &per(|r| &r.test_oracle)));
        ctx.figure("test_mse", &test)?;
        let mut err = LineChart::new(
            "Random ReLU features: test classification error (argmax of the 10 outputs)",
            "p / n",
            "test error",
        )
        .scales(Scale::Log10, Scale::Linear);
        err.add_over_seeds("minimum norm", SeriesKind::Line, 1, &seed_curves(&xs, &per(|r| &r.error_min_norm)));
        err.add_over_seeds(
            "ridge, held-out lambda",
            SeriesKind::Line,
            0,
            &seed_curves(&xs, &per(|r| &r.error_held_out)),
        );
        ctx.figure("test_classification_error", &err)?;
        let mut spec = LineChart::new("Coefficient norm and smallest singular value of the features", "p / n", "value")
            .scales(Scale::Log10, Scale::Log10);
        spec.add_over_seeds("|beta|_F (minimum norm)", SeriesKind::Line, 1, &seed_curves(&xs, &per(|r| &r.norm)));
        spec.add_over_seeds(
            "smallest non-zero singular value of Phi",
            SeriesKind::Line,
            0,
            &seed_curves(&xs, &per(|r| &r.sigma_min)),
        );
        ctx.figure("norm_and_singular_value", &spec)?;
        Ok(m)
    }
}
