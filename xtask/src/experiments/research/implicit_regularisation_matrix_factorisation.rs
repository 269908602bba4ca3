//! `implicit-regularisation-matrix-factorisation`: gradient descent on the factorised model
//! `W = U Uᵀ` of matrix sensing, from `U_0 = α I`, finds the minimum-nuclear-norm solution
//! as `α → 0` (Gunasekar, Woodworth, Bhojanapalli, Neyshabur & Srebro 2017, Conjecture 1 and
//! Fig. 2), and a solution of larger nuclear norm and effective rank as `α` grows.
//!
//! Problem (per seed): a rank-2 positive semi-definite ground truth `X* = V Vᵀ` of size
//! `20 × 20` (`V` with i.i.d. `N(0, 1/2)` entries), `m = 3 d r = 120` symmetric Gaussian
//! measurements `y_i = ⟨A_i, X*⟩` (`A_i = (G_i + G_iᵀ)/2`; `m = 3nr` as in Gunasekar et al.'s
//! Gaussian experiment), fewer than the 210 entries of a symmetric matrix: many PSD
//! matrices fit `y`. The reference is the minimum-trace
//! (= nuclear norm) PSD solution `X̂`, solved independently by ADMM and certified by its dual
//! bound (`dl_theory::implicit_regularisation::min_trace_psd`). Gradient descent on
//! `(1/2m) Σ (⟨A_i, U Uᵀ⟩ − y_i)²` with a full `20 × 20` factor (no rank constraint), step
//! `η = 0.1 m / (‖A‖² ‖X*‖_F)`, until the relative residual is below 1e-6 or 60 000 steps,
//! for `α ∈ {10⁻³, 10⁻², 10⁻¹, 0.3, 1, 3}` (at quick size `d = 14`, `m = 84` of the 105 entries, three `α`).
//! Gunasekar et al. used `d = 50` and also matrix completion; the reduction keeps the run
//! within CPU minutes.

use dl_tensor::{Tensor, seeded_rng};
use dl_theory::implicit_regularisation::{
    AdmmOptions, FactorisedGd, SensingOperator, effective_rank, factorised_gradient_descent, min_trace_psd,
    nuclear_norm,
};

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Assumption, Experiment, Size};
use crate::experiments::research::measure::{ceil_log10, fail, mean_sd, seed_curves};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};
use crate::replicates::par_map;

/// Implicit nuclear-norm regularisation of matrix factorisation.
pub struct ImplicitRegularisationMatrixFactorisation;

/// Gradient descent from one initial scale `alpha`.
struct AlphaRun {
    steps: usize,
    relative_residual: f64,
    /// `tr W / tr X̂`.
    trace_ratio: f64,
    /// `‖W − X̂‖_F / ‖X̂‖_F`.
    distance: f64,
    /// `‖W − X*‖_F / ‖X*‖_F`.
    distance_to_truth: f64,
    effective_rank: f64,
    /// `(step, relative residual)` every 200 steps.
    residual_curve: Vec<(f64, f64)>,
}

/// One seed: the reference's certificate (`ceil(log10)` of its gap and infeasibility), its
/// distance to the ground truth and effective rank, and the runs of every `alpha`.
struct SeedRun {
    certificate: f64,
    reference_distance_to_truth: f64,
    reference_effective_rank: f64,
    per_alpha: Vec<AlphaRun>,
}

/// Dimension `d` and rank `r` of the ground truth at each size.
fn dimensions(size: Size) -> (usize, usize) {
    size.pick((14, 2), (20, 2))
}

fn frobenius_distance(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.to_vec().iter().zip(b.to_vec()).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
}

fn frobenius(a: &Tensor<f64>) -> f64 {
    a.to_vec().iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl Experiment for ImplicitRegularisationMatrixFactorisation {
    fn id(&self) -> &'static str {
        "implicit-regularisation-matrix-factorisation"
    }
    fn title(&self) -> &'static str {
        "Matrix sensing with W = U Uᵀ from small initialisation finds the minimum nuclear norm solution (Gunasekar et al. 2017)"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn assumptions(&self, size: Size) -> Vec<Assumption> {
        let (d, r) = dimensions(size);
        let (meas, entries) = (3 * d * r, d * (d + 1) / 2);
        vec![Assumption::new(
            "under-determined: m = 3 d r measurements fewer than the d (d + 1) / 2 entries of a symmetric matrix",
            meas < entries,
            format!("d = {d}, r = {r}: m = {meas} against {entries} entries"),
        )]
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let (d, r) = dimensions(size);
        // m = 3 d r measurements, the Gaussian setting of Gunasekar et al. (2017, Fig. 2a: m = 3nr)
        let meas = 3 * d * r;
        let alphas: Vec<f64> = match size {
            Size::Quick => vec![1e-3, 0.1, 1.0],
            Size::Full => vec![1e-3, 1e-2, 1e-1, 0.3, 1.0, 3.0],
        };
        let max_steps = size.pick(20_000, 60_000);
        let tolerance = 1e-6;
        let seeds = ctx.replicate_seeds(size.pick(2, 3));
        let mut m = Metrics::new();
        m.config("dim", d);
        m.config("rank", r);
        m.config("measurements", meas);
        m.config("alphas", serde_json::json!(alphas));
        m.config("max_steps", max_steps);
        m.config("tolerance_relative_residual", tolerance);
        m.config("learning_rate", "0.1 m / (|A|^2 |X*|_F), |A|^2 the largest eigenvalue of the Gram matrix");
        m.config("seeds", seeds.len());
        m.table(
            "per_alpha_seed0",
            &[
                "alpha",
                "steps",
                "relative_residual",
                "trace_over_min_trace",
                "distance_to_min_trace",
                "distance_to_ground_truth",
                "effective_rank",
            ],
        );
        let k = alphas.len();
        // the seeds in parallel: each one's problem, reference and gradient-descent runs
        let runs = par_map(ctx, &seeds, |&seed| -> Result<SeedRun, ExperimentError> {
            let mut rng = seeded_rng(seed);
            let v = Tensor::<f64>::randn(&[d, r], &mut rng).map(|x| x * 0.5f64.sqrt());
            let x_star = v.matmul(&v.transpose(0, 1).map_err(fail)?).map_err(fail)?;
            let op = SensingOperator::gaussian(d, meas, &mut rng).map_err(fail)?;
            let y = op.measure(&x_star).map_err(fail)?;
            let reference = min_trace_psd(&op, &y, &AdmmOptions::default()).map_err(fail)?;
            if !reference.converged {
                return Err(fail(format!("the ADMM reference did not converge: {reference:?}")));
            }
            // |X*|_F bounds the spectral norm from above: a step on the safe side
            let lr = 0.1 * meas as f64 / (op.operator_norm_squared().map_err(fail)? * frobenius(&x_star));
            let mut per_alpha = Vec::with_capacity(k);
            for &alpha in &alphas {
                let run = factorised_gradient_descent(
                    &op,
                    &y,
                    &FactorisedGd { init_scale: alpha, learning_rate: lr, max_steps, tolerance, record_every: 200 },
                )
                .map_err(fail)?;
                per_alpha.push(AlphaRun {
                    steps: run.steps,
                    relative_residual: run.relative_residual,
                    trace_ratio: nuclear_norm(&run.w).map_err(fail)? / reference.trace,
                    distance: frobenius_distance(&run.w, &reference.x) / frobenius(&reference.x),
                    distance_to_truth: frobenius_distance(&run.w, &x_star) / frobenius(&x_star),
                    effective_rank: effective_rank(&run.w).map_err(fail)?,
                    residual_curve: run
                        .records
                        .iter()
                        .map(|rec| (rec.step.max(1) as f64, rec.relative_residual))
                        .collect(),
                });
            }
            Ok(SeedRun {
                certificate: ceil_log10(reference.relative_gap.abs().max(reference.infeasibility)),
                reference_distance_to_truth: frobenius_distance(&reference.x, &x_star) / frobenius(&x_star),
                reference_effective_rank: effective_rank(&reference.x).map_err(fail)?,
                per_alpha,
            })
        })?;
        for (&alpha, run) in alphas.iter().zip(&runs[0].per_alpha) {
            m.push_row(
                "per_alpha_seed0",
                vec![
                    num(alpha),
                    serde_json::json!(run.steps),
                    num(run.relative_residual),
                    num(run.trace_ratio),
                    num(run.distance),
                    num(run.distance_to_truth),
                    num(run.effective_rank),
                ],
            )?;
        }
        let steps_curves: Vec<Vec<(f64, f64)>> = runs[0].per_alpha.iter().map(|a| a.residual_curve.clone()).collect();
        let per_seed = |f: fn(&AlphaRun) -> f64| -> Vec<Vec<f64>> {
            runs.iter().map(|s| s.per_alpha.iter().map(f).collect()).collect()
        };
        let dist = per_seed(|a| a.distance);
        let excess = per_seed(|a| (a.trace_ratio - 1.0).abs().max(1e-16));
        let erank = per_seed(|a| a.effective_rank);
        let gaps: Vec<f64> = runs.iter().map(|s| s.certificate).collect();
        let truth_dist: Vec<f64> = runs.iter().map(|s| s.reference_distance_to_truth).collect();
        let ref_erank: Vec<f64> = runs.iter().map(|s| s.reference_effective_rank).collect();
        let col = |t: &Vec<Vec<f64>>, i: usize| t.iter().map(|row| row[i]).collect::<Vec<f64>>();
        let (tm, _) = mean_sd(&truth_dist);
        m.scalar("reference_distance_to_ground_truth_mean", tm);
        m.scalar("reference_effective_rank_mean", mean_sd(&ref_erank).0);
        m.claim(
            Claim::new(
                "small-init-finds-min-nuclear-norm",
                "from a small initialisation, gradient descent on U Uᵀ converges to the minimum nuclear norm solution",
                "Gunasekar, Woodworth, Bhojanapalli, Neyshabur & Srebro 2017, Conjecture 1 and Fig. 2",
            )
            .measured(&format!("|W - X̂|_F / |X̂|_F at alpha = {}", alphas[0]), Measured::over_seeds(&col(&dist, 0)))
            .criterion(Criterion::at_most(0.01))
            .partly_if(Criterion::at_most(0.05))
            .note("X̂ is the minimum-trace PSD solution by ADMM, certified by its dual bound, not the ground truth"),
        )?;
        m.claim(
            Claim::new(
                "nuclear-norm-near-minimum",
                "the nuclear norm of the solution found tends to the minimum as alpha -> 0",
                "Gunasekar et al. 2017, Fig. 2",
            )
            .measured(&format!("|tr(W) / tr(X̂) - 1| at alpha = {}", alphas[0]), Measured::over_seeds(&col(&excess, 0)))
            .criterion(Criterion::at_most(1e-3))
            .partly_if(Criterion::at_most(1e-2)),
        )?;
        m.claim(
            Claim::new(
                "large-init-loses-the-bias",
                "with a large initialisation the solution found is no longer of minimum nuclear norm",
                "Gunasekar et al. 2017, Fig. 2 (relative error grows with the initialisation scale)",
            )
            .measured(
                &format!("|W - X̂|_F / |X̂|_F at alpha = {}", alphas[k - 1]),
                Measured::over_seeds(&col(&dist, k - 1)),
            )
            .criterion(Criterion::at_least(0.1))
            .partly_if(Criterion::at_least(0.03)),
        )?;
        m.claim(
            Claim::new(
                "min-trace-reference-certified",
                "the reference is the minimum-trace PSD solution: feasible, with a dual lower bound matching its trace",
                "duality of min tr(X) s.t. A(X) = y, X ⪰ 0 (dl_theory::implicit_regularisation::min_trace_psd)",
            )
            .measured("ceil(log10) of max(relative gap, relative infeasibility)", Measured::over_seeds(&gaps))
            .criterion(Criterion::at_most(-8.0)),
        )?;
        let xs = alphas.clone();
        let mut c1 = LineChart::new(
            "Distance of the GD solution to the minimum nuclear norm solution",
            "alpha (U_0 = alpha I)",
            "|W - X̂|_F / |X̂|_F",
        )
        .scales(Scale::Log10, Scale::Log10);
        c1.add_over_seeds("relative distance", SeriesKind::Line, 0, &seed_curves(&xs, &dist));
        c1.add_over_seeds("|tr W / tr X̂ - 1|", SeriesKind::Line, 1, &seed_curves(&xs, &excess));
        ctx.figure("distance_to_min_nuclear_norm", &c1)?;
        let mut c2 =
            LineChart::new("Effective rank (Roy & Vetterli 2007) of the solution found", "alpha", "effective rank")
                .scales(Scale::Log10, Scale::Linear);
        c2.add_over_seeds("GD solution", SeriesKind::Line, 0, &seed_curves(&xs, &erank));
        let er_ref = mean_sd(&ref_erank).0;
        c2.add(
            "minimum-trace solution (mean over seeds)",
            SeriesKind::Line,
            1,
            vec![(xs[0], er_ref), (xs[k - 1], er_ref)],
        );
        ctx.figure("effective_rank", &c2)?;
        let mut c3 = LineChart::new("Seed 0: relative residual over training", "step", "|A(W) - y| / |y|")
            .scales(Scale::Log10, Scale::Log10);
        for (i, curve) in steps_curves.into_iter().enumerate() {
            c3.add(&format!("alpha = {}", alphas[i]), SeriesKind::Line, i, curve);
        }
        ctx.figure("residual", &c3)?;
        Ok(m)
    }
}
