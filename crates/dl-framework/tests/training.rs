//! The training loop: learning, history, early stopping, resumption bit for bit,
//! checkpoint corruption, divergence reports and bad input.

use std::path::{Path, PathBuf};

use dl_autodiff::Var;
use dl_framework::checkpoint::Checkpoint;
use dl_framework::data::{Dataset, Standardizer, digits_split};
use dl_framework::train::DivergenceSite;
use dl_framework::{FrameworkError, Network, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_tensor::Tensor;

fn digits() -> (Dataset<f32>, Dataset<f32>) {
    let split = digits_split::<f32>(0.5, 0).unwrap();
    let s = Standardizer::fit(split.train.features()).unwrap();
    let train = s.apply(&split.train).unwrap();
    let test = s.apply(&split.test).unwrap();
    // 600 training and 300 test examples keep the tests fast.
    let idx: Vec<usize> = (0..600).collect();
    (train.subset(&idx).unwrap(), test.subset(&idx[..300]).unwrap())
}

const MLP: &str = r#"{"input_shape": [64], "seed": 1, "layers": [
    {"type": "dense", "units": 32, "activation": "relu"},
    {"type": "dropout", "p": 0.2},
    {"type": "dense", "units": 10}]}"#;

fn net() -> Network<f32> {
    NetworkConfig::from_json(MLP).unwrap().build().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dlfw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn bits(net: &Network<f32>) -> Vec<(String, Vec<u32>)> {
    net.parameters()
        .into_iter()
        .map(|p| (p.name, p.param.value().to_vec().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

fn config(extra: &str) -> TrainConfig {
    config_epochs(3, extra)
}

fn config_epochs(epochs: usize, extra: &str) -> TrainConfig {
    let text = format!(
        r#"{{"epochs": {epochs}, "batch_size": 64, "seed": 5,
            "optimizer": {{"kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true}},
            "schedule": {{"kind": "cosine", "t_max": 30, "eta_min": 0.001}},
            "clip_grad_norm": 5.0 {extra}}}"#
    );
    TrainConfig::from_json(&text).unwrap()
}

#[test]
fn fit_learns_the_digits_and_exports_its_history() {
    let (train, test) = digits();
    let dir = tmp("fit");
    let cfg = TrainConfig::from_json(&format!(
        r#"{{"epochs": 6, "batch_size": 32, "optimizer": {{"kind": "adam", "lr": 0.003}}, "output_dir": {:?}}}"#,
        dir.display().to_string()
    ))
    .unwrap();
    let mut t = Trainer::new(net(), cfg).unwrap();
    let out = t.fit(&train, Some(&test)).unwrap();
    assert_eq!((out.steps, out.epochs, out.finished), (6 * 19, 6, true)); // ceil(600 / 32) = 19
    let (loss, acc) = t.evaluate(&test).unwrap();
    assert!(acc > 0.9, "test accuracy {acc}");
    // accuracy and loss against a direct computation: argmax by hand, log-sum-exp in f64
    t.network_mut().eval();
    let logits = t.network().forward(&Var::constant(test.features().clone())).unwrap().value().to_vec();
    let labels = test.labels().unwrap();
    let (mut correct, mut nll) = (0usize, 0.0f64);
    for (row, &y) in logits.chunks(10).zip(labels) {
        let best = (0..10).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        correct += usize::from(best == y);
        let m = row.iter().fold(f32::MIN, |a, &b| a.max(b)) as f64;
        nll += m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln() - row[y] as f64;
    }
    assert_eq!(acc, correct as f64 / 300.0);
    // f32 logits, per-row sums of 10 terms: relative 1e-5 covers the rounding
    assert!((loss - nll / 300.0).abs() < 1e-5 * (1.0 + loss), "{loss} vs {}", nll / 300.0);
    // the history: one record per step, validation at each epoch end, JSON and CSV on disk
    let h = t.history();
    assert_eq!(h.series("train_loss").len(), 114);
    assert_eq!(h.series("val_accuracy").iter().map(|p| p.0).collect::<Vec<_>>(), vec![19, 38, 57, 76, 95, 114]);
    let csv = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    assert!(csv.starts_with("step,epoch,grad_norm,lr,train_accuracy,train_loss,val_accuracy,val_loss\n"), "{csv}");
    assert_eq!(csv.lines().count(), 115);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("history.json")).unwrap()).unwrap();
    assert_eq!(json["records"].as_array().unwrap().len(), 114);
    assert!(dir.join("checkpoint.ckpt").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resuming_reproduces_the_uninterrupted_run_bit_for_bit() {
    let (train, test) = digits();
    // uninterrupted: 3 epochs of 10 steps, dropout, Nesterov momentum, cosine schedule, clipping
    let mut whole = Trainer::new(net(), config("")).unwrap();
    whole.fit(&train, Some(&test)).unwrap();

    // the same run interrupted twice: mid-epoch (step 7) and at an epoch boundary (step 20)
    let dir = tmp("resume");
    let mut path: Option<PathBuf> = None;
    for stop in [Some(7), Some(20), None] {
        let extra = format!(
            r#", "output_dir": {:?} {}"#,
            dir.display().to_string(),
            stop.map_or(String::new(), |s| format!(r#", "max_steps": {s}"#))
        );
        let mut t = Trainer::new(net(), config(&extra)).unwrap();
        if let Some(p) = &path {
            t.resume(p).unwrap();
        }
        let out = t.fit(&train, Some(&test)).unwrap();
        assert_eq!(out.steps, stop.unwrap_or(30));
        path = t.checkpoint_path();
        if stop.is_none() {
            assert!(bits(t.network()) == bits(whole.network()), "parameters differ after resumption");
            assert_eq!(t.history().series("train_loss"), whole.history().series("train_loss"));
            assert_eq!(t.history().series("val_loss"), whole.history().series("val_loss"));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_truncated_or_mismatched_checkpoints_load_nothing() {
    let (train, _) = digits();
    let dir = tmp("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let mut src = Trainer::new(net(), config(r#", "max_steps": 4"#)).unwrap();
    src.fit(&train, None).unwrap();
    let good = dir.join("good.ckpt");
    src.save_checkpoint(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let mut target = Trainer::new(net(), config("")).unwrap();
    let before = (bits(target.network()), target.step_count(), target.checkpoint());
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x10;
    let mut version = bytes.clone();
    version[8] = 3;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", bytes[..bytes.len() / 2].to_vec(), "checksum mismatch"),
        ("tiny", bytes[..20].to_vec(), "truncated"),
        ("flipped", flipped, "checksum mismatch"),
        ("magic", [b"NOTACKPT".as_slice(), &bytes[8..]].concat(), "bad magic"),
        ("version", version, "format version 3"),
    ];
    for (name, data, expect) in cases {
        let p = dir.join(format!("{name}.ckpt"));
        std::fs::write(&p, data).unwrap();
        let e = target.resume(&p).unwrap_err().to_string();
        assert!(e.contains(expect) && e.contains(&p.display().to_string()), "{name}: {e}");
    }
    let e = target.resume(&dir.join("absent.ckpt")).unwrap_err().to_string();
    assert!(e.contains("cannot read"), "{e}");
    // a valid checkpoint of another network: refused, nothing loaded
    let other = NetworkConfig::from_json(&MLP.replace("32", "16")).unwrap().build::<f32>().unwrap();
    let mut t_other = Trainer::new(other, config(r#", "max_steps": 2"#)).unwrap();
    t_other.fit(&train, None).unwrap();
    let other_path = dir.join("other.ckpt");
    t_other.save_checkpoint(&other_path).unwrap();
    let e = target.resume(&other_path).unwrap_err().to_string();
    assert!(e.contains("do not fit"), "{e}");
    assert!(bits(target.network()) == before.0 && target.step_count() == before.1, "nothing was loaded");
    assert_eq!(target.checkpoint().optimizer, before.2.optimizer, "the optimiser state is untouched");
    // and the good one loads
    target.resume(&good).unwrap();
    assert_eq!(target.step_count(), 4);
    assert!(bits(target.network()) == bits(src.network()));
    // the in-memory round trip is exact
    assert!(Checkpoint::<f32>::from_bytes(Path::new("mem"), &src.checkpoint().to_bytes()).unwrap() == src.checkpoint());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn divergence_names_the_step_and_first_layer_and_keeps_the_last_good_checkpoint() {
    let (train, _) = digits();
    let dir = tmp("diverge");
    // a learning rate of 1e30 sends the weights to infinity on the first update
    let cfg = TrainConfig::from_json(&format!(
        r#"{{"epochs": 2, "batch_size": 64, "optimizer": {{"kind": "sgd", "lr": 1e30}}, "output_dir": {:?}, "checkpoint_every": 1}}"#,
        dir.display().to_string()
    ))
    .unwrap();
    let mut t = Trainer::new(net(), cfg).unwrap();
    let ckpt = t.checkpoint_path().unwrap();
    let FrameworkError::Diverged(report) = t.fit(&train, None).unwrap_err() else { panic!("expected a divergence") };
    // the update of step 0 made the weights ~1e30: finite, so step 1's checkpoint was written;
    // the forward pass of step 1 overflows in the last layer (1e30 * 1e30)
    assert_eq!(report.step, 1, "{report}");
    assert!(matches!(&report.site, DivergenceSite::Activation { layer: 3, .. }), "{report}");
    assert_eq!(report.last_checkpoint.as_deref(), Some(ckpt.as_path()));
    let kept = Checkpoint::<f32>::read(&ckpt).unwrap();
    assert_eq!(kept.state.step, 1, "the last good checkpoint is kept");
    assert!(kept.params.values().all(|t| t.all_finite()));
    assert_eq!(
        std::fs::read_to_string(dir.join("history.csv")).unwrap().lines().count(),
        2,
        "the history up to the failure is written"
    );

    // checking layers only every second step: step 1's overflow is reported at the loss
    let sparse = TrainConfig::from_json(
        r#"{"epochs": 2, "batch_size": 64, "optimizer": {"kind": "sgd", "lr": 1e30}, "finite_check_every": 2}"#,
    )
    .unwrap();
    let FrameworkError::Diverged(report) = Trainer::new(net(), sparse).unwrap().fit(&train, None).unwrap_err() else {
        panic!("expected a divergence")
    };
    assert_eq!((report.step, &report.site), (1, &DivergenceSite::Loss), "{report}");
    assert!(
        TrainConfig::from_json(
            r#"{"epochs": 1, "batch_size": 8, "optimizer": {"kind": "sgd", "lr": 0.1}, "finite_check_every": 0}"#
        )
        .and_then(|c| c.validate().map(|_| c))
        .is_err_and(|e| e.to_string().contains("finite_check_every"))
    );

    // a non-finite parameter is never checkpointed
    let planted = net();
    planted.parameters()[2].param.update(|v| *v = v.mul_scalar(f32::INFINITY));
    let mut t = Trainer::new(
        planted,
        config(&format!(r#", "max_steps": 0, "output_dir": {:?}"#, dir.join("p").display().to_string())),
    )
    .unwrap();
    let e = t.fit(&train, None).unwrap_err().to_string();
    assert!(
        e.contains("in parameter '3.weight' after its update") && e.contains("no checkpoint had been written"),
        "{e}"
    );
    assert!(!dir.join("p").join("checkpoint.ckpt").exists());

    // without checkpoints the same: the forward pass of step 1 names the first bad layer
    let cfg =
        TrainConfig::from_json(r#"{"epochs": 1, "batch_size": 64, "optimizer": {"kind": "sgd", "lr": 1e30}}"#).unwrap();
    let mut t = Trainer::new(net(), cfg).unwrap();
    let e = t.fit(&train, None).unwrap_err().to_string();
    assert!(e.contains("step 1") && e.contains("layer 3 (Linear(32 -> 10))") && e.contains("no checkpoint"), "{e}");

    // a NaN planted in the first layer's bias: found in layer 0's output at step 0, not later
    let planted = net();
    planted.parameters()[1].param.update(|v| *v = v.mul_scalar(f32::NAN));
    let mut t = Trainer::new(planted, config("")).unwrap();
    let e = t.fit(&train, None).unwrap_err().to_string();
    assert!(e.contains("step 0") && e.contains("first NaN in the output of layer 0 (Linear(64 -> 32))"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_epoch() {
    let (train, test) = digits();
    // min_delta 10 means only the first epoch counts as an improvement
    let mut t =
        Trainer::new(net(), config_epochs(10, r#", "early_stopping": {"patience": 2, "min_delta": 10.0}"#)).unwrap();
    let out = t.fit(&train, Some(&test)).unwrap();
    assert!(out.stopped_early && out.finished);
    assert_eq!((out.epochs, out.best_epoch), (3, Some(0)));
    let first_val = t.history().series("val_loss")[0].1;
    assert_eq!(t.evaluate(&test).unwrap().0, first_val, "the parameters of epoch 0 are back");
}

#[test]
fn bad_input_gives_clear_errors_and_loses_nothing() {
    fn e<R>(r: Result<R, FrameworkError>) -> String {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    }
    let (train, test) = digits();
    // configuration errors name the field
    assert_eq!(
        e(TrainConfig::from_json(r#"{"epochs": 1, "batch_size": 0, "optimizer": {"kind": "sgd"}}"#)
            .and_then(|c| c.validate())),
        "invalid configuration: batch_size: must be positive"
    );
    let c =
        TrainConfig::from_json(r#"{"epochs": 1, "batch_size": 8, "optimizer": {"kind": "adam", "lr": -1.0}}"#).unwrap();
    assert!(e(Trainer::new(net(), c)).contains("optimizer.lr"));
    assert!(
        e(TrainConfig::from_json(r#"{"epochs": 1, "batch_size": 8, "optimizer": {"kind": "lbfgs"}}"#))
            .contains("optimizer")
    );
    let c = config(r#", "early_stopping": {"patience": 1}"#);
    assert!(e(Trainer::new(net(), c).unwrap().fit(&train, None)).contains("early_stopping: needs a validation set"));

    let dir = tmp("badinput");
    let mut t =
        Trainer::new(net(), config(&format!(r#", "max_steps": 3, "output_dir": {:?}"#, dir.display().to_string())))
            .unwrap();
    t.fit(&train, None).unwrap();
    let ckpt = std::fs::read(dir.join("checkpoint.ckpt")).unwrap();
    let hist = std::fs::read(dir.join("history.json")).unwrap();
    // wrong feature shape
    let wide = Dataset::classification(Tensor::<f32>::zeros(&[4, 63]), vec![0, 1, 2, 3], 10).unwrap();
    let msg = e(t.fit(&wide, None));
    assert!(msg.contains("training set") && msg.contains("(N, 64)") && msg.contains("[4, 63]"), "{msg}");
    // labels out of range for the network's 10 outputs
    let many = Dataset::classification(Tensor::<f32>::zeros(&[2, 64]), vec![0, 11], 12).unwrap();
    let msg = e(t.fit(&many, None));
    assert!(msg.contains("12 classes") && msg.contains("[10]"), "{msg}");
    // regression targets
    let reg = Dataset::regression(Tensor::<f32>::zeros(&[2, 64]), Tensor::zeros(&[2, 1])).unwrap();
    assert!(e(t.fit(&reg, Some(&test))).contains("needs class labels"));
    // nothing already written was lost
    assert_eq!(std::fs::read(dir.join("checkpoint.ckpt")).unwrap(), ckpt);
    assert_eq!(std::fs::read(dir.join("history.json")).unwrap(), hist);
    std::fs::remove_dir_all(&dir).unwrap();
}
