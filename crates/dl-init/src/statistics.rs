//! **Activation statistics** of a network on a batch: what initialisation theory predicts,
//! measured. [`analyze_activation_statistics`] runs a [`Sequential`] child by child and
//! reports, for every layer with a weight (a *weight layer*, whose output is the
//! *pre-activation* `h^l`) together with the parameter-free children that follow it (its
//! activation, whose output is `x^l = phi(h^l)`):
//!
//! - the mean and variance of `h^l` and of `x^l` over all examples and units;
//! - the fraction of **dead units**: units (entries of one example's `x^l`) that are exactly
//!   0 on every example of the batch, so no gradient flows through them (for ReLU: the
//!   pre-activation is never positive);
//! - the norm of the gradient of a loss with respect to `h^l` (the backward signal, delta)
//!   and with respect to the layer's weight. The default loss is
//!   `L = (1 / N) sum_n sum_k y_nk`, the batch mean of the sum of the outputs, whose
//!   gradient seeds every output with `1 / N`;
//!   [`analyze_activation_statistics_with_loss`] takes any loss.
//!
//! **Flags.** The forward signal is compared with the *first* weight layer (where the
//! forward pass starts), the backward signal with the *last* (where backpropagation starts):
//! a layer is *vanishing* if `Var[h^l]` (resp. `||dL/dh^l||`) is below [`VANISHING_RATIO`]
//! (1e-3) times the reference's, *exploding* if above [`EXPLODING_RATIO`] (1e3) times. The
//! weight-gradient norm is reported but not flagged: in a network whose forward and
//! backward signals both decay geometrically, `||dL/dW^l|| ~ ||x^(l-1)|| ||delta^l||` can stay
//! constant while both factors vanish.
//!
//! ```
//! use dl_init::statistics::{Flag, analyze_activation_statistics};
//! use dl_init::{apply::{Initializer, initialize}, scheme::Scheme};
//! use dl_layers::{Act, Linear, Sequential};
//! use dl_tensor::{Tensor, seeded_rng};
//! let mut rng = seeded_rng(0);
//! let mut net = Sequential::<f64>::new();
//! for _ in 0..12 {
//!     net.push(Box::new(Linear::new(64, 64, true, &mut rng)));
//!     net.push(Box::new(Act::relu()));
//! }
//! // Xavier for ReLU halves the variance at every layer: 2^-11 at layer 12
//! initialize(&net, &Initializer::new(Scheme::XavierNormal { gain: 1.0 }), &mut rng)?;
//! let stats = analyze_activation_statistics(&net, &Tensor::randn(&[256, 64], &mut rng))?;
//! assert!(stats.layers[11].flags.contains(&Flag::VanishingSignal));
//! println!("{}", stats.table());
//! # Ok::<(), dl_init::InitError>(())
//! ```

use dl_autodiff::{BackwardOptions, Var, grad};
use dl_layers::{LayerError, Module, Sequential};
use dl_tensor::{Element, Tensor};

use crate::error::{InitError, Result};
use crate::layerwise::{mean_var, weight_layer};

/// A layer is vanishing when its statistic is below this multiple of the reference layer's.
pub const VANISHING_RATIO: f64 = 1e-3;
/// A layer is exploding when its statistic is above this multiple of the reference layer's.
pub const EXPLODING_RATIO: f64 = 1e3;

/// What is wrong with a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// Var[h^l] < VANISHING_RATIO Var[h^1].
    VanishingSignal,
    /// Var[h^l] > EXPLODING_RATIO Var[h^1].
    ExplodingSignal,
    /// ||dL/dh^l|| < VANISHING_RATIO ||dL/dh^L||.
    VanishingGradient,
    /// ||dL/dh^l|| > EXPLODING_RATIO ||dL/dh^L||.
    ExplodingGradient,
}

impl Flag {
    fn short(self) -> &'static str {
        match self {
            Flag::VanishingSignal => "vanishing signal",
            Flag::ExplodingSignal => "exploding signal",
            Flag::VanishingGradient => "vanishing gradient",
            Flag::ExplodingGradient => "exploding gradient",
        }
    }
}

/// The statistics of one weight layer and its activation.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerStatistics {
    /// Position of the weight layer in the `Sequential`.
    pub index: usize,
    /// The weight layer's description.
    pub layer: String,
    /// The parameter-free children that follow it (its activation), joined by " + ".
    pub activation: String,
    /// Mean of the pre-activation h^l over all examples and units.
    pub preactivation_mean: f64,
    /// Population variance Var[h^l] over all examples and units: the empirical q^l.
    pub preactivation_variance: f64,
    /// Mean of the activation x^l = φ(h^l) over all examples and units; equal to the
    /// pre-activation's when no activation follows.
    pub activation_mean: f64,
    /// Population variance of x^l; equal to the pre-activation's when no activation follows.
    pub activation_variance: f64,
    /// Fraction of units of the activation output that are 0 on every example.
    pub dead_fraction: f64,
    /// ||dL/dh^l|| (Frobenius, over the batch).
    pub preactivation_grad_norm: f64,
    /// ||dL/dW^l||; `None` when the weight is frozen.
    pub weight_grad_norm: Option<f64>,
    /// Vanishing / exploding signal and gradient flags, relative to the reference layers.
    pub flags: Vec<Flag>,
}

/// Per-layer statistics of a network on one batch.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationStatistics {
    /// One entry per weight layer, in forward order.
    pub layers: Vec<LayerStatistics>,
    /// The loss whose gradients are reported.
    pub loss: String,
}

fn norm<T: Element>(t: &Tensor<T>) -> f64 {
    t.to_vec().iter().map(|v| v.to_f64_exact().powi(2)).sum::<f64>().sqrt()
}

/// Fraction of the entries of one example (all axes after the batch axis) that are exactly
/// zero for every example.
fn dead_fraction<T: Element>(x: &Tensor<T>) -> f64 {
    let n = x.shape().first().copied().unwrap_or(0);
    let v = x.to_vec();
    if n == 0 || v.is_empty() {
        return 0.0;
    }
    let units = v.len() / n;
    let dead = (0..units).filter(|&u| (0..n).all(|e| v[e * units + u] == T::zero())).count();
    dead as f64 / units as f64
}

impl ActivationStatistics {
    /// (layer number from 1, Var[h^l]) for every weight layer: plot against depth.
    pub fn preactivation_variance_series(&self) -> Vec<(f64, f64)> {
        self.layers.iter().enumerate().map(|(i, l)| ((i + 1) as f64, l.preactivation_variance)).collect()
    }
    /// (layer number, Var[x^l]).
    pub fn activation_variance_series(&self) -> Vec<(f64, f64)> {
        self.layers.iter().enumerate().map(|(i, l)| ((i + 1) as f64, l.activation_variance)).collect()
    }
    /// (layer number, ||dL/dh^l||).
    pub fn gradient_norm_series(&self) -> Vec<(f64, f64)> {
        self.layers.iter().enumerate().map(|(i, l)| ((i + 1) as f64, l.preactivation_grad_norm)).collect()
    }
    /// Layers (numbered from 1) that carry `flag`.
    pub fn flagged(&self, flag: Flag) -> Vec<usize> {
        self.layers.iter().enumerate().filter(|(_, l)| l.flags.contains(&flag)).map(|(i, _)| i + 1).collect()
    }

    /// A Markdown table, one row per weight layer.
    pub fn table(&self) -> String {
        let mut s = format!(
            "gradients of L = {}\n\n| # | layer | activation | mean h | Var h | mean x | Var x | dead | ‖dL/dh‖ | ‖dL/dW‖ | flags |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
            self.loss
        );
        for (i, l) in self.layers.iter().enumerate() {
            let flags: Vec<&str> = l.flags.iter().map(|f| f.short()).collect();
            let gw = l.weight_grad_norm.map_or("frozen".to_string(), |g| format!("{g:.3e}"));
            s.push_str(&format!(
                "| {} | {} | {} | {:.3e} | {:.3e} | {:.3e} | {:.3e} | {:.1}% | {:.3e} | {} | {} |\n",
                i + 1,
                l.layer,
                l.activation,
                l.preactivation_mean,
                l.preactivation_variance,
                l.activation_mean,
                l.activation_variance,
                100.0 * l.dead_fraction,
                l.preactivation_grad_norm,
                gw,
                flags.join(", ")
            ));
        }
        s
    }
}

/// The statistics of `net` on `batch` with the default loss `L = (1/N) sum of the outputs`
/// (see the module documentation).
pub fn analyze_activation_statistics<T: Element>(
    net: &Sequential<T>,
    batch: &Tensor<T>,
) -> Result<ActivationStatistics> {
    let n = batch.shape().first().copied().unwrap_or(0).max(1);
    let inv_n = T::from_f64_lossy(1.0 / n as f64);
    analyze_activation_statistics_with_loss(net, batch, "(1/N) sum of the outputs", |y| {
        Ok(y.sum_all()?.mul_scalar(inv_n)?)
    })
}

/// The statistics of `net` on `batch`, gradients of `loss(output)` (a one-element `Var`).
/// Errors: no weight layer, an empty batch, a layer that fails on the batch (naming it),
/// a loss that is not a single finite value.
pub fn analyze_activation_statistics_with_loss<T: Element>(
    net: &Sequential<T>,
    batch: &Tensor<T>,
    loss_name: &str,
    loss: impl Fn(&Var<T>) -> std::result::Result<Var<T>, LayerError>,
) -> Result<ActivationStatistics> {
    if batch.shape().first().copied().unwrap_or(0) == 0 {
        return Err(InitError::scheme(
            "activation statistics",
            format!("a batch of shape {:?}", batch.shape()),
            "need at least one example",
        ));
    }
    // Forward, child by child, keeping each weight layer's output and its activation's.
    struct Pending<T: Element> {
        index: usize,
        layer: String,
        weight: dl_layers::Param<T>,
        pre: Var<T>,
        act: Var<T>,
        act_names: Vec<String>,
    }
    let mut pending: Vec<Pending<T>> = Vec::new();
    let mut h = Var::constant(batch.clone());
    for (index, child) in net.layers().iter().enumerate() {
        h = child.forward(&h)?;
        match weight_layer(index, child.as_ref())? {
            Some(wl) => pending.push(Pending {
                index,
                layer: wl.layer,
                weight: wl.weight,
                pre: h.clone(),
                act: h.clone(),
                act_names: Vec::new(),
            }),
            None => {
                if let Some(p) = pending.last_mut() {
                    p.act = h.clone();
                    p.act_names.push(child.describe());
                }
            }
        }
    }
    if pending.is_empty() {
        return Err(InitError::scheme(
            "activation statistics",
            net.describe(),
            "the network has no layer with a weight",
        ));
    }
    let l = loss(&h)?;
    let lv = l.value().to_vec();
    if lv.len() != 1 || !lv[0].to_f64_exact().is_finite() {
        return Err(InitError::scheme(
            "activation statistics",
            loss_name,
            format!("the loss must be one finite value, got {:?}", l.value().shape()),
        ));
    }
    // The weights' leaves are the ones the forward pass used (Param caches its leaf).
    let leaves: Vec<Var<T>> = pending.iter().map(|p| p.weight.var()).collect();
    let mut wrt: Vec<&Var<T>> = pending.iter().map(|p| &p.pre).collect();
    wrt.extend(leaves.iter().filter(|v| v.requires_grad()));
    let grads = grad(&l, None, &wrt, BackwardOptions::default())?;
    let k = pending.len();
    let mut weight_grads = grads[k..].iter();
    let mut layers = Vec::with_capacity(k);
    for (i, p) in pending.iter().enumerate() {
        let (pm, pv) = mean_var(p.pre.value());
        let (am, av) = mean_var(p.act.value());
        let gw = if leaves[i].requires_grad() {
            Some(weight_grads.next().and_then(|g| g.as_ref()).map_or(0.0, |g| norm(g.value())))
        } else {
            None
        };
        layers.push(LayerStatistics {
            index: p.index,
            layer: p.layer.clone(),
            activation: if p.act_names.is_empty() { "none".into() } else { p.act_names.join(" + ") },
            preactivation_mean: pm,
            preactivation_variance: pv,
            activation_mean: am,
            activation_variance: av,
            dead_fraction: dead_fraction(p.act.value()),
            preactivation_grad_norm: grads[i].as_ref().map_or(0.0, |g| norm(g.value())),
            weight_grad_norm: gw,
            flags: Vec::new(),
        });
    }
    let (var_ref, grad_ref) = (layers[0].preactivation_variance, layers[k - 1].preactivation_grad_norm);
    for layer in &mut layers {
        let (v, g) = (layer.preactivation_variance, layer.preactivation_grad_norm);
        if v < VANISHING_RATIO * var_ref {
            layer.flags.push(Flag::VanishingSignal);
        }
        if v > EXPLODING_RATIO * var_ref {
            layer.flags.push(Flag::ExplodingSignal);
        }
        if g < VANISHING_RATIO * grad_ref {
            layer.flags.push(Flag::VanishingGradient);
        }
        if g > EXPLODING_RATIO * grad_ref {
            layer.flags.push(Flag::ExplodingGradient);
        }
    }
    Ok(ActivationStatistics { layers, loss: loss_name.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_layers::{Act, Linear, Module};
    use dl_tensor::seeded_rng;

    /// A 2-layer network computed by hand: pre-activations, ReLU, dead units, and the
    /// gradients of L = (1/N) sum y by the chain rule written out with direct loops.
    #[test]
    fn statistics_of_a_small_network_by_hand() {
        let w1 = vec![1.0, -1.0, 0.5, 2.0, -3.0, -1.0]; // (3, 2): unit 2 is dead on positive inputs
        let b1 = vec![0.0, 0.1, -0.2];
        let w2 = vec![1.0, 2.0, -1.0]; // (1, 3)
        let l1 = Linear::from_tensors(
            Tensor::from_vec(w1.clone(), &[3, 2]).unwrap(),
            Some(Tensor::from_vec(b1.clone(), &[3]).unwrap()),
        )
        .unwrap();
        let l2 = Linear::from_tensors(Tensor::from_vec(w2.clone(), &[1, 3]).unwrap(), None).unwrap();
        let net = Sequential::<f64>::new().with(l1).with(Act::relu()).with(l2);
        let x = vec![1.0, 2.0, 0.5, 0.25, 3.0, 1.0, 0.2, 0.1];
        let n = 4;
        let stats = analyze_activation_statistics(&net, &Tensor::from_vec(x.clone(), &[n, 2]).unwrap()).unwrap();
        assert_eq!(stats.layers.len(), 2);
        // by hand
        let mut h = vec![0.0; n * 3];
        for e in 0..n {
            for o in 0..3 {
                h[e * 3 + o] = b1[o] + w1[o * 2] * x[e * 2] + w1[o * 2 + 1] * x[e * 2 + 1];
            }
        }
        let a: Vec<f64> = h.iter().map(|v| v.max(0.0)).collect();
        let mv = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64)
        };
        let l0 = &stats.layers[0];
        let tol = 1e-13;
        assert!((l0.preactivation_mean - mv(&h).0).abs() < tol && (l0.preactivation_variance - mv(&h).1).abs() < tol);
        assert!((l0.activation_mean - mv(&a).0).abs() < tol && (l0.activation_variance - mv(&a).1).abs() < tol);
        let dead = (0..3).filter(|&o| (0..n).all(|e| a[e * 3 + o] == 0.0)).count() as f64 / 3.0;
        assert_eq!(l0.dead_fraction, dead);
        assert!(dead > 0.0, "the example has a dead unit");
        // dL/dy = 1/N; dL/dh1 = (1/N) w2_o 1[h > 0]; dL/dW1 = sum_e dL/dh1[e] x[e]^T
        let d1: Vec<f64> = (0..n * 3).map(|i| if h[i] > 0.0 { w2[i % 3] / n as f64 } else { 0.0 }).collect();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((l0.preactivation_grad_norm - norm(&d1)).abs() < tol);
        let gw1: Vec<f64> = (0..6).map(|k| (0..n).map(|e| d1[e * 3 + k / 2] * x[e * 2 + k % 2]).sum()).collect();
        assert!((l0.weight_grad_norm.unwrap() - norm(&gw1)).abs() < tol);
        let l1s = &stats.layers[1];
        assert_eq!(l1s.activation, "none");
        assert!((l1s.preactivation_grad_norm - (n as f64).sqrt() / n as f64).abs() < tol);
        assert!(stats.table().lines().count() == 2 + 2 + 2);
    }

    /// Flags where the thresholds put them: a linear chain with weights 0.05 I multiplies
    /// the signal variance by 0.0025 per layer (layer 2: 2.5e-3 of layer 1, not flagged;
    /// layers 3-4: 6e-6 and less, vanishing) and the backward signal by 0.05 per layer
    /// towards the input (layer 1: 1.25e-4 of layer 4, vanishing; layer 2: 2.5e-3, not).
    /// Weights 20 I mirror this with exploding flags.
    #[test]
    fn flags_follow_the_thresholds() {
        let build = |scale: f64, depth: usize| {
            let mut net = Sequential::<f64>::new();
            for _ in 0..depth {
                let w = Tensor::<f64>::eye(4).mul_scalar(scale);
                net.push(Box::new(Linear::from_tensors(w, None).unwrap()));
            }
            net
        };
        let x = Tensor::<f64>::randn(&[16, 4], &mut seeded_rng(0));
        let s = analyze_activation_statistics(&build(0.05, 4), &x).unwrap();
        assert_eq!(s.flagged(Flag::VanishingSignal), vec![3, 4]);
        assert_eq!(s.flagged(Flag::VanishingGradient), vec![1]);
        assert!(s.flagged(Flag::ExplodingSignal).is_empty() && s.flagged(Flag::ExplodingGradient).is_empty());
        let s = analyze_activation_statistics(&build(20.0, 4), &x).unwrap();
        assert_eq!(s.flagged(Flag::ExplodingSignal), vec![3, 4]);
        assert_eq!(s.flagged(Flag::ExplodingGradient), vec![1]);
        let v = s.preactivation_variance_series();
        assert!((v[1].1 / v[0].1 - 400.0).abs() < 1e-9);
        // frozen weights report no weight gradient
        let net = build(1.0, 2);
        net.parameters()[0].param.set_requires_grad(false);
        let s = analyze_activation_statistics(&net, &x).unwrap();
        assert_eq!(s.layers[0].weight_grad_norm, None);
        assert!(s.layers[1].weight_grad_norm.unwrap() > 0.0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let mut rng = seeded_rng(0);
        let net = Sequential::<f64>::new().with(Linear::new(3, 2, true, &mut rng));
        let e = analyze_activation_statistics(&net, &Tensor::zeros(&[2, 5])).unwrap_err().to_string();
        assert!(e.contains("Linear(3 -> 2)") && e.contains("[2, 5]"), "{e}");
        assert!(analyze_activation_statistics(&net, &Tensor::zeros(&[0, 3])).is_err());
        let e = analyze_activation_statistics(&Sequential::<f64>::new().with(Act::relu()), &Tensor::zeros(&[2, 3]))
            .unwrap_err();
        assert!(e.to_string().contains("no layer with a weight"));
    }
}
