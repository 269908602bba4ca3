//! A reference multilayer perceptron built from the primitives: `Linear → ReLU → ... →
//! Linear → softmax cross-entropy`. The benches, the checkpointing tests and the
//! experiments that measure the cost of gradients (against depth and width) all use it,
//! so they measure the same computation. It mirrors `../shared/peers/peer_mlp.py`.

use dl_tensor::{Element, Tensor, TensorRng};

use crate::checkpoint::checkpoint;
use crate::error::{AutodiffError, Result};
use crate::var::Var;

/// Weights `(in, out)` and biases `(out,)` of each layer, as leaves requiring gradients.
pub struct Mlp<T: Element> {
    /// `[w_0, b_0, w_1, b_1, ...]`.
    pub params: Vec<Var<T>>,
}

/// `relu(h w + b)`, or `h w + b` for the last layer.
fn layer<T: Element>(h: &Var<T>, w: &Var<T>, b: &Var<T>, last: bool) -> Result<Var<T>> {
    let z = h.linear(w, b)?;
    if last { Ok(z) } else { z.relu() }
}

/// `w -= lr * g` in place, split across rayon's pool for large tensors (the parameters were
/// just read by both threads of a parallel GEMM, so one thread alone would also pay to pull
/// their cache lines over).
pub fn sgd_update<T: Element>(w: &mut Tensor<T>, g: &Tensor<T>, lr: T) {
    let n = w.numel();
    let zip = ndarray::Zip::from(w.array_mut()).and(g.array());
    if dl_tensor::elementwise::worth_parallel(n) {
        zip.par_for_each(|w, &g| *w -= lr * g);
    } else {
        zip.for_each(|w, &g| *w -= lr * g);
    }
}

impl<T: Element> Mlp<T> {
    /// Layer sizes `[in, hidden..., out]`, initialised as PyTorch's `nn.Linear`:
    /// `U(-1/√fan_in, 1/√fan_in)` for weights and biases.
    pub fn new(sizes: &[usize], rng: &mut TensorRng) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(AutodiffError::invalid("Mlp::new", "need at least an input and an output size"));
        }
        let mut params = Vec::new();
        for pair in sizes.windows(2) {
            let bound = T::from_f64_lossy(1.0 / (pair[0] as f64).sqrt());
            params.push(Var::leaf(Tensor::rand_uniform(&[pair[0], pair[1]], -bound, bound, rng)?, true));
            params.push(Var::leaf(Tensor::rand_uniform(&[pair[1]], -bound, bound, rng)?, true));
        }
        Ok(Mlp { params })
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.params.len() / 2
    }

    /// The logits for a batch `x (n, in)`, given the parameters (so that they can be
    /// replaced by duals for forward mode).
    pub fn logits_with(params: &[Var<T>], x: &Var<T>) -> Result<Var<T>> {
        let depth = params.len() / 2;
        let mut h = x.clone();
        for l in 0..depth {
            h = layer(&h, &params[2 * l], &params[2 * l + 1], l + 1 == depth)?;
        }
        Ok(h)
    }

    /// The mean cross-entropy loss, given the parameters.
    pub fn loss_with(params: &[Var<T>], x: &Var<T>, labels: &[usize]) -> Result<Var<T>> {
        Self::logits_with(params, x)?.softmax_cross_entropy(labels)
    }

    /// The mean cross-entropy loss.
    pub fn loss(&self, x: &Var<T>, labels: &[usize]) -> Result<Var<T>> {
        Self::loss_with(&self.params, x, labels)
    }

    /// The loss with the layers grouped into checkpointed segments of `segment_len` layers
    /// (0: no checkpointing).
    pub fn loss_checkpointed(&self, x: &Var<T>, labels: &[usize], segment_len: usize) -> Result<Var<T>> {
        if segment_len == 0 {
            return self.loss(x, labels);
        }
        let depth = self.depth();
        let mut h = x.clone();
        let mut start = 0;
        while start < depth {
            let end = (start + segment_len).min(depth);
            let params: Vec<Var<T>> = self.params[2 * start..2 * end].to_vec();
            let last_segment = end == depth;
            h = checkpoint(
                move |x: &Var<T>| {
                    let mut h = x.clone();
                    let n = params.len() / 2;
                    for l in 0..n {
                        h = layer(&h, &params[2 * l], &params[2 * l + 1], last_segment && l + 1 == n)?;
                    }
                    Ok(h)
                },
                &h,
            )?;
            start = end;
        }
        h.softmax_cross_entropy(labels)
    }

    /// The loss and the gradient of every parameter (in `params` order).
    pub fn value_and_grad(&self, x: &Var<T>, labels: &[usize]) -> Result<(T, Vec<Tensor<T>>)> {
        let loss = self.loss(x, labels)?;
        let mut grads = loss.backward()?;
        let value = loss.value().item()?;
        let g = self.params.iter().map(|p| grads.take(p).unwrap_or_else(|| Tensor::zeros(p.shape()))).collect();
        Ok((value, g))
    }

    /// One step of plain SGD (`p -= lr * grad`, in place); returns the loss before the step.
    pub fn sgd_step(&mut self, x: &Var<T>, labels: &[usize], lr: T) -> Result<T> {
        let (value, grads) = self.value_and_grad(x, labels)?;
        for (p, g) in self.params.iter_mut().zip(grads) {
            sgd_update(p.value_mut()?, &g, lr);
        }
        Ok(value)
    }
}
