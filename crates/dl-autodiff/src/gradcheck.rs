//! Gradient checking, like PyTorch's `gradcheck` and `gradgradcheck`: every derivative rule
//! is compared with central finite differences in f64.
//!
//! For `f` with inputs `x_1..x_m`, [`gradcheck`] computes
//!
//! 1. the **numerical Jacobian** by central differences, column `j` of input `i` being
//!    `(f(x + h_j e_j) - f(x - h_j e_j)) / (2 h_j)` with `h_j = step · max(1, |x_j|)`;
//! 2. the **reverse Jacobian**, row by row from VJPs with the unit cotangents (one recorded
//!    forward pass, `n_out` backward passes), and compares it with (1);
//! 3. the **forward Jacobian**, column by column from JVPs, and compares it with (1);
//! 4. the **dot-product identity** `⟨u, J v⟩ = ⟨Jᵀ u, v⟩` for random `u`, `v`, which ties the
//!    two analytic rules to each other without any step size.
//!
//! # Step and tolerance
//!
//! The central difference has truncation error `h² |f'''| / 6` and rounding error about
//! `ε |f| / h` (`ε = 2.2e-16`). The default `step = 1e-6` balances them near `1e-10` for
//! values and third derivatives of order 1. An element passes when
//! `|analytic - numeric| <= atol + rtol · |numeric|`, with defaults `rtol = 1e-5`,
//! `atol = 1e-6`: about 10⁴ times the expected error, so that functions with values up to
//! ~10³ pass, and still far below the O(1e-2..1) errors of a wrong rule (PyTorch's defaults
//! are `atol = 1e-5`, `rtol = 1e-3`). The dot-product identity holds up to rounding alone:
//! it passes when `|⟨u, Jv⟩ - ⟨Jᵀu, v⟩| <= dot_rtol · (Σ|u_k (Jv)_k| + Σ|(Jᵀu)_j v_j|)` with
//! `dot_rtol = 1e-10`.
//!
//! Checking a primitive of your own is one call: see [`check_primitive`] and the example on
//! the `Primitive` trait.

use std::fmt;

use dl_tensor::{Tensor, seeded_rng};

use crate::backward::{BackwardOptions, grad};
use crate::error::{AutodiffError, Result};
use crate::mode::{enable_grad, no_grad};
use crate::primitive::Primitive;
use crate::var::Var;

/// Step and tolerances of a gradient check (see the module docs for the defaults' reasons).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// Relative finite-difference step: `h_j = step · max(1, |x_j|)`.
    pub step: f64,
    /// Relative tolerance of the finite-difference comparison: |a − r| ≤ atol + rtol·|r|.
    pub rtol: f64,
    /// Absolute tolerance of the finite-difference comparison.
    pub atol: f64,
    /// Relative tolerance of the dot-product identity.
    pub dot_rtol: f64,
    /// Seed of the random `u`, `v` of the dot-product identity.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { step: 1e-6, rtol: 1e-5, atol: 1e-6, dot_rtol: 1e-10, seed: 0 }
    }
}

/// Which comparison an entry of a report comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Reverse-mode Jacobian vs finite differences.
    Vjp,
    /// Forward-mode Jacobian vs finite differences.
    Jvp,
    /// `⟨u, J v⟩` vs `⟨Jᵀ u, v⟩`.
    Dot,
}

/// One compared element.
#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    /// The comparison this element belongs to.
    pub check: Check,
    /// Which input (for `Dot`: 0).
    pub input: usize,
    /// Flat index into the input (for `Dot`: 0).
    pub input_index: usize,
    /// Flat index into the output (for `Dot`: 0).
    pub output_index: usize,
    /// The Jacobian entry from the VJP or JVP rule (for `Dot`: `⟨u, Jv⟩`).
    pub analytic: f64,
    /// The finite difference (for `Dot`: `⟨Jᵀu, v⟩`).
    pub reference: f64,
    /// `|analytic - reference|`.
    pub error: f64,
    /// `error / (allowed error)`: above 1 fails.
    pub ratio: f64,
}

/// The result of a gradient check: how many elements were compared, how many failed, and
/// the worst one of each kind.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    /// Number of comparisons made (Jacobian entries of each mode, plus the dot identity).
    pub compared: usize,
    /// Number of comparisons whose ratio exceeds 1 (or is NaN).
    pub failures: usize,
    /// The worst reverse-mode (VJP) entry, if VJPs were checked.
    pub worst_vjp: Option<Element>,
    /// The worst forward-mode (JVP) entry, if JVPs were checked.
    pub worst_jvp: Option<Element>,
    /// The dot-product identity check, if it was run.
    pub dot: Option<Element>,
    /// The step and tolerances the check used.
    pub options: GradcheckOptions,
}

impl GradcheckReport {
    /// True when every comparison was within tolerance.
    pub fn passed(&self) -> bool {
        self.failures == 0
    }
    /// The worst element over all checks.
    pub fn worst(&self) -> Option<&Element> {
        [&self.worst_vjp, &self.worst_jvp, &self.dot].into_iter().flatten().max_by(|a, b| a.ratio.total_cmp(&b.ratio))
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradcheck {}: {} of {} comparisons failed",
            if self.passed() { "passed" } else { "FAILED" },
            self.failures,
            self.compared
        )?;
        for e in [&self.worst_vjp, &self.worst_jvp, &self.dot].into_iter().flatten() {
            write!(
                f,
                "; worst {:?}: input {} element {} -> output {}: analytic {:e}, reference {:e}, error {:e} ({:.3}x tolerance)",
                e.check, e.input, e.input_index, e.output_index, e.analytic, e.reference, e.error, e.ratio
            )?;
        }
        Ok(())
    }
}

fn leaves(inputs: &[Tensor<f64>]) -> Vec<Var<f64>> {
    inputs.iter().map(|x| Var::leaf(x.clone(), true)).collect()
}

fn keep_worst(slot: &mut Option<Element>, e: Element) {
    if slot.as_ref().is_none_or(|w| e.ratio > w.ratio) {
        *slot = Some(e);
    }
}

/// Checks the VJP and JVP rules used by `f` at `inputs` (see the module docs).
///
/// `f` receives the inputs as leaves that require gradients (and, in the forward-mode phase,
/// carry tangents); it must be deterministic.
pub fn gradcheck<F>(f: F, inputs: &[Tensor<f64>], opts: &GradcheckOptions) -> Result<GradcheckReport>
where
    F: Fn(&[Var<f64>]) -> Result<Var<f64>>,
{
    enable_grad(|| gradcheck_impl(&f, inputs, opts))
}

fn gradcheck_impl<F>(f: &F, inputs: &[Tensor<f64>], opts: &GradcheckOptions) -> Result<GradcheckReport>
where
    F: Fn(&[Var<f64>]) -> Result<Var<f64>>,
{
    let eval = |xs: &[Tensor<f64>]| -> Result<Vec<f64>> { Ok(f(&leaves(xs))?.value().to_vec()) };
    let y0 = f(&leaves(inputs))?;
    let out_shape = y0.shape().to_vec();
    let n_out = y0.value().numel();
    drop(y0);
    let tol = |r: f64| opts.atol + opts.rtol * r.abs();
    let mut report =
        GradcheckReport { compared: 0, failures: 0, worst_vjp: None, worst_jvp: None, dot: None, options: *opts };

    // 1. numerical Jacobian, one (n_out x n_in) block per input
    let mut numeric: Vec<Vec<f64>> = Vec::with_capacity(inputs.len());
    for (i, x) in inputs.iter().enumerate() {
        let n_in = x.numel();
        let mut block = vec![0.0; n_out * n_in];
        let base = x.to_vec();
        for j in 0..n_in {
            let h = opts.step * base[j].abs().max(1.0);
            let mut shifted = inputs.to_vec();
            let mut plus = base.clone();
            plus[j] += h;
            shifted[i] = Tensor::from_vec(plus, x.shape())?;
            let fp = eval(&shifted)?;
            let mut minus = base.clone();
            minus[j] -= h;
            shifted[i] = Tensor::from_vec(minus, x.shape())?;
            let fm = eval(&shifted)?;
            for k in 0..n_out {
                block[k * n_in + j] = (fp[k] - fm[k]) / (2.0 * h);
            }
        }
        numeric.push(block);
    }

    let compare = |check: Check, i: usize, j: usize, k: usize, a: f64, r: f64, report: &mut GradcheckReport| {
        let err = (a - r).abs();
        let ratio = if err.is_finite() { err / tol(r) } else { f64::INFINITY };
        report.compared += 1;
        if ratio.is_nan() || ratio > 1.0 {
            report.failures += 1;
        }
        let e =
            Element { check, input: i, input_index: j, output_index: k, analytic: a, reference: r, error: err, ratio };
        match check {
            Check::Vjp => keep_worst(&mut report.worst_vjp, e),
            _ => keep_worst(&mut report.worst_jvp, e),
        }
    };

    // 2. reverse Jacobian, row by row over one recorded pass
    let xs = leaves(inputs);
    let y = f(&xs)?;
    let refs: Vec<&Var<f64>> = xs.iter().collect();
    for k in 0..n_out {
        let mut e = vec![0.0; n_out];
        e[k] = 1.0;
        let cot = Var::constant(Tensor::from_vec(e, &out_shape)?);
        let rows = if y.requires_grad() {
            grad(&y, Some(&cot), &refs, BackwardOptions::retain())?
        } else {
            vec![None; xs.len()]
        };
        for (i, row) in rows.iter().enumerate() {
            let n_in = inputs[i].numel();
            let row = row.as_ref().map(|r| r.value().to_vec()).unwrap_or_else(|| vec![0.0; n_in]);
            for j in 0..n_in {
                compare(Check::Vjp, i, j, k, row[j], numeric[i][k * n_in + j], &mut report);
            }
        }
    }
    drop(y);

    // 3. forward Jacobian, column by column
    for (i, x) in inputs.iter().enumerate() {
        let n_in = x.numel();
        for j in 0..n_in {
            let duals: Vec<Var<f64>> = inputs
                .iter()
                .enumerate()
                .map(|(m, xm)| {
                    let mut t = vec![0.0; xm.numel()];
                    if m == i {
                        t[j] = 1.0;
                    }
                    Var::dual_leaf(xm.clone(), Tensor::from_vec(t, xm.shape())?, true)
                })
                .collect::<Result<_>>()?;
            let y = f(&duals)?;
            let col = y.tangent().map(|t| t.to_vec()).unwrap_or_else(|| vec![0.0; n_out]);
            for k in 0..n_out {
                compare(Check::Jvp, i, j, k, col[k], numeric[i][k * n_in + j], &mut report);
            }
        }
    }

    // 4. dot-product identity with random u, v
    let mut rng = seeded_rng(opts.seed);
    let u = Tensor::<f64>::randn(&out_shape, &mut rng);
    let vs: Vec<Tensor<f64>> = inputs.iter().map(|x| Tensor::randn(x.shape(), &mut rng)).collect();
    let duals: Vec<Var<f64>> =
        inputs.iter().zip(&vs).map(|(x, v)| Var::dual_leaf(x.clone(), v.clone(), true)).collect::<Result<_>>()?;
    let y = f(&duals)?;
    let jv = y.tangent().map(|t| t.to_vec()).unwrap_or_else(|| vec![0.0; n_out]);
    let refs: Vec<&Var<f64>> = duals.iter().collect();
    let jtu = if y.requires_grad() {
        grad(&y, Some(&Var::constant(u.clone())), &refs, BackwardOptions::default())?
    } else {
        vec![None; duals.len()]
    };
    let (mut lhs, mut lhs_abs) = (0.0, 0.0);
    for (a, b) in u.to_vec().iter().zip(&jv) {
        lhs += a * b;
        lhs_abs += (a * b).abs();
    }
    let (mut rhs, mut rhs_abs) = (0.0, 0.0);
    for (g, v) in jtu.iter().zip(&vs) {
        let Some(g) = g else { continue };
        for (a, b) in g.value().to_vec().iter().zip(v.to_vec()) {
            rhs += a * b;
            rhs_abs += (a * b).abs();
        }
    }
    let err = (lhs - rhs).abs();
    let allowed = opts.dot_rtol * (lhs_abs + rhs_abs) + f64::MIN_POSITIVE;
    let ratio = if err.is_finite() { err / allowed } else { f64::INFINITY };
    report.compared += 1;
    if ratio.is_nan() || ratio > 1.0 {
        report.failures += 1;
    }
    report.dot = Some(Element {
        check: Check::Dot,
        input: 0,
        input_index: 0,
        output_index: 0,
        analytic: lhs,
        reference: rhs,
        error: err,
        ratio,
    });
    Ok(report)
}

/// [`gradcheck`] of a single primitive applied to `inputs`.
pub fn check_primitive<P>(op: P, inputs: &[Tensor<f64>], opts: &GradcheckOptions) -> Result<GradcheckReport>
where
    P: Primitive<f64> + Clone,
{
    gradcheck(
        |xs: &[Var<f64>]| {
            let refs: Vec<&Var<f64>> = xs.iter().collect();
            Var::apply(op.clone(), &refs)
        },
        inputs,
        opts,
    )
}

/// Checks second derivatives: [`gradcheck`] of `(x, u) ↦ Jᵀ u` (all input gradients,
/// flattened and joined), computed by a recorded backward pass of `f`. The extra input `u`
/// is a cotangent of `f`'s output shape, drawn from `opts.seed`.
pub fn gradgradcheck<F>(f: F, inputs: &[Tensor<f64>], opts: &GradcheckOptions) -> Result<GradcheckReport>
where
    F: Fn(&[Var<f64>]) -> Result<Var<f64>>,
{
    let out_shape =
        no_grad(|| f(&inputs.iter().map(|x| Var::constant(x.clone())).collect::<Vec<_>>()))?.shape().to_vec();
    let mut rng = seeded_rng(opts.seed.wrapping_add(1));
    let mut extended = inputs.to_vec();
    extended.push(Tensor::randn(&out_shape, &mut rng));
    let m = inputs.len();
    let vjp_fn = |xs: &[Var<f64>]| -> Result<Var<f64>> {
        let (xs, u) = (&xs[..m], &xs[m]);
        let y = f(xs)?;
        let refs: Vec<&Var<f64>> = xs.iter().collect();
        let grads = grad(&y, Some(u), &refs, BackwardOptions::create_graph())?;
        let flat: Vec<Var<f64>> = grads
            .into_iter()
            .zip(xs)
            .map(|(g, x)| g.unwrap_or_else(|| Var::constant(Tensor::zeros(x.shape()))).flatten())
            .collect::<Result<_>>()?;
        let refs: Vec<&Var<f64>> = flat.iter().collect();
        Var::concat(&refs, 0)
    };
    if m == 0 {
        return Err(AutodiffError::invalid("gradgradcheck", "no inputs"));
    }
    gradcheck(vjp_fn, &extended, opts)
}
