//! n-bit parity, `x_1 XOR ... XOR x_n` on `x in {0, 1}^n`: exact networks of depth 1 and of
//! depth `ceil(log2 n)`.
//!
//! - **One hidden layer, ReLU** ([`parity_relu_network`]): parity depends on
//!   `s = x_1 + ... + x_n` only; the zigzag through `(s, s mod 2)` for `s = 0, ..., n` is
//!   `z(s) = relu(s) + sum_{j=1}^{n-1} 2 (-1)^j relu(s - j)`, whose slope alternates
//!   `+1, -1, +1, ...` between consecutive integers. `n` hidden units.
//! - **One hidden layer, threshold units** ([`parity_threshold_network`]):
//!   `h_j = 1[s >= j]` for `j = 1..n` and the output `1[sum_j (-1)^(j+1) h_j >= 1/2]` (the
//!   alternating sum is `s mod 2`). `n` hidden units.
//! - **A tree of XORs** ([`xor_tree_network`]): for `a, b in [0, 1]`...
//!   `XOR(a, b) = |a - b| = relu(a - b) + relu(b - a)`, two ReLU units; pairing the bits
//!   level by level takes `ceil(log2 n)` hidden layers and about `2n` units in all (an odd
//!   value out passes a level through `relu(c) = c`).
//!
//! The single hidden layer needs no more than `n` units (Minsky & Papert 1969 show that a
//! single threshold unit, or any bounded-order perceptron, cannot compute parity); what
//! the experiments show is that gradient descent from random initialisation does not find
//! these networks once `n` grows, while they exist at every `n`.

use dl_layers::{Act, Sequential};

use super::boolean::{ThresholdNetwork, ThresholdUnit};
use super::{ExpressivityError, Result, dense};

/// The parity of input number `i`: whether it has an odd number of one bits.
pub fn parity(i: u64) -> bool {
    i.count_ones() % 2 == 1
}

fn check_n(op: &'static str, n: usize) -> Result<()> {
    // the networks are dense, with O(n^2) weights: 2^12 bits would be 16M weights
    if n == 0 || n > 4096 {
        return Err(ExpressivityError::invalid(op, format!("n = {n} bits: need 1 <= n <= 4096")));
    }
    Ok(())
}

/// Parity with one hidden layer of `n` ReLU units (see the module docs); inputs `(N, n)`
/// of 0/1, output `(N, 1)` exactly 0 or 1.
///
/// ```
/// use dl_theory::expressivity::{check_on_all_inputs, parity, parity_relu_network};
/// let check = check_on_all_inputs(&parity_relu_network(8)?, 8, parity)?;
/// assert!(check.all_correct() && check.max_error == 0.0);
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn parity_relu_network(n: usize) -> Result<Sequential<f64>> {
    check_n("parity_relu_network", n)?;
    let hidden = dense(vec![1.0; n * n], (0..n).map(|j| -(j as f64)).collect(), n, n)?;
    let out: Vec<f64> = (0..n).map(|j| if j == 0 { 1.0 } else { 2.0 * if j % 2 == 0 { 1.0 } else { -1.0 } }).collect();
    Ok(Sequential::new().with(hidden).with(Act::relu()).with(dense(out, vec![0.0], 1, n)?))
}

/// Parity with one hidden layer of `n` threshold units (see the module docs).
///
/// ```
/// use dl_theory::expressivity::{parity, parity_threshold_network};
/// let net = parity_threshold_network(12)?;
/// assert!((0..1u64 << 12).all(|i| net.evaluate_index(i) == parity(i)));
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn parity_threshold_network(n: usize) -> Result<ThresholdNetwork> {
    check_n("parity_threshold_network", n)?;
    let hidden = (1..=n).map(|j| ThresholdUnit { weights: vec![1.0; n], threshold: j as f64 }).collect();
    let alternating = (1..=n).map(|j| if j % 2 == 1 { 1.0 } else { -1.0 }).collect();
    ThresholdNetwork::new(n, hidden, ThresholdUnit { weights: alternating, threshold: 0.5 })
}

/// Parity as a balanced tree of XORs, `XOR(a, b) = relu(a - b) + relu(b - a)`:
/// `ceil(log2 n)` hidden layers (one for `n = 1`), widths `n, n/2, ...` rounded as the
/// module docs say. Inputs `(N, n)` of 0/1, output `(N, 1)` exactly 0 or 1.
///
/// ```
/// use dl_theory::expressivity::xor_tree_network;
/// use dl_theory::regions::PiecewiseLinearNetwork;
/// let net = xor_tree_network(16)?;
/// let pl = PiecewiseLinearNetwork::from_sequential(&net, &[16])?;
/// assert_eq!(pl.hidden_widths()?, vec![16, 8, 4, 2]);
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn xor_tree_network(n: usize) -> Result<Sequential<f64>> {
    check_n("xor_tree_network", n)?;
    // `combine` maps the previous hidden layer (or the input) to the current values:
    // value i = sum of the hidden units listed in combine[i] (the input: the identity).
    let mut values = n;
    let mut fan_in = n;
    let mut combine: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut net = Sequential::new();
    loop {
        // this level's hidden units, as signed combinations of the current values
        let mut units: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut next: Vec<Vec<usize>> = Vec::new();
        for p in 0..values / 2 {
            let (a, b) = (2 * p, 2 * p + 1);
            units.push(vec![(a, 1.0), (b, -1.0)]);
            units.push(vec![(a, -1.0), (b, 1.0)]);
            next.push(vec![units.len() - 2, units.len() - 1]);
        }
        if values % 2 == 1 {
            units.push(vec![(values - 1, 1.0)]);
            next.push(vec![units.len() - 1]);
        }
        // pre-activation of unit u = sum over its terms of sign * (value v), and value v =
        // sum of the previous layer's entries in combine[v]
        let mut w = vec![0.0; units.len() * fan_in];
        for (u, terms) in units.iter().enumerate() {
            for &(v, sign) in terms {
                for &src in &combine[v] {
                    w[u * fan_in + src] += sign;
                }
            }
        }
        net = net.with(dense(w, vec![0.0; units.len()], units.len(), fan_in)?).with(Act::relu());
        fan_in = units.len();
        values = next.len();
        combine = next;
        if values == 1 {
            break;
        }
    }
    let mut w = vec![0.0; fan_in];
    for &src in &combine[0] {
        w[src] = 1.0;
    }
    Ok(net.with(dense(w, vec![0.0], 1, fan_in)?))
}
