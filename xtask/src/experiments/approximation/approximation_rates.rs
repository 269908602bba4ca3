//! `approximation-rates`: error against width for every certified construction, with the
//! fitted slope beside the theory's, and the certificate never exceeded.
//!
//! | series | target | theory (sup error) |
//! | --- | --- | --- |
//! | sigmoid, tanh, erf staircase (Cybenko) | `|x - c|` on `[0, 1]`, Lipschitz 1, worst of 8 kinks `c` | `omega(h/2) ~ N^-1` |
//! | sigmoid staircase | `sqrt(x)` on `[0, 1]`, modulus `sqrt(delta)` | `sqrt(h/2) ~ N^-1/2` |
//! | ReLU, softplus, ELU interpolation | `sin(3x) + x^2/2`, `|f''| <= 10` | `M2 h^2 / 8 ~ N^-2` |
//! | sin (Fejér–Korovkin cosine series) | `|x - c|`, worst of 8 kinks | `~ L pi / (2n) ~ N^-1` (Jackson) |
//! | piecewise-constant grid in `d = 1, 2, 3` | `sin(x_1 + ... + x_d)` on `[0, 1]^d` | `d h / 2 ~ N^-1/d` |
//! | sigmoid ridge construction in 2-D | a Gaussian bump | width needed against eps (no rate claimed) |
//!
//! The rates are worst cases over a class of targets: one kink's error depends on where it
//! falls between two knots (a factor between 1/2 and 1 of `omega(h/2)`), so the kink sweeps
//! take the largest error over 8 kink positions `c = 0.3 + 0.0137 j`.
//!
//! Widths come from the requested accuracies (`eps` sweeps); the measured sup error is taken
//! on a dense grid, random points and the points where the error concentrates (the kink, near
//! 0 for sqrt, around the first thresholds). Slopes are least-squares fits of log sup error
//! against log width. Everything is deterministic (random points from the run seed).
//!
//! Measured at full size with seed 0 (2026-12, `cargo xtask experiments --only
//! approximation-rates`, release build): see the report for the numbers.

use dl_layers::Activation;
use dl_theory::approximation::grid::GridApproximation;
use dl_theory::approximation::rates::fit_power_law;
use dl_theory::approximation::{Construction, Modulus, Target, UniversalApproximator, verify_approximation_error};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::approximation::approx_common::{
    Family, SECTION, around, fail, measured_error, near_zero, reference_line,
};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Error against width for every construction.
pub struct ApproximationRates;

/// One swept construction: `(width, certificate, measured sup)` per eps.
struct Sweep {
    id: String,
    label: String,
    theory: f64,
    /// `(width, certificate, measured sup, largest measured / certificate)` per eps.
    points: Vec<(f64, f64, f64, f64)>,
}

fn smooth() -> Result<Target<'static>, ExperimentError> {
    Target::new_1d(|x: f64| (3.0 * x).sin() + 0.5 * x * x, 0.0, 1.0, Modulus::lipschitz(4.0).map_err(fail)?)
        .and_then(|t| t.with_second_derivative_bound(10.0))
        .map_err(fail)
}

fn sqrt_target() -> Result<Target<'static>, ExperimentError> {
    Target::new_1d(f64::sqrt, 0.0, 1.0, Modulus::holder(1.0, 0.5).map_err(fail)?).map_err(fail)
}

/// Sweeps `eps` for `act` over a family of targets (one construction each) and records, per
/// eps, the largest width, certificate and measured sup error over the family.
fn sweep(
    label: &str,
    act: Activation,
    family: &[(Target<'_>, Vec<Vec<f64>>)],
    epsilons: &[f64],
    theory: f64,
    seed: u64,
    m: &mut Metrics,
) -> Result<Sweep, ExperimentError> {
    let mut points = Vec::new();
    for &eps in epsilons {
        let (mut width, mut cert, mut sup, mut l2, mut ratio) = (0usize, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let mut detail = String::new();
        for (target, special) in family {
            let a = UniversalApproximator::new(act).map_err(fail)?.approximate(target, eps).map_err(fail)?;
            let (s, l) = measured_error(&a, target, 4001, 1000, special, seed)?;
            ratio = ratio.max(s / a.certified_error());
            if s >= sup {
                detail = match a.construction() {
                    Construction::Staircase { steepness, .. } => format!("steepness {steepness:.4e}"),
                    Construction::Interpolation { sharpness, .. } => format!("sharpness {sharpness}"),
                    Construction::Cosine { degree } => format!("degree {degree}"),
                    Construction::Ridge { fourier_degree, profiles, .. } => {
                        format!("degree {fourier_degree}, {profiles} profiles")
                    }
                };
            }
            width = width.max(a.width());
            cert = cert.max(a.certified_error());
            sup = sup.max(s);
            l2 = l2.max(l);
        }
        m.push_row(
            "constructions",
            vec![label.into(), num(eps), json!(width), num(cert), num(sup), num(l2), num(ratio), detail.into()],
        )?;
        points.push((width as f64, cert, sup, ratio));
    }
    let id = format!("rate-{}", label.split(',').next().unwrap_or(label))
        + if label.contains("sqrt") { "-holder" } else { "" };
    Ok(Sweep { id, label: label.to_string(), theory, points })
}

/// `|x - c|` for 8 kink positions `c = 0.3 + 0.0137 j`: the sup over the Lipschitz class is
/// what the rate bounds, and one kink's error depends on where it falls between two knots.
fn kink_family() -> Result<Family, ExperimentError> {
    (0..8)
        .map(|j| {
            let c = 0.3 + 0.0137 * j as f64;
            let t = Target::new_1d(move |x: f64| (x - c).abs(), 0.0, 1.0, Modulus::lipschitz(1.0).map_err(fail)?)
                .map_err(fail)?;
            Ok((t, around(c)))
        })
        .collect()
}

impl Experiment for ApproximationRates {
    fn id(&self) -> &'static str {
        "approximation-rates"
    }
    fn title(&self) -> &'static str {
        "Certified universal approximation: error against width per activation, fitted slopes beside theory"
    }
    fn section(&self) -> &'static str {
        SECTION
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let seed = ctx.seed();
        let stair_eps: Vec<f64> =
            size.pick(vec![0.1, 0.03, 0.01, 0.003], vec![0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001]);
        let holder_eps: Vec<f64> = size.pick(vec![0.3, 0.1, 0.05], vec![0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01]);
        let interp_eps: Vec<f64> =
            size.pick(vec![1e-2, 1e-3, 1e-4], vec![1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6]);
        let sine_eps: Vec<f64> = size.pick(vec![0.1, 0.03, 0.01], vec![0.1, 0.05, 0.02, 0.01, 0.005, 0.002]);
        let grids: Vec<(usize, Vec<usize>, usize)> = size.pick(
            vec![(1, vec![8, 32, 128], 4001), (2, vec![4, 8, 16], 101), (3, vec![2, 4, 8], 25)],
            vec![(1, vec![4, 16, 64, 256, 1024], 20001), (2, vec![4, 8, 16, 32, 64], 401), (3, vec![2, 4, 8, 16], 61)],
        );
        let ridge_eps: Vec<f64> = size.pick(vec![0.1], vec![0.1, 0.07, 0.05]);
        let mut m = Metrics::new();
        m.config("staircase_eps", stair_eps.clone());
        m.config("holder_eps", holder_eps.clone());
        m.config("interpolation_eps", interp_eps.clone());
        m.config("sine_eps", sine_eps.clone());
        m.config(
            "grid_cells_per_axis",
            json!(grids.iter().map(|(d, c, _)| json!({"d": d, "cells": c})).collect::<Vec<_>>()),
        );
        m.config("ridge_eps", ridge_eps.clone());
        m.config(
            "measurement",
            "dense grid (4001 points in 1-D) + 1000 uniform points + the kink / near-0 / threshold points",
        );
        m.table(
            "constructions",
            &["series", "eps", "width", "certificate", "measured_sup", "measured_l2_grid", "ratio", "detail"],
        );
        let kinks = kink_family()?;
        let smooth = vec![(smooth()?, Vec::new())];
        let sqrt_t = vec![(sqrt_target()?, near_zero())];
        let mut sweeps = Vec::new();
        let total_steps = 9u64;
        for (i, (label, act)) in
            [("sigmoid", Activation::Sigmoid), ("tanh", Activation::Tanh), ("erf", Activation::Erf)].iter().enumerate()
        {
            ctx.message(format!("{label} staircase"));
            sweeps.push(sweep(label, *act, &kinks, &stair_eps, -1.0, seed, &mut m)?);
            ctx.progress(i as u64 + 1, total_steps);
        }
        sweeps.push(sweep(
            "sigmoid, sqrt (Hölder 1/2)",
            Activation::Sigmoid,
            &sqrt_t,
            &holder_eps,
            -0.5,
            seed,
            &mut m,
        )?);
        for (i, (label, act)) in
            [("relu", Activation::Relu), ("softplus", Activation::Softplus), ("elu", Activation::Elu(1.0))]
                .iter()
                .enumerate()
        {
            ctx.message(format!("{label} interpolation"));
            sweeps.push(sweep(label, *act, &smooth, &interp_eps, -2.0, seed, &mut m)?);
            ctx.progress(4 + i as u64, total_steps);
        }
        sweeps.push(sweep("sin", Activation::Sin, &kinks, &sine_eps, -1.0, seed, &mut m)?);
        ctx.progress(8, total_steps);
        // grid methods in d = 1, 2, 3
        m.table("grid", &["d", "cells_per_axis", "cells_N", "bound", "measured_sup", "ratio"]);
        let mut grid_sweeps = Vec::new();
        for (d, cells, verify_grid) in &grids {
            let d = *d;
            let f = |x: &[f64]| x.iter().sum::<f64>().sin();
            let target = Target::new(f, &vec![0.0; d], &vec![1.0; d], vec![Modulus::lipschitz(1.0).map_err(fail)?])
                .map_err(fail)?;
            let mut pts = Vec::new();
            for &c in cells {
                let g = GridApproximation::piecewise_constant(&f, &vec![0.0; d], &vec![1.0; d], c).map_err(fail)?;
                let bound = g.sup_bound(&target).ok_or_else(|| fail("piecewise-constant grids have a bound"))?;
                // the grid method is a function, not a Module: measure it on the same point sets
                let grid_pts = dl_theory::approximation::verify::uniform_grid(&target, *verify_grid).map_err(fail)?;
                let mut rng = dl_tensor::seeded_rng(seed ^ 0x6121d);
                let rnd = dl_theory::approximation::verify::random_points(&target, 2000, &mut rng);
                let sup = grid_pts.iter().chain(&rnd).map(|p| (g.eval(p) - f(p)).abs()).fold(0.0, f64::max);
                m.push_row("grid", vec![json!(d), json!(c), json!(g.size()), num(bound), num(sup), num(sup / bound)])?;
                pts.push((g.size() as f64, bound, sup, sup / bound));
            }
            grid_sweeps.push(Sweep {
                id: format!("rate-grid-d{d}"),
                label: format!("grid d = {d}"),
                theory: -1.0 / d as f64,
                points: pts,
            });
        }
        // the 2-D ridge construction: widths and certificates (no rate claimed)
        let bump = Target::new(
            |x: &[f64]| (-((x[0] - 0.5).powi(2) + (x[1] - 0.4).powi(2)) / 0.1).exp(),
            &[0.0, 0.0],
            &[1.0, 1.0],
            vec![Modulus::lipschitz(1.92).map_err(fail)?],
        )
        .map_err(fail)?;
        ctx.message("2-D ridge construction");
        let mut ridge_ratio = 0.0f64;
        for &eps in &ridge_eps {
            let a = UniversalApproximator::sigmoid().approximate(&bump, eps).map_err(fail)?;
            let r = verify_approximation_error(a.network(), &bump, 61, 1000, seed).map_err(fail)?;
            let (sup, cert) = (r.sup(), a.certified_error());
            ridge_ratio = ridge_ratio.max(sup / cert);
            let detail = format!("{:?}", a.construction());
            m.push_row(
                "constructions",
                vec![
                    "sigmoid 2-D ridge, Gaussian bump".into(),
                    num(eps),
                    json!(a.width()),
                    num(cert),
                    num(sup),
                    num(r.grid.l2),
                    num(sup / cert),
                    detail.into(),
                ],
            )?;
        }
        ctx.progress(9, total_steps);
        // slopes and claims
        m.table("slopes", &["series", "fitted_slope_measured", "fitted_slope_certificate", "theory"]);
        let mut worst_ratio = ridge_ratio;
        let claim_for = |label: &str| -> (&'static str, &'static str, f64) {
            match label {
                "sigmoid" | "tanh" | "erf" => (
                    "Cybenko's staircase of steep sigmoids: sup error omega(h/2) ~ N^-1 for a Lipschitz target",
                    "Cybenko 1989 (construction: docs/approximation.md §2)",
                    0.1,
                ),
                "sigmoid, sqrt (Hölder 1/2)" => (
                    "the width follows the modulus: sqrt has omega(delta) = sqrt(delta), so the error falls like N^-1/2",
                    "docs/approximation.md §2 (width from the modulus)",
                    0.1,
                ),
                "relu" | "softplus" | "elu" => (
                    "piecewise-linear interpolation: sup error M2 h^2 / 8 ~ N^-2 for a C^2 target",
                    "classical interpolation remainder; docs/approximation.md §3",
                    0.2,
                ),
                "sin" => (
                    "the Fejér–Korovkin cosine series: Jackson's bound ~ L pi / (2n), so N^-1 for a Lipschitz kink",
                    "Jackson 1912, Korovkin 1959; docs/approximation.md §4",
                    0.1,
                ),
                _ => (
                    "a grid of N cells in d dimensions has spacing N^(-1/d): sup error ~ N^(-1/d)",
                    "docs/approximation.md §6",
                    0.1,
                ),
            }
        };
        let mut figure_groups: Vec<(&str, &str, Vec<&Sweep>)> = vec![
            (
                "rates_staircase",
                "Cybenko's staircase (sigmoid, tanh, erf) and the Hölder target",
                sweeps[..4].iter().collect(),
            ),
            ("rates_interpolation", "ReLU-family interpolation of sin(3x) + x^2/2", sweeps[4..7].iter().collect()),
            ("rates_sine_and_grids", "sin (cosine series) on |x - c| and grids in d = 1, 2, 3", vec![&sweeps[7]]),
        ];
        figure_groups[2].2.extend(grid_sweeps.iter());
        for s in sweeps.iter().chain(&grid_sweeps) {
            let n: Vec<f64> = s.points.iter().map(|p| p.0).collect();
            let measured: Vec<f64> = s.points.iter().map(|p| p.2).collect();
            let cert: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            let fit = fit_power_law(&n, &measured).map_err(fail)?;
            let fit_c = fit_power_law(&n, &cert).map_err(fail)?;
            m.push_row("slopes", vec![s.label.clone().into(), num(fit.slope), num(fit_c.slope), num(s.theory)])?;
            worst_ratio = s.points.iter().map(|p| p.3).fold(worst_ratio, f64::max);
            let (statement, source, tol) = claim_for(&s.label);
            m.claim(
                Claim::new(&s.id, statement, source)
                    .measured(
                        &format!("fitted slope of log sup error against log width, {}", s.label),
                        Measured::exact(fit.slope),
                    )
                    .criterion(Criterion::within(s.theory, tol))
                    .partly_if(Criterion::within(s.theory, 2.5 * tol)),
            )?;
        }
        m.scalar("worst_measured_over_certificate", worst_ratio);
        m.claim(
            Claim::new(
                "certificate-never-exceeded",
                "every construction's measured sup error is within its certified bound (f64 evaluation included)",
                "docs/approximation.md (the certificates)",
            )
            .measured("largest measured sup error / certificate over every construction", Measured::exact(worst_ratio))
            .criterion(Criterion::at_most(1.0)),
        )?;
        for (name, title, group) in figure_groups {
            let mut chart = LineChart::new(title, "width N (hidden units; cells for grids)", "sup error")
                .scales(Scale::Log10, Scale::Log10);
            for (i, s) in group.iter().enumerate() {
                let measured: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, p.2)).collect();
                chart.add(&format!("{} measured", s.label), SeriesKind::Line, i, measured.clone());
                chart.add(
                    &format!("{} certificate", s.label),
                    SeriesKind::Crosses,
                    i,
                    s.points.iter().map(|p| (p.0, p.1)).collect(),
                );
                chart.add(
                    &format!("slope {:.2} (theory)", s.theory),
                    SeriesKind::Line,
                    5,
                    reference_line(&measured, s.theory),
                );
            }
            ctx.figure(name, &chart)?;
        }
        Ok(m)
    }
}
