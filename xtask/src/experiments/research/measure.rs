//! Small helpers the research experiments share: errors from the crates, mean and spread
//! over seeds, per-seed curves for the figures' bands, rounding of round-off-level numbers for snapshots,
//! and MNIST-1D subsets.

use dl_framework::data::{Dataset, Standardizer, load_digits, load_mnist1d, permutation};
use dl_tensor::{Element, seeded_rng};

use crate::error::ExperimentError;

/// Any crate error as an experiment error (its message names the op and the argument).
pub(crate) fn fail(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

/// Mean and sample standard deviation (0 for one value).
pub(crate) fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (mean, sd)
}

/// The curves of every seed, `(x, y)` points, for `LineChart::add_over_seeds`:
/// `per_seed[s][i]` is seed `s` at `xs[i]`.
pub(crate) fn seed_curves(xs: &[f64], per_seed: &[Vec<f64>]) -> Vec<Vec<(f64, f64)>> {
    per_seed.iter().map(|c| xs.iter().copied().zip(c.iter().copied()).collect()).collect()
}

/// `ceil(log10(x))` of a round-off-level quantity, so that snapshots pin its order of
/// magnitude and not the last bits another CPU would change (`-400` for 0).
pub(crate) fn ceil_log10(x: f64) -> f64 {
    if x > 0.0 { x.log10().ceil() } else { -400.0 }
}

/// An MNIST-1D split for one seed: `n_train` training examples, `n_validation` further
/// ones from the training set (disjoint, possibly 0), and the first `n_test` test
/// examples; the training subset is a seeded random subset of the 4000, features
/// standardised with the training subset's statistics.
pub(crate) struct Mnist1dSplit<T: Element> {
    /// Training examples.
    pub train: Dataset<T>,
    /// Validation examples (empty when none were asked for).
    pub validation: Option<Dataset<T>>,
    /// Test examples.
    pub test: Dataset<T>,
}

pub(crate) fn mnist1d_split<T: Element>(
    n_train: usize,
    n_validation: usize,
    n_test: usize,
    seed: u64,
) -> Result<Mnist1dSplit<T>, ExperimentError> {
    let data = load_mnist1d::<T>().map_err(fail)?;
    let order = permutation(data.train.len(), &mut seeded_rng(seed));
    let train = data.train.subset(&order[..n_train]).map_err(fail)?;
    let scaler = Standardizer::fit(train.features()).map_err(fail)?;
    let validation = if n_validation > 0 {
        Some(scaler.apply(&data.train.subset(&order[n_train..n_train + n_validation]).map_err(fail)?).map_err(fail)?)
    } else {
        None
    };
    let test = data.test.subset(&(0..n_test.min(data.test.len())).collect::<Vec<_>>()).map_err(fail)?;
    Ok(Mnist1dSplit {
        train: scaler.apply(&train).map_err(fail)?,
        validation,
        test: scaler.apply(&test).map_err(fail)?,
    })
}

/// Training, validation and test sets.
pub(crate) type ThreeWay<T> = (Dataset<T>, Dataset<T>, Dataset<T>);

/// The 8x8 digits (1797 images) split at random for one seed into `n_train` training,
/// `n_validation` validation and the remaining test images. Pixels are centred by the
/// training mean image and divided by one global scale (the root mean square of the centred
/// training pixels), so that the inputs surround the origin with `E‖x‖² = 64`: raw pixels
/// lie in a narrow cone of the positive orthant, where many random ReLU features are never
/// or always active and the feature matrix loses rank.
pub(crate) fn digits_three_way(
    n_train: usize,
    n_validation: usize,
    seed: u64,
) -> Result<ThreeWay<f64>, ExperimentError> {
    let data = load_digits::<f64>().map_err(fail)?;
    let order = permutation(data.len(), &mut seeded_rng(seed));
    let train = data.subset(&order[..n_train]).map_err(fail)?;
    let d = train.feature_shape().iter().product::<usize>();
    let x = train.features().to_vec();
    let mean: Vec<f64> = (0..d).map(|j| x.iter().skip(j).step_by(d).sum::<f64>() / n_train as f64).collect();
    let rms = (x.iter().enumerate().map(|(i, v)| (v - mean[i % d]).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    let scale = |ds: &Dataset<f64>| -> Result<Dataset<f64>, ExperimentError> {
        let v: Vec<f64> = ds.features().to_vec().iter().enumerate().map(|(i, v)| (v - mean[i % d]) / rms).collect();
        ds.with_features(dl_tensor::Tensor::from_vec(v, ds.features().shape()).map_err(fail)?).map_err(fail)
    };
    let part = |r: std::ops::Range<usize>| data.subset(&order[r]).map_err(fail).and_then(|ds| scale(&ds));
    Ok((scale(&train)?, part(n_train..n_train + n_validation)?, part(n_train + n_validation..data.len())?))
}
