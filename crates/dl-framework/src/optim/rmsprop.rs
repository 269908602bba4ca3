//! RMSprop (Tieleman & Hinton 2012), as `torch.optim.RMSprop`:
//!
//! ```text
//! g = grad + wd * p
//! v = a * v + (1 - a) * g^2
//! centred:  gbar = a * gbar + (1 - a) * g;   v~ = v - gbar^2      (else v~ = v)
//! momentum: b = mu * b + g / (sqrt(v~) + eps);   p = p - lr * b
//! otherwise: p = p - lr * g / (sqrt(v~) + eps)
//! ```

use dl_tensor::{Element, cst};
use serde::{Deserialize, Serialize};

use super::{Buffers, OptimError, Optimizer, OptimizerState, Param, check_range, check_shapes, slices};

/// Hyperparameters of [`RmsProp`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RmsPropConfig {
    /// Learning rate lr ≥ 0; default 0.01.
    pub lr: f64,
    /// Smoothing constant a ∈ [0, 1] of the squared-gradient average v; default 0.99.
    pub alpha: f64,
    /// ε ≥ 0 added to √v in the denominator; default 1e-8.
    pub eps: f64,
    /// Momentum μ ∈ [0, 1] of the buffer b (0: no momentum buffer); default 0.
    pub momentum: f64,
    /// Centred RMSprop: divide by √(v − ḡ²), an estimate of the gradient's variance; default false.
    pub centered: bool,
    /// L2 weight decay wd ≥ 0 (`g += wd p`); default 0.
    pub weight_decay: f64,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: 0.0, centered: false, weight_decay: 0.0 }
    }
}

/// RMSprop, optionally centred and with momentum.
#[derive(Clone, Debug)]
pub struct RmsProp<T: Element> {
    cfg: RmsPropConfig,
    buffers: Buffers<T>,
}

impl<T: Element> RmsProp<T> {
    /// Validates the hyperparameters.
    pub fn new(cfg: RmsPropConfig) -> Result<Self, OptimError> {
        check_range("lr", cfg.lr, 0.0, f64::MAX, "must be a finite non-negative number")?;
        check_range("alpha", cfg.alpha, 0.0, 1.0, "must lie in [0, 1]")?;
        check_range("eps", cfg.eps, 0.0, f64::MAX, "must be non-negative")?;
        check_range("momentum", cfg.momentum, 0.0, 1.0, "must lie in [0, 1]")?;
        check_range("weight_decay", cfg.weight_decay, 0.0, f64::MAX, "must be non-negative")?;
        let mut keys = vec!["square_avg"];
        if cfg.centered {
            keys.push("grad_avg");
        }
        if cfg.momentum > 0.0 {
            keys.push("momentum");
        }
        Ok(RmsProp { cfg, buffers: Buffers::new(keys) })
    }
}

impl<T: Element> Optimizer<T> for RmsProp<T> {
    fn step(&mut self, params: &mut [Param<'_, T>]) -> Result<(), OptimError> {
        params.iter().try_for_each(check_shapes)?;
        let c = self.cfg;
        let (a, one_a): (T, T) = (cst(c.alpha), cst(1.0 - c.alpha));
        let (eps, wd, mu): (T, T, T) = (cst(c.eps), cst(c.weight_decay), cst(c.momentum));
        for p in params.iter_mut() {
            let lr: T = cst(c.lr * p.lr_scale);
            let (v, mut g) = slices(p.value, p.grad);
            if c.weight_decay != 0.0 {
                g.to_mut().iter_mut().zip(v.iter()).for_each(|(g, &x)| *g += wd * x);
            }
            let (slots, _) = self.buffers.slots(p.name, p.grad.shape());
            let (sq, rest) = slots.split_first_mut().expect("square_avg is always kept");
            let (mut gbar, rest) = match c.centered {
                true => rest.split_first_mut().map(|(a, r)| (Some(a), r)).expect("grad_avg is kept when centred"),
                false => (None, rest),
            };
            let mut buf = rest.first_mut();
            for i in 0..g.len() {
                sq[i] = a * sq[i] + one_a * g[i] * g[i];
                let mut var = sq[i];
                if let Some(gbar) = gbar.as_deref_mut() {
                    gbar[i] = a * gbar[i] + one_a * g[i];
                    var -= gbar[i] * gbar[i];
                }
                let denom = var.sqrt() + eps;
                match buf.as_deref_mut() {
                    Some(b) => {
                        b[i] = mu * b[i] + g[i] / denom;
                        v[i] -= lr * b[i];
                    }
                    None => v[i] -= lr * g[i] / denom,
                }
            }
        }
        self.buffers.step = self.buffers.step.saturating_add(1);
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.cfg.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }
    fn state(&self) -> OptimizerState {
        self.buffers.export()
    }
    fn load_state(&mut self, state: &OptimizerState) -> Result<(), OptimError> {
        self.buffers.import(state)
    }
}
