//! Shared pieces of the `ntk-*` experiments: a two-class subset of the embedded digits as
//! a regression problem, and the numbers the experiments compare.

use dl_framework::data::{load_digits, permutation};
use dl_tensor::{Tensor, seeded_rng};

use crate::error::ExperimentError;

/// Wraps an error of a dl crate.
pub fn fail(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

/// A two-class regression problem: inputs `(n, 64)` and targets `(n, 1)` in {-1, +1}.
pub struct Binary {
    /// Training inputs `(n_train, 64)`, centred by the training mean, each row of norm √64.
    pub x_train: Tensor<f64>,
    /// Training targets `(n_train, 1)`: -1 for digit `neg`, +1 for `pos`.
    pub y_train: Tensor<f64>,
    /// Test inputs `(n_test, 64)`, centred by the *training* mean, each row of norm √64.
    pub x_test: Tensor<f64>,
    /// Test targets `(n_test, 1)` in {-1, +1}.
    pub y_test: Tensor<f64>,
}

/// Digits `neg` (target -1) against `pos` (+1): `n_train` and `n_test` images, drawn by a
/// seeded permutation, centred by the training mean and each scaled to norm `sqrt(64)` so
/// that the input covariance `x . x / d` is 1 (the analytic kernels' natural scale).
pub fn digits_binary(
    neg: usize,
    pos: usize,
    n_train: usize,
    n_test: usize,
    seed: u64,
) -> Result<Binary, ExperimentError> {
    let data = load_digits::<f64>().map_err(fail)?;
    let labels = data.labels().ok_or_else(|| fail("the digits have labels"))?.to_vec();
    let feats = data.features().to_vec();
    let d = data.feature_shape()[0];
    let mut rng = seeded_rng(seed);
    let order = permutation(labels.len(), &mut rng);
    let chosen: Vec<usize> =
        order.into_iter().filter(|&i| labels[i] == neg || labels[i] == pos).take(n_train + n_test).collect();
    if chosen.len() < n_train + n_test {
        return Err(fail(format!(
            "digits {neg} and {pos} have only {} images, {} asked",
            chosen.len(),
            n_train + n_test
        )));
    }
    let (tr, te) = chosen.split_at(n_train);
    let mut mean = vec![0.0; d];
    for &i in tr {
        for j in 0..d {
            mean[j] += feats[i * d + j] / n_train as f64;
        }
    }
    let build = |idx: &[usize]| -> Result<(Tensor<f64>, Tensor<f64>), ExperimentError> {
        let mut x = Vec::with_capacity(idx.len() * d);
        for &i in idx {
            let row: Vec<f64> = (0..d).map(|j| feats[i * d + j] - mean[j]).collect();
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            x.extend(row.iter().map(|v| v * (d as f64).sqrt() / norm));
        }
        let y: Vec<f64> = idx.iter().map(|&i| if labels[i] == pos { 1.0 } else { -1.0 }).collect();
        Ok((Tensor::from_vec(x, &[idx.len(), d])?, Tensor::from_vec(y, &[idx.len(), 1])?))
    };
    let (x_train, y_train) = build(tr)?;
    let (x_test, y_test) = build(te)?;
    Ok(Binary { x_train, y_train, x_test, y_test })
}

/// `||a - b||_F / ||b||_F`.
pub fn relative_error(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let (a, b) = (a.to_vec(), b.to_vec());
    let num: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// The least-squares slope of `log y` against `log x`.
pub fn log_log_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (lx, ly): (Vec<f64>, Vec<f64>) = points.iter().map(|(x, y)| (x.ln(), y.ln())).unzip();
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxy: f64 = lx.iter().zip(&ly).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = lx.iter().map(|x| (x - mx) * (x - mx)).sum();
    sxy / sxx
}

/// The fraction of rows whose sign differs from the target's.
pub fn sign_error(f: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let (f, y) = (f.to_vec(), y.to_vec());
    f.iter().zip(&y).filter(|(a, b)| a.signum() != b.signum()).count() as f64 / y.len() as f64
}
