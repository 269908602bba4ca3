//! Optimisers against update sequences computed independently.
//!
//! The reference implementations below are written from the pseudo-code in PyTorch's
//! documentation (`torch.optim.SGD`, `Adam`, `AdamW`, `RMSprop`), element by element in
//! f64, sharing nothing with the crate. Both sides minimise the same quadratic
//! `L(p) = 0.5 * sum_i a_i (p_i - c_i)^2` (gradient `a_i (p_i - c_i)`) for 25 steps, and
//! the parameters must agree to f64 rounding (`Tolerance::default_for::<f64>()` scaled by
//! the step count: each step adds a few ulp).

use dl_framework::optim::{
    Adam, AdamConfig, LrSchedule, Optimizer, OptimizerState, Param, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use dl_tensor::Tensor;
use dl_tensor::compare::{Tolerance, assert_close_slices};

const A: [f64; 5] = [0.5, 1.0, 2.0, 4.0, 0.1];
const C: [f64; 5] = [1.0, -2.0, 0.5, 3.0, -1.0];
const P0: [f64; 5] = [0.0, 0.3, -0.7, 2.0, 5.0];
const STEPS: usize = 25;

fn grad(p: &[f64]) -> Vec<f64> {
    p.iter().zip(A.iter().zip(C)).map(|(p, (a, c))| a * (p - c)).collect()
}

fn tol() -> Tolerance {
    Tolerance::new(1e-12 * STEPS as f64, 1e-13 * STEPS as f64)
}

/// Runs an optimiser of the crate on the quadratic, with `schedule` setting the rate.
fn run_crate(opt: &mut dyn Optimizer<f64>, lr0: f64, schedule: &LrSchedule) -> Vec<f64> {
    let mut p = Tensor::from_vec(P0.to_vec(), &[5]).unwrap();
    for t in 0..STEPS {
        opt.set_lr(schedule.lr_at(lr0, t as u64));
        let g = Tensor::from_vec(grad(&p.to_vec()), &[5]).unwrap();
        opt.step(&mut [Param::new("w", &mut p, &g)]).unwrap();
    }
    p.to_vec()
}

fn sgd_reference(lr: f64, mu: f64, damp: f64, nesterov: bool, wd: f64) -> Vec<f64> {
    let mut p = P0.to_vec();
    let mut b = [0.0; 5];
    for t in 0..STEPS {
        let mut g = grad(&p);
        for i in 0..5 {
            g[i] += wd * p[i];
            if mu != 0.0 {
                b[i] = if t == 0 { g[i] } else { mu * b[i] + (1.0 - damp) * g[i] };
                g[i] = if nesterov { g[i] + mu * b[i] } else { b[i] };
            }
            p[i] -= lr * g[i];
        }
    }
    p
}

fn adam_reference(lr: &dyn Fn(usize) -> f64, b1: f64, b2: f64, eps: f64, wd: f64, decoupled: bool) -> Vec<f64> {
    let mut p = P0.to_vec();
    let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
    for t in 1..=STEPS {
        let lr = lr(t - 1);
        let mut g = grad(&p);
        for i in 0..5 {
            if decoupled {
                p[i] *= 1.0 - lr * wd;
            } else {
                g[i] += wd * p[i];
            }
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let m_hat = m[i] / (1.0 - b1.powi(t as i32));
            let v_hat = v[i] / (1.0 - b2.powi(t as i32));
            p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
    p
}

fn rmsprop_reference(lr: f64, alpha: f64, eps: f64, mu: f64, centered: bool, wd: f64) -> Vec<f64> {
    let mut p = P0.to_vec();
    let (mut v, mut gbar, mut b) = (vec![0.0; 5], vec![0.0; 5], vec![0.0; 5]);
    for _ in 0..STEPS {
        let mut g = grad(&p);
        for i in 0..5 {
            g[i] += wd * p[i];
            v[i] = alpha * v[i] + (1.0 - alpha) * g[i] * g[i];
            let mut vt = v[i];
            if centered {
                gbar[i] = alpha * gbar[i] + (1.0 - alpha) * g[i];
                vt -= gbar[i] * gbar[i];
            }
            if mu > 0.0 {
                b[i] = mu * b[i] + g[i] / (vt.sqrt() + eps);
                p[i] -= lr * b[i];
            } else {
                p[i] -= lr * g[i] / (vt.sqrt() + eps);
            }
        }
    }
    p
}

#[test]
fn sgd_variants_match_the_reference() {
    for (mu, damp, nesterov, wd) in
        [(0.0, 0.0, false, 0.0), (0.9, 0.0, false, 0.0), (0.9, 0.0, true, 1e-2), (0.5, 0.3, false, 0.1)]
    {
        let cfg = SgdConfig { lr: 0.05, momentum: mu, dampening: damp, nesterov, weight_decay: wd };
        let got = run_crate(&mut Sgd::new(cfg).unwrap(), 0.05, &LrSchedule::Constant);
        assert_close_slices(&got, &sgd_reference(0.05, mu, damp, nesterov, wd), tol());
    }
}

#[test]
fn adam_and_adamw_match_the_reference_under_a_schedule() {
    let schedule = LrSchedule::Warmup { steps: 5, then: Box::new(LrSchedule::Cosine { t_max: 20, eta_min: 1e-3 }) };
    for (wd, decoupled) in [(0.0, false), (0.05, false), (0.05, true)] {
        let cfg = AdamConfig { lr: 0.1, weight_decay: wd, decoupled_weight_decay: decoupled, ..AdamConfig::default() };
        let got = run_crate(&mut Adam::new(cfg).unwrap(), 0.1, &schedule);
        let lr = |t: usize| schedule.lr_at(0.1, t as u64);
        assert_close_slices(&got, &adam_reference(&lr, 0.9, 0.999, 1e-8, wd, decoupled), tol());
    }
}

#[test]
fn adams_first_step_moves_each_coordinate_by_lr() {
    // At t = 1, m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps) = lr sign(g).
    let mut p = Tensor::from_vec(P0.to_vec(), &[5]).unwrap();
    let g = Tensor::from_vec(grad(&P0), &[5]).unwrap();
    let mut opt = Adam::<f64>::new(AdamConfig { lr: 0.01, eps: 0.0, ..AdamConfig::default() }).unwrap();
    opt.step(&mut [Param::new("w", &mut p, &g)]).unwrap();
    let expect: Vec<f64> = P0.iter().zip(grad(&P0)).map(|(p, g)| p - 0.01 * g.signum()).collect();
    assert_close_slices(&p.to_vec(), &expect, Tolerance::new(1e-15, 1e-16));
}

#[test]
fn rmsprop_variants_match_the_reference() {
    for (mu, centered, wd) in [(0.0, false, 0.0), (0.9, false, 0.0), (0.0, true, 0.01), (0.5, true, 0.0)] {
        let cfg = RmsPropConfig { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: mu, centered, weight_decay: wd };
        let got = run_crate(&mut RmsProp::new(cfg).unwrap(), 0.01, &LrSchedule::Constant);
        assert_close_slices(&got, &rmsprop_reference(0.01, 0.99, 1e-8, mu, centered, wd), tol());
    }
}

#[test]
fn state_round_trip_resumes_identically() {
    // 10 steps, export the state, continue in a fresh optimiser: bit-identical to 20 steps.
    let cfg = AdamConfig::adamw();
    let mut p = Tensor::from_vec(P0.to_vec(), &[5]).unwrap();
    let mut first = Adam::<f64>::new(cfg).unwrap();
    let step = |opt: &mut Adam<f64>, p: &mut Tensor<f64>| {
        let g = Tensor::from_vec(grad(&p.to_vec()), &[5]).unwrap();
        opt.step(&mut [Param::new("w", p, &g)]).unwrap();
    };
    for _ in 0..10 {
        step(&mut first, &mut p);
    }
    let state: OptimizerState = serde_json::from_str(&serde_json::to_string(&first.state()).unwrap()).unwrap();
    let mut resumed = Adam::<f64>::new(cfg).unwrap();
    resumed.load_state(&state).unwrap();
    let mut q = p.clone();
    for _ in 0..10 {
        step(&mut first, &mut p);
        step(&mut resumed, &mut q);
    }
    assert_eq!(
        p.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        q.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    // A state for another optimiser is rejected with the buffer named.
    let err =
        Sgd::<f64>::new(SgdConfig { momentum: 0.9, ..Default::default() }).unwrap().load_state(&state).unwrap_err();
    assert!(err.to_string().contains("momentum"), "{err}");
}

#[test]
fn bad_hyperparameters_and_shapes_are_errors() {
    assert!(Sgd::<f32>::new(SgdConfig { lr: -1.0, ..Default::default() }).unwrap_err().to_string().contains("lr"));
    assert!(Sgd::<f32>::new(SgdConfig { nesterov: true, ..Default::default() }).is_err());
    assert!(
        Adam::<f32>::new(AdamConfig { beta1: 1.0, ..Default::default() }).unwrap_err().to_string().contains("beta1")
    );
    let mut p = Tensor::<f32>::zeros(&[3]);
    let g = Tensor::<f32>::zeros(&[4]);
    let err = Sgd::new(SgdConfig::default()).unwrap().step(&mut [Param::new("fc.weight", &mut p, &g)]).unwrap_err();
    assert!(err.to_string().contains("fc.weight") && err.to_string().contains("[4]"), "{err}");
}

#[test]
fn a_learning_rate_factor_is_the_reference_at_the_scaled_rate() {
    // Two parameters stepped together, one at factor 1 and one at factor s: each must follow
    // the direct-loop reference at lr and at s * lr (AdamW's decay included), and the
    // factor 1 must be bit-identical to a plain step.
    let s = 0.3;
    let run = |opt: &mut dyn Optimizer<f64>| {
        let (mut a, mut b) =
            (Tensor::from_vec(P0.to_vec(), &[5]).unwrap(), Tensor::from_vec(P0.to_vec(), &[5]).unwrap());
        for _ in 0..STEPS {
            let (ga, gb) = (
                Tensor::from_vec(grad(&a.to_vec()), &[5]).unwrap(),
                Tensor::from_vec(grad(&b.to_vec()), &[5]).unwrap(),
            );
            opt.step(&mut [Param::new("a", &mut a, &ga), Param::new("b", &mut b, &gb).with_lr_scale(s)]).unwrap();
        }
        (a.to_vec(), b.to_vec())
    };
    let cfg = AdamConfig { lr: 0.1, weight_decay: 0.05, decoupled_weight_decay: true, ..AdamConfig::default() };
    let (a, b) = run(&mut Adam::new(cfg).unwrap());
    let plain = run_crate(&mut Adam::new(cfg).unwrap(), 0.1, &LrSchedule::Constant);
    assert_eq!(
        a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_close_slices(&b, &adam_reference(&|_| 0.1 * s, 0.9, 0.999, 1e-8, 0.05, true), tol());
    let (_, b) = run(&mut Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() }).unwrap());
    assert_close_slices(&b, &sgd_reference(0.05 * s, 0.9, 0.0, false, 0.0), tol());
    let (_, b) = run(&mut RmsProp::new(RmsPropConfig {
        lr: 0.01,
        alpha: 0.99,
        eps: 1e-8,
        momentum: 0.0,
        centered: false,
        weight_decay: 0.0,
    })
    .unwrap());
    assert_close_slices(&b, &rmsprop_reference(0.01 * s, 0.99, 1e-8, 0.0, false, 0.0), tol());
    let mut p = Tensor::<f64>::zeros(&[2]);
    let g = Tensor::<f64>::zeros(&[2]);
    let err = Sgd::new(SgdConfig::default())
        .unwrap()
        .step(&mut [Param::new("w", &mut p, &g).with_lr_scale(-1.0)])
        .unwrap_err();
    assert!(err.to_string().contains("'w'") && err.to_string().contains("-1"), "{err}");
}
