//! Running statistics: the buffers `running_mean`, `running_var`, `num_batches_tracked`
//! and PyTorch's update rule.
//!
//! After each training step with batch mean `mu_B` and biased variance `var_B` over `m`
//! values per channel,
//!
//! ```text
//! running_mean <- (1 - f) running_mean + f mu_B
//! running_var  <- (1 - f) running_var  + f var_B m / (m - 1)      (the unbiased variance)
//! ```
//!
//! with `f = momentum` (PyTorch's default 0.1), or `f = 1 / num_batches_tracked` when the
//! momentum is `None` (a cumulative average of every batch seen). The buffers start at mean
//! 0, variance 1 and count 0, so evaluation before any training step normalises with
//! `(x - 0) / sqrt(1 + eps)`.

use dl_layers::{LayerError, Param, Result, join_name};
use dl_tensor::{Element, Tensor, cst};

/// The running mean and variance of a layer, with their update count.
pub struct RunningStats<T: Element> {
    /// The running mean per channel (initially 0), a buffer, not trained.
    pub running_mean: Param<T>,
    /// The running *unbiased* variance per channel (initially 1), a buffer, not trained.
    pub running_var: Param<T>,
    /// The number of training steps seen (a 0-d tensor, like PyTorch's int64 buffer).
    pub num_batches_tracked: Param<T>,
    /// The weight of a new batch, or `None` for a cumulative average.
    pub momentum: Option<f64>,
}

fn buffer<T: Element>(value: Tensor<T>) -> Param<T> {
    let p = Param::new(value);
    p.set_requires_grad(false);
    p
}

impl<T: Element> RunningStats<T> {
    /// Mean 0, variance 1, count 0 for `channels` channels. `layer` names the caller if
    /// the momentum is not in `[0, 1]`.
    pub fn new(layer: &str, channels: usize, momentum: Option<f64>) -> Result<Self> {
        check_momentum(layer, momentum)?;
        Ok(RunningStats {
            running_mean: buffer(Tensor::zeros(&[channels])),
            running_var: buffer(Tensor::ones(&[channels])),
            num_batches_tracked: buffer(Tensor::zeros(&[])),
            momentum,
        })
    }

    /// Given running statistics (count 0), each of shape `(channels)`; `layer` names the
    /// caller in errors ([`LayerError::ParamShape`] for a shape, a configuration error for
    /// the momentum).
    pub fn from_tensors(layer: &str, mean: Tensor<T>, var: Tensor<T>, momentum: Option<f64>) -> Result<Self> {
        check_momentum(layer, momentum)?;
        if mean.ndim() != 1 {
            return Err(LayerError::param_shape(layer, "running_mean", "(channels): 1 axis", mean.shape()));
        }
        if var.shape() != mean.shape() {
            return Err(LayerError::param_shape(layer, "running_var", format!("{:?}", mean.shape()), var.shape()));
        }
        Ok(RunningStats {
            running_mean: buffer(mean),
            running_var: buffer(var),
            num_batches_tracked: buffer(Tensor::zeros(&[])),
            momentum,
        })
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.running_mean.shape()[0]
    }

    /// Sets the momentum, keeping the statistics (loaded or accumulated so far).
    pub fn set_momentum(&mut self, layer: &str, momentum: Option<f64>) -> Result<()> {
        check_momentum(layer, momentum)?;
        self.momentum = momentum;
        Ok(())
    }

    /// The current running mean and variance.
    pub fn values(&self) -> (Vec<T>, Vec<T>) {
        (self.running_mean.value().to_vec(), self.running_var.value().to_vec())
    }

    /// Folds in one batch: its mean and *biased* variance over `count` values per channel
    /// (the variance is made unbiased here, so `count` must be at least 2). `layer` names
    /// the caller in errors.
    pub fn update(&self, layer: &str, batch_mean: &[T], batch_var: &[T], count: usize) -> Result<()> {
        let channels = self.running_mean.shape()[0];
        if count < 2 || batch_mean.len() != channels || batch_var.len() != channels {
            let detail = format!(
                "running statistics need a mean and a variance per channel ({channels}) over at least 2 values, got {} means, {} variances over {count} values",
                batch_mean.len(),
                batch_var.len()
            );
            return Err(LayerError::config(layer, detail));
        }
        let steps = self.num_batches_tracked.value().to_vec().first().copied().unwrap_or_else(T::zero) + T::one();
        self.num_batches_tracked.update(|t| *t = Tensor::scalar(steps));
        let f: T = match self.momentum {
            Some(f) => cst(f),
            None => T::one() / steps,
        };
        let unbias: T = cst(count as f64 / (count as f64 - 1.0));
        self.running_mean.update(|t| {
            for (r, &b) in t.array_mut().iter_mut().zip(batch_mean) {
                *r = (T::one() - f) * *r + f * b;
            }
        });
        self.running_var.update(|t| {
            for (r, &b) in t.array_mut().iter_mut().zip(batch_var) {
                *r = (T::one() - f) * *r + f * b * unbias;
            }
        });
        Ok(())
    }

    /// Visits the three buffers under PyTorch's names.
    pub fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        f(&join_name(prefix, "running_mean"), &self.running_mean);
        f(&join_name(prefix, "running_var"), &self.running_var);
        f(&join_name(prefix, "num_batches_tracked"), &self.num_batches_tracked);
    }
}

fn check_momentum(layer: &str, momentum: Option<f64>) -> Result<()> {
    match momentum {
        Some(f) if !(0.0..=1.0).contains(&f) => {
            Err(LayerError::config(layer, format!("the momentum must be in [0, 1], got {f}")))
        }
        _ => Ok(()),
    }
}

/// Checks a channel count (at least 1) for `layer`.
pub(crate) fn check_channels(layer: &str, what: &str, channels: usize) -> Result<()> {
    if channels == 0 {
        return Err(LayerError::config(layer, format!("{what} must be at least 1, got 0")));
    }
    Ok(())
}

/// Checks a normalised shape (non-empty, no zero extent) for `layer`.
pub(crate) fn check_normalized_shape(layer: &str, shape: &[usize]) -> Result<()> {
    if shape.is_empty() || shape.contains(&0) {
        return Err(LayerError::config(
            layer,
            format!("the normalised shape must be non-empty with every extent at least 1, got {shape:?}"),
        ));
    }
    Ok(())
}

/// An affine pair `(weight, bias)` given as tensors: both of one shape, the weight's,
/// which must be `expected` when given. Returns the parameters.
pub(crate) fn affine_from_tensors<T: Element>(
    layer: &str,
    weight: Tensor<T>,
    bias: Tensor<T>,
    expected: Option<&[usize]>,
) -> Result<(Param<T>, Param<T>)> {
    if let Some(e) = expected
        && weight.shape() != e
    {
        return Err(LayerError::param_shape(layer, "weight", format!("{e:?}"), weight.shape()));
    }
    if bias.shape() != weight.shape() {
        return Err(LayerError::param_shape(
            layer,
            "bias",
            format!("{:?} (the weight's)", weight.shape()),
            bias.shape(),
        ));
    }
    Ok((Param::new(weight), Param::new(bias)))
}

/// A fresh trainable parameter filled with `value` (the affine scale 1 and shift 0).
pub(crate) fn filled<T: Element>(shape: &[usize], value: f64) -> Param<T> {
    Param::new(Tensor::full(shape, cst(value)))
}
