//! `tanh` and the logistic sigmoid over slices, the transcendental work of a recurrence.
//!
//! In f64 these are the standard library's `tanh` and the overflow-free
//! `1 / (1 + e^-x)` (the same functions as the generic `Var` ops, so the explicit recurrence
//! and the unrolled graph agree to rounding). In f32 the standard `tanhf` is a scalar call
//! of ~20 ns, which would dominate a recurrent layer (an LSTM of T = 50, B = 32, H = 128
//! evaluates a million of them per forward pass), so f32 uses the rational minimax
//! approximation of Eigen's `generic_fast_tanh_float` (a degree-13/6 odd/even ratio on
//! `[-7.9, 7.9]`, clamped outside, where `tanh` rounds to ±1 in f32), which the compiler
//! vectorises; its error is below 5e-7, a few f32 ulp (tested below against f64 `tanh`). The sigmoid
//! follows from `sigmoid(x) = (1 + tanh(x / 2)) / 2`, with an absolute error of the same
//! order (~1e-7), like the vectorised sigmoid of other frameworks.

use dl_tensor::Element;

use super::cell::sigmoid;

fn is_f32<T: Element>() -> bool {
    T::EPSILON_F64 == f32::EPSILON as f64
}

/// Eigen's `generic_fast_tanh_float` rational approximation of `tanh` in f32.
#[inline]
fn fast_tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525e-3;
    const B2: f32 = 2.268_434_6e-3;
    const B4: f32 = 1.185_347_1e-4;
    const B6: f32 = 1.198_258_4e-6;
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = x2 * A13 + A11;
    p = x2 * p + A9;
    p = x2 * p + A7;
    p = x2 * p + A5;
    p = x2 * p + A3;
    p = x2 * p + A1;
    p *= x;
    let mut q = x2 * B6 + B4;
    q = x2 * q + B2;
    q = x2 * q + B0;
    p / q
}

/// `x <- tanh(x)` for every element.
#[inline]
pub(crate) fn tanh_in_place<T: Element>(xs: &mut [T]) {
    if is_f32::<T>() {
        for v in xs.iter_mut() {
            *v = T::from_f64_lossy(fast_tanh_f32(v.to_f64_exact() as f32) as f64);
        }
    } else {
        xs.iter_mut().for_each(|v| *v = v.tanh());
    }
}

/// `x <- sigmoid(x)` for every element.
#[inline]
pub(crate) fn sigmoid_in_place<T: Element>(xs: &mut [T]) {
    if is_f32::<T>() {
        for v in xs.iter_mut() {
            let x = v.to_f64_exact() as f32;
            *v = T::from_f64_lossy((0.5 + 0.5 * fast_tanh_f32(0.5 * x)) as f64);
        }
    } else {
        xs.iter_mut().for_each(|v| *v = sigmoid(*v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_tanh_and_sigmoid_are_within_a_few_ulp_of_f64_on_a_dense_grid() {
        // 200001 points on [-10, 10]; the reference is f64 tanh of the same f32 input.
        let xs: Vec<f32> = (0..=200_000).map(|k| -10.0 + 1e-4 * k as f32).collect();
        let mut t = xs.clone();
        tanh_in_place(&mut t);
        let mut s = xs.clone();
        sigmoid_in_place(&mut s);
        let (mut worst_t, mut worst_s) = (0.0f64, 0.0f64);
        for ((&x, &tv), &sv) in xs.iter().zip(&t).zip(&s) {
            let x = x as f64;
            worst_t = worst_t.max((tv as f64 - x.tanh()).abs());
            worst_s = worst_s.max((sv as f64 - 1.0 / (1.0 + (-x).exp())).abs());
        }
        // f32 ulp is 6e-8 near 1; the measured worst is ~4e-7 (about 7 ulp, near the clamp
        // at 7.9); allow 5e-7. A wrong coefficient is off by more than 1e-4.
        assert!(worst_t < 5e-7, "tanh error {worst_t}");
        assert!(worst_s < 5e-7, "sigmoid error {worst_s}");
        // odd symmetry and saturation
        let mut e = [0.0f32, 1e-30, 20.0, -20.0, 1e30];
        tanh_in_place(&mut e);
        assert_eq!(e[0], 0.0);
        assert!(e[1] > 0.0 && e[2] == 1.0 && e[3] == -1.0 && e[4] == 1.0, "{e:?}");
    }

    #[test]
    fn f64_uses_the_standard_functions() {
        let mut v = [0.3f64, -2.0];
        tanh_in_place(&mut v);
        assert_eq!(v, [0.3f64.tanh(), (-2.0f64).tanh()]);
        let mut s = [0.3f64, -40.0];
        sigmoid_in_place(&mut s);
        assert_eq!(s, [sigmoid(0.3f64), sigmoid(-40.0f64)]);
    }
}
