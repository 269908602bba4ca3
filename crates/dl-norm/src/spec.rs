//! The general normaliser: which axes are reduced, after an optional group reshape.
//!
//! Every normalisation in this crate computes, for each *statistic index* `j`,
//!
//! ```text
//! mu_j   = (1/m) sum_{i in S_j} x_i                 (centred methods; RMS norm has mu_j = 0)
//! var_j  = (1/m) sum_{i in S_j} (x_i - mu_j)^2      (biased; RMS norm: the mean square)
//! x̂_i    = (x_i - mu_j) / sqrt(var_j + eps)         for i in S_j
//! ```
//!
//! where the sets `S_j` are the slices of the input along the *reduced* axes. A
//! [`Normalizer`] names those axes ([`Reduce`]), optionally after splitting the channel
//! axis into groups (`(N, C, ...)` viewed as `(N, G, C/G, ...)`), and whether the mean is
//! subtracted. The methods differ only in this choice:
//!
//! | method | grouped shape | statistics indexed by | reduced over |
//! | --- | --- | --- | --- |
//! | batch norm | `(N, C, ...)` | `C` | `N` and the spatial axes |
//! | layer norm | `(..., D_1..D_k)` | the leading axes | the `k` trailing axes |
//! | group norm | `(N, G, C/G, ...)` | `(N, G)` | `C/G` and the spatial axes |
//! | instance norm | `(N, C, ...)` | `(N, C)` | the spatial axes |
//! | RMS norm | `(..., D_1..D_k)` | the leading axes | the `k` trailing axes, uncentred |
//!
//! [`Normalizer::plan`] resolves a spec against an input shape into a [`Plan`]: the input
//! viewed as a row-major `(a, s, b)` array whose statistics are indexed by the middle axis
//! and reduced over the outer two (`m = a b` values per statistic). When the kept axes are
//! contiguous (all five methods above) this view is free; otherwise the plan carries a
//! permutation that brings the kept axes to the front.

use dl_layers::{LayerError, Result};

/// Which axes are reduced, in the (grouped) shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// Keep these axes (statistics are indexed by them); reduce all the others.
    KeepAxes(Vec<usize>),
    /// Reduce the last `k` axes (layer norm, RMS norm).
    Trailing(usize),
}

/// A normalisation: the reduction, the optional group split, centring and `eps`.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalizer {
    /// Which axes of the (grouped) shape are reduced; the others index the statistics.
    pub reduce: Reduce,
    /// Split axis 1 (channels `C`) into `(groups, C / groups)` before reducing.
    pub groups: Option<usize>,
    /// Subtract the mean (`false` for RMS norm, which divides by the root mean square).
    pub centred: bool,
    /// Added to the variance before the square root.
    pub eps: f64,
}

/// The `(a, s, b)` row-major view: `s` statistics, each over `a * b` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// The product of the reduced axes before the kept ones (the outer reduced block).
    pub a: usize,
    /// The number of statistics: the product of the kept axes.
    pub s: usize,
    /// The product of the reduced axes after the kept ones (the inner reduced block).
    pub b: usize,
}

impl View {
    /// The number of values per statistic, `m = a b`.
    pub fn count(&self) -> usize {
        self.a * self.b
    }
    /// The number of elements, `a s b`.
    pub fn numel(&self) -> usize {
        self.a * self.s * self.b
    }
}

/// A spec resolved against one input shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The input shape with the channel axis split into groups (or the input shape).
    pub grouped_shape: Vec<usize>,
    /// A permutation of the grouped shape that makes the kept axes one contiguous block
    /// (`None` when they already are).
    pub perm: Option<Vec<usize>>,
    /// The `(a, s, b)` view of the (permuted) grouped input.
    pub view: View,
    /// The sizes of the kept axes: the shape of the statistics.
    pub stat_shape: Vec<usize>,
}

impl Normalizer {
    /// Batch norm: statistics per channel (axis 1), reduced over every other axis.
    pub fn batch_norm(eps: f64) -> Self {
        Normalizer { reduce: Reduce::KeepAxes(vec![1]), groups: None, centred: true, eps }
    }
    /// Layer norm over the last `k` axes.
    pub fn layer_norm(k: usize, eps: f64) -> Self {
        Normalizer { reduce: Reduce::Trailing(k), groups: None, centred: true, eps }
    }
    /// Group norm with `groups` groups of channels: statistics per (sample, group).
    pub fn group_norm(groups: usize, eps: f64) -> Self {
        Normalizer { reduce: Reduce::KeepAxes(vec![0, 1]), groups: Some(groups), centred: true, eps }
    }
    /// Instance norm: statistics per (sample, channel), reduced over the spatial axes.
    pub fn instance_norm(eps: f64) -> Self {
        Normalizer { reduce: Reduce::KeepAxes(vec![0, 1]), groups: None, centred: true, eps }
    }
    /// RMS norm over the last `k` axes: `x / sqrt(mean(x^2) + eps)` (Zhang and Sennrich, 2019).
    pub fn rms_norm(k: usize, eps: f64) -> Self {
        Normalizer { reduce: Reduce::Trailing(k), groups: None, centred: false, eps }
    }

    /// Resolves the spec against `shape`; `layer` names the caller in errors.
    pub fn plan(&self, layer: &str, shape: &[usize]) -> Result<Plan> {
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(LayerError::config(layer, format!("eps must be finite and >= 0, got {}", self.eps)));
        }
        if shape.contains(&0) {
            return Err(LayerError::layer(layer, "an input with no zero-size axis", shape));
        }
        let grouped_shape = match self.groups {
            None => shape.to_vec(),
            Some(g) => {
                if shape.len() < 2 {
                    return Err(LayerError::layer(
                        layer,
                        format!("an input (N, C, ...) to split into {g} groups"),
                        shape,
                    ));
                }
                let c = shape[1];
                if g == 0 || !c.is_multiple_of(g) {
                    return Err(LayerError::layer(
                        layer,
                        format!("a channel count divisible by the {g} groups"),
                        shape,
                    ));
                }
                let mut gs = vec![shape[0], g, c / g];
                gs.extend_from_slice(&shape[2..]);
                gs
            }
        };
        let rank = grouped_shape.len();
        let kept: Vec<usize> = match &self.reduce {
            Reduce::Trailing(k) => {
                if *k == 0 || *k > rank {
                    return Err(LayerError::layer(
                        layer,
                        format!("an input with at least {k} axes to reduce the last {k} (and k >= 1)"),
                        shape,
                    ));
                }
                (0..rank - k).collect()
            }
            Reduce::KeepAxes(axes) => {
                let mut axes = axes.clone();
                axes.sort_unstable();
                axes.dedup();
                if let Some(&bad) = axes.iter().find(|&&ax| ax >= rank) {
                    return Err(LayerError::layer(
                        layer,
                        format!("an input with more than {bad} axes (axis {bad} is kept)"),
                        shape,
                    ));
                }
                axes
            }
        };
        let stat_shape: Vec<usize> = kept.iter().map(|&ax| grouped_shape[ax]).collect();
        let contiguous = kept.windows(2).all(|w| w[1] == w[0] + 1);
        let prod = |r: &[usize]| r.iter().product::<usize>();
        let (perm, view) = if contiguous {
            let (k0, k1) = match (kept.first(), kept.last()) {
                (Some(&f), Some(&l)) => (f, l + 1),
                _ => (0, 0),
            };
            (
                None,
                View { a: prod(&grouped_shape[..k0]), s: prod(&grouped_shape[k0..k1]), b: prod(&grouped_shape[k1..]) },
            )
        } else {
            let mut perm = kept.clone();
            perm.extend((0..rank).filter(|ax| !kept.contains(ax)));
            let s = prod(&stat_shape);
            (Some(perm), View { a: 1, s, b: prod(&grouped_shape) / s })
        };
        Ok(Plan { grouped_shape, perm, view, stat_shape })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_reduces_its_own_axes() {
        let shape = [4, 6, 3, 5];
        let view = |n: Normalizer| n.plan("t", &shape).unwrap().view;
        assert_eq!(view(Normalizer::batch_norm(1e-5)), View { a: 4, s: 6, b: 15 });
        assert_eq!(view(Normalizer::layer_norm(3, 1e-5)), View { a: 1, s: 4, b: 90 });
        assert_eq!(view(Normalizer::group_norm(2, 1e-5)), View { a: 1, s: 8, b: 45 });
        assert_eq!(view(Normalizer::instance_norm(1e-5)), View { a: 1, s: 24, b: 15 });
        assert_eq!(view(Normalizer::rms_norm(1, 1e-5)), View { a: 1, s: 72, b: 5 });
        assert_eq!(Normalizer::batch_norm(1e-5).plan("t", &[8, 3]).unwrap().view, View { a: 8, s: 3, b: 1 });
    }

    #[test]
    fn non_contiguous_kept_axes_are_permuted_to_the_front() {
        let n = Normalizer { reduce: Reduce::KeepAxes(vec![0, 2]), groups: None, centred: true, eps: 0.0 };
        let p = n.plan("t", &[2, 3, 4, 5]).unwrap();
        assert_eq!(p.perm, Some(vec![0, 2, 1, 3]));
        assert_eq!(p.view, View { a: 1, s: 8, b: 15 });
        assert_eq!(p.stat_shape, vec![2, 4]);
    }

    #[test]
    fn bad_groups_zero_sizes_and_ranks_name_the_layer_and_shape() {
        let e = Normalizer::group_norm(3, 1e-5).plan("GroupNorm(3, 8)", &[2, 8, 4]).unwrap_err().to_string();
        assert!(e.contains("GroupNorm(3, 8)") && e.contains("[2, 8, 4]") && e.contains("3 groups"), "{e}");
        let e = Normalizer::batch_norm(1e-5).plan("BatchNorm1d(3)", &[0, 3]).unwrap_err().to_string();
        assert!(e.contains("BatchNorm1d(3)") && e.contains("[0, 3]") && e.contains("zero-size"), "{e}");
        let e = Normalizer::layer_norm(3, 1e-5).plan("LayerNorm([3, 4, 5])", &[4, 5]).unwrap_err().to_string();
        assert!(e.contains("LayerNorm([3, 4, 5])") && e.contains("[4, 5]"), "{e}");
        assert!(Normalizer::batch_norm(f64::NAN).plan("b", &[2, 3]).is_err());
    }
}
