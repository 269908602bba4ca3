//! Sharpness: the top eigenvalue of the Hessian of the training loss with respect to the
//! parameters, by power iteration on exact Hessian-vector products.
//!
//! With `L(theta)` the loss on a batch and `H = nabla^2 L(theta)`, power iteration from a
//! random unit vector `v_0`,
//!
//! ```text
//! w_k = H v_{k-1},   lambda_k = <v_{k-1}, w_k>,   v_k = w_k / |w_k|,
//! ```
//!
//! converges to the eigenvalue of largest magnitude at rate `|lambda_2 / lambda_1|^k`;
//! it stops when `|lambda_k - lambda_{k-1}| <= tol |lambda_k|`. Each `H v` is exact
//! (reverse-over-reverse, [`dl_autodiff`]): the gradient `g = nabla L` is recorded once
//! with `create_graph`, and each product is the gradient of `<g, v>` through that graph.
//! Near the end of training with gradient descent at learning rate `eta`, the sharpness
//! hovers at `2 / eta` (the "edge of stability", Cohen et al. 2021).

use dl_autodiff::{BackwardOptions, Var, enable_grad, grad};
use dl_layers::Module;
use dl_tensor::{Element, Tensor, TensorRng};

use crate::error::Result;
use crate::loss::Loss;

/// The Hessian of a network's loss on one batch, as a linear map on parameter-shaped
/// vectors (one tensor per trainable parameter, in the network's order).
pub struct LossHessian<T: Element> {
    leaves: Vec<Var<T>>,
    grads: Vec<Option<Var<T>>>,
    shapes: Vec<Vec<usize>>,
}

impl<T: Element> LossHessian<T> {
    /// Records the loss of `network` on `(x, labels)` and its gradient with
    /// `create_graph`, ready for [`LossHessian::hvp`].
    pub fn new(network: &(impl Module<T> + ?Sized), x: &Tensor<T>, labels: &[usize], loss: &Loss) -> Result<Self> {
        enable_grad(|| {
            let params: Vec<_> = network.parameters().into_iter().filter(|p| p.param.requires_grad()).collect();
            let leaves: Vec<Var<T>> = params.iter().map(|p| p.param.var()).collect();
            let logits = network.forward(&Var::constant(x.clone()))?;
            let l = loss.apply(&logits, labels)?;
            let wrt: Vec<&Var<T>> = leaves.iter().collect();
            let grads = grad(&l, None, &wrt, BackwardOptions::create_graph())?;
            let shapes = leaves.iter().map(|v| v.shape().to_vec()).collect();
            Ok(LossHessian { leaves, grads, shapes })
        })
    }

    /// The parameter shapes, in order.
    pub fn shapes(&self) -> &[Vec<usize>] {
        &self.shapes
    }

    /// `H v`, one tensor per parameter.
    pub fn hvp(&self, v: &[Tensor<T>]) -> Result<Vec<Tensor<T>>> {
        enable_grad(|| {
            let mut gv: Option<Var<T>> = None;
            for (g, vi) in self.grads.iter().zip(v) {
                if let Some(g) = g {
                    let term = g.mul(&Var::constant(vi.clone()))?.sum_all()?;
                    gv = Some(match gv {
                        Some(acc) => acc.add(&term)?,
                        None => term,
                    });
                }
            }
            let Some(gv) = gv else {
                return Ok(self.shapes.iter().map(|s| Tensor::zeros(s)).collect());
            };
            if !gv.requires_grad() {
                return Ok(self.shapes.iter().map(|s| Tensor::zeros(s)).collect());
            }
            let wrt: Vec<&Var<T>> = self.leaves.iter().collect();
            let hv = grad(&gv, None, &wrt, BackwardOptions::retain())?;
            Ok(hv
                .into_iter()
                .zip(&self.shapes)
                .map(|(h, s)| h.map_or_else(|| Tensor::zeros(s), |h| h.value().clone()))
                .collect())
        })
    }
}

/// The outcome of power iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerIteration {
    /// The estimated eigenvalue of largest magnitude.
    pub eigenvalue: f64,
    /// Products `H v` computed.
    pub iterations: usize,
    /// Whether the relative change fell below the tolerance.
    pub converged: bool,
}

fn dot<T: Element>(a: &[Tensor<T>], b: &[Tensor<T>]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.to_vec().iter().zip(y.to_vec()).map(|(p, q)| p.to_f64_exact() * q.to_f64_exact()).sum::<f64>())
        .sum()
}

fn scale<T: Element>(a: &[Tensor<T>], c: f64) -> Vec<Tensor<T>> {
    a.iter().map(|x| x.mul_scalar(T::from_f64_lossy(c))).collect()
}

/// The top Hessian eigenvalue (largest magnitude) by power iteration from a random start
/// drawn from `rng`: at most `max_iterations` products, stopping when the relative change
/// of the Rayleigh quotient is at most `tol`.
pub fn top_hessian_eigenvalue<T: Element>(
    h: &LossHessian<T>,
    max_iterations: usize,
    tol: f64,
    rng: &mut TensorRng,
) -> Result<PowerIteration> {
    let v0: Vec<Tensor<T>> = h.shapes().iter().map(|s| Tensor::randn(s, rng)).collect();
    let n0 = dot(&v0, &v0).sqrt();
    let mut v = scale(&v0, 1.0 / n0.max(f64::MIN_POSITIVE));
    let mut lambda = 0.0;
    for k in 1..=max_iterations {
        let w = h.hvp(&v)?;
        let next = dot(&v, &w);
        let norm = dot(&w, &w).sqrt();
        if norm == 0.0 {
            return Ok(PowerIteration { eigenvalue: 0.0, iterations: k, converged: true });
        }
        let done = k > 1 && (next - lambda).abs() <= tol * next.abs();
        lambda = next;
        if done {
            return Ok(PowerIteration { eigenvalue: lambda, iterations: k, converged: true });
        }
        v = scale(&w, 1.0 / norm);
    }
    Ok(PowerIteration { eigenvalue: lambda, iterations: max_iterations, converged: false })
}
