//! Kernel regression and predictions on a tiled kernel, in memory bounded by
//! a budget in bytes: the kernel is only ever applied to vectors, one streamed pass
//! ([`TiledKernel::apply`]) per product.
//!
//! **`t = infinity`: preconditioned conjugate gradients.** [`kernel_regression_tiled`] solves
//! `(K + r I) alpha = Y` with the ridge `r = diag_reg tr(K) / N` of
//! [`crate::predict::kernel_regression`] by preconditioned conjugate gradients, one column
//! of `Y` at a time but all columns in each pass. The preconditioner ([`Preconditioner`]) is
//! Nyström's by default, `M = U K_00^{-1} U^T + r I` with `U = K(X, X_0)` (the first block
//! of points as landmarks, read from the stored tiles `(0, j)`), applied by Woodbury's
//! identity `M^{-1} R = (R - U G^{-1} U^T R) / r`, `G = r K_00 + U^T U`; or Jacobi's,
//! `M = diag(K) + r I`. It stops when `||Y - (K + r I) alpha|| <= tol ||Y||` for every column (the
//! recursive residual), then recomputes the true residual with one more pass and reports it.
//! Iterations grow like `sqrt(kappa)` with `kappa` the condition number of `M^{-1}(K + r I)`:
//! at most `(lambda_max + r) / r` with Jacobi on a constant diagonal, about
//! `(lambda_{b+1} + r) / r` with Nyström. The error of the prediction is at most
//! `kappa` times the relative residual.
//!
//! The finite-`t` prediction, a Chebyshev polynomial of the kernel, is in `tiled/flow.rs`
//! ([`gradient_flow_tiled`](super::gradient_flow_tiled)).
//!
//! **Predictions.** `f_t(X*) = f_0(X*) + K(X*, X) w` ([`predict_tiled`]) computes the cross
//! kernel block by block from the architecture (never stored); on the training points
//! `f_t(X) = f_0(X) + K w` is one more [`TiledKernel::apply`].

use dl_tensor::Tensor;
use ndarray::{Array2, ArrayView2, Zip};

use super::manifest::StoreConfig;
use super::operator::TiledKernel;
use super::store::{KernelKind, rows};
use crate::analytic::Architecture;
use crate::error::{NtkError, Result, non_negative, positive};
use crate::linalg::SymmetricSolver;
use crate::matrix::{a_b, a_bt, to_tensor, view2};
use crate::predict::targets;

/// Limits of a tiled solve.
#[derive(Clone, Copy, Debug)]
pub struct TiledOptions {
    /// The memory the solver may allocate, in bytes (the working set must fit).
    pub budget_bytes: usize,
    /// Conjugate gradients: the relative residual to reach; Chebyshev: the relative size of
    /// the dropped coefficients.
    pub tolerance: f64,
    /// The most streaming passes over the kernel (iterations, or the polynomial's degree).
    pub max_passes: usize,
    /// Called after every pass of the iteration with the number of passes so far and (for
    /// conjugate gradients) the largest relative residual over the columns (NaN for
    /// Chebyshev), e.g. to print progress.
    pub progress: Option<fn(usize, f64)>,
    /// The preconditioner of conjugate gradients.
    pub preconditioner: Preconditioner,
}

/// The preconditioner `M` of [`kernel_regression_tiled`] (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preconditioner {
    /// `M = diag(K) + r I`: no memory, no setup; weak when the diagonal is constant.
    Jacobi,
    /// `M = U K_00^{-1} U^T + r I`, `U = K(X, X_0)`, with the first block of points as
    /// Nyström landmarks (from the stored tiles `(0, j)`); needs `r > 0` and `8 b N + 24 b^2`
    /// bytes more.
    Nystrom,
}

impl TiledOptions {
    /// `tolerance = 1e-12`, at most 10 000 passes, the Nyström preconditioner and no
    /// progress report, within `budget_bytes`.
    pub fn with_budget(budget_bytes: usize) -> Self {
        TiledOptions {
            budget_bytes,
            tolerance: 1e-12,
            max_passes: 10_000,
            progress: None,
            preconditioner: Preconditioner::Nystrom,
        }
    }
}

/// How a tiled solve went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TiledMethod {
    /// Preconditioned conjugate gradients (`t = infinity`).
    ConjugateGradient {
        /// Iterations (one pass each).
        iterations: usize,
        /// `max over columns of ||Y - (K + r I) alpha|| / ||Y||`, recomputed with one pass.
        relative_residual: f64,
        /// The ridge `r`.
        ridge: f64,
    },
    /// A Chebyshev polynomial of `phi(K)` (finite `t`).
    Chebyshev {
        /// The degree (one pass per degree).
        degree: usize,
        /// The bound `L` on the spectrum (Gershgorin).
        lambda_bound: f64,
        /// `sum_{k > degree} |c_k|`: a bound on `||w - phi(K) r_0|| / ||r_0||`.
        truncation: f64,
    },
}

/// The coefficients `w` (`(N, k)`) of a tiled prediction and how they were found.
#[derive(Clone, Debug)]
pub struct TiledFit {
    /// `alpha = (K + r I)^{-1} Y` or `w = phi(K) r_0`.
    pub coefficients: Tensor<f64>,
    /// The method and its figures.
    pub method: TiledMethod,
    /// Streaming passes over the kernel, in total.
    pub passes: usize,
    /// The working set that was checked against the budget, in bytes.
    pub working_set: usize,
}

fn column_norms(a: ArrayView2<'_, f64>) -> Vec<f64> {
    a.columns().into_iter().map(|c| c.dot(&c).sqrt()).collect()
}

/// A preconditioner, ready to apply.
enum Precond {
    /// `1 / (K_ii + r)`.
    Jacobi(Vec<f64>),
    /// `U^T` `(s, N)`, the factor of `G = r K_00 + U^T U`, and `r`.
    Nystrom { ut: Array2<f64>, g: SymmetricSolver, ridge: f64 },
}

impl Precond {
    fn jacobi(op: &'static str, diag: &[f64], ridge: f64) -> Result<Self> {
        let m: Vec<f64> = diag.iter().map(|d| d + ridge).collect();
        if let Some(i) = m.iter().position(|&m| m.is_nan() || m <= 0.0) {
            return Err(NtkError::LinearAlgebra {
                op,
                detail: format!("the Jacobi preconditioner needs K_ii + r > 0; point {i} has {}", m[i]),
            });
        }
        Ok(Precond::Jacobi(m.iter().map(|m| 1.0 / m).collect()))
    }

    /// `U^T = K(X_0, X)` from the tiles `(0, j)`, and `G = r K_00 + U^T U` factorised.
    fn nystrom(op: &'static str, kernel: &TiledKernel<'_>, ridge: f64) -> Result<Self> {
        if ridge.is_nan() || ridge <= 0.0 {
            return Err(NtkError::InvalidArgument {
                op,
                name: "diag_reg",
                value: ridge,
                requirement: "the Nystrom preconditioner needs a positive ridge (or use Preconditioner::Jacobi)",
            });
        }
        let store = kernel.store();
        let layout = store.layout();
        let s = layout.range(0).len();
        let mut ut = Array2::<f64>::zeros((s, layout.n()));
        let mut buf = Vec::new();
        for j in 0..layout.blocks() {
            let rj = layout.range(j);
            let payload = store.read_tile(kernel.kind(), 0, j, &mut buf)?;
            let mut block = ut.slice_mut(ndarray::s![.., rj]);
            for (dst, w) in block.iter_mut().zip(payload.chunks_exact(8)) {
                *dst = f64::from_le_bytes(w.try_into().expect("8 bytes"));
            }
        }
        let mut g = a_bt(ut.view(), ut.view());
        let k00 = ut.slice(ndarray::s![.., 0..s]);
        g.scaled_add(ridge, &k00);
        // U^T U is symmetric up to the GEMM's rounding; use one triangle
        for a in 0..s {
            for b in 0..a {
                g[[a, b]] = g[[b, a]];
            }
        }
        let g = SymmetricSolver::new(op, g.view(), 0.0)?;
        Ok(Precond::Nystrom { ut, g, ridge })
    }

    /// `M^{-1} R`.
    fn apply(&self, r: &Array2<f64>) -> Result<Array2<f64>> {
        Ok(match self {
            Precond::Jacobi(inv) => {
                let mut z = r.clone();
                Zip::from(z.rows_mut()).and(&ndarray::ArrayView1::from(inv)).for_each(|mut row, &m| row *= m);
                z
            }
            Precond::Nystrom { ut, g, ridge } => {
                // (r I + U K00^{-1} U^T)^{-1} R = (R - U G^{-1} U^T R) / r   (Woodbury)
                let w = g.solve(a_b(ut.view(), r.view()).view())?;
                let mut z = r - &a_b(ut.t(), w.view());
                z /= *ridge;
                z
            }
        })
    }
}

/// Kernel regression on a tiled kernel (see the module documentation): `(K + r I)^{-1} Y`
/// with `r = diag_reg tr(K) / N`. Working set: one pass and 7 vectors of `(N, k)`.
pub fn kernel_regression_tiled(
    kernel: &TiledKernel<'_>,
    y_train: &Tensor<f64>,
    diag_reg: f64,
    options: TiledOptions,
) -> Result<TiledFit> {
    let op = "kernel_regression_tiled";
    let n = kernel.n();
    let y = targets(op, "y_train", y_train, n)?;
    let k = y.ncols();
    let s = kernel.store().layout().range(0).len();
    let extra = match options.preconditioner {
        Preconditioner::Jacobi => 0,
        Preconditioner::Nystrom => 8 * s * n + 24 * s * s,
    };
    let working_set = kernel.check_budget(op, options.budget_bytes, 7, k, extra)?;
    positive(op, "tolerance", options.tolerance)?;
    let diag = kernel.diagonal()?;
    let ridge = non_negative(op, "diag_reg", diag_reg)? * diag.iter().sum::<f64>() / n as f64;
    let precond = match options.preconditioner {
        Preconditioner::Jacobi => Precond::jacobi(op, &diag, ridge)?,
        Preconditioner::Nystrom => Precond::nystrom(op, kernel, ridge)?,
    };
    let apply_a = |p: &Array2<f64>| -> Result<Array2<f64>> {
        let mut q = kernel.apply(p.view())?;
        q.scaled_add(ridge, p);
        Ok(q)
    };
    let y_norm = column_norms(y.view());
    let mut x = Array2::<f64>::zeros((n, k));
    let mut r = y.clone();
    let mut z = precond.apply(&r)?;
    let mut p = z.clone();
    let mut rz: Vec<f64> = (0..k).map(|c| r.column(c).dot(&z.column(c))).collect();
    let mut done: Vec<bool> = (0..k).map(|c| y_norm[c] == 0.0).collect();
    let mut iterations = 0;
    let mut first = true;
    while !done.iter().all(|&d| d) {
        if !first {
            z = precond.apply(&r)?;
            for c in 0..k {
                if done[c] {
                    continue;
                }
                let rz_new = r.column(c).dot(&z.column(c));
                let beta = rz_new / rz[c];
                rz[c] = rz_new;
                let mut pc = p.column_mut(c);
                for (pi, zi) in pc.iter_mut().zip(z.column(c)) {
                    *pi = zi + beta * *pi;
                }
            }
        }
        first = false;
        if iterations >= options.max_passes {
            return Err(NtkError::LinearAlgebra {
                op,
                detail: format!(
                    "conjugate gradients did not reach the relative residual {} in {} iterations (raise max_passes or diag_reg)",
                    options.tolerance, options.max_passes
                ),
            });
        }
        let q = apply_a(&p)?;
        iterations += 1;
        let mut worst = 0.0_f64;
        for c in 0..k {
            if done[c] {
                continue;
            }
            let pq = p.column(c).dot(&q.column(c));
            if pq.is_nan() || pq <= 0.0 {
                return Err(NtkError::LinearAlgebra {
                    op,
                    detail: format!(
                        "p^T (K + r I) p = {pq} at iteration {iterations}: the kernel is not positive definite (add diag_reg)"
                    ),
                });
            }
            let alpha = rz[c] / pq;
            x.column_mut(c).scaled_add(alpha, &p.column(c));
            r.column_mut(c).scaled_add(-alpha, &q.column(c));
            let res = r.column(c).dot(&r.column(c)).sqrt();
            worst = worst.max(res / y_norm[c]);
            if res <= options.tolerance * y_norm[c] {
                done[c] = true;
            }
        }
        if let Some(f) = options.progress {
            f(iterations, worst);
        }
    }
    let true_r = &y - &apply_a(&x)?;
    let relative_residual = column_norms(true_r.view())
        .iter()
        .zip(&y_norm)
        .map(|(r, y)| if *y > 0.0 { r / y } else { 0.0 })
        .fold(0.0, f64::max);
    Ok(TiledFit {
        coefficients: to_tensor(x),
        method: TiledMethod::ConjugateGradient { iterations, relative_residual, ridge },
        passes: iterations + 2, // the diagonal tiles count as less than a pass; the check is one
        working_set,
    })
}

/// `f_0(X*) + K(X*, X) w` with the cross kernel `kind` of `arch` computed block by block
/// (blocks of the store's tile size, never stored): `x_train` must be the store's data.
/// Working set: about four `b x b` f64 matrices of the kernel recursion and the `(m, k)`
/// output.
#[allow(clippy::too_many_arguments)]
pub fn predict_tiled(
    kernel: &TiledKernel<'_>,
    arch: &Architecture,
    x_train: &Tensor<f64>,
    x_test: &Tensor<f64>,
    kind: KernelKind,
    coefficients: &Tensor<f64>,
    f0_test: Option<&Tensor<f64>>,
    budget_bytes: usize,
) -> Result<Tensor<f64>> {
    let op = "predict_tiled";
    let store = kernel.store();
    let config = StoreConfig::new(arch, x_train, store.config().tile)?;
    if let Some((field, want, found)) = store.config().first_difference(&config) {
        return Err(NtkError::Store {
            op,
            path: store.dir().to_path_buf(),
            field: format!("config.{field}"),
            detail: format!("the store holds {want}, the arguments give {found}"),
        });
    }
    let layout = store.layout();
    let w = targets(op, "coefficients", coefficients, layout.n())?;
    let m = x_test.shape().first().copied().unwrap_or(0);
    let b = layout.tile().min(layout.n());
    let need = 8 * (4 * b * b + m * w.ncols());
    if budget_bytes < need {
        return Err(NtkError::Budget {
            op,
            budget: budget_bytes,
            detail: format!(
                "the working set needs at least {need} bytes: four {b}x{b} kernel blocks and the ({m}, {}) output",
                w.ncols()
            ),
        });
    }
    let mut out = match f0_test {
        Some(f) => targets(op, "f0_test", f, m)?,
        None => Array2::zeros((m, w.ncols())),
    };
    if out.ncols() != w.ncols() {
        return Err(NtkError::Shape {
            op,
            what: "f0_test must have one column per output".into(),
            left: out.shape().to_vec(),
            right: w.shape().to_vec(),
        });
    }
    for s in (0..m).step_by(b) {
        let xs = rows(x_test, s..(s + b).min(m));
        for j in 0..layout.blocks() {
            let rj = layout.range(j);
            let kern = arch.kernels(&xs, Some(&rows(x_train, rj.clone())))?;
            let kt = if kind == KernelKind::Nngp { kern.nngp } else { kern.ntk };
            let kv = view2(op, "cross kernel", &kt)?;
            let part = a_b(kv, w.slice(ndarray::s![rj, ..]));
            let mut o = out.slice_mut(ndarray::s![s..(s + b).min(m), ..]);
            o += &part;
        }
    }
    Ok(to_tensor(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::{GradientFlow, kernel_regression};
    use crate::tiled::store::TileStore;
    use crate::tiled::{Shard, gradient_flow_tiled, testing::*};
    use ndarray::Ix2;

    fn rel_err(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
        let (a, b) = (a.to_vec(), b.to_vec());
        let d: f64 = a.iter().zip(&b).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        d / b.iter().map(|b| b * b).sum::<f64>().sqrt()
    }

    fn kernels(arch: &Architecture, x: &Tensor<f64>, xt: &Tensor<f64>, kind: KernelKind) -> (Tensor<f64>, Tensor<f64>) {
        let pick = |k: crate::AnalyticKernels| if kind == KernelKind::Nngp { k.nngp } else { k.ntk };
        (pick(arch.kernels(x, None).unwrap()), pick(arch.kernels(xt, Some(x)).unwrap()))
    }

    /// Budget: three quarters of the kernel's bytes, so the solve never holds it.
    fn budget(n: usize) -> usize {
        6 * n * n
    }

    #[test]
    fn tiled_kernel_regression_agrees_with_the_in_memory_solve() {
        let arch = &archs()[0];
        let y_seed = 11;
        for (n, tile) in [(60, 8), (97, 13), (97, 20), (128, 16)] {
            let (x, xt) = (points(n, 9), points(7, 10));
            let y = Tensor::<f64>::randn(&[n, 2], &mut dl_tensor::seeded_rng(y_seed));
            let dir = fresh_dir(&format!("cg-{n}-{tile}"));
            TileStore::compute(&dir, arch, &x, tile, Shard::WHOLE).unwrap();
            let store = TileStore::open(&dir).unwrap();
            for (kind, preconditioner) in [
                (KernelKind::Ntk, Preconditioner::Nystrom),
                (KernelKind::Nngp, Preconditioner::Nystrom),
                (KernelKind::Ntk, Preconditioner::Jacobi),
            ] {
                let (k, kx) = kernels(arch, &x, &xt, kind);
                let op = TiledKernel::new(&store, kind);
                let options = TiledOptions { preconditioner, ..TiledOptions::with_budget(budget(n)) };
                let fit = kernel_regression_tiled(&op, &y, 1e-3, options).unwrap();
                assert!(fit.working_set < 8 * n * n, "the working set is smaller than the kernel");
                let ours = predict_tiled(&op, arch, &x, &xt, kind, &fit.coefficients, None, budget(n)).unwrap();
                let (theirs, _) = kernel_regression(&k, &kx, &y, 1e-3).unwrap();
                // CG to a relative residual of 1e-12 on a system of condition number < 1e4
                let err = rel_err(&ours, &theirs);
                assert!(
                    err < 1e-8,
                    "N = {n}, tile {tile}, {kind:?}, {preconditioner:?}: relative error {err}, {:?}",
                    fit.method
                );
                let TiledMethod::ConjugateGradient { relative_residual, .. } = fit.method else { panic!() };
                assert!(relative_residual < 1e-11, "{relative_residual}");
            }
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    #[test]
    fn tiled_gradient_flow_agrees_with_the_eigendecomposition() {
        let arch = &archs()[1];
        for (n, tile) in [(31, 9), (48, 48)] {
            let (x, xt) = (points(n, 12), points(5, 13));
            let y = Tensor::<f64>::randn(&[n, 1], &mut dl_tensor::seeded_rng(14));
            let dir = fresh_dir(&format!("cheb-{n}-{tile}"));
            TileStore::compute(&dir, arch, &x, tile, Shard::WHOLE).unwrap();
            let store = TileStore::open(&dir).unwrap();
            let (k, kx) = kernels(arch, &x, &xt, KernelKind::Ntk);
            let flow = GradientFlow::new(&k, &y, None, 0.5).unwrap().with_test(&kx, None).unwrap();
            let op = TiledKernel::new(&store, KernelKind::Ntk);
            let lmax = *flow.eigenvalues().last().unwrap();
            // a lambda_max from 0.1 to 1000: the degree grows like sqrt(a L)
            for t in [0.2, 3.0, 40.0, 2000.0].map(|s| s * n as f64 / (0.5 * lmax)) {
                let opts = TiledOptions { budget_bytes: 8 * n * n + 100_000, ..TiledOptions::with_budget(0) };
                let fit = gradient_flow_tiled(&op, &y, 0.5, t, opts).unwrap();
                let ours =
                    predict_tiled(&op, arch, &x, &xt, KernelKind::Ntk, &fit.coefficients, None, 1 << 24).unwrap();
                let theirs = flow.predict_test(t).unwrap();
                let err = rel_err(&ours, &theirs);
                assert!(err < 1e-8, "N = {n}, t = {t}: relative error {err}, {:?}", fit.method);
                // on the training points: f_t(X) = K w
                let train = to_tensor(op.apply(view2("t", "w", &fit.coefficients).unwrap()).unwrap());
                let err = rel_err(&train, &flow.predict_train(t).unwrap());
                assert!(err < 1e-8, "train, t = {t}: {err}");
            }
            assert!(gradient_flow_tiled(&op, &y, 0.5, f64::INFINITY, TiledOptions::with_budget(1 << 24)).is_err());
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    #[test]
    fn a_budget_below_the_working_set_is_an_error_stating_the_minimum() {
        let (arch, x) = (&archs()[0], points(40, 15));
        let y = Tensor::<f64>::randn(&[40, 1], &mut dl_tensor::seeded_rng(16));
        let dir = fresh_dir("budget");
        TileStore::compute(&dir, arch, &x, 10, Shard::WHOLE).unwrap();
        let store = TileStore::open(&dir).unwrap();
        let op = TiledKernel::new(&store, KernelKind::Ntk);
        // two 10x10 tile files (928 bytes each), 1 chunk of partial sums (80), 7 vectors of 40
        // (2240), the Nystrom preconditioner's U^T (10 x 40) and three 10 x 10 matrices
        let need = 2 * (128 + 800) + 80 + 7 * 40 * 8 + 8 * 10 * 40 + 24 * 100;
        let e = kernel_regression_tiled(&op, &y, 1e-3, TiledOptions::with_budget(need - 1)).unwrap_err();
        match &e {
            NtkError::Budget { budget, detail, .. } => {
                assert_eq!(*budget, need - 1);
                assert!(detail.contains(&format!("at least {need} bytes")), "{e}");
            }
            e => panic!("expected a budget error, got {e}"),
        }
        assert_eq!(kernel_regression_tiled(&op, &y, 1e-3, TiledOptions::with_budget(need)).unwrap().working_set, need);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_pass_gives_the_same_bits_with_one_thread_or_two() {
        let (arch, x) = (&archs()[0], points(300, 17));
        let dir = fresh_dir("threads");
        TileStore::compute(&dir, arch, &x, 140, Shard::WHOLE).unwrap();
        let store = TileStore::open(&dir).unwrap();
        let op = TiledKernel::new(&store, KernelKind::Ntk);
        let p = Tensor::<f64>::randn(&[300, 3], &mut dl_tensor::seeded_rng(18));
        let p = p.view().into_dimensionality::<Ix2>().unwrap().to_owned();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| op.apply(p.view()).unwrap())
        };
        let (one, two) = (run(1), run(2));
        assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()));
        // and the pass is K P: compare with the in-memory product
        let k = arch.kernels(&x, None).unwrap().ntk;
        let full = a_b(k.view().into_dimensionality::<Ix2>().unwrap(), p.view());
        let err = (&one - &full).iter().map(|d| d.abs()).fold(0.0, f64::max);
        assert!(err < 1e-12 * full.iter().map(|d| d.abs()).fold(0.0, f64::max), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
