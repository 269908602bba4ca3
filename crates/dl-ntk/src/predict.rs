//! Predictions of the linearised (infinite-width) training dynamics (Jacot et al. 2018;
//! Lee et al. 2019).
//!
//! **Convention.** Training minimises `L = 1/(2n) sum_i ||f(x_i) - y_i||^2` over `n`
//! training points by gradient descent with learning rate `eta`; in the limit of small
//! steps, with `t` counted in steps, the linearised network follows
//!
//! ```text
//! df_t(X)/dt = -(eta / n) Theta (f_t(X) - Y),     Theta = Theta(X, X)
//! ```
//!
//! With `Theta = V diag(lambda) V^T` and `r_0 = Y - f_0(X)`:
//!
//! ```text
//! f_t(X)  = Y - V diag(e^{-eta lambda t / n}) V^T r_0
//! f_t(X*) = f_0(X*) + Theta(X*, X) V diag((1 - e^{-eta lambda t / n}) / lambda) V^T r_0
//! ```
//!
//! At `t = infinity` the second line is kernel regression,
//! `f(X*) = f_0(X*) + Theta(X*, X) Theta^{-1} r_0`. For an eigenvalue `lambda -> 0` the
//! factor `(1 - e^{-a lambda}) / lambda` tends to `a = eta t / n`, which is used below
//! `lambda = 1e-300`; at `t = infinity` eigenvalues below `rcond lambda_max` are clipped
//! (their direction is never learnt) and the count is reported by
//! [`GradientFlow::clipped_at_infinity`]. Gradient descent with a finite step is stable on
//! the linearised model iff `eta lambda_max / n < 2`, i.e. for `eta` below
//! [`GradientFlow::max_stable_learning_rate`] `= 2 / lambda_max(Theta / n)`.

use dl_tensor::Tensor;
use ndarray::{Array1, Array2, ArrayView2};

use crate::error::{NtkError, Result, non_negative, positive};
use crate::linalg::{DEFAULT_RCOND, SolveMethod, SymmetricSolver, symmetric_eigen};
use crate::matrix::{a_b, finite, square, to_tensor, view2};

/// The gradient-flow solution on one training set (see the module documentation).
pub struct GradientFlow {
    lambda: Vec<f64>,
    vectors: Array2<f64>,
    /// `V^T r_0`, `(n, K)`.
    coeffs: Array2<f64>,
    y_train: Array2<f64>,
    f0_train: Array2<f64>,
    test: Option<(Array2<f64>, Array2<f64>)>,
    learning_rate: f64,
}

/// A 2-D copy of a target matrix, checked to have `rows` rows.
pub(crate) fn targets(op: &'static str, what: &str, t: &Tensor<f64>, rows: usize) -> Result<Array2<f64>> {
    let v = view2(op, what, t)?;
    if v.nrows() != rows {
        return Err(NtkError::Shape {
            op,
            what: format!("{what} must have {rows} rows (one per point)"),
            left: t.shape().to_vec(),
            right: vec![rows],
        });
    }
    finite(op, what, v)?;
    Ok(v.to_owned())
}

pub(crate) fn check_time(op: &'static str, t: f64) -> Result<f64> {
    if t.is_nan() || t < 0.0 {
        return Err(NtkError::InvalidArgument {
            op,
            name: "t",
            value: t,
            requirement: "a training time must be non-negative (infinity is allowed)",
        });
    }
    Ok(t)
}

impl GradientFlow {
    /// The dynamics on the training kernel `theta_train` `(n, n)` with targets `y_train`
    /// `(n, K)`, initial outputs `f0_train` (`None`: zero, the ensemble mean) and learning
    /// rate `eta`.
    pub fn new(
        theta_train: &Tensor<f64>,
        y_train: &Tensor<f64>,
        f0_train: Option<&Tensor<f64>>,
        learning_rate: f64,
    ) -> Result<Self> {
        let op = "GradientFlow::new";
        let theta = square(op, "theta_train", theta_train)?;
        let n = theta.nrows();
        let y = targets(op, "y_train", y_train, n)?;
        let f0 = match f0_train {
            Some(f) => targets(op, "f0_train", f, n)?,
            None => Array2::zeros(y.dim()),
        };
        if f0.dim() != y.dim() {
            return Err(NtkError::Shape {
                op,
                what: "f0_train must have the shape of y_train".into(),
                left: f0.shape().to_vec(),
                right: y.shape().to_vec(),
            });
        }
        positive(op, "learning_rate", learning_rate)?;
        let (lambda, vectors) = symmetric_eigen(op, theta)?;
        let residual = &y - &f0;
        let coeffs = a_b(vectors.t(), residual.view());
        Ok(GradientFlow { lambda, vectors, coeffs, y_train: y, f0_train: f0, test: None, learning_rate })
    }

    /// Adds test points: `theta_test_train` `(m, n)` and their initial outputs `f0_test`
    /// (`None`: zero).
    pub fn with_test(mut self, theta_test_train: &Tensor<f64>, f0_test: Option<&Tensor<f64>>) -> Result<Self> {
        let op = "GradientFlow::with_test";
        let cross = view2(op, "theta_test_train", theta_test_train)?;
        if cross.ncols() != self.lambda.len() {
            return Err(NtkError::Shape {
                op,
                what: "theta_test_train must have one column per training point".into(),
                left: theta_test_train.shape().to_vec(),
                right: vec![self.lambda.len(), self.lambda.len()],
            });
        }
        finite(op, "theta_test_train", cross)?;
        let m = cross.nrows();
        let f0 = match f0_test {
            Some(f) => targets(op, "f0_test", f, m)?,
            None => Array2::zeros((m, self.y_train.ncols())),
        };
        // Theta(X*, X) V, computed once
        self.test = Some((a_b(cross, self.vectors.view()), f0));
        Ok(self)
    }

    /// The eigenvalues of `Theta(X, X)`, ascending.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.lambda
    }

    fn n(&self) -> f64 {
        self.lambda.len() as f64
    }

    fn lambda_max(&self) -> f64 {
        self.lambda.last().copied().unwrap_or(0.0)
    }

    /// `2 / lambda_max(Theta / n)`: the largest learning rate for which gradient descent on
    /// the linearised model converges.
    pub fn max_stable_learning_rate(&self) -> f64 {
        2.0 * self.n() / self.lambda_max()
    }

    /// The number of eigenvalues clipped at `t = infinity` (at or below `rcond lambda_max`).
    pub fn clipped_at_infinity(&self) -> usize {
        let threshold = DEFAULT_RCOND * self.lambda_max();
        self.lambda.iter().filter(|&&l| l <= threshold).count()
    }

    /// Scales `V^T r_0` row by row.
    fn scaled_coeffs(&self, factor: impl Fn(f64) -> f64) -> Array2<f64> {
        let mut c = self.coeffs.clone();
        for (mut row, &l) in c.rows_mut().into_iter().zip(&self.lambda) {
            row *= factor(l);
        }
        c
    }

    /// `f_t(X)` on the training points.
    pub fn predict_train(&self, t: f64) -> Result<Tensor<f64>> {
        let t = check_time("GradientFlow::predict_train", t)?;
        let a = self.learning_rate * t / self.n();
        let threshold = DEFAULT_RCOND * self.lambda_max();
        let remaining = self.scaled_coeffs(|l| {
            if t.is_infinite() { if l > threshold { 0.0 } else { 1.0 } } else { (-a * l.max(0.0)).exp() }
        });
        Ok(to_tensor(&self.y_train - &a_b(self.vectors.view(), remaining.view())))
    }

    /// `f_t(X*)` on the test points given to [`GradientFlow::with_test`].
    pub fn predict_test(&self, t: f64) -> Result<Tensor<f64>> {
        let op = "GradientFlow::predict_test";
        let t = check_time(op, t)?;
        let Some((cross_v, f0)) = &self.test else {
            return Err(NtkError::InvalidArgument {
                op,
                name: "test points",
                value: 0.0,
                requirement: "call with_test first",
            });
        };
        let a = self.learning_rate * t / self.n();
        let threshold = DEFAULT_RCOND * self.lambda_max();
        let learnt = self.scaled_coeffs(|l| {
            if t.is_infinite() { if l > threshold { 1.0 / l } else { 0.0 } } else { flow_factor(a, l) }
        });
        Ok(to_tensor(f0 + &a_b(cross_v.view(), learnt.view())))
    }

    /// The training loss `1/(2n) ||f_t(X) - Y||^2` at time `t`.
    pub fn train_loss(&self, t: f64) -> Result<f64> {
        let f = self.predict_train(t)?;
        Ok(half_mse(f.view().into_dimensionality().expect("2-D"), self.y_train.view()))
    }

    /// The test loss `1/(2m) ||f_t(X*) - Y*||^2` at time `t`.
    pub fn test_loss(&self, t: f64, y_test: &Tensor<f64>) -> Result<f64> {
        let f = self.predict_test(t)?;
        let y = targets("GradientFlow::test_loss", "y_test", y_test, f.shape()[0])?;
        if y.ncols() != f.shape()[1] {
            return Err(NtkError::Shape {
                op: "GradientFlow::test_loss",
                what: "y_test must have one column per output".into(),
                left: y.shape().to_vec(),
                right: f.shape().to_vec(),
            });
        }
        Ok(half_mse(f.view().into_dimensionality().expect("2-D"), y.view()))
    }

    /// The initial outputs on the training points.
    pub fn f0_train(&self) -> Tensor<f64> {
        to_tensor(self.f0_train.clone())
    }
}

/// `1/(2 m) sum ||f - y||^2` over the `m` rows.
pub fn half_mse(f: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> f64 {
    let m = f.nrows().max(1) as f64;
    (&f - &y).iter().map(|d| d * d).sum::<f64>() / (2.0 * m)
}

/// Kernel regression (the `t = infinity` prediction from `f_0 = 0`),
/// `Theta(X*, X) (Theta(X, X) + r I)^{-1} Y` with the ridge `r = diag_reg * tr(Theta) / n`
/// (neural-tangents' relative `diag_reg`), by Cholesky with the eigendecomposition
/// fallback of [`SymmetricSolver`]. Returns the prediction and how the solve went.
pub fn kernel_regression(
    theta_train: &Tensor<f64>,
    theta_test_train: &Tensor<f64>,
    y_train: &Tensor<f64>,
    diag_reg: f64,
) -> Result<(Tensor<f64>, SolveMethod)> {
    let op = "kernel_regression";
    let k = square(op, "theta_train", theta_train)?;
    let n = k.nrows();
    let cross = view2(op, "theta_test_train", theta_test_train)?;
    if cross.ncols() != n {
        return Err(NtkError::Shape {
            op,
            what: "theta_test_train must have one column per training point".into(),
            left: theta_test_train.shape().to_vec(),
            right: theta_train.shape().to_vec(),
        });
    }
    let y = targets(op, "y_train", y_train, n)?;
    let ridge = non_negative(op, "diag_reg", diag_reg)? * k.diag().sum() / n as f64;
    let solver = SymmetricSolver::new(op, k, ridge)?;
    let alpha = solver.solve(y.view())?;
    Ok((to_tensor(a_b(cross, alpha.view())), solver.method()))
}

/// The NNGP posterior (Bayesian inference with the GP prior `K`, Gaussian noise variance
/// `noise_var` on the training targets; Lee et al. 2018; Rasmussen & Williams 2006, eq. 2.24).
#[derive(Clone, Debug)]
pub struct NngpPosterior {
    /// `K(X*, X) (K + s I)^{-1} Y`, `(m, K)`.
    pub mean: Tensor<f64>,
    /// `K(x*, x*) - K(x*, X) (K + s I)^{-1} K(X, x*)` per test point, `(m)` (rounding below 0
    /// is clipped to 0).
    pub variance: Tensor<f64>,
    /// The full posterior covariance `K(X*, X*) - K(X*, X) (K + s I)^{-1} K(X, X*)`, `(m, m)`,
    /// shared by every output column; `Some` from [`nngp_posterior_full`], `None` from
    /// [`nngp_posterior`] (which is given only the diagonal of `K(X*, X*)`).
    pub covariance: Option<Tensor<f64>>,
    /// How the solve went.
    pub method: SolveMethod,
}

/// The checked kernels and the solve shared by both posterior functions: the mean and
/// `(K + s I)^{-1} K(X, X*)`.
fn posterior_solve(
    op: &'static str,
    k_train: &Tensor<f64>,
    k_test_train: &Tensor<f64>,
    y_train: &Tensor<f64>,
    noise_var: f64,
) -> Result<(Array2<f64>, Array2<f64>, SolveMethod)> {
    let k = square(op, "k_train", k_train)?;
    let n = k.nrows();
    let cross = view2(op, "k_test_train", k_test_train)?;
    if cross.ncols() != n {
        return Err(NtkError::Shape {
            op,
            what: "k_test_train must have one column per training point".into(),
            left: k_test_train.shape().to_vec(),
            right: k_train.shape().to_vec(),
        });
    }
    finite(op, "k_test_train", cross)?;
    let y = targets(op, "y_train", y_train, n)?;
    let solver = SymmetricSolver::new(op, k, non_negative(op, "noise_var", noise_var)?)?;
    let mean = a_b(cross, solver.solve(y.view())?.view());
    let w = solver.solve(cross.t())?; // (n, m)
    Ok((mean, w, solver.method()))
}

/// The NNGP posterior mean and variance (see [`NngpPosterior`]); `k_test_diag` holds
/// `K(x*, x*)` for each test point. For the full covariance use [`nngp_posterior_full`].
pub fn nngp_posterior(
    k_train: &Tensor<f64>,
    k_test_train: &Tensor<f64>,
    k_test_diag: &Tensor<f64>,
    y_train: &Tensor<f64>,
    noise_var: f64,
) -> Result<NngpPosterior> {
    let op = "nngp_posterior";
    let m = k_test_train.shape().first().copied().unwrap_or(0);
    if k_test_diag.shape() != [m] {
        return Err(NtkError::Shape {
            op,
            what: "k_test_train must be (m, n) and k_test_diag (m)".into(),
            left: k_test_train.shape().to_vec(),
            right: k_test_diag.shape().to_vec(),
        });
    }
    let (mean, w, method) = posterior_solve(op, k_train, k_test_train, y_train, noise_var)?;
    let cross = view2(op, "k_test_train", k_test_train)?;
    let diag = k_test_diag.to_vec();
    let variance: Array1<f64> =
        (0..cross.nrows()).map(|i| (diag[i] - cross.row(i).dot(&w.column(i))).max(0.0)).collect();
    Ok(NngpPosterior {
        mean: to_tensor(mean),
        variance: Tensor::from_ndarray(variance.into_dyn()),
        covariance: None,
        method,
    })
}

/// The NNGP posterior with its full covariance between the test points:
/// `K(X*, X*) - K(X*, X) (K + s I)^{-1} K(X, X*)` from `k_test_test = K(X*, X*)` `(m, m)`.
/// With `noise_var = 0` it is the t = infinity limit of the NNGP ensemble
/// ([`crate::ensemble`]).
pub fn nngp_posterior_full(
    k_train: &Tensor<f64>,
    k_test_train: &Tensor<f64>,
    k_test_test: &Tensor<f64>,
    y_train: &Tensor<f64>,
    noise_var: f64,
) -> Result<NngpPosterior> {
    let op = "nngp_posterior_full";
    let m = k_test_train.shape().first().copied().unwrap_or(0);
    let kss = square(op, "k_test_test", k_test_test)?;
    if kss.nrows() != m {
        return Err(NtkError::Shape {
            op,
            what: "k_test_test must be (m, m) with m the rows of k_test_train".into(),
            left: k_test_test.shape().to_vec(),
            right: k_test_train.shape().to_vec(),
        });
    }
    finite(op, "k_test_test", kss)?;
    let (mean, w, method) = posterior_solve(op, k_train, k_test_train, y_train, noise_var)?;
    let cross = view2(op, "k_test_train", k_test_train)?;
    let mut cov = &kss - &a_b(cross, w.view());
    for i in 0..m {
        for j in 0..i {
            let v = 0.5 * (cov[[i, j]] + cov[[j, i]]);
            cov[[i, j]] = v;
            cov[[j, i]] = v;
        }
    }
    let variance: Array1<f64> = cov.diag().mapv(|v| v.max(0.0));
    Ok(NngpPosterior {
        mean: to_tensor(mean),
        variance: Tensor::from_ndarray(variance.into_dyn()),
        covariance: Some(to_tensor(cov)),
        method,
    })
}

/// The generalisation bound of Arora et al. (2019, Theorem 5.1) for a two-layer ReLU
/// network trained by gradient descent: `sqrt(2 y^T Theta^{-1} y / n)` (summed over output
/// columns), with `Theta` the NTK Gram matrix of the training set.
pub fn arora_bound(theta_train: &Tensor<f64>, y_train: &Tensor<f64>) -> Result<(f64, SolveMethod)> {
    let op = "arora_bound";
    let k = square(op, "theta_train", theta_train)?;
    let n = k.nrows();
    let y = targets(op, "y_train", y_train, n)?;
    let solver = SymmetricSolver::new(op, k, 0.0)?;
    let alpha = solver.solve(y.view())?;
    let quad: f64 = (&y * &alpha).sum();
    Ok(((2.0 * quad.max(0.0) / n as f64).sqrt(), solver.method()))
}
/// The gradient-flow factor `(1 - e^{-a lambda}) / lambda` of an eigenvalue `lambda`, with
/// its limit `a` below `lambda = 1e-300` (see the module documentation).
pub(crate) fn flow_factor(a: f64, lambda: f64) -> f64 {
    if lambda > 1e-300 { -(-a * lambda).exp_m1() / lambda } else { a }
}
