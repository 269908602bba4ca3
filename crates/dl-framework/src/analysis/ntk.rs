//! The empirical NTK of a [`Network`] and its spectrum.
//!
//! `Theta(x, x')_{k k'} = sum_p df_k(x)/dtheta_p df_{k'}(x')/dtheta_p = (J J^T)`, over the
//! network's trainable parameters. For an f64 network this is dl-ntk's
//! [`dl_ntk::empirical_ntk_batched`] (the Jacobian under a byte budget); for other element
//! types the Jacobian rows are taken here the same way, by one reverse pass per example
//! and output, in the network's own precision, and contracted in f64 (tested against
//! dl-ntk on an f64 copy of the network).
//!
//! The spectrum of the full kernel `(N K) x (N K)` sets the speed of training in the
//! linearised (lazy) regime: gradient descent with learning rate `eta` on
//! `L = 1/(2N) sum_n ||f(x_n) - y_n||^2` moves the residual by `r <- (I - eta Theta / N) r`,
//! so it converges iff `eta < 2 N / lambda_max(Theta)` (the largest stable learning rate),
//! and the slowest direction decays at `eta lambda_min / N`: the condition number
//! `lambda_max / lambda_min` is the number of steps the slowest mode needs at the largest
//! stable rate (up to a constant).

use std::any::Any;

use dl_autodiff::{BackwardOptions, Var, backward_with};
use dl_layers::Module;
use dl_ntk::OutputKernel;
use dl_ntk::predict::GradientFlow;
use dl_tensor::{Element, Tensor};
use serde::{Deserialize, Serialize};

use super::error::{AnalysisError, Result};
use crate::network::Network;

/// The empirical NTK of `network` on the batch `x` `(N, ...input)`, as `output` says
/// (`Full` `(N K, N K)`, `Trace` `(N, N)`, `DiagonalBlocks` `(K, N, N)`), holding at most
/// `budget_bytes` of Jacobian.
pub fn network_ntk<T: Element>(
    network: &Network<T>,
    x: &Tensor<T>,
    output: OutputKernel,
    budget_bytes: usize,
) -> Result<Tensor<f64>> {
    network.check_input(x.shape())?;
    if let Some(net64) = (network as &dyn Any).downcast_ref::<Network<f64>>() {
        return Ok(dl_ntk::empirical_ntk_batched(net64, &x.cast::<f64>(), None, output, budget_bytes)?.kernel);
    }
    let params: Vec<_> = network.parameters().into_iter().map(|p| p.param).filter(|p| p.requires_grad()).collect();
    let p_total: usize = params.iter().map(|p| p.shape().iter().product::<usize>()).sum();
    let n = x.shape()[0];
    let k_out: usize = network.output_shape().iter().product();
    let bytes = n * k_out * p_total * 8;
    if bytes > budget_bytes {
        return Err(AnalysisError::invalid(
            "network_ntk",
            format!(
                "the Jacobian of {n} inputs x {k_out} outputs x {p_total} parameters needs {bytes} bytes, above the budget of {budget_bytes}; use fewer inputs"
            ),
        ));
    }
    // rows (n k) of J, each of length P
    let mut jac = vec![0.0f64; n * k_out * p_total];
    for e in 0..n {
        let out = network.forward(&Var::constant(x.narrow(0, e, 1)?))?;
        let shape = out.shape().to_vec();
        for k in 0..k_out {
            let mut seed = vec![T::zero(); k_out];
            seed[k] = T::one();
            let opts = if k + 1 < k_out { BackwardOptions::retain() } else { BackwardOptions::default() };
            let grads = backward_with(&out, Some(&Tensor::from_vec(seed, &shape)?), opts)?;
            let row = &mut jac[(e * k_out + k) * p_total..(e * k_out + k + 1) * p_total];
            let mut offset = 0;
            for p in &params {
                let len: usize = p.shape().iter().product();
                if let Some(g) = p.grad(&grads) {
                    for (r, v) in row[offset..offset + len].iter_mut().zip(g.contiguous().to_vec()) {
                        *r = v.to_f64_exact();
                    }
                }
                offset += len;
            }
        }
    }
    let j = Tensor::from_vec(jac, &[n * k_out, p_total])?;
    let full = j.matmul(&j.t()?)?;
    Ok(match output {
        OutputKernel::Full => full,
        OutputKernel::Trace | OutputKernel::DiagonalBlocks => {
            let f = full.contiguous().to_vec();
            let m = n * k_out;
            let mut blocks = vec![0.0; k_out * n * n];
            for k in 0..k_out {
                for a in 0..n {
                    for b in 0..n {
                        blocks[(k * n + a) * n + b] = f[(a * k_out + k) * m + b * k_out + k];
                    }
                }
            }
            if output == OutputKernel::DiagonalBlocks {
                Tensor::from_vec(blocks, &[k_out, n, n])?
            } else {
                let trace: Vec<f64> = (0..n * n).map(|i| (0..k_out).map(|k| blocks[k * n * n + i]).sum()).collect();
                Tensor::from_vec(trace, &[n, n])?
            }
        }
    })
}

/// The spectrum of an empirical NTK and what it says about gradient descent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NtkSpectrum {
    /// Inputs `N`.
    pub inputs: usize,
    /// Outputs `K`.
    pub outputs: usize,
    /// Eigenvalues of the full `(N K) x (N K)` kernel, descending.
    pub eigenvalues: Vec<f64>,
    /// `lambda_max / lambda_min` (`None` when `lambda_min <= 0`: a singular kernel).
    pub condition_number: Option<f64>,
    /// `2 N / lambda_max`: the largest stable learning rate of gradient descent on
    /// `1/(2N) sum_n ||f(x_n) - y_n||^2` in the linearised regime.
    pub max_stable_learning_rate: f64,
    /// `trace(Theta) / (N K)`, the mean diagonal entry.
    pub mean_diagonal: f64,
}

/// The eigenspectrum of the full kernel `theta` `(N K, N K)` (dl-ntk's eigensolver via
/// [`GradientFlow`]).
pub fn ntk_spectrum(theta: &Tensor<f64>, inputs: usize, outputs: usize) -> Result<NtkSpectrum> {
    let m = theta.shape()[0];
    let flow = GradientFlow::new(theta, &Tensor::zeros(&[m, 1]), None, 1.0)?;
    let mut eigenvalues = flow.eigenvalues().to_vec();
    eigenvalues.reverse();
    let (max, min) = (eigenvalues[0], *eigenvalues.last().expect("a non-empty kernel"));
    let diag: f64 = {
        let v = theta.contiguous().to_vec();
        (0..m).map(|i| v[i * m + i]).sum::<f64>() / m as f64
    };
    Ok(NtkSpectrum {
        inputs,
        outputs,
        condition_number: (min > 0.0).then(|| max / min),
        max_stable_learning_rate: 2.0 * inputs as f64 / max,
        mean_diagonal: diag,
        eigenvalues,
    })
}
