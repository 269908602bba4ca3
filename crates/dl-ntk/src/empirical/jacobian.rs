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
use crate::matrix::a_bt_wide;

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
        return Err(NtkError::Shape {
            op: "empirical NTK",
            what: "the network must map a batch of one example to a batch of one output".into(),
            left: x.narrow(0, 0, 1)?.shape().to_vec(),
            right: out.shape().to_vec(),
        });
    }
    Ok(out.value().numel())
}

/// Fresh buffers for the Jacobian rows of `chunk` examples: `k` matrices `(chunk, P)`.
fn row_buffers(k_out: usize, chunk: usize, p_total: usize) -> Vec<Array2<f64>> {
    (0..k_out).map(|_| Array2::zeros((chunk, p_total))).collect()
}

/// Writes the Jacobian rows of examples `start..end` into the first `end - start` rows of
/// `rows` (one matrix per output). Each parameter's gradient is copied in its memory order,
/// so a transposed gradient costs a `memcpy`, not a strided gather: the parameter axis of
/// `J` is then a fixed permutation of the flattened parameters, the same for every example
/// (the same graph gives the same layouts), and `J1 J2^T` does not depend on it.
fn jacobian_rows(
    net: &dyn Module<f64>,
    params: &[Param<f64>],
    k_out: usize,
    x: &Tensor<f64>,
    start: usize,
    end: usize,
    rows: &mut [Array2<f64>],
) -> Result<()> {
    for n in start..end {
        let out = net.forward(&Var::constant(x.narrow(0, n, 1)?))?;
        let shape = out.shape().to_vec();
        if out.value().numel() != k_out {
            return Err(NtkError::Shape {
                op: "empirical NTK",
                what: format!("example {n} gives a different number of outputs than example 0 ({k_out})"),
                left: shape,
                right: vec![k_out],
            });
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
                let dst = &mut row[offset..offset + len];
                match p.grad(&grads) {
                    Some(g) => match g.view().as_slice_memory_order() {
                        Some(src) => dst.copy_from_slice(src),
                        None => dst.copy_from_slice(g.contiguous().as_slice().expect("contiguous")),
                    },
                    None => dst.fill(0.0),
                }
                offset += len;
            }
        }
    }
    Ok(())
}

/// The first `m` rows of every output's block.
fn first_rows(rows: &[Array2<f64>], m: usize) -> Vec<ndarray::ArrayView2<'_, f64>> {
    rows.iter().map(|r| r.slice(ndarray::s![..m, ..])).collect()
}

/// Adds `J1_k J2_{k'}^T` for every needed output pair.
fn contract(
    acc: &mut Accumulator,
    j1: &[ndarray::ArrayView2<'_, f64>],
    j2: &[ndarray::ArrayView2<'_, f64>],
    r0: usize,
    c0: usize,
    mirror: bool,
) {
    for (k, a) in j1.iter().enumerate() {
        for (k2, b) in j2.iter().enumerate() {
            if acc.needs(k, k2) {
                let block = a_bt_wide(*a, *b);
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
pub fn empirical_ntk_naive(
    net: &dyn Module<f64>,
    x1: &Tensor<f64>,
    x2: Option<&Tensor<f64>>,
    output: OutputKernel,
) -> Result<EmpiricalKernel> {
    check_inputs("empirical_ntk_naive", x1, x2)?;
    let (params, p_total) = trainable(net);
    let k_out = output_count(net, x1)?;
    let n1 = x1.shape()[0];
    let mut j1 = row_buffers(k_out, n1, p_total);
    jacobian_rows(net, &params, k_out, x1, 0, n1, &mut j1)?;
    let (j2, n2) = match x2 {
        Some(x2) => {
            let n2 = x2.shape()[0];
            let mut j2 = row_buffers(k_out, n2, p_total);
            jacobian_rows(net, &params, k_out, x2, 0, n2, &mut j2)?;
            (Some(j2), n2)
        }
        None => (None, n1),
    };
    let peak_bytes = bytes(&j1) + j2.as_ref().map_or(0, |j| bytes(j));
    let mut acc = Accumulator::new(output, k_out, n1, n2);
    contract(&mut acc, &first_rows(&j1, n1), &first_rows(j2.as_ref().unwrap_or(&j1), n2), 0, 0, false);
    Ok(EmpiricalKernel { kernel: acc.finish(), output, outputs: k_out, parameters: p_total, peak_bytes })
}

/// The empirical NTK holding at most `budget_bytes` of Jacobian rows at once: the rows of
/// `c = budget / (2 K P 8)` examples of each set, block by block (rows of the second set
/// are recomputed for every block of the first). `x2 = None` means `x2 = x1`, and only the
/// blocks on and above the diagonal are computed.
pub fn empirical_ntk_batched(
    net: &dyn Module<f64>,
    x1: &Tensor<f64>,
    x2: Option<&Tensor<f64>>,
    output: OutputKernel,
    budget_bytes: usize,
) -> Result<EmpiricalKernel> {
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
            detail: format!(
                "the Jacobian of one example is {k_out} outputs x {p_total} parameters = {row_bytes} bytes, and a block needs one example of each set ({} bytes)",
                2 * row_bytes
            ),
        });
    }
    let n1 = x1.shape()[0];
    let (xb, n2) = match x2 {
        Some(x) => (x, x.shape()[0]),
        None => (x1, n1),
    };
    let symmetric = x2.is_none();
    let mut acc = Accumulator::new(output, k_out, n1, n2);
    // two buffers of `chunk` rows, allocated once and refilled block by block
    let mut j1 = row_buffers(k_out, chunk.min(n1), p_total);
    let mut j2 = row_buffers(k_out, if symmetric && n1 <= chunk { 0 } else { chunk.min(n2) }, p_total);
    let peak = bytes(&j1) + bytes(&j2);
    for r0 in (0..n1).step_by(chunk) {
        let r1 = (r0 + chunk).min(n1);
        jacobian_rows(net, &params, k_out, x1, r0, r1, &mut j1)?;
        let first = if symmetric { r0 } else { 0 };
        for c0 in (first..n2).step_by(chunk) {
            let c1 = (c0 + chunk).min(n2);
            if symmetric && c0 == r0 {
                contract(&mut acc, &first_rows(&j1, r1 - r0), &first_rows(&j1, r1 - r0), r0, c0, false);
                continue;
            }
            jacobian_rows(net, &params, k_out, xb, c0, c1, &mut j2)?;
            contract(&mut acc, &first_rows(&j1, r1 - r0), &first_rows(&j2, c1 - c0), r0, c0, symmetric);
        }
    }
    Ok(EmpiricalKernel { kernel: acc.finish(), output, outputs: k_out, parameters: p_total, peak_bytes: peak })
}
