//! Tests of the synthetic generators against independent computations.

use super::*;
use dl_tensor::seeded_rng;

/// The teacher's forward pass with explicit loops in f64, from its stored weights.
fn loop_forward(t: &TeacherNetwork<f64>, x: &[f64]) -> Vec<f64> {
    let mut h = x.to_vec();
    for (l, (w, b)) in t.weights.iter().zip(&t.biases).enumerate() {
        let (fan_in, fan_out) = (t.widths[l], t.widths[l + 1]);
        let (w, b) = (w.to_vec(), b.to_vec());
        let mut next = vec![0.0; fan_out];
        for j in 0..fan_out {
            let mut s = b[j];
            for i in 0..fan_in {
                s += h[i] * w[i * fan_out + j];
            }
            next[j] = if l + 1 < t.weights.len() {
                match t.activation {
                    Activation::Linear => s,
                    Activation::Relu => s.max(0.0),
                    Activation::Tanh => s.tanh(),
                    Activation::Erf => simpson_erf(s),
                }
            } else {
                s
            };
        }
        h = next;
    }
    h
}

/// erf by composite Simpson quadrature of 2/sqrt(pi) exp(-t^2) on [0, x], step at most
/// 2.5e-4: the error bound (|x| / 180) h^4 max|f| (max|f| = 24/sqrt(pi) < 13.6)
/// is below 2e-15 for |x| <= 6, and rounding over at most 24000 terms adds ~1e-14
/// (random-walk estimate); beyond 6, erf is +-1 to double precision.
fn simpson_erf(x: f64) -> f64 {
    if x.abs() > 6.0 {
        return x.signum();
    }
    let n = 2 * ((x.abs() / 5e-4).ceil() as usize).max(1);
    let h = x / n as f64;
    let f = |t: f64| (-t * t).exp();
    let mut s = f(0.0) + f(x);
    for i in 1..n {
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(i as f64 * h);
    }
    s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn teacher_matches_a_direct_loop_forward_pass() {
    for act in [Activation::Linear, Activation::Relu, Activation::Tanh, Activation::Erf] {
        let mut rng = seeded_rng(5);
        let t = TeacherNetwork::<f64>::random(&[5, 16, 8, 3], act, 2.0, 0.1, &mut rng).unwrap();
        let d = t.regression_data(20, 0.0, &mut rng).unwrap();
        let x = d.features().to_vec();
        let y = d.regression_targets().unwrap().to_vec();
        for n in 0..20 {
            let want = loop_forward(&t, &x[n * 5..(n + 1) * 5]);
            for j in 0..3 {
                // Summation order differs from the GEMM kernel: allow a few ulps of
                // the magnitudes involved (sums of 16 terms of order 1).
                assert!((y[n * 3 + j] - want[j]).abs() < 1e-12, "{act:?} {n} {j}: {} vs {}", y[n * 3 + j], want[j]);
            }
        }
        let c = t.classification_data(30, &mut rng).unwrap();
        let out = t.forward(c.features()).unwrap().to_vec();
        for (n, &l) in c.labels().unwrap().iter().enumerate() {
            assert!(out[n * 3..n * 3 + 3].iter().all(|&v| v <= out[n * 3 + l]));
        }
    }
    let mut rng = seeded_rng(0);
    assert!(TeacherNetwork::<f32>::random(&[3], Activation::Relu, 1.0, 0.0, &mut rng).is_err());
    assert!(TeacherNetwork::<f32>::random(&[3, 0, 1], Activation::Relu, 1.0, 0.0, &mut rng).is_err());
    assert!(TeacherNetwork::<f32>::random(&[3, 1], Activation::Relu, -1.0, 0.0, &mut rng).is_err());
    let t = TeacherNetwork::<f32>::random(&[3, 1], Activation::Relu, 1.0, 0.0, &mut rng).unwrap();
    assert!(t.classification_data(4, &mut rng).is_err());
    assert!(t.forward(&Tensor::zeros(&[2, 4])).unwrap_err().to_string().contains("(N, 3)"));
    let mut broken = t.clone();
    broken.weights.clear();
    assert!(broken.forward(&Tensor::zeros(&[2, 3])).unwrap_err().to_string().contains("inconsistent"));
    broken.widths.clear();
    assert!(broken.regression_data(2, 0.0, &mut rng).is_err());
}

#[test]
fn teacher_weight_variance_is_sigma_w2_over_fan_in() {
    // 400 x 400 weights: the sample variance has relative standard error
    // sqrt(2 / 160000) ~ 0.35%; allow 5 standard errors.
    let t = TeacherNetwork::<f64>::random(&[400, 400, 1], Activation::Tanh, 2.0, 0.0, &mut seeded_rng(9)).unwrap();
    let w = t.weights[0].to_vec();
    let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
    assert!((var / (2.0 / 400.0) - 1.0).abs() < 5.0 * 0.0036, "{var}");
    assert!(t.biases[0].to_vec().iter().all(|&b| b == 0.0));
}

#[test]
fn parity_labels_are_xor_of_relevant_bits() {
    let mut rng = seeded_rng(1);
    let p = SparseParity::random(20, 3, &mut rng).unwrap();
    assert_eq!(p.relevant.len(), 3);
    let d = p.generate::<f32, _>(500, &mut rng).unwrap();
    let x = d.features().to_vec();
    let labels = d.labels().unwrap();
    assert!(x.iter().all(|&v| v == 1.0 || v == -1.0));
    for n in 0..500 {
        let mut xor = 0u8;
        for &i in &p.relevant {
            xor ^= (x[n * 20 + i] < 0.0) as u8;
        }
        assert_eq!(labels[n], xor as usize);
    }
    // Balanced classes: 500 fair labels, standard deviation ~11; allow 5 of them.
    let ones = labels.iter().sum::<usize>() as i64;
    assert!((ones - 250).abs() < 56, "{ones}");
    assert_eq!(p.label(&[false; 20]).unwrap(), 0);
    assert!(p.label(&[true; 3]).is_err());
    assert!(SparseParity::new(4, vec![1, 1]).is_err());
    assert!(SparseParity::new(4, vec![4]).is_err());
    assert!(SparseParity::random(4, 5, &mut rng).is_err());
    assert_eq!(p, SparseParity::random(20, 3, &mut seeded_rng(1)).unwrap());
}

#[test]
fn modular_table_is_complete_and_correct() {
    for (op, f) in [
        (ModOp::Add, (|a: i64, b: i64| a + b) as fn(i64, i64) -> i64),
        (ModOp::Sub, |a, b| a - b),
        (ModOp::Mul, |a, b| a * b),
    ] {
        let m = ModularArithmetic::new(7, op).unwrap();
        let d = m.dataset::<f64>().unwrap();
        assert_eq!(d.features().shape(), &[49, 14]);
        let x = d.features().to_vec();
        for (row, &c) in d.labels().unwrap().iter().enumerate() {
            let oh = &x[row * 14..(row + 1) * 14];
            assert_eq!(oh.iter().sum::<f64>(), 2.0);
            let a = oh[..7].iter().position(|&v| v == 1.0).unwrap() as i64;
            let b = oh[7..].iter().position(|&v| v == 1.0).unwrap() as i64;
            assert_eq!(row as i64, a * 7 + b, "every pair once, in order");
            assert_eq!(c as i64, f(a, b).rem_euclid(7));
        }
    }
    let m = ModularArithmetic::new(11, ModOp::Div).unwrap();
    let t = m.table();
    assert_eq!(t.len(), 11 * 10);
    assert!(t.iter().all(|&(a, b, c)| (c * b) % 11 == a), "c = a / b means c b = a");
    assert!(ModularArithmetic::new(12, ModOp::Div).is_err());
    assert!(ModularArithmetic::new(1, ModOp::Add).is_err());

    let m = ModularArithmetic::new(13, ModOp::Add).unwrap();
    let s = m.split::<f32, _>(0.3, &mut seeded_rng(2)).unwrap();
    assert_eq!(s.train.len(), (169.0f64 * 0.3).round() as usize);
    assert_eq!(s.train.len() + s.test.len(), 169);
    let mut rows: Vec<Vec<u8>> = s
        .train
        .features()
        .to_vec()
        .chunks(26)
        .chain(s.test.features().to_vec().chunks(26))
        .map(|r| r.iter().map(|&v| v as u8).collect())
        .collect();
    rows.sort();
    rows.dedup();
    assert_eq!(rows.len(), 169, "train and test are disjoint and cover the table");
    assert_eq!(s, m.split::<f32, _>(0.3, &mut seeded_rng(2)).unwrap());
    assert!(m.split::<f32, _>(1.2, &mut seeded_rng(2)).is_err());

    // the token-id table: row (a, b), label a + b mod 13, and the same split as the one-hot table
    let t = m.split_tokens::<f32, _>(0.3, &mut seeded_rng(2)).unwrap();
    assert_eq!(t.train.labels(), s.train.labels());
    for (tok, hot) in t.train.features().to_vec().chunks(2).zip(s.train.features().to_vec().chunks(26)) {
        let a = hot[..13].iter().position(|&v| v == 1.0).unwrap();
        let b = hot[13..].iter().position(|&v| v == 1.0).unwrap();
        assert_eq!((tok[0] as usize, tok[1] as usize), (a, b));
    }
    let all = m.tokens::<f64>().unwrap();
    for (row, &c) in all.features().to_vec().chunks(2).zip(all.labels().unwrap()) {
        assert_eq!((row[0] as usize + row[1] as usize) % 13, c);
    }
    assert!(m.split_tokens::<f32, _>(-0.1, &mut seeded_rng(2)).is_err());
}

#[test]
fn spirals_radius_grows_with_angle() {
    let s = TwoSpirals { points_per_class: 50, turns: 2.0, noise_std: 0.0 };
    let d = s.generate::<f64, _>(&mut seeded_rng(0)).unwrap();
    assert_eq!(d.features().shape(), &[100, 2]);
    let x = d.features().to_vec();
    for class in 0..2 {
        let pts: Vec<(f64, f64)> = (0..50).map(|i| (x[(2 * i + class) * 2], x[(2 * i + class) * 2 + 1])).collect();
        // Unwrap the angle along the spiral and check r = 0.1 + 0.9 theta / (2 pi turns).
        let mut theta = pts[0].1.atan2(pts[0].0);
        let offset = theta;
        let mut prev_r = 0.0;
        for (i, &(px, py)) in pts.iter().enumerate() {
            let r = px.hypot(py);
            if i > 0 {
                let mut d = py.atan2(px) - (theta % (2.0 * std::f64::consts::PI));
                d = (d + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI) - std::f64::consts::PI;
                assert!(d > 0.0, "angle increases");
                theta += d;
                assert!(r > prev_r, "radius increases with angle");
            }
            let expect = 0.1 + 0.9 * (theta - offset) / (4.0 * std::f64::consts::PI);
            assert!((r - expect).abs() < 1e-12, "class {class} point {i}: r {r} vs {expect}");
            prev_r = r;
        }
        assert_eq!(d.labels().unwrap()[class], class);
    }
    // Class 1 is class 0 rotated by pi.
    assert!((x[0] + x[2]).abs() < 1e-15 && (x[1] + x[3]).abs() < 1e-15);
    let noisy = TwoSpirals { noise_std: 0.1, ..s }.generate::<f32, _>(&mut seeded_rng(0)).unwrap();
    assert_ne!(noisy.features().to_vec(), d.cast::<f32>().features().to_vec());
    assert!(TwoSpirals { turns: 0.0, ..s }.generate::<f64, _>(&mut seeded_rng(0)).is_err());
}

#[test]
fn sinusoid_targets_follow_the_formula() {
    let s = Sinusoid { amplitude: 2.0, omega: 3.0, phase: 0.5, x_min: -1.0, x_max: 2.0, noise_std: 0.0 };
    let d = s.generate::<f64, _>(200, &mut seeded_rng(4)).unwrap();
    let x = d.features().to_vec();
    let y = d.regression_targets().unwrap().to_vec();
    for (xi, yi) in x.iter().zip(&y) {
        assert!((-1.0..2.0).contains(xi));
        assert_eq!(*yi, 2.0 * (3.0 * xi + 0.5).sin());
    }
    // Noise: residuals have standard deviation noise_std. 20000 draws: the sample
    // standard deviation has relative standard error 1/sqrt(2n) = 0.5%; allow 5 of them.
    let noisy = Sinusoid { noise_std: 0.3, ..s }.generate::<f64, _>(20_000, &mut seeded_rng(4)).unwrap();
    let xs = noisy.features().to_vec();
    let ys = noisy.regression_targets().unwrap().to_vec();
    let var = xs.iter().zip(&ys).map(|(x, y)| (y - s.eval(*x)).powi(2)).sum::<f64>() / 20_000.0;
    assert!((var.sqrt() / 0.3 - 1.0).abs() < 0.025, "{}", var.sqrt());
    assert!(Sinusoid { x_min: 1.0, x_max: 1.0, ..s }.generate::<f64, _>(3, &mut seeded_rng(0)).is_err());
    assert!(Sinusoid { noise_std: -1.0, ..s }.generate::<f64, _>(3, &mut seeded_rng(0)).is_err());
    let task = Sinusoid::random_task(&mut seeded_rng(3));
    assert!((0.1..5.0).contains(&task.amplitude) && (0.0..std::f64::consts::PI).contains(&task.phase));
}
