//! The peak memory of a training step, for `docs/PERFORMANCE.md`: the resident set of the
//! process before the network is built (the program and its libraries, the counterpart of
//! the peers' `rss_before_mb`, measured after their imports) and its high-water mark after
//! 20 warm-up and 100 timed steps of the same `Trainer` as `benches/framework.rs`; their
//! difference is what the step itself holds (parameters, activations, gradients, the
//! buffer pool). One case per process, so that each high-water mark is its own:
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo run --release -p dl-benches --example step_memory -- mlp-a
//! # cases: mlp-a (64-256-256-10), mlp-b (784-512-512-10), cnn (the small CNN, batch 64)
//! ```
//!
//! It prints one JSON line with the case, the thread count, the median step time, and the
//! resident set before and at its peak (MB, from `/proc/self/status`: Linux only).

use dl_benches::{SMALL_CNN, mlp_config};
use dl_framework::data::Dataset;
use dl_framework::{NetworkConfig, TrainConfig, Trainer};
use dl_tensor::{Tensor, seeded_rng};
use std::time::Instant;

/// `VmRSS` and `VmHWM` (the resident set now and its high-water mark) in MB.
fn resident_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let field = |name: &str| -> f64 {
        let line =
            status.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} in /proc/self/status"));
        let kb: f64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a size in kB");
        kb / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let case = std::env::args().nth(1).unwrap_or_else(|| "mlp-b".into());
    let (config, example, batch): (String, &[usize], usize) = match case.as_str() {
        "mlp-a" => (mlp_config(&[64, 256, 256, 10]), &[64], 128),
        "mlp-b" => (mlp_config(&[784, 512, 512, 10]), &[784], 128),
        "cnn" => (SMALL_CNN.to_string(), &[3, 32, 32], 64),
        other => {
            eprintln!("unknown case {other:?}: use mlp-a, mlp-b or cnn");
            std::process::exit(2);
        }
    };
    let (before, _) = resident_mb();
    let net = NetworkConfig::from_json(&config).and_then(|c| c.build::<f32>()).expect("a valid configuration");
    let train =
        r#"{"epochs": 1, "batch_size": 128, "log_every": 1000000000, "optimizer": {"kind": "sgd", "lr": 0.01}}"#;
    let cfg = TrainConfig::from_json(train).expect("a valid configuration");
    let mut shape = vec![batch];
    shape.extend_from_slice(example);
    let x = Tensor::randn(&shape, &mut seeded_rng(0));
    let labels = (0..batch).map(|i| (i * 7 + 3) % 10).collect();
    let data = Dataset::classification(x, labels, 10).expect("consistent data");
    let mut trainer = Trainer::new(net, cfg).expect("a valid configuration");
    for _ in 0..20 {
        trainer.train_step(&data).expect("a finite step");
    }
    let mut times: Vec<f64> = (0..100)
        .map(|_| {
            let t = Instant::now();
            trainer.train_step(&data).expect("a finite step");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let (_, peak) = resident_mb();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into());
    println!(
        "{{\"case\": \"{case}\", \"threads\": \"{threads}\", \"median_ms\": {:.3}, \"rss_before_mb\": {before:.1}, \"peak_rss_mb\": {peak:.1}, \"step_mb\": {:.1}}}",
        times[50],
        peak - before
    );
}
