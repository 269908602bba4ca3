//! Train a network described by two JSON files on the 8x8 digits, write checkpoints,
//! stop half-way, and resume from the checkpoint in a fresh process-like trainer: the
//! resumed run ends with exactly the parameters of an uninterrupted one.
//!
//! ```text
//! cargo run -p dl-framework --example train_from_config -- \
//!     crates/dl-framework/examples/configs/digits_mlp.json \
//!     crates/dl-framework/examples/configs/digits_train.json /tmp/digits-run
//! ```
//!
//! Without arguments it uses the two files in `examples/configs/` and a temporary folder.
//! The output folder receives `checkpoint.ckpt`, `history.json` and `history.csv`.

use std::path::{Path, PathBuf};

use dl_framework::data::{Dataset, Standardizer, digits_split};
use dl_framework::{Module, NetworkConfig, Result, TrainConfig, Trainer};

/// What the example measured.
#[derive(Debug)]
pub struct Summary {
    /// Steps of the first, interrupted run.
    pub steps_before_resume: u64,
    /// Steps in all after resuming.
    pub steps: u64,
    /// Test accuracy of the resumed run.
    pub test_accuracy: f64,
    /// The resumed run's parameters, as bits.
    pub resumed_bits: Vec<u32>,
    /// An uninterrupted run's parameters, as bits.
    pub uninterrupted_bits: Vec<u32>,
    /// The number of parameters.
    pub parameters: usize,
}

fn digits() -> Result<(Dataset<f32>, Dataset<f32>)> {
    let split = digits_split::<f32>(0.25, 0)?;
    let scaler = Standardizer::fit(split.train.features())?;
    Ok((scaler.apply(&split.train)?, scaler.apply(&split.test)?))
}

fn bits(net: &impl Module<f32>) -> Vec<u32> {
    net.parameters().iter().flat_map(|p| p.param.value().to_vec()).map(f32::to_bits).collect()
}

/// Trains from `network` and `training` (JSON files) into `out`: first up to half the
/// steps (`max_steps`), then a new trainer resumes from `out/checkpoint.ckpt` and finishes.
pub fn run(network: &Path, training: &Path, out: &Path) -> Result<Summary> {
    let (train, test) = digits()?;
    let net_cfg = NetworkConfig::from_file(network)?;
    let mut cfg = TrainConfig::from_file(training)?;
    cfg.output_dir = Some(out.to_path_buf());
    let per_epoch = train.len().div_ceil(cfg.batch_size) as u64;
    let total = per_epoch * cfg.epochs as u64;

    // the uninterrupted run, for comparison
    let mut whole = Trainer::new(net_cfg.build::<f32>()?, TrainConfig { output_dir: None, ..cfg.clone() })?;
    whole.fit(&train, Some(&test))?;

    // the first half: stops after max_steps, leaving a checkpoint in `out`
    let mut first = Trainer::new(net_cfg.build::<f32>()?, TrainConfig { max_steps: Some(total / 2), ..cfg.clone() })?;
    let stopped = first.fit(&train, Some(&test))?;
    let checkpoint = first.checkpoint_path().expect("output_dir is set");

    // the second half: a fresh network and trainer, resumed from the file
    let mut second = Trainer::new(net_cfg.build::<f32>()?, cfg)?;
    second.resume(&checkpoint)?;
    let done = second.fit(&train, Some(&test))?;
    let (_, test_accuracy) = second.evaluate(&test)?;
    Ok(Summary {
        steps_before_resume: stopped.steps,
        steps: done.steps,
        test_accuracy,
        resumed_bits: bits(second.network()),
        uninterrupted_bits: bits(whole.network()),
        parameters: second.network().num_parameters(),
    })
}

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/configs");
    let network = args.first().cloned().unwrap_or_else(|| configs.join("digits_mlp.json"));
    let training = args.get(1).cloned().unwrap_or_else(|| configs.join("digits_train.json"));
    let out = args.get(2).cloned().unwrap_or_else(|| std::env::temp_dir().join("dl-framework-train-from-config"));
    let s = run(&network, &training, &out)?;
    println!("{} parameters; stopped after {} steps, resumed to {}", s.parameters, s.steps_before_resume, s.steps);
    println!("test accuracy {:.4}", s.test_accuracy);
    println!("resumed run identical to the uninterrupted one: {}", s.resumed_bits == s.uninterrupted_bits);
    println!("checkpoint and history in {}", out.display());
    Ok(())
}
