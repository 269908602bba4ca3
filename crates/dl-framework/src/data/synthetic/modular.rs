//! [`ModularArithmetic`]: `a op b mod p` over all pairs, the grokking task of Power et al. (2022).

use dl_tensor::{Element, Tensor};
use rand::Rng;

use super::super::dataset::{Dataset, Split, check_fraction, permutation};
use super::super::error::{DataError, Result};

/// A binary operation modulo p.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModOp {
    /// `a + b mod p`.
    Add,
    /// `a - b mod p`.
    Sub,
    /// `a * b mod p`.
    Mul,
    /// `a * b^(-1) mod p` for `b != 0` (p must be prime); pairs with `b = 0` are left out.
    Div,
}

impl ModOp {
    /// `a op b mod p`, or `None` for division by 0 (`a, b < p`).
    pub fn apply(self, a: usize, b: usize, p: usize) -> Option<usize> {
        let (a, b, p) = (a as u128, b as u128, p as u128);
        let r = match self {
            ModOp::Add => (a + b) % p,
            ModOp::Sub => (a + p - b) % p,
            ModOp::Mul => (a * b) % p,
            ModOp::Div => {
                if b == 0 {
                    return None;
                }
                (a * pow_mod(b, p - 2, p)) % p
            }
        };
        Some(r as usize)
    }
}

fn pow_mod(mut base: u128, mut exp: u128, p: u128) -> u128 {
    let mut acc = 1 % p;
    base %= p;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % p;
        }
        base = base * base % p;
        exp >>= 1;
    }
    acc
}

fn is_prime(p: usize) -> bool {
    p >= 2 && (2..).take_while(|d| d * d <= p).all(|d| !p.is_multiple_of(d))
}

/// The algorithmic dataset of Power et al. (2022): every pair `(a, b)` in `0..p` (with
/// `b != 0` for division), input the concatenated one-hot vectors `[e_a, e_b]` of length
/// `2p`, label `a op b mod p` (p classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModularArithmetic {
    /// The modulus.
    pub p: usize,
    /// The operation.
    pub op: ModOp,
}

impl ModularArithmetic {
    /// Largest modulus accepted (the full table then has p^2 rows of 2p features).
    pub const MAX_P: usize = 1000;

    /// Checks the modulus: `2 <= p <= MAX_P`, and p prime for division.
    pub fn new(p: usize, op: ModOp) -> Result<Self> {
        let name = "ModularArithmetic::new";
        if !(2..=Self::MAX_P).contains(&p) {
            return Err(DataError::invalid(name, format!("p must be in 2..={}, got {p}", Self::MAX_P)));
        }
        if op == ModOp::Div && !is_prime(p) {
            return Err(DataError::invalid(name, format!("division mod {p} needs a prime p")));
        }
        Ok(ModularArithmetic { p, op })
    }

    /// Every `(a, b, a op b mod p)`, ordered by a then b.
    pub fn table(&self) -> Vec<(usize, usize, usize)> {
        let p = self.p;
        (0..p).flat_map(|a| (0..p).filter_map(move |b| self.op.apply(a, b, p).map(|c| (a, b, c)))).collect()
    }

    /// The whole table as a dataset: features (rows, 2p), labels in `0..p`.
    pub fn dataset<T: Element>(&self) -> Result<Dataset<T>> {
        let p = self.p;
        let table = self.table();
        let mut x = vec![T::zero(); table.len() * 2 * p];
        for (i, &(a, b, _)) in table.iter().enumerate() {
            x[i * 2 * p + a] = T::one();
            x[i * 2 * p + p + b] = T::one();
        }
        let labels = table.iter().map(|&(_, _, c)| c).collect();
        Dataset::classification(Tensor::from_vec(x, &[table.len(), 2 * p])?, labels, p)
    }

    /// The whole table as token ids: features (rows, 2) holding `a` and `b` as whole
    /// numbers (the input of an embedding layer), labels in `0..p`.
    pub fn tokens<T: Element>(&self) -> Result<Dataset<T>> {
        let table = self.table();
        let x =
            table.iter().flat_map(|&(a, b, _)| [T::from_f64_lossy(a as f64), T::from_f64_lossy(b as f64)]).collect();
        let labels = table.iter().map(|&(_, _, c)| c).collect();
        Dataset::classification(Tensor::from_vec(x, &[table.len(), 2])?, labels, self.p)
    }

    /// The table split at random: a permutation drawn from `rng`, its first
    /// `round(rows * train_fraction)` pairs are the training set, the rest the test set
    /// (each side in table order).
    pub fn split<T: Element, R: Rng + ?Sized>(&self, train_fraction: f64, rng: &mut R) -> Result<Split<T>> {
        check_fraction("ModularArithmetic::split", "train_fraction", train_fraction)?;
        split_rows(self.dataset::<T>()?, train_fraction, rng)
    }

    /// [`ModularArithmetic::split`] of the token-id table ([`ModularArithmetic::tokens`]):
    /// the same generator gives the same pairs on each side as `split`.
    pub fn split_tokens<T: Element, R: Rng + ?Sized>(&self, train_fraction: f64, rng: &mut R) -> Result<Split<T>> {
        check_fraction("ModularArithmetic::split_tokens", "train_fraction", train_fraction)?;
        split_rows(self.tokens::<T>()?, train_fraction, rng)
    }
}

/// Rows of `all` split at random as [`ModularArithmetic::split`] describes.
fn split_rows<T: Element, R: Rng + ?Sized>(all: Dataset<T>, train_fraction: f64, rng: &mut R) -> Result<Split<T>> {
    let perm = permutation(all.len(), rng);
    let n_train = (all.len() as f64 * train_fraction).round() as usize;
    let (mut train, mut test) = (perm[..n_train].to_vec(), perm[n_train..].to_vec());
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train: all.subset(&train)?, test: all.subset(&test)? })
}

// ---- two spirals --------------------------------------------------------------------
