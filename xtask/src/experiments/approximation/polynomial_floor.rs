//! `approximation-polynomial-floor`: a polynomial activation cannot approximate a
//! non-polynomial target (Leshno, Lin, Pinkus & Schocken 1993, Theorem 1).
//!
//! With `act(z) = z^k` every network `c_0 + sum_i c_i (w_i x + b_i)^k` is a polynomial of
//! degree `<= k`, so its error is at least the best polynomial error of degree `k`, whatever
//! the width. The floor is computed independently of any network: least squares in the
//! Chebyshev basis (L2) and the Remez algorithm with de la Vallée Poussin's lower bound (sup).
//! Networks of width 1..256 with random hidden units have their output layer fitted by least
//! squares; beside them the same fit with sigmoid units, whose error keeps falling.
//!
//! Targets on `[-1, 1]`: `|x|` and Runge's `1 / (1 + 25 x^2)`; degree `k = 3`. Measured at
//! full size with seed 0 (see the report for the numbers).

use dl_layers::Activation;
use dl_tensor::seeded_rng;
use dl_theory::approximation::least_squares::{RandomFeatures, fit_random_features};
use dl_theory::approximation::polynomial::{fit_polynomial_network, polynomial_floor};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::approximation::approx_common::{NamedFn, SECTION, fail};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// The polynomial floor against width.
pub struct PolynomialFloor;

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let s = if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (m, s)
}

impl Experiment for PolynomialFloor {
    fn id(&self) -> &'static str {
        "approximation-polynomial-floor"
    }
    fn title(&self) -> &'static str {
        "A polynomial activation has an error floor that no width lowers (Leshno et al. 1993)"
    }
    fn section(&self) -> &'static str {
        SECTION
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let widths: Vec<usize> = size.pick(vec![1, 2, 4, 8, 16, 32], vec![1, 2, 4, 8, 16, 32, 64, 128, 256]);
        let seeds = ctx.replicate_seeds(size.pick(2, 5));
        let degree = 3u32;
        let points: Vec<f64> = (0..801).map(|i| -1.0 + i as f64 / 400.0).collect();
        let sup_grid: Vec<f64> = (0..4001).map(|i| -1.0 + i as f64 / 2000.0).collect();
        let targets: [NamedFn; 2] = [("|x|", |x: f64| x.abs()), ("1/(1+25x^2)", |x: f64| 1.0 / (1.0 + 25.0 * x * x))];
        let mut m = Metrics::new();
        m.config("widths", widths.clone());
        m.config("seeds", seeds.clone());
        m.config("degree", degree);
        m.config("fit_points", "801 uniform points on [-1, 1] (the L2 measure)");
        m.config("sup_points", "4001 uniform points on [-1, 1]");
        m.config(
            "hidden_units",
            "power: w, b uniform on [-1, 1]; sigmoid: |w| uniform on [2, 40], threshold uniform on [-1, 1]",
        );
        m.table("floor", &["target", "degree", "l2_floor", "sup_floor_lower", "sup_floor_upper", "remez_iterations"]);
        m.table(
            "fits",
            &[
                "target",
                "activation",
                "width",
                "rms_mean",
                "rms_sd",
                "rms_over_floor_min",
                "rms_over_floor_max",
                "sup_min_over_seeds",
            ],
        );
        let (mut min_ratio, mut max_ratio_above, mut min_sup_ratio) =
            (vec![f64::INFINITY; seeds.len()], vec![0.0f64; seeds.len()], vec![f64::INFINITY; seeds.len()]);
        let mut sigmoid_last = vec![0.0f64; seeds.len()];
        for (ti, (name, f)) in targets.iter().enumerate() {
            let values: Vec<f64> = points.iter().map(|&x| f(x)).collect();
            let floor = polynomial_floor(f, -1.0, 1.0, degree, &points, 20001).map_err(fail)?;
            m.push_row(
                "floor",
                vec![
                    (*name).into(),
                    json!(degree),
                    num(floor.l2),
                    num(floor.sup_lower),
                    num(floor.sup_upper),
                    json!(floor.remez_iterations),
                ],
            )?;
            let mut chart = LineChart::new(
                &format!("{name}: degree-{degree} activation against sigmoid"),
                "width",
                "RMS error (801 points)",
            )
            .scales(Scale::Log2, Scale::Log10);
            let mut poly_band = Vec::new();
            let mut sig_band = Vec::new();
            for &w in &widths {
                let (mut poly, mut sig, mut poly_sup) = (Vec::new(), Vec::new(), Vec::new());
                for (si, &seed) in seeds.iter().enumerate() {
                    let mut rng = seeded_rng(seed ^ (ti as u64) << 32 ^ w as u64);
                    let (net, ls) = fit_polynomial_network(degree, w, &points, &values, &mut rng).map_err(fail)?;
                    let sup = sup_grid.iter().map(|&x| (net.eval(x) - f(x)).abs()).fold(0.0, f64::max);
                    let ratio = ls.residual_rms / floor.l2;
                    min_ratio[si] = min_ratio[si].min(ratio);
                    if w > degree as usize {
                        max_ratio_above[si] = max_ratio_above[si].max(ratio);
                    }
                    min_sup_ratio[si] = min_sup_ratio[si].min(sup / floor.sup_lower);
                    poly.push(ls.residual_rms);
                    poly_sup.push(sup);
                    let (_, ls_s) = fit_random_features(
                        RandomFeatures {
                            activation: Activation::Sigmoid,
                            width: w,
                            interval: (-1.0, 1.0),
                            steepness: (2.0, 40.0),
                        },
                        &points,
                        &values,
                        &mut rng,
                    )
                    .map_err(fail)?;
                    sig.push(ls_s.residual_rms);
                    if w == *widths.last().expect("widths") {
                        sigmoid_last[si] = sigmoid_last[si].max(ls_s.residual_rms / floor.l2);
                    }
                }
                let ratios: Vec<f64> = poly.iter().map(|r| r / floor.l2).collect();
                let (pm, ps) = mean_sd(&poly);
                let (sm, ss) = mean_sd(&sig);
                m.push_row(
                    "fits",
                    vec![
                        (*name).into(),
                        format!("power {degree}").into(),
                        json!(w),
                        num(pm),
                        num(ps),
                        num(ratios.iter().cloned().fold(f64::INFINITY, f64::min)),
                        num(ratios.iter().cloned().fold(0.0, f64::max)),
                        num(poly_sup.iter().cloned().fold(f64::INFINITY, f64::min)),
                    ],
                )?;
                m.push_row(
                    "fits",
                    vec![
                        (*name).into(),
                        "sigmoid".into(),
                        json!(w),
                        num(sm),
                        num(ss),
                        num(sm / floor.l2),
                        num(sm / floor.l2),
                        "NaN".into(),
                    ],
                )?;
                poly_band.push((w as f64, pm, ps));
                sig_band.push((w as f64, sm, ss));
            }
            chart.add_with_band(&format!("power {degree} network (least squares)"), 0, &poly_band);
            chart.add_with_band("sigmoid network (least squares)", 1, &sig_band);
            let span = (widths[0] as f64, *widths.last().expect("widths") as f64);
            chart.add(
                &format!("L2 floor of degree {degree} (Chebyshev least squares)"),
                SeriesKind::Line,
                2,
                vec![(span.0, floor.l2), (span.1, floor.l2)],
            );
            ctx.figure(&format!("floor_{}", if ti == 0 { "abs" } else { "runge" }), &chart)?;
            ctx.progress(ti as u64 + 1, targets.len() as u64);
        }
        m.claim(
            Claim::new("floor-never-beaten", "a network with activation z^k is a polynomial of degree <= k: its L2 error is never below the degree-k least-squares floor", "Leshno, Lin, Pinkus & Schocken 1993; docs/approximation.md §5")
                .measured("smallest network RMS / floor over widths and both targets, per seed", Measured::over_seeds(&min_ratio))
                .criterion(Criterion::at_least(1.0 - 1e-9)),
        )?;
        m.claim(
            Claim::new("sits-on-the-floor", "from width k + 1 on, random units span all of P_k and the fitted network reaches the floor: the error no longer falls with width", "Leshno et al. 1993; docs/approximation.md §5")
                .measured("largest network RMS / floor over widths > k, per seed", Measured::over_seeds(&max_ratio_above))
                .criterion(Criterion::at_most(1.0 + 1e-6))
                .partly_if(Criterion::at_most(1.01)),
        )?;
        m.claim(
            Claim::new(
                "sup-floor-never-beaten",
                "the sup error is at least E_k(f), bounded below by de la Vallée Poussin from the Remez alternation",
                "de la Vallée Poussin 1911; Remez 1934",
            )
            .measured("smallest network sup error / Remez lower bound, per seed", Measured::over_seeds(&min_sup_ratio))
            .criterion(Criterion::at_least(1.0)),
        )?;
        m.claim(
            Claim::new("non-polynomial-goes-below", "a non-polynomial activation (sigmoid) has no floor: at the largest width its error is well below the polynomial floor", "Leshno et al. 1993, Theorem 1")
                .measured("sigmoid RMS / degree-k floor at the largest width (worse target), per seed", Measured::over_seeds(&sigmoid_last))
                .criterion(Criterion::at_most(0.5))
                .partly_if(Criterion::at_most(1.0)),
        )?;
        Ok(m)
    }
}
