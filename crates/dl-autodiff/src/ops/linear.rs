//! The affine map of a dense layer, `y = x W + b`, fused into one primitive.
//!
//! It is `add(matmul(x, W), b)` written as one op so that the bias is added in place into
//! the fresh product (one buffer and one pass fewer per layer than the two-op form). Its
//! rules are those of the two ops combined, with `x` of shape `(..., k)`, `W (k, n)`,
//! `b (n)` and `x₂` the batch flattened to `(m, k)`:
//!
//! - VJP: `x̄ = U Wᵀ`, `W̄ = x₂ᵀ U₂`, `b̄ = Σ_rows U` (the bias reduction of broadcasting);
//! - JVP: `tx W + x tW + tb`.
//!
//! The weight may also be stored `(n, k)`, output by input, as PyTorch's `nn.Linear` keeps
//! it ([`WeightLayout::OutIn`], [`Var::linear_wt`]): then `y = x Wᵀ + b`, `x̄ = U W` and
//! `W̄ = U₂ᵀ x₂`. Computing `W̄` in that orientation directly, rather than as the transpose
//! of `x₂ᵀ U₂`, hands the optimiser a gradient in the weight's own memory layout instead of
//! a transposed view that would have to be copied.

use dl_tensor::{Element, Tensor, TensorError};

use crate::error::Result;
use crate::mode::is_grad_enabled;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// How the weight of a [`Linear`] map is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightLayout {
    /// `W (k, n)`, input by output: `y = x W + b`.
    InOut,
    /// `W (n, k)`, output by input (PyTorch's `nn.Linear`): `y = x Wᵀ + b`.
    OutIn,
}

/// `x W + b` for `x (..., k)`, `W (k, n)` (or `x Wᵀ + b` for `W (n, k)`), `b (n)`.
pub struct Linear {
    /// The weight's layout.
    pub layout: WeightLayout,
}

impl Linear {
    /// `W` as a `(k, n)` matrix: itself, or a transposed view (no copy).
    fn in_out<T: Element>(&self, w: &Tensor<T>) -> Result<Tensor<T>> {
        Ok(match self.layout {
            WeightLayout::InOut => w.clone(),
            WeightLayout::OutIn => w.t()?,
        })
    }
}

/// Multiply-adds per product from which the two backward products run on two threads at
/// once; below it the hand-off costs more than it saves (measured on 128x256x256).
const JOIN_FLOPS: usize = 1 << 24;

fn check<T: Element>(layout: WeightLayout, x: &Tensor<T>, w: &Tensor<T>, b: &Tensor<T>) -> Result<()> {
    let (k_axis, n_axis, want) = match layout {
        WeightLayout::InOut => (0, 1, "x (..., k), W (k, n) and b (n)"),
        WeightLayout::OutIn => (1, 0, "x (..., k), W (n, k) and b (n)"),
    };
    let ok = x.ndim() >= 2
        && w.ndim() == 2
        && b.ndim() == 1
        && x.shape()[x.ndim() - 1] == w.shape()[k_axis]
        && b.shape()[0] == w.shape()[n_axis];
    if !ok {
        return Err(TensorError::ShapeMismatch {
            op: "linear",
            lhs: x.shape().to_vec(),
            rhs: w.shape().to_vec(),
            dim: x.ndim().saturating_sub(1),
            detail: format!("need {want}; the bias has shape {:?}", b.shape()),
        }
        .into());
    }
    Ok(())
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
        check(self.layout, x, w, b)?;
        let mut out = x.matmul(&self.in_out(w)?)?;
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
        let flops = x.value().numel() * ctx.output.value().shape().last().copied().unwrap_or(1);
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
            let (gx, gw) = match self.layout {
                WeightLayout::InOut => rayon::join(|| uv.matmul(&wv.t()?), || xv.t()?.matmul(uv)),
                WeightLayout::OutIn => rayon::join(|| uv.matmul(wv), || uv.t()?.matmul(xv)),
            };
            let gb = if ctx.needs(2) { Some(u.sum_to(ctx.value(2).shape())?) } else { None };
            return Ok(vec![Some(Var::constant(gx?)), Some(Var::constant(gw?)), gb]);
        }
        let gx = match (ctx.needs(0), self.layout) {
            (false, _) => None,
            (true, WeightLayout::InOut) => Some(u.matmul(&w.t()?)?),
            (true, WeightLayout::OutIn) => Some(u.matmul(w)?),
        };
        let gw = if ctx.needs(1) {
            let (x2, u2) = if x.value().ndim() == 2 {
                (x.clone(), u.clone())
            } else {
                let k = x.shape()[x.value().ndim() - 1];
                let n = u.shape()[u.value().ndim() - 1];
                (x.reshape(&[x.value().numel() / k, k])?, u.reshape(&[u.value().numel() / n, n])?)
            };
            Some(match self.layout {
                WeightLayout::InOut => x2.t()?.matmul(&u2)?,
                WeightLayout::OutIn => u2.t()?.matmul(&x2)?,
            })
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
            terms.push(tx.matmul(&self.in_out(w)?)?);
        }
        if let Some(tw) = t[1] {
            terms.push(rows(x)?.matmul(&self.in_out(tw)?)?.reshape(ctx.output.shape())?);
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
        Var::apply(Linear { layout: WeightLayout::InOut }, &[self, w, b])
    }

    /// `self Wᵀ + b` with the weight stored output by input, as PyTorch's `nn.Linear`
    /// keeps it (`self (..., k)`, `W (n, k)`, `b (n)`); its weight gradient comes out in
    /// `W`'s own layout.
    pub fn linear_wt(&self, w: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
        Var::apply(Linear { layout: WeightLayout::OutIn }, &[self, w, b])
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
    fn the_out_in_layout_equals_the_transposed_product_and_keeps_the_gradient_layout() {
        let mut rng = seeded_rng(7);
        let x = Var::leaf(Tensor::<f64>::randn(&[2, 3, 4], &mut rng), true);
        let w = Var::leaf(Tensor::<f64>::randn(&[5, 4], &mut rng), true); // (out, in)
        let b = Var::leaf(Tensor::<f64>::randn(&[5], &mut rng), true);
        let c = Var::constant(Tensor::<f64>::randn(&[2, 3, 5], &mut rng));
        let fused = x.linear_wt(&w, &b).unwrap().mul(&c).unwrap().sum_all().unwrap();
        let plain = x.matmul(&w.t().unwrap()).unwrap().add(&b).unwrap().mul(&c).unwrap().sum_all().unwrap();
        // the same products, possibly summed in another order: a few ulps of values of order 10
        let tol = dl_tensor::Tolerance::new(1e-13, 1e-13);
        assert!((fused.value().item().unwrap() - plain.value().item().unwrap()).abs() < 1e-12);
        let (gf, gp) = (fused.backward().unwrap(), plain.backward().unwrap());
        for v in [&x, &w, &b] {
            dl_tensor::assert_close(gf.get(v).unwrap(), gp.get(v).unwrap(), tol);
        }
        assert!(gf.get(&w).unwrap().array().is_standard_layout(), "W̄ comes out (out, in), not as a transposed view");
        assert!(x.linear_wt(&w.t().unwrap(), &b).is_err(), "an (in, out) weight is rejected");
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
