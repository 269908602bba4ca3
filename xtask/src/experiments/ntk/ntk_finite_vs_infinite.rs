//! `ntk-finite-vs-infinite`: finite networks approach their infinite-width limit (Jacot et
//! al. 2018; Lee et al. 2019), on two classes of the embedded digits (3 against 8,
//! targets -1 / +1, regression by full-batch gradient descent on the MSE).
//!
//! For each width, several networks `[Dense(w) - ReLU] x 2 - Dense(1)` in the NTK
//! parameterisation (`sigma_w2 = 2`, `sigma_b2 = 0.1`) are sampled and
//!
//! 1. their empirical NTK at initialisation (structured path) is compared with the
//!    analytic NTK: relative Frobenius error, whose slope against width on log-log axes is
//!    fitted (theory: -1/2);
//! 2. they are trained for `T` steps with learning rate `eta = 0.5 * 2 / lambda_max(Theta/n)`
//!    and their test predictions compared with the analytic gradient-flow prediction
//!    `f_T(X*)` from the same initial outputs;
//! 3. the relative change of their empirical NTK over training is recorded (the lazy
//!    regime: it shrinks like 1/sqrt(width)).

use dl_autodiff::Var;
use dl_init::Activation;
use dl_layers::Module;
use dl_ntk::predict::GradientFlow;
use dl_ntk::train::train_full_batch_gd;
use dl_ntk::{Architecture, OutputKernel, Parameterisation, empirical_ntk_structured};
use dl_tensor::seeded_rng;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::ntk::ntk_common::{digits_binary, fail, log_log_slope, relative_error};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Finite against infinite width on the digits.
pub struct NtkFiniteVsInfinite;

impl Experiment for NtkFiniteVsInfinite {
    fn id(&self) -> &'static str {
        "ntk-finite-vs-infinite"
    }
    fn title(&self) -> &'static str {
        "Finite networks approach the infinite-width NTK: kernel error, prediction error and kernel change against width"
    }
    fn section(&self) -> &'static str {
        "05 neural tangent kernel"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let widths: Vec<usize> = size.pick(vec![64, 128, 256, 512], vec![64, 128, 256, 512, 1024, 2048, 4096]);
        let (n_train, n_test) = size.pick((32, 32), (128, 128));
        let networks = size.pick(2, 4);
        let steps = size.pick(60, 300);
        let (sigma_w2, sigma_b2) = (2.0, 0.1);
        let data = digits_binary(3, 8, n_train, n_test, ctx.seed())?;
        let mut m = Metrics::new();
        m.config("digits", "3 (-1) against 8 (+1)");
        m.config("n_train", n_train);
        m.config("n_test", n_test);
        m.config(
            "architecture",
            "[Dense(w) - ReLU] x 2 - Dense(1), NTK parameterisation, sigma_w2 = 2, sigma_b2 = 0.1",
        );
        m.config("widths", widths.clone());
        m.config("networks_per_width", networks);
        m.config("steps", steps);

        let arch_of = |w: usize| {
            Architecture::mlp(2, w, Activation::Relu, sigma_w2, sigma_b2, 1, Parameterisation::Ntk).map_err(fail)
        };
        let arch = arch_of(widths[0])?;
        let theta = arch.kernels(&data.x_train, None).map_err(fail)?.ntk;
        let cross = arch.kernels(&data.x_test, Some(&data.x_train)).map_err(fail)?.ntk;
        let eta = 0.5 * GradientFlow::new(&theta, &data.y_train, None, 1.0).map_err(fail)?.max_stable_learning_rate();
        m.config("learning_rate", eta);
        m.scalar("learning_rate_over_max_stable", 0.5);

        m.table(
            "by_width",
            &["width", "ntk_relative_error_at_init", "prediction_relative_error", "relative_kernel_change"],
        );
        let (mut kerr, mut perr, mut kchange) = (Vec::new(), Vec::new(), Vec::new());
        let mut rng = seeded_rng(ctx.seed() ^ 0x5eed);
        for (wi, &w) in widths.iter().enumerate() {
            ctx.message(format!("width {w}"));
            let arch = arch_of(w)?;
            let (mut e0, mut ep, mut ec) = (0.0, 0.0, 0.0);
            for _ in 0..networks {
                let net = arch.sample(64, &mut rng).map_err(fail)?;
                let k0 = empirical_ntk_structured(&net, &data.x_train, None, OutputKernel::Trace).map_err(fail)?.kernel;
                e0 += relative_error(&k0, &theta);
                let f0_train = net.forward(&Var::constant(data.x_train.clone())).map_err(fail)?.value().clone();
                let f0_test = net.forward(&Var::constant(data.x_test.clone())).map_err(fail)?.value().clone();
                let flow = GradientFlow::new(&theta, &data.y_train, Some(&f0_train), eta)
                    .and_then(|f| f.with_test(&cross, Some(&f0_test)))
                    .map_err(fail)?;
                train_full_batch_gd(&net, &data.x_train, &data.y_train, eta, steps, |_, _| Ok(())).map_err(fail)?;
                let f_test = net.forward(&Var::constant(data.x_test.clone())).map_err(fail)?.value().clone();
                let predicted = flow.predict_test(steps as f64).map_err(fail)?;
                ep += relative_error(&f_test, &predicted);
                let k1 = empirical_ntk_structured(&net, &data.x_train, None, OutputKernel::Trace).map_err(fail)?.kernel;
                ec += relative_error(&k1, &k0);
            }
            let nn = networks as f64;
            let (e0, ep, ec) = (e0 / nn, ep / nn, ec / nn);
            m.push_row("by_width", vec![num(w as f64), num(e0), num(ep), num(ec)])?;
            kerr.push((w as f64, e0));
            perr.push((w as f64, ep));
            kchange.push((w as f64, ec));
            ctx.progress(wi as u64 + 1, widths.len() as u64);
        }
        m.scalar("slope_ntk_error_vs_width", log_log_slope(&kerr));
        m.scalar("slope_prediction_error_vs_width", log_log_slope(&perr));
        m.scalar("slope_kernel_change_vs_width", log_log_slope(&kchange));

        let mut chart = LineChart::new("finite width against the infinite-width limit", "width", "relative error")
            .scales(Scale::Log2, Scale::Log10);
        chart.add("||Theta_emp(0) - Theta|| / ||Theta||", SeriesKind::Line, 0, kerr.clone());
        chart.add("||f_T(X*) - f_lin,T(X*)|| / ||f_lin,T(X*)||", SeriesKind::Line, 1, perr);
        chart.add("||Theta_emp(T) - Theta_emp(0)|| / ||Theta_emp(0)||", SeriesKind::Line, 2, kchange);
        let c0 = kerr[0].1 * (kerr[0].0).sqrt();
        chart.add(
            "1/sqrt(width) reference",
            SeriesKind::Line,
            3,
            widths.iter().map(|&w| (w as f64, c0 / (w as f64).sqrt())).collect(),
        );
        ctx.figure("finite_vs_infinite", &chart)?;
        Ok(m)
    }
}
