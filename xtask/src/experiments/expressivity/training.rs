//! Training for the expressivity experiments: mean-squared-error regression of any
//! dl-layers module with dl-framework's Adam (the framework's `Trainer` trains classifiers;
//! the sawtooth and the compositional functions are regression targets), full batch or on
//! seeded minibatches, and the error-conversion helpers the section shares.

use dl_autodiff::Var;
use dl_framework::optim::{Adam, AdamConfig, Optimizer, Param};
use dl_layers::{Module, commit_step, mse, parameters_for_step};
use dl_tensor::{Tensor, seeded_rng};
use rand::RngExt;

use crate::error::ExperimentError;

/// How a regression is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regression {
    /// Adam steps.
    pub steps: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Minibatch size (`None`: the full batch every step).
    pub batch: Option<usize>,
    /// Seed of the minibatch draws.
    pub seed: u64,
}

/// Any displayable error as an experiment error.
pub fn invalid(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Invalid(e.to_string())
}

/// A batch `(x (B, ...), y (B, ...))` as the network takes it.
pub type Layout<'a> = &'a dyn Fn(Tensor<f64>, Tensor<f64>) -> Result<(Tensor<f64>, Tensor<f64>), ExperimentError>;

/// The batch as it is: examples along the first axis.
pub fn rows(x: Tensor<f64>, y: Tensor<f64>) -> Result<(Tensor<f64>, Tensor<f64>), ExperimentError> {
    Ok((x, y))
}

/// Trains `net` on `(x, y)` (examples along the first axis; `layout` puts a batch into the
/// network's layout) by Adam on the mean squared error and returns the final full-batch
/// training MSE. Minibatches are drawn with replacement from a generator seeded `cfg.seed`
/// (so the run depends on nothing but its seeds).
pub fn fit_mse(
    net: &dyn Module<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    cfg: Regression,
    layout: Layout<'_>,
) -> Result<f64, ExperimentError> {
    let n = x.shape()[0];
    let mut adam = Adam::<f64>::new(AdamConfig { lr: cfg.lr, ..AdamConfig::default() }).map_err(invalid)?;
    let mut rng = seeded_rng(cfg.seed);
    for _ in 0..cfg.steps {
        let (xb, yb) = match cfg.batch {
            Some(b) if b < n => {
                let idx: Vec<usize> = (0..b).map(|_| rng.random_range(0..n)).collect();
                (x.index_select(0, &idx)?, y.index_select(0, &idx)?)
            }
            _ => (x.clone(), y.clone()),
        };
        let (xb, yb) = layout(xb, yb)?;
        let loss = mse(&net.forward(&Var::constant(xb))?, &Var::constant(yb))?;
        let grads = loss.backward()?;
        drop(loss);
        let mut step = parameters_for_step(net, &grads);
        drop(grads);
        let stepped = {
            let mut ps: Vec<Param<'_, f64>> =
                step.iter_mut().map(|p| Param::new(&p.name, &mut p.value, &p.grad)).collect();
            adam.step(&mut ps)
        };
        commit_step(step)?;
        stepped.map_err(invalid)?;
    }
    let (x, y) = layout(x.clone(), y.clone())?;
    let pred = dl_autodiff::no_grad(|| net.forward(&Var::constant(x)))?;
    Ok(mse(&pred, &Var::constant(y))?.value().item()?)
}

/// Mean and sample standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let s =
        if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt() } else { 0.0 };
    (m, s)
}

/// The least-squares slope of `y` against `x`.
pub fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}
