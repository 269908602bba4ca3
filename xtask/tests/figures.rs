//! The figure check (`figure_check/`) on figures made to fail it, and on charts that stress
//! the layout: long titles and axis descriptions, long and many legend labels, log and
//! categorical axes. The check itself runs over every experiment's figures in
//! `experiments.rs`, on the quick run that test already makes.

mod figure_check;

use figure_check::FigureChecker;
use xtask::{LineChart, Scale, SeriesKind};

fn svg(width: u32, height: u32, body: &str) -> String {
    format!(
        r#"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{body}</svg>"#
    )
}

fn text(x: i32, y: i32, anchor: &str, s: &str) -> String {
    format!(
        r#"<text x="{x}" y="{y}" dy="0.76em" text-anchor="{anchor}" font-family="sans-serif" font-size="12">{s}</text>"#
    )
}

#[test]
fn the_check_passes_a_figure_whose_text_fits() {
    let ok = svg(300, 100, &(text(10, 10, "start", "inside") + &text(10, 40, "start", "also inside")));
    let checker = FigureChecker::new();
    assert_eq!(checker.problems(&ok), Vec::<String>::new());
    let (labels, size) = checker.labels(&ok).unwrap();
    assert_eq!(size, (300.0, 100.0));
    // "inside" at 12 px in DejaVu Sans: i n s i d e = (0.278 + 0.634 + 0.521 + 0.278 + 0.635 + 0.615) em
    let expected = (0.278 + 0.634 + 0.521 + 0.278 + 0.635 + 0.615) * 12.0;
    assert!((f64::from(labels[0].rect.width()) - expected).abs() < 0.1, "{:?}", labels[0]);
}

#[test]
fn the_check_finds_text_off_the_canvas_by_layout_and_by_pixels() {
    let checker = FigureChecker::new();
    // right-aligned at x = 20: the label runs off the left edge
    let problems = checker.problems(&svg(300, 100, &text(20, 10, "end", "a long label")));
    assert!(problems.iter().any(|p| p.contains("runs off")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("pixels painted outside")), "{problems:?}");
    // a rotated label taller than the canvas
    let rotated = r#"<text x="15" y="50" text-anchor="middle" font-family="sans-serif" font-size="12" transform="rotate(270, 15, 50)">a description far longer than the canvas is tall</text>"#;
    let problems = checker.problems(&svg(300, 100, rotated));
    assert!(problems.iter().any(|p| p.contains("runs off")), "{problems:?}");
    // a line past the bottom edge is found by its pixels alone
    let line = r##"<polyline fill="none" stroke="#000000" stroke-width="2" points="10,90 10,130 "/>"##;
    let problems = checker.problems(&svg(300, 100, line));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("pixels painted outside"), "{problems:?}");
}

#[test]
fn the_check_finds_overlapping_text() {
    let checker = FigureChecker::new();
    let problems =
        checker.problems(&svg(300, 100, &(text(10, 10, "start", "first entry") + &text(40, 16, "start", "second"))));
    assert!(problems.iter().any(|p| p.contains("overlaps")), "{problems:?}");
    // the same two labels a line apart do not overlap
    let apart = svg(300, 100, &(text(10, 10, "start", "first entry") + &text(40, 25, "start", "second")));
    assert_eq!(checker.problems(&apart), Vec::<String>::new());
}

fn assert_readable(chart: &LineChart) {
    let svg = chart.to_svg().unwrap();
    let problems = FigureChecker::new().problems(&svg);
    assert!(problems.is_empty(), "{}:\n{}", chart.title, problems.join("\n"));
}

#[test]
fn long_titles_descriptions_and_legends_stay_on_the_canvas() {
    let mut c = LineChart::new(
        "relu: pre-activation variance by layer (crosses measured, lines mean field), with a title that goes on",
        "logit scale (logits = scale * z, z ~ N(0, 1)); a description long enough to need a second line under the axis",
        "max |error| (exact 0 drawn at 1e-19; non-finite: crosses along the top)",
    )
    .scales(Scale::Log10, Scale::Log10);
    for (i, label) in [
        "||Theta_emp(0) - Theta|| / ||Theta||",
        "||f_T(X*) - f_lin,T(X*)|| / ||f_lin,T(X*)||",
        "||Theta_emp(T) - Theta_emp(0)|| / ||Theta_emp(0)||",
        "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
    ]
    .iter()
    .enumerate()
    {
        c.add_with_band(label, i, &[(1e-2, 1e-19, 1e-20), (1e4, 3.16e-4, 1e-5)]);
    }
    assert_readable(&c);
}

#[test]
fn a_legend_too_long_for_the_panel_goes_below_and_stays_readable() {
    let mut c = LineChart::new("Gradient norm |dh_T / dh_(T-lag)| against lag", "lag", "gradient norm")
        .scales(Scale::Linear, Scale::Log10);
    for rho in ["0.9", "1", "1.1"] {
        for (j, kind) in ["linear regime", "rho^lag", "driven (tanh saturating)"].iter().enumerate() {
            let label = format!("rho {rho}: {kind} (mean of 3 seeds)");
            let pts: Vec<(f64, f64, f64)> = (1..40).map(|l| (l as f64, 1.1f64.powi(l) * (j + 1) as f64, 0.1)).collect();
            c.add_with_band(&label, j, &pts);
        }
    }
    assert_readable(&c);
}

#[test]
fn categorical_and_narrow_log_axes_are_readable() {
    let mut c = LineChart::new("depth 30: test accuracy, unmodified vs designed", "activation pair", "test accuracy")
        .categorical_x(&["relu", "tanh", "elu"]);
    c.add("unmodified", SeriesKind::Crosses, 0, vec![(0.0, 0.1), (1.0, 0.5), (2.0, 0.9)]);
    c.add("chance", SeriesKind::Line, 2, vec![(-0.5, 0.1), (2.5, 0.1)]);
    assert_readable(&c);
    for (lo, hi) in [(1.78, 2.82), (0.04, 0.63), (45.0, 90.0), (3e-5, 7e4)] {
        for scale in [Scale::Log10, Scale::Log2] {
            let mut c = LineChart::new("narrow", "x", "y").scales(scale, scale);
            c.add("a", SeriesKind::Line, 0, vec![(lo, lo), (hi, hi)]);
            assert_readable(&c);
        }
    }
}

/// Checks the figures of an earlier run: `FIGURES=DIR cargo test -p xtask --test figures --
/// --ignored figures_of_a_run`, with DIR the `--out` directory of `cargo xtask experiments`.
#[test]
#[ignore = "needs FIGURES=DIR, the output directory of a run"]
fn figures_of_a_run() {
    let dir = std::path::PathBuf::from(std::env::var("FIGURES").expect("FIGURES=DIR"));
    let checker = FigureChecker::new();
    let mut problems = Vec::new();
    let mut count = 0;
    for exp in std::fs::read_dir(&dir).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for fig in std::fs::read_dir(exp.path()).unwrap().flatten() {
            if fig.path().extension().is_some_and(|e| e == "svg") {
                count += 1;
                let svg = std::fs::read_to_string(fig.path()).unwrap();
                problems.extend(checker.problems(&svg).into_iter().map(|p| format!("{}: {p}", fig.path().display())));
            }
        }
    }
    assert!(count > 0, "no figures under {}", dir.display());
    assert!(problems.is_empty(), "{} problems in {count} figures:\n{}", problems.len(), problems.join("\n"));
}
