//! [`NtkMonitor`]: how far the empirical NTK moves during training, and whether it moves
//! towards the task.
//!
//! On a fixed probe batch `X` (`N` inputs) the monitor computes the trace kernel
//! `K_t = sum_k Theta_{kk}(X, X)` `(N, N)` of the network at step `t` (see
//! [`crate::analysis::network_ntk`]) and reports
//!
//! - `ntk_drift = ||K_t - K_0||_F / ||K_0||_F`, the relative kernel change since the first
//!   observation (0 there). In the lazy regime of wide networks in the NTK parameterisation
//!   it stays `O(1/sqrt(width))` (Jacot et al. 2018; Lee et al. 2019); finite networks
//!   trained with large steps move it by `O(1)` (feature learning);
//! - `ntk_alignment = <K_t, Y Y^T>_F / (||K_t||_F ||Y Y^T||_F)`, the kernel-target alignment
//!   of Cristianini et al. (2002), with `Y` the one-hot labels `(N, C)` (so `Y Y^T` is 1 for
//!   pairs of the same class) or the regression targets. It grows when the kernel learns
//!   the task's structure (Baratin et al. 2021).
//!
//! Both come from dl-ntk's [`dl_ntk::feature_learning`]. The kernel at the first
//! observation is kept as `K_0`; a resumed run that wants the original `K_0` passes it
//! with [`NtkMonitor::with_initial_kernel`].
//!
//! By default the kernel is the Jacobian's ([`crate::analysis::network_ntk`], any
//! network). [`NtkMonitor::layerwise`] switches to [`crate::analysis::layerwise_ntk`] for
//! dense networks: the same kernel, much cheaper at large widths.

use dl_ntk::OutputKernel;
use dl_ntk::feature_learning::{kernel_target_alignment, relative_kernel_change};
use dl_tensor::{Element, Tensor};

use super::monitor::{Monitor, MonitorContext};
use crate::analysis::{AnalysisError, layerwise_ntk, network_ntk};
use crate::data::{Dataset, Targets};
use crate::error::{FrameworkError, Result};

/// Empirical-NTK drift and kernel-target alignment on a probe batch (see the module docs):
/// values `ntk_drift` and `ntk_alignment`.
pub struct NtkMonitor<T: Element> {
    every: u64,
    probe: Dataset<T>,
    targets: Tensor<f64>,
    initial: Option<Tensor<f64>>,
    budget_bytes: usize,
    layerwise: bool,
}

fn framework_error(e: AnalysisError) -> FrameworkError {
    match e {
        AnalysisError::Framework(f) => f,
        other => FrameworkError::DataMismatch(format!("NTK monitor: {other}")),
    }
}

/// The targets as an `(N, C)` matrix: one-hot labels, or the regression targets.
pub fn target_matrix<T: Element>(data: &Dataset<T>) -> Result<Tensor<f64>> {
    let n = data.len();
    Ok(match data.targets() {
        Targets::Classes { labels, num_classes } => {
            let mut y = vec![0.0; n * num_classes];
            for (i, &l) in labels.iter().enumerate() {
                y[i * num_classes + l] = 1.0;
            }
            Tensor::from_vec(y, &[n, *num_classes])?
        }
        Targets::Regression(t) => t.cast::<f64>().reshape(&[n, t.numel() / n.max(1)])?,
    })
}

impl<T: Element> NtkMonitor<T> {
    /// A monitor on `probe`, every `every` steps, holding at most `budget_bytes` of Jacobian.
    pub fn new(probe: Dataset<T>, every: u64, budget_bytes: usize) -> Result<Self> {
        if every == 0 {
            return Err(FrameworkError::config("NtkMonitor.every", "must be positive"));
        }
        if probe.len() < 2 {
            return Err(FrameworkError::DataMismatch(format!(
                "the NTK monitor needs a probe batch of at least 2 inputs, got {}",
                probe.len()
            )));
        }
        let targets = target_matrix(&probe)?;
        Ok(NtkMonitor { every, probe, targets, initial: None, budget_bytes, layerwise: false })
    }

    /// Computes the kernel layer by layer ([`layerwise_ntk`]); the network must be dense
    /// (an error at the first observation otherwise).
    pub fn layerwise(mut self) -> Self {
        self.layerwise = true;
        self
    }

    /// Uses `k0` `(N, N)` as the kernel at initialisation instead of the first observation's.
    pub fn with_initial_kernel(mut self, k0: Tensor<f64>) -> Result<Self> {
        let n = self.probe.len();
        if k0.shape() != [n, n] {
            return Err(FrameworkError::DataMismatch(format!(
                "the initial kernel must be ({n}, {n}) for a probe of {n} inputs, got {:?}",
                k0.shape()
            )));
        }
        self.initial = Some(k0);
        Ok(self)
    }

    /// The kernel at initialisation (after the first observation).
    pub fn initial_kernel(&self) -> Option<&Tensor<f64>> {
        self.initial.as_ref()
    }

    /// The probe batch.
    pub fn probe(&self) -> &Dataset<T> {
        &self.probe
    }

    /// `(N, C)` targets of the alignment.
    pub fn targets(&self) -> &Tensor<f64> {
        &self.targets
    }
}

impl<T: Element> Monitor<T> for NtkMonitor<T> {
    fn name(&self) -> &str {
        "ntk"
    }
    fn every(&self) -> u64 {
        self.every
    }
    fn observe(&mut self, ctx: &MonitorContext<'_, T>) -> Result<Vec<(String, f64)>> {
        let k = if self.layerwise {
            layerwise_ntk(ctx.network, self.probe.features())
        } else {
            network_ntk(ctx.network, self.probe.features(), OutputKernel::Trace, self.budget_bytes)
        }
        .map_err(framework_error)?;
        let k0 = self.initial.get_or_insert_with(|| k.clone());
        let ntk = |e: dl_ntk::NtkError| framework_error(e.into());
        let drift = relative_kernel_change(k0, &k).map_err(ntk)?;
        let alignment = kernel_target_alignment(&k, &self.targets).map_err(ntk)?;
        Ok(vec![("ntk_drift".into(), drift), ("ntk_alignment".into(), alignment)])
    }
}
