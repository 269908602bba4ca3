//! Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
//! decay, as `torch.optim.SGD`:
//!
//! ```text
//! g = grad + wd * p
//! b = g                                   (first step)
//! b = mu * b + (1 - dampening) * g        (later steps)
//! g = g + mu * b   (Nesterov)   or   g = b   (classical momentum)
//! p = p - lr * g
//! ```

use dl_tensor::{Element, cst};
use serde::{Deserialize, Serialize};

use super::{Buffers, OptimError, Optimizer, OptimizerState, Param, check_range, check_shapes, slices};

/// Hyperparameters of [`Sgd`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SgdConfig {
    /// Learning rate lr ≥ 0; default 0.01.
    pub lr: f64,
    /// Momentum μ ∈ [0, 1] of the buffer b (0: plain SGD); default 0.
    pub momentum: f64,
    /// Dampening ∈ [0, 1]: the momentum buffer adds (1 − dampening) g; default 0.
    pub dampening: f64,
    /// Nesterov momentum (step along g + μ b); needs momentum > 0 and dampening 0; default false.
    pub nesterov: bool,
    /// L2 weight decay wd ≥ 0 (`g += wd p`); default 0.
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { lr: 0.01, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }
}

/// SGD, optionally with (Nesterov) momentum.
#[derive(Clone, Debug)]
pub struct Sgd<T: Element> {
    cfg: SgdConfig,
    buffers: Buffers<T>,
}

impl<T: Element> Sgd<T> {
    /// Validates the hyperparameters.
    pub fn new(cfg: SgdConfig) -> Result<Self, OptimError> {
        check_range("lr", cfg.lr, 0.0, f64::MAX, "must be a finite non-negative number")?;
        check_range("momentum", cfg.momentum, 0.0, 1.0, "must lie in [0, 1]")?;
        check_range("dampening", cfg.dampening, 0.0, 1.0, "must lie in [0, 1]")?;
        check_range("weight_decay", cfg.weight_decay, 0.0, f64::MAX, "must be non-negative")?;
        if cfg.nesterov && (cfg.momentum <= 0.0 || cfg.dampening != 0.0) {
            return Err(OptimError::Hyperparameter {
                field: "nesterov",
                value: cfg.momentum,
                reason: "Nesterov momentum needs momentum > 0 and zero dampening",
            });
        }
        Ok(Sgd { cfg, buffers: Buffers::new(vec!["momentum"]) })
    }
}

impl<T: Element> Optimizer<T> for Sgd<T> {
    fn step(&mut self, params: &mut [Param<'_, T>]) -> Result<(), OptimError> {
        params.iter().try_for_each(check_shapes)?;
        let (mu, wd): (T, T) = (cst(self.cfg.momentum), cst(self.cfg.weight_decay));
        let damp: T = cst(1.0 - self.cfg.dampening);
        for p in params.iter_mut() {
            let lr: T = cst(self.cfg.lr * p.lr_scale);
            let (v, mut g) = slices(p.value, p.grad);
            if self.cfg.weight_decay != 0.0 {
                g.to_mut().iter_mut().zip(v.iter()).for_each(|(g, &x)| *g += wd * x);
            }
            if self.cfg.momentum != 0.0 {
                let (slots, fresh) = self.buffers.slots(p.name, p.grad.shape());
                for (bi, gi) in slots[0].iter_mut().zip(g.to_mut().iter_mut()) {
                    *bi = if fresh { *gi } else { mu * *bi + damp * *gi };
                    *gi = if self.cfg.nesterov { *gi + mu * *bi } else { *bi };
                }
            }
            v.iter_mut().zip(g.iter()).for_each(|(x, &g)| *x -= lr * g);
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
