//! Measuring an approximation: [`verify_approximation_error`] evaluates a network (any
//! dl-layers module mapping `(batch, d)` to `(batch, 1)`) against its target on a dense
//! uniform grid and on uniformly random points of the box, and reports the sup and the L2
//! error of each.
//!
//! The L2 error is the root mean square over the points: on the grid it approximates
//! `(int |N - f|^2 dmu)^(1/2)` for `mu` the uniform probability on the box (a Riemann sum),
//! on the random points it is the Monte Carlo estimate of the same quantity. Networks are
//! evaluated in chunks of rows so that the hidden activations stay below about 32 MB
//! whatever the width.

use dl_autodiff::{Var, no_grad};
use dl_layers::Module;
use dl_tensor::{Tensor, TensorRng, seeded_rng};
use rand::RngExt;

use crate::approximation::error::{ApproximationError, Result};
use crate::approximation::target::Target;

/// The largest number of points one verification evaluates (`2^26`).
pub const MAX_VERIFY_POINTS: usize = 1 << 26;

/// Sup and L2 (root-mean-square) error on a set of points.
#[derive(Clone, Debug, PartialEq)]
pub struct PointErrors {
    /// `max |N(x) - f(x)|`.
    pub sup: f64,
    /// `sqrt(mean |N(x) - f(x)|^2)`.
    pub l2: f64,
    /// Where the sup is attained.
    pub worst_point: Vec<f64>,
    /// Number of points.
    pub points: usize,
}

/// What [`verify_approximation_error`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorReport {
    /// On the uniform grid (endpoints included).
    pub grid: PointErrors,
    /// On uniformly random points.
    pub random: PointErrors,
}

impl ErrorReport {
    /// The larger of the two sup errors.
    pub fn sup(&self) -> f64 {
        self.grid.sup.max(self.random.sup)
    }
}

/// Evaluates `network` on `points` (`n` points of dimension `dim`, row-major) in chunks.
pub fn evaluate_network(network: &dyn Module<f64>, points: &[f64], dim: usize) -> Result<Vec<f64>> {
    let n = points.len() / dim.max(1);
    let params: usize = network.parameters().iter().map(|p| p.param.shape().iter().product::<usize>()).sum();
    let rows = ((1usize << 22) / params.max(1)).clamp(1, 4096);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(rows) {
        let end = (start + rows).min(n);
        let x = Tensor::from_vec(points[start * dim..end * dim].to_vec(), &[end - start, dim])?;
        let y = no_grad(|| network.forward(&Var::constant(x)))?;
        let y = y.value().to_vec();
        if y.len() != end - start {
            return Err(ApproximationError::Dimension {
                op: "evaluate_network",
                what: "network outputs per point (the network must map (batch, d) to (batch, 1))",
                expected: end - start,
                got: y.len(),
            });
        }
        out.extend(y);
    }
    Ok(out)
}

/// Sup and L2 error of `network` against `target` on the given points.
pub fn error_on_points(network: &dyn Module<f64>, target: &Target<'_>, points: &[Vec<f64>]) -> Result<PointErrors> {
    const OP: &str = "error_on_points";
    let d = target.dim();
    let mut flat = Vec::with_capacity(points.len() * d);
    for p in points {
        if p.len() != d {
            return Err(ApproximationError::Dimension { op: OP, what: "point coordinates", expected: d, got: p.len() });
        }
        flat.extend_from_slice(p);
    }
    let values = evaluate_network(network, &flat, d)?;
    let mut sup = 0.0f64;
    let mut sq = 0.0;
    let mut worst = points.first().cloned().unwrap_or_default();
    for (p, y) in points.iter().zip(&values) {
        let e = (y - target.eval_in(OP, p)?).abs();
        if e > sup || e.is_nan() {
            sup = if e.is_nan() { f64::NAN } else { e };
            worst = p.clone();
        }
        sq += e * e;
    }
    Ok(PointErrors { sup, l2: (sq / points.len().max(1) as f64).sqrt(), worst_point: worst, points: points.len() })
}

/// The uniform tensor grid with `per_axis` points on every axis of the target's box,
/// endpoints included.
pub fn uniform_grid(target: &Target<'_>, per_axis: usize) -> Result<Vec<Vec<f64>>> {
    let d = target.dim();
    let total = (per_axis as u128).checked_pow(d as u32).unwrap_or(u128::MAX);
    if per_axis < 2 || total > MAX_VERIFY_POINTS as u128 {
        return Err(ApproximationError::InvalidArgument {
            op: "uniform_grid",
            name: "grid_per_axis".into(),
            value: per_axis as f64,
            requirement: "must be at least 2, with grid_per_axis^d at most 2^26 points",
        });
    }
    let (lo, hi) = (target.lo(), target.hi());
    Ok((0..total as usize)
        .map(|flat| {
            let mut rest = flat;
            let mut p = vec![0.0; d];
            for i in (0..d).rev() {
                let k = rest % per_axis;
                rest /= per_axis;
                p[i] = if k == per_axis - 1 {
                    hi[i]
                } else {
                    lo[i] + (hi[i] - lo[i]) * (k as f64 / (per_axis - 1) as f64)
                };
            }
            p
        })
        .collect())
}

/// `count` points drawn uniformly from the target's box.
pub fn random_points(target: &Target<'_>, count: usize, rng: &mut TensorRng) -> Vec<Vec<f64>> {
    let (lo, hi) = (target.lo(), target.hi());
    (0..count).map(|_| lo.iter().zip(hi).map(|(&a, &b)| a + (b - a) * rng.random::<f64>()).collect()).collect()
}

/// Measures `network` against `target` on a uniform grid of `grid_per_axis` points per axis
/// and on `random_points` uniform random points drawn with `seed` (see the module
/// documentation).
///
/// ```
/// use dl_theory::approximation::{Modulus, Target, UniversalApproximator, verify_approximation_error};
/// let target = Target::new_1d(|x: f64| (6.0 * x).sin(), 0.0, 1.0, Modulus::lipschitz(6.0)?)?;
/// let approx = UniversalApproximator::sigmoid().approximate(&target, 0.05)?;
/// let report = verify_approximation_error(approx.network(), &target, 2001, 1000, 7)?;
/// assert!(report.sup() <= approx.certified_error());
/// assert!(report.grid.l2 <= report.grid.sup);
/// # Ok::<(), dl_theory::approximation::ApproximationError>(())
/// ```
pub fn verify_approximation_error(
    network: &dyn Module<f64>,
    target: &Target<'_>,
    grid_per_axis: usize,
    random_count: usize,
    seed: u64,
) -> Result<ErrorReport> {
    if random_count == 0 || random_count > MAX_VERIFY_POINTS {
        return Err(ApproximationError::InvalidArgument {
            op: "verify_approximation_error",
            name: "random_points".into(),
            value: random_count as f64,
            requirement: "must be between 1 and 2^26",
        });
    }
    let grid = uniform_grid(target, grid_per_axis)?;
    let mut rng = seeded_rng(seed);
    let random = random_points(target, random_count, &mut rng);
    Ok(ErrorReport {
        grid: error_on_points(network, target, &grid)?,
        random: error_on_points(network, target, &random)?,
    })
}
