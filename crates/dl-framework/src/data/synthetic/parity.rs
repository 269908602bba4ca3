//! [`SparseParity`]: the parity of k hidden relevant bits of an n-bit input (Barak et al. 2022).

use dl_tensor::{Element, Tensor};
use rand::{Rng, RngExt};

use super::super::dataset::{Dataset, permutation};
use super::super::error::{DataError, Result};

/// The (n, k) sparse parity problem: inputs are `n_bits` uniform bits written as
/// `x_i = 1 - 2 b_i` in {-1, +1}; the label is the parity (XOR) of the bits at the `k`
/// relevant positions, so label 1 exactly when the product of the relevant `x_i` is -1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseParity {
    /// Input length n.
    pub n_bits: usize,
    /// The relevant positions (distinct, sorted, each `< n_bits`).
    pub relevant: Vec<usize>,
}

impl SparseParity {
    /// A parity on the given relevant positions.
    ///
    /// Errors: no relevant positions, a position `>= n_bits`, or a repeated one.
    pub fn new(n_bits: usize, mut relevant: Vec<usize>) -> Result<Self> {
        let op = "SparseParity::new";
        relevant.sort_unstable();
        if relevant.is_empty()
            || relevant.last().is_some_and(|&m| m >= n_bits)
            || relevant.windows(2).any(|w| w[0] == w[1])
        {
            return Err(DataError::invalid(
                op,
                format!("relevant bits must be distinct, non-empty and < {n_bits}, got {relevant:?}"),
            ));
        }
        Ok(SparseParity { n_bits, relevant })
    }

    /// A parity on `k` relevant positions drawn uniformly without replacement.
    ///
    /// Errors: `k == 0` or `k > n_bits`.
    pub fn random<R: Rng + ?Sized>(n_bits: usize, k: usize, rng: &mut R) -> Result<Self> {
        if k == 0 || k > n_bits {
            return Err(DataError::invalid(
                "SparseParity::random",
                format!("need 1 <= k <= n_bits, got k = {k}, n_bits = {n_bits}"),
            ));
        }
        Self::new(n_bits, permutation(n_bits, rng)[..k].to_vec())
    }

    /// The label of one bit string: the XOR of its relevant bits.
    ///
    /// Errors: `bits.len() != n_bits`.
    pub fn label(&self, bits: &[bool]) -> Result<usize> {
        if bits.len() != self.n_bits {
            return Err(DataError::shape(
                "SparseParity::label",
                format!("expected {} bits, got {}", self.n_bits, bits.len()),
            ));
        }
        Ok(self.relevant.iter().filter(|&&i| bits.get(i).copied().unwrap_or(false)).count() % 2)
    }

    /// `n` examples: features (n, n_bits) in {-1, +1}, labels 0/1 (2 classes).
    pub fn generate<T: Element, R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Dataset<T>> {
        let mut x = Vec::with_capacity(n * self.n_bits);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let bits: Vec<bool> = (0..self.n_bits).map(|_| rng.random::<bool>()).collect();
            x.extend(bits.iter().map(|&b| if b { -T::one() } else { T::one() }));
            labels.push(self.label(&bits)?);
        }
        Dataset::classification(Tensor::from_vec(x, &[n, self.n_bits])?, labels, 2)
    }
}

// ---- modular arithmetic -------------------------------------------------------------
