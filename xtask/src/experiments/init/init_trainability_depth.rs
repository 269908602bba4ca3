//! `init-trainability-depth`: which deep tanh networks can be trained, across the phase
//! diagram and depth, against the correlation depth scale xi_c (Schoenholz et al. 2017,
//! figure 5, scaled to a CPU and to the 8x8 digits).
//!
//! For each sigma_w2 on a grid at sigma_b2 = 0.05 and each depth L, a tanh MLP of the given
//! width with W ~ N(0, sigma_w2 / fan_in), b ~ N(0, sigma_b2) (a dl-framework configuration
//! with the `gaussian` initialisation scheme) is trained by dl-framework's `Trainer`
//! (minibatch SGD with momentum) for a fixed number of steps, and its test accuracy
//! recorded (a diverged run counts as accuracy 0). Schoenholz et
//! al. found networks trainable when L < 6 xi_c, with xi_c = -1 / log(chi_c) the depth over
//! which the correlation of two inputs approaches its fixed point; xi_c diverges on the
//! critical line (sigma_w2 = 1.76 at sigma_b2 = 0.05). The figure overlays 6 xi_c on the
//! trainable (accuracy above `TRAINABLE_ACCURACY`) and untrainable grid points; the metrics
//! give the fraction of grid points on the side of the curve that theory predicts and the
//! multiple k of xi_c whose curve L = k xi_c separates them best.
//!
//! Scaled down: width 64, 300 SGD steps (lr 1e-3, momentum 0.9, batch 64), depths 10 to 80,
//! 13 values of sigma_w2 in [1, 4]; about 4.5 minutes on 2 shared cores. Measured at full
//! size with seed 0 (2026-11-25, `cargo xtask experiments --only init-trainability-depth`):
//! 56 of 78 networks trainable; `L < 6 xi_c` puts 88.5% of the grid points on the right
//! side, and the best separating multiple is 6.5 xi_c (91.0%). The trainable
//! region is the band around the critical sigma_w2 = 1.76 that narrows with depth as
//! 6 xi_c does, as in Schoenholz et al.'s figure 5.

use dl_framework::{Network, NetworkConfig};
use dl_init::{Activation, MeanField, critical_sigma_w2};
use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::init::init_training::{Digits, Sgd, fit};
use crate::experiments::synthesis::digits_mlp::fw;
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// A network counts as trainable when its test accuracy exceeds this (chance is 0.1).
pub const TRAINABLE_ACCURACY: f64 = 0.3;

/// `depth` blocks `dense(width) -> tanh` on the 64 pixels, then `dense(10)`, every dense
/// layer drawn as `W ~ N(0, sigma_w2 / fan_in)`, `b ~ N(0, sigma_b2)` from `seed`.
fn tanh_mlp(
    width: usize,
    depth: usize,
    sigma_w2: f64,
    sigma_b2: f64,
    seed: u64,
) -> Result<Network<f32>, ExperimentError> {
    let mut layers: Vec<serde_json::Value> =
        (0..depth).map(|_| json!({"type": "dense", "units": width, "activation": "tanh"})).collect();
    layers.push(json!({"type": "dense", "units": 10}));
    let cfg = json!({"input_shape": [64], "layers": layers, "seed": seed,
                     "init": {"scheme": "gaussian", "sigma_w2": sigma_w2, "sigma_b2": sigma_b2}});
    NetworkConfig::from_json(&cfg.to_string()).and_then(|c| c.build::<f32>()).map_err(fw)
}

/// Trainability of deep tanh networks against depth across the phase diagram.
pub struct InitTrainabilityDepth;

impl Experiment for InitTrainabilityDepth {
    fn id(&self) -> &'static str {
        "init-trainability-depth"
    }
    fn title(&self) -> &'static str {
        "Trainability of deep tanh networks across the phase diagram tracks a multiple of xi_c (Schoenholz et al. 2017, fig. 5, scaled down)"
    }
    fn section(&self) -> &'static str {
        "03 initialisation, signal propagation"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let sigma_b2 = 0.05;
        let sigma_w2s: Vec<f64> = match size {
            crate::experiment::Size::Quick => vec![1.0, 1.75, 3.0],
            crate::experiment::Size::Full => (0..13).map(|i| 1.0 + 0.25 * i as f64).collect(),
        };
        let depths: Vec<usize> = size.pick(vec![4, 12], vec![10, 20, 30, 45, 60, 80]);
        let width = size.pick(32, 64);
        let opt = Sgd { lr: 0.001, momentum: 0.9, batch_size: 64, steps: size.pick(80, 300) };
        let data = Digits::load(ctx.seed())?;
        let act = Activation::Tanh;
        let mut m = Metrics::new();
        m.config("activation", "tanh");
        m.config("sigma_b2", sigma_b2);
        m.config("sigma_w2", json!(sigma_w2s));
        m.config("depths", json!(depths));
        m.config("width", width);
        m.config("optimiser", json!({"kind": "sgd+momentum", "lr": opt.lr, "momentum": opt.momentum, "batch_size": opt.batch_size, "steps": opt.steps}));
        m.config("trainable_accuracy", TRAINABLE_ACCURACY);
        m.scalar("critical_sigma_w2", critical_sigma_w2(&act, sigma_b2)?);
        m.table("xi_c", &["sigma_w2", "xi_c", "chi_1"]);
        let mut xi = Vec::new();
        for &w2 in &sigma_w2s {
            let mf = MeanField::new(act.clone(), w2, sigma_b2)?;
            let x = mf.xi_c()?;
            m.push_row("xi_c", vec![num(w2), if x.is_finite() { num(x) } else { json!(null) }, num(mf.chi_1()?)])?;
            xi.push(x);
        }
        m.table("runs", &["sigma_w2", "depth", "xi_c", "depth_over_xi_c", "last_loss", "test_accuracy", "trainable"]);
        let (mut ok_pts, mut bad_pts) = (Vec::new(), Vec::new());
        let mut points = Vec::new(); // (depth / xi_c, trainable)
        let total = (sigma_w2s.len() * depths.len()) as u64;
        let mut done = 0;
        for (i, &w2) in sigma_w2s.iter().enumerate() {
            for &depth in &depths {
                ctx.message(format!("sigma_w2 {w2}, depth {depth}"));
                // parameters and shuffling from distinct seeds, distinct for every network
                let net = tanh_mlp(width, depth, w2, sigma_b2, ctx.seed().wrapping_add(1 << 20).wrapping_add(done))?;
                let out = fit(net, &data, opt, ctx.seed() + done)?;
                let trainable = !out.diverged && out.test_accuracy > TRAINABLE_ACCURACY;
                let ratio = depth as f64 / xi[i];
                m.push_row(
                    "runs",
                    vec![
                        num(w2),
                        json!(depth),
                        num(xi[i]),
                        num(ratio),
                        num(out.last_loss),
                        num(out.test_accuracy),
                        json!(trainable),
                    ],
                )?;
                points.push((ratio, trainable));
                if trainable {
                    ok_pts.push((w2, depth as f64))
                } else {
                    bad_pts.push((w2, depth as f64))
                }
                done += 1;
                ctx.progress(done, total);
            }
        }
        // How well does L < k xi_c separate trainable from untrainable?
        let agreement = |k: f64| points.iter().filter(|(r, t)| (*r < k) == *t).count() as f64 / points.len() as f64;
        m.scalar("agreement_with_6_xi_c", agreement(6.0));
        let ks: Vec<f64> = (1..=40).map(|i| 0.5 * i as f64).collect();
        let best = ks.iter().copied().fold((0.0, -1.0), |(bk, ba), k| {
            let a = agreement(k);
            if a > ba { (k, a) } else { (bk, ba) }
        });
        m.scalar("best_multiple_of_xi_c", best.0);
        m.scalar("agreement_at_best_multiple", best.1);
        m.scalar("trainable_points", ok_pts.len() as f64);
        m.scalar("untrainable_points", bad_pts.len() as f64);

        let max_depth = *depths.last().expect("at least one depth") as f64;
        // xi_c on a finer sigma_w2 grid for the curves (each xi_c solves for c* by
        // quadrature, ~0.1 s, so the grid is coarser at quick size).
        let n_curve = size.pick(24, 96);
        let fine: Vec<(f64, f64)> = (0..=n_curve)
            .map(|j| 1.0 + 3.0 * j as f64 / n_curve as f64)
            .filter_map(|w2| {
                MeanField::new(Activation::Tanh, w2, sigma_b2).and_then(|mf| mf.xi_c()).ok().map(|x| (w2, x))
            })
            .collect();
        // L = k xi_c, capped above the deepest network.
        let curve = |k: f64| -> Vec<(f64, f64)> {
            fine.iter().map(|&(w2, x)| (w2, (k * x).min(1.5 * max_depth))).filter(|p| p.1.is_finite()).collect()
        };
        let mut chart =
            LineChart::new("tanh, sigma_b2 = 0.05: trainable networks against depth", "sigma_w^2", "depth L")
                .scales(Scale::Linear, Scale::Linear);
        chart.add(&format!("trainable (test accuracy > {TRAINABLE_ACCURACY})"), SeriesKind::Crosses, 0, ok_pts);
        chart.add("not trainable", SeriesKind::Crosses, 1, bad_pts);
        chart.add("L = 6 xi_c", SeriesKind::Line, 2, curve(6.0));
        chart.add(&format!("L = {} xi_c (best separation)", best.0), SeriesKind::Line, 3, curve(best.0));
        ctx.figure("trainability", &chart)?;
        Ok(m)
    }
}
