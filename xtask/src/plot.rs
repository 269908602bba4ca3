//! Line charts rendered to SVG with plotters' SVG backend only.
//!
//! No font library is linked: plotters is built without its `ttf` feature, and the SVG
//! backend writes text as `<text>` elements that the viewer's fonts render, so building and
//! running need no system fonts. Where the text goes is therefore planned with an upper
//! bound on its width (`plot/text.rs`): the title and the axis descriptions wrap onto more
//! lines and the legend wraps its labels (`plot/legend.rs`) rather than run off the canvas.
//! Axes (`plot/axis.rs`) are linear, logarithmic (ticked at powers of ten or two, and saying
//! "(log scale)") or categorical (one named tick per category).
//!
//! Layout of a chart, 960 × 500 pixels: the title on top, the plot with its tick labels and
//! axis descriptions, and the legend in a 220-pixel panel on the right; a legend too tall for
//! that panel goes below the plot instead and the canvas grows to hold it.

mod axis;
mod legend;
mod text;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use axis::Axis;
pub use axis::Scale;
use legend::{LEGEND_WIDTH, Legend, Marker, Placement};
use text::{text_width, wrap};

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
    /// Category names of a categorical x axis (empty for a numeric one): category `i` sits
    /// at `x = i` and is labelled `x_categories[i]`.
    pub x_categories: Vec<String>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];
/// Canvas width.
const WIDTH: u32 = 960;
/// Canvas height without a legend below the plot.
const HEIGHT: u32 = 500;
/// Plotters' SVG backend writes a font of size `s` as `s / 1.24` pixels: the factor turns
/// the pixel sizes below into plotters sizes.
const SVG_FONT_SCALE: f64 = 1.24;
/// Font sizes in SVG pixels: title, axis descriptions, tick labels.
const TITLE_PX: f64 = 16.0;
const DESC_PX: f64 = 12.0;
const TICK_PX: f64 = 11.0;
/// Distance between the tops of two lines of the title, of an axis description.
const TITLE_LINE: i32 = 20;
const DESC_LINE: i32 = 15;
/// Blank space around the plot.
const MARGIN: i32 = 15;
/// Plotters puts tick labels this far from the axis (twice its 5-pixel tick marks).
const TICK_LABEL_GAP: i32 = 10;

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
            x_categories: Vec::new(),
        }
    }

    /// Makes the x axis categorical: category `i` sits at `x = i` (`i` in `0..names.len()`)
    /// and its tick is labelled `names[i]`. Replaces the x scale; keep names short, they
    /// share the axis width.
    pub fn categorical_x(mut self, names: &[&str]) -> Self {
        self.x_scale = Scale::Linear;
        self.x_categories = names.iter().map(|n| n.to_string()).collect();
        self
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
        let x_axis = if self.x_categories.is_empty() {
            Axis::numeric(self.x_scale, &self.x_label, self.points().map(|p| p.0))
        } else {
            Axis::categorical(&self.x_categories, &self.x_label, self.points().map(|p| p.0))
        };
        let y_axis = Axis::numeric(self.y_scale, &self.y_label, self.points().map(|p| p.1));
        let legend = Legend::new(&self.legend_items());
        let below = match legend.placement {
            Placement::Right => 0,
            Placement::Below(h) => h,
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT + below)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let (plot_area, legend_area) = match legend.placement {
                Placement::Right => root.split_horizontally(WIDTH - LEGEND_WIDTH),
                Placement::Below(_) => root.split_vertically(HEIGHT),
            };
            self.draw(&plot_area, &x_axis, &y_axis)?;
            legend.draw(&legend_area)?;
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

    /// The legend entries: the series, then the bands.
    fn legend_items(&self) -> Vec<(String, Marker, usize)> {
        let series = self.series.iter().map(|s| {
            let marker = if s.kind == SeriesKind::Crosses { Marker::Cross } else { Marker::Line };
            (s.label.clone(), marker, s.color)
        });
        series.chain(self.bands.iter().map(|b| (b.label.clone(), Marker::Band, b.color))).collect()
    }

    /// Draws the title, the axes and the series on `area`, in axis units: the logarithm of
    /// the value on a logarithmic axis.
    fn draw(&self, area: &DrawingArea<SVGBackend<'_>, Shift>, x_axis: &Axis, y_axis: &Axis) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        let (xs, ys) = (self.x_scale, self.y_scale);
        let (width, height) = (area.dim_in_pixel().0 as i32, area.dim_in_pixel().1 as i32);
        let title = wrap(&self.title, TITLE_PX, f64::from(width - 2 * MARGIN));
        let title_height = MARGIN + title.len() as i32 * TITLE_LINE;
        let tick_width = y_axis.major.iter().map(|(_, l)| text_width(l, TICK_PX)).fold(0.0, f64::max);
        // each description wraps to the length its axis leaves, counting two lines for the other
        let y_length = height - title_height - MARGIN - (TICK_LABEL_GAP + TITLE_LINE + 2 * DESC_LINE);
        let y_desc = wrap(&y_axis.description, DESC_PX, f64::from(y_length));
        let y_area = 4 + y_desc.len() as i32 * DESC_LINE + 6 + tick_width.ceil() as i32 + TICK_LABEL_GAP;
        let x_desc = wrap(&x_axis.description, DESC_PX, f64::from(width - 2 * MARGIN - y_area));
        let x_area = TICK_LABEL_GAP + DESC_LINE + 6 + x_desc.len() as i32 * DESC_LINE;

        let title_font =
            ("sans-serif", TITLE_PX * SVG_FONT_SCALE).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, line) in title.iter().enumerate() {
            let pos = (width / 2, MARGIN - 5 + i as i32 * TITLE_LINE);
            area.draw(&Text::new(line.clone(), pos, title_font.clone())).map_err(err)?;
        }
        let mut chart = ChartBuilder::on(area)
            .margin_top(title_height)
            .margin_left(MARGIN)
            .margin_right(MARGIN + 5)
            .margin_bottom(MARGIN / 3)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x_axis.clone(), y_axis.clone())
            .map_err(err)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", TICK_PX * SVG_FONT_SCALE))
            .light_line_style(BLACK.mix(0.05))
            .draw()
            .map_err(err)?;

        // the axis descriptions, under the x tick labels and left of the y tick labels
        let (px, py) = chart.plotting_area().get_pixel_range();
        let desc_font = ("sans-serif", DESC_PX * SVG_FONT_SCALE).into_font();
        let x_font = desc_font.clone().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, line) in x_desc.iter().enumerate() {
            let pos = ((px.start + px.end) / 2, py.end + TICK_LABEL_GAP + DESC_LINE + 4 + i as i32 * DESC_LINE);
            area.draw(&Text::new(line.clone(), pos, x_font.clone())).map_err(err)?;
        }
        let y_font = desc_font.transform(FontTransform::Rotate270).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, line) in y_desc.iter().enumerate() {
            let pos = (MARGIN + 4 + i as i32 * DESC_LINE, (py.start + py.end) / 2);
            area.draw(&Text::new(line.clone(), pos, y_font.clone())).map_err(err)?;
        }

        let to_axis = |(px, py): (f64, f64)| (xs.axis_of(px), ys.axis_of(py));
        for b in &self.bands {
            let color = PALETTE[b.color % PALETTE.len()];
            let upper: Vec<(f64, f64)> =
                b.points.iter().map(|&(x, _, hi)| (x, hi)).filter(|&p| self.visible(p)).collect();
            let lower: Vec<(f64, f64)> =
                b.points.iter().map(|&(x, lo, _)| (x, lo)).filter(|&p| self.visible(p)).collect();
            let outline: Vec<(f64, f64)> = upper.iter().chain(lower.iter().rev()).map(|&p| to_axis(p)).collect();
            if outline.len() >= 3 {
                chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.18).filled()))).map_err(err)?;
            }
        }
        for s in &self.series {
            let color = PALETTE[s.color % PALETTE.len()];
            let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(|&p| self.visible(p)).map(to_axis).collect();
            match s.kind {
                SeriesKind::Line => {
                    chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2))).map_err(err)?;
                    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(err)?;
                }
                SeriesKind::Crosses => {
                    chart.draw_series(pts.iter().map(|&p| Cross::new(p, 6, color.stroke_width(2)))).map_err(err)?;
                }
            }
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
            let say = |label: &str, s: Scale| if s.is_log() { format!("{label} (log scale)") } else { label.into() };
            for label in ["Title here".into(), say("x axis", xl), say("y axis", yl), "a".into(), "b".into()] {
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
        // every number on the canvas is a power of ten
        for v in svg.lines().filter_map(|l| l.trim().parse::<f64>().ok()) {
            assert!((v.log10() - v.log10().round()).abs() < 1e-9, "tick {v} is not a power of ten");
        }
        assert!(svg.lines().any(|l| l.trim() == "x (log scale)") && svg.lines().any(|l| l.trim() == "y (log scale)"));
    }

    #[test]
    fn categorical_axes_name_each_category_at_its_integer() {
        let mut c = LineChart::new("t", "activation", "accuracy").categorical_x(&["relu", "tanh", "elu"]);
        c.add("a", SeriesKind::Crosses, 0, vec![(0.0, 0.5), (1.0, 0.6), (2.0, 0.7)]);
        let svg = c.to_svg().unwrap();
        for name in ["relu", "tanh", "elu"] {
            assert_eq!(svg.lines().filter(|l| l.trim() == name).count(), 1, "{name}");
        }
        // no numeric ticks between the categories: the y ticks carry two decimals
        for bad in ["0", "1", "2", "0.5", "1.2", "2.8"] {
            assert!(!svg.lines().any(|l| l.trim() == bad), "tick {bad}");
        }
    }

    #[test]
    fn a_long_legend_grows_the_canvas_below_the_plot() {
        let mut c = LineChart::new("t", "x", "y");
        for i in 0..16 {
            let label = format!("series {i}: a label long enough to need a second line in its column");
            c.add_with_band(&label, i, &[(0.0, 1.0, 0.1), (1.0, 2.0, 0.1)]);
        }
        let svg = c.to_svg().unwrap();
        let height: u32 = svg.split("height=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().parse().unwrap();
        assert!(height > HEIGHT, "canvas height {height}");
        assert!(svg.lines().any(|l| l.trim() == "series 0: a label long enough to need a"), "labels wrap");
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
}
