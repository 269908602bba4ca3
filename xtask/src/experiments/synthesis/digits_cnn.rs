//! `digits-cnn`: a small CNN trained from a JSON configuration on the 8x8 digits (as
//! `1 x 8 x 8` images), with the same monitors as `digits-mlp`: learning curves, gradient
//! norms, activation statistics and sharpness.
//!
//! Architecture: two 3x3 convolutions (32 and 64 channels, `same` padding, ReLU), 2x2 max
//! pooling, dropout, a 128-unit hidden layer and the 10-way readout. Same split and
//! standardisation as `digits-mlp` (50/50 by class); the issue asks for at least 98% test
//! accuracy at full size (an RBF SVM reaches 98.7% on such splits). The test set is
//! evaluated after each epoch for the curves only; nothing is selected on it.
//!
//! Claim, over replicate seeds (3 at full size; each draws the split, the network and the
//! shuffling): the test accuracy reaches 98% (the issue's target; an RBF SVM reaches 98.7%);
//! partly from 97%.

use dl_framework::History;
use serde_json::json;

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::Experiment;
use crate::experiments::synthesis::digits_mlp::{
    MonitorEvery, accuracy_claim, digits_data, learning_curves, monitor_figures, run_scalars, train_replicates,
};
use crate::metrics::{Metrics, num};

/// The small CNN on the digits.
pub struct DigitsCnn;

const NET: &str = r#"{
  "input_shape": [1, 8, 8],
  "seed": 0,
  "layers": [
    {"type": "conv2d", "channels": 32, "kernel_size": 3, "padding": 1, "activation": "relu"},
    {"type": "conv2d", "channels": 64, "kernel_size": 3, "padding": 1, "activation": "relu"},
    {"type": "max_pool2d", "kernel_size": 2},
    {"type": "dropout", "p": 0.25},
    {"type": "flatten"},
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dropout", "p": 0.3},
    {"type": "dense", "units": 10}
  ]
}"#;

impl Experiment for DigitsCnn {
    fn id(&self) -> &'static str {
        "digits-cnn"
    }
    fn title(&self) -> &'static str {
        "A small CNN on the 8x8 digits from a JSON configuration: learning curves and monitors"
    }
    fn section(&self) -> &'static str {
        "11 synthesis"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let seeds = ctx.replicate_seeds(size.pick(1, 3));
        let epochs = size.pick(2, 40);
        let train_json = |train_len: usize, seed: u64| {
            json!({
                "epochs": epochs, "batch_size": 32, "seed": seed,
                "optimizer": {"kind": "adam", "lr": 1e-3, "weight_decay": 1e-4},
                "schedule": {"kind": "cosine", "t_max": epochs * train_len.div_ceil(32), "eta_min": 0.0},
                "loss": {"kind": "cross_entropy", "label_smoothing": 0.1}
            })
            .to_string()
        };
        let (train, test) = digits_data(size, ctx.seed(), 256, 200)?;
        let mut m = Metrics::new();
        m.config("network", serde_json::from_str::<serde_json::Value>(NET).expect("valid JSON"));
        m.config(
            "training",
            serde_json::from_str::<serde_json::Value>(&train_json(train.len(), ctx.seed())).expect("valid JSON"),
        );
        m.config("train_examples", train.len());
        m.config("test_examples", test.len());
        m.config("replicate_seeds", json!(seeds));
        m.config(
            "seeds",
            "each replicate seed draws the split, the network (its configuration's seed) and the shuffling",
        );
        ctx.message("training");
        let every = MonitorEvery { stats: size.pick(2, 20), sharpness: size.pick(4, 100) };
        let runs = train_replicates(ctx, NET, train_json, &seeds, true, every)?;
        run_scalars(&mut m, "", &runs[0]);
        m.scalar_value("reference_rbf_svm_accuracy", num(0.987));
        accuracy_claim(
            &mut m,
            "reaches-reference-accuracy",
            "a small CNN (two 3x3 convolutions, max pooling, dropout) reaches at least 98% test accuracy on a 50/50 \
             split of the 8x8 digits",
            "the issue's target 98%; an RBF SVM reaches 98.7% on such splits (scikit-learn)",
            &runs,
            0.98,
            0.97,
        )?;
        let histories: Vec<&History> = runs.iter().map(|t| &t.history).collect();
        learning_curves(ctx, "cnn", "CNN on digits", &histories, size.pick(2, 28))?;
        monitor_figures(ctx, "cnn", "CNN on digits", &runs[0].history, None)?;
        Ok(m)
    }
}
