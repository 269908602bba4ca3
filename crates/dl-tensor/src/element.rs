//! The scalar types a tensor may hold: `f32` and `f64`.
//!
//! [`Element`] gathers what the library needs from a float type in one trait: arithmetic
//! (`num_traits::Float`), ndarray's linear-algebra scalar bound, conversions to and from
//! `f64`, the special functions that the standard library lacks (`erf`, from `libm`, whose
//! error is below 1 ulp), the GEMM kernel of `matrixmultiply`, and the `.npy` type code.

use std::fmt::{Debug, Display};

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};

/// A floating-point scalar that a [`Tensor`](crate::Tensor) can hold (`f32` or `f64`).
pub trait Element:
    Float
    + FromPrimitive
    + LinalgScalar
    + ScalarOperand
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + 'static
{
    /// Name used in messages and file headers ("f32" or "f64").
    const DTYPE: &'static str;
    /// The `.npy` descriptor of this type, little-endian ("<f4" or "<f8").
    const NPY_DESCR: &'static str;
    /// Machine epsilon as f64, for tolerance defaults.
    const EPSILON_F64: f64;

    /// Converts from f64 (rounding to nearest for f32).
    fn from_f64_lossy(v: f64) -> Self;
    /// Widens to f64 exactly.
    fn to_f64_exact(self) -> f64;
    /// The error function erf(x) = 2/sqrt(pi) * int_0^x exp(-t^2) dt.
    fn erf(self) -> Self;
    /// Reads one little-endian value from the front of `bytes` (which has at least
    /// `size_of::<Self>()` bytes).
    fn from_le_bytes_slice(bytes: &[u8]) -> Self;
    /// Appends the little-endian bytes of `self` to `out`.
    fn push_le_bytes(self, out: &mut Vec<u8>);

    /// General matrix multiply C = alpha * A B + beta * C on raw strided storage.
    ///
    /// # Safety
    /// The pointers and strides must describe valid `m x k`, `k x n` and `m x n` matrices;
    /// `c` must not alias `a` or `b`. This is `matrixmultiply::{sgemm, dgemm}`'s contract.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Element for f32 {
    const DTYPE: &'static str = "f32";
    const NPY_DESCR: &'static str = "<f4";
    const EPSILON_F64: f64 = f32::EPSILON as f64;

    fn from_f64_lossy(v: f64) -> Self {
        v as f32
    }
    fn to_f64_exact(self) -> f64 {
        self as f64
    }
    fn erf(self) -> Self {
        libm::erff(self)
    }
    fn from_le_bytes_slice(bytes: &[u8]) -> Self {
        f32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))
    }
    fn push_le_bytes(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract, see the trait method.
        unsafe { matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
    }
}

impl Element for f64 {
    const DTYPE: &'static str = "f64";
    const NPY_DESCR: &'static str = "<f8";
    const EPSILON_F64: f64 = f64::EPSILON;

    fn from_f64_lossy(v: f64) -> Self {
        v
    }
    fn to_f64_exact(self) -> f64 {
        self
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn from_le_bytes_slice(bytes: &[u8]) -> Self {
        f64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
    }
    fn push_le_bytes(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract, see the trait method.
        unsafe { matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
    }
}

/// Shorthand for `T::from_f64_lossy(v)`, used when writing constants in generic code.
#[inline]
pub fn cst<T: Element>(v: f64) -> T {
    T::from_f64_lossy(v)
}
