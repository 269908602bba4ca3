//! The normalisation primitive with batch statistics, and its closed-form derivatives.
//!
//! [`Normalize`] acts on an `(a, s, b)` array (see [`crate::spec`]): with `m = a b` values
//! per statistic `j` and, optionally, a per-statistic scale `gamma_j` and shift `beta_j`,
//!
//! ```text
//! y_i = gamma_j x̂_i + beta_j,    x̂_i = (x_i - mu_j) r_j,    r_j = 1 / sqrt(var_j + eps)
//! ```
//!
//! with `mu`, `var` the batch mean and biased variance (RMS norm: `mu = 0`, `var` the mean
//! square). The per-statistic affine map is fused because it costs nothing in the closed
//! form: with `g_i = gamma_j u_i` for a cotangent `u`, the VJP is (derived in
//! `docs/normalisation.md`; Ioffe and Szegedy, 2015, section 3)
//!
//! ```text
//! x̄_i     = r_j ( g_i - mean_j(g) - x̂_i mean_j(g x̂) )      (RMS: without the mean_j(g) term)
//! gamma̅_j = sum_{i in j} u_i x̂_i,      beta̅_j = sum_{i in j} u_i
//! ```
//!
//! The Jacobian `dx̂/dx = r (I - 11ᵀ/m - x̂x̂ᵀ/m)` of each statistic's block is symmetric, so
//! the JVP is the same formula applied to the tangent, plus `t_gamma x̂ + t_beta`.
//!
//! The forward pass is three fused passes over the data (sum, centred sums, output) and the
//! backward two (the two reductions, the output), in [`crate::kernels`]. When the backward
//! pass is itself recorded (`create_graph`, for Hessian-vector products and
//! `gradgradcheck`), the VJP is instead built from differentiable [`Var`] operations with the
//! same formula, so it can be differentiated again.

use std::cell::RefCell;
use std::rc::Rc;

use dl_autodiff::{AutodiffError, JvpContext, Primitive, Result, Var, VjpContext, is_grad_enabled};
use dl_tensor::{Element, Tensor, TensorError, cst};

use crate::kernels::{Moments, cotangent_sums, moments, scale_shift, scale_shift2};
use crate::spec::View;

/// `y = gamma x̂ + beta` with batch statistics over axes 0 and 2 of an `(a, s, b)` input;
/// inputs `[x]` or, with `affine`, `[x, gamma (s), beta (s)]`.
pub struct Normalize<T: Element> {
    /// Subtract the mean (`false`: RMS-style, `x̂ = x / sqrt(mean(x²) + eps)`).
    pub centred: bool,
    /// `eps`, added to the variance before the square root (numerical stability).
    pub eps: f64,
    /// Whether the op takes `gamma` and `beta` (each of length `s`) as inputs 1 and 2.
    pub affine: bool,
    /// The statistics of the last forward pass (read by the VJP, and by the layer that
    /// keeps running statistics through [`Normalize::stats_handle`]).
    stats: Rc<RefCell<Option<Moments<T>>>>,
}

impl<T: Element> Clone for Normalize<T> {
    /// A fresh op with the same settings; it does not share the statistics of `self`.
    fn clone(&self) -> Self {
        Normalize::new(self.centred, self.eps, self.affine)
    }
}

impl<T: Element> Normalize<T> {
    /// The op with these settings and no statistics yet (they are filled by the forward pass).
    pub fn new(centred: bool, eps: f64, affine: bool) -> Self {
        Normalize { centred, eps, affine, stats: Rc::new(RefCell::new(None)) }
    }
    /// A handle on the batch statistics, filled by the forward pass.
    pub fn stats_handle(&self) -> Rc<RefCell<Option<Moments<T>>>> {
        Rc::clone(&self.stats)
    }
}

fn view_of(op: &'static str, shape: &[usize]) -> Result<View> {
    match *shape {
        [a, s, b] => Ok(View { a, s, b }),
        _ => Err(AutodiffError::InvalidArgument {
            op,
            detail: format!("the normalisation primitive takes an (a, s, b) input, got shape {shape:?}"),
        }),
    }
}

fn per_stat<T: Element>(op: &'static str, p: &Tensor<T>, view: View) -> Result<Vec<T>> {
    if p.shape() != [view.s] {
        let detail = format!("the scale and shift must have one value per statistic, shape [{}]", view.s);
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: vec![view.a, view.s, view.b],
            rhs: p.shape().to_vec(),
            dim: 1,
            detail,
        }
        .into());
    }
    Ok(p.to_vec())
}

/// The coefficients `(A, B, C)` of `v ↦ A v + B (x - mu) + C = gamma r (v - mean(v) - x̂ mean(v x̂))`
/// per statistic, and `(sum v, sum v x̂)`.
struct Closed<T> {
    a: Vec<T>,
    b: Vec<T>,
    c: Vec<T>,
    sum_v: Vec<T>,
    sum_v_xhat: Vec<T>,
}

fn closed_form<T: Element>(
    v: &[T],
    x: &[T],
    view: View,
    st: &Moments<T>,
    inv_std: &[T],
    gamma: Option<&[T]>,
    centred: bool,
) -> Closed<T> {
    let m: T = cst(view.count() as f64);
    let (sum_v, sum_v_dev) = cotangent_sums(v, x, view, &st.mean);
    let s = view.s;
    let sum_v_xhat: Vec<T> = (0..s).map(|j| sum_v_dev[j] * inv_std[j]).collect();
    let (mut a, mut b, mut c) = (vec![T::zero(); s], vec![T::zero(); s], vec![T::zero(); s]);
    for j in 0..s {
        a[j] = gamma.map_or(T::one(), |g| g[j]) * inv_std[j];
        // -A x̂ mean(v x̂) = B (x - mu) with B = -A r mean(v x̂)
        b[j] = -a[j] * inv_std[j] * sum_v_xhat[j] / m;
        c[j] = if centred { -a[j] * sum_v[j] / m } else { T::zero() };
    }
    Closed { a, b, c, sum_v, sum_v_xhat }
}

fn inv_std<T: Element>(st: &Moments<T>, eps: f64) -> Vec<T> {
    st.var.iter().map(|&v| T::one() / (v + cst(eps)).sqrt()).collect()
}

impl<T: Element> Normalize<T> {
    fn stats(&self) -> Result<Moments<T>> {
        let missing =
            || AutodiffError::InvalidArgument { op: "normalize", detail: "the VJP ran before the forward pass".into() };
        self.stats.borrow().clone().ok_or_else(missing)
    }

    /// The VJP built from differentiable ops (for a recorded backward pass).
    fn vjp_composed(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        let x = ctx.input(0);
        let s = x.shape()[1];
        let axes = [0isize, 2];
        let dev = if self.centred { x.sub(&x.mean_axes(&axes, true)?)? } else { x.clone() };
        let r = dev.square()?.mean_axes(&axes, true)?.add_scalar(cst(self.eps))?.powf(cst(-0.5))?;
        let xhat = dev.mul(&r)?;
        let g = if self.affine { u.mul(&ctx.input(1).reshape(&[1, s, 1])?)? } else { u.clone() };
        let mut grads = vec![None; if self.affine { 3 } else { 1 }];
        if ctx.needs(0) {
            let mut inner = g.sub(&xhat.mul(&g.mul(&xhat)?.mean_axes(&axes, true)?)?)?;
            if self.centred {
                inner = inner.sub(&g.mean_axes(&axes, true)?)?;
            }
            grads[0] = Some(r.mul(&inner)?);
        }
        if self.affine && ctx.needs(1) {
            grads[1] = Some(u.mul(&xhat)?.sum_axes(&axes, false)?);
        }
        if self.affine && ctx.needs(2) {
            grads[2] = Some(u.sum_axes(&axes, false)?);
        }
        Ok(grads)
    }
}

impl<T: Element> Primitive<T> for Normalize<T> {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>> {
        let expected = if self.affine { 3 } else { 1 };
        if inputs.len() != expected {
            return Err(AutodiffError::InvalidArgument {
                op: "normalize",
                detail: format!("expected {expected} inputs, got {}", inputs.len()),
            });
        }
        let x = inputs[0].contiguous();
        let view = view_of("normalize", x.shape())?;
        let xs = x.as_slice().expect("contiguous");
        let st = moments(xs, view, self.centred);
        let r = inv_std(&st, self.eps);
        // y = (gamma r) (x - mu) + beta
        let (gamma, beta) = if self.affine {
            (per_stat("normalize", inputs[1], view)?, per_stat("normalize", inputs[2], view)?)
        } else {
            (vec![T::one(); view.s], vec![T::zero(); view.s])
        };
        let p: Vec<T> = (0..view.s).map(|j| gamma[j] * r[j]).collect();
        let y = scale_shift(xs, view, &st.mean, &p, &beta);
        *self.stats.borrow_mut() = Some(st);
        Ok(Tensor::from_vec(y, x.shape())?)
    }

    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        if is_grad_enabled() {
            return self.vjp_composed(ctx, u);
        }
        let x = ctx.value(0).contiguous();
        let uc = u.value().contiguous();
        let view = view_of("normalize", x.shape())?;
        let (xs, us) = (x.as_slice().expect("contiguous"), uc.as_slice().expect("contiguous"));
        let st = self.stats()?;
        let r = inv_std(&st, self.eps);
        let gamma = if self.affine { Some(per_stat("normalize", ctx.value(1), view)?) } else { None };
        let cf = closed_form(us, xs, view, &st, &r, gamma.as_deref(), self.centred);
        let mut grads = vec![None; if self.affine { 3 } else { 1 }];
        if ctx.needs(0) {
            let dx = scale_shift2(us, xs, view, &st.mean, &cf.a, &cf.b, &cf.c);
            grads[0] = Some(Var::constant(Tensor::from_vec(dx, x.shape())?));
        }
        if self.affine && ctx.needs(1) {
            grads[1] = Some(Var::constant(Tensor::from_vec(cf.sum_v_xhat, &[view.s])?));
        }
        if self.affine && ctx.needs(2) {
            grads[2] = Some(Var::constant(Tensor::from_vec(cf.sum_v, &[view.s])?));
        }
        Ok(grads)
    }

    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        let x = ctx.inputs[0].contiguous();
        let view = view_of("normalize", x.shape())?;
        let xs = x.as_slice().expect("contiguous");
        let st = moments(xs, view, self.centred);
        let r = inv_std(&st, self.eps);
        let gamma = if self.affine { Some(per_stat("normalize", ctx.inputs[1], view)?) } else { None };
        // The tangent is t_y = A t_x + B (x - mu) + C: the x part is the symmetric Jacobian
        // applied to t_x; the affine part t_gamma x̂ + t_beta adds t_gamma r to B and t_beta to C.
        let tx = t[0].map(|tx| tx.contiguous());
        let (a, mut b, mut c) = match &tx {
            Some(tc) => {
                let cf =
                    closed_form(tc.as_slice().expect("contiguous"), xs, view, &st, &r, gamma.as_deref(), self.centred);
                (cf.a, cf.b, cf.c)
            }
            None => (vec![T::zero(); view.s], vec![T::zero(); view.s], vec![T::zero(); view.s]),
        };
        if let (true, Some(tg)) = (self.affine, t.get(1).copied().flatten()) {
            for ((bj, tgj), rj) in b.iter_mut().zip(per_stat("normalize", tg, view)?).zip(&r) {
                *bj += tgj * *rj;
            }
        }
        if let (true, Some(tb)) = (self.affine, t.get(2).copied().flatten()) {
            for (cj, tbj) in c.iter_mut().zip(per_stat("normalize", tb, view)?) {
                *cj += tbj;
            }
        }
        let y = match &tx {
            Some(tc) => scale_shift2(tc.as_slice().expect("contiguous"), xs, view, &st.mean, &a, &b, &c),
            None => scale_shift(xs, view, &st.mean, &b, &c),
        };
        Ok(Tensor::from_vec(y, x.shape())?)
    }
}
