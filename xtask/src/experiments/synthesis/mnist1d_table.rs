//! `mnist1d-table`: the table of Greydanus (2020), "Scaling down deep learning" (MNIST-1D):
//! logistic regression, an MLP, a CNN and a GRU trained on the 4000 MNIST-1D training
//! sequences and tested on the 1000 test sequences. Published test accuracies: logistic
//! regression 32%, MLP 68%, CNN 94%, GRU 91%.
//!
//! The architectures are the paper's (`mnist1d/models.py`): the MLP 40-100-100-10 with
//! ReLU; the CNN three 1-D convolutions of 25 channels (kernel 5 then 3, stride 2,
//! padding 1, ReLU; 40 -> 19 -> 10 -> 5 positions) and a linear readout from 125 features;
//! the GRU bidirectional with 6 hidden units over the 40 steps of one feature, every step's
//! output (40 x 12 = 480) flattened into a linear readout. Every model is built from a JSON
//! configuration.
//!
//! Training follows the paper's recipe: Adam at learning rate 1e-2, minibatches of 100,
//! 6000 steps (150 epochs), here with a cosine decay of the learning rate. For the CNN and
//! the GRU, which overfit under it, decoupled weight decay 0.05 (AdamW) and label smoothing
//! 0.1 are added (the configurations are in `metrics.json`). Test accuracy is measured
//! once, after the last step; the test curve in the figures is recorded for plotting only.

use dl_framework::data::{Dataset, load_mnist1d};
use serde_json::{Value, json};

use crate::context::RunContext;
use crate::error::ExperimentError;
use crate::experiment::{Experiment, Size};
use crate::experiments::synthesis::digits_mlp::{Trained, fw, points, train_from_json};
use crate::metrics::{Metrics, num};
use crate::plot::{LineChart, Scale, SeriesKind};

/// Greydanus (2020)'s table on MNIST-1D.
pub struct Mnist1dTable;

/// One row of the table: name, per-example input shape, network layers, whether the
/// regularised recipe is used, and the published accuracy.
struct Model {
    name: &'static str,
    input_shape: &'static [usize],
    layers: &'static str,
    regularised: bool,
    published: f64,
}

const MODELS: [Model; 4] = [
    Model {
        name: "logistic regression",
        input_shape: &[40],
        layers: r#"[{"type": "dense", "units": 10}]"#,
        regularised: false,
        published: 0.32,
    },
    Model {
        name: "MLP",
        input_shape: &[40],
        layers: r#"[{"type": "dense", "units": 100, "activation": "relu"}, {"type": "dense", "units": 100, "activation": "relu"},
                    {"type": "dense", "units": 10}]"#,
        regularised: false,
        published: 0.68,
    },
    Model {
        name: "CNN",
        input_shape: &[1, 40],
        layers: r#"[{"type": "conv1d", "channels": 25, "kernel_size": 5, "stride": 2, "padding": 1, "activation": "relu"},
                    {"type": "conv1d", "channels": 25, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "relu"},
                    {"type": "conv1d", "channels": 25, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "relu"},
                    {"type": "flatten"}, {"type": "dense", "units": 10}]"#,
        regularised: true,
        published: 0.94,
    },
    Model {
        name: "GRU",
        input_shape: &[40, 1],
        layers: r#"[{"type": "recurrent", "cell": "gru", "hidden_size": 6, "bidirectional": true},
                    {"type": "flatten"}, {"type": "dense", "units": 10}]"#,
        regularised: true,
        published: 0.91,
    },
];

/// `data` with its (N, 40) features reshaped to (N, ...shape).
fn shaped(data: &Dataset<f32>, shape: &[usize]) -> Result<Dataset<f32>, ExperimentError> {
    let mut full = vec![data.len()];
    full.extend_from_slice(shape);
    data.with_features(data.features().reshape(&full)?).map_err(|e| fw(e.into()))
}

impl Experiment for Mnist1dTable {
    fn id(&self) -> &'static str {
        "mnist1d-table"
    }
    fn title(&self) -> &'static str {
        "MNIST-1D: logistic regression, MLP, CNN and GRU against the table of Greydanus (2020)"
    }
    fn section(&self) -> &'static str {
        "11 synthesis"
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let size = ctx.size();
        let data = load_mnist1d::<f32>().map_err(|e| fw(e.into()))?;
        let (train, test) = match size {
            Size::Full => (data.train, data.test),
            Size::Quick => {
                let take = |d: &Dataset<f32>, n: usize| d.subset(&(0..n).collect::<Vec<_>>()).map_err(|e| fw(e.into()));
                (take(&data.train, 400)?, take(&data.test, 200)?)
            }
        };
        let epochs = size.pick(2, 150);
        let steps = epochs * train.len().div_ceil(100);
        let mut m = Metrics::new();
        m.config("train_examples", train.len());
        m.config("test_examples", test.len());
        m.table("results", &["model", "parameters", "steps", "test_accuracy", "published_accuracy"]);
        let mut acc_chart = LineChart::new("MNIST-1D: test accuracy during training", "step", "test accuracy");
        let mut loss_chart = LineChart::new("MNIST-1D: training loss (minibatch, smoothed)", "step", "cross-entropy")
            .scales(Scale::Linear, Scale::Log10);
        for (i, model) in MODELS.iter().enumerate() {
            ctx.message(model.name);
            let net = json!({"input_shape": model.input_shape, "seed": ctx.seed(), "layers": serde_json::from_str::<Value>(model.layers).expect("valid JSON")});
            let (opt, loss) = if model.regularised {
                (
                    json!({"kind": "adam", "lr": 1e-2, "weight_decay": 0.05, "decoupled_weight_decay": true}),
                    json!({"kind": "cross_entropy", "label_smoothing": 0.1}),
                )
            } else {
                (json!({"kind": "adam", "lr": 1e-2}), json!({"kind": "cross_entropy", "label_smoothing": 0.0}))
            };
            let training = json!({
                "epochs": epochs, "batch_size": 100, "seed": ctx.seed(), "optimizer": opt, "loss": loss,
                "schedule": {"kind": "cosine", "t_max": steps, "eta_min": 0.0}
            });
            let key = model.name.to_lowercase().replace(' ', "_");
            m.config(&format!("{key}_network"), net.clone());
            m.config(&format!("{key}_training"), training.clone());
            let (tr, te) = (shaped(&train, model.input_shape)?, shaped(&test, model.input_shape)?);
            let t: Trained = train_from_json(&net.to_string(), &training.to_string(), &tr, &te, None)?;
            m.push_row(
                "results",
                vec![
                    json!(model.name),
                    json!(t.parameters),
                    json!(t.trainer.step_count()),
                    num(t.test_accuracy),
                    num(model.published),
                ],
            )?;
            m.scalar(&format!("{key}_test_accuracy"), t.test_accuracy);
            let h = t.trainer.history();
            acc_chart.add(model.name, SeriesKind::Line, i, points(h, "val_accuracy"));
            loss_chart.add(
                model.name,
                SeriesKind::Line,
                i,
                crate::experiments::synthesis::digits_mlp::smooth(&points(h, "train_loss"), size.pick(2, 40)),
            );
            ctx.progress(i as u64 + 1, MODELS.len() as u64);
        }
        ctx.figure("test_accuracy", &acc_chart)?;
        ctx.figure("train_loss", &loss_chart)?;
        Ok(m)
    }
}
