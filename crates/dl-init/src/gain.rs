//! **Gains**: the factor a scheme multiplies its standard deviation by for a given
//! activation, from two sources side by side.
//!
//! - [`engine_gain`] (= [`crate::activation_design::gain`]): `1 / sqrt(E[phi(z)^2])`,
//!   z ~ N(0, 1), computed by the Gaussian-expectation engine for *any* activation. It is
//!   the gain that makes unit-variance pre-activations a fixed point of the length map with
//!   sigma_b2 = 0 (`sigma_w2 = gain^2` gives q* = 1).
//! - [`pytorch_gain`]: `torch.nn.init.calculate_gain`'s table, for the activations it lists.
//!
//! Where they differ and why:
//!
//! | activation | engine | PyTorch | note |
//! | --- | --- | --- | --- |
//! | linear | 1 | 1 | equal |
//! | ReLU | sqrt(2) | sqrt(2) | equal (He et al. 2015) |
//! | leaky ReLU(a) | sqrt(2 / (1 + a^2)) | sqrt(2 / (1 + a^2)) | equal |
//! | tanh | 1.5925... | 5/3 | PyTorch's value is a heuristic that keeps tanh away from saturation; the engine's is the fixed-point value at q = 1 |
//! | sigmoid | 1 / sqrt(E[sigmoid(z)^2]) = 1.7617... | 1 | PyTorch does not correct for sigmoid's non-zero mean or its small slope |
//! | SELU | 1 | 3/4 | PyTorch's 3/4 is chosen for its own Kaiming-with-SELU recipe; SELU is self-normalising at gain 1 by construction (Klambauer et al. 2017) |
//!
//! ```
//! use dl_init::{Activation, gain::{engine_gain, pytorch_gain}};
//! assert_eq!(pytorch_gain(&Activation::Tanh), Some(5.0 / 3.0));
//! assert!((engine_gain(&Activation::Tanh)? - 1.5925).abs() < 1e-4);
//! assert_eq!(pytorch_gain(&Activation::Gelu), None);         // not in PyTorch's table
//! assert!(engine_gain(&Activation::Gelu)? > 1.0);             // the engine has every activation
//! # Ok::<(), dl_init::InitError>(())
//! ```

use crate::activation::Activation;
use crate::error::Result;

/// The variance-preserving gain `1 / sqrt(E[phi(z)^2])` from the Gaussian-expectation
/// engine (see [`crate::activation_design::gain`]).
pub fn engine_gain(act: &Activation) -> Result<f64> {
    crate::activation_design::gain(act)
}

/// PyTorch's `calculate_gain` for the activations in its table (linear, sigmoid, tanh,
/// ReLU, leaky ReLU, SELU); `None` for the others.
pub fn pytorch_gain(act: &Activation) -> Option<f64> {
    match act {
        Activation::Linear | Activation::Sigmoid => Some(1.0),
        Activation::Tanh => Some(5.0 / 3.0),
        Activation::Relu => Some(2f64.sqrt()),
        Activation::LeakyRelu(a) => Some((2.0 / (1.0 + a * a)).sqrt()),
        Activation::Selu => Some(0.75),
        _ => None,
    }
}

/// Every activation of PyTorch's table with both gains: `(name, engine, pytorch)`.
pub fn gain_table() -> Result<Vec<(String, f64, f64)>> {
    let acts = [
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu(0.01),
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Selu,
    ];
    acts.iter()
        .map(|a| Ok((a.name(), engine_gain(a)?, pytorch_gain(a).expect("every listed activation is in the table"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's and PyTorch's gains agree exactly where both are the fixed-point value
    /// (linear, ReLU, leaky ReLU; the engine uses closed forms there, so 1e-14) and differ
    /// by the documented amounts elsewhere. Sigmoid's engine value is checked against
    /// E[sigmoid(z)^2] by a plain 20001-point trapezoid on [-12, 12] (error ~1e-10).
    #[test]
    fn the_two_tables_side_by_side() {
        let table = gain_table().unwrap();
        for (name, engine, torch) in &table {
            match name.as_str() {
                "linear" | "relu" | "leaky_relu(0.01)" => assert!((engine - torch).abs() < 1e-14, "{name}"),
                "tanh" => assert!(*torch > *engine + 0.07 && *torch < *engine + 0.08, "{engine}"),
                "selu" => assert!((engine - 1.0).abs() < 1e-10 && *torch == 0.75),
                "sigmoid" => {
                    let n = 20_000;
                    let h = 24.0 / n as f64;
                    let m2: f64 = (0..=n)
                        .map(|i| {
                            let z = -12.0 + i as f64 * h;
                            let s = 1.0 / (1.0 + (-z).exp());
                            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                            w * s * s * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
                        })
                        .sum::<f64>()
                        * h;
                    assert!((engine - 1.0 / m2.sqrt()).abs() < 1e-8, "{engine} vs {}", 1.0 / m2.sqrt());
                    assert_eq!(*torch, 1.0);
                }
                other => panic!("unexpected row {other}"),
            }
        }
    }
}
