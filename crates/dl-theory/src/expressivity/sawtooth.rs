//! Telgarsky's sawtooth (Telgarsky 2016, "Benefits of depth in neural networks"): the
//! k-fold composition of the tent map is a ReLU network of depth `k` and width 2 with
//! `2^k` linear pieces, and any network with far fewer pieces is far from it in L1.
//!
//! **The construction.** The tent map `g(x) = 2 relu(x) - 4 relu(x - 1/2)` is `2x` on
//! `[0, 1/2]` and `2 - 2x` on `[1/2, 1]`. The network's first hidden layer computes
//! `(relu(x), relu(x - 1/2))`; every further hidden layer computes
//! `(relu(g), relu(g - 1/2))` from `g = 2 u - 4 v` of the layer below; the output is
//! `2 u - 4 v`. So `k` hidden layers of 2 ReLU units compute `f_k = g^k`, which on `[0, 1]`
//! rises from 0 to 1 and falls back `2^(k-1)` times: `2^k` affine pieces with breakpoints
//! at `j / 2^k` (counted by [`crate::regions::line_regions`] in the tests).
//!
//! **The lower bound** (derived in `docs/expressivity.md`, following Telgarsky's counting
//! of the triangles between `f_k` and the level `1/2`): a continuous `h` with at most `p`
//! affine pieces on `[0, 1]` satisfies
//!
//! ```text
//! int_0^1 |f_k(x) - h(x)| dx >= 1/8 - (p + 1) 2^{-(k+2)}.
//! ```
//!
//! A ReLU network on `R` with hidden widths `n_1, ..., n_L` has at most
//! `prod (n_l + 1) <= (2 w)^L` pieces ([`crate::regions::piece_count_bound`]), so a network
//! with one hidden layer of `w` units is at L1 distance at least `1/8 - (w + 2) 2^{-(k+2)}`
//! from `f_k`, which tends to 1/8 as `k` grows while `f_k` itself takes only `6k + 1`
//! parameters.

use dl_layers::{Act, Sequential};

use super::{ExpressivityError, Result, dense};
use crate::regions::{PiecewiseLinearNetwork, line_regions};

/// The largest `k` for which `2^k` fits in a `u64`.
pub const MAX_SAWTOOTH_DEPTH: usize = 63;

/// The largest `k` for which [`sawtooth_l1_distance`] walks the `2^k` pieces.
const MAX_DISTANCE_DEPTH: usize = 24;

/// The tent map as the network computes it on all of `R`: `2 relu(x) - 4 relu(x - 1/2)`
/// (`2x` on `[0, 1/2]`, `2 - 2x` on `[1/2, 1]`).
pub fn tent_map(x: f64) -> f64 {
    2.0 * x.max(0.0) - 4.0 * (x - 0.5).max(0.0)
}

/// `f_k(x) = g^k(x)`, the tent map composed `k` times.
pub fn sawtooth(k: usize, x: f64) -> f64 {
    (0..k).fold(x, |y, _| tent_map(y))
}

fn check_depth(op: &'static str, k: usize, max: usize) -> Result<()> {
    if k == 0 || k > max {
        return Err(ExpressivityError::invalid(
            op,
            format!("depth k = {k}: need 1 <= k <= {max} (2^k pieces; 2^{} overflows or is too many to walk)", max + 1),
        ));
    }
    Ok(())
}

/// The number of affine pieces of `f_k` on `[0, 1]`: `2^k`. Errors for `k = 0` or
/// `k > 63` (2^k would overflow).
pub fn sawtooth_pieces(k: usize) -> Result<u64> {
    check_depth("sawtooth_pieces", k, MAX_SAWTOOTH_DEPTH)?;
    Ok(1u64 << k)
}

/// The depth-`k`, width-2 ReLU network computing `f_k` on inputs `(N, 1)` (see the module
/// docs): `6k + 1` parameters.
///
/// ```
/// use dl_theory::expressivity::{sawtooth, sawtooth_network};
/// use dl_theory::regions::{PiecewiseLinearNetwork, line_regions};
///
/// let net = sawtooth_network(5)?;
/// let pl = PiecewiseLinearNetwork::from_sequential(&net, &[1])?;
/// let r = line_regions(&pl, &[0.0], &[1.0], 1_000)?;
/// assert_eq!((r.regions, r.linear_pieces), (32, 32));
/// assert_eq!(pl.outputs(&[0.3], 1)?[0], sawtooth(5, 0.3));
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn sawtooth_network(k: usize) -> Result<Sequential<f64>> {
    check_depth("sawtooth_network", k, MAX_SAWTOOTH_DEPTH)?;
    let mut net = Sequential::new().with(dense(vec![1.0, 1.0], vec![0.0, -0.5], 2, 1)?).with(Act::relu());
    for _ in 1..k {
        // (g, g - 1/2) with g = 2 u - 4 v
        net = net.with(dense(vec![2.0, -4.0, 2.0, -4.0], vec![0.0, -0.5], 2, 2)?).with(Act::relu());
    }
    Ok(net.with(dense(vec![2.0, -4.0], vec![0.0], 1, 2)?))
}

/// The lower bound `max(0, 1/8 - (p + 1) 2^{-(k+2)})` on `int_0^1 |f_k - h|` for any
/// continuous `h` with at most `pieces = p` affine pieces on `[0, 1]` (see the module
/// docs and `docs/expressivity.md`).
///
/// ```
/// use dl_theory::expressivity::sawtooth_l1_lower_bound;
/// // one hidden layer of 2k = 20 units has at most 21 pieces against f_10's 1024
/// let b = sawtooth_l1_lower_bound(10, 21)?;
/// assert!((b - (0.125 - 22.0 / 4096.0)).abs() < 1e-15);
/// assert_eq!(sawtooth_l1_lower_bound(4, 16)?, 0.0); // as many pieces as f_4: no bound
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn sawtooth_l1_lower_bound(k: usize, pieces: u64) -> Result<f64> {
    check_depth("sawtooth_l1_lower_bound", k, MAX_SAWTOOTH_DEPTH)?;
    if pieces == 0 {
        return Err(ExpressivityError::invalid(
            "sawtooth_l1_lower_bound",
            "pieces = 0: a function has at least one piece",
        ));
    }
    Ok((0.125 - (pieces as f64 + 1.0) * 2f64.powi(-(k as i32) - 2)).max(0.0))
}

/// `int_0^1 |N(x) - f_k(x)| dx` for a piecewise-linear network `N: R -> R`, exactly (no
/// quadrature): on each interval between consecutive breakpoints of `N` (from
/// [`line_regions`]) and of `f_k` (the points `j / 2^k`) both are affine, and the integral
/// of the absolute value of an affine function `d(t)` over `[t_0, t_1]` is
/// `(|d_0| + |d_1|) / 2 (t_1 - t_0)` without a sign change and
/// `(d_0^2 + d_1^2) / (2 (|d_0| + |d_1|)) (t_1 - t_0)` with one. `k <= 24`.
pub fn sawtooth_l1_distance(net: &PiecewiseLinearNetwork<'_, f64>, k: usize) -> Result<f64> {
    let op = "sawtooth_l1_distance";
    check_depth(op, k, MAX_DISTANCE_DEPTH)?;
    if net.input_shape() != [1] {
        return Err(ExpressivityError::invalid(
            op,
            format!(
                "the network takes inputs of shape {:?}; the sawtooth is a function of one input",
                net.input_shape()
            ),
        ));
    }
    let regions = line_regions(net, &[0.0], &[1.0], 1 << 26)?;
    let n = 1usize << k;
    let mut ts: Vec<f64> = (0..=n).map(|j| j as f64 / n as f64).chain(regions.boundaries).collect();
    ts.sort_by(f64::total_cmp);
    ts.dedup();
    let y = net.outputs(&ts, ts.len())?;
    if y.len() != ts.len() {
        return Err(ExpressivityError::invalid(
            op,
            format!("the network has {} outputs per input; the sawtooth is a scalar function", y.len() / ts.len()),
        ));
    }
    let d: Vec<f64> = ts.iter().zip(&y).map(|(&t, &v)| v - sawtooth(k, t)).collect();
    let mut total = 0.0;
    for i in 0..ts.len() - 1 {
        let (d0, d1, dt) = (d[i], d[i + 1], ts[i + 1] - ts[i]);
        total += if d0 * d1 >= 0.0 {
            0.5 * (d0.abs() + d1.abs()) * dt
        } else {
            0.5 * (d0 * d0 + d1 * d1) / (d0.abs() + d1.abs()) * dt
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sawtooth_closed_form() {
        // f_k(j / 2^k) alternates 0, 1, 0, ...
        for k in 1..8 {
            for j in 0..=(1usize << k) {
                let x = j as f64 / (1u64 << k) as f64;
                assert_eq!(sawtooth(k, x), (j % 2) as f64, "k {k}, j {j}");
            }
        }
        assert_eq!(tent_map(0.25), 0.5);
        assert_eq!(tent_map(0.75), 0.5);
        let e = sawtooth_pieces(64).unwrap_err().to_string();
        assert!(e.contains("k = 64") && e.contains("1 <= k <= 63"), "{e}");
        assert!(sawtooth_network(0).err().unwrap().to_string().contains("k = 0"));
        assert!(sawtooth_l1_lower_bound(5, 0).unwrap_err().to_string().contains("pieces = 0"));
    }
}
