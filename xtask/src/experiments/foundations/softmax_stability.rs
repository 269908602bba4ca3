//! `softmax-stability`: naive against stable softmax and logsumexp across logit scales.
//!
//! Logits are `scale * z` with z ~ N(0, 1) of shape (rows, cols), for scales log-spaced
//! from 1e-2 to 1e4, in f32 and f64. The naive forms exponentiate first
//! (`exp(x) / sum exp(x)`, `log(sum exp(x))`, from elementwise tensor ops); the stable ones
//! are `dl-tensor`'s `softmax` and `logsumexp`. Both are compared with a reference computed
//! here by a direct loop in f64 on the same (dtype-rounded) values, subtracting each row's
//! maximum first and summing with compensation. Reported per scale and dtype: the maximum
//! absolute error (infinite as soon as one output is non-finite) and the fraction of
//! non-finite outputs.
//!
//! Claims (deterministic given the seed; properties of the algorithms, checked on one draw
//! of `z`):
//!
//! - the stable forms give finite outputs at every scale and dtype;
//! - the naive softmax becomes non-finite exactly when `exp` overflows, at the first grid
//!   scale where `scale * max z > ln(MAX)` (88.72 in f32, 709.78 in f64): the first
//!   non-finite scale divided by `ln(MAX) / max z` lies in `[1, r]`, `r` the grid's ratio;
//! - the stable forms are accurate to their first-order rounding bounds (Blanchard, Higham
//!   & Mary 2021, the shifted algorithms), with `u = eps / 2` of the dtype and `n` the row
//!   length: `exp(x_i - m)` is computed to `(|x_i - m| + 1) u`, the sum to `(n - 1) u`, so
//!   each softmax output is within `p_i (n + 3) u + u max_y |y| e^(-|y|) <= (n + 4) u` of
//!   the exact value; the logsumexp `m + log S` adds the rounding of `log` and of the final
//!   sum, within `u (|m| + 2 ln n + n + 2)`, with `|m| <= scale max|z|`. The measured worst
//!   error divided by the bound must be at most 1.

use dl_tensor::{Element, Tensor};
use serde_json::{Value, json};

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Numerical stability of naive against stable softmax and logsumexp.
pub struct SoftmaxStability;

/// Errors against the reference on a value where zero is drawn on the log axis.
const PLOT_FLOOR: f64 = 1e-19;

/// Max abs error and non-finite fraction of one method at one scale and dtype.
#[derive(Clone, Copy)]
struct Score {
    max_abs_err: f64,
    nonfinite_frac: f64,
}

/// Picks one method's score out of [`Scores`].
type Pick = fn(&Scores) -> Score;

/// The four scores of one dtype at one scale.
struct Scores {
    naive_softmax: Score,
    stable_softmax: Score,
    naive_lse: Score,
    stable_lse: Score,
}

impl Experiment for SoftmaxStability {
    fn id(&self) -> &'static str {
        "softmax-stability"
    }
    fn title(&self) -> &'static str {
        "Softmax and logsumexp: naive exp-then-normalise against the max-shifted stable forms"
    }
    fn section(&self) -> &'static str {
        "foundations"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (rows, cols) = size.pick((32, 64), (256, 1000));
        let n_scales: usize = size.pick(13, 49);
        let scales: Vec<f64> =
            (0..n_scales).map(|i| 10f64.powf(-2.0 + 6.0 * i as f64 / (n_scales - 1) as f64)).collect();
        let z = Tensor::<f64>::randn(&[rows, cols], &mut ctx.rng());
        let max_abs_z = z.to_vec().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // exp overflows on the largest logit, scale * max z (not on the most negative one)
        let max_z = z.to_vec().iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));

        let mut m = Metrics::new();
        m.config("rows", rows);
        m.config("cols", cols);
        m.config("scales", Value::Array(scales.iter().map(|&s| num(s)).collect()));
        m.config("softmax_axis", -1);
        m.config("reference", "f64 loop on the dtype-rounded logits: max subtracted, compensated sum");
        m.config("max_abs_err", "max over outputs of |out - reference|; inf if any output is non-finite");
        m.scalar("max_abs_z", max_abs_z);
        m.scalar("max_z", max_z);
        // exp overflows past ln(MAX): the naive forms fail once scale * max z exceeds it.
        let ln_max = [("f32", (f32::MAX as f64).ln()), ("f64", f64::MAX.ln())];
        for (dtype, ln_max) in ln_max {
            m.scalar(&format!("predicted_first_overflow_scale_{dtype}"), ln_max / max_z);
        }
        let columns = [
            "scale",
            "dtype",
            "naive_softmax_max_abs_err",
            "stable_softmax_max_abs_err",
            "naive_softmax_nonfinite_frac",
            "stable_softmax_nonfinite_frac",
            "naive_lse_max_abs_err",
            "stable_lse_max_abs_err",
            "naive_lse_nonfinite_frac",
            "stable_lse_nonfinite_frac",
        ];
        m.table("errors", &columns);

        let mut results: Vec<(&str, Vec<Scores>)> = vec![("f32", Vec::new()), ("f64", Vec::new())];
        for (i, &scale) in scales.iter().enumerate() {
            let logits = z.mul_scalar(scale);
            results[0].1.push(evaluate(&logits.cast::<f32>(), rows, cols)?);
            results[1].1.push(evaluate(&logits, rows, cols)?);
            ctx.progress(i as u64 + 1, n_scales as u64);
        }
        for (i, &scale) in scales.iter().enumerate() {
            for (dtype, scores) in &results {
                let s = &scores[i];
                let mut row = vec![num(scale), json!(dtype)];
                for (a, b) in [(s.naive_softmax, s.stable_softmax), (s.naive_lse, s.stable_lse)] {
                    row.extend([num(a.max_abs_err), num(b.max_abs_err), num(a.nonfinite_frac), num(b.nonfinite_frac)]);
                }
                m.push_row("errors", row)?;
            }
        }
        summarise(&mut m, &scales, &results);
        declare_claims(&mut m, &scales, &results, cols, max_z, max_abs_z)?;
        let softmax = chart("Softmax: max |error| against an f64 reference", &scales, &results, |s| {
            (s.naive_softmax, s.stable_softmax)
        });
        ctx.figure("softmax_error", &softmax)?;
        let lse = chart("Logsumexp: max |error| against an f64 reference", &scales, &results, |s| {
            (s.naive_lse, s.stable_lse)
        });
        ctx.figure("logsumexp_error", &lse)?;
        Ok(m)
    }
}

/// Scores the naive and stable forms on `x` of shape (rows, cols).
fn evaluate<T: Element>(x: &Tensor<T>, rows: usize, cols: usize) -> Result<Scores, ExperimentError> {
    let values: Vec<f64> = x.to_vec().into_iter().map(T::to_f64_exact).collect();
    let (ref_softmax, ref_lse) = reference(&values, rows, cols);

    let e = x.exp();
    let naive_softmax = e.div(&e.sum_axes(&[-1], true)?)?;
    let naive_lse = e.sum_axes(&[-1], false)?.log();
    let stable_softmax = x.softmax(-1)?;
    let stable_lse = x.logsumexp(&[-1], false)?;
    for (name, t, want) in [
        ("naive softmax", &naive_softmax, vec![rows, cols]),
        ("stable softmax", &stable_softmax, vec![rows, cols]),
        ("naive logsumexp", &naive_lse, vec![rows]),
        ("stable logsumexp", &stable_lse, vec![rows]),
    ] {
        if t.shape() != want.as_slice() {
            return Err(ExperimentError::Invalid(format!("{name} has shape {:?}, expected {want:?}", t.shape())));
        }
    }
    Ok(Scores {
        naive_softmax: score(&naive_softmax, &ref_softmax),
        stable_softmax: score(&stable_softmax, &ref_softmax),
        naive_lse: score(&naive_lse, &ref_lse),
        stable_lse: score(&stable_lse, &ref_lse),
    })
}

/// Softmax and logsumexp of each row of `values` (row-major rows x cols), by a direct f64
/// loop that subtracts the row maximum before exponentiating. The exponentials are summed
/// with Neumaier's compensated summation, so the reference's own summation error stays
/// below that of a plain f64 sum (which is what an f64 library softmax does).
fn reference(values: &[f64], rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>) {
    let mut softmax = Vec::with_capacity(rows * cols);
    let mut lse = Vec::with_capacity(rows);
    for row in values.chunks(cols) {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = row.iter().map(|&v| (v - max).exp()).collect();
        let sum = compensated_sum(&exps);
        softmax.extend(exps.iter().map(|&e| e / sum));
        lse.push(max + sum.ln());
    }
    (softmax, lse)
}

/// Neumaier's compensated sum: the rounding error of each addition is carried separately
/// and added back at the end.
fn compensated_sum(values: &[f64]) -> f64 {
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for &v in values {
        let t = sum + v;
        carry += if sum.abs() >= v.abs() { (sum - t) + v } else { (v - t) + sum };
        sum = t;
    }
    sum + carry
}

/// Max abs error against `reference` (infinite if any output is non-finite) and the
/// fraction of non-finite outputs.
fn score<T: Element>(out: &Tensor<T>, reference: &[f64]) -> Score {
    let out = out.to_vec();
    let mut max_abs_err = 0.0f64;
    let mut nonfinite = 0usize;
    for (&o, &r) in out.iter().zip(reference) {
        let o = o.to_f64_exact();
        if o.is_finite() {
            max_abs_err = max_abs_err.max((o - r).abs());
        } else {
            nonfinite += 1;
            max_abs_err = f64::INFINITY;
        }
    }
    Score { max_abs_err, nonfinite_frac: nonfinite as f64 / out.len().max(1) as f64 }
}

/// Scalars: the first scale at which each naive form produced a non-finite output, and
/// the worst error and non-finite count of the stable forms over all scales.
fn summarise(m: &mut Metrics, scales: &[f64], results: &[(&str, Vec<Scores>)]) {
    for (dtype, scores) in results {
        let picks: [(&str, Pick); 4] = [
            ("naive_softmax", |s| s.naive_softmax),
            ("stable_softmax", |s| s.stable_softmax),
            ("naive_lse", |s| s.naive_lse),
            ("stable_lse", |s| s.stable_lse),
        ];
        for (method, pick) in picks {
            let first = scores.iter().position(|s| pick(s).nonfinite_frac > 0.0);
            let key = format!("{method}_first_nonfinite_scale_{dtype}");
            match first {
                Some(i) => m.scalar(&key, scales[i]),
                None => m.scalar_value(&key, "none"),
            }
            if method.starts_with("stable") {
                let worst = scores.iter().map(|s| pick(s).max_abs_err).fold(0.0, f64::max);
                m.scalar(&format!("{method}_worst_max_abs_err_{dtype}"), worst);
            }
        }
    }
}

/// The claims of the module documentation.
fn declare_claims(
    m: &mut Metrics,
    scales: &[f64],
    results: &[(&str, Vec<Scores>)],
    cols: usize,
    max_z: f64,
    max_abs_z: f64,
) -> Result<(), ExperimentError> {
    let unit_roundoff = |dtype: &str| if dtype == "f32" { f32::EPSILON as f64 / 2.0 } else { f64::EPSILON / 2.0 };
    let n = cols as f64;
    let (mut nonfinite, mut softmax_ratio, mut lse_ratio) = (0.0f64, 0.0f64, 0.0f64);
    for (dtype, scores) in results {
        let u = unit_roundoff(dtype);
        for (s, &scale) in scores.iter().zip(scales) {
            nonfinite = nonfinite.max(s.stable_softmax.nonfinite_frac).max(s.stable_lse.nonfinite_frac);
            softmax_ratio = softmax_ratio.max(s.stable_softmax.max_abs_err / ((n + 4.0) * u));
            let lse_bound = u * (scale * max_abs_z + 2.0 * n.ln() + n + 2.0);
            lse_ratio = lse_ratio.max(s.stable_lse.max_abs_err / lse_bound);
        }
    }
    m.claim(
        Claim::new(
            "stable-forms-finite",
            "subtracting the row maximum before exponentiating keeps softmax and logsumexp finite at every logit \
             scale (every exponent is <= 0)",
            "Goodfellow, Bengio & Courville 2016, section 4.1; Blanchard, Higham & Mary 2021",
        )
        .measured(
            "largest fraction of non-finite outputs of the stable forms over scales and dtypes",
            Measured::exact(nonfinite),
        )
        .criterion(Criterion::at_most(0.0)),
    )?;
    let ratio = scales.get(1).zip(scales.first()).map_or(f64::NAN, |(b, a)| b / a);
    for (dtype, scores) in results {
        let ln_max = if *dtype == "f32" { (f32::MAX as f64).ln() } else { f64::MAX.ln() };
        let first = scores.iter().position(|s| s.naive_softmax.nonfinite_frac > 0.0).map_or(f64::NAN, |i| scales[i]);
        m.claim(
            Claim::new(
                &format!("naive-overflows-at-ln-max-{dtype}"),
                &format!(
                    "the naive exp-then-normalise softmax in {dtype} turns non-finite exactly when exp overflows, \
                     once scale * max z exceeds ln(MAX) = {ln_max:.2}"
                ),
                "IEEE 754 overflow of exp; Goodfellow, Bengio & Courville 2016, section 4.1",
            )
            .measured(
                "first scale with a non-finite naive output over ln(MAX) / max z",
                Measured::exact(first / (ln_max / max_z)),
            )
            .criterion(Criterion::between(1.0, ratio))
            .note("the upper end is the ratio of consecutive grid scales: the first grid scale past the threshold"),
        )?;
    }
    m.claim(
        Claim::new(
            "stable-softmax-rounding-bound",
            "the max-shifted softmax is accurate to its first-order rounding bound (n + 4) u at every scale",
            "Blanchard, Higham & Mary 2021, 'Accurate computation of the log-sum-exp and softmax functions' (shifted \
             algorithm); constants derived in the module documentation",
        )
        .measured("worst max |error| over scales and dtypes, divided by (n + 4) u", Measured::exact(softmax_ratio))
        .criterion(Criterion::at_most(1.0)),
    )?;
    m.claim(
        Claim::new(
            "stable-logsumexp-rounding-bound",
            "the max-shifted logsumexp m + log sum exp(x - m) is accurate to u (|m| + 2 ln n + n + 2) at every scale",
            "Blanchard, Higham & Mary 2021 (shifted algorithm); constants derived in the module documentation",
        )
        .measured("worst |error| over scales and dtypes, divided by the bound at its scale", Measured::exact(lse_ratio))
        .criterion(Criterion::at_most(1.0)),
    )?;
    Ok(())
}

/// Log-log chart of max |error| against scale: one line per (method, dtype); a non-finite
/// error is drawn as a cross along the top, above every finite error (f32 one decade below
/// f64 so both stay visible), and an exact zero at [`PLOT_FLOOR`].
fn chart(
    title: &str,
    scales: &[f64],
    results: &[(&str, Vec<Scores>)],
    pick: impl Fn(&Scores) -> (Score, Score),
) -> LineChart {
    let finite_max = results
        .iter()
        .flat_map(|(_, s)| {
            s.iter().flat_map(|s| {
                let (a, b) = pick(s);
                [a.max_abs_err, b.max_abs_err]
            })
        })
        .filter(|e| e.is_finite())
        .fold(PLOT_FLOOR, f64::max);
    let cap = 10f64.powf(finite_max.log10().ceil() + 1.0);
    let mut c = LineChart::new(
        title,
        "logit scale (logits = scale * z, z ~ N(0, 1))",
        &format!("max |error| (exact 0 drawn at {PLOT_FLOOR:e}; non-finite: crosses along the top)"),
    )
    .scales(Scale::Log10, Scale::Log10);
    for (k, (dtype, scores)) in results.iter().enumerate() {
        for (j, method) in ["naive", "stable"].into_iter().enumerate() {
            let errs: Vec<(f64, f64)> = scales
                .iter()
                .zip(scores)
                .map(|(&x, s)| (x, if j == 0 { pick(s).0 } else { pick(s).1 }.max_abs_err))
                .collect();
            let color = 2 * k + j;
            let finite = errs.iter().filter(|p| p.1.is_finite()).map(|&(x, e)| (x, e.max(PLOT_FLOOR))).collect();
            c.add(&format!("{method} {dtype}"), SeriesKind::Line, color, finite);
            let capped: Vec<(f64, f64)> =
                errs.iter().filter(|p| !p.1.is_finite()).map(|&(x, _)| (x, cap * 10f64.powi(k as i32))).collect();
            if !capped.is_empty() {
                c.add(&format!("{method} {dtype}: non-finite"), SeriesKind::Crosses, color, capped);
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_a_distribution_and_matches_a_known_case() {
        let (p, lse) = reference(&[0.0, 0.0, 1000.0, 1000.0], 2, 2);
        assert_eq!(p, vec![0.5; 4]);
        assert!((lse[0] - 2f64.ln()).abs() < 1e-15 && (lse[1] - (1000.0 + 2f64.ln())).abs() < 1e-12);
    }

    #[test]
    fn compensated_sum_keeps_what_a_plain_sum_loses() {
        let v = [1.0, 1e-16, 1e-16, 1e-16, 1e-16];
        assert_eq!(v.iter().sum::<f64>(), 1.0);
        assert_eq!(compensated_sum(&v), 1.0 + 4e-16);
    }

    #[test]
    fn score_counts_non_finite_outputs() {
        let t = Tensor::<f32>::from_vec(vec![0.5, f32::NAN, 0.25, f32::INFINITY], &[4]).unwrap();
        let s = score(&t, &[0.5, 0.5, 0.5, 0.5]);
        assert_eq!(s.nonfinite_frac, 0.5);
        assert_eq!(s.max_abs_err, f64::INFINITY);
        let s = score(&Tensor::<f64>::from_vec(vec![0.5, 0.75], &[2]).unwrap(), &[0.5, 0.5]);
        assert_eq!((s.max_abs_err, s.nonfinite_frac), (0.25, 0.0));
    }
}
