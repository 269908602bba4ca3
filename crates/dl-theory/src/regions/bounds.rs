//! How many linear regions a ReLU network can have: the bounds the measured counts are
//! drawn beside. Derivations in `docs/expressivity.md`.
//!
//! A network has input dimension `n_0` and `L` hidden layers of widths `n_1, ..., n_L`
//! (for a 2-D slice `n_0 = 2`, for a line `n_0 = 1`: the network restricted to a plane or
//! a line is a network on `R^2` or `R`). Counts are `f64` (they overflow `u64` quickly) and
//! saturate at infinity.
//!
//! | function | bound | source |
//! | --- | --- | --- |
//! | [`arrangement_regions`] | `sum_{j <= d} C(n, j)`: the most cells `n` hyperplanes cut `R^d` into; one hidden layer attains it | Zaslavsky (1975) |
//! | [`montufar_lower_bound`] | `(prod_{l < L} floor(n_l / n_0)^{n_0}) sum_{j <= n_0} C(n_L, j)`: some network of these widths has at least this many regions | Montúfar, Pascanu, Cho & Bengio (2014), Theorem 4 |
//! | [`montufar_upper_bound`] | `prod_l sum_{j <= d_l} C(n_l, j)`, `d_l = min(n_0, ..., n_l)` | Montúfar (2017), Serra et al. (2018) eq. (3) |
//! | [`serra_upper_bound`] | `sum_{(j_1..j_L) in J} prod_l C(n_l, j_l)`, `J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}` | Serra, Tjandraatmadja & Ramalingam (2018), Theorem 1 |
//! | [`piece_count_bound`] | `prod_l (n_l + 1)`: affine pieces of a network on `R` | derived in `docs/expressivity.md` |
//! | [`telgarsky_piece_bound`] | `(2 w)^L`: the same for width `w`, as Telgarsky (2016) states it | Telgarsky (2016), Lemma 3.2 |

/// The binomial coefficient `C(n, k)` in f64 (exact while it is below 2^53).
pub fn binomial(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64).round()
}

/// `sum_{j=0}^{d} C(n, j)`: the number of cells of `n` hyperplanes in general position in
/// `R^d` (Zaslavsky 1975), the most regions of one hidden layer of `n` ReLU units on `d`
/// inputs.
///
/// ```
/// use dl_theory::regions::arrangement_regions;
/// assert_eq!(arrangement_regions(6, 2), 22.0); // 1 + 6 + 15
/// assert_eq!(arrangement_regions(6, 1), 7.0);  // 6 points cut a line into 7
/// ```
pub fn arrangement_regions(n: usize, d: usize) -> f64 {
    (0..=d.min(n)).map(|j| binomial(n, j)).sum()
}

/// Montúfar, Pascanu, Cho & Bengio (2014), Theorem 4: with every `n_l >= n_0`, the
/// maximal number of regions of a ReLU network with these widths is at least
/// `(prod_{l=1}^{L-1} floor(n_l / n_0)^{n_0}) sum_{j=0}^{n_0} C(n_L, j)`. A lower bound
/// on the maximum (a construction attains it), not on a random network.
pub fn montufar_lower_bound(input_dim: usize, widths: &[usize]) -> f64 {
    let Some((&last, hidden)) = widths.split_last() else { return 1.0 };
    let n0 = input_dim.max(1);
    let folds: f64 = hidden.iter().map(|&n| ((n / n0) as f64).powi(n0 as i32)).product();
    folds * arrangement_regions(last, input_dim)
}

/// The bound of Montúfar (2017), as Serra et al. (2018) write it (their eq. 3):
/// `prod_{l=1}^{L} sum_{j=0}^{d_l} C(n_l, j)` with `d_l = min(n_0, n_1, ..., n_l)`.
pub fn montufar_upper_bound(input_dim: usize, widths: &[usize]) -> f64 {
    let mut d = input_dim;
    widths
        .iter()
        .map(|&n| {
            d = d.min(n);
            arrangement_regions(n, d)
        })
        .product()
}

/// Serra, Tjandraatmadja & Ramalingam (2018), Theorem 1: the number of regions is at most
/// `sum_{(j_1, ..., j_L) in J} prod_{l=1}^{L} C(n_l, j_l)` with
/// `J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}`.
///
/// Computed by dynamic programming over the running minimum `b_l = min(n_0, n_1 - j_1,
/// ..., n_l - j_l)`, which is all that the constraint on `j_{l+1}` depends on.
///
/// ```
/// use dl_theory::regions::{arrangement_regions, montufar_upper_bound, serra_upper_bound};
/// // one layer: the arrangement count; deeper: at most the Montúfar (2017) product
/// assert_eq!(serra_upper_bound(2, &[6]), arrangement_regions(6, 2));
/// assert!(serra_upper_bound(2, &[8, 8, 8]) <= montufar_upper_bound(2, &[8, 8, 8]));
/// ```
pub fn serra_upper_bound(input_dim: usize, widths: &[usize]) -> f64 {
    // ways[b] = sum over the choices so far whose running minimum is b
    let mut ways = vec![0.0; input_dim + 1];
    ways[input_dim] = 1.0;
    for &n in widths {
        let mut next = vec![0.0; input_dim + 1];
        for (b, &w) in ways.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            for j in 0..=b.min(n) {
                next[b.min(n - j)] += w * binomial(n, j);
            }
        }
        ways = next;
    }
    ways.iter().sum()
}

/// `prod_l (n_l + 1)`: the most affine pieces of a ReLU network on `R` with hidden widths
/// `n_1, ..., n_L` (see `docs/expressivity.md`: a function with `P` pieces fed to `n` units
/// gains at most `n P` breakpoints).
pub fn piece_count_bound(widths: &[usize]) -> f64 {
    widths.iter().map(|&n| (n + 1) as f64).product()
}

/// `(2 w)^L`: Telgarsky's (2016, Lemma 3.2) bound on the affine pieces of a ReLU network
/// on `R` with `L` hidden layers of at most `w` units (ReLU has 2 pieces); it is at least
/// [`piece_count_bound`]`(&[w; L])`.
pub fn telgarsky_piece_bound(width: usize, depth: usize) -> f64 {
    (2.0 * width as f64).powi(depth as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set J of Serra et al.'s Theorem 1 enumerated directly.
    fn serra_by_enumeration(n0: usize, widths: &[usize]) -> f64 {
        // j_l ranges over 0..=min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)
        fn rec(widths: &[usize], prev_min: usize, acc: f64) -> f64 {
            let Some((&n, rest)) = widths.split_first() else { return acc };
            (0..=prev_min.min(n)).map(|j| rec(rest, prev_min.min(n - j), acc * binomial(n, j))).sum()
        }
        rec(widths, n0, 1.0)
    }

    #[test]
    fn serra_matches_its_definition_and_sits_below_montufar() {
        for (n0, widths) in [(1, vec![3, 3, 3]), (2, vec![4, 2, 5]), (3, vec![5, 5, 5, 5]), (2, vec![1, 6])] {
            let s = serra_upper_bound(n0, &widths);
            assert_eq!(s, serra_by_enumeration(n0, &widths), "{n0} {widths:?}");
            assert!(s <= montufar_upper_bound(n0, &widths));
            assert!(montufar_lower_bound(n0, &widths) <= s, "{n0} {widths:?}");
        }
        // on a line with every width >= 2 the bound is the piece bound prod (n_l + 1)
        assert_eq!(serra_upper_bound(1, &[2, 3, 4]), piece_count_bound(&[2, 3, 4]));
        assert!(piece_count_bound(&[4; 5]) <= telgarsky_piece_bound(4, 5));
    }

    #[test]
    fn binomials_and_arrangements() {
        assert_eq!(binomial(10, 3), 120.0);
        assert_eq!(binomial(3, 5), 0.0);
        assert_eq!(binomial(50, 25), 126_410_606_437_752.0);
        // Zaslavsky: sum_{j <= d} C(n, j) equals 2^n when d >= n
        assert_eq!(arrangement_regions(5, 9), 32.0);
        // Montúfar's lower bound for width 2 on a line is 2^{L-1} 3
        assert_eq!(montufar_lower_bound(1, &[2, 2, 2]), 12.0);
    }
}
