//! Linear regions along a segment, exactly.
//!
//! On the segment `x(t) = a + t (b - a)`, `t in [0, 1]`, the network is piecewise linear
//! in `t`. It is carried as its values at breakpoints `0 = t_0 < ... < t_m = 1`, between
//! which every layer's output is affine in `t`. Layer by layer:
//!
//! - an affine layer keeps the breakpoints; it is applied to the values at them;
//! - before an activation with its kink at 0, unit `u` on piece `[t_i, t_{i+1}]` goes
//!   linearly from `z_i` to `z_{i+1}`; if they have opposite signs it crosses 0 at
//!   `s = z_i / (z_i - z_{i+1})` of the way: a new breakpoint, where every unit's value is
//!   the same linear interpolation (exact, since all are affine on the piece).
//!
//! Each piece's activation pattern is read at its midpoint (an interpolation, so exact);
//! the number of *activation regions* is `1 +` the number of adjacent pieces whose
//! patterns differ. The number of *linear pieces* of the output function (what
//! Telgarsky's bound counts) merges adjacent regions on which the output has the same
//! slope: a unit that changes side without changing the output (a dead path) splits an
//! activation region but not a linear piece.

use serde::{Deserialize, Serialize};

use super::network::{PiecewiseLinearNetwork, Points, Step, set_bit};
use super::{RegionError, Result};
use dl_tensor::Element;

/// The regions along one segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineRegions {
    /// The number of activation regions the segment crosses.
    pub regions: usize,
    /// The `t` in (0, 1) where the activation pattern changes, ascending.
    pub boundaries: Vec<f64>,
    /// The number of affine pieces of the output along the segment (`<= regions`).
    pub linear_pieces: usize,
    /// The `t` in (0, 1) where the output's slope changes, ascending (a subset of
    /// `boundaries`).
    pub kinks: Vec<f64>,
    /// The length of the segment `|b - a|` (regions per unit length = `regions / length`).
    pub length: f64,
}

impl LineRegions {
    /// Pattern changes per unit length, `(regions - 1) / length` (0 for a point).
    pub fn boundary_density(&self) -> f64 {
        if self.length > 0.0 { (self.regions - 1) as f64 / self.length } else { 0.0 }
    }
}

/// The exact number of activation regions (and linear pieces) along
/// `x(t) = a + t (b - a)`, `t in [0, 1]`; `a` and `b` are single inputs, flattened.
/// `max_pieces` bounds the work (an error naming it beyond).
///
/// ```
/// use dl_layers::{Act, Linear, Sequential};
/// use dl_tensor::seeded_rng;
/// use dl_theory::regions::{PiecewiseLinearNetwork, line_regions};
///
/// let mut rng = seeded_rng(1);
/// let net = Sequential::<f64>::new()
///     .with(Linear::new(2, 16, true, &mut rng))
///     .with(Act::relu())
///     .with(Linear::new(16, 1, true, &mut rng));
/// let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2])?;
/// let r = line_regions(&pl, &[-3.0, -3.0], &[3.0, 3.0], 100_000)?;
/// // one layer of 16 ReLU units: each unit's line is crossed at most once
/// assert!(r.regions >= 1 && r.regions <= 17 && r.linear_pieces <= r.regions);
/// # Ok::<(), dl_theory::regions::RegionError>(())
/// ```
pub fn line_regions<T: Element>(
    net: &PiecewiseLinearNetwork<'_, T>,
    a: &[f64],
    b: &[f64],
    max_pieces: usize,
) -> Result<LineRegions> {
    let op = "line_regions";
    net.check_point(op, "the start point a", a)?;
    net.check_point(op, "the end point b", b)?;
    let mut ts = vec![0.0, 1.0];
    let mut p = Points::new(a.iter().chain(b).copied().collect(), 2, net.input_shape().to_vec());
    // one pattern per piece [t_i, t_{i+1}]
    let mut patterns: Vec<Vec<u64>> = vec![Vec::new()];
    let mut offset = 0;
    let mut act_layer = 0;
    for step in &net.steps {
        let slope_below = match step {
            Step::Affine(m) => {
                p = p.affine(*m)?;
                continue;
            }
            Step::Kink { slope_below } => *slope_below,
        };
        let w = p.width();
        let (mut new_ts, mut new_values, mut new_patterns) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..ts.len() - 1 {
            let (z0, z1) = (&p.values[i * w..(i + 1) * w], &p.values[(i + 1) * w..(i + 2) * w]);
            let mut cuts: Vec<f64> =
                z0.iter().zip(z1).filter(|(u, v)| **u * **v < 0.0).map(|(u, v)| u / (u - v)).collect();
            cuts.sort_by(f64::total_cmp);
            cuts.dedup();
            new_ts.push(ts[i]);
            new_values.extend_from_slice(z0);
            new_patterns.push(patterns[i].clone());
            for s in cuts {
                new_ts.push(ts[i] + s * (ts[i + 1] - ts[i]));
                new_values.extend(z0.iter().zip(z1).map(|(u, v)| (1.0 - s) * u + s * v));
                new_patterns.push(patterns[i].clone());
            }
        }
        let last = ts.len() - 1;
        new_ts.push(ts[last]);
        new_values.extend_from_slice(&p.values[last * w..]);
        if new_patterns.len() > max_pieces {
            return Err(RegionError::TooMany {
                op,
                what: "pieces",
                limit_name: "max_pieces",
                limit: max_pieces,
                detail: format!("at activation layer {act_layer} ({w} units)"),
            });
        }
        for (i, pattern) in new_patterns.iter_mut().enumerate() {
            let (z0, z1) = (&new_values[i * w..(i + 1) * w], &new_values[(i + 1) * w..(i + 2) * w]);
            for (j, (u, v)) in z0.iter().zip(z1).enumerate() {
                if 0.5 * (u + v) > 0.0 {
                    set_bit(pattern, offset + j);
                }
            }
        }
        offset += w;
        act_layer += 1;
        ts = new_ts;
        patterns = new_patterns;
        p = Points::new(new_values, ts.len(), p.shape);
        p.activate(slope_below);
    }
    let words = offset.div_ceil(64);
    for pattern in &mut patterns {
        pattern.resize(words, 0);
    }
    let mut boundaries = Vec::new();
    let mut region_starts = vec![0];
    for i in 1..patterns.len() {
        if patterns[i] != patterns[i - 1] {
            boundaries.push(ts[i]);
            region_starts.push(i);
        }
    }
    let kinks = output_kinks(&p.values, p.width(), &ts, &region_starts);
    let length = a.iter().zip(b).map(|(x, y)| (y - x) * (y - x)).sum::<f64>().sqrt();
    Ok(LineRegions { regions: boundaries.len() + 1, linear_pieces: kinks.len() + 1, boundaries, kinks, length })
}

/// The boundaries (starts of regions after the first) where the output's slope in `t`
/// changes. Each region is one affine piece of the output; its slope vector is read from
/// the output values at the region's two ends. Two slopes count as equal within
/// `1e-9 *` the largest slope magnitude (rounding of the interpolated values).
fn output_kinks(y: &[f64], w: usize, ts: &[f64], starts: &[usize]) -> Vec<f64> {
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain(std::iter::once(ts.len() - 1)).collect();
    let slopes: Vec<Vec<f64>> = starts
        .iter()
        .zip(&ends)
        .map(|(&s, &e)| {
            let dt = ts[e] - ts[s];
            (0..w).map(|k| if dt > 0.0 { (y[e * w + k] - y[s * w + k]) / dt } else { 0.0 }).collect()
        })
        .collect();
    let scale = slopes.iter().flatten().fold(0.0f64, |m, s| m.max(s.abs()));
    let tol = 1e-9 * scale;
    let mut kinks = Vec::new();
    for r in 1..slopes.len() {
        if slopes[r].iter().zip(&slopes[r - 1]).any(|(x, y)| (x - y).abs() > tol) {
            kinks.push(ts[starts[r]]);
        }
    }
    kinks
}

/// The activation pattern of every input of a batch: one bit per unit of every
/// activation layer (`z > 0`), packed into `u64` words. `points` holds `n` flat inputs.
pub fn activation_patterns<T: Element>(
    net: &PiecewiseLinearNetwork<'_, T>,
    points: &[f64],
    n: usize,
) -> Result<Vec<Vec<u64>>> {
    let d = net.input_dim();
    if points.len() != n * d {
        return Err(RegionError::invalid(
            "activation_patterns",
            format!("{} values are not {n} inputs of {d} entries", points.len()),
        ));
    }
    if let Some(bad) = points.iter().find(|v| !v.is_finite()) {
        return Err(RegionError::invalid("activation_patterns", format!("the points have a non-finite entry {bad}")));
    }
    net.patterns_of(points.to_vec(), n)
}

/// The number of regions along the segment seen by sampling `samples` equally spaced
/// points and counting pattern changes between neighbours: a lower bound of
/// [`line_regions`], equal to it once the spacing is below the narrowest region.
pub fn sampled_line_regions<T: Element>(
    net: &PiecewiseLinearNetwork<'_, T>,
    a: &[f64],
    b: &[f64],
    samples: usize,
) -> Result<usize> {
    let op = "sampled_line_regions";
    net.check_point(op, "the start point a", a)?;
    net.check_point(op, "the end point b", b)?;
    if samples < 2 {
        return Err(RegionError::invalid(op, format!("need samples >= 2, got {samples}")));
    }
    let mut points = Vec::with_capacity(samples * a.len());
    for k in 0..samples {
        let t = k as f64 / (samples - 1) as f64;
        points.extend(a.iter().zip(b).map(|(x, y)| x + t * (y - x)));
    }
    let patterns = net.patterns_of(points, samples)?;
    Ok(1 + patterns.windows(2).filter(|w| w[0] != w[1]).count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_layers::{Act, Linear, Sequential};
    use dl_tensor::Tensor;

    fn dense(w: Vec<f64>, b: Vec<f64>, out: usize, inp: usize) -> Linear<f64> {
        Linear::from_tensors(Tensor::from_vec(w, &[out, inp]).unwrap(), Some(Tensor::from_vec(b, &[out]).unwrap()))
            .unwrap()
    }

    #[test]
    fn a_dead_path_splits_a_region_but_not_a_linear_piece() {
        // h = (relu(x), relu(x - 0.5)), y = h_0 + 0 h_1: two regions on [0, 1], one piece
        let net = Sequential::new().with(dense(vec![1.0, 1.0], vec![0.0, -0.5], 2, 1)).with(Act::relu()).with(dense(
            vec![1.0, 0.0],
            vec![0.0],
            1,
            2,
        ));
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[1]).unwrap();
        let r = line_regions(&pl, &[0.1], &[1.0], 100).unwrap();
        assert_eq!((r.regions, r.linear_pieces), (2, 1));
        // the boundary is where x = 0.5: t = (0.5 - 0.1) / 0.9
        assert!((r.boundaries[0] - 0.4 / 0.9).abs() < 1e-15);
        assert!(r.kinks.is_empty());
    }

    #[test]
    fn leaky_slopes_are_applied_and_limits_named() {
        // y = leaky(x) with slope 0.25 on [-1, 1]: two pieces, slopes 0.25 and 1
        let net = Sequential::new().with(dense(vec![1.0], vec![0.0], 1, 1)).with(Act::leaky_relu(0.25));
        let pl = PiecewiseLinearNetwork::from_sequential(&net, &[1]).unwrap();
        assert_eq!(pl.outputs(&[-1.0, 0.5], 2).unwrap(), vec![-0.25, 0.5]);
        let r = line_regions(&pl, &[-1.0], &[1.0], 100).unwrap();
        assert_eq!((r.regions, r.linear_pieces, r.kinks.clone()), (2, 2, vec![0.5]));
        let err = line_regions(&pl, &[-1.0], &[1.0], 1).unwrap_err().to_string();
        assert!(err.contains("max_pieces = 1"), "{err}");
        let err = line_regions(&pl, &[f64::NAN], &[1.0], 10).unwrap_err().to_string();
        assert!(err.contains("start point a") && err.contains("NaN"), "{err}");
        assert!(sampled_line_regions(&pl, &[0.0], &[1.0], 1).unwrap_err().to_string().contains("samples >= 2"));
    }
}
