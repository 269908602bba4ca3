//! Why the activation must not be a polynomial (Leshno, Lin, Pinkus & Schocken 1993).
//!
//! With `act(z) = z^k`, every unit `(w x + b)^k` is a polynomial of degree `<= k` in `x`,
//! and so is any sum of them:
//!
//! ```text
//! N(x) = c_0 + sum_{i=1}^{width} c_i (w_i x + b_i)^k   is in   P_k   for every width.
//! ```
//!
//! Hence `sup |N - f| >= E_k(f) = min_{p in P_k} sup |p - f|` and, on any set of points,
//! the root-mean-square error is at least that of the least-squares polynomial of degree `k`:
//! the error has a **floor** that no width lowers. Leshno et al. prove the converse: a
//! continuous activation gives universal approximation **iff** it is not a polynomial.
//!
//! The floor is computed here independently of any network:
//!
//! - **L2 floor**: least squares in the Chebyshev basis `T_0..T_k` on the given points;
//! - **sup floor**: the Remez exchange algorithm on a fine grid gives a polynomial whose
//!   error alternates in sign at `k + 2` points; by de la Vallée Poussin's theorem the
//!   smallest of those `|errors|` is a **lower bound** on `E_k(f)` (and the largest error on
//!   the grid an upper estimate).
//!
//! [`Power`] is the activation `z^k` as a dl-layers module, so polynomial networks are built,
//! evaluated and trained like any other ([`PolynomialNetwork::to_sequential`]).

use dl_autodiff::Var;
use dl_layers::{Linear, Module, Param, Sequential};
use dl_tensor::{Element, Tensor, TensorRng};
use rand::RngExt;

use crate::approximation::error::{ApproximationError, Result, positive};
use crate::approximation::least_squares::{DEFAULT_RCOND, LeastSquares, least_squares};

/// The activation `z^k` (`k >= 1`) as a module: `x * x * ... * x`.
#[derive(Clone, Debug)]
pub struct Power {
    /// The degree `k`.
    pub degree: u32,
    training: bool,
}

impl Power {
    /// `z^degree`; the degree must be at least 1.
    pub fn new(degree: u32) -> Result<Self> {
        if degree == 0 {
            return Err(ApproximationError::InvalidArgument {
                op: "Power::new",
                name: "degree".into(),
                value: 0.0,
                requirement: "must be at least 1 (z^0 is a constant)",
            });
        }
        Ok(Power { degree, training: true })
    }
}

impl<T: Element> Module<T> for Power {
    fn describe(&self) -> String {
        format!("Power({})", self.degree)
    }
    fn forward(&self, x: &Var<T>) -> dl_layers::Result<Var<T>> {
        let mut y = x.clone();
        for _ in 1..self.degree {
            y = y.mul(x)?;
        }
        Ok(y)
    }
    fn visit_parameters(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Param<T>)) {}
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}

/// `N(x) = c_0 + sum_i c_i (w_i x + b_i)^k` on one input.
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialNetwork {
    /// The degree `k` of the activation.
    pub degree: u32,
    /// Hidden weights `w_i`.
    pub weights: Vec<f64>,
    /// Hidden biases `b_i`.
    pub biases: Vec<f64>,
    /// Output weights `c_i`.
    pub outputs: Vec<f64>,
    /// Output bias `c_0`.
    pub output_bias: f64,
}

impl PolynomialNetwork {
    /// Number of hidden units.
    pub fn width(&self) -> usize {
        self.weights.len()
    }

    /// `N(x)` by direct loops.
    pub fn eval(&self, x: f64) -> f64 {
        self.output_bias
            + (0..self.width())
                .map(|i| self.outputs[i] * (self.weights[i] * x + self.biases[i]).powi(self.degree as i32))
                .sum::<f64>()
    }

    /// `Sequential[Linear(1 -> width), Power(k), Linear(width -> 1)]`.
    pub fn to_sequential(&self) -> Result<Sequential<f64>> {
        let w = self.width();
        let hidden = Linear::from_tensors(
            Tensor::from_vec(self.weights.clone(), &[w, 1])?,
            Some(Tensor::from_vec(self.biases.clone(), &[w])?),
        )?;
        let output = Linear::from_tensors(
            Tensor::from_vec(self.outputs.clone(), &[1, w])?,
            Some(Tensor::from_vec(vec![self.output_bias], &[1])?),
        )?;
        Ok(Sequential::new().with(hidden).with(Power::new(self.degree)?).with(output))
    }

    /// The monomial coefficients `a_0..a_k` of `N` (`N(x) = sum_j a_j x^j`), by the binomial
    /// expansion of every unit: the network *is* this polynomial.
    pub fn monomial_coefficients(&self) -> Vec<f64> {
        let k = self.degree as usize;
        let mut a = vec![0.0; k + 1];
        a[0] = self.output_bias;
        for i in 0..self.width() {
            // (w x + b)^k = sum_j C(k, j) w^j b^(k-j) x^j
            let mut binom = 1.0;
            for (j, aj) in a.iter_mut().enumerate() {
                *aj += self.outputs[i] * binom * self.weights[i].powi(j as i32) * self.biases[i].powi((k - j) as i32);
                binom = binom * (k - j) as f64 / (j + 1) as f64;
            }
        }
        a
    }
}

/// Fits the output layer of a width-`width` polynomial network with random hidden units
/// (`w, b` uniform on `[-1, 1]`) to `values` at `points` by least squares.
pub fn fit_polynomial_network(
    degree: u32,
    width: usize,
    points: &[f64],
    values: &[f64],
    rng: &mut TensorRng,
) -> Result<(PolynomialNetwork, LeastSquares)> {
    Power::new(degree)?;
    if width == 0 {
        return Err(ApproximationError::InvalidArgument {
            op: "fit_polynomial_network",
            name: "width".into(),
            value: 0.0,
            requirement: "must be at least 1",
        });
    }
    let weights: Vec<f64> = (0..width).map(|_| rng.random_range(-1.0..1.0)).collect();
    let biases: Vec<f64> = (0..width).map(|_| rng.random_range(-1.0..1.0)).collect();
    let cols = width + 1;
    let a: Vec<f64> = points
        .iter()
        .flat_map(|&x| {
            std::iter::once(1.0)
                .chain((0..width).map(|i| (weights[i] * x + biases[i]).powi(degree as i32)))
                .collect::<Vec<_>>()
        })
        .collect();
    let ls = least_squares(&a, points.len(), cols, values, DEFAULT_RCOND)?;
    let net = PolynomialNetwork {
        degree,
        weights,
        biases,
        outputs: ls.coefficients[1..].to_vec(),
        output_bias: ls.coefficients[0],
    };
    Ok((net, ls))
}

/// The best error any polynomial of degree `k` can reach.
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialFloor {
    /// The degree `k`.
    pub degree: u32,
    /// The least-squares (root-mean-square) error of degree `k` on the given points.
    pub l2: f64,
    /// A lower bound on `E_k(f)` (de la Vallée Poussin, from the Remez alternation).
    pub sup_lower: f64,
    /// The Remez polynomial's largest error on the grid (an upper estimate of `E_k(f)`).
    pub sup_upper: f64,
    /// Remez iterations used.
    pub remez_iterations: usize,
}

/// `T_0..T_k` at `u` in `[-1, 1]`.
fn chebyshev(u: f64, k: usize) -> Vec<f64> {
    let mut t = vec![1.0; k + 1];
    if k >= 1 {
        t[1] = u;
    }
    for j in 2..=k {
        t[j] = 2.0 * u * t[j - 1] - t[j - 2];
    }
    t
}

/// The L2 floor on `points` and the sup floor on `[a, b]` (Remez on `grid` points) of
/// degree `degree` for `f` (see the module documentation).
pub fn polynomial_floor(
    f: &dyn Fn(f64) -> f64,
    a: f64,
    b: f64,
    degree: u32,
    points: &[f64],
    grid: usize,
) -> Result<PolynomialFloor> {
    const OP: &str = "polynomial_floor";
    crate::approximation::target::check_box(OP, &[a], &[b])?;
    positive(OP, "grid", grid as f64)?;
    let k = degree as usize;
    let scale = |x: f64| (2.0 * x - a - b) / (b - a);
    // L2: least squares in the Chebyshev basis
    let values: Vec<f64> = points.iter().map(|&x| f(x)).collect();
    if let Some((x, v)) = points.iter().zip(&values).find(|(_, v)| !v.is_finite()) {
        return Err(ApproximationError::NonFiniteTarget { op: OP, point: vec![*x], value: *v });
    }
    let basis: Vec<f64> = points.iter().flat_map(|&x| chebyshev(scale(x), k)).collect();
    let l2 = least_squares(&basis, points.len(), k + 1, &values, DEFAULT_RCOND)?.residual_rms;
    // sup: discrete Remez exchange on a uniform grid
    let g = grid.max(4 * (k + 2));
    let xs: Vec<f64> = (0..g).map(|i| a + (b - a) * i as f64 / (g - 1) as f64).collect();
    let fs: Vec<f64> = xs.iter().map(|&x| f(x)).collect();
    if let Some((x, v)) = xs.iter().zip(&fs).find(|(_, v)| !v.is_finite()) {
        return Err(ApproximationError::NonFiniteTarget { op: OP, point: vec![*x], value: *v });
    }
    let tx: Vec<Vec<f64>> = xs.iter().map(|&x| chebyshev(scale(x), k)).collect();
    // reference: the grid points nearest the Chebyshev extrema
    let mut reference: Vec<usize> = (0..k + 2)
        .map(|i| {
            let u = -(std::f64::consts::PI * i as f64 / (k + 1) as f64).cos();
            (((u + 1.0) / 2.0) * (g - 1) as f64).round() as usize
        })
        .collect();
    reference.dedup();
    let mut best = (0.0f64, f64::INFINITY); // (lower, upper)
    let mut iterations = 0;
    for it in 0..100 {
        iterations = it + 1;
        if reference.len() < k + 2 {
            break;
        }
        let n = k + 2;
        let mut m = Vec::with_capacity(n * n);
        for (i, &r) in reference.iter().enumerate() {
            m.extend_from_slice(&tx[r]);
            m.push(if i % 2 == 0 { 1.0 } else { -1.0 });
        }
        let rhs: Vec<f64> = reference.iter().map(|&r| fs[r]).collect();
        let sol = least_squares(&m, n, n, &rhs, 1e-15)?.coefficients;
        let err: Vec<f64> =
            (0..g).map(|i| fs[i] - tx[i].iter().zip(&sol[..k + 1]).map(|(t, c)| t * c).sum::<f64>()).collect();
        let upper = err.iter().fold(0.0f64, |m, e| m.max(e.abs()));
        // alternating extrema: the largest |error| in each run of constant sign
        let mut extrema: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < g {
            let sign = err[i] >= 0.0;
            let mut arg = i;
            while i < g && (err[i] >= 0.0) == sign {
                if err[i].abs() > err[arg].abs() {
                    arg = i;
                }
                i += 1;
            }
            extrema.push(arg);
        }
        while extrema.len() > n {
            let first = err[extrema[0]].abs();
            let last = err[*extrema.last().expect("non-empty")].abs();
            if first < last {
                extrema.remove(0);
            } else {
                extrema.pop();
            }
        }
        if extrema.len() == n {
            let lower = extrema.iter().map(|&r| err[r].abs()).fold(f64::INFINITY, f64::min);
            if lower > best.0 {
                best.0 = lower;
            }
            best.1 = best.1.min(upper);
            reference = extrema;
            if upper - lower <= 1e-10 * upper {
                break;
            }
        } else {
            best.1 = best.1.min(upper);
            break;
        }
    }
    Ok(PolynomialFloor { degree, l2, sup_lower: best.0, sup_upper: best.1, remez_iterations: iterations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_autodiff::no_grad;
    use dl_tensor::seeded_rng;

    #[test]
    fn remez_finds_the_classical_minimax_errors() {
        // E_1(x^2) on [-1, 1] = 1/2 (error of x^2 - 1/2 equioscillates at -1, 0, 1)
        let fl = polynomial_floor(&|x| x * x, -1.0, 1.0, 1, &[0.0, 0.5, 1.0], 2001).unwrap();
        assert!((fl.sup_lower - 0.5).abs() < 1e-9 && (fl.sup_upper - 0.5).abs() < 1e-9, "{fl:?}");
        // E_1(e^x) on [0, 1]: the best line has the secant slope s = e - 1 and errors of equal
        // size and alternating sign at 0, ln s and 1, so E = (1 - s + s ln s) / 2 = 0.105933...
        let s = std::f64::consts::E - 1.0;
        let exact = (1.0 - s + s * s.ln()) / 2.0;
        let fl = polynomial_floor(&|x: f64| x.exp(), 0.0, 1.0, 1, &[0.0, 1.0], 20001).unwrap();
        // the grid of spacing 5e-5 misses ln s by at most 2.5e-5, where the error is flat to O(h^2)
        assert!(fl.sup_lower <= exact + 1e-12 && exact - fl.sup_lower < 1e-8, "{fl:?} vs {exact}");
        assert!(fl.sup_upper >= fl.sup_lower);
    }

    #[test]
    fn a_polynomial_network_is_its_binomial_expansion_and_sits_on_the_floor() {
        let mut rng = seeded_rng(5);
        let points: Vec<f64> = (0..401).map(|i| -1.0 + i as f64 / 200.0).collect();
        let values: Vec<f64> = points.iter().map(|x| x.abs()).collect();
        let floor = polynomial_floor(&|x: f64| x.abs(), -1.0, 1.0, 3, &points, 4001).unwrap();
        for width in [1, 4, 16, 64] {
            let (net, ls) = fit_polynomial_network(3, width, &points, &values, &mut rng).unwrap();
            assert!(
                ls.residual_rms >= floor.l2 * (1.0 - 1e-9),
                "width {width}: {} below the floor {}",
                ls.residual_rms,
                floor.l2
            );
            if width >= 4 {
                assert!(
                    ls.residual_rms <= floor.l2 * (1.0 + 1e-6),
                    "width {width}: {} above the floor {}",
                    ls.residual_rms,
                    floor.l2
                );
            }
            // the dl-layers network computes the same polynomial
            let seq = net.to_sequential().unwrap();
            let x = Tensor::from_vec(vec![-0.7, 0.2, 0.9], &[3, 1]).unwrap();
            let y = no_grad(|| seq.forward(&Var::constant(x))).unwrap().value().to_vec();
            let a = net.monomial_coefficients();
            for (xv, yv) in [-0.7f64, 0.2, 0.9].iter().zip(y) {
                let poly: f64 = a.iter().enumerate().map(|(j, c)| c * xv.powi(j as i32)).sum();
                assert!((poly - yv).abs() < 1e-9 * (1.0 + a.iter().map(|c| c.abs()).sum::<f64>()), "{poly} vs {yv}");
                assert!((net.eval(*xv) - yv).abs() < 1e-9 * (1.0 + yv.abs()));
            }
        }
    }
}
