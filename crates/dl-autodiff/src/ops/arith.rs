//! Broadcasting arithmetic. For `y = a ∘ b` with broadcasting, the partial derivatives are
//! elementwise, and each input's VJP is the elementwise product summed back to the input's
//! shape ([`Var::sum_to`]):
//!
//! | op | VJP to `a` | VJP to `b` | JVP |
//! | --- | --- | --- | --- |
//! | `a + b` | `sum_to(u)` | `sum_to(u)` | `ta + tb` |
//! | `a - b` | `sum_to(u)` | `-sum_to(u)` | `ta - tb` |
//! | `a * b` | `sum_to(u b)` | `sum_to(u a)` | `ta b + a tb` |
//! | `a / b` | `sum_to(u / b)` | `-sum_to(u y / b)` | `(ta - y tb) / b` |

use dl_tensor::{Element, Tensor};

use crate::error::Result;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// `a + b` (broadcasting).
pub struct Add;
/// `a - b` (broadcasting).
pub struct Sub;
/// `a * b` (broadcasting).
pub struct Mul;
/// `a / b` (broadcasting).
pub struct Div;
/// `-x`.
pub struct Neg;
/// `x + c` for a constant scalar `c`.
pub struct AddScalar<T>(pub T);
/// `c x` for a constant scalar `c`.
pub struct MulScalar<T>(pub T);

fn broadcast<T: Element>(t: &Tensor<T>, shape: &[usize]) -> Result<Tensor<T>> {
    Ok(if t.shape() == shape { t.clone() } else { t.broadcast_to(shape)? })
}

impl<T: Element> Primitive<T> for Add {
    fn name(&self) -> &'static str {
        "add"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].add(x[1])?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let ga = if ctx.needs(0) { Some(u.sum_to(ctx.value(0).shape())?) } else { None };
        let gb = if ctx.needs(1) { Some(u.sum_to(ctx.value(1).shape())?) } else { None };
        Ok(vec![ga, gb])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let shape = ctx.output.shape();
        Ok(match (t[0], t[1]) {
            (Some(a), Some(b)) => a.add(b)?,
            (Some(a), None) => broadcast(a, shape)?,
            (None, Some(b)) => broadcast(b, shape)?,
            (None, None) => Tensor::zeros(shape),
        })
    }
}

impl<T: Element> Primitive<T> for Sub {
    fn name(&self) -> &'static str {
        "sub"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].sub(x[1])?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let ga = if ctx.needs(0) { Some(u.sum_to(ctx.value(0).shape())?) } else { None };
        let gb = if ctx.needs(1) { Some(u.sum_to(ctx.value(1).shape())?.neg()?) } else { None };
        Ok(vec![ga, gb])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let shape = ctx.output.shape();
        Ok(match (t[0], t[1]) {
            (Some(a), Some(b)) => a.sub(b)?,
            (Some(a), None) => broadcast(a, shape)?,
            (None, Some(b)) => broadcast(&b.neg(), shape)?,
            (None, None) => Tensor::zeros(shape),
        })
    }
}

impl<T: Element> Primitive<T> for Mul {
    fn name(&self) -> &'static str {
        "mul"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].mul(x[1])?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let ga = if ctx.needs(0) { Some(u.mul(b)?.sum_to(a.shape())?) } else { None };
        let gb = if ctx.needs(1) { Some(u.mul(a)?.sum_to(b.shape())?) } else { None };
        Ok(vec![ga, gb])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (a, b) = (ctx.inputs[0], ctx.inputs[1]);
        let shape = ctx.output.shape();
        Ok(match (t[0], t[1]) {
            (Some(ta), Some(tb)) => ta.mul(b)?.add(&a.mul(tb)?)?,
            (Some(ta), None) => broadcast(&ta.mul(b)?, shape)?,
            (None, Some(tb)) => broadcast(&a.mul(tb)?, shape)?,
            (None, None) => Tensor::zeros(shape),
        })
    }
}

impl<T: Element> Primitive<T> for Div {
    fn name(&self) -> &'static str {
        "div"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].div(x[1])?)
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let (a, b, y) = (ctx.input(0), ctx.input(1), ctx.output);
        let u_over_b = u.div(b)?;
        let ga = if ctx.needs(0) { Some(u_over_b.sum_to(a.shape())?) } else { None };
        let gb = if ctx.needs(1) { Some(u_over_b.mul(y)?.sum_to(b.shape())?.neg()?) } else { None };
        Ok(vec![ga, gb])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let (b, y) = (ctx.inputs[1], ctx.output);
        let shape = y.shape();
        let num = match (t[0], t[1]) {
            (Some(ta), Some(tb)) => ta.sub(&y.mul(tb)?)?,
            (Some(ta), None) => ta.clone(),
            (None, Some(tb)) => y.mul(tb)?.neg(),
            (None, None) => return Ok(Tensor::zeros(shape)),
        };
        broadcast(&num.div(b)?, shape)
    }
}

impl<T: Element> Primitive<T> for Neg {
    fn name(&self) -> &'static str {
        "neg"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].neg())
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(u.neg()?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(t[0].map_or_else(|| Tensor::zeros(ctx.output.shape()), |t| t.neg()))
    }
}

impl<T: Element> Primitive<T> for AddScalar<T> {
    fn name(&self) -> &'static str {
        "add_scalar"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].add_scalar(self.0))
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(u.clone())])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(t[0].cloned().unwrap_or_else(|| Tensor::zeros(ctx.output.shape())))
    }
}

impl<T: Element> Primitive<T> for MulScalar<T> {
    fn name(&self) -> &'static str {
        "mul_scalar"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].mul_scalar(self.0))
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(u.mul_scalar(self.0)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(t[0].map_or_else(|| Tensor::zeros(ctx.output.shape()), |t| t.mul_scalar(self.0)))
    }
}

impl<T: Element> Var<T> {
    /// `self + other` with broadcasting.
    pub fn add(&self, other: &Var<T>) -> Result<Var<T>> {
        Var::apply(Add, &[self, other])
    }
    /// `self - other` with broadcasting.
    pub fn sub(&self, other: &Var<T>) -> Result<Var<T>> {
        Var::apply(Sub, &[self, other])
    }
    /// `self * other` (elementwise) with broadcasting.
    pub fn mul(&self, other: &Var<T>) -> Result<Var<T>> {
        Var::apply(Mul, &[self, other])
    }
    /// `self / other` (elementwise) with broadcasting.
    pub fn div(&self, other: &Var<T>) -> Result<Var<T>> {
        Var::apply(Div, &[self, other])
    }
    /// `-self`.
    pub fn neg(&self) -> Result<Var<T>> {
        Var::apply(Neg, &[self])
    }
    /// `self + c`.
    pub fn add_scalar(&self, c: T) -> Result<Var<T>> {
        Var::apply(AddScalar(c), &[self])
    }
    /// `c * self`.
    pub fn mul_scalar(&self, c: T) -> Result<Var<T>> {
        Var::apply(MulScalar(c), &[self])
    }
    /// `self / c`.
    pub fn div_scalar(&self, c: T) -> Result<Var<T>> {
        Var::apply(MulScalar(T::one() / c), &[self])
    }
    /// `self * self`.
    pub fn square(&self) -> Result<Var<T>> {
        self.mul(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(v: &[f64], s: &[usize]) -> Var<f64> {
        Var::leaf(Tensor::from_vec(v.to_vec(), s).unwrap(), true)
    }

    #[test]
    fn broadcast_gradients_are_summed_to_the_input_shape() {
        // y = sum(a * b) with a (2,3), b (3,): dy/db_j = sum_i a_ij, dy/da_ij = b_j.
        let a = leaf(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let b = leaf(&[10., 20., 30.], &[3]);
        let g = a.mul(&b).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![5., 7., 9.]);
        assert_eq!(g.get(&a).unwrap().to_vec(), vec![10., 20., 30., 10., 20., 30.]);
    }

    #[test]
    fn fan_out_accumulates() {
        // y = x*x + x: dy/dx = 2x + 1.
        let x = leaf(&[3.0, -1.0], &[2]);
        let y = x.mul(&x).unwrap().add(&x).unwrap().sum_all().unwrap();
        assert_eq!(y.backward().unwrap().get(&x).unwrap().to_vec(), vec![7.0, -1.0]);
    }

    #[test]
    fn division_rule_against_the_closed_form() {
        // d(a/b)/db = -a/b^2
        let a = leaf(&[1.0, 4.0], &[2]);
        let b = leaf(&[2.0, -8.0], &[2]);
        let g = a.div(&b).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&b).unwrap().to_vec(), vec![-0.25, -4.0 / 64.0]);
        assert_eq!(g.get(&a).unwrap().to_vec(), vec![0.5, -0.125]);
    }
}
