//! Checking a network on every Boolean input: `2^n` inputs `x in {0, 1}^n`, input number
//! `i` having `x_j` = bit `j` of `i`. A construction that claims to compute a Boolean
//! function exactly must output exactly 0 or 1 on each; the check reports how many outputs
//! round to the wrong value and the largest distance from the target value.

use dl_autodiff::{Var, no_grad};
use dl_layers::Module;
use dl_tensor::Tensor;

use super::{ExpressivityError, Result};

/// The most input bits an exhaustive check takes (`2^20` inputs, about a million forward
/// rows); beyond, the check is an error naming `n`.
pub const MAX_EXHAUSTIVE_BITS: usize = 20;

/// Inputs per forward pass.
const CHUNK: u64 = 4096;

/// The outcome of [`check_on_all_inputs`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExhaustiveCheck {
    /// The number of inputs checked, `2^n`.
    pub inputs: u64,
    /// Inputs whose output rounds to the wrong value (`|y - target| >= 1/2`).
    pub wrong: u64,
    /// The first wrong input (its number), if any.
    pub first_wrong: Option<u64>,
    /// `max |y - target|` over all inputs: 0 up to rounding for an exact construction.
    pub max_error: f64,
}

impl ExhaustiveCheck {
    /// Whether every output rounds to its target.
    pub fn all_correct(&self) -> bool {
        self.wrong == 0
    }
}

/// Checks that `n` is small enough to enumerate `{0, 1}^n`.
pub(crate) fn check_bits(op: &'static str, n: usize) -> Result<()> {
    if n == 0 || n > MAX_EXHAUSTIVE_BITS {
        return Err(ExpressivityError::invalid(
            op,
            format!(
                "n = {n} input bits: need 1 <= n <= {MAX_EXHAUSTIVE_BITS} for exhaustive checking (2^n inputs, at most 2^{MAX_EXHAUSTIVE_BITS})"
            ),
        ));
    }
    Ok(())
}

/// The inputs numbered `start .. start + count` as rows of an `(count, n)` batch of 0/1
/// values (`x_j` = bit `j` of the number).
pub fn inputs_of(n: usize, start: u64, count: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(count as usize * n);
    for i in start..start + count {
        out.extend((0..n).map(|j| ((i >> j) & 1) as f64));
    }
    out
}

/// Evaluates `net` (inputs `(N, n)`, outputs `(N, 1)` or `(N,)`) on all `2^n` Boolean
/// inputs and compares with `target(i)` for input number `i`.
///
/// ```
/// use dl_theory::expressivity::{check_on_all_inputs, parity, xor_tree_network};
/// let net = xor_tree_network(10)?;
/// let check = check_on_all_inputs(&net, 10, |i| parity(i))?;
/// assert!(check.all_correct() && check.max_error == 0.0 && check.inputs == 1024);
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn check_on_all_inputs(net: &dyn Module<f64>, n: usize, target: impl Fn(u64) -> bool) -> Result<ExhaustiveCheck> {
    let op = "check_on_all_inputs";
    check_bits(op, n)?;
    let total = 1u64 << n;
    let mut check = ExhaustiveCheck { inputs: total, wrong: 0, first_wrong: None, max_error: 0.0 };
    for start in (0..total).step_by(CHUNK as usize) {
        let count = CHUNK.min(total - start);
        let x = Tensor::from_vec(inputs_of(n, start, count), &[count as usize, n])?;
        let y = no_grad(|| net.forward(&Var::constant(x)))?;
        let values = y.value().contiguous().to_vec();
        if values.len() as u64 != count {
            return Err(ExpressivityError::invalid(
                op,
                format!(
                    "{} gives {} outputs for {count} inputs; it must give one per input",
                    net.describe(),
                    values.len()
                ),
            ));
        }
        for (k, &v) in values.iter().enumerate() {
            let i = start + k as u64;
            let t = if target(i) { 1.0 } else { 0.0 };
            let err = (v - t).abs();
            if err.is_nan() || err >= 0.5 {
                check.wrong += 1;
                check.first_wrong.get_or_insert(i);
            }
            check.max_error = check.max_error.max(if err.is_nan() { f64::INFINITY } else { err });
        }
    }
    Ok(check)
}
