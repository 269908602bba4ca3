//! Inverted dropout whose generator the network can save and restore.
//!
//! The same rule as [`dl_layers::Dropout`] (each element kept with probability `1 - p`
//! and scaled by `1 / (1 - p)`; the identity in evaluation mode), with the generator held
//! in a shared handle so that [`Network`](super::Network) can put its exact state
//! (seed, stream, word position) into a checkpoint. Without that, a resumed run would draw
//! different masks and could not reproduce the uninterrupted one bit for bit.

use std::cell::RefCell;
use std::rc::Rc;

use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module};
use dl_tensor::{Element, Tensor, TensorRng, cst};

/// Dropout with drop probability `p` and a shared, checkpointable generator.
pub struct CheckpointedDropout {
    /// The drop probability.
    pub p: f64,
    rng: Rc<RefCell<TensorRng>>,
    training: bool,
}

impl CheckpointedDropout {
    /// Drop probability `p` in `[0, 1)`; masks from `rng`, which the caller keeps a handle to.
    pub fn new(p: f64, rng: Rc<RefCell<TensorRng>>) -> dl_layers::Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(LayerError::config("Dropout", format!("drop probability {p} is outside [0, 1)")));
        }
        Ok(CheckpointedDropout { p, rng, training: true })
    }
}

impl<T: Element> Module<T> for CheckpointedDropout {
    fn describe(&self) -> String {
        format!("Dropout(p = {})", self.p)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Dropout { p: self.p }
    }
    fn forward(&self, x: &Var<T>) -> dl_layers::Result<Var<T>> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.p;
        let mask = Tensor::<T>::bernoulli(x.shape(), keep, &mut *self.rng.borrow_mut())?.mul_scalar(cst(1.0 / keep));
        Ok(x.mul(&Var::constant(mask))?)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
