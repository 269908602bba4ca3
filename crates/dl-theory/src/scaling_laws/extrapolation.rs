//! The extrapolation check of a scaling law: fit on the small sizes, predict the largest,
//! compare with what was measured there.

use rand::Rng;

use super::bootstrap::{BootstrapOptions, Interval, bootstrap_power_law};
use super::power_law::{PowerLaw, PowerLawFitOptions};
use super::{Result, ScalingLawError, invalid};

/// The outcome of [`extrapolation_check`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExtrapolationCheck {
    /// The held-back (largest) size.
    pub held_out_size: f64,
    /// The mean loss measured there.
    pub observed: f64,
    /// The standard error of that mean over its seeds (0 with one seed).
    pub observed_standard_error: f64,
    /// The prediction of the fit on the other sizes, with its bootstrap interval.
    pub predicted: Interval,
    /// `(predicted − observed) / observed`.
    pub relative_error: f64,
    /// Whether the observed mean lies in the prediction's interval.
    pub within_interval: bool,
    /// The fit on the other sizes.
    pub fit: PowerLaw,
}

/// Fits `L(N) = a N^(−α) + c` with bootstrap intervals on every size but the largest
/// (`losses[i]` holds one value per seed at `sizes[i]`), predicts the largest size and
/// compares. `options.predict_at` is replaced by the held-back size.
///
/// Errors: as [`bootstrap_power_law`] on the remaining sizes; lengths that differ.
pub fn extrapolation_check<R: Rng + ?Sized>(
    sizes: &[f64],
    losses: &[Vec<f64>],
    fit_options: &PowerLawFitOptions,
    options: &BootstrapOptions,
    rng: &mut R,
) -> Result<ExtrapolationCheck> {
    let op = "extrapolation_check";
    if sizes.len() != losses.len() {
        return Err(ScalingLawError::Length {
            op,
            what: "sizes and per-size losses".into(),
            left: sizes.len(),
            right: losses.len(),
        });
    }
    if sizes.is_empty() {
        return Err(invalid(op, "sizes", "[]", "needs the sizes to fit and one to hold back"));
    }
    let largest = (0..sizes.len()).max_by(|&i, &j| sizes[i].total_cmp(&sizes[j])).expect("non-empty");
    let held = sizes[largest];
    if !(held.is_finite() && held > 0.0) {
        return Err(invalid(op, "sizes", held, "every size must be finite and positive"));
    }
    let seeds = &losses[largest];
    if seeds.is_empty() || seeds.iter().any(|v| !v.is_finite()) {
        return Err(invalid(
            op,
            "losses",
            format!("{seeds:?} at the held-back size {held}"),
            "must be non-empty and finite",
        ));
    }
    let keep: Vec<usize> = (0..sizes.len()).filter(|&i| i != largest).collect();
    let n: Vec<f64> = keep.iter().map(|&i| sizes[i]).collect();
    let l: Vec<Vec<f64>> = keep.iter().map(|&i| losses[i].clone()).collect();
    let opts = BootstrapOptions { predict_at: vec![held], ..options.clone() };
    let boot = bootstrap_power_law(&n, &l, fit_options, &opts, rng)?;
    let s = seeds.len() as f64;
    let observed = seeds.iter().sum::<f64>() / s;
    let se = if seeds.len() > 1 {
        (seeds.iter().map(|v| (v - observed).powi(2)).sum::<f64>() / (s - 1.0) / s).sqrt()
    } else {
        0.0
    };
    let predicted = boot.predictions[0].1;
    Ok(ExtrapolationCheck {
        held_out_size: held,
        observed,
        observed_standard_error: se,
        predicted,
        relative_error: (predicted.estimate - observed) / observed,
        within_interval: predicted.contains(observed),
        fit: boot.fit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn an_exact_law_extrapolates_exactly_and_a_broken_one_does_not() {
        let sizes: Vec<f64> = (0..6).map(|k| 10f64.powi(k + 1)).collect();
        let law = |n: f64| 2.0 * n.powf(-0.35) + 0.2;
        let mut rng = seeded_rng(0);
        // two seeds with ±1% around the law
        let losses: Vec<Vec<f64>> = sizes.iter().map(|&n| vec![law(n) * 0.99, law(n) * 1.01]).collect();
        let o = BootstrapOptions { resamples: 200, ..BootstrapOptions::default() };
        let check = extrapolation_check(&sizes, &losses, &PowerLawFitOptions::default(), &o, &mut rng).unwrap();
        assert_eq!(check.held_out_size, 1e6);
        assert!(check.relative_error.abs() < 0.02, "{check:?}");
        // the largest size measured far above the law (a plateau the law cannot see)
        let mut broken = losses.clone();
        broken[5] = vec![law(1e6) * 1.5, law(1e6) * 1.52];
        let check = extrapolation_check(&sizes, &broken, &PowerLawFitOptions::default(), &o, &mut rng).unwrap();
        assert!(!check.within_interval && check.relative_error < -0.2, "{check:?}");
        assert!(check.observed_standard_error > 0.0);
    }

    #[test]
    fn too_few_sizes_are_an_error() {
        let mut rng = seeded_rng(0);
        let e = extrapolation_check(
            &[10.0, 100.0, 1000.0],
            &[vec![1.0, 1.0], vec![0.5, 0.5], vec![0.3, 0.3]],
            &PowerLawFitOptions::default(),
            &BootstrapOptions::default(),
            &mut rng,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("at least 3 distinct sizes"), "{e}");
        assert!(
            extrapolation_check(&[], &[], &PowerLawFitOptions::default(), &BootstrapOptions::default(), &mut rng)
                .is_err()
        );
    }
}
