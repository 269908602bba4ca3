//! Batch normalisation (Ioffe and Szegedy, 2015): per channel, over the batch and the
//! spatial axes.
//!
//! ```text
//! y = gamma_c (x - mu_c) / sqrt(var_c + eps) + beta_c
//! ```
//!
//! In training mode `mu_c`, `var_c` are the batch mean and biased variance over the `m`
//! values of channel `c` (the [`Normalize`](crate::primitive::Normalize) primitive with its
//! closed-form backward, scale and shift fused), and the running statistics are updated by
//! PyTorch's rule ([`crate::running`]). In evaluation mode the running statistics are used,
//! and the layer is an affine map per channel. A training batch with one value per channel
//! has no variance: that is an error, as in PyTorch.
//!
//! [`BatchNorm1d`] takes `(N, C)` or `(N, C, L)`, [`BatchNorm2d`] takes `(N, C, H, W)`.

use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module, NormKind, Param, Result, join_name};
use dl_tensor::{Element, Tensor};

use crate::apply::Statistics;
use crate::running::{RunningStats, affine_from_tensors, check_channels, filled};
use crate::spec::Normalizer;

/// Batch norm over inputs with `D` spatial dimensions (`D = 1`: `(N, C)` or `(N, C, L)`;
/// `D = 2`: `(N, C, H, W)`).
pub struct BatchNorm<T: Element, const D: usize> {
    /// The number of channels `C` (axis 1 of the input), one statistic each.
    pub num_features: usize,
    /// `eps`, added to the variance before the square root (numerical stability).
    pub eps: f64,
    /// `(weight, bias)`: the per-channel scale `gamma` (initially 1) and shift `beta` (0).
    pub affine: Option<(Param<T>, Param<T>)>,
    /// `None` when the layer does not track running statistics (it then always uses batch
    /// statistics, like PyTorch's `track_running_stats=False`).
    pub running: Option<RunningStats<T>>,
    training: bool,
}

/// Batch norm for `(N, C)` and `(N, C, L)` inputs.
pub type BatchNorm1d<T> = BatchNorm<T, 1>;
/// Batch norm for `(N, C, H, W)` inputs.
pub type BatchNorm2d<T> = BatchNorm<T, 2>;

impl<T: Element, const D: usize> BatchNorm<T, D> {
    /// PyTorch's defaults: `eps = 1e-5`, momentum 0.1, affine, tracking running statistics.
    /// Zero features is an error.
    pub fn new(num_features: usize) -> Result<Self> {
        let name = format!("BatchNorm{D}d({num_features})");
        check_channels(&name, "num_features", num_features)?;
        let running = RunningStats::new(&name, num_features, Some(0.1))?;
        let affine = Some((filled(&[num_features], 1.0), filled(&[num_features], 0.0)));
        Ok(BatchNorm { num_features, eps: 1e-5, affine, running: Some(running), training: true })
    }

    /// A layer with the given affine `(weight, bias)` and running statistics `(mean, var)`,
    /// each `(num_features)` (`None`: without affine, or without running statistics);
    /// `num_features` comes from the first given tensor. `eps = 1e-5`, momentum 0.1, count
    /// 0. A wrong shape is a [`LayerError::ParamShape`] naming the parameter and both shapes.
    ///
    /// ```
    /// use dl_norm::BatchNorm2d;
    /// use dl_tensor::Tensor;
    /// let bn = BatchNorm2d::<f32>::from_tensors(
    ///     Some((Tensor::ones(&[4]), Tensor::zeros(&[4]))),
    ///     Some((Tensor::zeros(&[4]), Tensor::ones(&[4]))),
    /// )?;
    /// assert_eq!(bn.num_features, 4);
    /// let err = BatchNorm2d::<f32>::from_tensors(Some((Tensor::ones(&[4]), Tensor::zeros(&[3]))), None).err().unwrap();
    /// assert_eq!(err.to_string(), "BatchNorm2d(4): parameter bias must have shape [4] (the weight's), got [3]");
    /// # Ok::<(), dl_layers::LayerError>(())
    /// ```
    pub fn from_tensors(
        affine: Option<(Tensor<T>, Tensor<T>)>,
        running: Option<(Tensor<T>, Tensor<T>)>,
    ) -> Result<Self> {
        let first = affine.as_ref().map(|a| &a.0).or(running.as_ref().map(|r| &r.0));
        let Some(first) = first else {
            return Err(LayerError::config(
                format!("BatchNorm{D}d"),
                "from_tensors needs the affine (weight, bias) or the running statistics (mean, var) to know the number of features",
            ));
        };
        let layer = format!("BatchNorm{D}d");
        if first.ndim() != 1 {
            let param = if affine.is_some() { "weight" } else { "running_mean" };
            return Err(LayerError::param_shape(layer, param, "(num_features): 1 axis", first.shape()));
        }
        let num_features = first.shape()[0];
        let name = format!("BatchNorm{D}d({num_features})");
        check_channels(&name, "num_features", num_features)?;
        let affine = affine.map(|(w, b)| affine_from_tensors(&name, w, b, Some(&[num_features]))).transpose()?;
        let running = running
            .map(|(m, v)| {
                if m.shape() != [num_features] {
                    return Err(LayerError::param_shape(&name, "running_mean", format!("[{num_features}]"), m.shape()));
                }
                RunningStats::from_tensors(&name, m, v, Some(0.1))
            })
            .transpose()?;
        Ok(BatchNorm { num_features, eps: 1e-5, affine, running, training: true })
    }

    /// Sets `eps` (checked, with the input, at the first forward pass).
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets the momentum of the running statistics (`None`: cumulative average), keeping
    /// the statistics themselves (for example ones just loaded with `load_state_dict`). A
    /// layer without running statistics has no momentum: that is an error.
    pub fn with_momentum(mut self, momentum: Option<f64>) -> Result<Self> {
        let name = self.describe_name();
        match &mut self.running {
            Some(r) => r.set_momentum(&name, momentum)?,
            None => {
                return Err(LayerError::config(
                    name,
                    "the layer does not track running statistics (without_running_stats), so it has no momentum",
                ));
            }
        }
        Ok(self)
    }
    /// Without the learnable scale and shift.
    pub fn without_affine(mut self) -> Self {
        self.affine = None;
        self
    }
    /// Without running statistics: batch statistics in both modes.
    pub fn without_running_stats(mut self) -> Self {
        self.running = None;
        self
    }

    fn describe_name(&self) -> String {
        format!("BatchNorm{D}d({})", self.num_features)
    }

    fn check_input(&self, shape: &[usize]) -> Result<()> {
        let c = self.num_features;
        let (ok, expected) = match D {
            1 => (matches!(shape.len(), 2 | 3) && shape[1] == c, format!("an input (N, {c}) or (N, {c}, L)")),
            _ => (
                shape.len() == D + 2 && shape[1] == c,
                format!("an input (N, {c}, {}) with {} spatial axes", vec!["_"; D].join(", "), D),
            ),
        };
        if ok { Ok(()) } else { Err(LayerError::layer(self.describe(), expected, shape)) }
    }
}

impl<T: Element, const D: usize> Module<T> for BatchNorm<T, D> {
    fn describe(&self) -> String {
        self.describe_name()
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Norm(NormKind::Batch)
    }

    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        self.check_input(x.shape())?;
        let normalizer = Normalizer::batch_norm(self.eps);
        let affine_vars = self.affine.as_ref().map(|(w, b)| (w.var(), b.var()));
        let affine = affine_vars.as_ref().map(|(w, b)| (w, b));
        let use_batch = self.training || self.running.is_none();
        if !use_batch {
            let running = self.running.as_ref().expect("running statistics in evaluation mode");
            let (mean, var) = running.values();
            return Ok(normalizer
                .apply(&self.describe(), x, Statistics::Given { mean: &mean, var: &var }, affine)?
                .output);
        }
        let count = x.value().numel() / self.num_features.max(1);
        if count == 1 {
            let expected = "more than 1 value per channel when training (the batch variance is undefined)";
            return Err(LayerError::layer(self.describe(), expected, x.shape()));
        }
        let out = normalizer.apply(&self.describe(), x, Statistics::Batch, affine)?;
        if self.training
            && let (Some(running), Some(batch)) = (&self.running, &out.batch)
        {
            running.update(&self.describe(), &batch.mean, &batch.var, out.plan.view.count())?;
        }
        Ok(out.output)
    }

    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        if let Some((w, b)) = &self.affine {
            f(&join_name(prefix, "weight"), w);
            f(&join_name(prefix, "bias"), b);
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        if let Some(r) = &self.running {
            r.visit(prefix, f);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
