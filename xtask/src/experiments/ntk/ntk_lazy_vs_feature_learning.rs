//! `ntk-lazy-vs-feature-learning`: the same network trained lazily and with feature
//! learning (Chizat, Oyallon & Bach 2019; Yang & Hu 2021; Fort et al. 2020), on two
//! classes of the digits.
//!
//! One width, three output scales `alpha` (the network computes `alpha f(x)`), each
//! trained by full-batch gradient descent with learning rate `eta / alpha^2` so that the
//! function moves at the same initial speed:
//!
//! - `ntk`: `alpha = 1`, the NTK parameterisation (lazy: the kernel barely moves);
//! - `small-output-scale`: `alpha = 0.1`;
//! - `mean-field`: `alpha = 1 / sqrt(width)`, the last layer scaled by `1 / width`
//!   overall (muP-style; the kernel moves by O(1)).
//!
//! `dl_ntk::feature_learning::analyze_feature_learning` records, over training, the kernel
//! distance `1 - <K0, Kt> / (|K0| |Kt|)`, the kernel–target alignment
//! `<Kt, y y^T> / (|Kt| |y y^T|)` and the relative weight change.
//!
//! Claims, over replicate seeds (3 at full size; each draws the images and the three
//! networks): the kernel moves further the smaller `alpha` is (lazy as `alpha` grows,
//! Chizat, Oyallon & Bach 2019, Theorem 2.3), so the final kernel distances are ordered
//! ntk < small-output-scale < mean-field; and feature learning aligns the kernel with the
//! target where lazy training does not: the mean-field alignment gain exceeds the NTK's by
//! at least 0.05 (partly: exceeds it), as the lazy kernel's alignment cannot change at
//! leading order.

use dl_init::Activation;
use dl_ntk::feature_learning::analyze_feature_learning;
use dl_ntk::predict::GradientFlow;
use dl_ntk::{Architecture, Parameterisation};
use dl_tensor::seeded_rng;
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured, mean_and_spread};
use crate::context::{RunContext, derive_seed};
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::ntk::ntk_common::{digits_binary, fail};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Lazy against feature learning.
pub struct NtkLazyVsFeatureLearning;

impl Experiment for NtkLazyVsFeatureLearning {
    fn id(&self) -> &'static str {
        "ntk-lazy-vs-feature-learning"
    }
    fn title(&self) -> &'static str {
        "Lazy training against feature learning: kernel distance and kernel-target alignment over training"
    }
    fn section(&self) -> &'static str {
        "05 neural tangent kernel"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let width = size.pick(256, 1024);
        let n_train = size.pick(32, 128);
        let steps = size.pick(60, 400);
        let every = size.pick(10, 25);
        let seeds = ctx.replicate_seeds(size.pick(2, 3));
        let regimes = [("ntk", 1.0), ("small-output-scale", 0.1), ("mean-field", 1.0 / (width as f64).sqrt())];
        let base = Architecture::mlp(2, width, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).map_err(fail)?;
        let mut m = Metrics::new();
        m.config("width", width);
        m.config("n_train", n_train);
        m.config("steps", steps);
        m.config(
            "architecture",
            "[Dense(w) - ReLU] x 2 - Dense(1) times alpha, NTK parameterisation, sigma_w2 = 2, sigma_b2 = 0.1",
        );
        m.config("replicate_seeds", json!(seeds));
        // runs[r][i]: the points of regime i in replicate r
        let mut runs = Vec::with_capacity(seeds.len());
        for (r, &seed) in seeds.iter().enumerate() {
            let data = digits_binary(3, 8, n_train, 8, seed)?;
            let theta = base.kernels(&data.x_train, None).map_err(fail)?.ntk;
            let eta =
                0.5 * GradientFlow::new(&theta, &data.y_train, None, 1.0).map_err(fail)?.max_stable_learning_rate();
            if r == 0 {
                m.config("base_learning_rate", eta);
            }
            let mut per_regime = Vec::with_capacity(regimes.len());
            for (i, (name, alpha)) in regimes.iter().enumerate() {
                ctx.message(format!("replicate {r}: {name}"));
                let mut rng = seeded_rng(derive_seed(seed, "network", i as u64));
                let net = base.clone().with_output_scale(*alpha).and_then(|a| a.sample(64, &mut rng)).map_err(fail)?;
                let points =
                    analyze_feature_learning(&net, &data.x_train, &data.y_train, eta / (alpha * alpha), steps, every)
                        .map_err(fail)?;
                per_regime.push(points);
                ctx.progress((r * regimes.len() + i) as u64 + 1, (seeds.len() * regimes.len()) as u64);
            }
            runs.push(per_regime);
        }
        m.table(
            "over_training",
            &[
                "regime",
                "alpha",
                "step",
                "loss",
                "kernel_distance",
                "kernel_target_alignment",
                "relative_weight_change",
            ],
        );
        let mut dist_chart =
            LineChart::new("kernel distance from initialisation", "step", "1 - <K0, Kt> / (|K0| |Kt|)")
                .scales(Scale::Linear, Scale::Linear);
        let mut align_chart = LineChart::new("kernel-target alignment", "step", "<Kt, yy^T> / (|Kt| |yy^T|)")
            .scales(Scale::Linear, Scale::Linear);
        for (i, (name, alpha)) in regimes.iter().enumerate() {
            for p in &runs[0][i] {
                m.push_row(
                    "over_training",
                    vec![
                        (*name).into(),
                        num(*alpha),
                        num(p.step as f64),
                        num(p.loss),
                        num(p.kernel_distance),
                        num(p.kernel_target_alignment),
                        num(p.relative_weight_change),
                    ],
                )?;
            }
            let key = name.replace('-', "_");
            let over = |f: &dyn Fn(&[dl_ntk::feature_learning::FeatureLearningPoint]) -> f64| {
                mean_and_spread(&runs.iter().map(|r| f(&r[i])).collect::<Vec<_>>()).0
            };
            m.scalar(&format!("{key}_final_kernel_distance"), over(&|p| p[p.len() - 1].kernel_distance));
            m.scalar(
                &format!("{key}_alignment_gain"),
                over(&|p| p[p.len() - 1].kernel_target_alignment - p[0].kernel_target_alignment),
            );
            m.scalar(&format!("{key}_final_relative_weight_change"), over(&|p| p[p.len() - 1].relative_weight_change));
            m.scalar(&format!("{key}_final_loss"), over(&|p| p[p.len() - 1].loss));
            let curves = |f: fn(&dl_ntk::feature_learning::FeatureLearningPoint) -> f64| {
                runs.iter().map(|r| r[i].iter().map(|p| (p.step as f64, f(p))).collect()).collect::<Vec<_>>()
            };
            dist_chart.add_over_seeds(name, SeriesKind::Line, i, &curves(|p| p.kernel_distance));
            align_chart.add_over_seeds(name, SeriesKind::Line, i, &curves(|p| p.kernel_target_alignment));
        }
        ctx.figure("kernel_distance", &dist_chart)?;
        ctx.figure("kernel_target_alignment", &align_chart)?;
        let final_distance = |r: usize, i: usize| runs[r][i][runs[r][i].len() - 1].kernel_distance;
        let gain = |r: usize, i: usize| {
            let p = &runs[r][i];
            p[p.len() - 1].kernel_target_alignment - p[0].kernel_target_alignment
        };
        let ordered: Vec<f64> = (0..seeds.len())
            .map(|r| {
                let d = [final_distance(r, 0), final_distance(r, 1), final_distance(r, 2)];
                [(0, 1), (1, 2), (0, 2)].iter().filter(|&&(a, b)| d[a] < d[b]).count() as f64 / 3.0
            })
            .collect();
        m.claim(
            Claim::new(
                "kernel-moves-more-as-alpha-falls",
                "training is lazy when the output scale alpha is large and learns features when it is small: the \
                 kernel moves further as alpha falls (ntk, alpha = 1; small output scale, 0.1; mean field, \
                 1 / sqrt(width))",
                "Chizat, Oyallon & Bach 2019, 'On lazy training in differentiable programming', Theorem 2.3; Yang & \
                 Hu 2021",
            )
            .measured(
                "fraction of the 3 pairs of regimes whose final kernel distances are ordered as alpha",
                Measured::over_seeds(&ordered),
            )
            .criterion(Criterion::at_least(1.0))
            .partly_if(Criterion::at_least(2.0 / 3.0)),
        )?;
        m.claim(
            Claim::new(
                "feature-learning-aligns-kernel",
                "feature learning aligns the kernel with the target (the kernel-target alignment grows), where the lazy \
                 kernel stays put",
                "Fort et al. 2020; Baratin et al. 2021; Atanasov, Bordelon & Pehlevan 2022 (silent alignment)",
            )
            .measured(
                "alignment gain of the mean-field regime minus that of the NTK regime",
                Measured::over_seeds(&(0..seeds.len()).map(|r| gain(r, 2) - gain(r, 0)).collect::<Vec<_>>()),
            )
            .criterion(Criterion::at_least(0.05))
            .partly_if(Criterion::at_least(0.0)),
        )?;
        Ok(m)
    }
}
