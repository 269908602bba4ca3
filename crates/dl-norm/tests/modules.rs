//! Train and eval behaviour of the layers, their edge cases and their errors, each against
//! a direct-loop reference or an independent identity.

use dl_autodiff::Var;
use dl_layers::{Linear, Module, Sequential};
use dl_norm::{BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, InstanceNormOptions, LayerNorm, RmsNorm};
use dl_tensor::{Tensor, Tolerance, assert_close, seeded_rng};

/// Per-column mean and unbiased variance of an (N, F) array, by direct loops in f64.
fn column_stats(x: &[f64], n: usize, f: usize) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; f];
    let mut var = vec![0.0; f];
    for j in 0..f {
        for i in 0..n {
            mean[j] += x[i * f + j] / n as f64;
        }
        for i in 0..n {
            var[j] += (x[i * f + j] - mean[j]).powi(2) / (n as f64 - 1.0);
        }
    }
    (mean, var)
}

#[test]
fn running_statistics_follow_pytorchs_rule() {
    let (n, f) = (6, 4);
    for momentum in [Some(0.1), Some(0.7), None] {
        let bn = BatchNorm1d::<f64>::new(f).unwrap().with_momentum(momentum).unwrap();
        let mut rng = seeded_rng(20);
        let (mut rm, mut rv) = (vec![0.0; f], vec![1.0; f]);
        for step in 1..=3 {
            let x = Tensor::<f64>::randn(&[n, f], &mut rng).mul_scalar(2.0).add_scalar(step as f64);
            bn.forward(&Var::constant(x.clone())).unwrap();
            let (mean, var) = column_stats(&x.to_vec(), n, f);
            let m = momentum.unwrap_or(1.0 / step as f64);
            for j in 0..f {
                rm[j] = (1.0 - m) * rm[j] + m * mean[j];
                rv[j] = (1.0 - m) * rv[j] + m * var[j];
            }
        }
        let state = bn.state_dict();
        let tol = Tolerance::default_for::<f64>();
        assert_close(&state["running_mean"], &Tensor::from_vec(rm, &[f]).unwrap(), tol);
        assert_close(&state["running_var"], &Tensor::from_vec(rv, &[f]).unwrap(), tol);
        assert_eq!(state["num_batches_tracked"].item().unwrap(), 3.0);
    }
}

#[test]
fn eval_mode_uses_the_running_statistics() {
    let (n, f, eps) = (5, 3, 1e-5);
    let mut bn = BatchNorm1d::<f64>::new(f).unwrap();
    let mut rng = seeded_rng(21);
    let (w, b) = bn.affine.clone().unwrap();
    w.set(Tensor::randn(&[f], &mut rng)).unwrap();
    b.set(Tensor::randn(&[f], &mut rng)).unwrap();
    // Before any training step: mean 0, variance 1.
    bn.eval();
    let x = Tensor::<f64>::randn(&[n, f], &mut rng).add_scalar(3.0);
    let expected = |rm: &[f64], rv: &[f64]| {
        let (xs, ws, bs) = (x.to_vec(), w.value().to_vec(), b.value().to_vec());
        let v: Vec<f64> =
            (0..n * f).map(|k| ws[k % f] * (xs[k] - rm[k % f]) / (rv[k % f] + eps).sqrt() + bs[k % f]).collect();
        Tensor::from_vec(v, &[n, f]).unwrap()
    };
    let tol = Tolerance::default_for::<f64>();
    assert_close(bn.forward(&Var::constant(x.clone())).unwrap().value(), &expected(&[0.0; 3], &[1.0; 3]), tol);
    // After two training steps the running values are used, and eval does not change them.
    bn.train();
    for _ in 0..2 {
        bn.forward(&Var::constant(Tensor::randn(&[8, f], &mut rng).mul_scalar(3.0))).unwrap();
    }
    bn.eval();
    let (rm, rv) = (bn.state_dict()["running_mean"].to_vec(), bn.state_dict()["running_var"].to_vec());
    assert_close(bn.forward(&Var::constant(x.clone())).unwrap().value(), &expected(&rm, &rv), tol);
    assert_eq!(bn.state_dict()["running_mean"].to_vec(), rm);
    assert_eq!(bn.state_dict()["num_batches_tracked"].item().unwrap(), 2.0);
}

#[test]
fn a_training_batch_of_one_is_an_error_where_statistics_are_undefined() {
    let bn = BatchNorm1d::<f64>::new(4).unwrap();
    let e = bn.forward(&Var::constant(Tensor::zeros(&[1, 4]))).unwrap_err().to_string();
    assert!(e.contains("BatchNorm1d(4)") && e.contains("[1, 4]") && e.contains("more than 1 value per channel"), "{e}");
    let bn2 = BatchNorm2d::<f64>::new(2).unwrap();
    assert!(bn2.forward(&Var::constant(Tensor::zeros(&[1, 2, 1, 1]))).is_err());
    // one sample with several spatial positions has statistics: fine, as in PyTorch
    assert!(bn2.forward(&Var::constant(Tensor::ones(&[1, 2, 2, 2]))).is_ok());
    let inorm = InstanceNorm2d::<f64>::new(2, InstanceNormOptions::default()).unwrap();
    let e = inorm.forward(&Var::constant(Tensor::zeros(&[3, 2, 1, 1]))).unwrap_err().to_string();
    assert!(e.contains("InstanceNorm2d(2)") && e.contains("spatial"), "{e}");
    // per-sample methods are fine with one sample
    assert!(LayerNorm::<f64>::new(&[4]).unwrap().forward(&Var::constant(Tensor::ones(&[1, 4]))).is_ok());
}

#[test]
fn constant_features_give_finite_outputs_and_gradients() {
    let mut rng = seeded_rng(22);
    let mut x = Tensor::<f64>::randn(&[6, 3], &mut rng).to_vec();
    for row in x.chunks_mut(3) {
        row[1] = 7.0; // feature 1 is constant
    }
    let x = Var::leaf(Tensor::from_vec(x, &[6, 3]).unwrap(), true);
    let bn = BatchNorm1d::<f64>::new(3).unwrap();
    let y = bn.forward(&x).unwrap();
    assert!(y.value().all_finite());
    // the constant feature maps to the shift (beta = 0): (7 - 7) / sqrt(0 + eps) = 0
    assert!(y.value().to_vec().chunks(3).all(|r| r[1] == 0.0));
    let g = y.square().unwrap().sum_all().unwrap().backward().unwrap();
    assert!(g.get(&x).unwrap().all_finite());
    let ln = LayerNorm::<f64>::new(&[5]).unwrap();
    let out = ln.forward(&Var::constant(Tensor::full(&[2, 5], 3.0))).unwrap();
    assert_eq!(out.value().to_vec(), vec![0.0; 10]);
    let rms = RmsNorm::<f64>::new(&[5]).unwrap();
    assert!(rms.forward(&Var::constant(Tensor::zeros(&[2, 5]))).unwrap().value().all_finite());
}

#[test]
fn f32_inputs_with_a_large_mean_are_normalised_accurately() {
    let (n, f) = (256, 8);
    let mut rng = seeded_rng(23);
    let x32 = Tensor::<f32>::randn(&[n, f], &mut rng).add_scalar(1e4);
    let x64: Tensor<f64> = x32.cast();
    let bn32 = BatchNorm1d::<f32>::new(f).unwrap();
    let bn64 = BatchNorm1d::<f64>::new(f).unwrap();
    let y32: Tensor<f64> = bn32.forward(&Var::constant(x32)).unwrap().value().cast();
    let y64 = bn64.forward(&Var::constant(x64)).unwrap().value().clone();
    // The f32 mean near 1e4 is rounded to f32 (half an ulp: 4.9e-4), which shifts x̂ by
    // ~5e-4 / sigma; 2e-3 absolute allows for it. The textbook E[x^2] - E[x]^2 variance is
    // off by O(1) here, which would fail by orders of magnitude.
    assert_close(&y32, &y64, Tolerance::new(0.0, 2e-3));
    // running variance vs the f64 one: the corrected two-pass keeps it to ~1e-6 relative
    let (v32, v64): (Tensor<f64>, Tensor<f64>) =
        (bn32.state_dict()["running_var"].cast(), bn64.state_dict()["running_var"].clone());
    assert_close(&v32, &v64, Tolerance::new(1e-4, 0.0));
}

#[test]
fn group_norm_with_one_group_is_layer_norm_and_with_c_groups_is_instance_norm() {
    let mut rng = seeded_rng(24);
    let x = Var::constant(Tensor::<f64>::randn(&[3, 4, 5, 2], &mut rng).mul_scalar(2.0).add_scalar(1.0));
    let tol = Tolerance::default_for::<f64>();
    let g1 = GroupNorm::<f64>::new(1, 4).unwrap().forward(&x).unwrap();
    let ln = LayerNorm::<f64>::new(&[4, 5, 2]).unwrap().forward(&x).unwrap();
    assert_close(g1.value(), ln.value(), tol);
    let gc = GroupNorm::<f64>::new(4, 4).unwrap().forward(&x).unwrap();
    let inorm = InstanceNorm2d::<f64>::new(4, InstanceNormOptions::default()).unwrap().forward(&x).unwrap();
    assert_close(gc.value(), inorm.value(), tol);
    // and G = 2 is neither: the identities are not vacuous
    let g2 = GroupNorm::<f64>::new(2, 4).unwrap().forward(&x).unwrap();
    assert!(dl_tensor::compare::compare(&g2.value().to_vec(), &ln.value().to_vec(), tol).is_err());
}

#[test]
fn instance_norm_tracks_batch_averaged_running_statistics() {
    let (n, c, h, w) = (3, 2, 2, 3);
    let mut inorm = InstanceNorm2d::<f64>::new(c, InstanceNormOptions::default().track_running_stats(true)).unwrap();
    let mut rng = seeded_rng(25);
    let x = Tensor::<f64>::randn(&[n, c, h, w], &mut rng).add_scalar(2.0);
    inorm.forward(&Var::constant(x.clone())).unwrap();
    let xs = x.to_vec();
    let hw = h * w;
    let mut rm = vec![0.0; c];
    let mut rv = vec![1.0; c];
    for ch in 0..c {
        let (mut mean_sum, mut var_sum) = (0.0, 0.0);
        for s in 0..n {
            let run = &xs[(s * c + ch) * hw..][..hw];
            let mu = run.iter().sum::<f64>() / hw as f64;
            mean_sum += mu;
            var_sum += run.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (hw as f64 - 1.0);
        }
        rm[ch] = 0.9 * rm[ch] + 0.1 * mean_sum / n as f64;
        rv[ch] = 0.9 * rv[ch] + 0.1 * var_sum / n as f64;
    }
    let tol = Tolerance::default_for::<f64>();
    assert_close(&inorm.state_dict()["running_mean"], &Tensor::from_vec(rm.clone(), &[c]).unwrap(), tol);
    assert_close(&inorm.state_dict()["running_var"], &Tensor::from_vec(rv.clone(), &[c]).unwrap(), tol);
    inorm.eval();
    let y = inorm.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
    for (k, (&yv, &xv)) in y.iter().zip(&xs).enumerate() {
        let ch = (k / hw) % c;
        assert!((yv - (xv - rm[ch]) / (rv[ch] + 1e-5).sqrt()).abs() < 1e-12);
    }
}

#[test]
fn buffers_are_in_the_state_dict_but_not_in_the_parameters() {
    let mut rng = seeded_rng(26);
    let net = Sequential::<f64>::new().with(Linear::new(3, 4, true, &mut rng)).with(BatchNorm1d::new(4).unwrap());
    let names: Vec<String> = net.parameters().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["0.weight", "0.bias", "1.weight", "1.bias"]);
    let state = net.state_dict();
    for key in ["1.running_mean", "1.running_var", "1.num_batches_tracked"] {
        assert!(state.contains_key(key), "{key}");
    }
    net.forward(&Var::constant(Tensor::randn(&[5, 3], &mut rng))).unwrap();
    let trained = net.state_dict();
    let fresh = Sequential::<f64>::new().with(Linear::new(3, 4, true, &mut rng)).with(BatchNorm1d::new(4).unwrap());
    fresh.load_state_dict(&trained).unwrap();
    assert_eq!(fresh.state_dict(), trained);
}

#[test]
fn wrong_inputs_name_the_layer_and_the_shapes() {
    let bn = BatchNorm2d::<f64>::new(16).unwrap();
    let e = bn.forward(&Var::constant(Tensor::zeros(&[2, 8, 4, 4]))).unwrap_err().to_string();
    assert!(e.contains("BatchNorm2d(16)") && e.contains("[2, 8, 4, 4]") && e.contains("16"), "{e}");
    let e = GroupNorm::<f64>::new(3, 16).err().unwrap().to_string();
    assert!(e.contains("GroupNorm(3 groups, 16 channels)") && e.contains("divide"), "{e}");
    let e = GroupNorm::<f64>::new(4, 16)
        .unwrap()
        .forward(&Var::constant(Tensor::zeros(&[2, 12, 3])))
        .unwrap_err()
        .to_string();
    assert!(e.contains("GroupNorm(4 groups, 16 channels)") && e.contains("[2, 12, 3]"), "{e}");
    let e =
        BatchNorm1d::<f64>::new(4).unwrap().forward(&Var::constant(Tensor::zeros(&[0, 4]))).unwrap_err().to_string();
    assert!(e.contains("BatchNorm1d(4)") && e.contains("[0, 4]") && e.contains("zero-size"), "{e}");
    let e = LayerNorm::<f64>::new(&[3, 5])
        .unwrap()
        .forward(&Var::constant(Tensor::zeros(&[2, 5, 3])))
        .unwrap_err()
        .to_string();
    assert!(e.contains("LayerNorm([3, 5])") && e.contains("[2, 5, 3]"), "{e}");
    let e = InstanceNorm2d::<f64>::new(3, InstanceNormOptions::default().affine(true).track_running_stats(true))
        .unwrap()
        .forward(&Var::constant(Tensor::zeros(&[2, 3, 4])))
        .unwrap_err()
        .to_string();
    assert!(e.contains("InstanceNorm2d(3)") && e.contains("[2, 3, 4]"), "{e}");
    let e = BatchNorm1d::<f64>::new(4).unwrap().with_momentum(Some(1.5)).err().unwrap().to_string();
    assert!(e.contains("BatchNorm1d(4)") && e.contains("1.5"), "{e}");
    let e = BatchNorm1d::<f64>::new(2)
        .unwrap()
        .with_eps(-1.0)
        .forward(&Var::constant(Tensor::zeros(&[3, 2])))
        .unwrap_err()
        .to_string();
    assert!(e.contains("BatchNorm1d(2)") && e.contains("eps"), "{e}");
}

/// `with_momentum` after `load_state_dict` keeps the loaded running statistics (it used to
/// replace them with fresh zeros and ones), and the momentum it sets is the one used next:
/// one training step from the loaded statistics follows PyTorch's rule with it.
#[test]
fn with_momentum_keeps_loaded_running_statistics() {
    let (n, f) = (6, 3);
    let mut rng = seeded_rng(30);
    let source = BatchNorm1d::<f64>::new(f).unwrap();
    for _ in 0..3 {
        source.forward(&Var::constant(Tensor::<f64>::randn(&[n, f], &mut rng).add_scalar(2.0))).unwrap();
    }
    let loaded = source.state_dict();
    let bn = BatchNorm1d::<f64>::new(f).unwrap();
    bn.load_state_dict(&loaded).unwrap();
    let bn = bn.with_momentum(Some(0.5)).unwrap();
    assert_eq!(bn.state_dict(), loaded, "with_momentum changed the loaded buffers");
    let x = Tensor::<f64>::randn(&[n, f], &mut rng);
    bn.forward(&Var::constant(x.clone())).unwrap();
    let (mean, var) = column_stats(&x.to_vec(), n, f);
    let (rm, rv) = (loaded["running_mean"].to_vec(), loaded["running_var"].to_vec());
    let expect_mean: Vec<f64> = (0..f).map(|j| 0.5 * rm[j] + 0.5 * mean[j]).collect();
    let expect_var: Vec<f64> = (0..f).map(|j| 0.5 * rv[j] + 0.5 * var[j]).collect();
    let state = bn.state_dict();
    let tol = Tolerance::default_for::<f64>();
    assert_close(&state["running_mean"], &Tensor::from_vec(expect_mean, &[f]).unwrap(), tol);
    assert_close(&state["running_var"], &Tensor::from_vec(expect_var, &[f]).unwrap(), tol);
    assert_eq!(state["num_batches_tracked"].item().unwrap(), 4.0);
    // without running statistics there is no momentum to set
    let e = BatchNorm1d::<f64>::new(f).unwrap().without_running_stats().with_momentum(Some(0.5)).err().unwrap();
    assert!(e.to_string().contains("BatchNorm1d(3)") && e.to_string().contains("running statistics"), "{e}");
}

/// Every norm built from given tensors: the same state dict and the same output as a
/// default build with those tensors loaded; wrong shapes name the layer, the parameter and
/// both shapes; invalid sizes are errors of `new` (every constructor returns a Result).
#[test]
fn every_norm_can_be_built_from_tensors() {
    let mut rng = seeded_rng(31);
    let c = 4;
    let v = |shape: &[usize], rng: &mut dl_tensor::TensorRng| Tensor::<f64>::randn(shape, rng);
    let pos = |shape: &[usize], rng: &mut dl_tensor::TensorRng| Tensor::<f64>::randn(shape, rng).abs().add_scalar(0.5);
    let x4 = Var::constant(Tensor::<f64>::randn(&[3, c, 2, 5], &mut rng));
    let (w, b, m, var) = (v(&[c], &mut rng), v(&[c], &mut rng), v(&[c], &mut rng), pos(&[c], &mut rng));
    // the same module both ways, compared in evaluation and training mode
    fn same(a: &mut dyn Module<f64>, b: &mut dyn Module<f64>, x: &Var<f64>) {
        assert_eq!(a.state_dict(), b.state_dict());
        for training in [false, true] {
            a.set_training(training);
            b.set_training(training);
            assert_eq!(a.forward(x).unwrap().value().to_vec(), b.forward(x).unwrap().value().to_vec());
        }
    }
    let mut given = BatchNorm2d::from_tensors(Some((w.clone(), b.clone())), Some((m.clone(), var.clone()))).unwrap();
    let mut loaded = BatchNorm2d::<f64>::new(c).unwrap();
    let mut state = loaded.state_dict();
    for (k, t) in [("weight", &w), ("bias", &b), ("running_mean", &m), ("running_var", &var)] {
        state.insert(k.into(), t.clone());
    }
    loaded.load_state_dict(&state).unwrap();
    same(&mut given, &mut loaded, &x4);

    let mut given = InstanceNorm2d::from_tensors(Some((w.clone(), b.clone())), Some((m.clone(), var.clone()))).unwrap();
    let mut loaded =
        InstanceNorm2d::<f64>::new(c, InstanceNormOptions::default().affine(true).track_running_stats(true)).unwrap();
    loaded.load_state_dict(&state).unwrap();
    same(&mut given, &mut loaded, &x4);

    let mut given = GroupNorm::from_tensors(2, w.clone(), b.clone()).unwrap();
    let mut loaded = GroupNorm::<f64>::new(2, c).unwrap();
    let mut affine = loaded.state_dict();
    affine.insert("weight".into(), w.clone());
    affine.insert("bias".into(), b.clone());
    loaded.load_state_dict(&affine).unwrap();
    same(&mut given, &mut loaded, &x4);

    let (lw, lb) = (v(&[2, 5], &mut rng), v(&[2, 5], &mut rng));
    let mut given = LayerNorm::from_tensors(lw.clone(), lb.clone()).unwrap();
    let mut loaded = LayerNorm::<f64>::new(&[2, 5]).unwrap();
    loaded.load_state_dict(&[("weight".to_string(), lw.clone()), ("bias".to_string(), lb)].into()).unwrap();
    same(&mut given, &mut loaded, &x4);

    let mut given = RmsNorm::from_tensors(lw.clone()).unwrap();
    let mut loaded = RmsNorm::<f64>::new(&[2, 5]).unwrap();
    loaded.load_state_dict(&[("weight".to_string(), lw)].into()).unwrap();
    same(&mut given, &mut loaded, &x4);

    // shape errors: the layer, the parameter and both shapes
    let cases: Vec<(String, &str)> = vec![
        (
            BatchNorm1d::<f64>::from_tensors(Some((w.clone(), b.clone())), Some((v(&[5], &mut rng), var.clone())))
                .err()
                .unwrap()
                .to_string(),
            "BatchNorm1d(4): parameter running_mean must have shape [4], got [5]",
        ),
        (
            BatchNorm1d::<f64>::from_tensors(None, Some((m.clone(), v(&[2, 2], &mut rng)))).err().unwrap().to_string(),
            "BatchNorm1d(4): parameter running_var must have shape [4], got [2, 2]",
        ),
        (
            InstanceNorm2d::<f64>::from_tensors(Some((v(&[4, 1], &mut rng), b.clone())), None)
                .err()
                .unwrap()
                .to_string(),
            "InstanceNorm2d: parameter weight must have shape (num_features): 1 axis, got [4, 1]",
        ),
        (
            GroupNorm::<f64>::from_tensors(2, w.clone(), v(&[3], &mut rng)).err().unwrap().to_string(),
            "GroupNorm(2 groups, 4 channels): parameter bias must have shape [4] (the weight's), got [3]",
        ),
        (
            LayerNorm::<f64>::from_tensors(v(&[2, 5], &mut rng), v(&[5, 2], &mut rng)).err().unwrap().to_string(),
            "LayerNorm([2, 5]): parameter bias must have shape [2, 5] (the weight's), got [5, 2]",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    assert!(BatchNorm1d::<f64>::from_tensors(None, None).err().unwrap().to_string().contains("number of features"));
    assert!(GroupNorm::<f64>::from_tensors(3, w.clone(), b.clone()).err().unwrap().to_string().contains("divide"));
    // invalid sizes in `new`
    for e in [
        BatchNorm2d::<f64>::new(0).err().unwrap().to_string(),
        LayerNorm::<f64>::new(&[]).err().unwrap().to_string(),
        RmsNorm::<f64>::new(&[3, 0]).err().unwrap().to_string(),
        InstanceNorm2d::<f64>::new(0, InstanceNormOptions::default()).err().unwrap().to_string(),
        GroupNorm::<f64>::new(2, 0).err().unwrap().to_string(),
        InstanceNorm2d::<f64>::new(2, InstanceNormOptions::default().track_running_stats(true).momentum(Some(2.0)))
            .err()
            .unwrap()
            .to_string(),
    ] {
        assert!(e.contains("Norm"), "{e}");
    }
}

#[test]
fn every_normalisation_reports_its_kind() {
    use dl_layers::{LayerKind, NormKind};
    let kind = |m: &dyn Module<f64>| m.kind();
    assert_eq!(kind(&BatchNorm1d::<f64>::new(3).unwrap()), LayerKind::Norm(NormKind::Batch));
    assert_eq!(kind(&BatchNorm2d::<f64>::new(3).unwrap()), LayerKind::Norm(NormKind::Batch));
    assert_eq!(kind(&LayerNorm::<f64>::new(&[3]).unwrap()), LayerKind::Norm(NormKind::Layer));
    assert_eq!(kind(&RmsNorm::<f64>::new(&[3]).unwrap()), LayerKind::Norm(NormKind::Rms));
    assert_eq!(kind(&GroupNorm::<f64>::new(1, 3).unwrap()), LayerKind::Norm(NormKind::Group));
    assert_eq!(
        kind(&InstanceNorm2d::<f64>::new(3, InstanceNormOptions::default()).unwrap()),
        LayerKind::Norm(NormKind::Instance)
    );
}
