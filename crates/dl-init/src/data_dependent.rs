//! **Data-dependent initialisation of weight normalisation** (Salimans and Kingma 2016,
//! section 3), for ordinary dense and convolution layers.
//!
//! Weight normalisation writes a unit's weight as `w = g v / ||v||`. Its data-dependent
//! initialisation draws `v`, computes on a batch the pre-activation
//! `t = v . x / ||v||` of every unit, with mean `mu[t]` and standard deviation `sigma[t]`,
//! and sets `g <- 1 / sigma[t]`, `b <- -mu[t] / sigma[t]`, so that every unit's
//! pre-activation `y = (t - mu[t]) / sigma[t]` has mean 0 and variance 1 on the batch.
//! Layers are initialised in order, each seeing the already initialised earlier layers.
//!
//! For a layer without the `g, v` split the same function is reached by rescaling each
//! unit's weight row and setting its bias: `W_i <- W_i / sigma_i`,
//! `b_i <- (b_i - mu_i) / sigma_i`, where `mu_i`, `sigma_i` are the mean and standard
//! deviation of unit i's current pre-activation (for a convolution: of channel i over
//! examples and positions). Where LSUV ([`crate::lsuv()`]) sets one variance per layer, this
//! sets a mean and a variance per unit. A layer without a bias cannot remove the means, so
//! it only rescales (and its record says so).
//!
//! ```
//! use dl_init::data_dependent::weight_norm_init;
//! use dl_layers::{Act, Linear, Sequential};
//! use dl_tensor::{Tensor, seeded_rng};
//! let mut rng = seeded_rng(0);
//! let net = Sequential::<f64>::new()
//!     .with(Linear::new(20, 30, true, &mut rng)).with(Act::relu())
//!     .with(Linear::new(30, 5, true, &mut rng));
//! let batch = Tensor::randn(&[100, 20], &mut rng).add_scalar(2.0);
//! let report = weight_norm_init(&net, &batch)?;
//! assert!(report.iter().all(|r| r.max_abs_mean_after < 1e-12 && (r.mean_variance_after - 1.0).abs() < 1e-12));
//! # Ok::<(), dl_init::InitError>(())
//! ```

use dl_autodiff::{Var, no_grad};
use dl_layers::Sequential;
use dl_tensor::{Element, Tensor};

use crate::error::{InitError, Result};
use crate::layerwise::{unit_mean_var, weight_layer};

/// What the data-dependent initialisation did to one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitNormalized {
    /// Position in the `Sequential`.
    pub index: usize,
    /// The layer's description.
    pub layer: String,
    /// Mean over units of the per-unit variance of the layer's output, before rescaling.
    pub mean_variance_before: f64,
    /// The same after rescaling (1 up to rounding).
    pub mean_variance_after: f64,
    /// Largest |per-unit mean| of the layer's output, before the shift.
    pub max_abs_mean_before: f64,
    /// The same after: 0 up to rounding when the layer has a bias; without one, each mean
    /// is divided by its unit's standard deviation.
    pub max_abs_mean_after: f64,
    /// False for a layer without a bias: only the variances were set.
    pub means_removed: bool,
}

fn summary(mean: &[f64], var: &[f64]) -> (f64, f64) {
    let mean_var = var.iter().sum::<f64>() / var.len().max(1) as f64;
    (mean_var, mean.iter().fold(0.0, |m, x| f64::max(m, x.abs())))
}

/// Initialises every weight layer of `net` in order so that each unit's pre-activation has
/// mean 0 and variance 1 on `batch` (see the module documentation). Errors name the layer
/// and unit whose pre-activation has zero or non-finite variance on the batch.
pub fn weight_norm_init<T: Element>(net: &Sequential<T>, batch: &Tensor<T>) -> Result<Vec<UnitNormalized>> {
    no_grad(|| {
        let mut h = Var::constant(batch.clone());
        let mut report = Vec::new();
        for (index, child) in net.layers().iter().enumerate() {
            let Some(wl) = weight_layer(index, child.as_ref())? else {
                h = child.forward(&h)?;
                continue;
            };
            let out = child.forward(&h)?;
            let (mean, var) = unit_mean_var(out.value())?;
            let w_shape = wl.weight.shape();
            if mean.len() != w_shape[0] {
                return Err(InitError::scheme(
                    "weight-norm data-dependent init",
                    format!("layer {index} ({})", wl.layer),
                    format!(
                        "output {:?} has {} units on axis 1 but the weight {w_shape:?} has {} rows",
                        out.shape(),
                        mean.len(),
                        w_shape[0]
                    ),
                ));
            }
            if let Some((u, v)) = var.iter().enumerate().find(|(_, v)| !(**v > 0.0 && v.is_finite())) {
                return Err(InitError::scheme(
                    "weight-norm data-dependent init",
                    format!("layer {index} ({})", wl.layer),
                    format!("unit {u} has pre-activation variance {v:e} on the batch; it cannot be normalised"),
                ));
            }
            let (mean_variance_before, max_abs_mean_before) = summary(&mean, &var);
            let row = w_shape[1..].iter().product::<usize>();
            wl.weight.update(|w| {
                let mut v = w.to_vec();
                for (i, x) in v.iter_mut().enumerate() {
                    *x = T::from_f64_lossy(x.to_f64_exact() / var[i / row].sqrt());
                }
                *w = Tensor::from_vec(v, &w_shape).expect("same length and shape");
            });
            if let Some(b) = &wl.bias {
                b.update(|bias| {
                    let v: Vec<T> = bias
                        .to_vec()
                        .iter()
                        .enumerate()
                        .map(|(i, x)| T::from_f64_lossy((x.to_f64_exact() - mean[i]) / var[i].sqrt()))
                        .collect();
                    *bias = Tensor::from_vec(v, &[mean.len()]).expect("one bias per unit");
                });
            }
            let out = child.forward(&h)?;
            let (mean_after, var_after) = unit_mean_var(out.value())?;
            let (mean_variance_after, max_abs_mean_after) = summary(&mean_after, &var_after);
            report.push(UnitNormalized {
                index,
                layer: wl.layer,
                mean_variance_before,
                mean_variance_after,
                max_abs_mean_before,
                max_abs_mean_after,
                means_removed: wl.bias.is_some(),
            });
            h = out;
        }
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_layers::{Act, Conv2d, ConvOptions, Flatten, Linear, Module};
    use dl_tensor::seeded_rng;

    /// After the init, per-unit statistics computed by hand (direct loops over examples
    /// and positions) are mean 0 and variance 1 for every unit of every layer. One affine
    /// rescaling is exact up to rounding: 1e-10 in f64 covers the sums over 32 x 36 values.
    #[test]
    fn every_unit_is_standardised_in_conv_and_dense_layers() {
        let mut rng = seeded_rng(1);
        let net = Sequential::<f64>::new()
            .with(Conv2d::new(2, 4, (3, 3), ConvOptions::default(), &mut rng).unwrap())
            .with(Act::tanh())
            .with(Flatten::new())
            .with(Linear::new(4 * 6 * 6, 7, true, &mut rng));
        let batch = Tensor::<f64>::randn(&[32, 2, 8, 8], &mut rng).mul_scalar(3.0).add_scalar(1.0);
        let report = weight_norm_init(&net, &batch).unwrap();
        assert_eq!(report.len(), 2);
        let mut h = Var::constant(batch);
        for (i, child) in net.layers().iter().enumerate() {
            h = child.forward(&h).unwrap();
            if i == 0 || i == 3 {
                let s = h.value().shape().to_vec();
                let inner: usize = s[2..].iter().product();
                let v = h.value().to_vec();
                for c in 0..s[1] {
                    let xs: Vec<f64> = (0..s[0])
                        .flat_map(|n| (0..inner).map(move |p| (n, p)))
                        .map(|(n, p)| v[(n * s[1] + c) * inner + p])
                        .collect();
                    let m = xs.iter().sum::<f64>() / xs.len() as f64;
                    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64;
                    assert!(m.abs() < 1e-10 && (var - 1.0).abs() < 1e-10, "layer {i} unit {c}: {m} {var}");
                }
            }
        }
    }

    #[test]
    fn a_constant_unit_is_an_error_naming_it() {
        let mut rng = seeded_rng(0);
        let layer = Linear::<f64>::new(3, 2, true, &mut rng);
        layer.weight.set(Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap()).unwrap();
        let net = Sequential::new().with(layer);
        let e = weight_norm_init(&net, &Tensor::randn(&[10, 3], &mut rng)).unwrap_err().to_string();
        assert!(e.contains("unit 1") && e.contains("Linear(3 -> 2)"), "{e}");
        assert!(net.parameters().iter().all(|p| p.param.value().all_finite()));
    }
}
