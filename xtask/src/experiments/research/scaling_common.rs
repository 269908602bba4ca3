//! What the two scaling-law experiments share: training one configuration to its
//! early-stopped test loss, and fitting, bootstrapping, extrapolating and reporting one
//! sweep (test loss against parameters or against data).

use dl_framework::data::Dataset;
use dl_framework::{NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_tensor::seeded_rng;
use dl_theory::scaling_laws::{
    BootstrapOptions, PowerLawFitOptions, Resampling, bootstrap_power_law, extrapolation_check,
};
use serde_json::{Value, json};

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiments::research::measure::{fail, seed_curves};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// An MLP `input → width → classes` (one hidden ReLU layer, PyTorch initialisation).
pub(crate) fn mlp_json(input: usize, width: usize, classes: usize, seed: u64) -> Value {
    json!({"input_shape": [input], "seed": seed, "layers": [
        {"type": "dense", "units": width, "activation": "relu"},
        {"type": "dense", "units": classes}
    ]})
}

/// Adam at 1e-3, minibatches of 128, at most `max_steps` steps (rounded up to whole
/// epochs), early stopping on the validation loss after `patience_steps` steps (in whole
/// epochs, at least 3) without improvement, the best epoch's parameters restored.
pub(crate) fn training_json(examples: usize, max_steps: usize, patience_steps: usize, seed: u64) -> Value {
    let per_epoch = examples.div_ceil(128);
    json!({
        "epochs": max_steps.div_ceil(per_epoch), "batch_size": 128, "seed": seed,
        "optimizer": {"kind": "adam", "lr": 1e-3},
        "early_stopping": {"patience": patience_steps.div_ceil(per_epoch).max(3), "min_delta": 0.0, "restore_best": true},
        "log_every": 1_000_000, "finite_check_every": 1000
    })
}

/// Trains `net` under `training` with early stopping on `valid`; returns the test
/// cross-entropy of the restored best parameters and the parameter count.
pub(crate) fn test_loss(
    net: &Value,
    training: &Value,
    train: &Dataset<f32>,
    valid: &Dataset<f32>,
    test: &Dataset<f32>,
) -> Result<(f64, usize), ExperimentError> {
    let network = NetworkConfig::from_json(&net.to_string()).and_then(|c| c.build::<f32>()).map_err(fail)?;
    let parameters = network.num_parameters();
    let mut trainer =
        Trainer::new(network, TrainConfig::from_json(&training.to_string()).map_err(fail)?).map_err(fail)?;
    trainer.fit(train, Some(valid)).map_err(fail)?;
    Ok((trainer.evaluate(test).map_err(fail)?.0, parameters))
}

/// One sweep: `sizes[i]` (parameters or examples) with one test loss per seed.
pub(crate) struct Sweep<'a> {
    /// Key prefix of the scalars and claims (`params`, `data`).
    pub key: &'a str,
    /// What the sizes are, for the texts.
    pub axis: &'a str,
    /// The setting, for the claims' notes.
    pub setting: &'a str,
    pub sizes: Vec<f64>,
    pub losses: Vec<Vec<f64>>,
}

/// Fits `L = a N^(−α) + c` to the sweep with 90% bootstrap intervals (seeds resampled;
/// points resampled reported beside), checks the extrapolation to the largest size from the
/// others, records scalars, a table, three claims and a figure.
pub(crate) fn analyse(
    ctx: &mut RunContext,
    m: &mut Metrics,
    sweep: &Sweep<'_>,
    resamples: usize,
) -> Result<(), ExperimentError> {
    let key = sweep.key;
    let fit_opts = PowerLawFitOptions::default();
    let boot_opts = BootstrapOptions { resamples, level: 0.9, resampling: Resampling::Seeds, predict_at: vec![] };
    let mut rng = seeded_rng(ctx.point_seed(key, 0));
    let boot = bootstrap_power_law(&sweep.sizes, &sweep.losses, &fit_opts, &boot_opts, &mut rng).map_err(fail)?;
    let points = bootstrap_power_law(
        &sweep.sizes,
        &sweep.losses,
        &fit_opts,
        &BootstrapOptions { resampling: Resampling::Points, ..boot_opts.clone() },
        &mut rng,
    )
    .map_err(fail)?;
    let extra = extrapolation_check(&sweep.sizes, &sweep.losses, &fit_opts, &boot_opts, &mut rng).map_err(fail)?;
    m.table(&format!("{key}_sweep"), &["size", "test_loss_mean", "test_loss_sd", "fit_all", "fit_without_largest"]);
    for (n, l) in sweep.sizes.iter().zip(&sweep.losses) {
        let (mean, sd) = crate::experiments::research::measure::mean_sd(l);
        m.push_row(
            &format!("{key}_sweep"),
            vec![num(*n), num(mean), num(sd), num(boot.fit.predict(*n)), num(extra.fit.predict(*n))],
        )?;
    }
    for (name, v) in [
        ("alpha", boot.fit.alpha),
        ("alpha_lower_seeds", boot.alpha.lower),
        ("alpha_upper_seeds", boot.alpha.upper),
        ("alpha_lower_points", points.alpha.lower),
        ("alpha_upper_points", points.alpha.upper),
        ("a", boot.fit.a),
        ("c", boot.fit.c),
        ("c_lower_seeds", boot.c.lower),
        ("c_upper_seeds", boot.c.upper),
        ("log_rmse", boot.fit.log_rmse),
        ("extrapolation_size", extra.held_out_size),
        ("extrapolation_observed", extra.observed),
        ("extrapolation_predicted", extra.predicted.estimate),
        ("extrapolation_lower", extra.predicted.lower),
        ("extrapolation_upper", extra.predicted.upper),
        ("extrapolation_relative_error", extra.relative_error),
        ("extrapolation_alpha_without_largest", extra.fit.alpha),
    ] {
        m.scalar(&format!("{key}_{name}"), v);
    }
    m.scalar_value(&format!("{key}_bootstrap_failed_seeds"), boot.failed);
    let law = format!(
        "L = {:.3} N^(-{:.3}) + {:.3}; alpha 90% interval [{:.3}, {:.3}] (seeds resampled), [{:.3}, {:.3}] (points resampled)",
        boot.fit.a,
        boot.fit.alpha,
        boot.fit.c,
        boot.alpha.lower,
        boot.alpha.upper,
        points.alpha.lower,
        points.alpha.upper
    );
    m.claim(
        Claim::new(
            &format!("{key}-power-law"),
            &format!("the test loss against {} follows a power law plus a constant, L = a N^(-alpha) + c", sweep.axis),
            "Kaplan et al. 2020, Section 3 and Fig. 1; Henighan et al. 2020 (irreducible term)",
        )
        .measured(
            "root mean square of the log residuals of the fit to the per-size mean loss",
            Measured::exact(boot.fit.log_rmse),
        )
        .criterion(Criterion::at_most(0.05))
        .partly_if(Criterion::at_most(0.1))
        .note(&format!("{}; {law}", sweep.setting)),
    )?;
    m.claim(
        Claim::new(
            &format!("{key}-exponent-positive"),
            &format!("the fitted exponent for {} is positive, with a confidence interval", sweep.axis),
            "Kaplan et al. 2020, Section 3",
        )
        .measured(
            "lower end of the 90% bootstrap interval of alpha (seeds resampled)",
            Measured::exact(boot.alpha.lower),
        )
        .criterion(Criterion::at_least(0.0))
        .note(&format!("{law}; with 3 seeds per size the seed bootstrap under-covers")),
    )?;
    m.claim(
        Claim::new(
            &format!("{key}-extrapolation"),
            &format!("a law fitted on the smaller {} predicts the largest", sweep.axis),
            "Kaplan et al. 2020, Section 3 (laws extrapolate over orders of magnitude)",
        )
        .measured(
            &format!("|relative error| of the prediction at N = {} from the fit without it", extra.held_out_size),
            Measured::exact(extra.relative_error.abs()),
        )
        .criterion(Criterion::at_most(0.05))
        .partly_if(Criterion::at_most(0.15))
        .note(&format!(
            "observed {:.4} ± {:.4} (se over seeds), predicted {:.4} with 90% interval [{:.4}, {:.4}]: {} the interval",
            extra.observed,
            extra.observed_standard_error,
            extra.predicted.estimate,
            extra.predicted.lower,
            extra.predicted.upper,
            if extra.within_interval { "inside" } else { "outside" }
        )),
    )?;
    let mut chart = LineChart::new(&format!("Test loss against {}", sweep.axis), sweep.axis, "test cross-entropy")
        .scales(Scale::Log10, Scale::Log10);
    chart.add_over_seeds("measured", SeriesKind::Line, 0, &seed_curves(&sweep.sizes, &transpose(&sweep.losses)));
    let (lo, hi) = (sweep.sizes[0], *sweep.sizes.last().expect("non-empty"));
    let grid: Vec<f64> = (0..=40).map(|k| lo * (hi / lo).powf(k as f64 / 40.0)).collect();
    chart.add("fit on all sizes", SeriesKind::Line, 1, grid.iter().map(|&n| (n, boot.fit.predict(n))).collect());
    chart.add(
        "fit without the largest, extrapolated",
        SeriesKind::Line,
        2,
        grid.iter().map(|&n| (n, extra.fit.predict(n))).collect(),
    );
    chart.band(
        "90% interval of the extrapolation",
        2,
        vec![(extra.held_out_size, extra.predicted.lower, extra.predicted.upper)],
    );
    chart.add("irreducible c", SeriesKind::Line, 3, vec![(lo, boot.fit.c.max(1e-6)), (hi, boot.fit.c.max(1e-6))]);
    ctx.figure(&format!("{key}_scaling"), &chart)?;
    Ok(())
}

/// `losses[size][seed]` as `[seed][size]`.
fn transpose(losses: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let seeds = losses.iter().map(|l| l.len()).min().unwrap_or(0);
    (0..seeds).map(|s| losses.iter().map(|l| l[s]).collect()).collect()
}
