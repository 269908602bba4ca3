//! Inverted dropout: in training mode each element is kept with probability `1 - p` and
//! scaled by `1 / (1 - p)`, so the expectation is unchanged; in evaluation mode it is the
//! identity. The mask comes from a seeded generator owned by the module, so a run is
//! reproducible: the same seed gives the same sequence of masks.

use std::cell::RefCell;

use dl_autodiff::Var;
use dl_tensor::{Element, Tensor, TensorRng, cst, seeded_rng};

use crate::error::{LayerError, Result};
use crate::kind::LayerKind;
use crate::module::Module;

/// Dropout with drop probability `p`.
pub struct Dropout {
    /// Drop probability `p ∈ [0, 1]`: in training each element becomes `0` with probability
    /// `p`, else `x / (1 − p)`; `p = 1` zeroes everything.
    pub p: f64,
    rng: RefCell<TensorRng>,
    training: bool,
}

impl Dropout {
    /// Drop probability `p` in `[0, 1]`; masks drawn from a ChaCha generator seeded `seed`.
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(LayerError::config("Dropout", format!("drop probability {p} is outside [0, 1]")));
        }
        Ok(Dropout { p, rng: RefCell::new(seeded_rng(seed)), training: true })
    }
}

impl<T: Element> Module<T> for Dropout {
    fn describe(&self) -> String {
        format!("Dropout(p = {})", self.p)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Dropout { p: self.p }
    }
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.p;
        let mask = Tensor::<T>::bernoulli(x.shape(), keep, &mut *self.rng.borrow_mut())?;
        let mask = if keep > 0.0 { mask.mul_scalar(cst(1.0 / keep)) } else { mask };
        Ok(x.mul(&Var::constant(mask))?)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
