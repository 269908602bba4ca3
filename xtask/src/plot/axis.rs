//! Axis ranges and tick marks: where the labelled (major) and unlabelled (minor) ticks go,
//! and what the labels say.
//!
//! - Linear: multiples of a step 1, 2 or 5 × 10^k, at most [`MAX_LABELS`] of them,
//!   labelled with as many decimals as the step needs.
//! - Log10: integer powers of ten (every second or third one over many decades), with minor
//!   ticks at 2…9 × 10^k over up to six decades. A range of less than about three decades
//!   takes 1, 2, 5 × 10^k, then 1…9 × 10^k, then linear steps, whichever first gives at
//!   least three labels; minor ticks at the remaining 1…9 × 10^k.
//! - Log2: integer powers of two, then 1 and 1.5 × 2^k, then linear steps.
//! - Categorical: one tick per category `0..k`, labelled with its name.
//!
//! Positions are in axis units: the value on a linear axis, its logarithm on a logarithmic
//! one (the chart draws on linear plotters axes in those units: plotters' own log axis drops
//! every tick below `f64::EPSILON`, and errors live there).

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;

use crate::metrics::round_significant;

/// At most this many labelled ticks on an axis.
pub(crate) const MAX_LABELS: usize = 10;

/// How values map to an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Logarithmic, ticks at powers of ten (non-positive values are skipped).
    Log10,
    /// Logarithmic, ticks at powers of two (non-positive values are skipped): for sizes such
    /// as 32, 64, 128.
    Log2,
}

impl Scale {
    pub(crate) fn is_log(self) -> bool {
        self != Scale::Linear
    }

    /// A value in axis units: its logarithm on a logarithmic axis.
    pub(crate) fn axis_of(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log10 => v.log10(),
            Scale::Log2 => v.log2(),
        }
    }
}

/// One axis, ready to draw: its range and ticks in axis units.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    /// The drawn range, in axis units.
    pub range: Range<f64>,
    /// Labelled ticks: position in axis units and label.
    pub major: Vec<(f64, String)>,
    /// Unlabelled ticks (light grid lines), in axis units.
    pub minor: Vec<f64>,
    /// The axis description, with "(log scale)" on a logarithmic axis.
    pub description: String,
}

impl Axis {
    /// A numeric axis over the finite (and, on a log axis, positive) `values`.
    pub(crate) fn numeric(scale: Scale, label: &str, values: impl Iterator<Item = f64>) -> Axis {
        let (lo, hi) = value_range(values, scale.is_log());
        let (major, minor) = match scale {
            Scale::Linear => (linear_ticks(lo, hi, MAX_LABELS), Vec::new()),
            Scale::Log10 => log10_ticks(lo, hi),
            Scale::Log2 => log2_ticks(lo, hi),
        };
        let description = if scale.is_log() { format!("{label} (log scale)") } else { label.to_string() };
        Axis {
            range: scale.axis_of(lo)..scale.axis_of(hi),
            major: major.into_iter().map(|(v, l)| (scale.axis_of(v), l)).collect(),
            minor: minor.into_iter().map(|v| scale.axis_of(v)).collect(),
            description,
        }
    }

    /// A categorical axis: category `i` sits at `x = i` and is labelled `names[i]`. The range
    /// covers every category with half a slot either side, and any value beyond.
    pub(crate) fn categorical(names: &[String], label: &str, values: impl Iterator<Item = f64>) -> Axis {
        let (mut lo, mut hi) = (-0.5, names.len() as f64 - 0.5);
        for v in values.filter(|v| v.is_finite()) {
            lo = f64::min(lo, v);
            hi = f64::max(hi, v);
        }
        Axis {
            range: lo..hi,
            major: names.iter().enumerate().map(|(i, n)| (i as f64, n.clone())).collect(),
            minor: Vec::new(),
            description: label.to_string(),
        }
    }

    /// The label of the major tick at axis position `v` (plotters asks with the positions it
    /// was given).
    pub(crate) fn label_at(&self, v: f64) -> String {
        let nearest = self.major.iter().min_by(|a, b| (a.0 - v).abs().total_cmp(&(b.0 - v).abs()));
        nearest.map(|(_, l)| l.clone()).unwrap_or_default()
    }

    /// The major tick positions, in axis units.
    pub(crate) fn major_positions(&self) -> Vec<f64> {
        self.major.iter().map(|m| m.0).collect()
    }
}

/// Plotters draws the axis from this: the range maps linearly to pixels, bold key points
/// (ticks, labels, grid lines) are the major ticks and light ones (faint grid lines) the
/// minor ticks.
impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.minor.clone() } else { self.major_positions() }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        self.label_at(*value)
    }
}

/// The padded range of the finite (and, on a log axis, positive) values; `(0, 1)` or
/// `(1, 10)` when there are none.
pub(crate) fn value_range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (a, b) = (lo.log10(), hi.log10());
        let pad = ((b - a) * 0.05).max(0.1);
        (10f64.powf(a - pad), 10f64.powf(b + pad))
    } else {
        let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.5 };
        (lo - pad, hi + pad)
    }
}

/// The smallest step 1, 2 or 5 × 10^k that puts at most `max` multiples in `[lo, hi]`.
fn nice_step(lo: f64, hi: f64, max: usize) -> f64 {
    let rough = (hi - lo) / max.max(1) as f64;
    let mut decade = 10f64.powf(rough.log10().floor());
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = m * decade;
            if ((hi / step).floor() - (lo / step).ceil() + 1.0) as usize <= max {
                return step;
            }
        }
        decade *= 10.0;
    }
}

/// Labelled multiples of a nice step in `[lo, hi]`, as `(value, label)`.
pub(crate) fn linear_ticks(lo: f64, hi: f64, max: usize) -> Vec<(f64, String)> {
    if hi <= lo || hi.is_nan() || lo.is_nan() {
        return vec![(lo, tick_label(lo))];
    }
    let step = nice_step(lo, hi, max);
    let (first, last) = ((lo / step).ceil() as i64 - 1, (hi / step).floor() as i64 + 1);
    let inside = (first..=last).map(|i| i as f64 * step).filter(|v| (lo..=hi).contains(v));
    inside.map(|v| (v, linear_label(v, step))).collect()
}

/// A linear tick label with the decimals its step needs (0.2 → one), in exponent notation
/// outside [1e-3, 1e5).
fn linear_label(v: f64, step: f64) -> String {
    let step_exp = step.log10().floor() as i32;
    let mag = v.abs();
    let fixed = if v == 0.0 { (1e-3..1e5).contains(&step) } else { (1e-3..1e5).contains(&mag) };
    if fixed || (step_exp >= 0 && mag < 1e6) {
        let decimals = (-step_exp).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        if v == 0.0 {
            return "0".into();
        }
        let digits = (mag.log10().floor() as i32 - step_exp).max(0) as usize;
        format!("{v:.digits$e}")
    }
}

/// A tick label for a round value: an integer below 1e6 as it is (1024), anything else to
/// three significant digits, in exponent notation outside [1e-3, 1e5) (1e-18, 0.05, 2e5).
pub(crate) fn tick_label(v: f64) -> String {
    let r = v.round();
    if (v == 0.0 || r != 0.0) && (v - r).abs() <= 1e-9 * v.abs().max(1.0) && r.abs() < 1e6 {
        return format!("{r}");
    }
    let x = round_significant(v, 3);
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) { format!("{x}") } else { format!("{x:e}") }
}

/// The multiples `m × base^k` (for each `m` in `mantissas`) inside `[lo, hi]`, ascending.
fn multiples_in(lo: f64, hi: f64, base: f64, mantissas: &[f64]) -> Vec<f64> {
    let log = |v: f64| v.ln() / base.ln();
    let (k0, k1) = (log(lo).floor() as i32 - 1, log(hi).ceil() as i32 + 1);
    let mut out = Vec::new();
    for k in k0..=k1 {
        for &m in mantissas {
            let v = m * base.powi(k);
            // tolerate rounding at the ends: the range comes from pads of whole-decade logs
            if v >= lo * (1.0 - 1e-12) && v <= hi * (1.0 + 1e-12) {
                out.push(v);
            }
        }
    }
    out
}

/// Powers `base^k` in `[lo, hi]`, all as minor ticks and every `step`-th (k divisible by the
/// step) as major, with the step making at most [`MAX_LABELS`] labels.
fn power_ticks(lo: f64, hi: f64, base: f64) -> (Vec<f64>, Vec<f64>) {
    let powers = multiples_in(lo, hi, base, &[1.0]);
    let step = powers.len().div_ceil(MAX_LABELS).max(1) as i32;
    let exponent = |v: f64| (v.ln() / base.ln()).round() as i32;
    powers.into_iter().partition(|&v| exponent(v).rem_euclid(step) == 0)
}

type Ticks = (Vec<(f64, String)>, Vec<f64>);

/// Major and minor ticks of a base-10 logarithmic axis over `[lo, hi]` (values, `lo > 0`).
pub(crate) fn log10_ticks(lo: f64, hi: f64) -> Ticks {
    let labelled = |vs: Vec<f64>| vs.into_iter().map(|v| (v, tick_label(v))).collect::<Vec<_>>();
    let all_digits = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let (major, mut minor) = power_ticks(lo, hi, 10.0);
    if major.len() >= 4 {
        // over a few decades, also the unlabelled 2…9 × 10^k
        if (hi / lo).log10() <= 6.0 {
            minor.extend(multiples_in(lo, hi, 10.0, &all_digits[1..]));
        }
        return (labelled(major), minor);
    }
    // up to about three decades: 1, 2, 5 × 10^k; then every digit; then linear steps
    for mantissas in [&[1.0, 2.0, 5.0][..], &all_digits[..]] {
        let major = multiples_in(lo, hi, 10.0, mantissas);
        if major.len() >= 3 && major.len() <= MAX_LABELS {
            let minor = multiples_in(lo, hi, 10.0, &all_digits).into_iter().filter(|v| !major.contains(v)).collect();
            return (labelled(major), minor);
        }
    }
    if major.len() >= 3 {
        return (labelled(major), minor);
    }
    (linear_ticks(lo, hi, MAX_LABELS), Vec::new())
}

/// Major and minor ticks of a base-2 logarithmic axis over `[lo, hi]` (values, `lo > 0`).
pub(crate) fn log2_ticks(lo: f64, hi: f64) -> Ticks {
    let labelled = |vs: Vec<f64>| vs.into_iter().map(|v| (v, tick_label(v))).collect::<Vec<_>>();
    let (major, minor) = power_ticks(lo, hi, 2.0);
    if major.len() >= 3 {
        return (labelled(major), minor);
    }
    let major = multiples_in(lo, hi, 2.0, &[1.0, 1.5]);
    if major.len() >= 3 {
        return (labelled(major), Vec::new());
    }
    (linear_ticks(lo, hi, MAX_LABELS), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &[(f64, String)]) -> Vec<&str> {
        t.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn log10_ticks_are_powers_of_ten_over_several_decades() {
        let (major, minor) = log10_ticks(3e-4, 2e2);
        assert_eq!(labels(&major), ["0.001", "0.01", "0.1", "1", "10", "100"]);
        // minor: 2…9 × 10^k in range (3e-4 … 9e-4, 2e-3 …), no power of ten among them
        assert!(minor.iter().all(|v| major.iter().all(|(m, _)| (v / m - 1.0).abs() > 1e-9)));
        assert!(minor.iter().any(|&v| (v - 5e-3).abs() < 1e-15));
        // 8 decades: powers of ten only
        let (major, minor) = log10_ticks(3e-6, 2e2);
        assert_eq!(labels(&major), ["1e-5", "1e-4", "0.001", "0.01", "0.1", "1", "10", "100"]);
        assert!(minor.is_empty());
        // 23 decades: every third power, each label a power of ten, at most MAX_LABELS
        let (major, minor) = log10_ticks(1e-19, 1e4);
        assert!(major.len() <= MAX_LABELS && major.len() >= 5, "{:?}", labels(&major));
        assert_eq!(labels(&major)[..3], ["1e-18", "1e-15", "1e-12"]);
        assert!(minor.len() >= 10, "skipped powers are minor ticks");
    }

    #[test]
    fn log10_ticks_over_a_short_range_use_one_two_five_then_digits_then_linear() {
        // 0.04 … 0.63 (the gradient norms of the CNN): 1, 2, 5 × 10^k
        assert_eq!(labels(&log10_ticks(0.0398, 0.631).0), ["0.05", "0.1", "0.2", "0.5"]);
        // 0.008 … 1.3 (two decades): 1, 2, 5 × 10^k rather than three powers of ten
        assert_eq!(labels(&log10_ticks(0.008, 1.3).0), ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"]);
        // 1.5 … 9.5: 1, 2, 5 gives two; every digit gives eight
        assert_eq!(labels(&log10_ticks(1.5, 9.5).0), ["2", "3", "4", "5", "6", "7", "8", "9"]);
        // 1.41 … 2.82 (a training loss): linear steps at their log positions
        assert_eq!(labels(&log10_ticks(1.41, 2.82).0), ["1.6", "1.8", "2.0", "2.2", "2.4", "2.6", "2.8"]);
        let (major, minor) = log10_ticks(1.78, 2.82);
        assert_eq!(labels(&major), ["1.8", "2.0", "2.2", "2.4", "2.6", "2.8"]);
        assert!(minor.is_empty());
    }

    #[test]
    fn log2_ticks_are_powers_of_two() {
        assert_eq!(labels(&log2_ticks(28.0, 150.0).0), ["32", "64", "128"]);
        assert_eq!(labels(&log2_ticks(40.0, 200.0).0), ["48", "64", "96", "128", "192"]);
        let (major, minor) = log2_ticks(1.0, 1e6);
        assert_eq!(labels(&major), ["1", "4", "16", "64", "256", "1024", "4096", "16384", "65536", "262144"]);
        assert_eq!(minor.len(), 10);
        assert_eq!(labels(&log2_ticks(3.0, 5.0).0), ["3.0", "3.5", "4.0", "4.5", "5.0"]);
    }

    #[test]
    fn linear_ticks_are_nice_steps_with_matching_decimals() {
        assert_eq!(labels(&linear_ticks(-0.3, 2.3, 10)), ["0.0", "0.5", "1.0", "1.5", "2.0"]);
        assert_eq!(labels(&linear_ticks(0.0, 0.5, 10)), ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5"]);
        assert_eq!(labels(&linear_ticks(0.0, 1.0, 5)), ["0.0", "0.5", "1.0"]);
        assert_eq!(labels(&linear_ticks(1.0, 26.0, 10)), ["5", "10", "15", "20", "25"]);
        assert_eq!(
            labels(&linear_ticks(3.0, 207.0, 10)),
            ["20", "40", "60", "80", "100", "120", "140", "160", "180", "200"]
        );
        assert_eq!(labels(&linear_ticks(1e5, 5e5, 5)), ["100000", "200000", "300000", "400000", "500000"]);
        assert_eq!(labels(&linear_ticks(0.0, 3e-5, 4)), ["0", "1e-5", "2e-5", "3e-5"]);
        assert_eq!(labels(&linear_ticks(1000.1, 1000.5, 5)), ["1000.1", "1000.2", "1000.3", "1000.4", "1000.5"]);
        for (lo, hi) in [(0.0, 1.0), (-7.3, 1e3), (0.585, 0.61), (1e-9, 3e-9)] {
            let t = linear_ticks(lo, hi, MAX_LABELS);
            assert!(t.len() >= 2 && t.len() <= MAX_LABELS, "{lo}..{hi}: {:?}", labels(&t));
            assert!(t.iter().all(|&(v, _)| v >= lo && v <= hi));
        }
    }

    #[test]
    fn axes_say_log_scale_and_place_categories_at_integers() {
        let a = Axis::numeric(Scale::Log10, "error", [1e-3, 1e2].into_iter());
        assert_eq!(a.description, "error (log scale)");
        assert!(a.major.iter().any(|(p, l)| *p == 0.0 && l == "1"));
        assert_eq!(Axis::numeric(Scale::Linear, "x", [0.0, 1.0].into_iter()).description, "x");
        let names: Vec<String> = ["relu", "tanh", "elu"].map(String::from).to_vec();
        let c = Axis::categorical(&names, "activation", [0.0, 2.0].into_iter());
        assert_eq!(c.range, -0.5..2.5);
        assert_eq!(c.label_at(1.0), "tanh");
        assert_eq!(c.major_positions(), vec![0.0, 1.0, 2.0]);
    }

    #[test]
    fn ranges_pad_and_skip_invalid_values() {
        assert_eq!(value_range([f64::NAN].into_iter(), false), (0.0, 1.0));
        let (lo, hi) = value_range([1e-3, 1e3, -5.0, 0.0].into_iter(), true);
        assert!(lo < 1e-3 && lo > 1e-4 && hi > 1e3 && hi < 1e4, "{lo} {hi}");
        let (lo, hi) = value_range([2.0, 2.0].into_iter(), false);
        assert!(lo < 2.0 && hi > 2.0);
    }
}
