//! The malformed inputs of issue 15, each with the clear error it must give (none may
//! panic or abort): huge labels and sizes, overflowing shapes, checkpoints that would
//! break a run, non-finite data, resuming under another configuration. The files that
//! once crashed the process are kept in `tests/corpus/` and re-read here.

use std::path::{Path, PathBuf};

use dl_framework::checkpoint::Checkpoint;
use dl_framework::data::{Dataset, LoadOptions, load_csv, load_csv_with, load_npy_dataset, load_npy_dataset_with};
use dl_framework::train::ResumePolicy;
use dl_framework::{FrameworkError, NetworkConfig, TrainConfig, Trainer};
use dl_tensor::{MemoryLimit, Tensor, npy, seeded_rng};
use sha2::{Digest, Sha256};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dlfw-malformed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name)
}

/// The bytes of a v1.0 `.npy` file, written by hand (independent of `npy::save`).
fn npy_bytes(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(payload);
    b
}

fn u64_labels(labels: &[u64]) -> Vec<u8> {
    npy_bytes("<u8", &format!("({},)", labels.len()), &labels.iter().flat_map(|l| l.to_le_bytes()).collect::<Vec<_>>())
}

fn f64_features(values: &[f64], rows: usize) -> Vec<u8> {
    let cols = values.len() / rows;
    npy_bytes("<f8", &format!("({rows}, {cols})"), &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>())
}

fn err_text<T>(r: Result<T, impl std::fmt::Display>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// A small classification set: 24 examples of 4 features, 3 classes.
fn small_data() -> Dataset<f32> {
    let mut rng = seeded_rng(3);
    let x = Tensor::<f32>::randn(&[24, 4], &mut rng);
    Dataset::classification(x, (0..24).map(|i| i % 3).collect(), 3).unwrap()
}

const SMALL_NET: &str = r#"{"input_shape": [4], "seed": 2, "layers": [
    {"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dropout", "p": 0.1}, {"type": "dense", "units": 3}]}"#;

fn train_config(extra: &str) -> TrainConfig {
    TrainConfig::from_json(&format!(
        r#"{{"epochs": 2, "batch_size": 8, "seed": 4, "optimizer": {{"kind": "sgd", "lr": 0.1, "momentum": 0.9}} {extra}}}"#
    ))
    .unwrap()
}

/// A checkpoint of the small network after two steps.
fn small_checkpoint() -> Checkpoint<f32> {
    let net = NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    let mut t = Trainer::new(net, train_config(r#", "max_steps": 2"#)).unwrap();
    t.fit(&small_data(), None).unwrap();
    t.checkpoint()
}

/// Replaces section `index` (0 header, 1 parameters, 2 optimiser, 3 best parameters, 4
/// pruning masks) of checkpoint bytes, keeps every other section, and recomputes the
/// checksum, so the file is valid up to its content.
fn with_section(bytes: &[u8], index: usize, replacement: &[u8]) -> Vec<u8> {
    let body = &bytes[..bytes.len() - 32];
    let mut out = body[..12].to_vec();
    let mut pos = 12;
    let mut i = 0;
    while pos < body.len() {
        let len = u64::from_le_bytes(body[pos..pos + 8].try_into().unwrap()) as usize;
        let section = if i == index { replacement } else { &body[pos + 8..pos + 8 + len] };
        out.extend_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
        pos += 8 + len;
        i += 1;
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn safetensors_with_header(header: &str, buffer: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(buffer);
    out
}

// ---- the rows of the issue's table ------------------------------------------------------

#[test]
fn labels_of_u64_max_in_npy_are_an_error() {
    let d = tmp("u64max");
    std::fs::write(d.join("x.npy"), f64_features(&[0.0; 6], 3)).unwrap();
    std::fs::write(d.join("y.npy"), u64_labels(&[0, u64::MAX, 1])).unwrap();
    let e = err_text(load_npy_dataset::<f32>(d.join("x.npy"), d.join("y.npy"), None));
    assert!(
        e.contains("y.npy")
            && e.contains("label 18446744073709551615 (example 1) implies 18446744073709551616 classes"),
        "{e}"
    );
    let e = err_text(load_npy_dataset::<f32>(corpus("features_3x2.npy"), corpus("labels_u64_max.npy"), None));
    assert!(e.contains("labels_u64_max.npy") && e.contains("more than the 65536 allowed"), "{e}");
    // with num_classes given, the same label is out of range
    let e = err_text(load_npy_dataset::<f32>(d.join("x.npy"), d.join("y.npy"), Some(10)));
    assert!(e.contains("label 18446744073709551615 of example 1 is out of range for 10 classes"), "{e}");
}

#[test]
fn epochs_of_u64_max_train_without_overflow() {
    let cfg = TrainConfig::from_file(corpus("train_epochs_u64_max.json")).unwrap();
    assert_eq!(cfg.epochs as u64, u64::MAX);
    cfg.validate().unwrap();
    let net = NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    let mut t = Trainer::new(net, cfg).unwrap();
    // max_steps ends the (otherwise endless) run; the step total no longer overflows
    let out = t.fit(&small_data(), None).unwrap();
    assert_eq!((out.steps, out.finished), (5, false));
}

#[test]
fn an_input_of_2_pow_64_elements_is_refused_before_allocating() {
    let cfg = NetworkConfig::from_file(corpus("config_input_2pow32_flatten.json")).unwrap();
    let e = err_text(cfg.build::<f32>());
    assert_eq!(
        e.split(", more than").next().unwrap(),
        format!(
            "invalid configuration: input_shape: one example of shape [4294967296, 4294967296]: needs more than {} bytes (its size overflows)",
            u64::MAX
        )
    );
    // 2^31 x 2^31 does not overflow, but 16 EiB fits no machine
    let cfg = NetworkConfig::from_json(r#"{"input_shape": [2147483648, 2147483648], "layers": [{"type": "flatten"}]}"#)
        .unwrap();
    let e = err_text(cfg.build::<f32>());
    assert!(
        e.contains("input_shape: one example of shape [2147483648, 2147483648]: needs 18446744073709551616 bytes")
            || e.contains("overflows"),
        "{e}"
    );
}

#[test]
fn a_checkpoint_with_a_valid_checksum_and_shape_2_pow_62_is_an_error() {
    let e = err_text(Checkpoint::<f32>::read(&corpus("checkpoint_shape_2pow62.ckpt")));
    assert!(
        e.contains("checkpoint_shape_2pow62.ckpt")
            && e.contains("shape [4611686018427387904] of F32 (more than usize::MAX expected)"),
        "{e}"
    );
    // the same made fresh from the current format
    let bytes = small_checkpoint().to_bytes();
    let huge = safetensors_with_header(
        r#"{"0.weight": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 16]}}"#,
        &[0; 16],
    );
    let e = err_text(Checkpoint::<f32>::from_bytes(Path::new("mem.ckpt"), &with_section(&bytes, 1, &huge)));
    assert!(e.contains("mem.ckpt") && e.contains("tensor '0.weight'") && e.contains("usize::MAX"), "{e}");
}

#[test]
fn configurations_of_1e9_or_1e12_units_or_inputs_are_refused_with_the_layer_and_bytes() {
    // 10^12 units: 4 TB of f32 weights, beyond any machine's available memory
    let e = err_text(NetworkConfig::from_file(corpus("config_units_1e12.json")).unwrap().build::<f32>());
    assert!(e.starts_with("invalid configuration: layers[0]: dense layer"), "{e}");
    let needed = 4 * (64 * 1_000_000_000_000u64 + 2 * 1_000_000_000_000 + 64);
    assert!(e.contains(&format!("needs {needed} bytes (240.1 TiB), more than the memory limit of")), "{e}");
    // input 10^12: refused at the input, before the first layer
    let e = err_text(NetworkConfig::from_file(corpus("config_input_1e12.json")).unwrap().build::<f32>());
    assert!(
        e.starts_with(
            "invalid configuration: input_shape: one example of shape [1000000000000]: needs 4000000000000 bytes"
        ),
        "{e}"
    );
    // 10^9 units on 64 inputs: the issue's abort of 256000000000 bytes; refused under the
    // machine's available memory where that is smaller, and under a stated limit anyway
    let cfg = NetworkConfig::from_file(corpus("config_units_1e9.json")).unwrap();
    let needed = 4 * (64 * 1_000_000_000u64 + 1_000_000_000 + 1_000_000_000 + 64);
    if MemoryLimit::available().limit_bytes() < needed {
        let e = err_text(cfg.build::<f32>());
        assert!(e.contains(&format!("needs {needed} bytes")) && e.contains("MemAvailable"), "{e}");
    }
    let e = err_text(cfg.build_within::<f32>(MemoryLimit::bytes(16 << 30)));
    assert!(e.contains(&format!("layers[0]: dense layer (its parameters, one example's input and activations, and its working memory): needs {needed} bytes")), "{e}");
    assert!(e.contains("more than the memory limit of 17179869184 bytes (16.0 GiB, set by the caller)"), "{e}");
    // the configuration's own limit
    let mut small = NetworkConfig::from_json(SMALL_NET).unwrap();
    small.memory_limit_bytes = Some(100);
    assert!(err_text(small.build::<f32>()).contains("layers[0]: dense layer"));
}

#[test]
fn a_batch_too_large_for_memory_is_refused_before_training() {
    let net = NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    let mut t = Trainer::new(net, train_config(r#", "memory_limit_bytes": 1000"#)).unwrap();
    let e = err_text(t.fit(&small_data(), None));
    assert!(e.starts_with("invalid configuration: batch_size: training with batches of 8 examples"), "{e}");
    assert!(e.contains("the largest those of layers[0]") && e.contains("memory limit of 1000 bytes"), "{e}");
}

#[test]
fn resuming_with_another_batch_size_or_learning_rate_is_an_error_unless_allowed() {
    let d = tmp("resume");
    let path = d.join("run.ckpt");
    small_checkpoint().write(&path).unwrap();
    let net = || NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    let with = |batch: usize, lr: f64, extra: &str| {
        TrainConfig::from_json(&format!(
            r#"{{"epochs": 2, "batch_size": {batch}, "seed": 4, "optimizer": {{"kind": "sgd", "lr": {lr}, "momentum": 0.9}} {extra}}}"#
        ))
        .unwrap()
    };
    let e = err_text(Trainer::new(net(), with(16, 0.1, "")).unwrap().resume(&path));
    assert!(e.contains("run.ckpt") && e.contains("batch_size is 8 in the checkpoint, 16 now"), "{e}");
    assert!(e.contains(r#""allow_config_changes": ["batch_size"]"#), "{e}");
    let e = err_text(Trainer::new(net(), with(8, 0.01, "")).unwrap().resume(&path));
    assert!(e.contains("optimizer.lr is 0.1 in the checkpoint, 0.01 now") && !e.contains("batch_size"), "{e}");
    // both at once: both named
    let e = err_text(Trainer::new(net(), with(16, 0.01, "")).unwrap().resume(&path));
    assert!(e.contains("batch_size is 8") && e.contains("optimizer.lr is 0.1"), "{e}");
    // stated changes are accepted: by configuration, or by the API
    let mut t = Trainer::new(net(), with(8, 0.01, r#", "allow_config_changes": ["optimizer.lr"]"#)).unwrap();
    t.resume(&path).unwrap();
    assert_eq!(t.step_count(), 2);
    let mut t = Trainer::new(net(), with(16, 0.1, "")).unwrap();
    t.resume_with(&path, &ResumePolicy::AllowChanges(vec!["batch_size".into()])).unwrap();
    // a changed network field is named under network.
    let other = NetworkConfig::from_json(&SMALL_NET.replace("0.1", "0.3")).unwrap().build::<f32>().unwrap();
    let e = err_text(Trainer::new(other, with(8, 0.1, "")).unwrap().resume(&path));
    assert!(e.contains("network.layers[1].p is 0.1 in the checkpoint, 0.3 now"), "{e}");
    // run-control fields may differ freely: max_steps, output_dir, progress
    let mut t = Trainer::new(net(), with(8, 0.1, r#", "max_steps": 9, "progress": false"#)).unwrap();
    t.resume(&path).unwrap();
}

#[test]
fn checkpoints_holding_nan_or_infinite_values_are_refused() {
    let e = err_text(Checkpoint::<f32>::read(&corpus("checkpoint_nan_parameter.ckpt")));
    assert!(e.contains("checkpoint_nan_parameter.ckpt") && e.contains("parameter '0.weight' holds a NaN"), "{e}");
    let mut ck = small_checkpoint();
    let mut bad = ck.params["3.bias"].to_vec();
    bad[1] = f32::INFINITY;
    ck.params.insert("3.bias".into(), Tensor::from_vec(bad, &[3]).unwrap());
    let e = err_text(Checkpoint::<f32>::from_bytes(Path::new("inf.ckpt"), &ck.to_bytes()));
    assert!(e.contains("parameter '3.bias' holds an infinity"), "{e}");
    let mut ck = small_checkpoint();
    ck.optimizer.buffers.get_mut("0.bias").unwrap().get_mut("momentum").unwrap().1[0] = f64::NAN;
    let e = err_text(Checkpoint::<f32>::from_bytes(Path::new("opt.ckpt"), &ck.to_bytes()));
    assert!(e.contains("optimiser state '0.bias/momentum' holds NaN"), "{e}");
    // an in-memory checkpoint is checked by restore too, and nothing is loaded
    let net = NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    let mut t = Trainer::new(net, train_config("")).unwrap();
    assert!(err_text(t.restore(Path::new("opt.ckpt"), ck)).contains("holds NaN"));
    assert_eq!(t.step_count(), 0);
}

#[test]
fn labels_of_1e12_are_an_error_in_npy_and_csv() {
    let e = err_text(load_npy_dataset::<f32>(corpus("features_3x2.npy"), corpus("labels_1e12.npy"), None));
    assert!(e.contains("labels_1e12.npy: label 1000000000000 (example 2) implies 1000000000001 classes, more than the 65536 allowed"), "{e}");
    let e = err_text(load_csv::<f32>(corpus("labels_1e12.csv"), 2, true));
    assert!(e.contains("labels_1e12.csv: label 1000000000000 (line 3) implies 1000000000001 classes"), "{e}");
    // the bound can come from the network: a 3-way classifier takes at most 3 classes
    let net = NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    let d = tmp("classes");
    std::fs::write(d.join("four.csv"), "a,b,label\n0,1,0\n1,0,3\n").unwrap();
    let e = err_text(load_csv_with::<f32>(d.join("four.csv"), 2, true, &LoadOptions::for_network(&net)));
    assert!(e.contains("label 3 (line 3) implies 4 classes, more than the 3 allowed"), "{e}");
    // a num_classes that no machine can count is refused by the dataset itself
    let e = err_text(Dataset::classification(Tensor::<f32>::zeros(&[1, 1]), vec![0], 1 << 62));
    assert!(e.contains("counting 4611686018427387904 classes") && e.contains("more than the memory limit"), "{e}");
}

#[test]
fn non_finite_features_are_refused_by_npy_and_csv_alike_unless_allowed() {
    let e = err_text(load_npy_dataset::<f32>(corpus("features_nan.npy"), corpus("labels_3.npy"), None));
    assert!(e.contains("features_nan.npy: features: element 3 (example 1) is NaN; non-finite features are refused unless LoadOptions::allow_non_finite is set"), "{e}");
    let e = err_text(load_csv::<f32>(corpus("features_inf.csv"), 2, true));
    assert!(e.contains("features_inf.csv:3: column 1: 'inf' is not a finite number (non-finite features are refused unless LoadOptions::allow_non_finite is set)"), "{e}");
    let allow = LoadOptions { allow_non_finite: true, ..LoadOptions::default() };
    let ds = load_npy_dataset_with::<f32>(corpus("features_nan.npy"), corpus("labels_3.npy"), &allow).unwrap();
    assert!(ds.features().to_vec()[3].is_nan());
    let ds = load_csv_with::<f32>(corpus("features_inf.csv"), 2, true, &allow).unwrap();
    assert_eq!(ds.features().to_vec()[2], f32::INFINITY);
}

// ---- error messages -----------------------------------------------------------------------

#[test]
fn errors_have_one_prefix_and_name_nested_fields_to_the_leaf() {
    let net = NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    let mut t = Trainer::new(net, train_config("")).unwrap();
    let wrong = Dataset::classification(Tensor::<f32>::zeros(&[4, 5]), vec![0; 4], 3).unwrap();
    let e = err_text(t.fit(&wrong, None));
    assert_eq!(
        e,
        "data does not fit the network: training set: the network takes inputs (N, 4), got features of shape [4, 5]"
    );
    // TrainConfig::validate checks what Trainer::new checks, naming the leaf
    let bad_lr =
        TrainConfig::from_json(r#"{"epochs": 1, "batch_size": 2, "optimizer": {"kind": "adam", "lr": -1.0}}"#).unwrap();
    assert_eq!(
        err_text(bad_lr.validate()),
        "invalid configuration: optimizer.lr: must be a finite non-negative number, got -1"
    );
    let bad_beta =
        TrainConfig::from_json(r#"{"epochs": 1, "batch_size": 2, "optimizer": {"kind": "adam", "beta1": 1.5}}"#)
            .unwrap();
    assert!(err_text(bad_beta.validate()).starts_with("invalid configuration: optimizer.beta1: "));
    let nested = TrainConfig::from_json(
        r#"{"epochs": 1, "batch_size": 2, "optimizer": {"kind": "sgd"},
            "schedule": {"kind": "warmup", "steps": 3, "then": {"kind": "step", "step_size": 2, "gamma": 0.0}}}"#,
    )
    .unwrap();
    assert_eq!(
        err_text(nested.validate()),
        "invalid configuration: schedule.then.gamma: must be positive and finite, got 0"
    );
    let net = NetworkConfig::from_json(SMALL_NET).unwrap().build::<f32>().unwrap();
    assert_eq!(
        err_text(Trainer::new(net, nested)),
        "invalid configuration: schedule.then.gamma: must be positive and finite, got 0"
    );
    // files: the path and the field
    let d = tmp("files");
    std::fs::write(
        d.join("train.json"),
        r#"{"epochs": 1, "batch_size": 2, "optimizer": {"kind": "sgd", "lr": "fast"}}"#,
    )
    .unwrap();
    let e = err_text(TrainConfig::from_file(d.join("train.json")));
    assert!(
        e.starts_with(&format!(
            "invalid configuration: {}: optimizer.lr: invalid type: string \"fast\"",
            d.join("train.json").display()
        )),
        "{e}"
    );
    let e = err_text(TrainConfig::from_file(d.join("absent.json")));
    assert!(e.contains("absent.json"), "{e}");
}

#[test]
fn deeply_nested_residual_blocks_are_an_error() {
    let mut layer = r#"{"type": "dense", "units": 2}"#.to_string();
    for _ in 0..70 {
        layer = format!(r#"{{"type": "residual", "body": [{layer}]}}"#);
    }
    let cfg = NetworkConfig::from_json(&format!(r#"{{"input_shape": [2], "layers": [{layer}]}}"#));
    // serde_json's recursion limit (128) or the builder's nesting limit: an error either way
    match cfg {
        Err(e) => assert!(e.to_string().contains("recursion"), "{e}"),
        Ok(cfg) => assert!(err_text(cfg.build::<f32>()).contains("nest more than 64 deep")),
    }
}

/// The footprint the builder checks is the network's real size: the formulas of the
/// footprint module against the parameters and outputs the built layers have.
#[test]
fn footprints_match_the_built_networks() {
    let configs = [
        SMALL_NET,
        r#"{"input_shape": [2, 9, 9], "layers": [
            {"type": "conv2d", "channels": 4, "kernel_size": 3, "padding": 1, "stride": 2, "activation": "relu"},
            {"type": "batch_norm"}, {"type": "max_pool2d", "kernel_size": 2},
            {"type": "group_norm", "groups": 2}, {"type": "instance_norm", "affine": true, "track_running_stats": true},
            {"type": "conv2d", "channels": 6, "kernel_size": 2, "groups": 2, "bias": false, "dilation": 1},
            {"type": "global_avg_pool"}, {"type": "layer_norm"}, {"type": "rms_norm"},
            {"type": "residual", "projection": true, "body": [{"type": "dense", "units": 5}]},
            {"type": "dense", "units": 3}]}"#,
        r#"{"input_shape": [3, 11], "layers": [
            {"type": "conv1d", "channels": 5, "kernel_size": 3, "dilation": 2, "padding": 1},
            {"type": "avg_pool1d", "kernel_size": 2, "stride": 1},
            {"type": "max_pool1d", "kernel_size": 3, "padding": 1},
            {"type": "flatten"}, {"type": "dense", "units": 4}]}"#,
        r#"{"input_shape": [6, 3], "layers": [
            {"type": "recurrent", "cell": "lstm", "hidden_size": 5, "bidirectional": true},
            {"type": "recurrent", "cell": "gru", "hidden_size": 4},
            {"type": "recurrent", "cell": "rnn_tanh", "hidden_size": 3, "output": "last"},
            {"type": "dense", "units": 2}]}"#,
    ];
    for text in configs {
        let cfg = NetworkConfig::from_json(text).unwrap();
        let net = cfg.build::<f64>().unwrap();
        let state: u64 = net.footprints().iter().map(|(_, f)| f.state).sum();
        let actual: usize = dl_layers::Module::state_dict(&net).values().map(|t| t.numel()).sum();
        assert_eq!(state, actual as u64, "{text}");
        // each top-level layer's last output has the footprint's output size
        let x =
            dl_autodiff::Var::constant(Tensor::<f64>::zeros(&[[1].as_slice(), cfg.input_shape.as_slice()].concat()));
        let outs = net.forward_traced(&x).unwrap();
        let mut by_path: Vec<(String, u64)> = Vec::new();
        for (layer, out) in net.layers().iter().zip(&outs) {
            let n = out.value().numel() as u64;
            match by_path.last_mut() {
                Some((p, total)) if *p == layer.config_path => *total += n,
                _ => by_path.push((layer.config_path.clone(), n)),
            }
        }
        for ((path, f), (p, kept)) in net.footprints().iter().zip(&by_path) {
            assert_eq!(path, p);
            let recurrent = text.contains("recurrent");
            if recurrent {
                assert!(f.activations >= *kept, "{path}: {} < {kept}", f.activations);
            } else if !text.contains("residual") || !path.ends_with("[9]") {
                assert_eq!(f.activations, *kept, "{path} of {text}");
            }
        }
    }
}

/// Regenerates the binary files of `tests/corpus/` (run by hand:
/// `cargo test -p dl-framework --test malformed_inputs -- --ignored`).
#[test]
#[ignore]
fn write_corpus() {
    let w = |name: &str, bytes: &[u8]| std::fs::write(corpus(name), bytes).unwrap();
    w("features_3x2.npy", &f64_features(&[0.5, -1.0, 2.0, 0.0, 1.5, -0.5], 3));
    w("features_nan.npy", &f64_features(&[0.5, -1.0, 2.0, f64::NAN, 1.5, -0.5], 3));
    w("labels_3.npy", &u64_labels(&[0, 1, 2]));
    w("labels_u64_max.npy", &u64_labels(&[0, u64::MAX, 1]));
    w("labels_1e12.npy", &u64_labels(&[0, 1, 1_000_000_000_000]));
    let bytes = small_checkpoint().to_bytes();
    let huge = safetensors_with_header(
        r#"{"0.weight": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 16]}}"#,
        &[0; 16],
    );
    w("checkpoint_shape_2pow62.ckpt", &with_section(&bytes, 1, &huge));
    let mut ck = small_checkpoint();
    let mut v = ck.params["0.weight"].to_vec();
    v[5] = f32::NAN;
    ck.params.insert("0.weight".into(), Tensor::from_vec(v, &[8, 4]).unwrap());
    w("checkpoint_nan_parameter.ckpt", &ck.to_bytes());
    let _ = npy::load::<f64>(corpus("features_3x2.npy")).unwrap();
}

#[test]
fn every_corpus_file_gives_an_error_or_a_value_never_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.display().to_string();
        let text = String::from_utf8_lossy(&bytes);
        let _ = NetworkConfig::from_json(&text).map(|c| c.build_within::<f32>(MemoryLimit::bytes(64 << 20)));
        let _ = TrainConfig::from_json(&text).map(|c| c.validate());
        let _ = Checkpoint::<f32>::from_bytes(&path, &bytes);
        let _ = npy::load_from_bytes::<f32>(&name, &bytes);
        let _ = npy::load_indices_from_bytes(&name, &bytes);
        let _ = dl_layers::serialize::from_safetensors_bytes::<f32>(&path, &bytes);
        let _ = dl_framework::data::CsvTable::parse(&name, &text, true);
        n += 1;
    }
    assert!(n >= 12, "{n} corpus files");
    let _: Option<FrameworkError> = None;
}
