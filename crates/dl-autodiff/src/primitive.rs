//! The [`Primitive`] trait: one differentiable operation with its three rules.
//!
//! For an op `y = f(x_1, ..., x_n)` with Jacobians `J_i = dy/dx_i`:
//!
//! - **forward** computes `y` from the input values;
//! - **VJP** (reverse rule) maps a cotangent `u` (shape of `y`) to `J_i^T u` for each input
//!   (shape of `x_i`). It is written with differentiable [`Var`] operations, so that when a
//!   backward pass is itself recorded (`create_graph`), the rule can be differentiated again;
//!   this is where Hessian-vector products come from;
//! - **JVP** (forward rule) maps tangents `t_i` (shapes of `x_i`, `None` meaning zero) to
//!   `sum_i J_i t_i` (shape of `y`), on plain tensors.
//!
//! The trait has no default for any rule, so a type that implements it has written all three:
//! an op without its derivatives cannot be built, and there is no "backward not supported"
//! error at run time. Downstream crates (a convolution with an im2col backward, a
//! closed-form batch-norm backward) implement this trait for their own ops and check them
//! with [`crate::gradcheck::gradcheck`].

use dl_tensor::{Element, Tensor};

use crate::error::Result;
use crate::var::Var;

/// What a VJP rule may read: the op's inputs and output as recorded variables, and which
/// inputs need a gradient (a rule may skip the work for the others and return `None`).
pub struct VjpContext<'a, T: Element> {
    /// The op's inputs as recorded variables, in call order.
    pub inputs: &'a [Var<T>],
    /// The op's output as a recorded variable.
    pub output: &'a Var<T>,
    /// `needs_grad[i]`: whether input `i` needs a gradient.
    pub needs_grad: &'a [bool],
}

impl<'a, T: Element> VjpContext<'a, T> {
    /// Input `i` as a variable (use this inside the rule, so it stays differentiable).
    pub fn input(&self, i: usize) -> &'a Var<T> {
        &self.inputs[i]
    }
    /// The value of input `i`.
    pub fn value(&self, i: usize) -> &'a Tensor<T> {
        self.inputs[i].value()
    }
    /// Whether input `i` needs a gradient.
    pub fn needs(&self, i: usize) -> bool {
        self.needs_grad[i]
    }
}

/// What a JVP rule may read: the input values and the output value.
pub struct JvpContext<'a, T: Element> {
    /// The op's input values, in call order.
    pub inputs: &'a [&'a Tensor<T>],
    /// The op's output value.
    pub output: &'a Tensor<T>,
}

/// A differentiable operation: forward, VJP and JVP together.
///
/// Implementing a new primitive (here `y = x^3`, elementwise):
///
/// ```
/// use dl_autodiff::{Primitive, VjpContext, JvpContext, Var, Result};
/// use dl_tensor::{Element, Tensor, cst};
///
/// struct Cube;
/// impl<T: Element> Primitive<T> for Cube {
///     fn name(&self) -> &'static str { "cube" }
///     fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
///         Ok(x[0].map(|v| v * v * v))
///     }
///     // d/dx x^3 = 3 x^2, written with Var ops so it can be differentiated again.
///     fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
///         let x = ctx.input(0);
///         Ok(vec![Some(u.mul(&x.mul(x)?.mul_scalar(cst(3.0))?)?)])
///     }
///     fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
///         let x = ctx.inputs[0];
///         match t[0] {
///             Some(t) => Ok(t.mul(&x.square().mul_scalar(cst(3.0)))?),
///             None => Ok(Tensor::zeros(ctx.output.shape())),
///         }
///     }
/// }
///
/// let x = Var::leaf(Tensor::<f64>::from_vec(vec![2.0], &[1])?, true);
/// let y = Var::apply(Cube, &[&x])?.sum_all()?;
/// let g = y.backward()?;
/// assert_eq!(g.get(&x).unwrap().to_vec(), vec![12.0]);
/// // and the same harness that checks the built-in ops checks it:
/// let report = dl_autodiff::gradcheck::gradcheck(
///     |xs: &[Var<f64>]| Var::apply(Cube, &[&xs[0]]),
///     &[Tensor::from_vec(vec![0.3, -1.2, 0.7], &[3])?],
///     &Default::default(),
/// )?;
/// assert!(report.passed(), "{report}");
/// # Ok::<(), dl_autodiff::AutodiffError>(())
/// ```
pub trait Primitive<T: Element>: 'static {
    /// A short name for messages and reports.
    fn name(&self) -> &'static str;
    /// The output value from the input values.
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>>;
    /// `J_i^T u` for every input `i` (`None` where `ctx.needs(i)` is false, or for a
    /// non-differentiable input such as an index), written with [`Var`] ops.
    fn vjp(&self, ctx: &VjpContext<'_, T>, cotangent: &Var<T>) -> Result<Vec<Option<Var<T>>>>;
    /// `sum_i J_i t_i`, where a `None` tangent is zero.
    fn jvp(&self, ctx: &JvpContext<'_, T>, tangents: &[Option<&Tensor<T>>]) -> Result<Tensor<T>>;
}
