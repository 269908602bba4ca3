//! The Jacobian paths: rows of `J = df/dtheta` by reverse mode, one example and one
//! output at a time, contracted as `J1 J2^T` — either all at once (the naive reference)
//! or chunk by chunk under a memory budget.

use dl_autodiff::{BackwardOptions, Var, backward_with};
use dl_layers::{Module, Param};
use dl_tensor::Tensor;
use ndarray::Array2;

use super::accumulate::Accumulator;
use super::{EmpiricalKernel, OutputKernel, check_inputs};
use crate::error::{NtkError, Result};
use crate::matrix::a_bt;

const F64_BYTES: usize = std::mem::size_of::<f64>();

/// The trainable parameters and their total size.
fn trainable(net: &dyn Module<f64>) -> (Vec<Param<f64>>, usize) {
    let params: Vec<Param<f64>> = net.parameters().into_iter().map(|p| p.param).filter(|p| p.requires_grad()).collect();
    let total = params.iter().map(|p| p.shape().iter().product::<usize>()).sum();
    (params, total)
}

/// The number of outputs per example (from a forward pass on the first example).
fn output_count(net: &dyn Module<f64>, x: &Tensor<f64>) -> Result<usize> {
    let out = net.forward(&Var::constant(x.narrow(0, 0, 1)?))?;
    if out.shape().first() != Some(&1) {
        return Err(NtkError::Shape { op: "empirical NTK", what: "the network must map a batch of one example to a batch of one output".into(), left: x.narrow(0, 0, 1)?.shape().to_vec(), right: out.shape().to_vec() });
    }
    Ok(out.value().numel())
}

/// Jacobian rows of examples `start..end`: `k` matrices `(end - start, P)`, one per output.
fn jacobian_rows(net: &dyn Module<f64>, params: &[Param<f64>], p_total: usize, k_out: usize, x: &Tensor<f64>, start: usize, end: usize) -> Result<Vec<Array2<f64>>> {
    let mut rows: Vec<Array2<f64>> = (0..k_out).map(|_| Array2::zeros((end - start, p_total))).collect();
    for n in start..end {
        let out = net.forward(&Var::constant(x.narrow(0, n, 1)?))?;
        let shape = out.shape().to_vec();
        if out.value().numel() != k_out {
            return Err(NtkError::Shape { op: "empirical NTK", what: format!("example {n} gives a different number of outputs than example 0 ({k_out})"), left: shape, right: vec![k_out] });
        }
        for (k, row_k) in rows.iter_mut().enumerate() {
            let mut seed = vec![0.0; k_out];
            seed[k] = 1.0;
            let opts = if k + 1 < k_out { BackwardOptions::retain() } else { BackwardOptions::default() };
            let grads = backward_with(&out, Some(&Tensor::from_vec(seed, &shape)?), opts)?;
            let mut row = row_k.row_mut(n - start);
            let row = row.as_slice_mut().expect("a row of a standard-layout matrix is contiguous");
            let mut offset = 0;
            for p in params {
                let len: usize = p.shape().iter().product();
                if let Some(g) = p.grad(&grads) {
                    let g = g.contiguous();
                    row[offset..offset + len].copy_from_slice(g.as_slice().expect("contiguous"));
                }
                offset += len;
            }
        }
    }
    Ok(rows)
}

/// Adds `J1_k J2_{k'}^T` for every needed output pair.
fn contract(acc: &mut Accumulator, j1: &[Array2<f64>], j2: &[Array2<f64>], r0: usize, c0: usize, mirror: bool) {
    for (k, a) in j1.iter().enumerate() {
        for (k2, b) in j2.iter().enumerate() {
            if acc.needs(k, k2) {
                let block = a_bt(a.view(), b.view());
                acc.add(k, k2, r0, c0, block.view());
                if mirror {
                    acc.add(k2, k, c0, r0, block.t());
                }
            }
        }
    }
}

fn bytes(rows: &[Array2<f64>]) -> usize {
    rows.iter().map(|r| r.len() * F64_BYTES).sum()
}

/// The empirical NTK from both full Jacobians (the reference every other path is tested
/// against). `x2 = None` means `x2 = x1`.
pub fn empirical_ntk_naive(net: &dyn Module<f64>, x1: &Tensor<f64>, x2: Option<&Tensor<f64>>, output: OutputKernel) -> Result<EmpiricalKernel> {
    check_inputs("empirical_ntk_naive", x1, x2)?;
    let (params, p_total) = trainable(net);
    let k_out = output_count(net, x1)?;
    let n1 = x1.shape()[0];
    let j1 = jacobian_rows(net, &params, p_total, k_out, x1, 0, n1)?;
    let (j2, n2) = match x2 {
        Some(x2) => (Some(jacobian_rows(net, &params, p_total, k_out, x2, 0, x2.shape()[0])?), x2.shape()[0]),
        None => (None, n1),
    };
    let peak_bytes = bytes(&j1) + j2.as_ref().map_or(0, |j| bytes(j));
    let mut acc = Accumulator::new(output, k_out, n1, n2);
    contract(&mut acc, &j1, j2.as_deref().unwrap_or(&j1), 0, 0, false);
    Ok(EmpiricalKernel { kernel: acc.finish(), output, outputs: k_out, parameters: p_total, peak_bytes })
}

/// The empirical NTK holding at most `budget_bytes` of Jacobian rows at once: the rows of
/// `c = budget / (2 K P 8)` examples of each set, block by block (rows of the second set
/// are recomputed for every block of the first). `x2 = None` means `x2 = x1`, and only the
/// blocks on and above the diagonal are computed.
pub fn empirical_ntk_batched(net: &dyn Module<f64>, x1: &Tensor<f64>, x2: Option<&Tensor<f64>>, output: OutputKernel, budget_bytes: usize) -> Result<EmpiricalKernel> {
    let op = "empirical_ntk_batched";
    check_inputs(op, x1, x2)?;
    let (params, p_total) = trainable(net);
    let k_out = output_count(net, x1)?;
    let row_bytes = k_out * p_total * F64_BYTES;
    let chunk = budget_bytes / (2 * row_bytes.max(1));
    if chunk == 0 {
        return Err(NtkError::Budget {
            op,
            budget: budget_bytes,
            detail: format!("the Jacobian of one example is {k_out} outputs x {p_total} parameters = {row_bytes} bytes, and a block needs one example of each set ({} bytes)", 2 * row_bytes),
        });
    }
    let n1 = x1.shape()[0];
    let (xb, n2) = match x2 {
        Some(x) => (x, x.shape()[0]),
        None => (x1, n1),
    };
    let symmetric = x2.is_none();
    let mut acc = Accumulator::new(output, k_out, n1, n2);
    let mut peak = 0;
    for r0 in (0..n1).step_by(chunk) {
        let r1 = (r0 + chunk).min(n1);
        let j1 = jacobian_rows(net, &params, p_total, k_out, x1, r0, r1)?;
        let first = if symmetric { r0 } else { 0 };
        for c0 in (first..n2).step_by(chunk) {
            let c1 = (c0 + chunk).min(n2);
            if symmetric && c0 == r0 {
                peak = peak.max(bytes(&j1));
                contract(&mut acc, &j1, &j1, r0, c0, false);
                continue;
            }
            let j2 = jacobian_rows(net, &params, p_total, k_out, xb, c0, c1)?;
            peak = peak.max(bytes(&j1) + bytes(&j2));
            contract(&mut acc, &j1, &j2, r0, c0, symmetric);
        }
    }
    Ok(EmpiricalKernel { kernel: acc.finish(), output, outputs: k_out, parameters: p_total, peak_bytes: peak })
}

