//! Signal propagation: the measured pre-activation statistics of a multilayer perceptron
//! beside the mean-field prediction (Poole et al. 2016; Schoenholz et al. 2017), with the
//! network's own weight and bias variances.
//!
//! For dense layer `l` with pre-activations `h^l = W^l phi(h^{l-1}) + b^l` (`phi(h^0) = x`)
//! and fan-in `N_{l-1}`, the variances are read off the weights:
//! `sigma_w2^l = N_{l-1} mean(W^l_{ij}^2)`, `sigma_b2^l = mean(b^l_i^2)`. Mean-field theory
//! predicts, for inputs `a, b`,
//!
//! ```text
//! q^1_ab = sigma_w2^1 x_a . x_b / N_0 + sigma_b2^1
//! q^l_ab = sigma_w2^l E[phi(u_a) phi(u_b)] + sigma_b2^l,  (u_a, u_b) ~ N(0, [[q_aa, q_ab], [q_ab, q_bb]]) at l-1
//! ```
//!
//! (dl-init's [`MeanField::covariance_map`]); `q^l` is the mean of `q^l_aa` over the inputs
//! and `c^l` the mean over pairs of `q^l_ab / sqrt(q^l_aa q^l_bb)`. The measured
//! counterparts are `q^l_aa = mean_i (h^l_i(x_a))^2` and `q^l_ab = mean_i h^l_i(x_a) h^l_i(x_b)`.
//! The pairs are consecutive inputs `(x_0, x_1), (x_2, x_3), ...`.
//!
//! `chi_1 = sigma_w2 E[phi'(u)^2]`, `u ~ N(0, q)`, is the slope of the correlation map at
//! `c = 1`: below 1 the network is in the **ordered** phase (inputs converge, gradients
//! vanish), above 1 in the **chaotic** phase, at 1 **critical**. The phase is given for the
//! mean variances of the layers that see an activation (layers 2..L), with `chi_1` at the
//! fixed point `q*`, or at the last measured `q` where `q*` does not exist (ReLU off the
//! critical line). Read-off variances carry sampling noise of relative size about
//! `sqrt(2 / (N_{l-1} N_l))`, so `|chi_1 - 1| <= critical_tolerance` counts as critical.

use dl_autodiff::{Var, no_grad};
use dl_init::MeanField;
use dl_tensor::{Element, Tensor};
use serde::{Deserialize, Serialize};

use super::error::Result;
use super::layers::{DenseBlock, dense_stack};
use crate::network::Network;

/// One dense layer's statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalLayer {
    /// The network layer index of the dense layer.
    pub layer: usize,
    /// `N_{l-1} mean(W^2)`.
    pub sigma_w2: f64,
    /// `mean(b^2)`.
    pub sigma_b2: f64,
    /// Measured `q^l`.
    pub q_measured: f64,
    /// Mean-field `q^l`.
    pub q_predicted: f64,
    /// Measured `c^l` (mean over pairs).
    pub c_measured: f64,
    /// Mean-field `c^l`.
    pub c_predicted: f64,
    /// `chi_1` of the map into this layer at the measured `q^{l-1}` (`None` for layer 1).
    pub chi_1: Option<f64>,
}

/// The signal-propagation summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalSummary {
    /// Why the summary does not apply (the network is not a dense MLP with one activation).
    pub not_applicable: Option<String>,
    /// The activation of the hidden layers.
    pub activation: Option<String>,
    /// Per dense layer.
    pub layers: Vec<SignalLayer>,
    /// Mean `sigma_w2` of layers 2..L.
    pub sigma_w2: Option<f64>,
    /// Mean `sigma_b2` of layers 2..L.
    pub sigma_b2: Option<f64>,
    /// `chi_1` at those variances.
    pub chi_1: Option<f64>,
    /// `ordered`, `critical` or `chaotic`.
    pub phase: Option<String>,
    /// Inputs used.
    pub inputs: usize,
}

impl SignalSummary {
    fn not_applicable(reason: String) -> Self {
        SignalSummary {
            not_applicable: Some(reason),
            activation: None,
            layers: vec![],
            sigma_w2: None,
            sigma_b2: None,
            chi_1: None,
            phase: None,
            inputs: 0,
        }
    }
}

/// The mean-field side of a dl-layers activation.
pub fn mean_field_activation(a: &dl_layers::Activation) -> dl_init::Activation {
    use dl_init::Activation as M;
    use dl_layers::Activation as L;
    match *a {
        L::Relu => M::Relu,
        L::LeakyRelu(s) => M::LeakyRelu(s),
        L::Elu(alpha) => M::Elu(alpha),
        L::Gelu => M::Gelu,
        L::Sigmoid => M::Sigmoid,
        L::Tanh => M::Tanh,
        L::Softplus => M::Softplus,
        L::Erf => M::Erf,
        L::Sin => M::Sin,
        L::Identity => M::Linear,
    }
}

fn variances(b: &DenseBlock) -> (f64, f64) {
    let w = &b.affine.weight;
    let sw2 = b.affine.cols as f64 * w.iter().map(|x| x * x).sum::<f64>() / w.len().max(1) as f64;
    let sb2 = b.affine.bias.iter().map(|x| x * x).sum::<f64>() / b.affine.bias.len().max(1) as f64;
    (sw2, sb2)
}

/// Mean over rows `a` of `mean_i h_{a i}^2` and mean over pairs of the correlation.
fn moments(h: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let w = h.len() / n;
    let row = |a: usize| &h[a * w..(a + 1) * w];
    let q: Vec<f64> = (0..n).map(|a| row(a).iter().map(|x| x * x).sum::<f64>() / w as f64).collect();
    let qab: Vec<f64> =
        (0..n / 2).map(|p| row(2 * p).iter().zip(row(2 * p + 1)).map(|(x, y)| x * y).sum::<f64>() / w as f64).collect();
    (q, qab)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn correlations(q: &[f64], qab: &[f64]) -> f64 {
    mean(&qab.iter().enumerate().map(|(p, c)| c / (q[2 * p] * q[2 * p + 1]).sqrt()).collect::<Vec<_>>())
}

/// The summary on the inputs `x` `(N, features)` (at least 2), with `critical_tolerance`
/// on `|chi_1 - 1|`.
pub fn signal_propagation<T: Element>(
    network: &Network<T>,
    x: &Tensor<T>,
    critical_tolerance: f64,
) -> Result<SignalSummary> {
    let blocks = match dense_stack(network) {
        Ok(b) => b,
        Err(reason) => return Ok(SignalSummary::not_applicable(reason)),
    };
    let hidden: Vec<&dl_layers::Activation> =
        blocks[..blocks.len() - 1].iter().filter_map(|b| b.activation.as_ref()).collect();
    if hidden.len() + 1 != blocks.len() || hidden.windows(2).any(|w| w[0] != w[1]) {
        return Ok(SignalSummary::not_applicable("the hidden layers do not share one activation".into()));
    }
    let n = x.shape()[0];
    if n < 2 {
        return Ok(SignalSummary::not_applicable(format!("need at least 2 inputs, got {n}")));
    }
    let outs = no_grad(|| network.forward_traced(&Var::constant(x.clone())))?;
    let xs: Vec<f64> = x.contiguous().to_vec().iter().map(|v| v.to_f64_exact()).collect();
    let (q0, q0ab) = moments(&xs, n);
    let mut layers = Vec::new();
    // predicted (q_aa per input, q_ab per pair), carried from layer to layer
    let (mut q, mut qab) = (q0.clone(), q0ab.clone());
    for (l, b) in blocks.iter().enumerate() {
        let (sw2, sb2) = variances(b);
        let chi_1 = if l == 0 {
            q = q.iter().map(|v| sw2 * v + sb2).collect();
            qab = qab.iter().map(|v| sw2 * v + sb2).collect();
            None
        } else {
            let act = mean_field_activation(
                blocks[l - 1].activation.as_ref().expect("checked: every hidden layer has an activation"),
            );
            let mf = MeanField::new(act, sw2.max(f64::MIN_POSITIVE), sb2)?;
            let measured_prev = layers.last().map(|s: &SignalLayer| s.q_measured).unwrap_or(1.0);
            let chi = mf.chi_1_at(measured_prev)?;
            let mut next_q = q.clone();
            for (p, c) in qab.iter_mut().enumerate() {
                let (qa, qb, qc) = mf.covariance_map(q[2 * p], q[2 * p + 1], *c)?;
                next_q[2 * p] = qa;
                next_q[2 * p + 1] = qb;
                *c = qc;
            }
            if n % 2 == 1 {
                next_q[n - 1] = mf.length_map(q[n - 1])?;
            }
            q = next_q;
            Some(chi)
        };
        let h: Vec<f64> = outs[b.layer].value().contiguous().to_vec().iter().map(|v| v.to_f64_exact()).collect();
        let (mq, mqab) = moments(&h, n);
        layers.push(SignalLayer {
            layer: b.layer,
            sigma_w2: sw2,
            sigma_b2: sb2,
            q_measured: mean(&mq),
            q_predicted: mean(&q),
            c_measured: correlations(&mq, &mqab),
            c_predicted: correlations(&q, &qab),
            chi_1,
        });
    }
    let act = hidden.first().map(|a| mean_field_activation(a));
    let (sigma_w2, sigma_b2, chi_1, phase) = match (&act, layers.len() > 1) {
        (Some(act), true) => {
            let sw2 = mean(&layers[1..].iter().map(|l| l.sigma_w2).collect::<Vec<_>>());
            let sb2 = mean(&layers[1..].iter().map(|l| l.sigma_b2).collect::<Vec<_>>());
            let mf = MeanField::new(act.clone(), sw2.max(f64::MIN_POSITIVE), sb2)?;
            let last_q = layers[layers.len() - 2].q_measured;
            let chi = mf.chi_1().or_else(|_| mf.chi_1_at(last_q))?;
            let phase = if (chi - 1.0).abs() <= critical_tolerance {
                "critical"
            } else if chi < 1.0 {
                "ordered"
            } else {
                "chaotic"
            };
            (Some(sw2), Some(sb2), Some(chi), Some(phase.to_string()))
        }
        _ => (None, None, None, None),
    };
    Ok(SignalSummary {
        not_applicable: None,
        activation: act.map(|a| a.to_string()),
        layers,
        sigma_w2,
        sigma_b2,
        chi_1,
        phase,
        inputs: n,
    })
}
