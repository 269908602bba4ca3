//! Matrix product `Y = A B` for `A (..., m, k)`, `B (..., k, n)` with broadcast batch axes.
//!
//! From `dY = dA B + A dB`:
//!
//! - JVP: `tA B + A tB`;
//! - VJP: `Ā = sum_to(U Bᵀ)`, `B̄ = sum_to(Aᵀ U)`, the sums undoing the batch broadcast.
//!
//! `Var::t` is a strided view, so `U Bᵀ` and `Aᵀ U` go straight to GEMM on the transposed
//! layout without a copy; an input that needs no gradient (the data batch `x` of the first
//! layer) costs no product at all.

use dl_tensor::{Element, Tensor};

use crate::error::Result;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// `a @ b`.
pub struct MatMul;

impl<T: Element> Primitive<T> for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].matmul(x[1])?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let ga = if ctx.needs(0) { Some(u.matmul(&b.t()?)?.sum_to(a.shape())?) } else { None };
        let gb = if ctx.needs(1) { Some(a.t()?.matmul(u)?.sum_to(b.shape())?) } else { None };
        Ok(vec![ga, gb])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (a, b) = (ctx.inputs[0], ctx.inputs[1]);
        Ok(match (t[0], t[1]) {
            (Some(ta), Some(tb)) => ta.matmul(b)?.add(&a.matmul(tb)?)?,
            (Some(ta), None) => ta.matmul(b)?,
            (None, Some(tb)) => a.matmul(tb)?,
            (None, None) => Tensor::zeros(ctx.output.shape()),
        })
    }
}

impl<T: Element> Var<T> {
    /// Matrix product (NumPy `matmul` semantics, rank >= 2, broadcast batch axes).
    pub fn matmul(&self, other: &Var<T>) -> Result<Var<T>> {
        Var::apply(MatMul, &[self, other])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::{Tolerance, assert_close, seeded_rng};

    #[test]
    fn gradients_of_trace_products_match_closed_forms() {
        // f = sum(C ⊙ (A B)) = tr(Cᵀ A B): ∂f/∂A = C Bᵀ, ∂f/∂B = Aᵀ C.
        let mut rng = seeded_rng(3);
        let a = Tensor::<f64>::randn(&[4, 3], &mut rng);
        let b = Tensor::<f64>::randn(&[3, 5], &mut rng);
        let c = Tensor::<f64>::randn(&[4, 5], &mut rng);
        let (va, vb) = (Var::leaf(a.clone(), true), Var::leaf(b.clone(), true));
        let f = va.matmul(&vb).unwrap().mul(&Var::constant(c.clone())).unwrap().sum_all().unwrap();
        let g = f.backward().unwrap();
        // both sides are one GEMM of the same numbers, summed in possibly different orders
        let tol = Tolerance::new(1e-13, 1e-14);
        assert_close(g.get(&va).unwrap(), &c.matmul(&b.t().unwrap()).unwrap(), tol);
        assert_close(g.get(&vb).unwrap(), &a.t().unwrap().matmul(&c).unwrap(), tol);
    }
}
