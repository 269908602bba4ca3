//! Normalisation layers in configurations: what builds (also inside residual bodies), what
//! is rejected with which field path, running statistics in the state dict and in
//! checkpoints (resuming stays bit for bit), and evaluation with the running statistics.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dl_autodiff::Var;
use dl_framework::data::{Dataset, Standardizer, digits_split};
use dl_framework::{Network, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_tensor::{Element, Tensor};

fn build<T: Element>(json: &str) -> Network<T> {
    NetworkConfig::from_json(json).unwrap().build::<T>().unwrap()
}

fn err(json: &str) -> String {
    match NetworkConfig::from_json(json).and_then(|c| c.build::<f64>()) {
        Ok(_) => panic!("{json} should be rejected"),
        Err(e) => e.to_string(),
    }
}

/// 400 training and 200 test digits, standardised (small, so the tests stay fast).
fn digits<T: Element>() -> (Dataset<T>, Dataset<T>) {
    let split = digits_split::<T>(0.5, 0).unwrap();
    let s = Standardizer::fit(split.train.features()).unwrap();
    let idx: Vec<usize> = (0..400).collect();
    (s.apply(&split.train).unwrap().subset(&idx).unwrap(), s.apply(&split.test).unwrap().subset(&idx[..200]).unwrap())
}

#[test]
fn every_normalisation_builds_runs_and_names_its_buffers() {
    let net = build::<f64>(
        r#"{"input_shape": [2, 8, 8], "seed": 1, "layers": [
            {"type": "conv2d", "channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "batch_norm", "momentum": 0.2, "eps": 1e-3},
            {"type": "group_norm", "groups": 2},
            {"type": "instance_norm", "affine": true, "track_running_stats": true},
            {"type": "residual", "body": [{"type": "conv2d", "channels": 4, "kernel_size": 3, "padding": 1},
                                           {"type": "batch_norm", "affine": false},
                                           {"type": "activation", "function": "relu"}]},
            {"type": "layer_norm"},
            {"type": "rms_norm", "eps": 1e-6},
            {"type": "flatten"},
            {"type": "dense", "units": 16},
            {"type": "batch_norm", "momentum": null},
            {"type": "dense", "units": 3}
        ]}"#,
    );
    assert_eq!(net.output_shape(), &[3]);
    let described: Vec<String> = net.layers().iter().map(|l| l.module.describe()).collect();
    assert_eq!(described[1], "BatchNorm2d(4)");
    assert_eq!(described[2], "GroupNorm(2 groups, 4 channels)");
    assert_eq!(described[3], "InstanceNorm2d(4)");
    assert_eq!(described[9], "BatchNorm1d(16)");
    let y = net.forward(&Var::constant(Tensor::ones(&[5, 2, 8, 8]))).unwrap();
    assert_eq!(y.shape(), &[5, 3]);
    // buffers: running statistics of both batch norms (also inside the residual body) and
    // of the tracking instance norm, named like the parameters; none is a parameter
    let buffers: Vec<String> = net.buffers().into_iter().map(|b| b.name).collect();
    for name in [
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
        "3.running_var",
        "4.body.1.running_mean",
        "9.num_batches_tracked",
    ] {
        assert!(buffers.contains(&name.to_string()), "{name} missing from {buffers:?}");
    }
    let params: Vec<String> = net.parameters().into_iter().map(|p| p.name).collect();
    assert!(
        params.contains(&"6.weight".to_string()) && !params.contains(&"6.bias".to_string()),
        "rms norm has a scale only: {params:?}"
    );
    assert!(
        !params.iter().any(|p| p.starts_with("4.body.1.")),
        "batch norm without affine has no parameters: {params:?}"
    );
    let state = net.state_dict();
    assert!(state.contains_key("1.running_mean") && state.contains_key("1.weight"));
    // the training-mode forward above moved the running statistics: one batch tracked
    assert_eq!(state["1.num_batches_tracked"].item().unwrap(), 1.0);
    assert!(state["1.running_mean"].to_vec().iter().any(|&m| m != 0.0));
}

#[test]
fn bad_normalisation_entries_name_the_field() {
    let flat =
        |layers: &str| format!(r#"{{"input_shape": [64], "layers": [{{"type": "dense", "units": 12}}, {layers}]}}"#);
    let e = err(&flat(r#"{"type": "group_norm", "groups": 5}"#));
    assert!(e.contains("layers[1].groups") && e.contains("5 groups") && e.contains("12 channels"), "{e}");
    let e = err(&flat(r#"{"type": "group_norm", "groups": 0}"#));
    assert!(e.contains("layers[1].groups: must be positive"), "{e}");
    let e = err(&flat(r#"{"type": "batch_norm", "momentum": 1.5}"#));
    assert!(e.contains("layers[1].momentum") && e.contains("1.5"), "{e}");
    let e = err(&flat(r#"{"type": "layer_norm", "eps": -1e-5}"#));
    assert!(e.contains("layers[1].eps") && e.contains("-0.00001"), "{e}");
    let e = err(&flat(r#"{"type": "instance_norm"}"#));
    assert!(e.contains("layers[1]: instance_norm needs inputs (channels, height, width)") && e.contains("[12]"), "{e}");
    let e = err(&flat(r#"{"type": "rms_norm", "momentum": 0.1}"#));
    assert!(e.contains("layers[1]") && e.contains("unknown field `momentum`"), "{e}");
    let e = err(r#"{"input_shape": [2, 3, 4, 5], "layers": [{"type": "batch_norm"}]}"#);
    assert!(e.contains("layers[0]: batch_norm needs") && e.contains("[2, 3, 4, 5]"), "{e}");
    let e = err(
        r#"{"input_shape": [6, 4, 4], "layers": [{"type": "residual", "body": [{"type": "group_norm", "groups": 4}]}]}"#,
    );
    assert!(e.contains("layers[0].body[0].groups") && e.contains("4 groups") && e.contains("6 channels"), "{e}");
}

const BN_MLP: &str = r#"{"input_shape": [64], "seed": 2, "layers": [
    {"type": "dense", "units": 24},
    {"type": "batch_norm"},
    {"type": "activation", "function": "relu"},
    {"type": "dropout", "p": 0.1},
    {"type": "residual", "body": [{"type": "dense", "units": 24}, {"type": "batch_norm", "momentum": 0.3}, {"type": "activation", "function": "tanh"}]},
    {"type": "dense", "units": 10}]}"#;

fn state_bits(net: &Network<f32>) -> BTreeMap<String, Vec<u32>> {
    net.state_dict().into_iter().map(|(k, t)| (k, t.to_vec().iter().map(|v| v.to_bits()).collect())).collect()
}

#[test]
fn resuming_a_batch_norm_run_reproduces_it_bit_for_bit() {
    let (train, test) = digits::<f32>();
    let config = |extra: &str| {
        TrainConfig::from_json(&format!(
            r#"{{"epochs": 2, "batch_size": 50, "seed": 7, "optimizer": {{"kind": "sgd", "lr": 0.05, "momentum": 0.9}} {extra}}}"#
        ))
        .unwrap()
    };
    let net = || NetworkConfig::from_json(BN_MLP).unwrap().build::<f32>().unwrap();
    let mut whole = Trainer::new(net(), config("")).unwrap();
    whole.fit(&train, Some(&test)).unwrap();
    let reference = state_bits(whole.network());
    // 2 epochs of 8 steps: every step tracked once by both batch norms (validation runs in
    // evaluation mode and tracks nothing)
    assert_eq!(whole.network().state_dict()["1.num_batches_tracked"].item().unwrap(), 16.0);
    assert_eq!(whole.network().state_dict()["4.body.1.num_batches_tracked"].item().unwrap(), 16.0);

    let dir = std::env::temp_dir().join(format!("dlfw-bn-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = |stop: Option<u64>| {
        let max = stop.map_or(String::new(), |s| format!(r#", "max_steps": {s}"#));
        format!(r#", "output_dir": {:?} {max}"#, dir.display().to_string())
    };
    // interrupted mid-epoch at step 5, resumed in a fresh trainer from the file
    let mut first = Trainer::new(net(), config(&out(Some(5)))).unwrap();
    assert_eq!(first.fit(&train, Some(&test)).unwrap().steps, 5);
    let path: PathBuf = first.checkpoint_path().unwrap();
    let saved = dl_framework::Checkpoint::<f32>::read(&path).unwrap();
    assert_eq!(
        saved.params["1.num_batches_tracked"].item().unwrap(),
        5.0,
        "the checkpoint holds the running statistics"
    );
    let mut second = Trainer::new(net(), config(&out(None))).unwrap();
    second.resume(&path).unwrap();
    assert!(state_bits(second.network()) == state_bits(first.network()), "resume restores parameters and buffers");
    assert_eq!(second.fit(&train, Some(&test)).unwrap().steps, 16);
    assert!(state_bits(second.network()) == reference, "parameters or running statistics differ after resumption");
    assert_eq!(second.history().series("val_loss"), whole.history().series("val_loss"));

    // without the buffers in the checkpoint the run would not be reproduced: resuming into a
    // network whose running statistics were reset changes the evaluation
    let mut reset = Trainer::new(net(), config("")).unwrap();
    let mut ck = saved.clone();
    for (k, v) in ck.params.iter_mut() {
        if k.ends_with("running_mean") {
            *v = Tensor::zeros(v.shape());
        }
    }
    reset.restore(&path, ck).unwrap();
    let mut resumed = Trainer::new(net(), config("")).unwrap();
    resumed.restore(&path, saved).unwrap();
    assert_ne!(reset.evaluate(&test).unwrap(), resumed.evaluate(&test).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn evaluation_uses_the_running_statistics() {
    let (train, test) = digits::<f64>();
    let cfg = r#"{"input_shape": [64], "seed": 4, "layers": [
        {"type": "dense", "units": 16}, {"type": "batch_norm", "eps": 1e-3},
        {"type": "activation", "function": "relu"}, {"type": "dense", "units": 10}]}"#;
    let tc = TrainConfig::from_json(
        r#"{"epochs": 1, "batch_size": 40, "seed": 1, "optimizer": {"kind": "sgd", "lr": 0.1}}"#,
    )
    .unwrap();
    let mut trainer = Trainer::new(build::<f64>(cfg), tc).unwrap();
    trainer.fit(&train, None).unwrap();
    let (loss, acc) = trainer.evaluate(&test).unwrap();
    assert!(
        trainer.network().is_training() && trainer.network().layers()[1].module.is_training(),
        "back in training mode"
    );

    // the evaluation forward by hand: h = W1 x + b1, z = gamma (h - mu_run) / sqrt(var_run + eps) + beta,
    // logits = W2 relu(z) + b2, then the mean cross-entropy (log-sum-exp) and the argmax
    let s = trainer.network().state_dict();
    let v = |k: &str| s[k].to_vec();
    let (w1, b1, gamma, beta, mu, var, w2, b2) = (
        v("0.weight"),
        v("0.bias"),
        v("1.weight"),
        v("1.bias"),
        v("1.running_mean"),
        v("1.running_var"),
        v("3.weight"),
        v("3.bias"),
    );
    assert_eq!(s["1.num_batches_tracked"].item().unwrap(), 10.0); // 400 / 40 steps
    let x = test.features().to_vec();
    let labels = test.labels().unwrap();
    let (mut nll, mut correct) = (0.0, 0usize);
    for (row, &y) in x.chunks(64).zip(labels) {
        let a: Vec<f64> = (0..16)
            .map(|j| {
                let h = b1[j] + (0..64).map(|i| w1[j * 64 + i] * row[i]).sum::<f64>();
                (gamma[j] * (h - mu[j]) / (var[j] + 1e-3).sqrt() + beta[j]).max(0.0)
            })
            .collect();
        let logits: Vec<f64> = (0..10).map(|k| b2[k] + (0..16).map(|j| w2[k * 16 + j] * a[j]).sum::<f64>()).collect();
        let m = logits.iter().fold(f64::MIN, |p, &q| p.max(q));
        nll += m + logits.iter().map(|&l| (l - m).exp()).sum::<f64>().ln() - logits[y];
        correct += usize::from((0..10).fold(0, |b, k| if logits[k] > logits[b] { k } else { b }) == y);
    }
    let n = labels.len() as f64;
    // f64, the same operations in a different order: a few ulps of the loss
    assert!((loss - nll / n).abs() <= 1e-12 * (1.0 + loss), "{loss} vs {}", nll / n);
    assert_eq!(acc, correct as f64 / n);

    // and it is not the batch-statistics forward: training mode gives another loss
    trainer.network_mut().train();
    let logits = trainer.network().forward(&Var::constant(test.features().clone())).unwrap();
    let batch_loss = trainer.config().loss.apply(&logits, labels).unwrap().value().item().unwrap();
    assert!((batch_loss - loss).abs() > 1e-6, "batch statistics give {batch_loss}, running statistics {loss}");
}
