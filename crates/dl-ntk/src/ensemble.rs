//! The **infinite ensemble**: the Gaussian distribution, over random initialisations, of
//! the outputs of infinitely wide networks trained by gradient flow on the MSE — mean *and*
//! covariance at any time t (Lee et al. 2019, Section 2.3 and eq. 16; neural-tangents'
//! `predict.gradient_descent_mse_ensemble` with `compute_cov=True`).
//!
//! **Dynamics.** With `K` the NNGP and `Theta` the NTK of the training inputs `X`, an
//! output `f_0 ~ GP(0, K)` at initialisation, and gradient flow on the MSE with learning
//! rate `eta`, the linearised network follows `df/dt = -(eta / N) G (f - Y)` on `X`, with
//! `G = Theta` when every layer is trained and `G = K` when only the readout is (the NNGP
//! regime, [`Regime`]). With `tau = eta t / N`, `E = e^{-tau G}` and
//!
//! ```text
//! A(t) = G(X*, X) G^{-1} (I - E)                          (m x n)
//! ```
//!
//! the outputs on test points `X*` at time t are `f_t(X*) = f_0(X*) + A(t) (Y - f_0(X))`, so
//! over initialisations they are Gaussian with
//!
//! ```text
//! mean(t) = A(t) Y
//! Sigma(t) = K** + A K A^T - (A K_x* + K_*x A^T)           (K** = K(X*, X*), K_*x = K(X*, X))
//! ```
//!
//! For the NNGP regime (`G = K`) the last line simplifies to
//! `Sigma(t) = K** - K_*x K^{-1} (I - e^{-2 tau K}) K_x*`, which is how it is computed (no
//! cancellation). On the training points, `mean = (I - E) Y` and `Sigma = E K E`.
//!
//! **Limits.** At t = 0, `A = 0`: the prior, mean 0 and `Sigma = K**`. At t = infinity,
//! `A = G_*x G^{-1}`: for the NNGP the GP posterior without noise, `K_*x K^{-1} Y` and
//! `K** - K_*x K^{-1} K_x*` (see [`crate::predict::nngp_posterior_full`]); for the NTK the
//! mean is kernel regression with `Theta` and the covariance is not the GP posterior of any
//! kernel (Lee et al. 2019, eq. 16).
//!
//! **Multiple outputs.** Targets `Y` are `(n, k)`. Distinct outputs are independent with the
//! same kernel (`K ⊗ I_k`), so every output column has the same covariance, returned once as
//! an `(m, m)` matrix, and means are `(m, k)`.
//!
//! **Units of time.** The loss sets `N` ([`LossNormalisation`]): this crate's convention is
//! `L = 1/(2n) sum_i ||f(x_i) - y_i||^2` (a sum over outputs, a mean over points, as
//! [`crate::train::train_full_batch_gd`] and [`crate::predict::GradientFlow`]), so `N = n`;
//! neural-tangents takes the mean over every entry of `Y`,
//! `L = 1/(2 n k) ||f(X) - Y||_F^2`, so `N = n k`. The same network at time `t` of ours is
//! at time `k t` of neural-tangents'. [`LossNormalisation::PerEntry`] switches to theirs.
//!
//! **Computation.** One symmetric eigendecomposition `G + r I = V diag(lambda) V^T` per
//! regime (`r` the optional diagonal regulariser), done once and reused for every time and
//! test set. `(1 - e^{-lambda tau}) / lambda` is evaluated with `expm1` and tends to `tau`
//! as `lambda -> 0`; negative eigenvalues from rounding count as 0; at t = infinity
//! eigenvalues at or below `1e-12 lambda_max` are clipped (their directions are never
//! learnt), as in [`crate::predict::GradientFlow`].
//!
//! ```
//! use dl_init::Activation;
//! use dl_ntk::ensemble::{EnsembleOptions, Regime, gradient_descent_mse_ensemble};
//! use dl_ntk::{Architecture, Parameterisation};
//! use dl_tensor::{Tensor, seeded_rng};
//!
//! let mut rng = seeded_rng(0);
//! let (x_train, x_test) = (Tensor::<f64>::randn(&[8, 3], &mut rng), Tensor::<f64>::randn(&[4, 3], &mut rng));
//! let y_train = Tensor::<f64>::randn(&[8, 2], &mut rng);
//! let arch = Architecture::mlp(2, 512, Activation::Erf, 1.5, 0.05, 2, Parameterisation::Ntk)?;
//! let ensemble = gradient_descent_mse_ensemble(&arch, &x_train, &y_train, EnsembleOptions::default())?;
//! let out = ensemble.predict(&[0.0, 10.0, f64::INFINITY], Some(&x_test), true)?;
//! let (prior, trained) = (&out.ntk[0], &out.ntk[2]);
//! assert_eq!(trained.mean.shape(), &[4, 2]);                          // (test points, outputs)
//! let cov = trained.covariance.as_ref().unwrap();                     // (4, 4), shared by both outputs
//! assert_eq!(cov.shape(), &[4, 4]);
//! // training reduces the spread of the ensemble on every test point
//! let (var0, var) = (prior.covariance.as_ref().unwrap().to_vec(), cov.to_vec());
//! assert!((0..4).all(|i| var[i * 5] < var0[i * 5]));
//! # Ok::<(), dl_ntk::NtkError>(())
//! ```

use std::sync::OnceLock;

use dl_tensor::Tensor;
use ndarray::{Array2, ArrayView2};

use crate::analytic::{AnalyticKernels, Architecture};
use crate::error::{NtkError, Result, non_negative, positive};
use crate::linalg::{DEFAULT_RCOND, symmetric_eigen};
use crate::matrix::{a_b, a_bt, square, to_tensor, view2};
use crate::predict::{check_time, targets};

/// Which infinite-width kernel drives the gradient flow (neural-tangents' `get`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// Only the readout layer is trained (equivalently: Bayesian inference with the NNGP as
    /// t -> infinity): `G = K`.
    Nngp,
    /// Every layer is trained: `G = Theta`.
    Ntk,
}

/// How the MSE loss is normalised; it fixes the unit of time (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LossNormalisation {
    /// `L = 1/(2n) sum_i ||f(x_i) - y_i||^2`, `df/dt = -(eta / n) G (f - Y)`: this crate's
    /// convention ([`crate::train::train_full_batch_gd`], [`crate::predict::GradientFlow`]).
    #[default]
    PerPoint,
    /// `L = 1/(2 n k) ||f(X) - Y||_F^2`, `df/dt = -(eta / (n k)) G (f - Y)`: neural-tangents'
    /// (its `y_train.size`). Time `t` here is time `t / k` of [`LossNormalisation::PerPoint`].
    PerEntry,
}

/// The settings of the gradient flow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnsembleOptions {
    /// The learning rate `eta` (time is counted in steps of it).
    pub learning_rate: f64,
    /// A ridge added to the training kernel before its eigendecomposition, relative to its
    /// mean diagonal: `G + diag_reg tr(G) / n I` (neural-tangents' `diag_reg` with
    /// `diag_reg_absolute_scale = False`). 0 by default.
    pub diag_reg: f64,
    /// The loss normalisation (the unit of time).
    pub normalisation: LossNormalisation,
}

impl Default for EnsembleOptions {
    fn default() -> Self {
        EnsembleOptions { learning_rate: 1.0, diag_reg: 0.0, normalisation: LossNormalisation::PerPoint }
    }
}

/// The Gaussian over initialisations of the outputs on a set of points at one time.
#[derive(Clone, Debug)]
pub struct Gaussian {
    /// The training time t (in steps of the learning rate).
    pub time: f64,
    /// The ensemble mean, `(m, k)`.
    pub mean: Tensor<f64>,
    /// The covariance between the `m` points, `(m, m)`, the same for every output column;
    /// `None` unless requested.
    pub covariance: Option<Tensor<f64>>,
}

/// The kernels of test points `X*` against the training points and among themselves.
#[derive(Clone, Debug)]
pub struct TestKernels {
    /// `K(X*, X)` and `Theta(X*, X)`, `(m, n)` each.
    pub test_train: AnalyticKernels,
    /// `K(X*, X*)`, `(m, m)`: needed for the covariance only.
    pub nngp_test_test: Option<Tensor<f64>>,
}

/// One regime's eigendecomposition and the products reused at every time.
struct Eigen {
    lambda: Vec<f64>,
    vectors: Array2<f64>,
    /// `V^T Y`, `(n, k)`.
    vt_y: Array2<f64>,
    /// `V^T K V`, `(n, n)` (the NNGP in this regime's eigenbasis).
    vt_k_v: Array2<f64>,
    /// `1e-12 lambda_max`: eigenvalues at or below it are clipped at t = infinity.
    threshold: f64,
}

/// The factors of one time: `g(lambda) = (1 - e^{-lambda tau}) / lambda` and
/// `e(lambda) = e^{-lambda tau}`, per eigenvalue.
struct TimeFactors {
    g: Vec<f64>,
    e: Vec<f64>,
    /// `1 - e`, computed without cancellation.
    one_minus_e: Vec<f64>,
}

/// The ensemble dynamics on one training set, from its kernels (neural-tangents'
/// `gradient_descent_mse_ensemble` given a kernel; see the module documentation).
pub struct EnsembleDynamics {
    nngp: Array2<f64>,
    ntk: Array2<f64>,
    y: Array2<f64>,
    options: EnsembleOptions,
    nngp_eigen: OnceLock<Result<Eigen>>,
    ntk_eigen: OnceLock<Result<Eigen>>,
}

fn check_square(op: &'static str, what: &str, t: &Tensor<f64>, n: usize) -> Result<Array2<f64>> {
    let v = square(op, what, t)?;
    if v.nrows() != n {
        return Err(NtkError::Shape {
            op,
            what: format!("{what} must be ({n}, {n})"),
            left: t.shape().to_vec(),
            right: vec![n, n],
        });
    }
    crate::matrix::finite(op, what, v)?;
    Ok(v.to_owned())
}

fn check_matrix(op: &'static str, what: &str, t: &Tensor<f64>, rows: usize, cols: usize) -> Result<Array2<f64>> {
    let v = view2(op, what, t)?;
    if v.dim() != (rows, cols) {
        return Err(NtkError::Shape {
            op,
            what: format!("{what} must be ({rows}, {cols})"),
            left: t.shape().to_vec(),
            right: vec![rows, cols],
        });
    }
    crate::matrix::finite(op, what, v)?;
    Ok(v.to_owned())
}

/// `(a + a^T) / 2`: removes the rounding asymmetry of a product that is symmetric in exact
/// arithmetic.
fn symmetrise(a: &mut Array2<f64>) {
    let n = a.nrows();
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (a[[i, j]] + a[[j, i]]);
            a[[i, j]] = v;
            a[[j, i]] = v;
        }
    }
}

/// `a diag(d)`: scales column `j` by `d[j]`.
fn scale_columns(a: &Array2<f64>, d: &[f64]) -> Array2<f64> {
    let mut out = a.clone();
    for (mut col, &s) in out.columns_mut().into_iter().zip(d) {
        col *= s;
    }
    out
}

/// `diag(d) a`: scales row `i` by `d[i]`.
fn scale_rows(a: &Array2<f64>, d: &[f64]) -> Array2<f64> {
    let mut out = a.clone();
    for (mut row, &s) in out.rows_mut().into_iter().zip(d) {
        row *= s;
    }
    out
}

impl EnsembleDynamics {
    /// The dynamics on the training kernels `train` (`K(X, X)` and `Theta(X, X)`, `(n, n)`
    /// each) with targets `y_train` `(n, k)`.
    pub fn new(train: &AnalyticKernels, y_train: &Tensor<f64>, options: EnsembleOptions) -> Result<Self> {
        let op = "EnsembleDynamics::new";
        let n = square(op, "the training NNGP", &train.nngp)?.nrows();
        let nngp = check_square(op, "the training NNGP", &train.nngp, n)?;
        let ntk = check_square(op, "the training NTK", &train.ntk, n)?;
        let y = targets(op, "y_train", y_train, n)?;
        if n == 0 || y.ncols() == 0 {
            return Err(NtkError::Shape {
                op,
                what: "need at least one training point and one output".into(),
                left: y_train.shape().to_vec(),
                right: vec![],
            });
        }
        positive(op, "learning_rate", options.learning_rate)?;
        non_negative(op, "diag_reg", options.diag_reg)?;
        Ok(EnsembleDynamics { nngp, ntk, y, options, nngp_eigen: OnceLock::new(), ntk_eigen: OnceLock::new() })
    }

    /// The number of training points.
    pub fn len(&self) -> usize {
        self.y.nrows()
    }

    /// Whether there are no training points (never: construction rejects it).
    pub fn is_empty(&self) -> bool {
        self.y.nrows() == 0
    }

    /// The options.
    pub fn options(&self) -> EnsembleOptions {
        self.options
    }

    /// `eta / N`: the rate at which time enters the exponent (`tau = (eta / N) t`).
    pub fn time_scale(&self) -> f64 {
        let n = self.y.nrows() as f64;
        let normaliser = match self.options.normalisation {
            LossNormalisation::PerPoint => n,
            LossNormalisation::PerEntry => n * self.y.ncols() as f64,
        };
        self.options.learning_rate / normaliser
    }

    /// The eigenvalues (ascending) of the regime's regularised training kernel.
    pub fn eigenvalues(&self, regime: Regime) -> Result<&[f64]> {
        Ok(&self.eigen(regime)?.lambda)
    }

    /// The largest learning rate for which gradient descent (finite steps) on the
    /// linearised model converges in this regime: `2 N / lambda_max`.
    pub fn max_stable_learning_rate(&self, regime: Regime) -> Result<f64> {
        let lambda_max = self.eigen(regime)?.lambda.last().copied().unwrap_or(0.0);
        Ok(2.0 * self.options.learning_rate / (self.time_scale() * lambda_max))
    }

    fn eigen(&self, regime: Regime) -> Result<&Eigen> {
        let cell = match regime {
            Regime::Nngp => &self.nngp_eigen,
            Regime::Ntk => &self.ntk_eigen,
        };
        cell.get_or_init(|| self.decompose(regime)).as_ref().map_err(Clone::clone)
    }

    fn decompose(&self, regime: Regime) -> Result<Eigen> {
        let op = "EnsembleDynamics";
        let g = match regime {
            Regime::Nngp => &self.nngp,
            Regime::Ntk => &self.ntk,
        };
        let n = g.nrows();
        let mut reg = g.clone();
        if self.options.diag_reg > 0.0 {
            let ridge = self.options.diag_reg * g.diag().sum() / n as f64;
            reg.diag_mut().mapv_inplace(|v| v + ridge);
        }
        let (lambda, vectors) = symmetric_eigen(op, reg.view())?;
        let vt_y = a_b(vectors.t(), self.y.view());
        let vt_k_v = a_b(a_b(vectors.t(), self.nngp.view()).view(), vectors.view());
        let lambda_max = lambda.last().copied().unwrap_or(0.0);
        if lambda_max <= 0.0 || !lambda_max.is_finite() {
            return Err(NtkError::LinearAlgebra {
                op,
                detail: format!("the {n}x{n} training kernel has no positive eigenvalue (largest {lambda_max:e})"),
            });
        }
        Ok(Eigen { lambda, vectors, vt_y, vt_k_v, threshold: DEFAULT_RCOND * lambda_max })
    }

    /// The factors `g`, `e`, `1 - e` at time `t` (and the doubled time for the NNGP
    /// covariance, when `factor = 2`).
    fn factors(&self, eigen: &Eigen, t: f64, factor: f64) -> TimeFactors {
        let tau = factor * self.time_scale() * t;
        let n = eigen.lambda.len();
        let (mut g, mut e, mut one_minus_e) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for &l in &eigen.lambda {
            if t.is_infinite() {
                let learnt = l > eigen.threshold;
                g.push(if learnt { 1.0 / l } else { 0.0 });
                e.push(if learnt { 0.0 } else { 1.0 });
                one_minus_e.push(if learnt { 1.0 } else { 0.0 });
            } else {
                let l = l.max(0.0);
                let decay = -(-l * tau).exp_m1();
                g.push(if l > 1e-300 { decay / l } else { tau });
                e.push((-l * tau).exp());
                one_minus_e.push(decay);
            }
        }
        TimeFactors { g, e, one_minus_e }
    }

    /// The ensemble on the training points at time `t` (`f64::INFINITY` allowed): mean
    /// `(I - E) Y`, covariance `E K E` if `compute_cov`.
    pub fn predict_train(&self, regime: Regime, t: f64, compute_cov: bool) -> Result<Gaussian> {
        let t = check_time("EnsembleDynamics::predict_train", t)?;
        let eigen = self.eigen(regime)?;
        let f = self.factors(eigen, t, 1.0);
        let mean = a_b(eigen.vectors.view(), scale_rows(&eigen.vt_y, &f.one_minus_e).view());
        let covariance = compute_cov.then(|| {
            // E K E = V diag(e) (V^T K V) diag(e) V^T
            let inner = scale_columns(&scale_rows(&eigen.vt_k_v, &f.e), &f.e);
            let mut cov = a_bt(a_b(eigen.vectors.view(), inner.view()).view(), eigen.vectors.view());
            symmetrise(&mut cov);
            to_tensor(cov)
        });
        Ok(Gaussian { time: t, mean: to_tensor(mean), covariance })
    }

    /// The ensemble on test points at time `t` (`f64::INFINITY` allowed), from their kernels
    /// against the training points (and among themselves, for the covariance).
    pub fn predict_test(&self, regime: Regime, t: f64, test: &TestKernels, compute_cov: bool) -> Result<Gaussian> {
        let op = "EnsembleDynamics::predict_test";
        let t = check_time(op, t)?;
        let n = self.len();
        let m = view2(op, "the test-train NNGP", &test.test_train.nngp)?.nrows();
        let k_cross = check_matrix(op, "the test-train NNGP", &test.test_train.nngp, m, n)?;
        let g_cross = match regime {
            Regime::Nngp => k_cross.clone(),
            Regime::Ntk => check_matrix(op, "the test-train NTK", &test.test_train.ntk, m, n)?,
        };
        let k_test = match (compute_cov, &test.nngp_test_test) {
            (false, _) => None,
            (true, Some(k)) => Some(check_square(op, "the test-test NNGP", k, m)?),
            (true, None) => {
                return Err(NtkError::InvalidArgument {
                    op,
                    name: "nngp_test_test",
                    value: 0.0,
                    requirement: "the covariance needs K(X*, X*): give TestKernels::nngp_test_test",
                });
            }
        };
        let eigen = self.eigen(regime)?;
        let f = self.factors(eigen, t, 1.0);
        // P = G(X*, X) V, then A = P diag(g) V^T
        let p = a_b(g_cross.view(), eigen.vectors.view());
        let pg = scale_columns(&p, &f.g);
        let mean = a_b(pg.view(), eigen.vt_y.view());
        let covariance = k_test.map(|k_test| {
            to_tensor(match regime {
                Regime::Nngp => self.nngp_test_covariance(eigen, t, &p, k_test),
                Regime::Ntk => ntk_test_covariance(eigen, &pg, k_cross.view(), k_test),
            })
        });
        Ok(Gaussian { time: t, mean: to_tensor(mean), covariance })
    }

    /// `K** - P diag((1 - e^{-2 lambda tau}) / lambda) P^T` with `P = K_*x V`.
    fn nngp_test_covariance(&self, eigen: &Eigen, t: f64, p: &Array2<f64>, k_test: Array2<f64>) -> Array2<f64> {
        let f2 = self.factors(eigen, t, 2.0);
        let mut cov = k_test - a_bt(scale_columns(p, &f2.g).view(), p.view());
        symmetrise(&mut cov);
        cov
    }
}

/// `K** + A K A^T - (A K_x* + K_*x A^T)` with `A = P diag(g) V^T`, `pg = P diag(g)`:
/// `A K A^T = pg (V^T K V) pg^T` and `A K_x* = pg (V^T K_x*)`.
fn ntk_test_covariance(
    eigen: &Eigen,
    pg: &Array2<f64>,
    k_cross: ArrayView2<'_, f64>,
    k_test: Array2<f64>,
) -> Array2<f64> {
    let akat = a_bt(a_b(pg.view(), eigen.vt_k_v.view()).view(), pg.view());
    let vt_kx = a_bt(eigen.vectors.t(), k_cross); // V^T K_x*, (n, m)
    let akx = a_b(pg.view(), vt_kx.view()); // A K_x*, (m, m)
    let mut cov = k_test + akat - &akx - akx.t();
    symmetrise(&mut cov);
    cov
}

/// The two regimes' predictions at each requested time.
#[derive(Clone, Debug)]
pub struct EnsemblePrediction {
    /// The NNGP regime (only the readout trained), one Gaussian per time.
    pub nngp: Vec<Gaussian>,
    /// The NTK regime (every layer trained), one Gaussian per time.
    pub ntk: Vec<Gaussian>,
}

/// An architecture's infinite ensemble on one training set: [`gradient_descent_mse_ensemble`].
pub struct EnsemblePredictor {
    architecture: Architecture,
    x_train: Tensor<f64>,
    dynamics: EnsembleDynamics,
}

/// The infinite ensemble of infinitely wide networks of `architecture` trained by gradient
/// flow on `(x_train, y_train)` (neural-tangents' `predict.gradient_descent_mse_ensemble`).
/// The training kernels are computed here, once; [`EnsemblePredictor::predict`] gives the
/// mean and covariance at any times on any test inputs. `y_train` is `(n, k)` with `k` the
/// architecture's number of outputs.
pub fn gradient_descent_mse_ensemble(
    architecture: &Architecture,
    x_train: &Tensor<f64>,
    y_train: &Tensor<f64>,
    options: EnsembleOptions,
) -> Result<EnsemblePredictor> {
    let op = "gradient_descent_mse_ensemble";
    let train = architecture.kernels(x_train, None)?;
    let in_dim = x_train.shape().get(1).copied().unwrap_or(0);
    let outputs = architecture.outputs(in_dim);
    if y_train.shape().len() == 2 && y_train.shape()[1] != outputs {
        return Err(NtkError::Shape {
            op,
            what: format!("y_train must have one column per output of the architecture ({outputs})"),
            left: y_train.shape().to_vec(),
            right: vec![x_train.shape()[0], outputs],
        });
    }
    let dynamics = EnsembleDynamics::new(&train, y_train, options)?;
    Ok(EnsemblePredictor { architecture: architecture.clone(), x_train: x_train.clone(), dynamics })
}

impl EnsemblePredictor {
    /// The kernel-level dynamics (eigenvalues, stable learning rate, predictions from kernels).
    pub fn dynamics(&self) -> &EnsembleDynamics {
        &self.dynamics
    }

    /// The kernels of `x_test` against the training inputs (and with itself if `compute_cov`).
    pub fn test_kernels(&self, x_test: &Tensor<f64>, compute_cov: bool) -> Result<TestKernels> {
        let test_train = self.architecture.kernels(x_test, Some(&self.x_train))?;
        let nngp_test_test = if compute_cov { Some(self.architecture.kernels(x_test, None)?.nngp) } else { None };
        Ok(TestKernels { test_train, nngp_test_test })
    }

    /// Mean (and covariance if `compute_cov`) of the ensemble at each of `times` (steps of
    /// the learning rate; `f64::INFINITY` allowed), in both regimes, on `x_test` (`None`:
    /// on the training points).
    pub fn predict(
        &self,
        times: &[f64],
        x_test: Option<&Tensor<f64>>,
        compute_cov: bool,
    ) -> Result<EnsemblePrediction> {
        let test = x_test.map(|x| self.test_kernels(x, compute_cov)).transpose()?;
        Ok(EnsemblePrediction {
            nngp: self.run(Regime::Nngp, times, test.as_ref(), compute_cov)?,
            ntk: self.run(Regime::Ntk, times, test.as_ref(), compute_cov)?,
        })
    }

    /// As [`Self::predict`] in one regime only.
    pub fn predict_regime(
        &self,
        regime: Regime,
        times: &[f64],
        x_test: Option<&Tensor<f64>>,
        compute_cov: bool,
    ) -> Result<Vec<Gaussian>> {
        let test = x_test.map(|x| self.test_kernels(x, compute_cov)).transpose()?;
        self.run(regime, times, test.as_ref(), compute_cov)
    }

    fn run(
        &self,
        regime: Regime,
        times: &[f64],
        test: Option<&TestKernels>,
        compute_cov: bool,
    ) -> Result<Vec<Gaussian>> {
        times
            .iter()
            .map(|&t| match test {
                Some(k) => self.dynamics.predict_test(regime, t, k, compute_cov),
                None => self.dynamics.predict_train(regime, t, compute_cov),
            })
            .collect()
    }
}
