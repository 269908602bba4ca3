//! `implicit-regularisation-least-squares`: gradient descent on under-determined least
//! squares converges to the minimum-norm solution when started from zero, and to
//! `A⁺ b + (I − A⁺A) x_0` from `x_0` (the gradient never leaves the row space of `A`).
//!
//! Problem: `A` of shape `(n, p)` with i.i.d. `N(0, 1)` entries, `p = 4n`, `b ~ N(0, I_n)`
//! (per seed). Loss `(1/2n) ‖A x − b‖²`, step `η = n / σ_1²` (the inverse smoothness), from
//! `x_0 = 0` and from `x_0 ~ N(0, I_p / p)`. The reference `A⁺ b` is the SVD
//! pseudo-inverse solution (`dl_theory::least_squares`), computed independently of the
//! descent. The error in the direction of the right singular vector `v_i` shrinks by
//! `r_i = 1 − η σ_i² / n` per step, so from zero the distance is predicted exactly by
//! `|x_t − A⁺b| = (Σ_i (v_iᵀ A⁺b)² r_i^(2t))^(1/2)`: drawn beside the measured distance and
//! compared with it while both are far above round-off.

use dl_tensor::{Tensor, seeded_rng};
use dl_theory::implicit_regularisation::{LeastSquaresGd, least_squares_gradient_descent};
use dl_theory::least_squares::LeastSquares;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::research::measure::{ceil_log10, fail, mean_sd, seed_curves};
use crate::metrics::Metrics;
use crate::plot::{LineChart, Scale, SeriesKind};

/// Gradient descent finds the minimum-norm solution.
pub struct ImplicitRegularisationLeastSquares;

impl Experiment for ImplicitRegularisationLeastSquares {
    fn id(&self) -> &'static str {
        "implicit-regularisation-least-squares"
    }
    fn title(&self) -> &'static str {
        "Gradient descent from zero on under-determined least squares converges to the minimum-norm solution"
    }
    fn section(&self) -> &'static str {
        "12 research"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let n = size.pick(20, 50);
        let p = 4 * n;
        let steps = size.pick(400, 1000);
        let every = size.pick(10, 10);
        let seeds = ctx.replicate_seeds(size.pick(2, 3));
        let mut m = Metrics::new();
        m.config("n", n);
        m.config("p", p);
        m.config("steps", steps);
        m.config("learning_rate", "n / sigma_1^2");
        m.config("seeds", seeds.len());
        let (mut from_zero, mut from_x0, mut spectral, mut null_x0) = (vec![], vec![], vec![], vec![]);
        let mut curves_zero: Vec<Vec<f64>> = Vec::new();
        let mut curves_x0: Vec<Vec<f64>> = Vec::new();
        let mut theory: Vec<Vec<f64>> = Vec::new();
        let mut xs = Vec::new();
        for (k, &seed) in seeds.iter().enumerate() {
            let mut rng = seeded_rng(seed);
            let a = Tensor::<f64>::randn(&[n, p], &mut rng);
            let b = Tensor::<f64>::randn(&[n], &mut rng);
            let x0 = Tensor::<f64>::randn(&[p], &mut rng).map(|v| v / (p as f64).sqrt());
            let opts = LeastSquaresGd { learning_rate: None, steps, record_every: every };
            let zero = least_squares_gradient_descent(&a, &b, None, &opts).map_err(fail)?;
            let start = least_squares_gradient_descent(&a, &b, Some(&x0), &opts).map_err(fail)?;
            let ls = LeastSquares::new(&a).map_err(fail)?;
            let svd = ls.svd();
            let x_plus = zero.min_norm.to_vec();
            let x_norm = x_plus.iter().map(|v| v * v).sum::<f64>().sqrt();
            // coefficients of A⁺b on the right singular vectors, and the per-step factors
            let coef: Vec<f64> = (0..n).map(|k| (0..p).map(|j| svd.v[[j, k]] * x_plus[j]).sum()).collect();
            let factors: Vec<f64> = svd.s.iter().map(|s| 1.0 - zero.learning_rate * s * s / n as f64).collect();
            let predicted = |t: u64| {
                coef.iter().zip(&factors).map(|(c, r)| (c * r.powf(t as f64)).powi(2)).sum::<f64>().sqrt() / x_norm
            };
            let worst = zero
                .records
                .iter()
                .filter(|r| predicted(r.step as u64) > 1e-6)
                .map(|r| (r.distance_to_min_norm / predicted(r.step as u64) - 1.0).abs())
                .fold(0.0, f64::max);
            spectral.push(ceil_log10(worst));
            let last = zero.records.last().expect("recorded");
            from_zero.push(ceil_log10(last.distance_to_min_norm));
            from_x0.push(ceil_log10(start.records.last().expect("recorded").distance_to_predicted_limit));
            null_x0.push(start.records.last().expect("recorded").distance_to_min_norm);
            let floor = 1e-17;
            curves_zero.push(zero.records.iter().map(|r| r.distance_to_min_norm.max(floor)).collect());
            curves_x0.push(start.records.iter().map(|r| r.distance_to_predicted_limit.max(floor)).collect());
            theory.push(zero.records.iter().map(|r| predicted(r.step as u64).max(floor)).collect());
            if k == 0 {
                xs = zero.records.iter().map(|r| r.step as f64).collect();
            }
            ctx.progress(k as u64 + 1, seeds.len() as u64);
        }
        m.scalar("distance_from_x0_start_to_min_norm_mean", mean_sd(&null_x0).0);
        m.claim(
            Claim::new(
                "gd-from-zero-reaches-min-norm",
                "gradient descent from zero on under-determined least squares converges to the minimum-norm solution A⁺b",
                "e.g. Zhang, Bengio, Hardt, Recht & Vinyals 2017, Section 5; Gunasekar et al. 2018",
            )
            .measured("ceil(log10) of |x_T - A⁺b| / |A⁺b| after the run", Measured::over_seeds(&from_zero))
            .criterion(Criterion::at_most(-10.0))
            .note("A⁺b from the SVD with cut-off max(n, p) eps, independently of the descent"),
        )?;
        m.claim(
            Claim::new(
                "gd-keeps-the-null-space-component",
                "from x_0 the limit is A⁺b + (I − A⁺A) x_0: the gradient never touches the null space of A",
                "row-space argument (the gradient is Aᵀ(Ax − b))",
            )
            .measured("ceil(log10) of |x_T - (A⁺b + (I - A⁺A) x_0)| / |A⁺b|", Measured::over_seeds(&from_x0))
            .criterion(Criterion::at_most(-10.0)),
        )?;
        m.claim(
            Claim::new(
                "spectral-prediction",
                "the distance follows the spectral closed form (Σ_i (v_iᵀA⁺b)² (1 − η σ_i²/n)^(2t))^(1/2) / |A⁺b|",
                "eigen-decomposition of the linear iteration x ← x − (η/n) Aᵀ(Ax − b)",
            )
            .measured("ceil(log10) of the largest |measured / predicted − 1| while the prediction exceeds 1e-6 (above round-off by 10 digits)", Measured::over_seeds(&spectral))
            .criterion(Criterion::at_most(-6.0)),
        )?;
        let mut chart =
            LineChart::new("Gradient descent on least squares (n = rows, p = 4n)", "step", "relative distance")
                .scales(Scale::Linear, Scale::Log10);
        chart.add_over_seeds("from 0: |x_t - A⁺b| / |A⁺b|", SeriesKind::Line, 0, &seed_curves(&xs, &curves_zero));
        chart.add_over_seeds(
            "from x_0: distance to A⁺b + (I - A⁺A) x_0",
            SeriesKind::Line,
            1,
            &seed_curves(&xs, &curves_x0),
        );
        let th: Vec<(f64, f64)> = xs.iter().zip(&theory[0]).map(|(x, y)| (*x, *y)).collect();
        chart.add("spectral prediction, seed 0", SeriesKind::Line, 2, th);
        ctx.figure("distance_to_min_norm", &chart)?;
        Ok(m)
    }
}
