//! Fuzzing every reader of outside input: configuration JSON (network and training),
//! checkpoints, `.npy`, safetensors and CSV. Each is fed random bytes, byte-level
//! corruptions of valid files (truncation, bit flips, overwritten, inserted and deleted
//! bytes) and structured corruptions (JSON fields deleted, replaced by huge numbers or
//! values of the wrong type; checkpoint sections rewritten with a valid checksum so the
//! corruption reaches the inner parsers; `.npy` headers and CSV cells rewritten). The
//! property is the same for all: the reader returns `Ok` or `Err`, never panics, never
//! aborts (sizes are bounded by a memory limit of 8 MiB where something is built).
//!
//! CI runs a few hundred cases per reader (a few seconds in all). A longer local run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test -p dl-framework --test fuzz_readers --release
//! ```
//!
//! Inputs that once failed are kept: proptest writes a shrunk failing case to
//! `tests/fuzz_readers.proptest-regressions` and replays it first on every run; the inputs
//! of issue 15 are files in `tests/corpus/` (replayed by `tests/malformed_inputs.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use dl_framework::checkpoint::Checkpoint;
use dl_framework::data::{CsvTable, Dataset};
use dl_framework::{NetworkConfig, TrainConfig, Trainer};
use dl_tensor::{MemoryLimit, Tensor, npy, seeded_rng};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// `cases` by default; `PROPTEST_CASES` (the variable proptest reads) overrides it.
fn cases(default: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var("PROPTEST_CASES").is_err() {
        c.cases = default;
    }
    c
}

/// What building or training may allocate while fuzzing.
fn limit() -> MemoryLimit {
    MemoryLimit::bytes(8 << 20)
}

// ---- corruptions ------------------------------------------------------------------------

/// One byte-level corruption.
#[derive(Clone, Debug)]
enum ByteEdit {
    Truncate(usize),
    FlipBit(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        any::<usize>().prop_map(ByteEdit::Truncate),
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| ByteEdit::FlipBit(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| ByteEdit::Set(i, v)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| ByteEdit::Insert(i, v)),
        (any::<usize>(), 1usize..32).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
    ]
}

fn apply_bytes(mut b: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for e in edits {
        let n = b.len();
        match e {
            ByteEdit::Truncate(i) => b.truncate(i % (n + 1)),
            ByteEdit::FlipBit(i, bit) if n > 0 => b[i % n] ^= 1 << bit,
            ByteEdit::Set(i, v) if n > 0 => b[i % n] = *v,
            ByteEdit::Insert(i, v) => {
                let at = i % (n + 1);
                b.splice(at..at, v.iter().copied());
            }
            ByteEdit::Delete(i, len) if n > 0 => {
                let at = i % n;
                b.drain(at..(at + len).min(n));
            }
            _ => {}
        }
    }
    b
}

/// Values that break readers: huge, negative, fractional, non-finite-ish, wrong types.
fn nasty_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(true)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(4294967296u64)),
        Just(json!(4611686018427387904u64)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1e300)),
        Just(json!(-1e300)),
        Just(json!(1e-300)),
        Just(json!(0.5)),
        Just(json!("")),
        Just(json!("x")),
        Just(json!("NaN")),
        Just(json!([])),
        Just(json!([1, 2, 3])),
        Just(json!({})),
        Just(json!({"type": "dense", "units": 1000000000000u64})),
        Just(json!({"type": "residual", "body": []})),
        Just(json!({"kind": "warmup", "steps": 1, "then": {"kind": "step", "step_size": 0, "gamma": 1}})),
        any::<i64>().prop_map(|v| json!(v)),
        any::<f64>().prop_filter("JSON numbers are finite", |v| v.is_finite()).prop_map(|v| json!(v)),
    ]
}

/// One structured corruption of a JSON document: the node at a position of the
/// depth-first order is deleted (in an object or a list), replaced, or duplicated.
#[derive(Clone, Debug)]
enum JsonEdit {
    Delete(usize),
    Replace(usize, Value),
    Duplicate(usize),
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        any::<usize>().prop_map(JsonEdit::Delete),
        (any::<usize>(), nasty_value()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        any::<usize>().prop_map(JsonEdit::Duplicate),
    ]
}

/// The number of nodes of `v` (depth first, `v` itself included).
fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies `edit` to the `target`-th child of the containers in `v` (depth first).
fn edit_json(v: &mut Value, target: &mut usize, edit: &JsonEdit) -> bool {
    match v {
        Value::Array(items) => {
            for i in 0..items.len() {
                if *target == 0 {
                    match edit {
                        JsonEdit::Delete(_) => {
                            items.remove(i);
                        }
                        JsonEdit::Replace(_, new) => items[i] = new.clone(),
                        JsonEdit::Duplicate(_) => {
                            let copy = items[i].clone();
                            items.insert(i, copy);
                        }
                    }
                    return true;
                }
                *target -= 1;
                if edit_json(&mut items[i], target, edit) {
                    return true;
                }
            }
            false
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if *target == 0 {
                    match edit {
                        JsonEdit::Delete(_) => {
                            map.remove(&k);
                        }
                        JsonEdit::Replace(_, new) => {
                            map.insert(k, new.clone());
                        }
                        JsonEdit::Duplicate(_) => {
                            let copy = map[&k].clone();
                            map.insert(format!("{k}_"), copy);
                        }
                    }
                    return true;
                }
                *target -= 1;
                if edit_json(map.get_mut(&k).expect("a key of the map"), target, edit) {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

fn apply_json(mut v: Value, edits: &[JsonEdit]) -> Value {
    for e in edits {
        let n = count_nodes(&v).saturating_sub(1).max(1);
        let mut target = match e {
            JsonEdit::Delete(i) | JsonEdit::Replace(i, _) | JsonEdit::Duplicate(i) => i % n,
        };
        edit_json(&mut v, &mut target, e);
    }
    v
}

// ---- valid inputs the corruptions start from ----------------------------------------------

const NETWORKS: [&str; 4] = [
    r#"{"input_shape": [4], "seed": 2, "layers": [
        {"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dropout", "p": 0.1}, {"type": "dense", "units": 3}],
        "init": {"scheme": "critical", "activation": "tanh", "sigma_b2": 0.05}}"#,
    r#"{"input_shape": [2, 6, 6], "layers": [
        {"type": "conv2d", "channels": 3, "kernel_size": 3, "padding": 1, "activation": "relu"},
        {"type": "batch_norm"}, {"type": "max_pool2d", "kernel_size": 2}, {"type": "group_norm", "groups": 3},
        {"type": "residual", "body": [{"type": "conv2d", "channels": 3, "kernel_size": 3, "padding": 1}]},
        {"type": "global_avg_pool"}, {"type": "layer_norm"}, {"type": "dense", "units": 2}]}"#,
    r#"{"input_shape": [2, 7], "layers": [
        {"type": "conv1d", "channels": 2, "kernel_size": 3, "dilation": 2, "padding": 2},
        {"type": "avg_pool1d", "kernel_size": 2}, {"type": "flatten"},
        {"type": "residual", "projection": true, "body": [{"type": "dense", "units": 5}, {"type": "rms_norm"}]},
        {"type": "dense", "units": 3}], "parameterisation": {"kind": "standard"}}"#,
    r#"{"input_shape": [5, 3], "layers": [
        {"type": "recurrent", "cell": "lstm", "hidden_size": 4, "bidirectional": true},
        {"type": "recurrent", "cell": "gru", "hidden_size": 3, "output": "last"},
        {"type": "dense", "units": 2}], "init": {"scheme": "kaiming", "distribution": "uniform"}}"#,
];

const TRAINING: &str = r#"{"epochs": 2, "batch_size": 8, "seed": 4, "log_every": 2,
    "optimizer": {"kind": "adam", "lr": 0.01, "beta1": 0.9, "weight_decay": 0.001, "decoupled_weight_decay": true},
    "schedule": {"kind": "warmup", "steps": 2, "then": {"kind": "cosine", "t_max": 10, "eta_min": 0.0}},
    "clip_grad_norm": 1.0, "loss": {"kind": "cross_entropy", "label_smoothing": 0.1},
    "early_stopping": {"patience": 2}, "max_steps": 3, "allow_config_changes": ["optimizer.lr"]}"#;

fn small_data() -> Dataset<f32> {
    let x = Tensor::<f32>::randn(&[16, 4], &mut seeded_rng(3));
    Dataset::classification(x, (0..16).map(|i| i % 3).collect(), 3).unwrap()
}

/// A checkpoint of the first network after three Adam steps (computed once).
fn checkpoint_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let net = NetworkConfig::from_json(NETWORKS[0]).unwrap().build::<f32>().unwrap();
        let mut cfg = TrainConfig::from_json(TRAINING).unwrap();
        cfg.early_stopping = None;
        let mut t = Trainer::new(net, cfg).unwrap();
        t.fit(&small_data(), None).unwrap();
        t.checkpoint().to_bytes()
    })
}

/// The sections of checkpoint bytes (header, parameters, optimiser, best parameters, masks).
fn sections(bytes: &[u8]) -> Vec<Vec<u8>> {
    let body = &bytes[..bytes.len() - 32];
    let mut pos = 12;
    let mut out = Vec::new();
    while pos < body.len() {
        let len = u64::from_le_bytes(body[pos..pos + 8].try_into().unwrap()) as usize;
        out.push(body[pos + 8..pos + 8 + len].to_vec());
        pos += 8 + len;
    }
    out
}

/// Checkpoint bytes made of `sections`, with a valid checksum.
fn assemble(head: &[u8], sections: &[Vec<u8>]) -> Vec<u8> {
    let mut out = head[..12].to_vec();
    for s in sections {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s);
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn safetensors_bytes() -> Vec<u8> {
    let mut t = BTreeMap::new();
    t.insert("a.weight".to_string(), Tensor::<f64>::from_vec((0..6).map(f64::from).collect(), &[2, 3]).unwrap());
    t.insert("a.bias".to_string(), Tensor::<f64>::from_vec(vec![0.5, -0.5], &[2]).unwrap());
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    dl_layers::serialize::to_safetensors_bytes(&t, &meta)
}

/// The header JSON and the buffer of safetensors bytes.
fn split_safetensors(b: &[u8]) -> (Value, Vec<u8>) {
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&b[8..8 + n]).unwrap(), b[8 + n..].to_vec())
}

fn join_safetensors(header: &Value, buffer: &[u8]) -> Vec<u8> {
    let h = header.to_string();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(buffer);
    out
}

/// Three valid `.npy` files (computed once: `npy::save` syncs to disk).
fn npy_files() -> &'static [Vec<u8>] {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(make_npy_files)
}

fn make_npy_files() -> Vec<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("dlfw-fuzz-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f32s = Tensor::<f32>::from_vec((0..12).map(|v| v as f32 - 3.5).collect(), &[3, 4]).unwrap();
    let f64s = Tensor::<f64>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    npy::save(dir.join("a.npy"), &f32s).unwrap();
    npy::save(dir.join("b.npy"), &f64s).unwrap();
    let mut files = vec![std::fs::read(dir.join("a.npy")).unwrap(), std::fs::read(dir.join("b.npy")).unwrap()];
    // integer labels in Fortran order, written by hand
    let mut header = "{'descr': '<i8', 'fortran_order': True, 'shape': (3, 2), }".to_string();
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    (0i64..6).for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    files.push(b);
    std::fs::remove_dir_all(&dir).ok();
    files
}

/// A `.npy` header rewritten field by field: a shape, a dtype, a layout.
fn npy_with_header(shape: &str, descr: &str, fortran: &str, payload: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}\n");
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len().min(u16::MAX as usize) as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(payload);
    b
}

const CSVS: [&str; 3] = [
    "x,y,label\n0.5,1.5,0\n-1,2e3,2\n3,4,1\n",
    "\"a, b\",\"c\"\"d\",label\r\n\"1\",2,0\r\n3,\"4\",1\r\n",
    "1,2\n\n  \n3,4\n",
];

// ---- the readers under test ---------------------------------------------------------------

fn read_network(text: &str) {
    if let Ok(cfg) = NetworkConfig::from_json(text) {
        let _ = cfg.build_within::<f32>(limit());
        let _ = cfg.to_json();
    }
}

fn read_training(text: &str) {
    if let Ok(mut cfg) = TrainConfig::from_json(text) {
        let _ = cfg.validate();
        cfg.memory_limit_bytes = Some(8 << 20);
        let net = NetworkConfig::from_json(NETWORKS[0]).unwrap().build::<f32>().unwrap();
        if let Ok(mut t) = Trainer::new(net, cfg) {
            // at most a few steps: max_steps is set, or a tiny set makes an epoch short
            if t.config().max_steps.is_some_and(|m| m <= 4) && t.config().batch_size > 0 {
                let _ = t.fit(&small_data(), None);
            }
        }
    }
}

fn read_checkpoint(bytes: &[u8]) {
    let path = Path::new("fuzz.ckpt");
    if let Ok(ck) = Checkpoint::<f32>::from_bytes(path, bytes) {
        let net = NetworkConfig::from_json(NETWORKS[0]).unwrap().build::<f32>().unwrap();
        let mut cfg = TrainConfig::from_json(TRAINING).unwrap();
        cfg.early_stopping = None;
        cfg.memory_limit_bytes = Some(8 << 20);
        let mut t = Trainer::new(net, cfg).unwrap();
        if t.restore(path, ck).is_ok() {
            // a restored run must be able to go on (or stop with an error)
            let _ = t.fit(&small_data(), None);
        }
    }
    let _ = Checkpoint::<f64>::from_bytes(path, bytes);
}

fn read_npy(bytes: &[u8]) {
    let _ = npy::load_from_bytes::<f32>("fuzz.npy", bytes);
    let _ = npy::load_from_bytes::<f64>("fuzz.npy", bytes);
    let _ = npy::load_indices_from_bytes("fuzz.npy", bytes);
}

fn read_safetensors(bytes: &[u8]) {
    let _ = dl_layers::serialize::from_safetensors_bytes::<f32>(Path::new("fuzz.safetensors"), bytes);
    let _ = dl_layers::serialize::from_safetensors_bytes::<f64>(Path::new("fuzz.safetensors"), bytes);
}

fn read_csv(text: &str) {
    for header in [false, true] {
        if let Ok(t) = CsvTable::parse("fuzz.csv", text, header) {
            for c in 0..t.cols.min(3) {
                let _ = t.label(0, c);
            }
        }
        let _ = CsvTable::parse_with("fuzz.csv", text, header, true);
    }
}

// ---- the properties ---------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn network_configs_from_random_and_corrupted_bytes(
        which in 0..NETWORKS.len(),
        edits in prop::collection::vec(byte_edit(), 0..4),
        random in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        read_network(&String::from_utf8_lossy(&apply_bytes(NETWORKS[which].as_bytes().to_vec(), &edits)));
        read_network(&String::from_utf8_lossy(&random));
    }

    #[test]
    fn network_configs_with_structured_corruptions(
        which in 0..NETWORKS.len(),
        edits in prop::collection::vec(json_edit(), 1..4),
    ) {
        let doc: Value = serde_json::from_str(NETWORKS[which]).unwrap();
        read_network(&apply_json(doc, &edits).to_string());
    }

    #[test]
    fn training_configs_with_corruptions(
        edits in prop::collection::vec(json_edit(), 1..4),
        bytes in prop::collection::vec(byte_edit(), 0..3),
    ) {
        let doc: Value = serde_json::from_str(TRAINING).unwrap();
        let text = apply_json(doc, &edits).to_string();
        read_training(&text);
        read_training(&String::from_utf8_lossy(&apply_bytes(text.into_bytes(), &bytes)));
    }

    #[test]
    fn checkpoints_from_corrupted_bytes(edits in prop::collection::vec(byte_edit(), 1..4)) {
        read_checkpoint(&apply_bytes(checkpoint_bytes().to_vec(), &edits));
    }

    /// Corruptions inside the sections, behind a valid checksum: the header JSON edited
    /// field by field, the safetensors sections edited byte by byte or in their headers.
    #[test]
    fn checkpoints_with_valid_checksums_and_corrupt_sections(
        section in 0usize..5,
        json_edits in prop::collection::vec(json_edit(), 1..3),
        byte_edits in prop::collection::vec(byte_edit(), 1..3),
        structured in any::<bool>(),
    ) {
        let bytes = checkpoint_bytes();
        let mut parts = sections(bytes);
        parts[section] = if section == 0 && structured {
            let doc: Value = serde_json::from_slice(&parts[0]).unwrap();
            apply_json(doc, &json_edits).to_string().into_bytes()
        } else if section > 0 && structured && !parts[section].is_empty() {
            let (header, buffer) = split_safetensors(&parts[section]);
            join_safetensors(&apply_json(header, &json_edits), &buffer)
        } else {
            apply_bytes(parts[section].clone(), &byte_edits)
        };
        read_checkpoint(&assemble(bytes, &parts));
    }

    #[test]
    fn npy_from_random_and_corrupted_bytes(
        which in 0usize..3,
        edits in prop::collection::vec(byte_edit(), 1..4),
        random in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let files = npy_files();
        read_npy(&apply_bytes(files[which].clone(), &edits));
        let mut magic = b"\x93NUMPY\x01\x00".to_vec();
        magic.extend_from_slice(&random);
        read_npy(&magic);
        read_npy(&random);
    }

    /// Headers that declare huge, negative, empty or malformed shapes and odd dtypes.
    #[test]
    fn npy_with_rewritten_headers(
        dims in prop::collection::vec(prop_oneof![Just(0u64), Just(1), Just(3), Just(1 << 32), Just(1 << 62), Just(u64::MAX), any::<u64>()], 0..4),
        descr in prop_oneof![Just("<f4"), Just("<f8"), Just("<i8"), Just("|u1"), Just("|b1"), Just(">f8"), Just("<f16"), Just("<c8"), Just("xx"), Just("")],
        fortran in prop_oneof![Just("True"), Just("False"), Just("1"), Just("")],
        payload in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let shape = match dims.len() {
            0 => "()".to_string(),
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
        };
        read_npy(&npy_with_header(&shape, descr, fortran, &payload));
        read_npy(&npy_with_header(&shape.replace(')', ", -1)"), descr, fortran, &payload));
    }

    #[test]
    fn safetensors_from_corrupted_bytes(
        edits in prop::collection::vec(byte_edit(), 1..4),
        random in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        read_safetensors(&apply_bytes(safetensors_bytes(), &edits));
        read_safetensors(&random);
    }

    #[test]
    fn safetensors_with_structured_corruptions(edits in prop::collection::vec(json_edit(), 1..4)) {
        let (header, buffer) = split_safetensors(&safetensors_bytes());
        read_safetensors(&join_safetensors(&apply_json(header, &edits), &buffer));
    }

    #[test]
    fn csv_from_random_and_corrupted_text(
        which in 0..CSVS.len(),
        edits in prop::collection::vec(byte_edit(), 1..4),
        random in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        read_csv(&String::from_utf8_lossy(&apply_bytes(CSVS[which].as_bytes().to_vec(), &edits)));
        read_csv(&String::from_utf8_lossy(&random));
    }

    /// Cells replaced by huge, negative, fractional, non-finite, quoted or empty values.
    #[test]
    fn csv_with_rewritten_cells(
        which in 0..CSVS.len(),
        cell in any::<usize>(),
        value in prop_oneof![
            Just("1e309".to_string()), Just("-1".to_string()), Just("1000000000000".to_string()),
            Just("18446744073709551616".to_string()), Just("nan".to_string()), Just("inf".to_string()),
            Just("\"\"".to_string()), Just("\"a\nb\"".to_string()), Just("\"unclosed".to_string()), Just(String::new()),
            Just("0.5".to_string()), Just(",".to_string()), any::<f64>().prop_map(|v| v.to_string()),
        ],
    ) {
        let text = CSVS[which];
        let cells: Vec<usize> = text.match_indices([',', '\n']).map(|(i, _)| i).collect();
        let at = cells.get(cell % cells.len().max(1)).copied().unwrap_or(0);
        let mut edited = text.to_string();
        edited.insert_str(at, &value);
        read_csv(&edited);
        let dir = std::env::temp_dir().join(format!("dlfw-fuzz-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{which}-{cell}.csv"));
        std::fs::write(&path, &edited).unwrap();
        let _ = dl_framework::data::load_csv::<f32>(&path, 2, true);
        let _ = dl_framework::data::load_csv_regression::<f64>(&path, 0, false);
        std::fs::remove_file(&path).ok();
    }
}
