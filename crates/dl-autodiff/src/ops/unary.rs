//! Elementwise functions and activations `y = f(x)`.
//!
//! An elementwise function has a diagonal Jacobian, `diag(f'(x))`, so both rules are a
//! multiplication by the derivative: VJP `u ↦ u ⊙ f'(x)`, JVP `t ↦ t ⊙ f'(x)`. Each
//! function therefore states exactly two things, side by side in one `match` each:
//! its value ([`Unary::eval`]) and its derivative ([`Unary::derivative`]), the latter written
//! with differentiable `Var` ops (often in terms of the output `y`, which is already there).
//! Adding a variant without both arms does not compile.
//!
//! | f | f'(x) |
//! | --- | --- |
//! | exp | y |
//! | log | 1/x |
//! | sqrt | 1/(2y) |
//! | x^p | p x^(p-1) |
//! | sin, cos | cos x, -sin x |
//! | tanh | 1 - y^2 |
//! | sigmoid | y (1 - y) |
//! | erf | 2/√π e^(-x²) |
//! | softplus = log(1+e^x) | sigmoid(x) |
//! | relu | 1 if x>0 else 0 (the subgradient 0 at 0) |
//! | leaky_relu(s) | 1 if x>0 else s |
//! | elu(α) = x if x>0 else α(e^x-1) | 1 if x>0 else y+α |
//! | gelu = x Φ(x) (exact, erf form) | Φ(x) + x φ(x) |
//! | abs | sign x |
//!
//! The piecewise derivatives (relu, leaky relu, abs, the branch of elu) use a constant mask:
//! their second derivative is zero away from the kink, which is what backward-over-backward
//! then computes. For relu and leaky relu, the product `u ⊙ f'(x)` is itself one primitive,
//! [`StepScale`], which forms it in a single pass without materialising the mask.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use dl_tensor::{Element, Tensor, cst};

use crate::error::Result;
use crate::primitive::{JvpContext, Primitive, VjpContext};
use crate::var::Var;

/// An elementwise function (parameters are stored as f64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    /// `e^x`; `f'(x) = y`.
    Exp,
    /// The natural logarithm `log x` (for `x > 0`); `f'(x) = 1/x`.
    Log,
    /// `√x` (for `x ≥ 0`); `f'(x) = 1/(2y)`.
    Sqrt,
    /// `x^p` for the real exponent `p`; `f'(x) = p x^(p-1)`.
    PowF(f64),
    /// `sin x`; `f'(x) = cos x`.
    Sin,
    /// `cos x`; `f'(x) = -sin x`.
    Cos,
    /// `tanh x`; `f'(x) = 1 - y²`.
    Tanh,
    /// The logistic sigmoid `1/(1 + e^(-x))`; `f'(x) = y (1 - y)`.
    Sigmoid,
    /// The error function `erf x = 2/√π ∫₀ˣ e^(-s²) ds`; `f'(x) = 2/√π e^(-x²)`.
    Erf,
    /// `log(1 + e^x)`, a smooth relu; `f'(x) = sigmoid(x)`.
    Softplus,
    /// `max(x, 0)`; `f'(x) = 1` for `x > 0`, else 0 (the subgradient 0 at the kink).
    Relu,
    /// `x` for `x > 0`, else `s x` with the negative-side slope `s`; `f'(x) = 1` or `s`.
    LeakyRelu(f64),
    /// `x` for `x > 0`, else `α (e^x - 1)` with the scale `α`; `f'(x) = 1` or `y + α`.
    Elu(f64),
    /// The exact (erf-form) GELU `x Φ(x)`, with `Φ` the standard normal CDF;
    /// `f'(x) = Φ(x) + x φ(x)`.
    Gelu,
    /// `|x|`; `f'(x) = sign x` (0 at 0).
    Abs,
}

fn mask<T: Element>(x: &Tensor<T>, pos: f64, neg: f64) -> Var<T> {
    let (p, n) = (cst::<T>(pos), cst::<T>(neg));
    Var::constant(x.map(move |v| if v > T::zero() { p } else { n }))
}

impl Unary {
    /// The function's name.
    pub fn name(&self) -> &'static str {
        match self {
            Unary::Exp => "exp",
            Unary::Log => "log",
            Unary::Sqrt => "sqrt",
            Unary::PowF(_) => "powf",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Tanh => "tanh",
            Unary::Sigmoid => "sigmoid",
            Unary::Erf => "erf",
            Unary::Softplus => "softplus",
            Unary::Relu => "relu",
            Unary::LeakyRelu(_) => "leaky_relu",
            Unary::Elu(_) => "elu",
            Unary::Gelu => "gelu",
            Unary::Abs => "abs",
        }
    }

    /// f(x).
    pub fn eval<T: Element>(&self, x: &Tensor<T>) -> Tensor<T> {
        match *self {
            Unary::Exp => x.exp(),
            Unary::Log => x.log(),
            Unary::Sqrt => x.sqrt(),
            Unary::PowF(p) => x.powf(cst(p)),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tanh => x.tanh(),
            Unary::Sigmoid => x.sigmoid(),
            Unary::Erf => x.erf(),
            Unary::Softplus => x.softplus(),
            Unary::Relu => x.relu(),
            Unary::LeakyRelu(s) => {
                let s = cst::<T>(s);
                x.map(move |v| if v > T::zero() { v } else { s * v })
            }
            Unary::Elu(a) => {
                let a = cst::<T>(a);
                x.map(move |v| if v > T::zero() { v } else { a * v.exp_m1() })
            }
            Unary::Gelu => {
                let (half, r) = (cst::<T>(0.5), cst::<T>(FRAC_1_SQRT_2));
                x.map(move |v| half * v * (T::one() + (v * r).erf()))
            }
            Unary::Abs => x.abs(),
        }
    }

    /// f'(x) as a differentiable variable, given `x` and `y = f(x)`.
    pub fn derivative<T: Element>(&self, x: &Var<T>, y: &Var<T>) -> Result<Var<T>> {
        let one = || Var::scalar(T::one());
        match *self {
            Unary::Exp => Ok(y.clone()),
            Unary::Log => one().div(x),
            Unary::Sqrt => Var::scalar(cst(0.5)).div(y),
            Unary::PowF(p) => x.powf(cst(p - 1.0))?.mul_scalar(cst(p)),
            Unary::Sin => x.cos(),
            Unary::Cos => x.sin()?.neg(),
            Unary::Tanh => one().sub(&y.square()?),
            Unary::Sigmoid => y.mul(&one().sub(y)?),
            Unary::Erf => x.square()?.neg()?.exp()?.mul_scalar(cst(2.0 / PI.sqrt())),
            Unary::Softplus => x.sigmoid(),
            Unary::Relu => Ok(mask(x.value(), 1.0, 0.0)),
            Unary::LeakyRelu(s) => Ok(mask(x.value(), 1.0, s)),
            Unary::Elu(a) => {
                let pos = mask(x.value(), 1.0, 0.0);
                let neg = mask(x.value(), 0.0, 1.0);
                y.add_scalar(cst(a))?.mul(&neg)?.add(&pos)
            }
            Unary::Gelu => {
                // Φ(x) = (1 + erf(x/√2))/2, φ(x) = e^(-x²/2)/√(2π)
                let cdf = x.mul_scalar(cst(FRAC_1_SQRT_2))?.erf()?.add_scalar(T::one())?.mul_scalar(cst(0.5))?;
                let pdf = x.square()?.mul_scalar(cst(-0.5))?.exp()?.mul_scalar(cst(1.0 / (2.0 * PI).sqrt()))?;
                cdf.add(&x.mul(&pdf)?)
            }
            Unary::Abs => Ok(Var::constant(x.value().signum())),
        }
    }
}

impl<T: Element> Primitive<T> for Unary {
    fn name(&self) -> &'static str {
        Unary::name(self)
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(self.eval(x[0]))
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let slope = match *self {
            Unary::Relu => Some(0.0),
            Unary::LeakyRelu(s) => Some(s),
            _ => None,
        };
        if let Some(slope) = slope {
            let op = StepScale { x: ctx.value(0).clone(), slope };
            return Ok(vec![Some(Var::apply(op, &[u])?)]);
        }
        let d = self.derivative(ctx.input(0), ctx.output)?;
        Ok(vec![Some(u.mul(&d)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let Some(t) = t[0] else { return Ok(Tensor::zeros(ctx.output.shape())) };
        let x = Var::constant(ctx.inputs[0].clone());
        let y = Var::constant(ctx.output.clone());
        Ok(t.mul(self.derivative(&x, &y)?.value())?)
    }
}

/// `u ⊙ s(x)` with `s(x) = 1` where `x > 0` and `slope` elsewhere, for a fixed `x`: the
/// VJP of relu (`slope = 0`) and leaky relu. It is linear in `u` with a diagonal, constant
/// Jacobian, so its VJP and JVP are itself.
pub struct StepScale<T: Element> {
    /// The fixed input of the relu (or leaky relu) whose sign pattern selects the scale;
    /// it must broadcast against the cotangent `u`.
    pub x: Tensor<T>,
    /// The scale `s` applied where `x ≤ 0` (0 for relu, the leaky slope otherwise).
    pub slope: f64,
}

impl<T: Element> StepScale<T> {
    fn scale(&self, u: &Tensor<T>) -> Result<Tensor<T>> {
        let s = cst::<T>(self.slope);
        Ok(dl_tensor::elementwise::zip_broadcast(
            "step_scale",
            u,
            &self.x,
            move |g, x| if x > T::zero() { g } else { s * g },
        )?)
    }
}

impl<T: Element> Primitive<T> for StepScale<T> {
    fn name(&self) -> &'static str {
        "step_scale"
    }
    fn forward(&self, u: &[&Tensor<T>]) -> Result<Tensor<T>> {
        self.scale(u[0])
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, g: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(Var::apply(StepScale { x: self.x.clone(), slope: self.slope }, &[g])?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        match t[0] {
            Some(t) => self.scale(t),
            None => Ok(Tensor::zeros(ctx.output.shape())),
        }
    }
}

impl<T: Element> Var<T> {
    /// Applies an elementwise function.
    pub fn unary(&self, f: Unary) -> Result<Var<T>> {
        Var::apply(f, &[self])
    }
    /// e^x.
    pub fn exp(&self) -> Result<Var<T>> {
        self.unary(Unary::Exp)
    }
    /// Natural logarithm.
    pub fn log(&self) -> Result<Var<T>> {
        self.unary(Unary::Log)
    }
    /// Square root.
    pub fn sqrt(&self) -> Result<Var<T>> {
        self.unary(Unary::Sqrt)
    }
    /// x^p for a constant exponent.
    pub fn powf(&self, p: T) -> Result<Var<T>> {
        self.unary(Unary::PowF(p.to_f64_exact()))
    }
    /// sin x.
    pub fn sin(&self) -> Result<Var<T>> {
        self.unary(Unary::Sin)
    }
    /// cos x.
    pub fn cos(&self) -> Result<Var<T>> {
        self.unary(Unary::Cos)
    }
    /// tanh x.
    pub fn tanh(&self) -> Result<Var<T>> {
        self.unary(Unary::Tanh)
    }
    /// 1 / (1 + e^-x), stable.
    pub fn sigmoid(&self) -> Result<Var<T>> {
        self.unary(Unary::Sigmoid)
    }
    /// The error function.
    pub fn erf(&self) -> Result<Var<T>> {
        self.unary(Unary::Erf)
    }
    /// log(1 + e^x), stable.
    pub fn softplus(&self) -> Result<Var<T>> {
        self.unary(Unary::Softplus)
    }
    /// max(x, 0).
    pub fn relu(&self) -> Result<Var<T>> {
        self.unary(Unary::Relu)
    }
    /// x if x > 0 else slope * x.
    pub fn leaky_relu(&self, slope: T) -> Result<Var<T>> {
        self.unary(Unary::LeakyRelu(slope.to_f64_exact()))
    }
    /// x if x > 0 else alpha (e^x - 1).
    pub fn elu(&self, alpha: T) -> Result<Var<T>> {
        self.unary(Unary::Elu(alpha.to_f64_exact()))
    }
    /// x Φ(x), the exact (erf) GELU.
    pub fn gelu(&self) -> Result<Var<T>> {
        self.unary(Unary::Gelu)
    }
    /// |x|.
    pub fn abs(&self) -> Result<Var<T>> {
        self.unary(Unary::Abs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each derivative against a hand-written closed form at a few points.
    #[test]
    fn derivatives_match_closed_forms() {
        let xs = [-1.3, -0.2, 0.4, 2.1];
        let x = Var::leaf(Tensor::<f64>::from_vec(xs.to_vec(), &[4]).unwrap(), true);
        let phi = |v: f64| (-v * v / 2.0).exp() / (2.0 * PI).sqrt();
        let cdf = |v: f64| 0.5 * (1.0 + libm_erf(v / 2f64.sqrt()));
        type Derivative = Box<dyn Fn(f64) -> f64>;
        let cases: Vec<(Unary, Derivative)> = vec![
            (Unary::Tanh, Box::new(|v: f64| 1.0 - v.tanh().powi(2))),
            (
                Unary::Sigmoid,
                Box::new(|v: f64| {
                    let s = 1.0 / (1.0 + (-v).exp());
                    s * (1.0 - s)
                }),
            ),
            (Unary::Gelu, Box::new(move |v: f64| cdf(v) + v * phi(v))),
            (Unary::Elu(1.5), Box::new(|v: f64| if v > 0.0 { 1.0 } else { 1.5 * v.exp() })),
            (Unary::LeakyRelu(0.1), Box::new(|v: f64| if v > 0.0 { 1.0 } else { 0.1 })),
            (Unary::Erf, Box::new(|v: f64| 2.0 / PI.sqrt() * (-v * v).exp())),
            (Unary::Sin, Box::new(|v: f64| v.cos())),
        ];
        for (f, d) in cases {
            let g = x.unary(f).unwrap().sum_all().unwrap().backward().unwrap();
            let got = g.get(&x).unwrap().to_vec();
            for (i, &v) in xs.iter().enumerate() {
                // closed forms agree with the rule to a few ulps
                assert!((got[i] - d(v)).abs() < 1e-14, "{}: at {v}: {} vs {}", f.name(), got[i], d(v));
            }
        }
    }

    fn libm_erf(v: f64) -> f64 {
        Tensor::<f64>::scalar(v).erf().item().unwrap()
    }
}
