//! `signal-propagation-phase-diagram`: the ordered and chaotic phases of deep tanh networks
//! in the (sigma_w2, sigma_b2) plane, and the critical line between them (Poole et al.
//! 2016, figure 3; Schoenholz et al. 2017, figure 1).
//!
//! For every grid point the length map's fixed point q* and the slope chi_1 =
//! sigma_w2 E[phi'(sqrt(q*) z)^2] come from `dl_init::phase_diagram`; chi_1 < 1 is ordered
//! (nearby inputs converge), chi_1 > 1 chaotic (they decorrelate). The critical line is
//! `dl_init::critical_sigma_w2` at each sigma_b2, solved to 1e-8. As a consistency check
//! the experiment counts grid points whose phase disagrees with their side of the line
//! (expected: none).
//!
//! Claims (deterministic, no random draw): at `sigma_b2 = 0` the critical point is
//! `sigma_w2 = 1` exactly (`q* = 0`, where `chi_1 = sigma_w2 tanh'(0)^2`); the line splits
//! the grid into the two phases; it rises with `sigma_b2` (Poole et al. 2016, figure 3);
//! and its value at `sigma_b2 = 0.05` agrees with an independent computation here (the
//! Gaussian expectations by the trapezoidal rule on `[-12, 12]`, which converges
//! geometrically for analytic integrands, instead of dl-init's Gauss-Hermite engine; `q*`
//! and then `chi_1 = 1` by bisection).

use dl_init::{Activation, Phase, critical_line, critical_sigma_w2, phase_diagram};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Phase diagram of tanh networks.
pub struct PhaseDiagram;

fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64).collect()
}

impl Experiment for PhaseDiagram {
    fn id(&self) -> &'static str {
        "signal-propagation-phase-diagram"
    }
    fn title(&self) -> &'static str {
        "Mean-field phase diagram of tanh networks: ordered and chaotic phases and the critical line"
    }
    fn section(&self) -> &'static str {
        "03 initialisation, signal propagation"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let act = Activation::Tanh;
        let line_b2 = grid(0.0, 0.3, size.pick(7, 31));
        let grid_w2 = grid(0.5, 4.0, size.pick(8, 36));
        let grid_b2 = grid(0.0, 0.3, size.pick(4, 16));
        let mut m = Metrics::new();
        m.config("activation", "tanh");
        m.config("sigma_w2_grid", json!([0.5, 4.0, grid_w2.len()]));
        m.config("sigma_b2_grid", json!([0.0, 0.3, grid_b2.len()]));
        m.config("critical_line_points", line_b2.len());

        ctx.message("critical line");
        m.table("critical_line", &["sigma_b2", "critical_sigma_w2"]);
        let mut line = Vec::new();
        for (b2, w2) in critical_line(&act, &line_b2) {
            let w2 = w2?;
            m.push_row("critical_line", vec![num(b2), num(w2)])?;
            line.push((w2, b2));
        }
        ctx.progress(1, 2);

        ctx.message("phase grid");
        m.table("grid", &["sigma_w2", "sigma_b2", "q_star", "chi_1", "phase"]);
        let (mut ordered, mut chaotic) = (Vec::new(), Vec::new());
        let mut inconsistent = 0;
        let grid_crit: Vec<f64> = grid_b2.iter().map(|&b2| critical_sigma_w2(&act, b2)).collect::<Result<_, _>>()?;
        for (i, p) in phase_diagram(&act, &grid_w2, &grid_b2).into_iter().enumerate() {
            let (q, chi, phase) = p.outcome?;
            let label = match phase {
                Phase::Ordered => "ordered",
                Phase::Critical => "critical",
                Phase::Chaotic => "chaotic",
            };
            m.push_row("grid", vec![num(p.sigma_w2), num(p.sigma_b2), num(q), num(chi), json!(label)])?;
            // The side of the critical line this point lies on (the grid is row by row in sigma_b2).
            let w_crit = grid_crit[i / grid_w2.len()];
            let expect = if p.sigma_w2 < w_crit { Phase::Ordered } else { Phase::Chaotic };
            if phase != Phase::Critical && phase != expect {
                inconsistent += 1;
            }
            match phase {
                Phase::Ordered => ordered.push((p.sigma_w2, p.sigma_b2)),
                _ => chaotic.push((p.sigma_w2, p.sigma_b2)),
            }
        }
        ctx.progress(2, 2);
        m.scalar("ordered_points", ordered.len() as f64);
        m.scalar("chaotic_points", chaotic.len() as f64);
        m.scalar("points_on_the_wrong_side_of_the_line", inconsistent as f64);
        m.scalar("critical_sigma_w2_at_sigma_b2_0", line[0].0);
        let crit_005 = critical_sigma_w2(&act, 0.05)?;
        m.scalar("critical_sigma_w2_at_sigma_b2_0.05", crit_005);
        let independent = independent_critical_sigma_w2(0.05);
        m.scalar("independent_critical_sigma_w2_at_sigma_b2_0.05", independent);
        let rising = line.windows(2).filter(|w| w[1].0 > w[0].0).count() as f64 / (line.len() - 1).max(1) as f64;
        m.claim(
            Claim::new(
                "critical-point-at-zero-bias",
                "for tanh without bias variance the critical point is sigma_w2 = 1: q* = 0 and chi_1 = sigma_w2 \
                 tanh'(0)^2",
                "Poole et al. 2016, section 3; Schoenholz et al. 2017, figure 1",
            )
            .measured("critical sigma_w2 at sigma_b2 = 0", Measured::exact(line[0].0))
            .criterion(Criterion::within(1.0, 1e-6)),
        )?;
        m.claim(
            Claim::new(
                "line-separates-phases",
                "chi_1 = 1 separates an ordered phase (chi_1 < 1, below the line) from a chaotic one (chi_1 > 1, \
                 above it)",
                "Poole et al. 2016, figure 3; Schoenholz et al. 2017, figure 1",
            )
            .measured(
                "fraction of grid points on the wrong side of the critical line",
                Measured::exact(inconsistent as f64 / (ordered.len() + chaotic.len()) as f64),
            )
            .criterion(Criterion::at_most(0.0)),
        )?;
        m.claim(
            Claim::new(
                "line-rises-with-bias",
                "the critical sigma_w2 grows with sigma_b2: a larger bias variance needs larger weights to reach chaos",
                "Poole et al. 2016, figure 3; Schoenholz et al. 2017, figure 1",
            )
            .measured("fraction of consecutive line points where critical sigma_w2 increases", Measured::exact(rising))
            .criterion(Criterion::at_least(1.0)),
        )?;
        m.claim(
            Claim::new(
                "critical-line-independent-check",
                "the critical line of dl-init's expectation engine agrees with an independent quadrature",
                "mean-field equations of Poole et al. 2016 (eqs. 3-4) solved here by the trapezoidal rule",
            )
            .measured(
                "|dl-init - independent| critical sigma_w2 at sigma_b2 = 0.05",
                Measured::exact((crit_005 - independent).abs()),
            )
            .criterion(Criterion::at_most(1e-6))
            .note("dl-init solves to 1e-8; both quadratures are accurate far below 1e-6 for tanh"),
        )?;

        let mut chart = LineChart::new("tanh networks: phase diagram", "sigma_w^2", "sigma_b^2")
            .scales(Scale::Linear, Scale::Linear);
        chart.add("critical line (chi_1 = 1)", SeriesKind::Line, 0, line);
        chart.add("ordered (chi_1 < 1)", SeriesKind::Crosses, 1, ordered);
        chart.add("chaotic (chi_1 > 1)", SeriesKind::Crosses, 2, chaotic);
        ctx.figure("phase_diagram", &chart)?;
        Ok(m)
    }
}

/// `E[f(z)]`, `z ~ N(0, 1)`, by the trapezoidal rule with step 1/100 on `[-12, 12]` (the
/// Gaussian tail beyond 12 is below 1e-32; for analytic `f` the rule converges
/// geometrically in the step).
fn gaussian_mean(f: impl Fn(f64) -> f64) -> f64 {
    let (h, n) = (0.01, 1200);
    let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    (-n..=n).map(|i| i as f64 * h).map(|z| f(z) * (-0.5 * z * z).exp()).sum::<f64>() * h * norm
}

/// The critical `sigma_w2` of tanh at `sigma_b2`, independently of dl-init: the length map's
/// fixed point `q* = sigma_w2 E[tanh(sqrt(q*) z)^2] + sigma_b2` by bisection on `q`, then
/// `chi_1 = sigma_w2 E[sech(sqrt(q*) z)^4] = 1` by bisection on `sigma_w2` in `[1, 4]`.
fn independent_critical_sigma_w2(sigma_b2: f64) -> f64 {
    let q_star = |w2: f64| {
        let gap = |q: f64| w2 * gaussian_mean(|z| (q.sqrt() * z).tanh().powi(2)) + sigma_b2 - q;
        let (mut lo, mut hi) = (sigma_b2.max(1e-300), w2 + sigma_b2);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if gap(mid) > 0.0 { lo = mid } else { hi = mid }
        }
        0.5 * (lo + hi)
    };
    let chi_1 = |w2: f64| {
        let q = q_star(w2);
        w2 * gaussian_mean(|z| (1.0 - (q.sqrt() * z).tanh().powi(2)).powi(2))
    };
    let (mut lo, mut hi) = (1.0, 4.0);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if chi_1(mid) < 1.0 { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trapezoidal_rule_matches_gaussian_moments() {
        assert!((gaussian_mean(|_| 1.0) - 1.0).abs() < 1e-14);
        assert!((gaussian_mean(|z| z * z) - 1.0).abs() < 1e-13);
        assert!((gaussian_mean(|z| z.powi(4)) - 3.0).abs() < 1e-12);
        // E[cos z] = exp(-1/2)
        assert!((gaussian_mean(f64::cos) - (-0.5f64).exp()).abs() < 1e-14);
    }

    #[test]
    fn independent_critical_point_is_one_without_bias() {
        assert!((independent_critical_sigma_w2(0.0) - 1.0).abs() < 1e-6);
    }
}
