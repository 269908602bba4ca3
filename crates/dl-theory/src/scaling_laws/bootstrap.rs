//! Percentile-bootstrap confidence intervals of a power-law fit, resampling seeds or points
//! (see the module documentation of [`crate::scaling_laws`]).

use rand::{Rng, RngExt};

use super::power_law::{PowerLaw, PowerLawFitOptions, fit_power_law};
use super::{Result, ScalingLawError, invalid};

/// What a bootstrap replicate resamples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resampling {
    /// At every size, the per-seed losses with replacement (their mean is the point fitted):
    /// the interval reflects seed-to-seed variation at fixed sizes.
    Seeds,
    /// The sizes with replacement (a case bootstrap of the `(N, mean loss)` points): the
    /// interval also reflects how much the fit leans on single points.
    Points,
}

/// Settings of [`bootstrap_power_law`].
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapOptions {
    /// Bootstrap replicates.
    pub resamples: usize,
    /// The confidence level of the intervals, in `(0, 1)`.
    pub level: f64,
    /// What each replicate resamples.
    pub resampling: Resampling,
    /// Sizes at which to give an interval for the predicted loss.
    pub predict_at: Vec<f64>,
}

impl Default for BootstrapOptions {
    /// 1000 replicates, level 0.9, seed resampling, no predictions.
    fn default() -> Self {
        BootstrapOptions { resamples: 1000, level: 0.9, resampling: Resampling::Seeds, predict_at: Vec::new() }
    }
}

/// A point estimate with its percentile interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// The estimate from the original data.
    pub estimate: f64,
    /// The lower end, the `(1 − level) / 2` quantile of the replicates.
    pub lower: f64,
    /// The upper end, the `(1 + level) / 2` quantile.
    pub upper: f64,
}

impl Interval {
    /// Whether `v` lies in `[lower, upper]`.
    pub fn contains(&self, v: f64) -> bool {
        self.lower <= v && v <= self.upper
    }
}

/// A fit with bootstrap intervals.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerLawBootstrap {
    /// The fit to the per-size mean losses.
    pub fit: PowerLaw,
    /// Interval of the scale `a`.
    pub a: Interval,
    /// Interval of the exponent `α`.
    pub alpha: Interval,
    /// Interval of the irreducible loss `c`.
    pub c: Interval,
    /// `(N, interval of the predicted loss at N)` for each requested size.
    pub predictions: Vec<(f64, Interval)>,
    /// Replicates whose fit succeeded.
    pub successful: usize,
    /// Replicates whose fit failed (a degenerate resample), left out of the intervals.
    pub failed: usize,
}

/// The `q`-quantile of sorted values by linear interpolation between order statistics
/// (Hyndman & Fan's type 7, NumPy's default). `q` is clamped to `[0, 1]`; NaN for no values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Fits `L(N) = a N^(−α) + c` to the mean loss at each size (`losses[i]` holds one value per
/// seed at `sizes[i]`) and gives percentile-bootstrap intervals of `a`, `α`, `c` and of the
/// predictions at `options.predict_at`.
///
/// Errors: as [`fit_power_law`] on the means; lengths that differ; an empty seed list;
/// fewer than 2 seeds at a size for [`Resampling::Seeds`]; `resamples < 2`; a level outside
/// `(0, 1)`; a non-positive prediction size; more than half of the replicates failing.
pub fn bootstrap_power_law<R: Rng + ?Sized>(
    sizes: &[f64],
    losses: &[Vec<f64>],
    fit_options: &PowerLawFitOptions,
    options: &BootstrapOptions,
    rng: &mut R,
) -> Result<PowerLawBootstrap> {
    let op = "bootstrap_power_law";
    if sizes.len() != losses.len() {
        return Err(ScalingLawError::Length {
            op,
            what: "sizes and per-size losses".into(),
            left: sizes.len(),
            right: losses.len(),
        });
    }
    if let Some(i) = losses.iter().position(|l| l.is_empty()) {
        return Err(invalid(op, "losses", format!("no seed at size index {i}"), "every size needs at least one loss"));
    }
    if options.resampling == Resampling::Seeds
        && let Some(i) = losses.iter().position(|l| l.len() < 2)
    {
        return Err(invalid(
            op,
            "losses",
            format!("1 seed at size index {i}"),
            "resampling seeds needs at least 2 seeds per size",
        ));
    }
    if options.resamples < 2 {
        return Err(invalid(op, "resamples", options.resamples, "must be at least 2"));
    }
    if !(options.level > 0.0 && options.level < 1.0) {
        return Err(invalid(op, "level", options.level, "must lie in (0, 1)"));
    }
    if let Some(v) = options.predict_at.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        return Err(invalid(op, "predict_at", v, "every size must be finite and positive"));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let means: Vec<f64> = losses.iter().map(|l| mean(l)).collect();
    let fit = fit_power_law(sizes, &means, fit_options)?;
    let mut draws: Vec<PowerLaw> = Vec::with_capacity(options.resamples);
    let mut failed = 0;
    for _ in 0..options.resamples {
        let (n, l): (Vec<f64>, Vec<f64>) = match options.resampling {
            Resampling::Seeds => {
                let l = losses
                    .iter()
                    .map(|seeds| {
                        mean(&(0..seeds.len()).map(|_| seeds[rng.random_range(0..seeds.len())]).collect::<Vec<_>>())
                    })
                    .collect();
                (sizes.to_vec(), l)
            }
            Resampling::Points => {
                (0..sizes.len()).map(|_| rng.random_range(0..sizes.len())).map(|i| (sizes[i], means[i])).unzip()
            }
        };
        match fit_power_law(&n, &l, fit_options) {
            Ok(f) => draws.push(f),
            Err(_) => failed += 1,
        }
    }
    if failed * 2 > options.resamples {
        return Err(ScalingLawError::FitFailed {
            op,
            detail: format!(
                "{failed} of {} bootstrap refits failed (too few distinct sizes per resample?)",
                options.resamples
            ),
        });
    }
    let (qlo, qhi) = ((1.0 - options.level) / 2.0, (1.0 + options.level) / 2.0);
    let interval = |estimate: f64, mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        Interval { estimate, lower: quantile(&v, qlo), upper: quantile(&v, qhi) }
    };
    Ok(PowerLawBootstrap {
        a: interval(fit.a, draws.iter().map(|f| f.a).collect()),
        alpha: interval(fit.alpha, draws.iter().map(|f| f.alpha).collect()),
        c: interval(fit.c, draws.iter().map(|f| f.c).collect()),
        predictions: options
            .predict_at
            .iter()
            .map(|&n| (n, interval(fit.predict(n), draws.iter().map(|f| f.predict(n)).collect())))
            .collect(),
        fit,
        successful: draws.len(),
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::random::standard_normal_f64;
    use dl_tensor::seeded_rng;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.1) - 1.3).abs() < 1e-15);
        assert!(quantile(&[], 0.5).is_nan());
    }

    /// Synthetic losses `(a N^(−α) + c) exp(σ z)` with `z ~ N(0, 1)`, `seeds` per size.
    fn synthetic(sizes: &[f64], seeds: usize, sigma: f64, rng: &mut dl_tensor::TensorRng) -> Vec<Vec<f64>> {
        sizes
            .iter()
            .map(|&n| {
                let truth = 4.0 * n.powf(-0.5) + 0.1;
                standard_normal_f64(seeds, rng).into_iter().map(|z| truth * (sigma * z).exp()).collect()
            })
            .collect()
    }

    #[test]
    fn the_interval_of_the_exponent_covers_the_truth_at_about_its_level() {
        // 200 synthetic data sets, each with its own 90% interval from 200 seed resamples.
        // The percentile bootstrap of a mean of 8 seeds under-covers a little (the
        // resampled mean's variance is (s−1)/s of the mean's), so the expected coverage is
        // ~0.85-0.9; with 200 data sets the coverage estimate has sd ~0.022, and the
        // accepted band [0.78, 0.97] is about 3 sd either side.
        let sizes: Vec<f64> = (0..7).map(|k| 100.0 * 2f64.powi(k)).collect();
        let mut rng = seeded_rng(11);
        let opts =
            BootstrapOptions { resamples: 200, level: 0.9, resampling: Resampling::Seeds, predict_at: vec![12800.0] };
        let fit_opts = PowerLawFitOptions { profile_points: 32, ..PowerLawFitOptions::default() };
        let (mut covered, mut pred_covered, trials) = (0, 0, 200);
        for _ in 0..trials {
            let losses = synthetic(&sizes, 8, 0.05, &mut rng);
            let b = bootstrap_power_law(&sizes, &losses, &fit_opts, &opts, &mut rng).unwrap();
            covered += b.alpha.contains(0.5) as usize;
            pred_covered += b.predictions[0].1.contains(4.0 * 12800f64.powf(-0.5) + 0.1) as usize;
            assert!(b.alpha.lower <= b.alpha.upper);
        }
        let coverage = covered as f64 / trials as f64;
        assert!((0.78..=0.97).contains(&coverage), "coverage of α: {coverage}");
        let pred = pred_covered as f64 / trials as f64;
        assert!((0.78..=0.97).contains(&pred), "coverage of the prediction at 2x the largest size: {pred}");
    }

    #[test]
    fn point_resampling_gives_an_interval_around_the_estimate() {
        let sizes: Vec<f64> = (0..8).map(|k| 10.0 * 3f64.powi(k)).collect();
        let mut rng = seeded_rng(5);
        let losses = synthetic(&sizes, 4, 0.03, &mut rng);
        let opts = BootstrapOptions { resamples: 300, level: 0.8, resampling: Resampling::Points, predict_at: vec![] };
        let b = bootstrap_power_law(&sizes, &losses, &PowerLawFitOptions::default(), &opts, &mut rng).unwrap();
        assert!(b.alpha.lower < b.alpha.estimate && b.alpha.estimate < b.alpha.upper, "{:?}", b.alpha);
        assert_eq!(b.successful + b.failed, 300);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let sizes = [10.0, 100.0, 1000.0];
        let one_seed = vec![vec![1.0], vec![0.5], vec![0.3]];
        let o = BootstrapOptions::default();
        let f = PowerLawFitOptions::default();
        let mut rng = seeded_rng(0);
        let e = bootstrap_power_law(&sizes, &one_seed, &f, &o, &mut rng).unwrap_err().to_string();
        assert!(e.contains("at least 2 seeds"), "{e}");
        let e = bootstrap_power_law(&sizes, &one_seed[..2], &f, &o, &mut rng).unwrap_err().to_string();
        assert!(e.contains("lengths 3 and 2"), "{e}");
        let two = vec![vec![1.0, 1.1], vec![0.5, 0.52], vec![0.3, 0.31]];
        let bad = BootstrapOptions { level: 1.0, ..o.clone() };
        assert!(bootstrap_power_law(&sizes, &two, &f, &bad, &mut rng).is_err());
        let bad = BootstrapOptions { predict_at: vec![-1.0], ..o.clone() };
        assert!(
            bootstrap_power_law(&sizes, &two, &f, &bad, &mut rng).unwrap_err().to_string().contains("predict_at = -1")
        );
        let empty = vec![vec![1.0, 1.1], vec![], vec![0.3, 0.31]];
        assert!(
            bootstrap_power_law(&sizes, &empty, &f, &o, &mut rng)
                .unwrap_err()
                .to_string()
                .contains("no seed at size index 1")
        );
    }
}
