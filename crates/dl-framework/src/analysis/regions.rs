//! Expressivity: the linear regions of a piecewise-linear network, along a segment
//! (exactly) and on a 2-D slice (on a grid).
//!
//! A network of affine layers and piecewise-linear activations (ReLU, leaky ReLU) is
//! piecewise affine; its *activation regions* are the sets of inputs sharing one
//! activation pattern (which side of its kink each unit is on). Serra, Tjandraatmadja and
//! Ramalingam (2018) bound their number; Hanin and Rolnick (2019) show that along a line
//! through input space a random ReLU network has about `#neurons` of them per unit length,
//! far below the exponential maxima of constructions such as Telgarsky's (2016) sawtooth.
//!
//! **Exact count along a segment** `x(t) = a + t (b - a)`, `t in [0, 1]`
//! ([`line_regions`]). The network restricted to the segment is piecewise linear in `t`;
//! it is represented by its values at breakpoints `0 = t_0 < ... < t_m = 1`, between
//! which every layer's output is affine in `t`. Layer by layer:
//!
//! - an affine layer (dense, convolution, average pooling, flatten) keeps the
//!   breakpoints: it is applied to the values at the breakpoints;
//! - before a piecewise-linear activation with a kink at `k`, unit `u` of piece
//!   `[t_i, t_{i+1}]` goes linearly from `z_i` to `z_{i+1}`; if `z_i - k` and `z_{i+1} - k`
//!   have opposite signs it crosses the kink at `s = (z_i - k) / (z_i - z_{i+1})` of the
//!   way, a new breakpoint, where every unit's value is the same linear interpolation
//!   (exact, since all are affine on the piece); then the activation is applied pointwise.
//!
//! Each piece records the activation pattern at its midpoint (interpolated, so exact), and
//! the number of regions is `1 +` the number of adjacent pieces whose patterns differ.
//!
//! **2-D slices** ([`plane_regions`]): the plane through three inputs,
//! `p(u, v) = x_0 + u (x_1 - x_0) + v (x_2 - x_0)`, sampled on an `R x R` grid over
//! `(u, v) in [-m, 1 + m]^2`. The activation pattern is computed at every grid point; the
//! report gives the number of distinct patterns and the number of 4-connected components
//! of equal patterns (the regions the grid resolves). Both are lower bounds of the true
//! counts on that square, approached as `R` grows; along each grid row, the changes seen
//! are at most the exact count of [`line_regions`] on that row (tested).

use dl_autodiff::{Var, no_grad};
use dl_tensor::{Element, Tensor, cst};
use serde::{Deserialize, Serialize};

use super::error::{AnalysisError, Result};
use super::layers::{LayerKind, classify, kinks};
use crate::network::Network;

/// The regions along one segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineRegions {
    /// The number of activation regions the segment crosses.
    pub regions: usize,
    /// The `t` in (0, 1) where the activation pattern changes, ascending.
    pub boundaries: Vec<f64>,
    /// The length of the segment `|b - a|` (regions per unit length = `regions / length`).
    pub length: f64,
}

/// The regions on one 2-D slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaneRegions {
    /// Grid points per side.
    pub resolution: usize,
    /// The square spans `[-margin, 1 + margin]` in both plane coordinates.
    pub margin: f64,
    /// Distinct activation patterns on the grid.
    pub distinct_patterns: usize,
    /// 4-connected components of grid points with equal patterns.
    pub connected_regions: usize,
}

/// The kink of each piecewise-linear activation layer, or the error naming the first
/// layer that is not piecewise linear. `kink[i] = Some(k)` for an activation at layer `i`.
fn piecewise_linear_plan<T: Element>(network: &Network<T>) -> Result<Vec<Option<f64>>> {
    let mut plan = Vec::new();
    for (i, layer) in network.layers().iter().enumerate() {
        let m = layer.module.as_ref();
        let kink = match classify(m) {
            LayerKind::Dense | LayerKind::OtherAffine | LayerKind::FixedLinear => None,
            LayerKind::Activation(a) => match kinks(&a) {
                Some(k) => k.first().copied(),
                None => {
                    return Err(AnalysisError::NotPiecewiseLinear {
                        layer: network.layer_name(i),
                        reason: format!("{a:?} is smooth"),
                    });
                }
            },
            LayerKind::Other => {
                let reason = if m.is_training()
                    && (m.describe().starts_with("Dropout(") || m.describe().starts_with("BatchNorm"))
                {
                    "it is in training mode; call network.eval()".to_string()
                } else {
                    "not an affine layer or an elementwise activation".to_string()
                };
                return Err(AnalysisError::NotPiecewiseLinear { layer: network.layer_name(i), reason });
            }
        };
        plan.push(kink);
    }
    Ok(plan)
}

fn to_f64<T: Element>(t: &Tensor<T>) -> Vec<f64> {
    t.contiguous().to_vec().iter().map(|v| v.to_f64_exact()).collect()
}

fn from_f64<T: Element>(v: &[f64], shape: &[usize]) -> Result<Tensor<T>> {
    Ok(Tensor::from_vec(v.iter().map(|&x| cst::<T>(x)).collect(), shape)?)
}

fn set_bits(pattern: &mut Vec<u64>, bits: impl Iterator<Item = bool>) {
    let mut word = 0u64;
    let mut n = 0;
    for b in bits {
        word |= (b as u64) << n;
        n += 1;
        if n == 64 {
            pattern.push(word);
            word = 0;
            n = 0;
        }
    }
    if n > 0 {
        pattern.push(word);
    }
}

/// The exact number of activation regions along `x(t) = a + t (b - a)`, `t in [0, 1]`.
/// `a` and `b` are single inputs (the network's per-example shape, flattened).
/// `max_pieces` bounds the work (an error beyond it).
///
/// ```
/// use dl_framework::NetworkConfig;
/// use dl_framework::analysis::line_regions;
/// let net = NetworkConfig::from_json(r#"{"input_shape": [2], "layers": [
///     {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 1}]}"#)?
///     .build::<f64>()?;
/// let r = line_regions(&net, &[-3.0, -3.0], &[3.0, 3.0], 100_000)?;
/// // one layer of 16 ReLU units: each unit's hyperplane is crossed at most once
/// assert!(r.regions >= 1 && r.regions <= 17);
/// # Ok::<(), dl_framework::analysis::AnalysisError>(())
/// ```
pub fn line_regions<T: Element>(network: &Network<T>, a: &[f64], b: &[f64], max_pieces: usize) -> Result<LineRegions> {
    let op = "line_regions";
    let d: usize = network.input_shape().iter().product();
    if a.len() != d || b.len() != d {
        return Err(AnalysisError::invalid(
            op,
            format!("the endpoints have {} and {} entries; the network takes inputs of {d}", a.len(), b.len()),
        ));
    }
    if !a.iter().chain(b).all(|v| v.is_finite()) {
        return Err(AnalysisError::invalid(op, "the endpoints must be finite"));
    }
    let plan = piecewise_linear_plan(network)?;
    let mut ts = vec![0.0, 1.0];
    let mut shape = vec![2];
    shape.extend_from_slice(network.input_shape());
    let mut values: Vec<f64> = a.iter().chain(b).copied().collect();
    let mut patterns: Vec<Vec<u64>> = vec![Vec::new()];
    for (i, layer) in network.layers().iter().enumerate() {
        if let Some(kink) = plan[i] {
            let width = values.len() / ts.len();
            let (mut new_ts, mut new_values, mut new_patterns) = (Vec::new(), Vec::new(), Vec::new());
            for p in 0..ts.len() - 1 {
                let (z0, z1) = (&values[p * width..(p + 1) * width], &values[(p + 1) * width..(p + 2) * width]);
                let mut cuts: Vec<f64> = z0
                    .iter()
                    .zip(z1)
                    .filter(|(u, v)| (**u - kink) * (**v - kink) < 0.0)
                    .map(|(u, v)| (u - kink) / (u - v))
                    .collect();
                cuts.sort_by(f64::total_cmp);
                cuts.dedup();
                new_ts.push(ts[p]);
                new_values.extend_from_slice(z0);
                new_patterns.push(patterns[p].clone());
                for s in cuts {
                    new_ts.push(ts[p] + s * (ts[p + 1] - ts[p]));
                    new_values.extend(z0.iter().zip(z1).map(|(u, v)| (1.0 - s) * u + s * v));
                    new_patterns.push(patterns[p].clone());
                }
            }
            let last = ts.len() - 1;
            new_ts.push(ts[last]);
            new_values.extend_from_slice(&values[last * width..]);
            if new_patterns.len() > max_pieces {
                return Err(AnalysisError::invalid(
                    op,
                    format!("more than max_pieces = {max_pieces} pieces after {}", network.layer_name(i)),
                ));
            }
            // the pattern of this layer on each piece, at its midpoint
            for (p, pattern) in new_patterns.iter_mut().enumerate() {
                let (z0, z1) = (&new_values[p * width..(p + 1) * width], &new_values[(p + 1) * width..(p + 2) * width]);
                set_bits(pattern, z0.iter().zip(z1).map(|(u, v)| 0.5 * (u + v) > kink));
            }
            ts = new_ts;
            values = new_values;
            patterns = new_patterns;
            shape[0] = ts.len();
        }
        let x: Tensor<T> = from_f64(&values, &shape)?;
        let y = no_grad(|| layer.module.forward(&Var::constant(x)))?;
        shape = y.shape().to_vec();
        values = to_f64(y.value());
    }
    let mut boundaries = Vec::new();
    for p in 1..patterns.len() {
        if patterns[p] != patterns[p - 1] {
            boundaries.push(ts[p]);
        }
    }
    let length = a.iter().zip(b).map(|(x, y)| (y - x) * (y - x)).sum::<f64>().sqrt();
    Ok(LineRegions { regions: boundaries.len() + 1, boundaries, length })
}

/// The activation pattern of every input of the batch `x` (shape `(N, ...input)`): one
/// bit per unit of every piecewise-linear activation layer (whether its input exceeds the
/// kink), packed into `u64` words.
pub fn activation_patterns<T: Element>(network: &Network<T>, x: &Tensor<T>) -> Result<Vec<Vec<u64>>> {
    let plan = piecewise_linear_plan(network)?;
    network.check_input(x.shape())?;
    let n = x.shape()[0];
    let mut patterns = vec![Vec::new(); n];
    let mut h = Var::constant(x.clone());
    for (i, layer) in network.layers().iter().enumerate() {
        if let Some(kink) = plan[i] {
            let v = to_f64(h.value());
            let width = v.len() / n.max(1);
            for (k, pattern) in patterns.iter_mut().enumerate() {
                set_bits(pattern, v[k * width..(k + 1) * width].iter().map(|&z| z > kink));
            }
        }
        h = no_grad(|| layer.module.forward(&h))?;
    }
    Ok(patterns)
}

/// The number of regions along the segment seen by sampling `samples` equally spaced
/// points and counting pattern changes between neighbours: a lower bound of
/// [`line_regions`], equal to it once the spacing is below the narrowest region.
pub fn sampled_line_regions<T: Element>(network: &Network<T>, a: &[f64], b: &[f64], samples: usize) -> Result<usize> {
    let d = a.len();
    if samples < 2 || b.len() != d {
        return Err(AnalysisError::invalid(
            "sampled_line_regions",
            format!("need at least 2 samples and endpoints of equal length, got {samples}, {} and {}", d, b.len()),
        ));
    }
    let mut points = Vec::with_capacity(samples * d);
    for k in 0..samples {
        let t = k as f64 / (samples - 1) as f64;
        points.extend(a.iter().zip(b).map(|(x, y)| x + t * (y - x)));
    }
    let mut shape = vec![samples];
    shape.extend_from_slice(network.input_shape());
    let patterns = activation_patterns(network, &from_f64(&points, &shape)?)?;
    Ok(1 + patterns.windows(2).filter(|w| w[0] != w[1]).count())
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Regions on the plane through `x0, x1, x2` (flattened single inputs), on a
/// `resolution x resolution` grid over `[-margin, 1 + margin]^2` (see the module docs).
pub fn plane_regions<T: Element>(
    network: &Network<T>,
    x0: &[f64],
    x1: &[f64],
    x2: &[f64],
    resolution: usize,
    margin: f64,
) -> Result<PlaneRegions> {
    let op = "plane_regions";
    let d: usize = network.input_shape().iter().product();
    if x0.len() != d || x1.len() != d || x2.len() != d {
        return Err(AnalysisError::invalid(
            op,
            format!(
                "the three points have {}, {} and {} entries; the network takes inputs of {d}",
                x0.len(),
                x1.len(),
                x2.len()
            ),
        ));
    }
    if resolution < 2 || !(margin.is_finite() && margin >= 0.0) {
        return Err(AnalysisError::invalid(
            op,
            format!("need resolution >= 2 and a finite margin >= 0, got {resolution} and {margin}"),
        ));
    }
    let coord = |k: usize| -margin + (1.0 + 2.0 * margin) * k as f64 / (resolution - 1) as f64;
    let mut patterns: Vec<Vec<u64>> = Vec::with_capacity(resolution * resolution);
    let mut shape = vec![resolution];
    shape.extend_from_slice(network.input_shape());
    for row in 0..resolution {
        let v = coord(row);
        let mut points = Vec::with_capacity(resolution * d);
        for col in 0..resolution {
            let u = coord(col);
            points.extend((0..d).map(|j| x0[j] + u * (x1[j] - x0[j]) + v * (x2[j] - x0[j])));
        }
        patterns.extend(activation_patterns(network, &from_f64(&points, &shape)?)?);
    }
    let mut distinct = patterns.clone();
    distinct.sort();
    distinct.dedup();
    let mut parent: Vec<usize> = (0..patterns.len()).collect();
    for row in 0..resolution {
        for col in 0..resolution {
            let i = row * resolution + col;
            for j in [(col + 1 < resolution).then_some(i + 1), (row + 1 < resolution).then_some(i + resolution)]
                .into_iter()
                .flatten()
            {
                if patterns[i] == patterns[j] {
                    let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
        }
    }
    let components = (0..patterns.len()).filter(|&i| find(&mut parent, i) == i).count();
    Ok(PlaneRegions { resolution, margin, distinct_patterns: distinct.len(), connected_regions: components })
}
