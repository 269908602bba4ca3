//! Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as `torch.optim.Adam`
//! and `torch.optim.AdamW`:
//!
//! ```text
//! p = p * (1 - lr * wd)                  (AdamW: decoupled decay)   or   g = g + wd * p (Adam: L2)
//! m = b1 * m + (1 - b1) * g
//! v = b2 * v + (1 - b2) * g^2
//! p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//! ```

use dl_tensor::{Element, cst};
use serde::{Deserialize, Serialize};

use super::{Buffers, OptimError, Optimizer, OptimizerState, Param, check_range, check_shapes, slices};

/// Hyperparameters of [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    /// Learning rate (step size) lr ≥ 0; default 1e-3.
    pub lr: f64,
    /// Decay β₁ ∈ [0, 1) of the first-moment average m; default 0.9.
    pub beta1: f64,
    /// Decay β₂ ∈ [0, 1) of the second-moment average v; default 0.999.
    pub beta2: f64,
    /// ε ≥ 0 added to √v̂ in the denominator; default 1e-8.
    pub eps: f64,
    /// Weight decay wd ≥ 0: the L2 term `g += wd p`, or AdamW's `p *= 1 - lr wd`; default 0.
    pub weight_decay: f64,
    /// AdamW's decoupled weight decay instead of the L2 term.
    pub decoupled_weight_decay: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled_weight_decay: false }
    }
}

impl AdamConfig {
    /// AdamW's defaults (PyTorch): weight decay 0.01, decoupled.
    pub fn adamw() -> Self {
        AdamConfig { weight_decay: 0.01, decoupled_weight_decay: true, ..Self::default() }
    }
}

/// Adam, or AdamW with `decoupled_weight_decay`.
#[derive(Clone, Debug)]
pub struct Adam<T: Element> {
    cfg: AdamConfig,
    buffers: Buffers<T>,
}

impl<T: Element> Adam<T> {
    /// Validates the hyperparameters.
    pub fn new(cfg: AdamConfig) -> Result<Self, OptimError> {
        check_range("lr", cfg.lr, 0.0, f64::MAX, "must be a finite non-negative number")?;
        check_range("beta1", cfg.beta1, 0.0, 1.0 - f64::EPSILON, "must lie in [0, 1)")?;
        check_range("beta2", cfg.beta2, 0.0, 1.0 - f64::EPSILON, "must lie in [0, 1)")?;
        check_range("eps", cfg.eps, 0.0, f64::MAX, "must be non-negative")?;
        check_range("weight_decay", cfg.weight_decay, 0.0, f64::MAX, "must be non-negative")?;
        Ok(Adam { cfg, buffers: Buffers::new(vec!["exp_avg", "exp_avg_sq"]) })
    }
}

impl<T: Element> Optimizer<T> for Adam<T> {
    fn step(&mut self, params: &mut [Param<'_, T>]) -> Result<(), OptimError> {
        params.iter().try_for_each(check_shapes)?;
        self.buffers.step = self.buffers.step.saturating_add(1);
        let c = &self.cfg;
        // beyond i32::MAX steps beta^t is 0 in f64 already
        let t = i32::try_from(self.buffers.step).unwrap_or(i32::MAX);
        let (b1, b2): (T, T) = (cst(c.beta1), cst(c.beta2));
        let (one_b1, one_b2): (T, T) = (cst(1.0 - c.beta1), cst(1.0 - c.beta2));
        let bias1: T = cst(1.0 - c.beta1.powi(t));
        let bias2_sqrt: T = cst((1.0 - c.beta2.powi(t)).sqrt());
        let (eps, wd): (T, T) = (cst(c.eps), cst(c.weight_decay));
        for p in params.iter_mut() {
            let lr: T = cst(c.lr * p.lr_scale);
            let step_size = lr / bias1;
            let (v, mut g) = slices(p.value, p.grad);
            if c.weight_decay != 0.0 {
                if c.decoupled_weight_decay {
                    let keep = T::one() - lr * wd;
                    v.iter_mut().for_each(|x| *x *= keep);
                } else {
                    g.to_mut().iter_mut().zip(v.iter()).for_each(|(g, &x)| *g += wd * x);
                }
            }
            let (slots, _) = self.buffers.slots(p.name, p.grad.shape());
            let [m, s] = slots else { unreachable!("Adam keeps exactly two buffers") };
            for i in 0..g.len() {
                m[i] = b1 * m[i] + one_b1 * g[i];
                s[i] = b2 * s[i] + one_b2 * g[i] * g[i];
                let denom = s[i].sqrt() / bias2_sqrt + eps;
                v[i] -= step_size * m[i] / denom;
            }
        }
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
