//! Line charts rendered to SVG with plotters' SVG backend only.
//!
//! No font library is linked: plotters is built without its `ttf` feature, and the SVG
//! backend writes text as `<text>` elements that the viewer's fonts render, so building and
//! running need no system fonts.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::metrics::round_significant;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesKind {
    /// A line through the points, with a small dot on each.
    Line,
    /// Crosses only: for special points such as non-finite values drawn at a cap.
    Crosses,
}

/// One named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Line or crosses.
    pub kind: SeriesKind,
    /// Index into the palette; series that belong together share a colour.
    pub color: usize,
}

/// A shaded band between a lower and an upper curve: the spread over seeds around a mean.
#[derive(Clone, Debug)]
pub struct Band {
    /// Legend text.
    pub label: String,
    /// `(x, lower, upper)` in drawing order.
    pub points: Vec<(f64, f64, f64)>,
    /// Index into the palette; give it the colour of the series it surrounds.
    pub color: usize,
}

/// How values map to an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Logarithmic, ticks labelled in powers of ten (non-positive values are skipped).
    Log10,
    /// Logarithmic, ticks labelled in powers of two (non-positive values are skipped):
    /// for sizes such as 32, 64, 128.
    Log2,
}

impl Scale {
    fn is_log(self) -> bool {
        self != Scale::Linear
    }

    /// A value in axis units: its logarithm on a logarithmic axis.
    fn axis_of(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log10 => v.log10(),
            Scale::Log2 => v.log2(),
        }
    }

    /// The value at an axis position.
    fn value_at(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log10 => 10f64.powf(v),
            Scale::Log2 => v.exp2(),
        }
    }
}

/// A 2-d chart of several series, with linear or logarithmic axes.
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Caption above the plot.
    pub title: String,
    /// X-axis description.
    pub x_label: String,
    /// Y-axis description.
    pub y_label: String,
    /// X-axis scale.
    pub x_scale: Scale,
    /// Y-axis scale.
    pub y_scale: Scale,
    /// The series.
    pub series: Vec<Series>,
    /// Shaded bands, drawn under the series.
    pub bands: Vec<Band>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];
const WIDTH: u32 = 960;
/// Width of the legend panel on the right of the plot.
const LEGEND_WIDTH: u32 = 220;
const HEIGHT: u32 = 500;

impl LineChart {
    /// A chart with no series yet.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: Vec::new(),
            bands: Vec::new(),
        }
    }

    /// Sets the axis scales.
    pub fn scales(mut self, x_scale: Scale, y_scale: Scale) -> Self {
        self.x_scale = x_scale;
        self.y_scale = y_scale;
        self
    }

    /// Adds a series.
    pub fn add(&mut self, label: &str, kind: SeriesKind, color: usize, points: Vec<(f64, f64)>) {
        self.series.push(Series { label: label.into(), points, kind, color });
    }

    /// Adds a shaded band `(x, lower, upper)`, for example mean ± standard deviation over
    /// seeds around the series of the same colour.
    pub fn band(&mut self, label: &str, color: usize, points: Vec<(f64, f64, f64)>) {
        self.bands.push(Band { label: label.into(), points, color });
    }

    /// Adds a mean series with its band of ± one spread, from `(x, mean, spread)` points.
    pub fn add_with_band(&mut self, label: &str, color: usize, points: &[(f64, f64, f64)]) {
        self.band(&format!("{label} ± sd"), color, points.iter().map(|&(x, m, s)| (x, m - s, m + s)).collect());
        self.add(label, SeriesKind::Line, color, points.iter().map(|&(x, m, _)| (x, m)).collect());
    }

    /// Adds the mean over seeds of several curves (one per seed, sampled at the same x, point
    /// `i` of every curve at the x of point `i` of the first), with its band of ± one sample
    /// standard deviation. On a logarithmic y axis (set the scales first) the mean and the
    /// band are taken over `log y`: the geometric mean, times and divided by the geometric
    /// spread, so the band stays positive and symmetric on the axis (non-positive values are
    /// left out there). One curve gives a plain series without a band.
    pub fn add_over_seeds(&mut self, label: &str, kind: SeriesKind, color: usize, curves: &[Vec<(f64, f64)>]) {
        let summary = seed_summary(curves, self.y_scale.is_log());
        let mean: Vec<(f64, f64)> = summary.iter().map(|&(x, m, _, _)| (x, m)).collect();
        if curves.len() <= 1 {
            self.add(label, kind, color, mean);
            return;
        }
        let n = curves.len();
        self.band(
            &format!("{label}: ± sd over {n} seeds"),
            color,
            summary.iter().map(|&(x, _, lo, hi)| (x, lo, hi)).collect(),
        );
        self.add(&format!("{label} (mean of {n} seeds)"), kind, color, mean);
    }

    /// Renders the chart as a standalone SVG document.
    pub fn to_svg(&self) -> Result<String, String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let (xs, ys) = (self.x_scale, self.y_scale);
            let (x0, x1) = axis_range(self.points().map(|p| p.0), xs.is_log());
            let (y0, y1) = axis_range(self.points().map(|p| p.1), ys.is_log());
            let (x0, x1) = (xs.axis_of(x0), xs.axis_of(x1));
            let (y0, y1) = (ys.axis_of(y0), ys.axis_of(y1));
            self.draw(&root, x0..x1, y0..y1)?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let bands = self.bands.iter().flat_map(|b| b.points.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]));
        self.series.iter().flat_map(|s| s.points.iter().copied()).chain(bands)
    }

    fn visible(&self, p: (f64, f64)) -> bool {
        p.0.is_finite()
            && p.1.is_finite()
            && (!self.x_scale.is_log() || p.0 > 0.0)
            && (!self.y_scale.is_log() || p.1 > 0.0)
    }

    /// Draws on linear axes in axis units: the logarithm of the value on a logarithmic axis.
    /// (Plotters' own log axis drops every tick below f64::EPSILON, and errors live there.)
    fn draw(&self, root: &DrawingArea<SVGBackend<'_>, Shift>, x: Range<f64>, y: Range<f64>) -> Result<(), String> {
        let (xs, ys) = (self.x_scale, self.y_scale);
        let x_tick = move |v: &f64| tick_label(&xs.value_at(*v));
        let y_tick = move |v: &f64| tick_label(&ys.value_at(*v));
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        let (plot_area, legend_area) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(&self.title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(12)
            .y_labels(12)
            .x_label_formatter(&x_tick)
            .y_label_formatter(&y_tick)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (i, b) in self.bands.iter().enumerate() {
            let color = PALETTE[b.color % PALETTE.len()];
            let upper: Vec<(f64, f64)> =
                b.points.iter().map(|&(x, _, hi)| (x, hi)).filter(|&p| self.visible(p)).collect();
            let lower: Vec<(f64, f64)> =
                b.points.iter().map(|&(x, lo, _)| (x, lo)).filter(|&p| self.visible(p)).collect();
            let outline: Vec<(f64, f64)> =
                upper.iter().chain(lower.iter().rev()).map(|&(px, py)| (xs.axis_of(px), ys.axis_of(py))).collect();
            if outline.len() >= 3 {
                chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.18).filled()))).map_err(err)?;
            }
            let (lx, ly) = (10, 60 + 22 * (self.series.len() + i) as i32);
            legend_area
                .draw(&Rectangle::new([(lx, ly - 5), (lx + 24, ly + 5)], color.mix(0.18).filled()))
                .map_err(err)?;
            legend_area.draw(&Text::new(b.label.clone(), (lx + 32, ly - 7), ("sans-serif", 14))).map_err(err)?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[s.color % PALETTE.len()];
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|&p| self.visible(p))
                .map(|(px, py)| (xs.axis_of(px), ys.axis_of(py)))
                .collect();
            let (lx, ly) = (10, 60 + 22 * i as i32);
            match s.kind {
                SeriesKind::Line => {
                    chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2))).map_err(err)?;
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(err)?;
                    legend_area
                        .draw(&PathElement::new(vec![(lx, ly), (lx + 24, ly)], color.stroke_width(2)))
                        .map_err(err)?;
                }
                SeriesKind::Crosses => {
                    chart.draw_series(pts.iter().map(|&p| Cross::new(p, 6, color.stroke_width(2)))).map_err(err)?;
                    legend_area.draw(&Cross::new((lx + 12, ly), 6, color.stroke_width(2))).map_err(err)?;
                }
            }
            legend_area.draw(&Text::new(s.label.clone(), (lx + 32, ly - 7), ("sans-serif", 14))).map_err(err)?;
        }
        Ok(())
    }
}

/// `(x, mean, lower, upper)` of curves over seeds, point by point: arithmetic mean ± sample
/// standard deviation, or on a log axis (`log = true`) the same over `ln y`, mapped back.
/// Points where no seed has a usable value are left out.
pub fn seed_summary(curves: &[Vec<(f64, f64)>], log: bool) -> Vec<(f64, f64, f64, f64)> {
    let Some(first) = curves.first() else { return Vec::new() };
    let len = curves.iter().map(Vec::len).min().unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    for (i, &(x, _)) in first.iter().enumerate().take(len) {
        let ys = curves.iter().map(|c| c[i].1).filter(|y| y.is_finite() && (!log || *y > 0.0));
        let values: Vec<f64> = if log { ys.map(f64::ln).collect() } else { ys.collect() };
        if values.is_empty() {
            continue;
        }
        let (m, s) = crate::claims::mean_and_spread(&values);
        out.push(if log { (x, m.exp(), (m - s).exp(), (m + s).exp()) } else { (x, m, m - s, m + s) });
    }
    out
}

/// A tick label: an integer below 1e6 as it is (1024), anything else to three significant
/// digits, in exponent notation outside [1e-3, 1e5).
fn tick_label(v: &f64) -> String {
    let r = v.round();
    if (*v == 0.0 || r != 0.0) && (v - r).abs() <= 1e-9 * v.abs().max(1.0) && r.abs() < 1e6 {
        return format!("{r}");
    }
    let x = round_significant(*v, 3);
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) { format!("{x}") } else { format!("{x:e}") }
}

/// The padded range of the finite (and, on a log axis, positive) values; `(0, 1)` or
/// `(1, 10)` when there are none.
fn axis_range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_without_a_font_library() {
        for (xl, yl) in [(Scale::Linear, Scale::Linear), (Scale::Log10, Scale::Log2), (Scale::Log2, Scale::Linear)] {
            let mut c = LineChart::new("Title here", "x axis", "y axis").scales(xl, yl);
            c.add("a", SeriesKind::Line, 0, vec![(1.0, 2.0), (10.0, 20.0), (100.0, 0.0)]);
            c.add("b", SeriesKind::Crosses, 1, vec![(5.0, f64::NAN), (50.0, 3.0)]);
            let svg = c.to_svg().unwrap();
            assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
            // text is emitted as <text> elements; each label sits on its own line
            for label in ["Title here", "x axis", "y axis", "a", "b"] {
                assert!(svg.lines().any(|l| l.trim() == label), "label {label:?} missing");
            }
        }
    }

    #[test]
    fn bands_are_drawn_and_widen_the_range() {
        let mut c = LineChart::new("t", "x", "y");
        c.add_with_band("mean", 0, &[(1.0, 1.0, 0.5), (2.0, 2.0, 0.5), (3.0, 3.0, 0.5)]);
        let svg = c.to_svg().unwrap();
        assert!(svg.contains("<polygon"), "no band polygon");
        assert!(svg.lines().any(|l| l.trim() == "mean ± sd"), "band legend missing");
        // the band reaches 3.5, beyond every series point
        assert!(c.points().any(|p| p.1 == 3.5));
    }

    #[test]
    fn seed_bands_are_arithmetic_on_linear_axes_and_geometric_on_log_axes() {
        let curves = vec![vec![(1.0, 1.0), (2.0, 10.0)], vec![(1.0, 3.0), (2.0, 1000.0)]];
        let lin = seed_summary(&curves, false);
        // mean 2, sample sd sqrt(2) at x = 1
        assert_eq!(lin[0].0, 1.0);
        assert_eq!(lin[0].1, 2.0);
        assert!((lin[0].2 - (2.0 - 2f64.sqrt())).abs() < 1e-15 && (lin[0].3 - (2.0 + 2f64.sqrt())).abs() < 1e-15);
        // geometric: ln 10 and ln 1000 have mean ln 100 and sd sqrt(2) ln 10
        let log = seed_summary(&curves, true);
        assert!((log[1].1 - 100.0).abs() < 1e-9, "{:?}", log[1]);
        let factor = (2f64.sqrt() * 10f64.ln()).exp();
        assert!((log[1].2 - 100.0 / factor).abs() < 1e-9 && (log[1].3 - 100.0 * factor).abs() < 1e-6);
        // a non-positive value is left out on a log axis, kept on a linear one
        let with_zero = vec![vec![(1.0, 0.0)], vec![(1.0, 4.0)]];
        assert_eq!(seed_summary(&with_zero, true)[0].1, 4.0);
        assert_eq!(seed_summary(&with_zero, false)[0].1, 2.0);
        // the chart gets a band and a mean series; one curve gives a plain series
        let mut c = LineChart::new("t", "x", "y").scales(Scale::Linear, Scale::Log10);
        c.add_over_seeds("a", SeriesKind::Line, 0, &curves);
        assert_eq!((c.bands.len(), c.series.len()), (1, 1));
        assert!(c.series[0].label.contains("mean of 2 seeds"), "{}", c.series[0].label);
        c.add_over_seeds("b", SeriesKind::Line, 1, &curves[..1]);
        assert_eq!((c.bands.len(), c.series.len()), (1, 2));
    }

    #[test]
    fn log_axes_label_powers_of_ten_far_below_epsilon() {
        let mut c = LineChart::new("t", "x", "y").scales(Scale::Log10, Scale::Log10);
        c.add("a", SeriesKind::Line, 0, vec![(1e-2, 1e-19), (1e4, 1e-5)]);
        let svg = c.to_svg().unwrap();
        for label in ["1e-18", "1e-6", "0.01", "10000"] {
            assert!(svg.lines().any(|l| l.trim() == label), "tick {label} missing");
        }
    }

    #[test]
    fn log2_axes_label_powers_of_two() {
        let mut c = LineChart::new("t", "n", "y").scales(Scale::Log2, Scale::Linear);
        c.add("a", SeriesKind::Line, 0, vec![(32.0, 1.0), (1024.0, 2.0)]);
        let svg = c.to_svg().unwrap();
        for label in ["32", "64", "256", "1024"] {
            assert!(svg.lines().any(|l| l.trim() == label), "tick {label} missing");
        }
    }

    #[test]
    fn ranges_pad_and_skip_invalid_values() {
        assert_eq!(axis_range([f64::NAN].into_iter(), false), (0.0, 1.0));
        let (lo, hi) = axis_range([1e-3, 1e3, -5.0, 0.0].into_iter(), true);
        assert!(lo < 1e-3 && lo > 1e-4 && hi > 1e3 && hi < 1e4, "{lo} {hi}");
        let (lo, hi) = axis_range([2.0, 2.0].into_iter(), false);
        assert!(lo < 2.0 && hi > 2.0);
    }
}
