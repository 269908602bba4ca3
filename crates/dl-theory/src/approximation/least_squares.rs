//! Linear least squares by the truncated singular value decomposition (faer): the
//! minimum-norm solution of `min_c |A c - y|`, with singular values below `rcond` times
//! the largest treated as zero. Used to fit output layers (the polynomial floor, orthogonal
//! greedy), where columns can be nearly dependent.

use faer::Mat;

use crate::approximation::error::{ApproximationError, Result};

/// The relative cut-off below which a singular value is treated as zero.
pub const DEFAULT_RCOND: f64 = 1e-12;

/// A least-squares solution.
#[derive(Clone, Debug, PartialEq)]
pub struct LeastSquares {
    /// The coefficients `c`, one per column.
    pub coefficients: Vec<f64>,
    /// The numerical rank used.
    pub rank: usize,
    /// `sqrt(mean (A c - y)^2)`.
    pub residual_rms: f64,
}

/// Solves `min_c |A c - y|` for `A` given by `rows x cols` row-major entries.
pub fn least_squares(a: &[f64], rows: usize, cols: usize, y: &[f64], rcond: f64) -> Result<LeastSquares> {
    const OP: &str = "least_squares";
    if a.len() != rows * cols || y.len() != rows {
        return Err(ApproximationError::Dimension {
            op: OP,
            what: "matrix entries (rows x cols) and right-hand side",
            expected: rows * cols,
            got: a.len(),
        });
    }
    if rows == 0 || cols == 0 {
        return Err(ApproximationError::Dimension {
            op: OP,
            what: "rows and columns (at least one each)",
            expected: 1,
            got: 0,
        });
    }
    if let Some(v) = a.iter().chain(y).find(|v| !v.is_finite()) {
        return Err(ApproximationError::Numerical { op: OP, detail: format!("the system contains {v}") });
    }
    let m = Mat::from_fn(rows, cols, |i, j| a[i * cols + j]);
    let svd = m.thin_svd().map_err(|e| ApproximationError::Numerical {
        op: OP,
        detail: format!("SVD of a {rows}x{cols} matrix failed: {e:?}"),
    })?;
    let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
    let k = rows.min(cols);
    let s_max = (0..k).map(|i| s[i]).fold(0.0f64, f64::max);
    let mut coefficients = vec![0.0; cols];
    let mut rank = 0;
    for i in 0..k {
        if s[i] <= rcond * s_max || s[i] == 0.0 {
            continue;
        }
        rank += 1;
        let uty: f64 = (0..rows).map(|r| u[(r, i)] * y[r]).sum();
        let scale = uty / s[i];
        for (j, c) in coefficients.iter_mut().enumerate() {
            *c += scale * v[(j, i)];
        }
    }
    let mut sq = 0.0;
    for r in 0..rows {
        let fit: f64 = (0..cols).map(|j| a[r * cols + j] * coefficients[j]).sum();
        sq += (fit - y[r]).powi(2);
    }
    Ok(LeastSquares { coefficients, rank, residual_rms: (sq / rows as f64).sqrt() })
}

/// The random hidden layer of [`fit_random_features`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomFeatures {
    /// The hidden activation.
    pub activation: dl_layers::Activation,
    /// Number of hidden units.
    pub width: usize,
    /// The interval `[lo, hi]` the thresholds are drawn from.
    pub interval: (f64, f64),
    /// `|w|` uniform in `[k_min, k_max]`, with a random sign.
    pub steepness: (f64, f64),
}

/// A network with random hidden units (steepness `|w|` uniform in `steepness` with a random
/// sign, threshold `-b/w` uniform in `interval`) and its output layer (and bias) fitted to
/// `values` at `points` by least squares: the random-features baseline.
pub fn fit_random_features(
    features: RandomFeatures,
    points: &[f64],
    values: &[f64],
    rng: &mut dl_tensor::TensorRng,
) -> Result<(crate::approximation::network::ShallowNetwork, LeastSquares)> {
    use rand::RngExt;
    const OP: &str = "fit_random_features";
    let RandomFeatures { activation, width, interval: (lo, hi), steepness } = features;
    crate::approximation::target::check_box(OP, &[lo], &[hi])?;
    if width == 0 || !(steepness.0 > 0.0 && steepness.0 <= steepness.1 && steepness.1.is_finite()) {
        return Err(ApproximationError::InvalidArgument {
            op: OP,
            name: "width / steepness range".into(),
            value: width as f64,
            requirement: "need width >= 1 and 0 < k_min <= k_max finite",
        });
    }
    let mut net = crate::approximation::network::ShallowNetwork::constant(activation, 1, 0.0);
    for _ in 0..width {
        let k = steepness.0 + (steepness.1 - steepness.0) * rng.random::<f64>();
        let w = if rng.random::<bool>() { k } else { -k };
        let c = lo + (hi - lo) * rng.random::<f64>();
        net.push_unit(&[w], -w * c, 0.0);
    }
    let a: Vec<f64> = points
        .iter()
        .flat_map(|&x| {
            std::iter::once(1.0)
                .chain((0..width).map(|i| {
                    crate::approximation::network::activation_value(activation, net.weights[i] * x + net.biases[i])
                }))
                .collect::<Vec<_>>()
        })
        .collect();
    let ls = least_squares(&a, points.len(), width + 1, values, DEFAULT_RCOND)?;
    net.output_bias = ls.coefficients[0];
    net.outputs = ls.coefficients[1..].to_vec();
    Ok((net, ls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_line_and_handles_dependent_columns() {
        // y = 1 + 2x on 5 points, with the x column duplicated: the min-norm solution splits 2
        let xs = [0.0, 0.25, 0.5, 0.75, 1.0];
        let a: Vec<f64> = xs.iter().flat_map(|&x| [1.0, x, x]).collect();
        let y: Vec<f64> = xs.iter().map(|x| 1.0 + 2.0 * x).collect();
        let ls = least_squares(&a, 5, 3, &y, DEFAULT_RCOND).unwrap();
        assert_eq!(ls.rank, 2);
        for (c, e) in ls.coefficients.iter().zip([1.0, 1.0, 1.0]) {
            assert!((c - e).abs() < 1e-12, "{:?}", ls.coefficients);
        }
        assert!(ls.residual_rms < 1e-14);
        assert!(least_squares(&a, 5, 2, &y, DEFAULT_RCOND).is_err());
        assert!(least_squares(&[f64::NAN], 1, 1, &[1.0], DEFAULT_RCOND).is_err());
    }
}
