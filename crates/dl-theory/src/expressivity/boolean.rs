//! Boolean functions of `n` inputs: every one is a one-hidden-layer network, and most need
//! a hidden layer exponentially wide in `n`.
//!
//! **Every function (the DNF construction).** For a point `a in {0, 1}^n` the ReLU unit
//! `relu(sum_i (2 a_i - 1) x_i - (|a| - 1))`, `|a| = sum_i a_i`, is 1 at `x = a` and 0 at
//! every other Boolean `x` (each disagreeing bit lowers the sum by 1). Summing the units of
//! the points where `f = 1` computes `f` exactly; when `f` is 1 on more than half of the
//! cube, `1 -` the units of the points where it is 0 does with fewer units. So
//! [`dnf_network`] has `min(|f^-1(1)|, |f^-1(0)|) <= 2^(n-1)` hidden units.
//!
//! **Most functions need exponential width (counting).** There are `2^(2^n)` Boolean
//! functions of `n` inputs. A threshold unit `1[w . x >= t]` computes one of `T(n)`
//! threshold functions, and Cover's (1965) function-counting theorem bounds `T(n)` by the
//! number of dichotomies of `2^n` points by affine hyperplanes in `R^n`:
//! `T(n) <= 2 sum_{k=0}^{n} C(2^n - 1, k) <= 2^(n^2 + 1)`. A network with one hidden layer of
//! `w` threshold units followed by a threshold output picks `w` hidden functions (`T(n)^w`
//! ways) and then splits the at most `2^n` hidden vectors by a hyperplane in `R^w`
//! (`D(n, w) <= 2 sum_{k=0}^{w} C(2^n - 1, k) <= 2^(n w + 1)` ways), so it can represent all
//! functions only if `w log2 T(n) + log2 D(n, w) >= 2^n`, and at least a fraction `q` of
//! them only if the left side is at least `2^n + log2 q` ([`width_needed`]): `w` at least
//! about `2^n / (n^2 + n + 1)`. The exact
//! `T(n)` for `n <= 5` ([`threshold_function_count`]) is found by enumeration and checked
//! against the published values (4, 14, 104, 1882, 94572; Muroga 1971, OEIS A000609).

use std::collections::HashSet;

use dl_layers::{Act, Sequential};
use rand::{Rng, RngExt};

use super::exhaustive::check_bits;
use super::{ExpressivityError, Result, dense};

/// A Boolean function of `n` inputs as its truth table: entry `i` is `f(x)` for the input
/// whose bit `j` is `x_j`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BooleanFunction {
    n: usize,
    table: Vec<bool>,
}

impl BooleanFunction {
    /// The function with this truth table (`2^n` entries, `1 <= n <= 20`).
    pub fn from_table(n: usize, table: Vec<bool>) -> Result<Self> {
        check_bits("BooleanFunction::from_table", n)?;
        if table.len() != 1 << n {
            return Err(ExpressivityError::invalid(
                "BooleanFunction::from_table",
                format!("a function of n = {n} inputs has 2^{n} = {} table entries, got {}", 1u64 << n, table.len()),
            ));
        }
        Ok(BooleanFunction { n, table })
    }

    /// The function `i -> f(i)` on input numbers.
    pub fn from_fn(n: usize, f: impl Fn(u64) -> bool) -> Result<Self> {
        check_bits("BooleanFunction::from_fn", n)?;
        Ok(BooleanFunction { n, table: (0..1u64 << n).map(f).collect() })
    }

    /// A uniformly random function: every table entry an independent fair coin.
    pub fn random<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Result<Self> {
        check_bits("BooleanFunction::random", n)?;
        Ok(BooleanFunction { n, table: (0..1u64 << n).map(|_| rng.random::<bool>()).collect() })
    }

    /// The number of inputs.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The truth table.
    pub fn table(&self) -> &[bool] {
        &self.table
    }

    /// `f` at input number `i` (`i < 2^n`).
    pub fn evaluate(&self, i: u64) -> bool {
        self.table[i as usize]
    }

    /// The number of inputs where `f = 1`.
    pub fn ones(&self) -> usize {
        self.table.iter().filter(|&&b| b).count()
    }
}

/// The one-hidden-layer ReLU network of the DNF construction (see the module docs):
/// `max(1, min(|f^-1(1)|, |f^-1(0)|))` hidden units, inputs `(N, n)` of 0/1, output
/// `(N, 1)` exactly `f`.
///
/// ```
/// use dl_tensor::seeded_rng;
/// use dl_theory::expressivity::{BooleanFunction, check_on_all_inputs, dnf_network};
/// let f = BooleanFunction::random(8, &mut seeded_rng(3))?;
/// let net = dnf_network(&f)?;
/// let check = check_on_all_inputs(&net, 8, |i| f.evaluate(i))?;
/// assert!(check.all_correct() && check.max_error == 0.0);
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn dnf_network(f: &BooleanFunction) -> Result<Sequential<f64>> {
    let n = f.n;
    let ones = f.ones();
    let complement = 2 * ones > f.table.len();
    let points: Vec<u64> = (0..f.table.len() as u64).filter(|&i| f.evaluate(i) != complement).collect();
    let width = points.len().max(1);
    let mut w = vec![0.0; width * n];
    let mut b = vec![0.0; width];
    for (u, &a) in points.iter().enumerate() {
        for j in 0..n {
            w[u * n + j] = if (a >> j) & 1 == 1 { 1.0 } else { -1.0 };
        }
        b[u] = 1.0 - a.count_ones() as f64;
    }
    let (out_w, out_b) = if complement { (vec![-1.0; width], 1.0) } else { (vec![1.0; width], 0.0) };
    // a constant function has no points: its one unit has zero weights and bias
    let out_w = if points.is_empty() { vec![0.0] } else { out_w };
    Ok(Sequential::new().with(dense(w, b, width, n)?).with(Act::relu()).with(dense(out_w, vec![out_b], 1, width)?))
}

/// A threshold unit: `1[w . x >= threshold]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdUnit {
    /// The weights `w`.
    pub weights: Vec<f64>,
    /// The threshold `t`.
    pub threshold: f64,
}

impl ThresholdUnit {
    /// Whether the unit fires on `x` (0/1 values).
    pub fn fires(&self, x: &[f64]) -> bool {
        self.weights.iter().zip(x).map(|(w, x)| w * x).sum::<f64>() >= self.threshold
    }
}

/// A network of one hidden layer of threshold units and a threshold output unit.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdNetwork {
    n: usize,
    hidden: Vec<ThresholdUnit>,
    output: ThresholdUnit,
}

impl ThresholdNetwork {
    /// Checks the sizes: every hidden unit has `n` weights, the output one per hidden unit.
    pub fn new(n: usize, hidden: Vec<ThresholdUnit>, output: ThresholdUnit) -> Result<Self> {
        let op = "ThresholdNetwork::new";
        if let Some((i, u)) = hidden.iter().enumerate().find(|(_, u)| u.weights.len() != n) {
            return Err(ExpressivityError::invalid(
                op,
                format!("hidden unit {i} has {} weights for n = {n} inputs", u.weights.len()),
            ));
        }
        if output.weights.len() != hidden.len() {
            return Err(ExpressivityError::invalid(
                op,
                format!("the output unit has {} weights for {} hidden units", output.weights.len(), hidden.len()),
            ));
        }
        Ok(ThresholdNetwork { n, hidden, output })
    }

    /// The number of hidden units.
    pub fn width(&self) -> usize {
        self.hidden.len()
    }

    /// The output on `x` (0/1 values, `n` of them).
    pub fn evaluate(&self, x: &[f64]) -> bool {
        let h: Vec<f64> = self.hidden.iter().map(|u| if u.fires(x) { 1.0 } else { 0.0 }).collect();
        self.output.fires(&h)
    }

    /// The output on input number `i` (bit `j` is `x_j`).
    pub fn evaluate_index(&self, i: u64) -> bool {
        let x: Vec<f64> = (0..self.n).map(|j| ((i >> j) & 1) as f64).collect();
        self.evaluate(&x)
    }
}

/// The largest integer weight the enumeration of [`threshold_function_count`] tries for
/// `n` inputs: enough for every threshold function of `n <= 5` inputs (the largest weight
/// needed is 1, 1, 2, 3, 5 for `n = 1..5`; Muroga 1971), with room to spare.
const ENUMERATION_WEIGHT: [i64; 5] = [2, 2, 3, 5, 9];

/// The exact number `T(n)` of threshold functions of `n <= 5` inputs, by enumeration: the
/// truth tables of `1[w . x >= t]` over non-negative integer weights up to
/// `ENUMERATION_WEIGHT` and every threshold between distinct sums, then every negation
/// of inputs (`x_j -> 1 - x_j` turns a positive weight into a negative one). Published
/// values: 4, 14, 104, 1882, 94572 (OEIS A000609).
pub fn threshold_function_count(n: usize) -> Result<u64> {
    Ok(threshold_tables(n)?.len() as u64)
}

/// The truth tables (bit `i` = f(input i)) of every threshold function of `n <= 5` inputs.
pub(crate) fn threshold_tables(n: usize) -> Result<HashSet<u32>> {
    if n == 0 || n > 5 {
        return Err(ExpressivityError::invalid(
            "threshold_function_count",
            format!("n = {n}: the enumeration is exact for 1 <= n <= 5 only"),
        ));
    }
    let wmax = ENUMERATION_WEIGHT[n - 1];
    let inputs = 1usize << n;
    let mut positive: HashSet<u32> = HashSet::new();
    let mut w = vec![0i64; n];
    loop {
        let sums: Vec<i64> = (0..inputs).map(|i| (0..n).filter(|j| (i >> j) & 1 == 1).map(|j| w[j]).sum()).collect();
        let mut levels = sums.clone();
        levels.sort_unstable();
        levels.dedup();
        positive.insert(0); // t above every sum
        for &t in &levels {
            let table = sums.iter().enumerate().filter(|&(_, &s)| s >= t).fold(0u32, |acc, (i, _)| acc | (1 << i));
            positive.insert(table);
        }
        // next weight vector in [0, wmax]^n
        let mut j = 0;
        while j < n && w[j] == wmax {
            w[j] = 0;
            j += 1;
        }
        if j == n {
            break;
        }
        w[j] += 1;
    }
    let mut all = HashSet::new();
    for &table in &positive {
        for flip in 0..inputs {
            // g(x XOR flip): input i reads g at i ^ flip
            let t = (0..inputs).filter(|&i| (table >> (i ^ flip)) & 1 == 1).fold(0u32, |acc, i| acc | (1 << i));
            all.insert(t);
        }
    }
    Ok(all)
}

/// `log2 C(2^m - 1, k)`: by the product `prod_{i<k} (2^m - 1 - i) / (i + 1)` (with
/// `log2(2^m - 1 - i) = m + log2(1 - (i + 1) 2^-m)`) up to `k = 1000`, by `lgamma` beyond
/// (absolute error about `2^m m` ulp, below `1e-5` for `m <= 30`).
fn log2_binomial_of_pow2(m: usize, k: usize) -> f64 {
    if k <= 1000 {
        return (0..k)
            .map(|i| {
                m as f64 + libm::log1p(-((i + 1) as f64) * (-(m as f64)).exp2()) / std::f64::consts::LN_2
                    - ((i + 1) as f64).log2()
            })
            .sum();
    }
    let n = (m as f64).exp2();
    (libm::lgamma(n) - libm::lgamma(k as f64 + 1.0) - libm::lgamma(n - k as f64)) / std::f64::consts::LN_2
}

/// `log2` of Cover's (1965) bound on the number of ways an affine threshold in `R^dim`
/// can split the images of the `2^n` Boolean inputs: `log2(2 sum_{k=0}^{dim} C(2^n - 1, k))`
/// (the count for points in general position; points in special position have fewer),
/// capped at `2^n` (every split). For `n > 60` the cruder `n dim + 1` is returned.
pub fn log2_cover_bound(n: usize, dim: usize) -> f64 {
    if n == 0 {
        return 1.0;
    }
    if n > 60 {
        // 2^n is beyond the accuracy of the sums: the cruder 2^(n dim + 1)
        return (n * dim) as f64 + 1.0;
    }
    let points = (n as f64).exp2();
    if (dim as f64) >= points - 1.0 {
        return points;
    }
    // sum_{k <= dim} C(N - 1, k) = C(N - 1, dim) (1 + r_dim + r_dim r_{dim-1} + ...), with
    // r_k = C(N - 1, k - 1) / C(N - 1, k) = k / (N - k): the tail is summed down from the
    // top until its terms no longer count
    let mut tail = 1.0;
    let mut term = 1.0;
    for k in (1..=dim).rev() {
        term *= k as f64 / (points - k as f64);
        tail += term;
        if term < 1e-18 * tail {
            break;
        }
    }
    (1.0 + log2_binomial_of_pow2(n, dim) + tail.log2()).min(points)
}

/// `log2` of Cover's (1965) bound on the number `T(n)` of threshold functions of `n`
/// inputs: [`log2_cover_bound`]`(n, n)` (exact for `n <= 2`, above `T(n)` beyond; at most
/// `n^2 + 1`).
pub fn log2_threshold_functions_bound(n: usize) -> f64 {
    log2_cover_bound(n, n)
}

/// `log2` of the number of functions of `n` inputs that one hidden layer of `w` threshold
/// units and a threshold output can compute, at most: each hidden unit is one of `T(n)`
/// threshold functions, and the output splits the (at most `2^n`) hidden vectors the
/// inputs reach by a hyperplane in `R^w`: `w log2 T(n) + log2_cover_bound(n, w)`.
pub fn log2_threshold_network_functions_bound(n: usize, w: usize) -> f64 {
    w as f64 * log2_threshold_functions_bound(n) + log2_cover_bound(n, w)
}

/// The smallest width `w` at which one hidden layer of threshold units could represent at
/// least a fraction `fraction` of the `2^(2^n)` Boolean functions of `n` inputs, by the
/// counting bound: the least `w` with `w log2 T(n) + log2 D(n, w) >= 2^n + log2(fraction)`
/// (see [`log2_threshold_network_functions_bound`]).
/// Below it, more than a fraction `1 - fraction` of the functions need a wider layer.
/// `1 <= n <= 40`, `0 < fraction <= 1`.
///
/// ```
/// use dl_theory::expressivity::width_needed;
/// // half of all functions of 20 inputs need more than 2500 hidden threshold units,
/// // about 2^20 / (20^2 + 20 + 1)
/// let w = width_needed(20, 0.5)?;
/// assert!(w > 2500 && w < 1 << 19, "{w}");
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn width_needed(n: usize, fraction: f64) -> Result<u64> {
    let op = "width_needed";
    if n == 0 || n > 40 {
        return Err(ExpressivityError::invalid(op, format!("n = {n}: need 1 <= n <= 40")));
    }
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(ExpressivityError::invalid(op, format!("fraction = {fraction}: need 0 < fraction <= 1")));
    }
    let need = (n as f64).exp2() + fraction.log2();
    let ok = |w: u64| log2_threshold_network_functions_bound(n, w as usize) >= need;
    // start near 2^n / (n^2 + n + 1), where the bound is about to suffice, and double
    let (mut lo, mut hi) = (0u64, ((n as f64).exp2() / ((n * n + n + 1) as f64)).ceil().max(1.0) as u64);
    while !ok(hi) {
        lo = hi;
        hi *= 2;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { hi = mid } else { lo = mid }
    }
    Ok(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_counts_match_the_published_values() {
        // Muroga (1971); OEIS A000609
        for (n, count) in [(1, 4), (2, 14), (3, 104), (4, 1882)] {
            assert_eq!(threshold_function_count(n).unwrap(), count, "n = {n}");
        }
        assert!(threshold_function_count(6).unwrap_err().to_string().contains("n = 6"));
    }

    #[test]
    fn covers_bound_is_exact_for_two_inputs_and_above_beyond() {
        assert!((log2_threshold_functions_bound(2) - 14f64.log2()).abs() < 1e-12);
        // 2 (1 + 7 + 21 + 35) = 128 >= 104
        assert!((log2_threshold_functions_bound(3) - 7.0).abs() < 1e-12);
        assert!(log2_threshold_functions_bound(4) >= 1882f64.log2());
        // against the direct sum for a mid-sized case: n = 6, N - 1 = 63
        let direct: f64 = 2.0 * (0..=6).map(|k| crate::regions::binomial(63, k)).sum::<f64>();
        assert!((log2_threshold_functions_bound(6) - direct.log2()).abs() < 1e-12);
        // the lgamma branch against the product branch where both apply (k = 1001)
        let by_product: f64 = (0..1001).map(|i| ((((1u64 << 20) - 1 - i) as f64) / ((i + 1) as f64)).log2()).sum();
        assert!((log2_binomial_of_pow2(20, 1001) - by_product).abs() < 1e-6 * by_product);
        // and never above n^2 + 1; the output's splits never above n w + 1 or 2^n
        for n in [5, 10, 20, 40] {
            assert!(log2_threshold_functions_bound(n) <= (n * n) as f64 + 1.0);
            assert!(log2_cover_bound(n, 7) <= (7 * n) as f64 + 1.0);
        }
        assert_eq!(log2_cover_bound(3, 7), 8.0);
        assert_eq!(log2_cover_bound(3, 100), 8.0);
    }

    #[test]
    fn widths_needed_grow_like_two_to_the_n_over_n_squared() {
        let mut last = 0;
        for n in 4..=24 {
            let w = width_needed(n, 0.5).unwrap();
            assert!(w >= last);
            // the bound at w - 1 falls short, at w it suffices
            let need = (n as f64).exp2() - 1.0;
            assert!(log2_threshold_network_functions_bound(n, w as usize) >= need);
            assert!(w == 1 || log2_threshold_network_functions_bound(n, w as usize - 1) < need);
            // w (n^2 + 1) + n w + 1 >= 2^n - 1 at w, and the DNF width 2^(n-1) suffices
            let floor = ((n as f64).exp2() - 2.0) / ((n * n + n + 1) as f64);
            assert!(w as f64 >= floor.floor() && w <= 1 << (n - 1), "n {n}: {w}");
            last = w;
        }
        assert!(width_needed(3, 0.0).is_err() && width_needed(41, 0.5).is_err());
    }

    #[test]
    fn threshold_units_and_networks() {
        let and = ThresholdUnit { weights: vec![1.0, 1.0], threshold: 2.0 };
        assert!(and.fires(&[1.0, 1.0]) && !and.fires(&[1.0, 0.0]));
        assert!(
            ThresholdNetwork::new(2, vec![and.clone()], ThresholdUnit { weights: vec![], threshold: 0.0 }).is_err()
        );
        let e = ThresholdNetwork::new(3, vec![and], ThresholdUnit { weights: vec![1.0], threshold: 1.0 }).unwrap_err();
        assert!(e.to_string().contains("hidden unit 0 has 2 weights for n = 3"), "{e}");
    }
}
