//! Layer-by-layer access to a [`Sequential`](dl_layers::Sequential) network, shared by the data-dependent schemes
//! and the activation statistics: which children carry a weight, and statistics of a
//! layer's output over a batch, overall and per unit.
//!
//! A *unit* of an output `(N, C, ...)` is a channel `c` (axis 1): a dense layer's output
//! `(N, out)` has `out` units, a convolution's `(N, C, H, W)` has `C`, each seen at every
//! example and every position.

use dl_layers::{Module, Param};
use dl_tensor::{Element, Tensor};

use crate::apply::{is_weight, leaf_name};
use crate::error::{InitError, Result};

/// The weight (and bias) of one child of a `Sequential`, by its position.
pub struct WeightLayer<T: Element> {
    /// Position of the child in the `Sequential`.
    pub index: usize,
    /// The child's description (`Linear(64 -> 128)`).
    pub layer: String,
    /// The weight's dotted name within the network (`"3.weight"`).
    pub name: String,
    /// The weight parameter (a shared handle: rescaling it changes the network).
    pub weight: Param<T>,
    /// The child's `bias` parameter, if it has one.
    pub bias: Option<Param<T>>,
}

/// The single weight of child `index` (None for a parameter-free child such as an
/// activation). Errors when a child holds more than one weight (a residual block, say):
/// layer-by-layer schemes rescale one weight per layer, so such a child must be split.
pub fn weight_layer<T: Element>(index: usize, child: &dyn Module<T>) -> Result<Option<WeightLayer<T>>> {
    let params = child.parameters();
    let weights: Vec<_> = params.iter().filter(|np| is_weight(&np.name, &np.param)).collect();
    match weights.len() {
        0 => Ok(None),
        1 => {
            let bias = params.iter().find(|np| leaf_name(&np.name) == "bias").map(|np| np.param.clone());
            Ok(Some(WeightLayer {
                index,
                layer: child.describe(),
                name: format!("{index}.{}", weights[0].name),
                weight: weights[0].param.clone(),
                bias,
            }))
        }
        n => Err(InitError::scheme(
            "layer-by-layer initialisation",
            format!("child {index} ({})", child.describe()),
            format!(
                "holds {n} weights; each child must hold at most one (put a block's layers in the Sequential itself)"
            ),
        )),
    }
}

/// Mean and population variance of all entries, in f64.
pub fn mean_var<T: Element>(t: &Tensor<T>) -> (f64, f64) {
    let v: Vec<f64> = t.to_vec().into_iter().map(|x| x.to_f64_exact()).collect();
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

/// Per-unit (axis-1 channel) means and population variances of an output `(N, C, ...)`.
pub fn unit_mean_var<T: Element>(t: &Tensor<T>) -> Result<(Vec<f64>, Vec<f64>)> {
    let s = t.shape();
    if s.len() < 2 {
        return Err(InitError::scheme(
            "per-unit statistics",
            format!("an output of shape {s:?}"),
            "need (N, units, ...)",
        ));
    }
    let (c, inner) = (s[1], s[2..].iter().product::<usize>());
    let v = t.to_vec();
    let count = (s[0] * inner) as f64;
    let mut sum = vec![0.0; c];
    for (i, x) in v.iter().enumerate() {
        sum[(i / inner) % c] += x.to_f64_exact();
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let mut ss = vec![0.0; c];
    for (i, x) in v.iter().enumerate() {
        let u = (i / inner) % c;
        ss[u] += (x.to_f64_exact() - mean[u]).powi(2);
    }
    Ok((mean, ss.iter().map(|s| s / count).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-unit statistics against a direct loop over (n, c, h).
    #[test]
    fn unit_statistics_by_direct_loops() {
        let data: Vec<f64> = (0..2 * 3 * 4).map(|i| ((i * 7) % 11) as f64 - 3.0).collect();
        let t = Tensor::from_vec(data.clone(), &[2, 3, 4]).unwrap();
        let (mean, var) = unit_mean_var(&t).unwrap();
        for c in 0..3 {
            let xs: Vec<f64> =
                (0..2).flat_map(|n| (0..4).map(move |h| (n, h))).map(|(n, h)| data[n * 12 + c * 4 + h]).collect();
            let m = xs.iter().sum::<f64>() / 8.0;
            let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 8.0;
            assert!((mean[c] - m).abs() < 1e-14 && (var[c] - v).abs() < 1e-13);
        }
        assert!(unit_mean_var(&Tensor::<f64>::zeros(&[3])).is_err());
    }
}
