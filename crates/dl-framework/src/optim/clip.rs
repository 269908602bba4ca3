//! Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.
//!
//! By norm: with `n = sqrt(sum over all gradients of g^2)`, every gradient is scaled by
//! `min(1, max_norm / (n + 1e-6))`. By value: every element is clamped into `[-c, c]`.

use dl_tensor::{Element, Tensor, cst};

/// Scales the gradients so that their joint L2 norm is at most `max_norm`; returns the
/// norm before clipping.
pub fn clip_grad_norm<T: Element>(grads: &mut [&mut Tensor<T>], max_norm: f64) -> f64 {
    let total: f64 =
        grads.iter().map(|g| g.to_vec().iter().map(|v| v.to_f64_exact().powi(2)).sum::<f64>()).sum::<f64>().sqrt();
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for g in grads.iter_mut() {
            **g = g.mul_scalar(cst(coef));
        }
    }
    total
}

/// Clamps every gradient element into `[-clip, clip]`.
pub fn clip_grad_value<T: Element>(grads: &mut [&mut Tensor<T>], clip: f64) {
    let c: T = cst(clip.abs());
    for g in grads.iter_mut() {
        **g = g.clamp(-c, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_by_norm_and_value() {
        // gradients (3, 4) and (12): joint norm 13.
        let mut a = Tensor::<f64>::from_vec(vec![3.0, 4.0], &[2]).unwrap();
        let mut b = Tensor::<f64>::from_vec(vec![12.0], &[1]).unwrap();
        let n = clip_grad_norm(&mut [&mut a, &mut b], 6.5);
        assert_eq!(n, 13.0);
        let scale = 6.5 / (13.0 + 1e-6);
        assert_eq!(a.to_vec(), vec![3.0 * scale, 4.0 * scale]);
        assert_eq!(b.to_vec(), vec![12.0 * scale]);
        let n2 = clip_grad_norm(&mut [&mut a], 100.0);
        assert!((n2 - 5.0 * scale).abs() < 1e-12);
        assert_eq!(a.to_vec(), vec![3.0 * scale, 4.0 * scale]);
        clip_grad_value(&mut [&mut b], 1.0);
        assert_eq!(b.to_vec(), vec![1.0]);
    }
}
