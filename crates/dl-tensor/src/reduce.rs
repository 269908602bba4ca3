//! Reductions over any set of axes (with `keepdim`), and the numerically stable softmax
//! family.
//!
//! Stability: `logsumexp(x) = m + log(sum exp(x - m))` with `m = max x`, so the largest
//! exponent is e^0 = 1 and nothing overflows; softmax and log-softmax subtract the same
//! `m`. They are finite at logits of ±1e4 in f32, where the naive formula gives inf/inf.
//! `var` is two-pass (mean first, then the mean squared deviation), which keeps f32
//! accurate for data with a large mean.
//!
//! An empty `axes` slice means "all axes". Every reduction walks its lanes in a fixed
//! order, so results do not depend on the thread count.

use ndarray::{ArrayD, Axis, IxDyn, Zip};

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::shape::{normalize_axes, normalize_axis, reduced_shape};
use crate::tensor::Tensor;

fn reduce_with<T: Element>(
    op: &'static str,
    x: &Tensor<T>,
    axes: &[isize],
    keepdim: bool,
    lane: impl Fn(&[T]) -> T,
) -> Result<Tensor<T>> {
    let axes = normalize_axes(op, axes, x.shape())?;
    if axes.iter().any(|&a| x.shape()[a] == 0) && op != "sum" {
        return Err(TensorError::invalid(op, x.shape(), "cannot reduce over an axis of size 0"));
    }
    // Move the reduced axes to the back, in standard layout, so that each output element
    // owns one contiguous run of the input.
    let kept: Vec<usize> = (0..x.ndim()).filter(|a| !axes.contains(a)).collect();
    let mut order = kept.clone();
    order.extend(axes.iter().copied());
    let permuted = x.view().permuted_axes(IxDyn(&order));
    let standard = permuted.as_standard_layout();
    let flat = standard.as_slice().expect("standard layout");
    let inner: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let out_shape = reduced_shape(x.shape(), &axes, keepdim);
    let outer: usize = kept.iter().map(|&a| x.shape()[a]).product();
    let data: Vec<T> = if inner == 0 { vec![lane(&[]); outer] } else { flat.chunks(inner).map(&lane).collect() };
    Tensor::from_vec(data, &out_shape)
}

fn sum_lane<T: Element>(v: &[T]) -> T {
    // Eight independent accumulators: vectorises, and is a fixed order.
    let mut acc = [T::zero(); 8];
    let chunks = v.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for &r in rem {
        s += r;
    }
    s
}

fn max_lane<T: Element>(v: &[T]) -> T {
    let mut m = T::neg_infinity();
    for &x in v {
        if x.is_nan() {
            return x;
        }
        if x > m {
            m = x;
        }
    }
    m
}

fn min_lane<T: Element>(v: &[T]) -> T {
    let mut m = T::infinity();
    for &x in v {
        if x.is_nan() {
            return x;
        }
        if x < m {
            m = x;
        }
    }
    m
}

fn logsumexp_lane<T: Element>(v: &[T]) -> T {
    let m = max_lane(v);
    if !m.is_finite() {
        // all -inf gives -inf; any +inf gives +inf; NaN propagates.
        return m;
    }
    let e: Vec<T> = v.iter().map(|&x| (x - m).exp()).collect();
    m + sum_lane(&e).ln()
}

/// Sum of a lane that may be strided: the contiguous case sums in place, otherwise the
/// lane is gathered first so that both use [`sum_lane`]'s fixed order.
fn sum_view<T: Element>(lane: &ndarray::ArrayViewMut1<T>) -> T {
    match lane.as_slice() {
        Some(s) => sum_lane(s),
        None => sum_lane(&lane.to_vec()),
    }
}

impl<T: Element> Tensor<T> {
    /// Sum over `axes` (all if empty).
    pub fn sum_axes(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        reduce_with("sum", self, axes, keepdim, sum_lane)
    }

    /// Sum of all elements.
    pub fn sum_all(&self) -> T {
        match self.as_slice() {
            Some(s) => sum_lane(s),
            None => sum_lane(&self.to_vec()),
        }
    }

    /// Mean over `axes` (all if empty).
    pub fn mean_axes(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        reduce_with("mean", self, axes, keepdim, |v| sum_lane(v) / T::from_usize(v.len()).expect("len"))
    }

    /// Mean of all elements (NaN for an empty tensor).
    pub fn mean_all(&self) -> T {
        self.sum_all() / T::from_usize(self.numel()).expect("len")
    }

    /// Variance over `axes` with `ddof` delta degrees of freedom (0: population variance,
    /// 1: the unbiased estimate), computed in two passes.
    pub fn var_axes(&self, axes: &[isize], ddof: usize, keepdim: bool) -> Result<Self> {
        let n: usize = normalize_axes("var", axes, self.shape())?.iter().map(|&a| self.shape()[a]).product();
        if n <= ddof {
            return Err(TensorError::invalid(
                "var",
                self.shape(),
                format!("{n} values per reduction leave no degrees of freedom with ddof = {ddof}"),
            ));
        }
        reduce_with("var", self, axes, keepdim, |v| {
            let mean = sum_lane(v) / T::from_usize(v.len()).expect("len");
            let dev: Vec<T> = v.iter().map(|&x| (x - mean) * (x - mean)).collect();
            let ss = sum_lane(&dev);
            ss / T::from_usize(v.len() - ddof).expect("len")
        })
    }

    /// Maximum over `axes` (NaN if any element is NaN).
    pub fn max_axes(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        reduce_with("max", self, axes, keepdim, max_lane)
    }

    /// Minimum over `axes` (NaN if any element is NaN).
    pub fn min_axes(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        reduce_with("min", self, axes, keepdim, min_lane)
    }

    /// log(sum(exp(x))) over `axes`, computed stably.
    pub fn logsumexp(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        reduce_with("logsumexp", self, axes, keepdim, logsumexp_lane)
    }

    /// Index of the maximum along `axis` (the first one on ties; the first NaN if any).
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<ArrayD<usize>> {
        let ax = normalize_axis("argmax", axis, self.shape())?;
        if self.shape()[ax] == 0 {
            return Err(TensorError::invalid("argmax", self.shape(), "cannot take argmax over an axis of size 0"));
        }
        let out = self.array().map_axis(Axis(ax), |lane| {
            let mut best = 0;
            let mut m = T::neg_infinity();
            for (i, &x) in lane.iter().enumerate() {
                if x.is_nan() {
                    return i;
                }
                if x > m || i == 0 {
                    m = x;
                    best = i;
                }
            }
            best
        });
        Ok(if keepdim { out.insert_axis(Axis(ax)) } else { out })
    }

    /// Softmax along `axis`: exp(x - m) / sum exp(x - m) with m the lane maximum.
    pub fn softmax(&self, axis: isize) -> Result<Self> {
        self.softmax_family("softmax", axis, false)
    }

    /// Log-softmax along `axis`: x - logsumexp(x), computed stably.
    pub fn log_softmax(&self, axis: isize) -> Result<Self> {
        self.softmax_family("log_softmax", axis, true)
    }

    fn softmax_family(&self, op: &'static str, axis: isize, log: bool) -> Result<Self> {
        let ax = normalize_axis(op, axis, self.shape())?;
        let mut out = self.array().to_owned();
        let lanes = out.lanes_mut(Axis(ax));
        let body = |mut lane: ndarray::ArrayViewMut1<T>| {
            let mut m = T::neg_infinity();
            for &x in lane.iter() {
                if x > m {
                    m = x;
                }
            }
            if !m.is_finite() {
                m = T::zero();
            }
            if log {
                let e: Vec<T> = lane.iter().map(|&x| (x - m).exp()).collect();
                let lse = m + sum_lane(&e).ln();
                lane.mapv_inplace(|x| x - lse);
            } else {
                lane.mapv_inplace(|x| (x - m).exp());
                let s = sum_view(&lane);
                lane.mapv_inplace(|x| x / s);
            }
        };
        if crate::elementwise::worth_parallel(self.numel()) {
            Zip::from(lanes).par_for_each(body);
        } else {
            Zip::from(lanes).for_each(body);
        }
        Ok(Tensor::from_ndarray(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_finite_at_extreme_logits() {
        let x = Tensor::<f32>::from_vec(vec![1e4, -1e4, 0.0, 1e4], &[2, 2]).unwrap();
        let s = x.softmax(-1).unwrap().to_vec();
        assert_eq!(s, vec![1.0, 0.0, 0.0, 1.0]);
        let ls = x.log_softmax(-1).unwrap().to_vec();
        assert!(ls.iter().all(|v| v.is_finite()));
        assert_eq!(ls[0], 0.0);
        assert_eq!(ls[1], -2e4);
        let lse = x.logsumexp(&[1], false).unwrap().to_vec();
        assert_eq!(lse, vec![1e4, 1e4]);
    }

    #[test]
    fn reductions_against_direct_loops() {
        let v: Vec<f64> = (0..24).map(|i| ((i * 7) % 11) as f64 - 3.0).collect();
        let x = Tensor::from_vec(v.clone(), &[2, 3, 4]).unwrap();
        let s = x.sum_axes(&[0, 2], false).unwrap();
        for j in 0..3 {
            let mut e = 0.0;
            for i in 0..2 {
                for k in 0..4 {
                    e += v[i * 12 + j * 4 + k];
                }
            }
            assert_eq!(s.to_vec()[j], e);
        }
        assert_eq!(x.sum_axes(&[1], true).unwrap().shape(), &[2, 1, 4]);
        let am = x.argmax(1, false).unwrap();
        for i in 0..2 {
            for k in 0..4 {
                let lane: Vec<f64> = (0..3).map(|j| v[i * 12 + j * 4 + k]).collect();
                let best = (0..3).fold(0, |b, j| if lane[j] > lane[b] { j } else { b });
                assert_eq!(am[[i, k]], best);
            }
        }
    }

    #[test]
    fn variance_stays_accurate_with_a_large_mean_in_f32() {
        // values 1e4 + {0, 1, 2, 3}: population variance exactly 1.25.
        let x = Tensor::<f32>::from_vec(vec![10000.0, 10001.0, 10002.0, 10003.0], &[4]).unwrap();
        let v = x.var_axes(&[], 0, false).unwrap().item().unwrap();
        assert!((v - 1.25).abs() < 1e-6, "{v}");
        assert!(x.var_axes(&[0], 4, false).is_err());
    }

    #[test]
    fn reducing_an_empty_axis_is_an_error_except_for_sum() {
        let x = Tensor::<f64>::zeros(&[2, 0]);
        assert!(x.max_axes(&[1], false).is_err());
        assert_eq!(x.sum_axes(&[1], false).unwrap().to_vec(), vec![0.0, 0.0]);
    }
}
