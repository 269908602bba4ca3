//! Floating-point accounting: the certificates bound the error of the network **as it is
//! evaluated in f64**, not only of the real-number construction.
//!
//! Three ingredients (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. 2002):
//!
//! - `gamma(n) = n u / (1 - n u)` with `u = 2^-53`: a sum or dot product of `n` terms
//!   computed in any order (blocked GEMM, with or without FMA) has absolute error at most
//!   `gamma(n) sum |a_i b_i|` (Higham Eq. (3.5), valid for every summation order).
//! - An activation evaluated by `libm` and a few arithmetic steps has relative error at most
//!   `ACTIVATION_ULPS * u` (glibc's `exp`, `log1p`, `tanh`, `erf`, `sin` are within 1–2 ulp;
//!   the formulas add at most 4 roundings; 16 leaves a stated margin), and moves by at most
//!   `L_act |dz|` when its argument moves by `dz` (`L_act = sup |act'|`).
//! - Sums that the construction itself forms (the output bias, knot values) are checked
//!   exactly with error-free transformations ([`two_sum`]) in double-double arithmetic.
//!
//! [`evaluation_bound`] combines them for a one-hidden-layer network on a box: with
//! pre-activation magnitude `P_i = sum_j |W_ij| max(|lo_j|, |hi_j|) + |b_i|`, activation bound
//! `A_i = sup |act|` over unit `i`'s pre-activation range and output weights `c_i`,
//!
//! ```text
//! |fl(N(x)) - N(x)| <= sum_i |c_i| (L_act gamma(d + 4) P_i + 16 u A_i)
//!                      + gamma(width + 1) (sum_i |c_i| A_i (1 + 16 u) + |c_0|)
//! ```
//!
//! (`d + 4` rather than `d + 1` charges three more roundings of the pre-activation for
//! parameters computed from their ideal values, such as `-k s_i` for a threshold `s_i`),
//! and the result is inflated by `1e-6` relative for the second-order terms.

use dl_layers::Activation;

/// The unit roundoff of f64, `u = 2^-53`.
pub const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// The relative error allowed for one activation evaluation, in units of `u`.
pub const ACTIVATION_ULPS: f64 = 16.0;

/// `gamma(n) = n u / (1 - n u)` (infinite when `n u >= 1`).
pub fn gamma(n: usize) -> f64 {
    let nu = n as f64 * UNIT_ROUNDOFF;
    if nu >= 1.0 { f64::INFINITY } else { nu / (1.0 - nu) }
}

/// `(s, e)` with `s = fl(a + b)` and `a + b = s + e` exactly (Knuth's TwoSum).
pub fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// `(p, e)` with `p = fl(a b)` and `a b = p + e` exactly (FMA-based TwoProduct).
pub fn two_product(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

/// A double-double number `hi + lo`, for sums that must be known to about `u^2`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DoubleDouble {
    /// Leading part.
    pub hi: f64,
    /// Trailing part, `|lo| <= u |hi|`.
    pub lo: f64,
}

impl DoubleDouble {
    /// The exact value `x`.
    pub fn new(x: f64) -> Self {
        DoubleDouble { hi: x, lo: 0.0 }
    }

    /// `self + x` (relative error about `u^2`).
    pub fn plus(self, x: f64) -> Self {
        let (s, e) = two_sum(self.hi, x);
        let (hi, lo) = two_sum(s, e + self.lo);
        DoubleDouble { hi, lo }
    }

    /// `self + other`.
    pub fn plus_dd(self, other: DoubleDouble) -> Self {
        let (s, e) = two_sum(self.hi, other.hi);
        let (hi, lo) = two_sum(s, e + self.lo + other.lo);
        DoubleDouble { hi, lo }
    }

    /// `self + a b` with the product formed exactly.
    pub fn plus_product(self, a: f64, b: f64) -> Self {
        let (p, e) = two_product(a, b);
        self.plus(p).plus(e)
    }

    /// `self - x` as an f64 (the difference rounded once).
    pub fn minus(self, x: f64) -> f64 {
        let (s, e) = two_sum(self.hi, -x);
        s + (e + self.lo)
    }

    /// The nearest f64 (to within one rounding).
    pub fn value(self) -> f64 {
        self.hi + self.lo
    }
}

/// `sup |act'|`: how far an activation moves when its argument moves by 1.
pub fn activation_lipschitz(act: Activation) -> f64 {
    match act {
        Activation::Sigmoid => 0.25,
        Activation::Erf => 2.0 / std::f64::consts::PI.sqrt(),
        Activation::Elu(alpha) => alpha.abs().max(1.0),
        Activation::LeakyRelu(s) => s.abs().max(1.0),
        Activation::Gelu => 1.13,
        _ => 1.0,
    }
}

/// `sup |act(z)|` for `z` in `[zlo, zhi]` (an upper bound).
pub fn activation_magnitude(act: Activation, zlo: f64, zhi: f64) -> f64 {
    let m = zlo.abs().max(zhi.abs());
    match act {
        Activation::Sigmoid | Activation::Tanh | Activation::Erf | Activation::Sin => 1.0,
        Activation::Relu | Activation::Gelu => {
            zhi.max(0.0).max(if matches!(act, Activation::Gelu) { 0.17 } else { 0.0 })
        }
        Activation::Softplus => zhi.max(0.0) + std::f64::consts::LN_2,
        Activation::Elu(alpha) => zhi.max(0.0).max(alpha.abs()),
        Activation::LeakyRelu(s) => m.max(m * s.abs()),
        Activation::Identity => m,
    }
}

/// A one-hidden-layer network's parameters as the evaluation bound needs them.
pub struct NetworkView<'a> {
    /// The hidden activation.
    pub activation: Activation,
    /// Input dimension `d`.
    pub dim: usize,
    /// Hidden weights, `(width, d)` row-major.
    pub weights: &'a [f64],
    /// Hidden biases.
    pub biases: &'a [f64],
    /// Output weights.
    pub outputs: &'a [f64],
    /// Output bias.
    pub output_bias: f64,
}

/// The bound of the module documentation on `|fl(N(x)) - N(x)|` for every `x` in the box
/// `[lo, hi]`, where `N` is the network with exactly these (f64) parameters evaluated in
/// real arithmetic and `fl(N(x))` its f64 evaluation by `Linear` + activation + `Linear`.
pub fn evaluation_bound(net: &NetworkView<'_>, lo: &[f64], hi: &[f64]) -> f64 {
    let d = net.dim;
    let width = net.biases.len();
    let u = UNIT_ROUNDOFF;
    let g_in = gamma(d + 4);
    let l_act = activation_lipschitz(net.activation);
    let mut per_unit = 0.0;
    let mut out_sum = 0.0;
    for i in 0..width {
        let w = &net.weights[i * d..(i + 1) * d];
        let (mut zlo, mut zhi, mut p) = (net.biases[i], net.biases[i], net.biases[i].abs());
        for j in 0..d {
            let (a, b) = (w[j] * lo[j], w[j] * hi[j]);
            zlo += a.min(b);
            zhi += a.max(b);
            p += w[j].abs() * lo[j].abs().max(hi[j].abs());
        }
        let dz = g_in * p;
        // widen the range by the rounding of z (and a relative hair for the sums above)
        let slack = dz + 4.0 * u * p;
        let a_i = activation_magnitude(net.activation, zlo - slack, zhi + slack);
        let c = net.outputs[i].abs();
        per_unit += c * (l_act * dz + ACTIVATION_ULPS * u * a_i);
        out_sum += c * a_i;
    }
    let total = per_unit + gamma(width + 1) * (out_sum * (1.0 + ACTIVATION_ULPS * u) + net.output_bias.abs());
    total * (1.0 + 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_free_transformations_are_exact() {
        let (s, e) = two_sum(1.0, 1e-17);
        assert_eq!(s, 1.0);
        assert_eq!(e, 1e-17);
        let (p, e) = two_product(1.0 + f64::EPSILON, 1.0 - f64::EPSILON);
        // (1 + eps)(1 - eps) = 1 - eps^2: p = 1, e = -eps^2
        assert_eq!(p, 1.0);
        assert_eq!(e, -f64::EPSILON * f64::EPSILON);
        // summing 0.1 ten times: double-double keeps the 1e-16-level error that f64 loses
        let mut dd = DoubleDouble::new(0.0);
        let mut plain = 0.0;
        for _ in 0..10 {
            dd = dd.plus(0.1);
            plain += 0.1;
        }
        assert_ne!(plain, 1.0);
        // 10 * fl(0.1) exceeds 1 by 10 * (fl(0.1) - 0.1) = 5.55e-17
        assert!((dd.minus(1.0) - 5.551115123125783e-17).abs() < 1e-30, "{}", dd.minus(1.0));
    }

    #[test]
    fn gamma_grows_linearly_and_saturates() {
        assert!((gamma(10) / (10.0 * UNIT_ROUNDOFF) - 1.0).abs() < 1e-14);
        assert_eq!(gamma(usize::MAX), f64::INFINITY);
    }
}
