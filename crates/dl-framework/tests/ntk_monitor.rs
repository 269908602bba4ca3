//! The NTK monitor against independent computations: the kernel by dl-ntk's naive
//! Jacobian on an f64 copy of the trained network, drift and alignment by direct loops.

use std::collections::BTreeMap;

use dl_framework::data::Dataset;
use dl_framework::train::NtkMonitor;
use dl_framework::{Network, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_ntk::{OutputKernel, empirical_ntk_naive};
use dl_tensor::compare::Tolerance;
use dl_tensor::{Tensor, seeded_rng};
use rand::RngExt;

const NET: &str = r#"{"input_shape": [4], "seed": 1, "layers": [
    {"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 3}]}"#;

fn data(n: usize) -> Dataset<f32> {
    let mut rng = seeded_rng(6);
    let x = Tensor::<f32>::randn(&[n, 4], &mut rng);
    let labels = (0..n).map(|_| rng.random_range(0..3)).collect();
    Dataset::classification(x, labels, 3).unwrap()
}

/// The trace kernel of an f64 copy of `net` on `x`, by dl-ntk's naive Jacobian.
fn reference_kernel(net: &Network<f32>, x: &Tensor<f32>) -> Vec<f64> {
    let copy = NetworkConfig::from_json(NET).unwrap().build::<f64>().unwrap();
    let state: BTreeMap<String, Tensor<f64>> = net.state_dict().into_iter().map(|(k, v)| (k, v.cast())).collect();
    copy.load_state_dict(&state).unwrap();
    empirical_ntk_naive(&copy, &x.cast(), None, OutputKernel::Trace).unwrap().kernel.to_vec()
}

fn frobenius(a: &[f64]) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F) with Y one-hot: (Y Y^T)_{ij} = [y_i = y_j].
fn alignment_by_loops(k: &[f64], labels: &[usize]) -> f64 {
    let n = labels.len();
    let (mut dot, mut yy) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let same = if labels[i] == labels[j] { 1.0 } else { 0.0 };
            dot += k[i * n + j] * same;
            yy += same;
        }
    }
    dot / (frobenius(k) * yy.sqrt())
}

#[test]
fn drift_is_zero_at_step_zero_and_matches_a_recomputation_later() {
    let train = data(32);
    let probe = data(10);
    let net = NetworkConfig::from_json(NET).unwrap().build::<f32>().unwrap();
    let k0 = reference_kernel(&net, probe.features());
    let cfg =
        TrainConfig::from_json(r#"{"epochs": 100, "batch_size": 8, "optimizer": {"kind": "sgd", "lr": 0.5}}"#).unwrap();
    let mut trainer = Trainer::new(net, cfg).unwrap().with_monitor(NtkMonitor::new(probe.clone(), 6, 1 << 26).unwrap());
    let batches: Vec<Dataset<f32>> =
        (0..4).map(|b| train.subset(&(8 * b..8 * b + 8).collect::<Vec<_>>()).unwrap()).collect();
    for s in 0..13 {
        // the monitor runs before step s's update: at s = 12 it sees 12 updates
        let expected = (s % 6 == 0).then(|| reference_kernel(trainer.network(), probe.features()));
        trainer.train_step(&batches[s % 4]).unwrap();
        let Some(k) = expected else { continue };
        let drift = trainer.history().series("ntk_drift").last().unwrap().1;
        let alignment = trainer.history().series("ntk_alignment").last().unwrap().1;
        let diff: Vec<f64> = k.iter().zip(&k0).map(|(a, b)| a - b).collect();
        let drift_ref = frobenius(&diff) / frobenius(&k0);
        if s == 0 {
            assert_eq!(drift, 0.0);
        } else {
            assert!(drift_ref > 1e-3, "training at lr 0.5 should move the kernel: {drift_ref}");
            // the monitor's kernel is taken in f32 (relative errors ~1e-6 per entry), the
            // reference in f64; the drift is a ratio of norms of O(1) kernels
            assert!(Tolerance::new(1e-3, 1e-5).accepts(drift, drift_ref), "step {s}: {drift} vs {drift_ref}");
        }
        let a_ref = alignment_by_loops(&k, probe.labels().unwrap());
        assert!(Tolerance::new(1e-5, 1e-6).accepts(alignment, a_ref), "step {s}: {alignment} vs {a_ref}");
    }
    assert_eq!(trainer.history().series("ntk_drift").len(), 3);
}

#[test]
fn bad_monitor_arguments_are_errors() {
    assert!(NtkMonitor::new(data(1), 1, 1 << 20).is_err());
    assert!(NtkMonitor::new(data(4), 0, 1 << 20).is_err());
    let m = NtkMonitor::new(data(4), 1, 1 << 20).unwrap();
    let err = m.with_initial_kernel(Tensor::zeros(&[3, 3])).err().unwrap();
    assert!(err.to_string().contains("(4, 4)"), "{err}");
}
