//! The empirical NTK of a dense network, layer by layer.
//!
//! For a dense layer `h_l = m_w a_{l-1} W_l^T + m_b b_l` the gradient of output `k` at
//! input `x_n` with respect to `W_l` is `m_w g_{l,n}^k a_{l-1,n}^T`, with
//! `g_{l,n}^k = df_k(x_n) / dh_l(x_n)` the backpropagated gradient. So the trace kernel
//! `K(x_n, x_m) = sum_k sum_p df_k(x_n)/dtheta_p df_k(x_m)/dtheta_p` is
//!
//! ```text
//! K = sum_k sum_l (G_l^k G_l^k^T) ∘ (m_w^2 A_{l-1} A_{l-1}^T + m_b^2)
//! ```
//!
//! (`∘` the elementwise product, `G_l^k` `(N, n_l)`, `A_{l-1}` `(N, n_{l-1})`; the `m_b^2`
//! term only for a trained bias): `O(N^2 width)` per layer and output instead of the
//! `O(N^2 P)` of the Jacobian, which makes the kernel of networks a few thousand units wide
//! cheap. It is [`super::network_ntk`]'s trace kernel, against which it is tested.
//!
//! In the abc parameterisations as dl-framework writes them (the multipliers carry the
//! width scaling, Tensor Programs IV's form) the SGD learning-rate factors are all 1, so
//! this kernel is the one SGD follows in function space under SP, NTP and muP alike: one
//! step at rate `eta` moves the outputs by `-eta K (dL/df)` to first order. Its movement
//! over training tells muP (`O(1)`) from the NTK parameterisation (`O(n^(-1/2))`).

use dl_autodiff::{BackwardOptions, Var, grad};
use dl_layers::Module;
use dl_tensor::{Element, Tensor};

use super::error::{AnalysisError, Result};
use crate::network::Network;

fn to_f64<T: Element>(t: &Tensor<T>) -> Result<Tensor<f64>> {
    Ok(t.contiguous().cast::<f64>())
}

/// The `(N, N)` trace kernel of a network whose parameterised layers are all top-level
/// dense layers, on the batch `x` `(N, ...input)`, by the layer-wise formula of the module
/// documentation. A layer with parameters that is not a top-level dense layer, or a dense
/// layer whose input is not flat, is an error naming it (use [`super::network_ntk`]).
///
/// ```
/// use dl_framework::NetworkConfig;
/// use dl_framework::analysis::{layerwise_ntk, network_ntk};
/// use dl_ntk::OutputKernel;
/// use dl_tensor::{Tensor, seeded_rng};
/// let net = NetworkConfig::from_json(r#"{"input_shape": [3], "layers": [
///     {"type": "dense", "units": 16, "activation": "tanh"}, {"type": "dense", "units": 2}]}"#)?.build::<f64>()?;
/// let x = Tensor::<f64>::randn(&[5, 3], &mut seeded_rng(0));
/// let k = layerwise_ntk(&net, &x)?;
/// let reference = network_ntk(&net, &x, OutputKernel::Trace, 1 << 20)?;
/// let err = k.to_vec().iter().zip(reference.to_vec()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
/// assert!(err < 1e-12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn layerwise_ntk<T: Element>(network: &Network<T>, x: &Tensor<T>) -> Result<Tensor<f64>> {
    let op = "layerwise_ntk";
    network.check_input(x.shape())?;
    let n = x.shape()[0];
    if n == 0 {
        return Err(AnalysisError::invalid(op, "the batch is empty"));
    }
    // the dense layers, with which of their parameters are trained
    let params = network.parameters();
    let trained = |name: String| params.iter().find(|p| p.name == name).filter(|p| p.param.requires_grad()).is_some();
    let mut dense = Vec::new();
    for (i, layer) in network.layers().iter().enumerate() {
        let mut has_params = false;
        layer.module.visit_parameters("", &mut |_, _| has_params = true);
        if !has_params {
            continue;
        }
        let Some((mw, mb)) = layer.dense_multipliers else {
            return Err(AnalysisError::invalid(
                op,
                format!("{} has parameters but is not a top-level dense layer; use network_ntk", network.layer_name(i)),
            ));
        };
        let weight = |name: &str| if trained(format!("{i}.{name}")) { 1.0 } else { 0.0 };
        dense.push((i, weight("weight") * mw * mw, weight("bias") * mb * mb));
    }
    let input = Var::constant(x.clone());
    let outs = network.forward_traced(&input)?;
    let f = outs.last().expect("a network has at least one layer");
    if f.shape().len() != 2 {
        return Err(AnalysisError::invalid(op, format!("the output must be (N, K), got shape {:?}", f.shape())));
    }
    let k_out = f.shape()[1];
    // A A^T per dense layer, once
    let mut gram = Vec::with_capacity(dense.len());
    for &(i, ..) in &dense {
        let a = if i == 0 { &input } else { &outs[i - 1] };
        if a.shape().len() != 2 {
            return Err(AnalysisError::invalid(
                op,
                format!(
                    "{} takes inputs of shape {:?}; the layer-wise kernel needs flat (N, features) inputs",
                    network.layer_name(i),
                    a.shape()
                ),
            ));
        }
        let a = to_f64(a.value())?;
        gram.push(a.matmul(&a.t()?)?);
    }
    let wrt: Vec<&Var<T>> = dense.iter().map(|&(i, ..)| &outs[i]).collect();
    let mut kernel = vec![0.0; n * n];
    for k in 0..k_out {
        let mut seed = vec![T::zero(); n * k_out];
        for row in 0..n {
            seed[row * k_out + k] = T::one();
        }
        let cot = Var::constant(Tensor::from_vec(seed, &[n, k_out])?);
        let gs = grad(f, Some(&cot), &wrt, BackwardOptions::retain())?;
        for ((g, &(_, cw, cb)), aa) in gs.iter().zip(&dense).zip(&gram) {
            let Some(g) = g else { continue };
            let g = to_f64(g.value())?;
            let gg = g.matmul(&g.t()?)?.to_vec();
            for ((kv, gv), av) in kernel.iter_mut().zip(&gg).zip(aa.to_vec()) {
                *kv += gv * (cw * av + cb);
            }
        }
    }
    Ok(Tensor::from_vec(kernel, &[n, n])?)
}
