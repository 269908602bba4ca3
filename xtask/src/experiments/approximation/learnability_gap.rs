//! `approximation-learnability-gap`: universality is not learnability. Cybenko's construction
//! proves that a width-`N` sigmoid network within `eps` exists and builds it; gradient
//! descent from a random initialisation at the same width need not find anything as good.
//!
//! Two 1-D targets on `[0, 1]`, each at the accuracy where the construction needs `N = 229`
//! units: `sin(3x) + x^2/2` (Lipschitz 4) at `eps = 0.01`, and `sin(40x)` (Lipschitz 40) at
//! `eps = 0.1`. Beside each constructed network, a `Linear(1, 229) - sigmoid - Linear(229, 1)`
//! network with PyTorch's default initialisation is trained by full-batch Adam (lr 0.01,
//! dl-framework's optimiser) on the mean squared error over 512 uniform points (256 quick), for a fixed
//! budget of steps, over several seeds. Reported: sup and L2 errors on 4001 points, and the
//! cost of each (target evaluations, gradient steps, multiply-adds).
//!
//! Measured at full size with seed 0 (see the report for the numbers and the run time).

use dl_autodiff::{Var, no_grad};
use dl_framework::optim::{Adam, AdamConfig, Optimizer, Param as OptParam};
use dl_layers::{Act, Linear, Module, Sequential, commit_step, mse, parameters_for_step};
use dl_tensor::{Tensor, seeded_rng};
use dl_theory::approximation::{Modulus, Target, UniversalApproximator, evaluate_network};
use serde_json::json;

use crate::claims::{Claim, Criterion, Measured};
use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::approximation::approx_common::{SECTION, fail, measured_error};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// A target, its Lipschitz constant and the accuracy asked of the construction.
type Setting = (&'static str, fn(f64) -> f64, f64, f64);

/// The constructed network beside a trained one of the same width.
pub struct LearnabilityGap;

fn errors(net: &dyn Module<f64>, f: fn(f64) -> f64, xs: &[f64]) -> Result<(f64, f64), ExperimentError> {
    let y = evaluate_network(net, xs, 1).map_err(fail)?;
    let (mut sup, mut sq) = (0.0f64, 0.0);
    for (x, v) in xs.iter().zip(&y) {
        let e = (v - f(*x)).abs();
        sup = sup.max(e);
        sq += e * e;
    }
    Ok((sup, (sq / xs.len() as f64).sqrt()))
}

impl Experiment for LearnabilityGap {
    fn id(&self) -> &'static str {
        "approximation-learnability-gap"
    }
    fn title(&self) -> &'static str {
        "Universality is not learnability: Cybenko's constructed network beside gradient descent at the same width"
    }
    fn section(&self) -> &'static str {
        SECTION
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let steps = size.pick(200, 2000);
        let seeds = ctx.replicate_seeds(size.pick(2, 3));
        let samples = size.pick(256, 512);
        let lr = 0.01;
        let log_every = steps / 20;
        let xs_train: Vec<f64> = (0..samples).map(|i| (i as f64 + 0.5) / samples as f64).collect();
        let xs_eval: Vec<f64> = (0..4001).map(|i| i as f64 / 4000.0).collect();
        let targets: [Setting; 2] = [
            ("sin(3x) + x^2/2", |x| (3.0 * x).sin() + 0.5 * x * x, 4.0, 0.01),
            ("sin(40x)", |x| (40.0 * x).sin(), 40.0, 0.1),
        ];
        let mut m = Metrics::new();
        m.config("steps", steps);
        m.config("seeds", seeds.clone());
        m.config("training", "full-batch Adam (dl-framework), lr 0.01, MSE over uniform points; PyTorch default init");
        m.config("training_points", samples);
        m.config("evaluation", "4001 uniform points on [0, 1]");
        m.table(
            "comparison",
            &[
                "target",
                "eps",
                "network",
                "width",
                "sup_mean",
                "sup_sd",
                "l2_mean",
                "l2_sd",
                "target_evaluations",
                "gradient_steps",
                "multiply_adds",
            ],
        );
        let mut worst_construct = 0.0f64;
        let mut osc_gap = Vec::new();
        for (ti, (name, f, lip, eps)) in targets.iter().enumerate() {
            ctx.message(format!("{name}: construction"));
            let target = Target::new_1d(*f, 0.0, 1.0, Modulus::lipschitz(*lip).map_err(fail)?).map_err(fail)?;
            let built = UniversalApproximator::sigmoid().approximate(&target, *eps).map_err(fail)?;
            let width = built.width();
            let (sup_c, _) = measured_error(&built, &target, 4001, 1000, &[], ctx.seed())?;
            let (_, l2_c) = errors(built.network(), *f, &xs_eval)?;
            worst_construct = worst_construct.max(sup_c / built.certified_error());
            m.push_row(
                "comparison",
                vec![
                    (*name).into(),
                    num(*eps),
                    "constructed (Cybenko)".into(),
                    json!(width),
                    num(sup_c),
                    num(0.0),
                    num(l2_c),
                    num(0.0),
                    json!(width + 1),
                    json!(0),
                    json!(width * 4),
                ],
            )?;
            let mut curves: Vec<Vec<(f64, f64)>> = Vec::new();
            let (mut sups, mut l2s) = (Vec::new(), Vec::new());
            for &seed in &seeds {
                ctx.message(format!("{name}: training, seed {seed}"));
                let mut rng = seeded_rng(seed ^ ((ti as u64) << 40));
                let net = Sequential::<f64>::new()
                    .with(Linear::new(1, width, true, &mut rng))
                    .with(Act::sigmoid())
                    .with(Linear::new(width, 1, true, &mut rng));
                let x = Var::constant(Tensor::from_vec(xs_train.clone(), &[samples, 1])?);
                let y = Var::constant(Tensor::from_vec(xs_train.iter().map(|&v| f(v)).collect(), &[samples, 1])?);
                let mut opt = Adam::<f64>::new(AdamConfig { lr, ..AdamConfig::default() }).map_err(fail)?;
                let mut curve = Vec::new();
                for step in 0..=steps {
                    if step % log_every == 0 {
                        let (sup, _) = no_grad(|| errors(&net, *f, &xs_eval))?;
                        curve.push((step.max(1) as f64, sup));
                    }
                    if step == steps {
                        break;
                    }
                    let loss = mse(&net.forward(&x).map_err(fail)?, &y).map_err(fail)?;
                    let grads = loss.backward()?;
                    let mut sp = parameters_for_step(&net, &grads);
                    {
                        let mut params: Vec<OptParam<'_, f64>> =
                            sp.iter_mut().map(|p| OptParam::new(&p.name, &mut p.value, &p.grad)).collect();
                        opt.step(&mut params).map_err(fail)?;
                    }
                    commit_step(sp).map_err(fail)?;
                }
                let (sup, l2) = errors(&net, *f, &xs_eval)?;
                sups.push(sup);
                l2s.push(l2);
                curves.push(curve);
            }
            let ms = Measured::over_seeds(&sups);
            let ml = Measured::over_seeds(&l2s);
            // forward + backward of the two dense layers: about 3 x 2 M N multiply-adds per step
            let macs = 6 * samples * width * steps;
            m.push_row(
                "comparison",
                vec![
                    (*name).into(),
                    num(*eps),
                    "trained (Adam from random init)".into(),
                    json!(width),
                    num(ms.mean),
                    num(ms.spread),
                    num(ml.mean),
                    num(ml.spread),
                    json!(samples),
                    json!(steps),
                    json!(macs),
                ],
            )?;
            if ti == 1 {
                osc_gap = sups.iter().map(|s| s / eps).collect();
            }
            let mut chart = LineChart::new(
                &format!("{name}, width {width}: trained sup error against steps"),
                "Adam steps",
                "sup error on [0, 1]",
            )
            .scales(Scale::Log10, Scale::Log10);
            let band: Vec<(f64, f64, f64)> = (0..curves[0].len())
                .map(|k| {
                    let v: Vec<f64> = curves.iter().map(|c| c[k].1).collect();
                    let mm = Measured::over_seeds(&v);
                    (curves[0][k].0, mm.mean, mm.spread)
                })
                .collect();
            chart.add_with_band("trained network (mean over seeds)", 0, &band);
            let span = (1.0, steps as f64);
            chart.add("constructed network, measured", SeriesKind::Line, 1, vec![(span.0, sup_c), (span.1, sup_c)]);
            chart.add(
                "certified bound eps",
                SeriesKind::Line,
                2,
                vec![(span.0, built.certified_error()), (span.1, built.certified_error())],
            );
            ctx.figure(&format!("training_{}", if ti == 0 { "smooth" } else { "oscillating" }), &chart)?;
            ctx.progress(ti as u64 + 1, 2);
        }
        m.claim(
            Claim::new(
                "constructed-within-certificate",
                "the constructed network's measured sup error is within its certificate",
                "Cybenko 1989 (construction and certificate: docs/approximation.md §2)",
            )
            .measured("largest measured sup error / certificate", Measured::exact(worst_construct))
            .criterion(Criterion::at_most(1.0)),
        )?;
        m.claim(
            Claim::new(
                "gd-misses-the-certified-eps",
                "a width that can represent sin(40x) within eps = 0.1 is not found by gradient descent from a random initialisation within a fixed budget: existence is not learnability",
                "Cybenko 1989 (existence); Shalev-Shwartz, Shamir & Shammah 2017; Rahaman et al. 2019 (spectral bias)",
            )
            .measured("trained sup error / eps on sin(40x) at the constructed width, per seed", Measured::over_seeds(&osc_gap))
            .criterion(Criterion::at_least(1.0))
            .note("budget: full-batch Adam, lr 0.01, 2000 steps at full size (200 quick); a longer budget or another optimiser may close the gap"),
        )?;
        Ok(m)
    }
}
