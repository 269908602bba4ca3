//! Pruning masks in the training loop (lottery tickets): pruned weights stay exactly zero
//! under momentum, Adam and weight decay; masks travel in checkpoints and resuming is bit
//! for bit; rewinding restores the saved values; bad masks are named errors.

use std::collections::BTreeMap;
use std::path::Path;

use dl_framework::checkpoint::{Checkpoint, FORMAT_VERSION};
use dl_framework::data::{Dataset, Standardizer, digits_split};
use dl_framework::{Network, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_tensor::Tensor;
use dl_theory::lottery::{Mask, MaskSet, PruningPlan, magnitude_prune, rewind};

fn digits() -> Dataset<f32> {
    let split = digits_split::<f32>(0.5, 0).unwrap();
    let s = Standardizer::fit(split.train.features()).unwrap();
    s.apply(&split.train).unwrap().subset(&(0..320).collect::<Vec<_>>()).unwrap()
}

const MLP: &str = r#"{"input_shape": [64], "seed": 3, "layers": [
    {"type": "dense", "units": 24, "activation": "relu"},
    {"type": "dropout", "p": 0.1},
    {"type": "dense", "units": 10}]}"#;

fn net() -> Network<f32> {
    NetworkConfig::from_json(MLP).unwrap().build().unwrap()
}

fn cfg(optimizer: &str, extra: &str) -> TrainConfig {
    TrainConfig::from_json(&format!(
        r#"{{"epochs": 4, "batch_size": 32, "seed": 2, "optimizer": {optimizer} {extra}}}"#
    ))
    .unwrap()
}

const OPTIMISERS: [&str; 3] = [
    r#"{"kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 1e-3}"#,
    r#"{"kind": "adam", "lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": true}"#,
    r#"{"kind": "rmsprop", "lr": 0.01, "momentum": 0.5, "centered": true}"#,
];

fn bits(net: &Network<f32>) -> BTreeMap<String, Vec<u32>> {
    net.state_dict().into_iter().map(|(k, t)| (k, t.to_vec().iter().map(|v| v.to_bits()).collect())).collect()
}

/// Masks pruning 60% of each weight matrix by magnitude of the current weights.
fn masks_for(net: &Network<f32>) -> MaskSet {
    let sd = net.state_dict();
    let masks = MaskSet::ones_for(&sd, &["0.weight", "3.weight"]).unwrap();
    magnitude_prune(&sd, &masks, &PruningPlan::layer_wise(0.6).unwrap()).unwrap()
}

fn assert_pruned_are_zero(net: &Network<f32>, masks: &MaskSet) {
    let sd = net.state_dict();
    for (name, mask) in masks.iter() {
        for (i, (v, &k)) in sd[name].to_vec().iter().zip(mask.keep()).enumerate() {
            if !k {
                assert_eq!(v.to_bits(), 0, "{name}[{i}] = {v} should be exactly +0");
            }
        }
    }
}

#[test]
fn pruned_weights_stay_exactly_zero_whatever_the_optimiser_state() {
    let data = digits();
    for opt in OPTIMISERS {
        // train dense first, so momentum and moment buffers are non-zero everywhere ...
        let mut t = Trainer::new(net(), cfg(opt, r#", "max_steps": 5"#)).unwrap();
        t.fit(&data, None).unwrap();
        let masks = masks_for(t.network());
        // ... then mask: the buffers would move the pruned weights if nothing stopped them
        t.set_masks(masks.clone()).unwrap();
        assert_pruned_are_zero(t.network(), &masks);
        let before = t.network().state_dict();
        let mut t = {
            let ck = t.checkpoint();
            let mut cont = Trainer::new(net(), cfg(opt, "")).unwrap();
            cont.restore(Path::new("mem"), ck).unwrap();
            cont
        };
        t.fit(&data, None).unwrap();
        assert!(t.step_count() > 20);
        assert_pruned_are_zero(t.network(), &masks);
        // the kept weights did train
        let after = t.network().state_dict();
        let moved = after["0.weight"].to_vec().iter().zip(before["0.weight"].to_vec()).filter(|(a, b)| a != &b).count();
        let kept = masks.get("0.weight").unwrap().remaining();
        // (constant input pixels and dead units leave some kept weights without a gradient)
        assert!(moved > kept / 2 && moved <= kept, "{opt}: {moved} of {kept} kept weights moved");
        assert_eq!(t.masks(), Some(&masks));
    }
}

#[test]
fn masked_runs_resume_bit_for_bit_and_masks_are_in_the_checkpoint() {
    let data = digits();
    let opt = OPTIMISERS[1];
    let masks = masks_for(&net());
    let mut whole = Trainer::new(net(), cfg(opt, "")).unwrap();
    whole.set_masks(masks.clone()).unwrap();
    whole.fit(&data, None).unwrap();

    let dir = std::env::temp_dir().join(format!("dlfw-masks-{}", std::process::id()));
    let path = dir.join("masked.ckpt");
    let mut first = Trainer::new(net(), cfg(opt, r#", "max_steps": 13"#)).unwrap();
    first.set_masks(masks.clone()).unwrap();
    first.fit(&data, None).unwrap();
    first.save_checkpoint(&path).unwrap();
    let ck = Checkpoint::<f32>::read(&path).unwrap();
    assert_eq!(ck.masks.as_ref(), Some(&masks), "the masks are written and read back");
    // a fresh trainer without masks picks them up from the checkpoint
    let mut resumed = Trainer::new(net(), cfg(opt, "")).unwrap();
    assert!(resumed.masks().is_none());
    resumed.resume(&path).unwrap();
    assert_eq!(resumed.masks(), Some(&masks));
    resumed.fit(&data, None).unwrap();
    assert_eq!(resumed.step_count(), whole.step_count());
    assert!(bits(resumed.network()) == bits(whole.network()), "resumed masked training equals the uninterrupted run");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn version_1_checkpoints_without_masks_still_load() {
    use sha2::{Digest, Sha256};
    let data = digits();
    let mut t = Trainer::new(net(), cfg(OPTIMISERS[0], r#", "max_steps": 3"#)).unwrap();
    t.fit(&data, None).unwrap();
    let bytes = t.checkpoint().to_bytes();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), FORMAT_VERSION);
    // a version 1 file: the same sections without the (empty) mask section
    let body = &bytes[..bytes.len() - 32];
    assert_eq!(&body[body.len() - 8..], &0u64.to_le_bytes(), "no masks: an empty last section");
    let mut v1 = body[..body.len() - 8].to_vec();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    let digest = Sha256::digest(&v1);
    v1.extend_from_slice(&digest);
    let ck = Checkpoint::<f32>::from_bytes(Path::new("v1"), &v1).unwrap();
    assert_eq!(ck, t.checkpoint());
}

#[test]
fn rewinding_through_the_trainer_restores_the_saved_values_exactly() {
    let data = digits();
    let mut t = Trainer::new(net(), cfg(OPTIMISERS[1], r#", "max_steps": 7"#)).unwrap();
    let theta_0 = t.network().state_dict();
    t.fit(&data, None).unwrap();
    let masks = masks_for(t.network());
    // rewind: a new network loaded with m ⊙ theta_0
    let fresh = net();
    fresh.load_state_dict(&rewind(&theta_0, &masks).unwrap()).unwrap();
    let mut rewound = Trainer::new(fresh, cfg(OPTIMISERS[1], "")).unwrap();
    rewound.set_masks(masks.clone()).unwrap();
    let now = rewound.network().state_dict();
    for (name, t0) in &theta_0 {
        let keep = masks.get(name).map(|m| m.keep().to_vec()).unwrap_or_else(|| vec![true; t0.numel()]);
        for ((a, b), k) in now[name].to_vec().iter().zip(t0.to_vec()).zip(keep) {
            assert_eq!(a.to_bits(), if k { b.to_bits() } else { 0 }, "{name}");
        }
    }
}

#[test]
fn bad_masks_are_named_errors_and_change_nothing() {
    let mut t = Trainer::new(net(), cfg(OPTIMISERS[0], "")).unwrap();
    let before = bits(t.network());
    let mut wrong = MaskSet::new();
    wrong.insert("0.weight", Mask::ones(&[64, 24]));
    let e = t.set_masks(wrong).unwrap_err().to_string();
    assert!(e.contains("'0.weight'") && e.contains("[64, 24]") && e.contains("[24, 64]"), "{e}");
    let mut unknown = MaskSet::new();
    unknown.insert("9.weight", Mask::ones(&[2]));
    let e = t.set_masks(unknown).unwrap_err().to_string();
    assert!(e.contains("no parameter '9.weight'") && e.contains("0.weight"), "{e}");
    assert!(bits(t.network()) == before && t.masks().is_none());
    // a checkpoint whose masks do not fit the network is refused
    let mut ck = t.checkpoint();
    let mut m = MaskSet::new();
    m.insert("3.weight", Mask::ones(&[3, 3]));
    ck.masks = Some(m);
    let e = t.restore(Path::new("bad.ckpt"), ck).unwrap_err().to_string();
    assert!(e.contains("bad.ckpt") && e.contains("'3.weight'") && e.contains("[3, 3]"), "{e}");
    // masks read from a file must be zeros and ones
    let e = Mask::from_tensor(&Tensor::<f32>::from_vec(vec![1.0, 0.5], &[2]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("entry 1 is 0.5"), "{e}");
}

#[test]
fn masked_training_in_chunks_takes_the_same_steps_as_one_run() {
    // set_max_steps lets an experiment stop, evaluate and continue
    let data = digits();
    let masks = masks_for(&net());
    let mut whole = Trainer::new(net(), cfg(OPTIMISERS[0], "")).unwrap();
    whole.set_masks(masks.clone()).unwrap();
    whole.fit(&data, None).unwrap();
    let mut chunked = Trainer::new(net(), cfg(OPTIMISERS[0], "")).unwrap();
    chunked.set_masks(masks).unwrap();
    let mut stops = 0;
    while chunked.step_count() < whole.step_count() {
        chunked.set_max_steps(Some(chunked.step_count() + 7));
        chunked.fit(&data, None).unwrap();
        stops += 1;
    }
    chunked.set_max_steps(None);
    let outcome = chunked.fit(&data, None).unwrap();
    assert!(outcome.finished && stops > 3);
    assert!(bits(chunked.network()) == bits(whole.network()));
}
