//! Random ReLU features `φ(x) = relu(W x / √d)` and their minimum-norm and ridge fits over
//! nested feature sets (Belkin, Hsu, Ma & Mandal 2019; equations in the module
//! documentation of [`crate::double_descent`]).

use dl_tensor::Tensor;
use ndarray::{Array2, ArrayView2, s};

use super::ridge::RidgeFit;
use super::{DoubleDescentError, Result, finite_values, invalid};
use crate::least_squares::LeastSquares;
use crate::least_squares::matrix::{a_b, frobenius, matrix, targets, to_tensor};

/// The feature matrix `Φ = relu(X Wᵀ / √d)` of shape `(n, p)` for inputs `x` of shape
/// `(n, d)` and feature weights `w` of shape `(p, d)`.
///
/// Errors: non-matrix, empty or non-finite inputs, or `x` and `w` with different `d`
/// (both shapes named).
pub fn relu_random_features(x: &Tensor<f64>, w: &Tensor<f64>) -> Result<Tensor<f64>> {
    let op = "relu_random_features";
    let xm = matrix(op, "the inputs", x)?;
    let wm = matrix(op, "the feature weights", w)?;
    same_dim(op, "the inputs (n, d) and the feature weights (p, d) must share d", x.shape(), w.shape())?;
    Ok(to_tensor(features(xm.view(), wm.view())))
}

fn same_dim(op: &'static str, what: &str, x: &[usize], w: &[usize]) -> Result<()> {
    if x[1] != w[1] {
        return Err(DoubleDescentError::Shape { op, what: what.to_string(), left: x.to_vec(), right: w.to_vec() });
    }
    Ok(())
}

/// `relu(X Wᵀ / √d)` for checked matrices.
fn features(x: ArrayView2<'_, f64>, w: ArrayView2<'_, f64>) -> Array2<f64> {
    let scale = 1.0 / (x.ncols() as f64).sqrt();
    let mut phi = a_b(x, w.t());
    phi.mapv_inplace(|z| (z * scale).max(0.0));
    phi
}

/// One minimum-norm fit on `p` random features.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFeaturesFit {
    /// The number of features `p`.
    pub features: usize,
    /// Training mean squared error `(1 / (n k)) ‖Φ β − Y‖_F²`.
    pub train_mse: f64,
    /// Test mean squared error, averaged over examples and outputs alike.
    pub test_mse: f64,
    /// With `k ≥ 2` outputs (one-hot targets): the fraction of test examples whose largest
    /// output is not at the target's largest entry. `None` for one output.
    pub test_classification_error: Option<f64>,
    /// `‖β‖_F`.
    pub coefficient_norm: f64,
    /// The smallest singular value of `Φ` above the cut-off (`None` when `Φ = 0`).
    pub smallest_singular_value: Option<f64>,
    /// The numerical rank of `Φ`.
    pub rank: usize,
    /// The absolute cut-off `rcond · σ_1`.
    pub cutoff: f64,
}

/// Training and test data with the features of every row of one `W` computed once, so that
/// fits on the first `p` rows (nested feature sets) cost one SVD each.
#[derive(Clone, Debug)]
pub struct RandomFeaturesProblem {
    train_phi: Array2<f64>,
    train_y: Array2<f64>,
    test_phi: Array2<f64>,
    test_y: Array2<f64>,
    validation: Option<(Array2<f64>, Array2<f64>)>,
    dim: usize,
}

impl RandomFeaturesProblem {
    /// Training inputs `(n, d)` and targets `(n,)` or `(n, k)`, test inputs `(m, d)` and
    /// targets with the same `k`, and the feature weights `w` of shape `(P, d)`.
    ///
    /// Errors: shapes that disagree (both named), empty or non-finite arrays.
    pub fn new(
        train_x: &Tensor<f64>,
        train_y: &Tensor<f64>,
        test_x: &Tensor<f64>,
        test_y: &Tensor<f64>,
        w: &Tensor<f64>,
    ) -> Result<Self> {
        let op = "RandomFeaturesProblem::new";
        let wm = matrix(op, "the feature weights", w)?;
        let (train_phi, train_y) = Self::data(op, "training", train_x, train_y, &wm, w.shape())?;
        let (test_phi, test_y) = Self::data(op, "test", test_x, test_y, &wm, w.shape())?;
        if train_y.ncols() != test_y.ncols() {
            return Err(DoubleDescentError::Shape {
                op,
                what: "training and test targets must have the same number of outputs".into(),
                left: vec![train_y.nrows(), train_y.ncols()],
                right: vec![test_y.nrows(), test_y.ncols()],
            });
        }
        Ok(RandomFeaturesProblem { train_phi, train_y, test_phi, test_y, validation: None, dim: wm.ncols() })
    }

    /// Adds a held-out validation set (inputs `(v, d)`, targets with `k` outputs), on which
    /// [`RandomFeaturesProblem::ridge_path`] also reports the error, for choosing `λ`
    /// without looking at the test set.
    ///
    /// Errors: as [`RandomFeaturesProblem::new`].
    pub fn with_validation(mut self, x: &Tensor<f64>, y: &Tensor<f64>, w: &Tensor<f64>) -> Result<Self> {
        let op = "RandomFeaturesProblem::with_validation";
        let wm = matrix(op, "the feature weights", w)?;
        if wm.dim() != (self.train_phi.ncols(), self.dim) {
            return Err(DoubleDescentError::Shape {
                op,
                what: "the feature weights must be those the problem was built with".into(),
                left: vec![self.train_phi.ncols(), self.dim],
                right: w.shape().to_vec(),
            });
        }
        let (phi, y) = Self::data(op, "validation", x, y, &wm, w.shape())?;
        if y.ncols() != self.train_y.ncols() {
            return Err(DoubleDescentError::Shape {
                op,
                what: "validation targets must have as many outputs as the training targets".into(),
                left: vec![self.train_y.nrows(), self.train_y.ncols()],
                right: vec![y.nrows(), y.ncols()],
            });
        }
        self.validation = Some((phi, y));
        Ok(self)
    }

    fn data(
        op: &'static str,
        which: &str,
        x: &Tensor<f64>,
        y: &Tensor<f64>,
        w: &Array2<f64>,
        w_shape: &[usize],
    ) -> Result<(Array2<f64>, Array2<f64>)> {
        let xm = matrix(op, &format!("the {which} inputs"), x)?;
        same_dim(
            op,
            &format!("the {which} inputs (n, d) and the feature weights (p, d) must share d"),
            x.shape(),
            w_shape,
        )?;
        let (ym, _) = targets(op, &format!("the {which} targets"), y, xm.nrows(), x.shape())?;
        Ok((features(xm.view(), w.view()), ym))
    }

    /// The number of training examples `n`.
    pub fn train_len(&self) -> usize {
        self.train_phi.nrows()
    }

    /// The number of feature rows available, `P`.
    pub fn max_features(&self) -> usize {
        self.train_phi.ncols()
    }

    fn check_p(&self, op: &'static str, p: usize) -> Result<()> {
        if p == 0 || p > self.max_features() {
            return Err(invalid(op, "p", p, format!("must lie in 1..={} (the rows of W)", self.max_features())));
        }
        Ok(())
    }

    /// The minimum-norm fit on the first `p` features, relative cut-off `rcond` (default
    /// `max(n, p) · ε`).
    ///
    /// Errors: `p = 0` or `p > P`, `rcond` outside `[0, 1)`, an SVD failure.
    pub fn min_norm(&self, p: usize, rcond: Option<f64>) -> Result<RandomFeaturesFit> {
        let op = "RandomFeaturesProblem::min_norm";
        self.check_p(op, p)?;
        let phi = self.train_phi.slice(s![.., ..p]);
        let ls = LeastSquares::from_array(op, phi)?;
        let rcond = ls.checked_rcond(op, rcond)?;
        let (beta, rank, cutoff) = ls.min_norm_array(self.train_y.view(), rcond);
        let (train_mse, test_mse, test_err) = self.errors(p, beta.view());
        Ok(RandomFeaturesFit {
            features: p,
            train_mse,
            test_mse,
            test_classification_error: test_err,
            coefficient_norm: frobenius(beta.view()),
            smallest_singular_value: rank.checked_sub(1).map(|i| ls.singular_values()[i]),
            rank,
            cutoff,
        })
    }

    /// Ridge fits `β_λ = argmin (1/n) ‖Φ β − Y‖² + λ ‖β‖²` on the first `p` features for
    /// every `λ` in `lambdas` (one SVD for the whole path).
    ///
    /// Errors: `p` out of range, an empty `lambdas`, a negative or non-finite `λ`.
    pub fn ridge_path(&self, p: usize, lambdas: &[f64]) -> Result<Vec<RidgeFit>> {
        let op = "RandomFeaturesProblem::ridge_path";
        self.check_p(op, p)?;
        if lambdas.is_empty() {
            return Err(invalid(op, "lambdas", "[]", "must hold at least one value"));
        }
        finite_values(op, "lambdas", lambdas)?;
        if let Some(&l) = lambdas.iter().find(|&&l| l < 0.0) {
            return Err(invalid(op, "lambda", l, "must be non-negative"));
        }
        let phi = self.train_phi.slice(s![.., ..p]);
        let n = phi.nrows() as f64;
        let ls = LeastSquares::from_array(op, phi)?;
        Ok(lambdas
            .iter()
            .map(|&lambda| {
                // (1/n)‖Φβ − Y‖² + λ‖β‖² has the minimiser of ‖Φβ − Y‖² + nλ‖β‖².
                let beta = ls.ridge_array(self.train_y.view(), n * lambda);
                let (train_mse, test_mse, test_err) = self.errors(p, beta.view());
                let validation_mse = self
                    .validation
                    .as_ref()
                    .map(|(vphi, vy)| mse(a_b(vphi.slice(s![.., ..p]), beta.view()).view(), vy.view()));
                RidgeFit {
                    lambda,
                    train_mse,
                    test_mse,
                    validation_mse,
                    test_classification_error: test_err,
                    coefficient_norm: frobenius(beta.view()),
                }
            })
            .collect())
    }

    /// Training MSE, test MSE and test classification error of coefficients `beta` on the
    /// first `p` features.
    fn errors(&self, p: usize, beta: ArrayView2<'_, f64>) -> (f64, f64, Option<f64>) {
        let train_pred = a_b(self.train_phi.slice(s![.., ..p]), beta);
        let test_pred = a_b(self.test_phi.slice(s![.., ..p]), beta);
        let err = (self.test_y.ncols() >= 2).then(|| classification_error(test_pred.view(), self.test_y.view()));
        (mse(train_pred.view(), self.train_y.view()), mse(test_pred.view(), self.test_y.view()), err)
    }
}

/// Mean of the squared entries of `pred − y`.
fn mse(pred: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> f64 {
    pred.iter().zip(y.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / y.len() as f64
}

/// The fraction of rows whose largest prediction is not at the largest target entry (the
/// first maximum on ties, as NumPy's `argmax`).
fn classification_error(pred: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> f64 {
    let first_max = |row: ndarray::ArrayView1<'_, f64>| {
        row.iter().enumerate().fold(0, |best, (j, v)| if *v > row[best] { j } else { best })
    };
    let wrong = pred.rows().into_iter().zip(y.rows()).filter(|(p, t)| first_max(*p) != first_max(*t)).count();
    wrong as f64 / y.nrows() as f64
}

/// The minimum-norm random-ReLU-features fit on every row of `w` (Belkin et al. 2019):
/// `φ(x) = relu(W x / √d)` without intercept, `β = Φ⁺ Y` with relative cut-off `rcond`
/// (default `max(n, p) · ε`); returns the training and test MSE, `‖β‖_F` and the smallest
/// non-zero singular value of `Φ`. For a sweep over nested feature sets use
/// [`RandomFeaturesProblem`], which computes the features once.
///
/// Errors: as [`RandomFeaturesProblem::new`] and [`RandomFeaturesProblem::min_norm`].
pub fn random_relu_features_min_norm(
    train_x: &Tensor<f64>,
    train_y: &Tensor<f64>,
    test_x: &Tensor<f64>,
    test_y: &Tensor<f64>,
    w: &Tensor<f64>,
    rcond: Option<f64>,
) -> Result<RandomFeaturesFit> {
    let problem = RandomFeaturesProblem::new(train_x, train_y, test_x, test_y, w)?;
    problem.min_norm(problem.max_features(), rcond)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::seeded_rng;

    use crate::least_squares::reference::gauss_solve;

    struct Data {
        x: Tensor<f64>,
        y: Tensor<f64>,
        xt: Tensor<f64>,
        yt: Tensor<f64>,
        w: Tensor<f64>,
    }

    fn data(n: usize, d: usize, p: usize, seed: u64) -> Data {
        let mut rng = seeded_rng(seed);
        Data {
            x: Tensor::randn(&[n, d], &mut rng),
            y: Tensor::randn(&[n], &mut rng),
            xt: Tensor::randn(&[50, d], &mut rng),
            yt: Tensor::randn(&[50], &mut rng),
            w: Tensor::randn(&[p, d], &mut rng),
        }
    }

    /// φ_ij = max(0, Σ_k x_ik w_jk / √d) by direct loops.
    fn naive_features(x: &Tensor<f64>, w: &Tensor<f64>) -> Vec<f64> {
        let (n, d, p) = (x.shape()[0], x.shape()[1], w.shape()[0]);
        let (xv, wv) = (x.to_vec(), w.to_vec());
        let mut out = Vec::new();
        for i in 0..n {
            for j in 0..p {
                let z: f64 = (0..d).map(|k| xv[i * d + k] * wv[j * d + k]).sum::<f64>() / (d as f64).sqrt();
                out.push(z.max(0.0));
            }
        }
        out
    }

    #[test]
    fn features_match_direct_loops() {
        let dt = data(7, 3, 11, 0);
        let phi = relu_random_features(&dt.x, &dt.w).unwrap();
        assert_eq!(phi.shape(), &[7, 11]);
        assert_close_slices(&phi.to_vec(), &naive_features(&dt.x, &dt.w), Tolerance::default_for::<f64>());
    }

    /// The fit on p features against the independent least-squares solve of the naive features:
    /// p < n through the normal equations (Cholesky-free elimination in the least_squares tests
    /// covers the solver; here the whole pipeline is compared with the tensor-level solver).
    #[test]
    fn min_norm_fit_matches_the_independent_solve_on_the_same_features() {
        let dt = data(20, 4, 60, 1);
        let problem = RandomFeaturesProblem::new(&dt.x, &dt.y, &dt.xt, &dt.yt, &dt.w).unwrap();
        for p in [5, 20, 60] {
            let fit = problem.min_norm(p, None).unwrap();
            // the features of the first p rows of W, then the minimum-norm solution by the
            // dual formula (p >= n) or the normal equations (p < n), both by direct loops
            let w_p = Tensor::from_vec(dt.w.to_vec()[..p * 4].to_vec(), &[p, 4]).unwrap();
            let phi = naive_features(&dt.x, &w_p);
            let beta = naive_min_norm(&phi, 20, p, &dt.y.to_vec());
            let pred: Vec<f64> = (0..20).map(|i| (0..p).map(|j| phi[i * p + j] * beta[j]).sum()).collect();
            let train_mse = pred.iter().zip(dt.y.to_vec()).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 20.0;
            let norm = beta.iter().map(|b| b * b).sum::<f64>().sqrt();
            // condition numbers of Φ up to ~1e3 here: relative errors up to ~1e-10
            assert!((fit.coefficient_norm - norm).abs() <= 1e-9 * norm, "p = {p}: {} vs {norm}", fit.coefficient_norm);
            assert!((fit.train_mse - train_mse).abs() <= 1e-9 * train_mse.max(1e-3), "p = {p}");
            if p >= 20 {
                assert!(fit.train_mse < 1e-20, "p = {p} >= n interpolates: train MSE {}", fit.train_mse);
            }
            assert_eq!(fit.rank, p.min(20));
        }
    }

    /// β = (ΦᵀΦ)⁻¹ Φᵀ y for p < n, Φᵀ (ΦΦᵀ)⁻¹ y for p >= n, by elimination.
    fn naive_min_norm(phi: &[f64], n: usize, p: usize, y: &[f64]) -> Vec<f64> {
        let at = |i: usize, j: usize| phi[i * p + j];
        if p < n {
            let m = (0..p).map(|a| (0..p).map(|b| (0..n).map(|i| at(i, a) * at(i, b)).sum()).collect()).collect();
            let r = (0..p).map(|a| (0..n).map(|i| at(i, a) * y[i]).sum()).collect();
            gauss_solve(m, r)
        } else {
            let m = (0..n).map(|i| (0..n).map(|k| (0..p).map(|j| at(i, j) * at(k, j)).sum()).collect()).collect();
            let z = gauss_solve(m, y.to_vec());
            (0..p).map(|j| (0..n).map(|i| at(i, j) * z[i]).sum()).collect()
        }
    }

    #[test]
    fn the_public_function_uses_every_row_of_w() {
        let dt = data(15, 3, 40, 2);
        let fit = random_relu_features_min_norm(&dt.x, &dt.y, &dt.xt, &dt.yt, &dt.w, None).unwrap();
        let problem = RandomFeaturesProblem::new(&dt.x, &dt.y, &dt.xt, &dt.yt, &dt.w).unwrap();
        assert_eq!(fit, problem.min_norm(40, None).unwrap());
        assert_eq!(fit.features, 40);
        assert!(fit.smallest_singular_value.unwrap() > fit.cutoff);
    }

    #[test]
    fn ridge_path_tends_to_min_norm_and_shrinks_the_norm() {
        let dt = data(20, 4, 30, 3);
        let problem = RandomFeaturesProblem::new(&dt.x, &dt.y, &dt.xt, &dt.yt, &dt.w).unwrap();
        let path = problem.ridge_path(30, &[1e-12, 1e-2, 1.0, 100.0]).unwrap();
        let mn = problem.min_norm(30, None).unwrap();
        assert_close_slices(
            &[path[0].test_mse, path[0].coefficient_norm],
            &[mn.test_mse, mn.coefficient_norm],
            Tolerance::new(1e-6, 1e-9),
        );
        assert!(path.windows(2).all(|w| w[1].coefficient_norm < w[0].coefficient_norm));
        assert!(path.windows(2).all(|w| w[1].train_mse > w[0].train_mse));
        assert!(path[0].validation_mse.is_none());
    }

    #[test]
    fn multi_output_targets_report_a_classification_error() {
        let mut rng = seeded_rng(4);
        let x = Tensor::<f64>::randn(&[30, 3], &mut rng);
        let xt = Tensor::<f64>::randn(&[40, 3], &mut rng);
        let one_hot = |n: usize, rng: &mut dl_tensor::TensorRng| {
            let u = Tensor::<f64>::rand_uniform(&[n], 0.0, 3.0, rng).unwrap().to_vec();
            let mut v = vec![0.0; n * 3];
            for (i, ui) in u.iter().enumerate() {
                v[i * 3 + *ui as usize] = 1.0;
            }
            Tensor::from_vec(v, &[n, 3]).unwrap()
        };
        let (y, yt) = (one_hot(30, &mut rng), one_hot(40, &mut rng));
        let w = Tensor::<f64>::randn(&[50, 3], &mut rng);
        let problem = RandomFeaturesProblem::new(&x, &y, &xt, &yt, &w).unwrap().with_validation(&xt, &yt, &w).unwrap();
        let fit = problem.min_norm(50, None).unwrap();
        let e = fit.test_classification_error.unwrap();
        assert!((0.0..=1.0).contains(&e));
        // the validation set is the test set here, so the two errors agree
        let path = problem.ridge_path(50, &[0.1]).unwrap();
        assert_eq!(path[0].validation_mse, Some(path[0].test_mse));
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let dt = data(10, 3, 20, 5);
        let problem = RandomFeaturesProblem::new(&dt.x, &dt.y, &dt.xt, &dt.yt, &dt.w).unwrap();
        let e = problem.min_norm(0, None).unwrap_err().to_string();
        assert!(e.contains("p = 0") && e.contains("1..=20"), "{e}");
        assert!(problem.min_norm(21, None).is_err());
        let e = problem.ridge_path(5, &[-1.0]).unwrap_err().to_string();
        assert!(e.contains("lambda = -1"), "{e}");
        let w_bad = Tensor::<f64>::zeros(&[20, 4]);
        let e = RandomFeaturesProblem::new(&dt.x, &dt.y, &dt.xt, &dt.yt, &w_bad).unwrap_err().to_string();
        assert!(e.contains("[10, 3]") && e.contains("[20, 4]"), "{e}");
        let e = RandomFeaturesProblem::new(&dt.x, &Tensor::zeros(&[9]), &dt.xt, &dt.yt, &dt.w).unwrap_err().to_string();
        assert!(e.contains("training targets") && e.contains("[9]"), "{e}");
        let mut xv = dt.x.to_vec();
        xv[4] = f64::NAN;
        let x_nan = Tensor::from_vec(xv, &[10, 3]).unwrap();
        let e = RandomFeaturesProblem::new(&x_nan, &dt.y, &dt.xt, &dt.yt, &dt.w).unwrap_err().to_string();
        assert!(e.contains("NaN") && e.contains("training inputs"), "{e}");
        let e = relu_random_features(&dt.x, &w_bad).unwrap_err().to_string();
        assert!(e.contains("relu_random_features"), "{e}");
    }
}
