//! The [`Tensor`] type: an n-dimensional array of `f32` or `f64` with cheap clones.
//!
//! Storage is an `ndarray::ArcArray<T, IxDyn>`: cloning a tensor shares its buffer
//! (reference counting, copy on write), which is what a tape that saves its inputs needs.
//! Conversions from and to `ndarray::ArrayD<T>` move the buffer without copying when it
//! is not shared.

use ndarray::{ArcArray, ArrayD, ArrayViewD, IxDyn};

use crate::element::Element;
use crate::error::{Result, TensorError};
use crate::shape::numel;

/// An n-dimensional array of `T` (`f32` or `f64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<T: Element> {
    data: ArcArray<T, IxDyn>,
}

impl<T: Element> Tensor<T> {
    // ---- construction -------------------------------------------------------------------

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// A tensor with every element equal to `value`.
    ///
    /// Allocates `numel(shape)` elements: a shape from outside the program is checked
    /// first with [`MemoryLimit::check_tensor`](crate::memory::MemoryLimit::check_tensor).
    pub fn full(shape: &[usize], value: T) -> Self {
        let mut data = crate::buffer_pool::take::<T>(numel(shape));
        data.fill(value);
        Self::from_ndarray(ArrayD::from_shape_vec(IxDyn(shape), data).expect("length matches"))
    }

    /// A 0-dimensional tensor holding `value`.
    pub fn scalar(value: T) -> Self {
        Self::full(&[], value)
    }

    /// A tensor from row-major (C order) data and a shape.
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        if data.len() != numel(shape) {
            return Err(TensorError::invalid(
                "from_vec",
                shape,
                format!("{} values cannot fill a shape of {} elements", data.len(), numel(shape)),
            ));
        }
        let arr = ArrayD::from_shape_vec(IxDyn(shape), data)
            .map_err(|e| TensorError::invalid("from_vec", shape, e.to_string()))?;
        Ok(Self::from_ndarray(arr))
    }

    /// Values `start, start + step, ...` strictly below `end` (strictly above for a negative
    /// step), as NumPy's `arange`.
    pub fn arange(start: T, end: T, step: T) -> Result<Self> {
        if step == T::zero() || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(TensorError::invalid(
                "arange",
                &[],
                format!("start {start}, end {end} and step {step} must be finite with a non-zero step"),
            ));
        }
        let n = ((end - start) / step).ceil();
        let n = if n > T::zero() { n.to_usize().unwrap_or(0) } else { 0 };
        let data = (0..n).map(|i| start + step * T::from_usize(i).expect("index fits")).collect();
        Self::from_vec(data, &[n])
    }

    /// `n` evenly spaced values from `start` to `end` inclusive (`n >= 2`), or `[start]`
    /// for `n == 1`.
    pub fn linspace(start: T, end: T, n: usize) -> Self {
        let data = match n {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (end - start) / T::from_usize(n - 1).expect("n fits");
                (0..n)
                    .map(|i| if i == n - 1 { end } else { start + step * T::from_usize(i).expect("i fits") })
                    .collect()
            }
        };
        Self::from_vec(data, &[n]).expect("length matches")
    }

    /// The `n x n` identity matrix.
    pub fn eye(n: usize) -> Self {
        Self::from_ndarray(ArrayD::from_shape_fn(
            IxDyn(&[n, n]),
            |ix| {
                if ix[0] == ix[1] { T::one() } else { T::zero() }
            },
        ))
    }

    /// Wraps an ndarray array without copying.
    pub fn from_ndarray(array: ArrayD<T>) -> Self {
        Tensor { data: array.into_shared() }
    }

    /// Wraps a shared ndarray array without copying.
    pub fn from_shared(array: ArcArray<T, IxDyn>) -> Self {
        Tensor { data: array }
    }

    // ---- inspection ---------------------------------------------------------------------

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.data.ndim()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The underlying shared array.
    pub fn array(&self) -> &ArcArray<T, IxDyn> {
        &self.data
    }

    /// A read-only ndarray view.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        self.data.view()
    }

    /// The elements as a slice, when the tensor is in standard (C-contiguous) layout.
    pub fn as_slice(&self) -> Option<&[T]> {
        self.data.as_slice()
    }

    /// The elements in logical row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.data.as_slice() {
            Some(s) => s.to_vec(),
            None => self.data.iter().copied().collect(),
        }
    }

    /// Converts into an owned ndarray array; no copy when the buffer is not shared.
    pub fn into_ndarray(mut self) -> ArrayD<T> {
        std::mem::take(&mut self.data).into_owned()
    }

    /// The tensor in standard layout (a copy only if it is a strided view).
    pub fn contiguous(&self) -> Self {
        if self.data.is_standard_layout() {
            self.clone()
        } else {
            Self::from_ndarray(self.data.as_standard_layout().into_owned())
        }
    }

    /// The single value of a tensor with one element.
    pub fn item(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(TensorError::invalid(
                "item",
                self.shape(),
                "only a tensor with exactly one element has an item",
            ));
        }
        Ok(*self.data.iter().next().expect("one element"))
    }

    /// Converts every element to another float type.
    pub fn cast<U: Element>(&self) -> Tensor<U> {
        Tensor::from_ndarray(self.data.mapv(|v| U::from_f64_lossy(v.to_f64_exact())))
    }

    /// True if every element is finite.
    ///
    /// `v - v` is `0` for a finite `v` and NaN for NaN and ±infinity, so the sum of
    /// `v - v` over the buffer is NaN exactly when some element is not finite. Summed in
    /// sixteen independent lanes, with no early exit, the check runs at memory speed
    /// (an early-exit `all(is_finite)` does not vectorise), which matters to a training
    /// loop that checks every activation and gradient at every step.
    #[allow(clippy::eq_op)] // `v - v` is the point: 0 for finite v, NaN otherwise
    pub fn all_finite(&self) -> bool {
        const LANES: usize = 16;
        let Some(s) = self.data.as_slice_memory_order() else {
            return self.data.iter().all(|v| v.is_finite());
        };
        let mut acc = [T::zero(); LANES];
        let chunks = s.chunks_exact(LANES);
        let tail = chunks.remainder();
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += v - v;
            }
        }
        acc.iter().all(|a| !a.is_nan()) && tail.iter().all(|v| v.is_finite())
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(T) -> T + Sync + Send) -> Self {
        crate::elementwise::map_unary(self, f)
    }

    /// Mutable access to the elements, copying first if the buffer is shared.
    pub fn array_mut(&mut self) -> &mut ArcArray<T, IxDyn> {
        &mut self.data
    }
}

impl<T: Element> From<ArrayD<T>> for Tensor<T> {
    fn from(array: ArrayD<T>) -> Self {
        Self::from_ndarray(array)
    }
}

impl<T: Element> From<Tensor<T>> for ArrayD<T> {
    fn from(t: Tensor<T>) -> Self {
        t.into_ndarray()
    }
}

/// A tensor that holds the last reference to a large buffer hands it to this thread's
/// [`buffer_pool`](crate::buffer_pool) instead of freeing it, so the next op of the same
/// size reuses it without page faults.
impl<T: Element> Drop for Tensor<T> {
    fn drop(&mut self) {
        if !crate::buffer_pool::pooled_size::<T>(self.data.len()) {
            return;
        }
        if let Ok(owned) = std::mem::take(&mut self.data).try_into_owned_nocopy() {
            let (buffer, _offset) = owned.into_raw_vec_and_offset();
            crate::buffer_pool::give_back(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_shapes_and_values() {
        let t = Tensor::<f64>::arange(0.0, 1.0, 0.25).unwrap();
        assert_eq!(t.to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
        let t = Tensor::<f32>::arange(5.0, 0.0, -2.0).unwrap();
        assert_eq!(t.to_vec(), vec![5.0, 3.0, 1.0]);
        assert!(Tensor::<f32>::arange(0.0, 1.0, 0.0).is_err());
        let l = Tensor::<f64>::linspace(-1.0, 1.0, 5);
        assert_eq!(l.to_vec(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        let e = Tensor::<f64>::eye(3);
        assert_eq!(e.to_vec(), vec![1., 0., 0., 0., 1., 0., 0., 0., 1.]);
        assert!(Tensor::<f64>::from_vec(vec![1.0; 5], &[2, 3]).is_err());
        assert_eq!(Tensor::<f64>::scalar(2.5).item().unwrap(), 2.5);
    }

    #[test]
    fn ndarray_round_trip_moves_the_buffer() {
        let a = ArrayD::<f64>::zeros(IxDyn(&[64, 64]));
        let ptr = a.as_ptr();
        let t = Tensor::from(a);
        assert_eq!(t.as_slice().unwrap().as_ptr(), ptr);
        let back: ArrayD<f64> = t.into();
        assert_eq!(back.as_ptr(), ptr);
    }

    #[test]
    fn all_finite_agrees_with_an_element_by_element_check() {
        // Every position (in the 16-lane body and in the tail), every kind of non-finite
        // value, contiguous and transposed.
        for len in [1usize, 15, 16, 17, 47] {
            for pos in 0..len {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX] {
                    let mut v: Vec<f32> = (0..len).map(|i| i as f32 - 3.5).collect();
                    v[pos] = bad;
                    let t = Tensor::from_vec(v.clone(), &[len]).unwrap();
                    assert_eq!(t.all_finite(), v.iter().all(|x| x.is_finite()), "len {len} pos {pos} value {bad}");
                }
            }
        }
        let mut v = vec![1.0f64; 6 * 7];
        v[13] = f64::NAN;
        let t = Tensor::from_vec(v, &[6, 7]).unwrap();
        assert!(!t.t().unwrap().all_finite());
        assert!(!t.narrow(1, 6, 1).unwrap().all_finite(), "a strided column holding the NaN");
        assert!(t.narrow(0, 0, 1).unwrap().all_finite(), "row 0 holds no NaN");
    }
}
