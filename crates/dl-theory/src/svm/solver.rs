//! Dual coordinate ascent with exact polishing on the support set, and the KKT residuals
//! that certify a solution (equations in the module documentation of [`crate::svm`]).

use dl_tensor::Tensor;
use ndarray::{Array1, Array2, Axis};

use super::{Result, SvmError};
use crate::least_squares::LeastSquares;
use crate::least_squares::matrix::matrix;

/// Stopping rules of [`hard_margin_svm`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvmOptions {
    /// The most sweeps of coordinate ascent over all examples.
    pub max_sweeps: usize,
    /// The largest KKT residual accepted (every residual of [`KktResiduals`] is relative).
    pub tolerance: f64,
}

impl Default for SvmOptions {
    /// 100 000 sweeps, tolerance 1e-12.
    fn default() -> Self {
        SvmOptions { max_sweeps: 100_000, tolerance: 1e-12 }
    }
}

/// How far a candidate `(w, α)` is from satisfying the KKT conditions; every entry is
/// dimensionless and 0 at the optimum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KktResiduals {
    /// `max(0, max_i (1 − g_iᵀ w))`: the worst violated margin constraint.
    pub primal_infeasibility: f64,
    /// `max(0, −min_i α_i) / Σ |α_i|`: a negative multiplier.
    pub dual_infeasibility: f64,
    /// `max_i α_i |g_iᵀ w − 1| / Σ |α_i|`: a multiplier on an inactive constraint.
    pub complementary_slackness: f64,
    /// `‖w − Σ α_i g_i‖ / ‖w‖`.
    pub stationarity: f64,
    /// `|‖w‖² − Σ α_i| / ‖w‖²`: primal minus dual objective, relative.
    pub duality_gap: f64,
}

impl KktResiduals {
    /// The largest residual.
    pub fn max(&self) -> f64 {
        [
            self.primal_infeasibility,
            self.dual_infeasibility,
            self.complementary_slackness,
            self.stationarity,
            self.duality_gap,
        ]
        .into_iter()
        .fold(0.0, f64::max)
    }
}

/// The solution of the hard-margin SVM.
#[derive(Clone, Debug, PartialEq)]
pub struct HardMarginSvm {
    /// `ŵ`, the minimum-norm weights with every margin `y_i ŵᵀ x_i ≥ 1`.
    pub weights: Vec<f64>,
    /// The multipliers `α` (zero off the support set).
    pub dual: Vec<f64>,
    /// The geometric margin `1 / ‖ŵ‖`.
    pub margin: f64,
    /// Indices with `α_i > 0`, ascending.
    pub support: Vec<usize>,
    /// The KKT residuals of the returned solution.
    pub kkt: KktResiduals,
    /// Sweeps of coordinate ascent made.
    pub sweeps: usize,
}

impl HardMarginSvm {
    /// `ŵ / ‖ŵ‖`, the max-margin direction.
    pub fn direction(&self) -> Vec<f64> {
        let norm = self.weights.iter().map(|v| v * v).sum::<f64>().sqrt();
        self.weights.iter().map(|v| v / norm).collect()
    }
}

/// The signed examples `g_i = y_i x_i` as the rows of a matrix, after checking the shapes,
/// finiteness and labels.
fn signed_examples(op: &'static str, x: &Tensor<f64>, y: &[f64]) -> Result<Array2<f64>> {
    let mut g = matrix(op, "the examples", x)?;
    if y.len() != g.nrows() {
        return Err(SvmError::Shape {
            op,
            what: "the labels must have one entry per example (row)".into(),
            left: x.shape().to_vec(),
            right: vec![y.len()],
        });
    }
    if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| **v != 1.0 && **v != -1.0) {
        return Err(SvmError::InvalidArgument {
            op,
            name: "labels",
            value: format!("{v} at index {i}"),
            requirement: "every label must be -1 or +1".into(),
        });
    }
    for (mut row, &yi) in g.rows_mut().into_iter().zip(y) {
        row *= yi;
    }
    Ok(g)
}

/// The KKT residuals of `(w, α)` for examples `x` of shape `(n, d)` and labels `y ∈ {±1}ⁿ`.
///
/// Errors: shapes that disagree, non-finite entries, labels other than ±1, `w = 0`.
pub fn kkt_residuals(x: &Tensor<f64>, y: &[f64], w: &[f64], alpha: &[f64]) -> Result<KktResiduals> {
    let op = "kkt_residuals";
    let g = signed_examples(op, x, y)?;
    if w.len() != g.ncols() || alpha.len() != g.nrows() {
        return Err(SvmError::Shape {
            op,
            what: "w must have d entries and alpha n entries".into(),
            left: x.shape().to_vec(),
            right: vec![w.len(), alpha.len()],
        });
    }
    if w.iter().chain(alpha).any(|v| !v.is_finite()) || w.iter().all(|v| *v == 0.0) {
        return Err(SvmError::InvalidArgument {
            op,
            name: "w",
            value: format!("{w:?}"),
            requirement: "w and alpha must be finite and w non-zero".into(),
        });
    }
    Ok(residuals(&g, &Array1::from(w.to_vec()), &Array1::from(alpha.to_vec())))
}

fn residuals(g: &Array2<f64>, w: &Array1<f64>, alpha: &Array1<f64>) -> KktResiduals {
    let margins = g.dot(w);
    let w2 = w.dot(w);
    let alpha_l1: f64 = alpha.iter().map(|a| a.abs()).sum::<f64>().max(f64::MIN_POSITIVE);
    let recon = g.t().dot(alpha);
    KktResiduals {
        primal_infeasibility: margins.iter().map(|m| 1.0 - m).fold(0.0, f64::max),
        dual_infeasibility: alpha.iter().map(|a| -a).fold(0.0, f64::max) / alpha_l1,
        complementary_slackness: alpha.iter().zip(&margins).map(|(a, m)| (a * (m - 1.0)).abs()).fold(0.0, f64::max)
            / alpha_l1,
        stationarity: (w - &recon).dot(&(w - &recon)).sqrt() / w2.sqrt(),
        duality_gap: (w2 - alpha.sum()).abs() / w2,
    }
}

/// The hard-margin SVM through the origin of examples `x` of shape `(n, d)` with labels
/// `y ∈ {−1, +1}ⁿ`, by dual coordinate ascent with exact polishing (see the module
/// documentation), returned once every KKT residual is below `options.tolerance`.
///
/// Errors: shapes that disagree, non-finite entries, labels other than ±1, a zero example,
/// data that no hyperplane through the origin separates, or no KKT point within
/// `options.max_sweeps` sweeps. Separability is tested with the certificate every iterate
/// carries: for any `α ≥ 0`, `‖Σ α_i g_i‖ / Σ α_i` is at least the distance from the origin
/// to the convex hull of the `g_i`, which is the max margin `γ` (0 for non-separable
/// data). Once this ratio falls below `10⁻⁶ · max_i ‖x_i‖`, the data are reported as not
/// separable (with a margin, if any, below that). On non-separable data the ratio falls
/// like `1 / sweeps`, so a small `max_sweeps` may end with [`SvmError::NotConverged`]
/// first.
pub fn hard_margin_svm(x: &Tensor<f64>, y: &[f64], options: &SvmOptions) -> Result<HardMarginSvm> {
    let op = "hard_margin_svm";
    if !(options.tolerance.is_finite() && options.tolerance > 0.0) {
        return Err(SvmError::InvalidArgument {
            op,
            name: "tolerance",
            value: options.tolerance.to_string(),
            requirement: "must be finite and positive".into(),
        });
    }
    let g = signed_examples(op, x, y)?;
    let (n, d) = g.dim();
    let norms2: Vec<f64> = g.rows().into_iter().map(|r| r.dot(&r)).collect();
    if let Some(i) = norms2.iter().position(|&s| s == 0.0) {
        return Err(SvmError::NotSeparable {
            op,
            detail: format!("example {i} is the zero vector, whose margin is always 0"),
        });
    }
    let scale = norms2.iter().cloned().fold(0.0, f64::max).sqrt();
    let mut alpha = Array1::<f64>::zeros(n);
    let mut w = Array1::<f64>::zeros(d);
    let mut previous_support: Vec<usize> = Vec::new();
    let mut polished_support: Vec<usize> = Vec::new();
    let mut best = f64::INFINITY;
    for sweep in 1..=options.max_sweeps {
        for i in 0..n {
            let gi = g.row(i);
            let new = (alpha[i] + (1.0 - gi.dot(&w)) / norms2[i]).max(0.0);
            let step = new - alpha[i];
            if step != 0.0 {
                w.scaled_add(step, &gi);
                alpha[i] = new;
            }
        }
        let total = alpha.sum();
        let hull_distance = w.dot(&w).sqrt() / total;
        if total > 0.0 && hull_distance < 1e-6 * scale {
            return Err(SvmError::NotSeparable {
                op,
                detail: format!(
                    "after {sweep} sweeps the origin lies within {hull_distance:e} of the convex hull of the y_i x_i \
                     (largest example norm {scale:e}): no margin above 1e-6 of it"
                ),
            });
        }
        let support: Vec<usize> = (0..n).filter(|&i| alpha[i] > 0.0).collect();
        if support.is_empty() {
            continue;
        }
        let kkt = residuals(&g, &w, &alpha);
        best = best.min(kkt.max());
        if kkt.max() <= options.tolerance {
            return Ok(solution(w, alpha, kkt, sweep));
        }
        // the polished point depends on the support set only: try each stable set once
        if support == previous_support
            && support != polished_support
            && let Some((pw, pa)) = {
                polished_support = support.clone();
                polish(op, &g, &support)?
            }
        {
            let kkt = residuals(&g, &pw, &pa);
            best = best.min(kkt.max());
            if kkt.max() <= options.tolerance {
                return Ok(solution(pw, pa, kkt, sweep));
            }
        }
        previous_support = support;
    }
    Err(SvmError::NotConverged { op, sweeps: options.max_sweeps, residual: best, tolerance: options.tolerance })
}

/// The exact solution of the equalities `g_iᵀ w = 1` on the support set: the minimum-norm
/// `w = G_S⁺ 1` and `α_S = (G_Sᵀ)⁺ w` (`= (G_S G_Sᵀ)⁻¹ 1` when `G_S` has full row rank).
/// `None` when a multiplier comes out negative (a support set that is not the optimal one).
fn polish(op: &'static str, g: &Array2<f64>, support: &[usize]) -> Result<Option<(Array1<f64>, Array1<f64>)>> {
    let gs = g.select(Axis(0), support);
    let ones = Array2::<f64>::ones((support.len(), 1));
    let ls = LeastSquares::from_array(op, gs.view())?;
    let rcond = ls.checked_rcond(op, None)?;
    let (w, _, _) = ls.min_norm_array(ones.view(), rcond);
    let lt = LeastSquares::from_array(op, gs.t())?;
    let (a_s, _, _) = lt.min_norm_array(w.view(), rcond);
    if a_s.iter().any(|&a| a < 0.0) {
        return Ok(None);
    }
    let mut alpha = Array1::<f64>::zeros(g.nrows());
    for (k, &i) in support.iter().enumerate() {
        alpha[i] = a_s[[k, 0]];
    }
    Ok(Some((w.column(0).to_owned(), alpha)))
}

fn solution(w: Array1<f64>, alpha: Array1<f64>, kkt: KktResiduals, sweeps: usize) -> HardMarginSvm {
    let margin = 1.0 / w.dot(&w).sqrt();
    HardMarginSvm {
        support: (0..alpha.len()).filter(|&i| alpha[i] > 0.0).collect(),
        weights: w.to_vec(),
        dual: alpha.to_vec(),
        margin,
        kkt,
        sweeps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    /// Separable data through the origin: x ~ N(0, I_d), labelled by the sign of a random
    /// direction, keeping only points at distance >= gap from the hyperplane.
    pub(crate) fn separable(n: usize, d: usize, gap: f64, seed: u64) -> (Tensor<f64>, Vec<f64>) {
        let mut rng = seeded_rng(seed);
        let dir = Tensor::<f64>::randn(&[d], &mut rng).to_vec();
        let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        while ys.len() < n {
            let p = Tensor::<f64>::randn(&[d], &mut rng).to_vec();
            let s: f64 = p.iter().zip(&dir).map(|(a, b)| a * b).sum::<f64>() / norm;
            if s.abs() >= gap {
                xs.extend(p);
                ys.push(s.signum());
            }
        }
        (Tensor::from_vec(xs, &[n, d]).unwrap(), ys)
    }

    /// The max-margin unit direction in 2-D by brute force: the optimum of
    /// `min_k g_kᵀ u` over the unit circle sits at a single example's direction or where
    /// two examples' margins are equal; try every such candidate.
    pub(crate) fn brute_force_2d(x: &Tensor<f64>, y: &[f64]) -> (f64, [f64; 2]) {
        let v = x.to_vec();
        let g: Vec<[f64; 2]> = y.iter().enumerate().map(|(i, yi)| [yi * v[2 * i], yi * v[2 * i + 1]]).collect();
        let mut candidates: Vec<[f64; 2]> = Vec::new();
        for a in &g {
            let n = (a[0] * a[0] + a[1] * a[1]).sqrt();
            candidates.push([a[0] / n, a[1] / n]);
        }
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                let diff = [a[0] - b[0], a[1] - b[1]];
                let n = (diff[0] * diff[0] + diff[1] * diff[1]).sqrt();
                if n > 0.0 {
                    candidates.push([-diff[1] / n, diff[0] / n]);
                    candidates.push([diff[1] / n, -diff[0] / n]);
                }
            }
        }
        let margin = |u: &[f64; 2]| g.iter().map(|a| a[0] * u[0] + a[1] * u[1]).fold(f64::INFINITY, f64::min);
        candidates.into_iter().map(|u| (margin(&u), u)).max_by(|a, b| a.0.total_cmp(&b.0)).unwrap()
    }

    #[test]
    fn matches_the_2d_brute_force_on_random_separable_sets() {
        for seed in 0..30 {
            let (x, y) = separable(25, 2, 0.05, seed);
            let svm = hard_margin_svm(&x, &y, &SvmOptions::default()).unwrap();
            let (margin, u) = brute_force_2d(&x, &y);
            // both are exact up to rounding: a few ulps of the O(1) inputs
            assert!((svm.margin - margin).abs() < 1e-12, "seed {seed}: {} vs {margin}", svm.margin);
            let dir = svm.direction();
            assert!((dir[0] - u[0]).abs() < 1e-10 && (dir[1] - u[1]).abs() < 1e-10, "seed {seed}: {dir:?} vs {u:?}");
            assert!(svm.kkt.max() <= 1e-12);
            assert!((1..=2).contains(&svm.support.len()), "seed {seed}: support {:?}", svm.support);
        }
    }

    #[test]
    fn satisfies_kkt_in_higher_dimensions_and_every_other_separator_has_a_smaller_margin() {
        for seed in 0..10 {
            let (x, y) = separable(60, 8, 0.1, 100 + seed);
            let svm = hard_margin_svm(&x, &y, &SvmOptions::default()).unwrap();
            // recompute the residuals independently of the solver's bookkeeping
            let kkt = kkt_residuals(&x, &y, &svm.weights, &svm.dual).unwrap();
            assert!(kkt.max() <= 1e-12, "seed {seed}: {kkt:?}");
            // perturbing the direction never increases the margin (optimality, sampled)
            let mut rng = seeded_rng(seed);
            let v = x.to_vec();
            let dir = svm.direction();
            let margin_of = |u: &[f64]| {
                let n = u.iter().map(|a| a * a).sum::<f64>().sqrt();
                (0..60)
                    .map(|i| y[i] * (0..8).map(|k| v[i * 8 + k] * u[k]).sum::<f64>() / n)
                    .fold(f64::INFINITY, f64::min)
            };
            assert!((margin_of(&dir) - svm.margin).abs() < 1e-12);
            for _ in 0..200 {
                let eps = Tensor::<f64>::randn(&[8], &mut rng).to_vec();
                let u: Vec<f64> = dir.iter().zip(&eps).map(|(a, e)| a + 1e-3 * e).collect();
                assert!(margin_of(&u) <= svm.margin + 1e-15);
            }
        }
    }

    #[test]
    fn known_solution_with_one_and_with_two_support_vectors() {
        // symmetric pair: ŵ = (1, 0) with both points as support vectors
        let x = Tensor::from_vec(vec![1.0, 1.0, -1.0, 1.0, 3.0, 0.0], &[3, 2]).unwrap();
        let svm = hard_margin_svm(&x, &[1.0, -1.0, 1.0], &SvmOptions::default()).unwrap();
        assert!((svm.weights[0] - 1.0).abs() < 1e-14 && svm.weights[1].abs() < 1e-14, "{:?}", svm.weights);
        assert_eq!(svm.support, vec![0, 1]);
        // one point: ŵ = x / ‖x‖²
        let x1 = Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap();
        let s1 = hard_margin_svm(&x1, &[1.0], &SvmOptions::default()).unwrap();
        assert!((s1.weights[0] - 0.12).abs() < 1e-15 && (s1.weights[1] - 0.16).abs() < 1e-15);
        assert!((s1.margin - 5.0).abs() < 1e-13);
    }

    #[test]
    fn bad_inputs_and_non_separable_data_are_errors() {
        let x = Tensor::from_vec(vec![1.0, 0.0, -1.0, 0.0], &[2, 2]).unwrap();
        // the same side of the origin with opposite labels... (x and -x with equal labels)
        let long = SvmOptions { max_sweeps: 10_000_000, ..SvmOptions::default() };
        let e = hard_margin_svm(&x, &[1.0, 1.0], &long).unwrap_err().to_string();
        assert!(e.contains("not linearly separable") && e.contains("convex hull"), "{e}");
        let short = SvmOptions { max_sweeps: 100, ..SvmOptions::default() };
        let e = hard_margin_svm(&x, &[1.0, 1.0], &short).unwrap_err().to_string();
        assert!(e.contains("no KKT point within 100 sweeps"), "{e}");
        let e = hard_margin_svm(&x, &[1.0], &SvmOptions::default()).unwrap_err().to_string();
        assert!(e.contains("[2, 2]") && e.contains("[1]"), "{e}");
        let e = hard_margin_svm(&x, &[1.0, 0.5], &SvmOptions::default()).unwrap_err().to_string();
        assert!(e.contains("0.5 at index 1"), "{e}");
        let z = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0], &[2, 2]).unwrap();
        let e = hard_margin_svm(&z, &[1.0, 1.0], &SvmOptions::default()).unwrap_err().to_string();
        assert!(e.contains("example 0 is the zero vector"), "{e}");
        let bad = SvmOptions { tolerance: 0.0, ..SvmOptions::default() };
        assert!(hard_margin_svm(&x, &[1.0, -1.0], &bad).is_err());
        let nan = Tensor::from_vec(vec![f64::NAN, 0.0], &[1, 2]).unwrap();
        assert!(hard_margin_svm(&nan, &[1.0], &SvmOptions::default()).unwrap_err().to_string().contains("NaN"));
        let e = kkt_residuals(&x, &[1.0, -1.0], &[0.0, 0.0], &[1.0, 1.0]).unwrap_err().to_string();
        assert!(e.contains("non-zero"), "{e}");
    }
}
