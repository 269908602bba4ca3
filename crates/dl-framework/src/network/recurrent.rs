//! A recurrent layer in a feed-forward network: batch-first sequences in, either every
//! step's output or the final state out.
//!
//! The network's batches are `(N, L, F)` (examples first, like every other layer here);
//! dl-layers' [`Recurrent`] runs on `(L, N, F)`. This wrapper permutes in and out:
//!
//! - `output = "sequence"`: `(N, L, D H)`, every step's output (D = 2 when bidirectional);
//! - `output = "last"`: `(N, D H)`, the final state `h_n` of each direction side by side.

use crate::config::RecurrentOutputKind;
use dl_autodiff::Var;
use dl_layers::{LayerError, LayerKind, Module, Param, Recurrent};
use dl_tensor::Element;

/// [`Recurrent`] over batch-first sequences.
pub struct BatchFirstRecurrent<T: Element> {
    /// The layer.
    pub inner: Recurrent<T>,
    /// What it passes on.
    pub output: RecurrentOutputKind,
}

impl<T: Element> Module<T> for BatchFirstRecurrent<T> {
    fn describe(&self) -> String {
        format!("{} (batch first, {:?})", self.inner.describe(), self.output)
    }
    fn kind(&self) -> LayerKind {
        self.inner.kind()
    }
    fn forward(&self, x: &Var<T>) -> dl_layers::Result<Var<T>> {
        let s = x.shape();
        if s.len() != 3 {
            return Err(LayerError::layer(self.describe(), "sequences (N, length, features)", s));
        }
        let out = self.inner.forward_sequence(&x.permute(&[1, 0, 2])?, None, None)?;
        Ok(match self.output {
            RecurrentOutputKind::Sequence => out.output.permute(&[1, 0, 2])?,
            RecurrentOutputKind::Last => {
                let h = out.h_n.permute(&[1, 0, 2])?; // (N, D, H)
                let n = h.shape()[0];
                h.reshape(&[n, self.inner.num_directions() * self.inner.hidden_size])?
            }
        })
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        self.inner.visit_parameters(prefix, f)
    }
    fn set_training(&mut self, training: bool) {
        self.inner.set_training(training)
    }
    fn is_training(&self) -> bool {
        self.inner.is_training()
    }
}
