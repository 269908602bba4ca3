//! `signal-propagation-phase-diagram`: the ordered and chaotic phases of deep tanh networks
//! in the (sigma_w2, sigma_b2) plane, and the critical line between them (Poole et al.
//! 2016, figure 3; Schoenholz et al. 2017, figure 1).
//!
//! For every grid point the length map's fixed point q* and the slope chi_1 =
//! sigma_w2 E[phi'(sqrt(q*) z)^2] come from `dl_init::phase_diagram`; chi_1 < 1 is ordered
//! (nearby inputs converge), chi_1 > 1 chaotic (they decorrelate). On the axis sigma_b2 = 0
//! with sigma_w2 <= 1 the fixed point is q* = 0 (tanh is odd, so without bias every input
//! shrinks to zero, at sigma_w2 = 1 only like 1 / l): those points are the degenerate
//! phase, where the correlation between inputs is undefined. The critical line is
//! `dl_init::critical_sigma_w2` at each sigma_b2, solved to 1e-8. As a consistency check
//! the experiment counts grid points whose phase disagrees with their side of the line
//! (expected: none; degenerate points lie on the axis at or left of the line).

use dl_init::{Activation, Phase, critical_line, critical_sigma_w2, phase_diagram};
use serde_json::json;

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
        let (mut ordered, mut chaotic, mut degenerate) = (Vec::new(), Vec::new(), Vec::new());
        let mut inconsistent = 0;
        let grid_crit: Vec<f64> = grid_b2.iter().map(|&b2| critical_sigma_w2(&act, b2)).collect::<Result<_, _>>()?;
        for (i, p) in phase_diagram(&act, &grid_w2, &grid_b2).into_iter().enumerate() {
            let outcome = p.outcome?;
            let (chi, phase) = (outcome.chi_1, outcome.phase);
            // tanh's length map has a unique fixed point everywhere (tanh is not homogeneous).
            let q = outcome.fixed_point.unique().map_or(json!(null), num);
            m.push_row("grid", vec![num(p.sigma_w2), num(p.sigma_b2), q, num(chi), json!(phase.name())])?;
            // The side of the critical line this point lies on (the grid is row by row in sigma_b2).
            let w_crit = grid_crit[i / grid_w2.len()];
            let consistent = match phase {
                Phase::Critical => true,
                Phase::Ordered => p.sigma_w2 < w_crit,
                Phase::Chaotic => p.sigma_w2 > w_crit,
                // (the line is solved to 1e-14 relative: a point on it counts as on its left)
                Phase::Degenerate => p.sigma_b2 == 0.0 && p.sigma_w2 <= w_crit * (1.0 + 1e-12),
            };
            if !consistent {
                inconsistent += 1;
            }
            match phase {
                Phase::Ordered => ordered.push((p.sigma_w2, p.sigma_b2)),
                Phase::Degenerate => degenerate.push((p.sigma_w2, p.sigma_b2)),
                Phase::Critical | Phase::Chaotic => chaotic.push((p.sigma_w2, p.sigma_b2)),
            }
        }
        ctx.progress(2, 2);
        m.scalar("ordered_points", ordered.len() as f64);
        m.scalar("chaotic_points", chaotic.len() as f64);
        m.scalar("degenerate_points", degenerate.len() as f64);
        m.scalar("points_on_the_wrong_side_of_the_line", inconsistent as f64);
        m.scalar("critical_sigma_w2_at_sigma_b2_0", line[0].0);
        m.scalar("critical_sigma_w2_at_sigma_b2_0.05", critical_sigma_w2(&act, 0.05)?);

        let mut chart = LineChart::new("tanh networks: phase diagram", "sigma_w^2", "sigma_b^2")
            .scales(Scale::Linear, Scale::Linear);
        chart.add("critical line (chi_1 = 1)", SeriesKind::Line, 0, line);
        chart.add("ordered (chi_1 < 1)", SeriesKind::Crosses, 1, ordered);
        chart.add("chaotic (chi_1 > 1)", SeriesKind::Crosses, 2, chaotic);
        chart.add("degenerate (q* = 0)", SeriesKind::Crosses, 3, degenerate);
        ctx.figure("phase_diagram", &chart)?;
        Ok(m)
    }
}
