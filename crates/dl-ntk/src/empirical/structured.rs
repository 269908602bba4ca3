//! The structured (layer-wise) empirical NTK of a dense network (see [`super`]).

use dl_autodiff::{BackwardOptions, Var, grad};
use dl_tensor::Tensor;
use ndarray::{Array2, Ix2};

use super::accumulate::Accumulator;
use super::{EmpiricalKernel, OutputKernel, check_inputs};
use crate::error::{NtkError, Result};
use crate::finite::FiniteNetwork;
use crate::matrix::a_bt;

/// Per-layer factors of one input set: the inputs `A_{l-1}` and, per output `k`, the
/// backpropagated gradients `G_l^k = df_k / dh_l` (one row per example).
struct Factors {
    inputs: Vec<Array2<f64>>,
    gradients: Vec<Vec<Array2<f64>>>,
    scales: Vec<(f64, f64)>,
    outputs: usize,
}

impl Factors {
    fn bytes(&self) -> usize {
        let a: usize = self.inputs.iter().map(|m| m.len()).sum();
        let g: usize = self.gradients.iter().flatten().map(|m| m.len()).sum();
        (a + g) * std::mem::size_of::<f64>()
    }
}

fn to_array2(t: &Tensor<f64>) -> Result<Array2<f64>> {
    t.view().to_owned().into_dimensionality::<Ix2>().map_err(|_| NtkError::Shape {
        op: "empirical_ntk_structured",
        what: "a dense layer's input and output must be (N, features)".into(),
        left: t.shape().to_vec(),
        right: vec![],
    })
}

fn factors(net: &FiniteNetwork, x: &Tensor<f64>) -> Result<Factors> {
    let (out, records) = net.forward_recording(&Var::constant(x.clone()))?;
    if out.shape().len() != 2 {
        return Err(NtkError::Shape {
            op: "empirical_ntk_structured",
            what: "the network output must be (N, K)".into(),
            left: x.shape().to_vec(),
            right: out.shape().to_vec(),
        });
    }
    let (n, k_out) = (out.shape()[0], out.shape()[1]);
    let hs: Vec<&Var<f64>> = records.iter().map(|r| &r.output).collect();
    let mut gradients: Vec<Vec<Array2<f64>>> = records.iter().map(|_| Vec::with_capacity(k_out)).collect();
    for k in 0..k_out {
        // d(sum_n f_k(x_n)) / dh_l[n] = df_k(x_n) / dh_l[n]: examples do not interact in a dense network
        let mut seed = Array2::<f64>::zeros((n, k_out));
        seed.column_mut(k).fill(1.0);
        let seed = Var::constant(Tensor::from_ndarray(seed.into_dyn()));
        let opts = if k + 1 < k_out { BackwardOptions::retain() } else { BackwardOptions::default() };
        let gs = grad(&out, Some(&seed), &hs, opts)?;
        for ((g, rec), dst) in gs.into_iter().zip(&records).zip(gradients.iter_mut()) {
            dst.push(match g {
                Some(g) => to_array2(g.value())?,
                None => Array2::zeros((n, rec.output.shape()[1])),
            });
        }
    }
    let inputs = records.iter().map(|r| to_array2(&r.input)).collect::<Result<Vec<_>>>()?;
    let scales = records.iter().map(|r| r.gradient_scales).collect();
    Ok(Factors { inputs, gradients, scales, outputs: k_out })
}

/// The empirical NTK of a dense network by the layer-wise products (see [`super`]);
/// `x2 = None` means `x2 = x1`.
pub fn empirical_ntk_structured(
    net: &FiniteNetwork,
    x1: &Tensor<f64>,
    x2: Option<&Tensor<f64>>,
    output: OutputKernel,
) -> Result<EmpiricalKernel> {
    check_inputs("empirical_ntk_structured", x1, x2)?;
    let f1 = factors(net, x1)?;
    let f2 = match x2 {
        Some(x2) => Some(factors(net, x2)?),
        None => None,
    };
    let f2r = f2.as_ref().unwrap_or(&f1);
    let (n1, n2) = (x1.shape()[0], x2.map_or(x1.shape()[0], |x| x.shape()[0]));
    let k_out = f1.outputs;
    let mut acc = Accumulator::new(output, k_out, n1, n2);
    let mut temp_bytes = 0;
    for l in 0..f1.inputs.len() {
        let (c_w, c_b) = f1.scales[l];
        // M_l = c_w A A'^T + c_b
        let mut m = a_bt(f1.inputs[l].view(), f2r.inputs[l].view());
        m.mapv_inplace(|v| c_w * v + c_b);
        for k in 0..k_out {
            for k2 in 0..k_out {
                if !acc.needs(k, k2) {
                    continue;
                }
                let mut block = a_bt(f1.gradients[l][k].view(), f2r.gradients[l][k2].view());
                block *= &m;
                acc.add(k, k2, 0, 0, block.view());
            }
        }
        temp_bytes = 2 * m.len() * std::mem::size_of::<f64>();
    }
    let peak_bytes = f1.bytes() + f2.as_ref().map_or(0, |f| f.bytes()) + temp_bytes;
    let parameters = dl_layers::Module::num_parameters(net);
    Ok(EmpiricalKernel { kernel: acc.finish(), output, outputs: k_out, parameters, peak_bytes })
}
