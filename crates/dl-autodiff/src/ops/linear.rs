//! The affine map of a dense layer, `y = x W + b`, fused into one primitive.
//!
//! It is `add(matmul(x, W), b)` written as one op so that the bias is added in place into
//! the fresh product (one buffer and one pass fewer per layer than the two-op form). Its
//! rules are those of the two ops combined, with `x` of shape `(..., k)`, `W (k, n)`,
//! `b (n)` and `x₂` the batch flattened to `(m, k)`:
//!
//! - VJP: `x̄ = U Wᵀ`, `W̄ = x₂ᵀ U₂`, `b̄ = Σ_rows U` (the bias reduction of broadcasting);
//! - JVP: `tx W + x tW + tb`.

use dl_tensor::{Element, Tensor, TensorError};

use crate::error::Result;
use crate::mode::is_grad_enabled;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// `x W + b` for `x (..., k)`, `W (k, n)`, `b (n)`.
pub struct Linear;

/// Multiply-adds per product from which the two backward products run on two threads at
/// once; below it the hand-off costs more than it saves (measured on 128x256x256).
const JOIN_FLOPS: usize = 1 << 24;

fn check<T: Element>(x: &Tensor<T>, w: &Tensor<T>, b: &Tensor<T>) -> Result<usize> {
    let ok = x.ndim() >= 2
        && w.ndim() == 2
        && b.ndim() == 1
        && x.shape()[x.ndim() - 1] == w.shape()[0]
        && b.shape()[0] == w.shape()[1];
    if !ok {
        return Err(TensorError::ShapeMismatch {
            op: "linear",
            lhs: x.shape().to_vec(),
            rhs: w.shape().to_vec(),
            dim: x.ndim().saturating_sub(1),
            detail: format!("need x (..., k), W (k, n) and b (n); the bias has shape {:?}", b.shape()),
        }
        .into());
    }
    Ok(x.numel() / w.shape()[0])
}

/// `(m, k)` view of a `(..., k)` tensor.
fn rows<T: Element>(x: &Tensor<T>) -> Result<Tensor<T>> {
    let k = x.shape()[x.ndim() - 1];
    Ok(x.reshape(&[x.numel() / k.max(1), k])?)
}

impl<T: Element> Primitive<T> for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let (x, w, b) = (inputs[0], inputs[1], inputs[2]);
        check(x, w, b)?;
        let mut out = x.matmul(w)?;
        // The product is a fresh buffer, so this adds in place without a copy.
        let n = b.shape()[0];
        let (out_arr, bias) = (out.array_mut(), b.as_slice().map(|s| s.to_vec()).unwrap_or_else(|| b.to_vec()));
        match out_arr.as_slice_mut() {
            Some(data) => {
                for row in data.chunks_exact_mut(n.max(1)) {
                    for (o, &bv) in row.iter_mut().zip(&bias) {
                        *o += bv;
                    }
                }
            }
            None => {
                let dim = out_arr.raw_dim();
                out_arr.zip_mut_with(&b.array().broadcast(dim).expect("checked"), |o, &bv| *o += bv)
            }
        }
        Ok(out)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let (x, w) = (ctx.input(0), ctx.input(1));
        let flops = x.value().numel() * w.shape()[1];
        if !is_grad_enabled()
            && ctx.needs(0)
            && ctx.needs(1)
            && x.value().ndim() == 2
            && flops >= JOIN_FLOPS
            && rayon::current_num_threads() > 1
        {
            // A plain (unrecorded) backward pass: the two products are independent, so they
            // run side by side, each on its own thread, instead of one after the other with
            // each product split in bands across the threads.
            let (xv, wv, uv) = (x.value(), w.value(), u.value());
            let (gx, gw) = rayon::join(|| uv.matmul(&wv.t()?), || xv.t()?.matmul(uv));
            let gb = if ctx.needs(2) { Some(u.sum_to(ctx.value(2).shape())?) } else { None };
            return Ok(vec![Some(Var::constant(gx?)), Some(Var::constant(gw?)), gb]);
        }
        let gx = if ctx.needs(0) { Some(u.matmul(&w.t()?)?) } else { None };
        let gw = if ctx.needs(1) {
            let (x2, u2) = if x.value().ndim() == 2 {
                (x.clone(), u.clone())
            } else {
                let k = x.shape()[x.value().ndim() - 1];
                let n = w.shape()[1];
                (x.reshape(&[x.value().numel() / k, k])?, u.reshape(&[u.value().numel() / n, n])?)
            };
            Some(x2.t()?.matmul(&u2)?)
        } else {
            None
        };
        let gb = if ctx.needs(2) { Some(u.sum_to(ctx.value(2).shape())?) } else { None };
        Ok(vec![gx, gw, gb])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (x, w) = (ctx.inputs[0], ctx.inputs[1]);
        let mut terms = Vec::with_capacity(3);
        if let Some(tx) = t[0] {
            terms.push(tx.matmul(w)?);
        }
        if let Some(tw) = t[1] {
            terms.push(rows(x)?.matmul(tw)?.reshape(ctx.output.shape())?);
        }
        let mut out = match terms.len() {
            0 => Tensor::zeros(ctx.output.shape()),
            1 => terms.pop().expect("one term"),
            _ => terms[0].add(&terms[1])?,
        };
        if let Some(tb) = t[2] {
            out = out.add(tb)?;
        }
        Ok(out)
    }
}

impl<T: Element> Var<T> {
    /// `self W + b`: a dense layer's affine map (`self (..., k)`, `W (k, n)`, `b (n)`).
    pub fn linear(&self, w: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
        Var::apply(Linear, &[self, w, b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn equals_matmul_plus_bias_in_value_and_gradients() {
        let mut rng = seeded_rng(5);
        let x = Var::leaf(Tensor::<f64>::randn(&[2, 3, 4], &mut rng), true);
        let w = Var::leaf(Tensor::<f64>::randn(&[4, 5], &mut rng), true);
        let b = Var::leaf(Tensor::<f64>::randn(&[5], &mut rng), true);
        let c = Var::constant(Tensor::<f64>::randn(&[2, 3, 5], &mut rng));
        let fused = x.linear(&w, &b).unwrap().mul(&c).unwrap().sum_all().unwrap();
        let plain = x.matmul(&w).unwrap().add(&b).unwrap().mul(&c).unwrap().sum_all().unwrap();
        // same products and sums, possibly associated differently: a few ulps
        let tol = dl_tensor::Tolerance::new(1e-13, 1e-13);
        assert!((fused.value().item().unwrap() - plain.value().item().unwrap()).abs() < 1e-12);
        let (gf, gp) = (fused.backward().unwrap(), plain.backward().unwrap());
        for v in [&x, &w, &b] {
            dl_tensor::assert_close(gf.get(v).unwrap(), gp.get(v).unwrap(), tol);
        }
        assert!(x.linear(&b, &w).is_err());
    }

    #[test]
    fn the_two_thread_backward_gives_the_same_bits_as_the_one_thread_backward() {
        // 128 x 512 x 512 is above JOIN_FLOPS: on two threads the products run side by side.
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut rng = seeded_rng(6);
                let x = Var::leaf(Tensor::<f32>::randn(&[128, 512], &mut rng), true);
                let w = Var::leaf(Tensor::<f32>::randn(&[512, 512], &mut rng), true);
                let b = Var::leaf(Tensor::<f32>::randn(&[512], &mut rng), true);
                let c = Var::constant(Tensor::<f32>::randn(&[128, 512], &mut rng));
                let g = x.linear(&w, &b).unwrap().mul(&c).unwrap().sum_all().unwrap().backward().unwrap();
                [&x, &w, &b].map(|v| g.get(v).unwrap().to_vec().iter().map(|f| f.to_bits()).collect::<Vec<_>>())
            })
        };
        assert_eq!(run(1), run(2));
    }
}
