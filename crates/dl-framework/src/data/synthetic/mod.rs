//! Synthetic datasets, each drawn from an explicit seeded generator:
//!
//! - [`TeacherNetwork`]: a random MLP teacher whose outputs are regression targets, or
//!   whose argmax is a class label (student–teacher setups).
//! - [`SparseParity`]: n-bit inputs in {-1, +1}, the label is the parity of k hidden
//!   relevant bits (Barak et al. 2022, "Hidden progress in deep learning").
//! - [`ModularArithmetic`]: `a op b mod p` for all pairs, inputs one-hot `[e_a, e_b]`
//!   (Power et al. 2022, "Grokking").
//! - [`TwoSpirals`]: two interleaved Archimedean spirals (Lang and Witbrock 1988).
//! - [`Sinusoid`]: `y = A sin(omega x + phi) + noise` (Finn et al. 2017's regression task).
//!
//! Normal draws use `dl_tensor::random::standard_normal_f64` (Box–Muller), so the same
//! seed gives the same dataset on every machine.

mod modular;
mod parity;
mod sinusoid;
mod spirals;
mod teacher;
#[cfg(test)]
mod tests;

use dl_tensor::{Element, Tensor};

use super::error::{DataError, Result};

pub use modular::{ModOp, ModularArithmetic};
pub use parity::SparseParity;
pub use sinusoid::Sinusoid;
pub use spirals::TwoSpirals;
pub use teacher::{Activation, TeacherNetwork};

fn finite(op: &'static str, name: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        return Err(DataError::invalid(op, format!("{name} must be finite, got {v}")));
    }
    Ok(())
}

fn non_negative(op: &'static str, name: &str, v: f64) -> Result<()> {
    if v.is_nan() || v < 0.0 || !v.is_finite() {
        return Err(DataError::invalid(op, format!("{name} must be finite and >= 0, got {v}")));
    }
    Ok(())
}

fn to_tensor<T: Element>(v: Vec<f64>, shape: &[usize]) -> Result<Tensor<T>> {
    Ok(Tensor::from_vec(v.into_iter().map(T::from_f64_lossy).collect(), shape)?)
}

// ---- teacher network ----------------------------------------------------------------
