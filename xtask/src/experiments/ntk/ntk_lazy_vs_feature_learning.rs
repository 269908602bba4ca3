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

use dl_init::Activation;
use dl_ntk::feature_learning::analyze_feature_learning;
use dl_ntk::predict::GradientFlow;
use dl_ntk::{Architecture, Parameterisation};
use dl_tensor::seeded_rng;

use crate::context::RunContext;
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
        let data = digits_binary(3, 8, n_train, 8, ctx.seed())?;
        let base = Architecture::mlp(2, width, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).map_err(fail)?;
        let theta = base.kernels(&data.x_train, None).map_err(fail)?.ntk;
        let eta = 0.5 * GradientFlow::new(&theta, &data.y_train, None, 1.0).map_err(fail)?.max_stable_learning_rate();
        let mut m = Metrics::new();
        m.config("width", width);
        m.config("n_train", n_train);
        m.config("steps", steps);
        m.config("base_learning_rate", eta);
        m.config(
            "architecture",
            "[Dense(w) - ReLU] x 2 - Dense(1) times alpha, NTK parameterisation, sigma_w2 = 2, sigma_b2 = 0.1",
        );
        let regimes = [("ntk", 1.0), ("small-output-scale", 0.1), ("mean-field", 1.0 / (width as f64).sqrt())];
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
        let mut rng = seeded_rng(ctx.seed() ^ 0xfea7);
        for (i, (name, alpha)) in regimes.iter().enumerate() {
            ctx.message(name.to_string());
            let net = base.clone().with_output_scale(*alpha).and_then(|a| a.sample(64, &mut rng)).map_err(fail)?;
            let points =
                analyze_feature_learning(&net, &data.x_train, &data.y_train, eta / (alpha * alpha), steps, every)
                    .map_err(fail)?;
            for p in &points {
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
            let (first, last) = (&points[0], &points[points.len() - 1]);
            let key = name.replace('-', "_");
            m.scalar(&format!("{key}_final_kernel_distance"), last.kernel_distance);
            m.scalar(&format!("{key}_alignment_gain"), last.kernel_target_alignment - first.kernel_target_alignment);
            m.scalar(&format!("{key}_final_relative_weight_change"), last.relative_weight_change);
            m.scalar(&format!("{key}_final_loss"), last.loss);
            dist_chart.add(
                name,
                SeriesKind::Line,
                i,
                points.iter().map(|p| (p.step as f64, p.kernel_distance)).collect(),
            );
            align_chart.add(
                name,
                SeriesKind::Line,
                i,
                points.iter().map(|p| (p.step as f64, p.kernel_target_alignment)).collect(),
            );
            ctx.progress(i as u64 + 1, regimes.len() as u64);
        }
        ctx.figure("kernel_distance", &dist_chart)?;
        ctx.figure("kernel_target_alignment", &align_chart)?;
        Ok(m)
    }
}
