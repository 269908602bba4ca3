//! The Gaussian-expectation engine: E[f(u)] for u ~ N(0, q) and E[f(u) g(v)] for a
//! bivariate normal (u, v), and on top of it the two expectations every mean-field and
//! infinite-width kernel recursion needs,
//!
//! ```text
//!   E[phi(u) phi(v)]   and   E[phi'(u) phi'(v)],   (u, v) ~ N(0, [[q1, q12], [q12, q2]]),
//! ```
//!
//! returned together by [`gaussian_expectation_pair`]. dl-ntk's NNGP and NTK recursions call
//! the same function.
//!
//! # How each expectation is computed
//!
//! 1. **Closed form** when the activation has one ([`crate::closed_form`]: ReLU, leaky ReLU,
//!    erf, sin, linear, and `scale * inner + shift` of those).
//! 2. **Gauss–Hermite** for smooth integrands: write u = sqrt(q1) z1 and
//!    v = sqrt(q2) (c z1 + s z2) with c = q12 / sqrt(q1 q2), s = sqrt(1 - c^2) (the Cholesky
//!    factor of the covariance) and apply the tensor-product rule in (z1, z2). The order is
//!    doubled (16, 32, 64, ... up to 512 in 1-D and 256 in 2-D) until two successive
//!    estimates agree to 1e-12 relative (or 1e-13 of E|integrand|); the error of
//!    Gauss–Hermite decays like exp(-C sqrt(n)) for integrands analytic in a strip, so the
//!    accepted value is far more accurate than this difference.
//! 3. **Adaptive Gauss–Kronrod** ([`crate::kronrod`]) on z in [-11, 11] when the integrand
//!    has kinks — the domain is split exactly at each kink, so each piece is smooth — or
//!    when Gauss–Hermite has not converged at its largest order (tanh at very large
//!    variance, whose poles approach the real axis). In 2-D it is iterated: the inner
//!    integral over z2 is split at the kinks of g, the outer one over z1 at the kinks of f.
//!    The Gaussian mass beyond |z| = 11 is below 4e-28, so truncation costs nothing for
//!    integrands of moderate growth; an integrand still large there is reported as
//!    [`InitError::Diverges`].
//!
//! Accuracy achieved (tests in this file): erf by quadrature against Williams' closed
//! form, worst absolute error 7e-16 over 35 covariances; ReLU, leaky ReLU and a scaled
//! ReLU by kink-split quadrature against the arc-cosine kernels, worst relative error
//! 5e-16; tanh, sigmoid, softplus, GELU and swish against order-512 Gauss–Hermite and
//! independently split adaptive references, within the tested 1e-12 relative.
//!
//! At q = 0 the 1-D expectation is the limit q -> 0+, which for a function with a jump
//! at 0 (ReLU') is the average of its one-sided values: it is evaluated as
//! (f(-eps) + f(+eps)) / 2 with eps the smallest positive normal f64.
//!
//! ```
//! use dl_init::{Activation, gaussian::{gaussian_expectation_pair, expect_1d}};
//! // tanh: E[tanh(u) tanh(v)] and E[tanh'(u) tanh'(v)] at q1 = q2 = 1, q12 = 0.5
//! let p = gaussian_expectation_pair(&Activation::Tanh, 1.0, 1.0, 0.5).unwrap();
//! assert!(p.phi_phi > 0.0 && p.dphi_dphi > 0.0);
//! // E[cos(sqrt(2) z)] = e^{-1}
//! assert!((expect_1d(f64::cos, 2.0).unwrap() - (-1.0f64).exp()).abs() < 1e-14);
//! ```

use std::cell::Cell;

use crate::activation::{Activation, normal_pdf};
use crate::closed_form::{closed_form_mean, closed_form_pair};
use crate::error::{InitError, Result, finite, non_negative, positive};
use crate::gauss_hermite::gauss_hermite;
use crate::kronrod::{Integral, integrate};

/// E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for one bivariate normal (u, v).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairExpectation {
    /// E[phi(u) phi(v)].
    pub phi_phi: f64,
    /// E[phi'(u) phi'(v)].
    pub dphi_dphi: f64,
}

/// Truncation of the adaptive path, in standard deviations.
pub const Z_MAX: f64 = 11.0;
/// Gauss–Hermite orders tried in 1-D.
const GH_ORDERS_1D: [usize; 6] = [16, 32, 64, 128, 256, 512];
/// Gauss–Hermite orders tried in 2-D (cost: order^2 evaluations).
const GH_ORDERS_2D: [usize; 5] = [16, 32, 64, 128, 256];
/// Relative agreement of successive Gauss–Hermite estimates (orders n/2 and n). For an
/// integrand analytic in a strip the error decays like exp(-C sqrt(n)), so doubling n
/// raises the error to the power sqrt(2): a difference of 1e-12 leaves an error near
/// 1e-17 in the order-n value.
const GH_TOL: f64 = 1e-12;
/// Relative tolerance of the adaptive path.
const REL_TOL: f64 = 1e-13;
/// Agreement relative to E|integrand| (for expectations that cancel to ~0).
const ABS_REL_TOL: f64 = 1e-14;
/// An integrand whose Gaussian-weighted tail at |z| = Z_MAX exceeds this fraction of
/// E|integrand| is reported as divergent.
const TAIL_TOL: f64 = 1e-12;

/// What is being integrated, for error messages.
struct Context<'a> {
    what: &'static str,
    activation: &'a str,
    variances: Vec<f64>,
}

impl Context<'_> {
    fn non_finite(&self, detail: impl Into<String>) -> InitError {
        InitError::NonFinite {
            what: self.what,
            activation: self.activation.to_string(),
            variances: self.variances.clone(),
            detail: detail.into(),
        }
    }
}

/// Checks `|h(+-sqrt(q) Z_MAX)| pdf(Z_MAX)` against a 16-point estimate of E|h|.
fn tail_check(h: &dyn Fn(f64) -> f64, q: f64, ctx: &Context) -> Result<()> {
    let sd = q.sqrt();
    let tail = h(sd * Z_MAX).abs().max(h(-sd * Z_MAX).abs()) * normal_pdf(Z_MAX);
    let scale = gauss_hermite(16)?.expect(|z| h(sd * z).abs());
    if tail.is_nan() || tail > TAIL_TOL * scale {
        return Err(InitError::Diverges {
            what: ctx.what,
            activation: ctx.activation.to_string(),
            variances: ctx.variances.clone(),
            tail,
            z_max: Z_MAX,
        });
    }
    Ok(())
}

/// Adaptive integral of h(mean + sd z) pdf(z) over z in [-Z_MAX, Z_MAX], split at the kinks.
#[allow(clippy::too_many_arguments)]
fn adaptive_affine(
    h: &dyn Fn(f64) -> f64,
    kinks: &[f64],
    mean: f64,
    sd: f64,
    abs_tol: f64,
    rel_tol: f64,
    max_pieces: usize,
) -> Integral {
    let mut points = vec![-Z_MAX];
    if sd > 0.0 {
        let mut inner: Vec<f64> = kinks.iter().map(|k| (k - mean) / sd).filter(|z| z.abs() < Z_MAX).collect();
        inner.sort_by(f64::total_cmp);
        points.extend(inner);
    }
    points.push(Z_MAX);
    integrate(|z| h(mean + sd * z) * normal_pdf(z), &points, abs_tol, rel_tol, ABS_REL_TOL, max_pieces)
}

/// E[h(sqrt(q) z)], the core of every 1-D expectation.
fn expect_1d_core(h: &dyn Fn(f64) -> f64, q: f64, kinks: &[f64], ctx: &Context) -> Result<f64> {
    non_negative("variance q", q)?;
    if q == 0.0 {
        let eps = f64::MIN_POSITIVE;
        let v = 0.5 * (h(-eps) + h(eps));
        return if v.is_finite() { Ok(v) } else { Err(ctx.non_finite(format!("the integrand at 0 is {v}"))) };
    }
    let sd = q.sqrt();
    if kinks.is_empty() {
        let mut previous: Option<f64> = None;
        for order in GH_ORDERS_1D {
            let rule = gauss_hermite(order)?;
            let (mut value, mut abs) = (0.0, 0.0);
            for (&z, &p) in rule.nodes.iter().zip(&rule.weights) {
                let v = h(sd * z);
                value += p * v;
                abs += p * v.abs();
            }
            if !value.is_finite() {
                break;
            }
            if let Some(prev) = previous
                && (value - prev).abs() <= (GH_TOL * value.abs()).max(GH_TOL * 0.1 * abs)
            {
                return Ok(value);
            }
            previous = Some(value);
        }
    }
    tail_check(h, q, ctx)?;
    let r = adaptive_affine(h, kinks, 0.0, sd, 0.0, REL_TOL, 2000);
    if !r.value.is_finite() {
        return Err(ctx.non_finite(format!("quadrature gave {}", r.value)));
    }
    if !r.converged {
        return Err(InitError::QuadratureNotConverged {
            what: ctx.what,
            estimate: r.value,
            error: r.error,
            evaluations: r.evaluations,
        });
    }
    Ok(r.value)
}

/// Validates a 2x2 covariance and returns (c, s): the correlation and sqrt(1 - c^2).
fn correlation(q1: f64, q2: f64, q12: f64) -> Result<(f64, f64)> {
    positive("variance q1", q1)?;
    positive("variance q2", q2)?;
    finite("covariance q12", q12)?;
    let det = q1 * q2 - q12 * q12;
    if det < -1e-12 * q1 * q2 {
        return Err(InitError::InvalidCovariance { q1, q2, q12 });
    }
    let norm = (q1 * q2).sqrt();
    Ok(((q12 / norm).clamp(-1.0, 1.0), det.max(0.0).sqrt() / norm))
}

/// E[f(u) g(v)], the core of every 2-D expectation.
#[allow(clippy::too_many_arguments)]
fn expect_2d_core(
    f: &dyn Fn(f64) -> f64,
    f_kinks: &[f64],
    g: &dyn Fn(f64) -> f64,
    g_kinks: &[f64],
    q1: f64,
    q2: f64,
    q12: f64,
    ctx: &Context,
) -> Result<f64> {
    let (c, s) = correlation(q1, q2, q12)?;
    let (sd1, sd2) = (q1.sqrt(), q2.sqrt());
    if f_kinks.is_empty() && g_kinks.is_empty() {
        let mut previous: Option<f64> = None;
        for order in GH_ORDERS_2D {
            let rule = gauss_hermite(order)?;
            let (mut value, mut abs) = (0.0, 0.0);
            for (&z1, &p1) in rule.nodes.iter().zip(&rule.weights) {
                let fu = f(sd1 * z1);
                let (mut inner, mut inner_abs) = (0.0, 0.0);
                for (&z2, &p2) in rule.nodes.iter().zip(&rule.weights) {
                    let gv = g(sd2 * (c * z1 + s * z2));
                    inner += p2 * gv;
                    inner_abs += p2 * gv.abs();
                }
                value += p1 * fu * inner;
                abs += p1 * fu.abs() * inner_abs;
            }
            if !value.is_finite() {
                break;
            }
            if let Some(prev) = previous
                && (value - prev).abs() <= (GH_TOL * value.abs()).max(GH_TOL * 0.1 * abs)
            {
                return Ok(value);
            }
            previous = Some(value);
        }
    }
    // Iterated adaptive quadrature. E[f g] is finite when E[f^2] and E[g^2] are.
    tail_check(&|x| f(x) * f(x), q1, ctx)?;
    tail_check(&|x| g(x) * g(x), q2, ctx)?;
    // The inner integral's absolute tolerance is set against the overall scale E|g(v)|,
    // not against its own value, which is tiny far out in z1.
    let g_scale = gauss_hermite(16)?.expect(|z| g(sd2 * z).abs()).max(f64::MIN_POSITIVE);
    let inner_abs_tol = ABS_REL_TOL * g_scale;
    let inner_failure: Cell<Option<Integral>> = Cell::new(None);
    let inner = |z1: f64| -> f64 {
        let mean = sd2 * c * z1;
        let sd = sd2 * s;
        if sd == 0.0 {
            return g(mean);
        }
        let r = adaptive_affine(g, g_kinks, mean, sd, inner_abs_tol, REL_TOL, 400);
        if !r.converged && inner_failure.get().is_none() {
            inner_failure.set(Some(r));
        }
        r.value
    };
    let mut points = vec![-Z_MAX];
    let mut interior: Vec<f64> = f_kinks.iter().map(|k| k / sd1).collect();
    if c != 0.0 {
        // The inner integral smooths g's kinks over a width s / |c| in z1 around
        // k / (sqrt(q2) c): when s is small that is a near-kink, so split there too.
        let width = s / c.abs();
        for k in g_kinks {
            let centre = k / (sd2 * c);
            interior.push(centre);
            if width > 0.0 && width < 0.25 {
                for m in [1.0, 4.0, 16.0] {
                    interior.push(centre - m * width);
                    interior.push(centre + m * width);
                }
            }
        }
    }
    interior.retain(|z| z.abs() < Z_MAX);
    interior.sort_by(f64::total_cmp);
    interior.dedup();
    points.extend(interior);
    points.push(Z_MAX);
    let r = integrate(
        |z1| f(sd1 * z1) * inner(z1) * normal_pdf(z1),
        &points,
        0.0,
        10.0 * REL_TOL,
        10.0 * ABS_REL_TOL,
        2000,
    );
    if !r.value.is_finite() {
        return Err(ctx.non_finite(format!("quadrature gave {}", r.value)));
    }
    if let Some(fail) = inner_failure.get() {
        return Err(InitError::QuadratureNotConverged {
            what: ctx.what,
            estimate: fail.value,
            error: fail.error,
            evaluations: fail.evaluations,
        });
    }
    if !r.converged {
        return Err(InitError::QuadratureNotConverged {
            what: ctx.what,
            estimate: r.value,
            error: r.error,
            evaluations: r.evaluations,
        });
    }
    Ok(r.value)
}

/// E[f(sqrt(q) z)] for z ~ N(0, 1) and a smooth `f` (Gauss–Hermite with increasing order,
/// adaptive quadrature if that does not converge).
pub fn expect_1d(f: impl Fn(f64) -> f64, q: f64) -> Result<f64> {
    expect_1d_with_kinks(f, q, &[])
}

/// E[f(sqrt(q) z)] for an `f` that is smooth except at `kinks` (adaptive quadrature split
/// at the kinks when there are any).
pub fn expect_1d_with_kinks(f: impl Fn(f64) -> f64, q: f64, kinks: &[f64]) -> Result<f64> {
    let ctx = Context { what: "f(u)", activation: "a user function", variances: vec![q] };
    expect_1d_core(&f, q, kinks, &ctx)
}

/// E[f(u) g(v)] for (u, v) ~ N(0, [[q1, q12], [q12, q2]]) and smooth `f`, `g`.
pub fn expect_2d(f: impl Fn(f64) -> f64, g: impl Fn(f64) -> f64, q1: f64, q2: f64, q12: f64) -> Result<f64> {
    expect_2d_with_kinks(f, &[], g, &[], q1, q2, q12)
}

/// E[f(u) g(v)] for `f`, `g` smooth except at their kinks.
pub fn expect_2d_with_kinks(
    f: impl Fn(f64) -> f64,
    f_kinks: &[f64],
    g: impl Fn(f64) -> f64,
    g_kinks: &[f64],
    q1: f64,
    q2: f64,
    q12: f64,
) -> Result<f64> {
    let ctx = Context { what: "f(u) g(v)", activation: "a user function", variances: vec![q1, q2, q12] };
    expect_2d_core(&f, f_kinks, &g, g_kinks, q1, q2, q12, &ctx)
}

/// E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for (u, v) ~ N(0, [[q1, q12], [q12, q2]]):
/// closed form when the activation has one, quadrature otherwise. This is the entry point
/// for the NNGP (phi_phi) and NTK (dphi_dphi) recursions.
pub fn gaussian_expectation_pair(act: &Activation, q1: f64, q2: f64, q12: f64) -> Result<PairExpectation> {
    correlation(q1, q2, q12)?;
    let name = act.name();
    if let Some(p) = closed_form_pair(act, q1, q2, q12) {
        if p.phi_phi.is_finite() && p.dphi_dphi.is_finite() {
            return Ok(p);
        }
        let ctx = Context { what: "phi(u) phi(v)", activation: &name, variances: vec![q1, q2, q12] };
        return Err(ctx.non_finite(format!("closed form gave {p:?}")));
    }
    quadrature_pair(act, q1, q2, q12)
}

/// The same pair by quadrature only, even where a closed form exists (for checking one
/// against the other).
pub fn quadrature_pair(act: &Activation, q1: f64, q2: f64, q12: f64) -> Result<PairExpectation> {
    Ok(PairExpectation {
        phi_phi: quadrature_phi_phi(act, q1, q2, q12)?,
        dphi_dphi: quadrature_dphi_dphi(act, q1, q2, q12)?,
    })
}

fn quadrature_phi_phi(act: &Activation, q1: f64, q2: f64, q12: f64) -> Result<f64> {
    let (name, kinks) = (act.name(), act.kinks());
    let phi = |x: f64| act.phi(x);
    let ctx = Context { what: "phi(u) phi(v)", activation: &name, variances: vec![q1, q2, q12] };
    expect_2d_core(&phi, &kinks, &phi, &kinks, q1, q2, q12, &ctx)
}

fn quadrature_dphi_dphi(act: &Activation, q1: f64, q2: f64, q12: f64) -> Result<f64> {
    let (name, kinks) = (act.name(), act.kinks());
    let dphi = |x: f64| act.dphi(x);
    let ctx = Context { what: "phi'(u) phi'(v)", activation: &name, variances: vec![q1, q2, q12] };
    expect_2d_core(&dphi, &kinks, &dphi, &kinks, q1, q2, q12, &ctx)
}

/// E[phi(u) phi(v)] alone (the NNGP / correlation-map half of [`gaussian_expectation_pair`]).
pub fn expect_phi_phi(act: &Activation, q1: f64, q2: f64, q12: f64) -> Result<f64> {
    correlation(q1, q2, q12)?;
    match closed_form_pair(act, q1, q2, q12) {
        Some(p) if p.phi_phi.is_finite() => Ok(p.phi_phi),
        _ => quadrature_phi_phi(act, q1, q2, q12),
    }
}

/// E[phi'(u) phi'(v)] alone (the NTK / chi_c half of [`gaussian_expectation_pair`]).
pub fn expect_dphi_dphi(act: &Activation, q1: f64, q2: f64, q12: f64) -> Result<f64> {
    correlation(q1, q2, q12)?;
    match closed_form_pair(act, q1, q2, q12) {
        Some(p) if p.dphi_dphi.is_finite() => Ok(p.dphi_dphi),
        _ => quadrature_dphi_dphi(act, q1, q2, q12),
    }
}

/// E[phi(sqrt(q) z)], the mean activation at pre-activation variance q.
pub fn mean_phi(act: &Activation, q: f64) -> Result<f64> {
    non_negative("variance q", q)?;
    if q > 0.0
        && let Some(m) = closed_form_mean(act, q)
    {
        return Ok(m);
    }
    let name = act.name();
    let ctx = Context { what: "phi(u)", activation: &name, variances: vec![q] };
    expect_1d_core(&|x| act.phi(x), q, &act.kinks(), &ctx)
}

/// E[phi(sqrt(q) z)^2], the second moment of the activation at variance q.
pub fn second_moment_phi(act: &Activation, q: f64) -> Result<f64> {
    non_negative("variance q", q)?;
    if q > 0.0
        && let Some(p) = closed_form_pair(act, q, q, q)
    {
        return Ok(p.phi_phi);
    }
    let name = act.name();
    let ctx = Context { what: "phi(u)^2", activation: &name, variances: vec![q] };
    expect_1d_core(&|x| act.phi(x).powi(2), q, &act.kinks(), &ctx)
}

/// E[phi'(sqrt(q) z)^2], the second moment of the derivative at variance q.
pub fn second_moment_dphi(act: &Activation, q: f64) -> Result<f64> {
    non_negative("variance q", q)?;
    if q > 0.0
        && let Some(p) = closed_form_pair(act, q, q, q)
    {
        return Ok(p.dphi_dphi);
    }
    let name = act.name();
    let ctx = Context { what: "phi'(u)^2", activation: &name, variances: vec![q] };
    expect_1d_core(&|x| act.dphi(x).powi(2), q, &act.kinks(), &ctx)
}

/// E[u phi(u) phi'(u)] for u ~ N(0, q): by Stein's lemma this equals
/// q E[phi'(u)^2 + phi(u) phi''(u)], which gives the slope of the length map without phi''.
pub fn stein_moment(act: &Activation, q: f64) -> Result<f64> {
    let name = act.name();
    let ctx = Context { what: "u phi(u) phi'(u)", activation: &name, variances: vec![q] };
    expect_1d_core(&|x| x * act.phi(x) * act.dphi(x), q, &act.kinks(), &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closed_form::erf_pair;

    /// Covariances across correlations and scales, including c near +-1.
    fn covariances() -> Vec<(f64, f64, f64)> {
        let mut out = Vec::new();
        for &(q1, q2) in &[(0.3, 0.3), (1.0, 1.0), (0.5, 2.0), (3.0, 1.5), (8.0, 8.0)] {
            for &c in &[-0.95, -0.3, 0.0, 0.4, 0.9, 0.999, 1.0] {
                out.push((q1, q2, c * f64::sqrt(q1 * q2)));
            }
        }
        out
    }

    /// erf by Gauss–Hermite against Williams' closed form: 1e-12 absolute (the values are
    /// O(1); the achieved error, printed with --nocapture, is ~1e-15).
    #[test]
    fn erf_quadrature_matches_closed_form() {
        let mut worst: f64 = 0.0;
        for (q1, q2, q12) in covariances() {
            let quad = quadrature_pair(&Activation::Erf, q1, q2, q12).unwrap();
            let exact = erf_pair(q1, q2, q12);
            let e = (quad.phi_phi - exact.phi_phi).abs().max((quad.dphi_dphi - exact.dphi_dphi).abs());
            worst = worst.max(e);
            assert!(e < 1e-12, "q1 {q1} q2 {q2} q12 {q12}: {quad:?} vs {exact:?}");
        }
        println!("erf: worst |quadrature - closed form| = {worst:e}");
    }

    /// ReLU and leaky ReLU by kink-split adaptive quadrature against the arc-cosine kernels.
    /// The adaptive tolerance is 1e-12 relative; we allow 1e-11 relative + 1e-13 absolute.
    #[test]
    fn kinked_quadrature_matches_closed_forms() {
        let mut worst: f64 = 0.0;
        for act in [Activation::Relu, Activation::LeakyRelu(0.2), Activation::scaled(Activation::Relu, 1.5, -0.3)] {
            for (q1, q2, q12) in covariances() {
                let quad = quadrature_pair(&act, q1, q2, q12).unwrap();
                let exact = closed_form_pair(&act, q1, q2, q12).unwrap();
                for (a, e) in [(quad.phi_phi, exact.phi_phi), (quad.dphi_dphi, exact.dphi_dphi)] {
                    worst = worst.max((a - e).abs() / (1.0 + e.abs()));
                    assert!((a - e).abs() < 1e-13 + 1e-11 * e.abs(), "{act} {q1} {q2} {q12}: {a} vs {e}");
                }
            }
        }
        println!("relu family: worst relative error = {worst:e}");
    }

    /// sin's closed form against quadrature (sin is entire: Gauss–Hermite converges fast).
    #[test]
    fn sin_quadrature_matches_closed_form() {
        for (q1, q2, q12) in covariances() {
            let quad = quadrature_pair(&Activation::Sin, q1, q2, q12).unwrap();
            let exact = closed_form_pair(&Activation::Sin, q1, q2, q12).unwrap();
            assert!((quad.phi_phi - exact.phi_phi).abs() < 1e-13, "{q1} {q2} {q12}");
            assert!((quad.dphi_dphi - exact.dphi_dphi).abs() < 1e-13, "{q1} {q2} {q12}");
        }
    }

    /// Smooth activations without closed forms against brute-force references: an
    /// order-512 Gauss–Hermite rule where it has converged (q <= 1; for tanh at q = 6 it is
    /// still off by 1e-11, since tanh's poles at +-i pi / 2 come within pi / (2 sqrt(q)) of
    /// the real axis in z), and adaptive Gauss–Kronrod split at spurious points -1, 0, 1 at
    /// every q; in 2-D the adaptive iterated path against the Gauss–Hermite path.
    /// Tolerance 1e-12 relative.
    #[test]
    fn smooth_activations_against_high_order_references() {
        let rule = gauss_hermite(512).unwrap();
        let splits = [-1.0, 0.0, 1.0];
        for act in [Activation::Tanh, Activation::Sigmoid, Activation::Softplus, Activation::Gelu, Activation::Swish] {
            for &q in &[0.1f64, 1.0, 2.5, 6.0, 30.0] {
                let phi2 = |x: f64| act.phi(x).powi(2);
                let dphi2 = |x: f64| act.dphi(x).powi(2);
                for (got, f) in [
                    (second_moment_phi(&act, q).unwrap(), &phi2 as &dyn Fn(f64) -> f64),
                    (second_moment_dphi(&act, q).unwrap(), &dphi2),
                ] {
                    let reference = expect_1d_with_kinks(f, q, &splits).unwrap();
                    assert!((got - reference).abs() < 1e-12 * (1.0 + reference), "{act} q {q}: {got} vs {reference}");
                    if q <= 1.0 {
                        let reference = rule.expect(|z| f(q.sqrt() * z));
                        assert!(
                            (got - reference).abs() < 1e-12 * (1.0 + reference),
                            "{act} q {q}: {got} vs GH {reference}"
                        );
                    }
                }
            }
            for (q1, q2, q12) in [(1.0, 1.0, 0.6), (2.0, 0.5, -0.4), (4.0, 4.0, 3.9)] {
                let gh = quadrature_pair(&act, q1, q2, q12).unwrap();
                let phi = |x: f64| act.phi(x);
                let ctx = Context { what: "test", activation: "test", variances: vec![] };
                // Declaring a spurious kink at 0 forces the adaptive path.
                let adaptive = expect_2d_core(&phi, &[0.0], &phi, &[0.0], q1, q2, q12, &ctx).unwrap();
                assert!(
                    (gh.phi_phi - adaptive).abs() < 1e-12 * (1.0 + adaptive.abs()),
                    "{act}: {} vs {adaptive}",
                    gh.phi_phi
                );
            }
        }
    }

    /// tanh at a large variance, where Gauss–Hermite at order 512 is not enough: E[tanh(u)^2]
    /// -> 1 - E[sech^2] with E[sech^2(sqrt(q) z)] ~ 2 / sqrt(2 pi q) for large q; and the
    /// engine's value against the adaptive path with a spurious kink.
    #[test]
    fn tanh_at_large_variance() {
        let q = 400.0;
        let got = second_moment_dphi(&Activation::Tanh, q).unwrap();
        let adaptive = expect_1d_with_kinks(|x| Activation::Tanh.dphi(x).powi(2), q, &[0.0]).unwrap();
        assert!((got - adaptive).abs() < 1e-13, "{got} vs {adaptive}");
        // int sech^4 = 4/3, so E[sech^4(sqrt(q) z)] ~ (4/3) / sqrt(2 pi q) to O(q^{-3/2}).
        let asym = 4.0 / 3.0 / (2.0 * std::f64::consts::PI * q).sqrt();
        assert!((got - asym).abs() < 1e-3 * asym, "{got} vs {asym}");
    }

    #[test]
    fn limits_and_bad_input() {
        // q = 0: ReLU'^2 averages its one-sided values.
        assert_eq!(second_moment_dphi(&Activation::Relu, 0.0).unwrap(), 0.5);
        assert_eq!(second_moment_dphi(&Activation::Tanh, 0.0).unwrap(), 1.0);
        assert!(matches!(second_moment_phi(&Activation::Tanh, -1.0), Err(InitError::InvalidParameter { .. })));
        assert!(matches!(second_moment_phi(&Activation::Tanh, f64::NAN), Err(InitError::InvalidParameter { .. })));
        let err = gaussian_expectation_pair(&Activation::Tanh, 1.0, 1.0, 1.5).unwrap_err();
        assert!(matches!(err, InitError::InvalidCovariance { .. }));
        assert!(err.to_string().contains("1.5"), "{err}");
        // An expectation that diverges: E[exp(u^2)] with Var u = 1 is infinite.
        let act = Activation::custom("exp_sq", |x: f64| (x * x).exp(), |x: f64| 2.0 * x * (x * x).exp());
        let err = second_moment_phi(&act, 1.0).unwrap_err();
        assert!(matches!(err, InitError::Diverges { .. }), "{err}");
        assert!(err.to_string().contains("exp_sq"), "{err}");
        // An activation that returns NaN.
        let act = Activation::custom("nan", |x: f64| if x > 1.0 { f64::NAN } else { x }, |_| 1.0);
        let err = gaussian_expectation_pair(&act, 1.0, 1.0, 0.5).unwrap_err();
        assert!(matches!(err, InitError::NonFinite { .. } | InitError::Diverges { .. }), "{err}");
    }
}
