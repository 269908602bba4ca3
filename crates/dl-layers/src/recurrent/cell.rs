//! The three recurrent cells, in PyTorch's gate layouts, and the shapes they take.
//!
//! With input `x_t (B, I)`, state `h_{t-1} (B, H)`, weights `W_ih (G H, I)`,
//! `W_hh (G H, H)` and biases `b_ih, b_hh (G H)` (the `G` gate blocks stacked by rows):
//!
//! ```text
//! RNN  (G = 1)  h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   f = tanh or relu
//! LSTM (G = 4)  [i f g o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  (pre-activations)
//!               i, f, o = sigmoid(.), g = tanh(.)
//!               c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
//! GRU  (G = 3)  r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
//!               z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
//!               n = tanh(x W_in^T + b_in + r ⊙ (h W_hn^T + b_hn))
//!               h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
//! ```
//!
//! (Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000; Cho et al. 2014,
//! in PyTorch's variant where `r` multiplies `h W_hn^T + b_hn`.)

use dl_tensor::Element;

/// Which recurrence a layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// Elman RNN with `tanh`.
    RnnTanh,
    /// Elman RNN with `relu`.
    RnnRelu,
    /// Long short-term memory (gates i, f, g, o).
    Lstm,
    /// Gated recurrent unit (gates r, z, n).
    Gru,
}

impl CellKind {
    /// The number of gate blocks `G` (rows of `W_ih` are `G * hidden`).
    pub fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
    /// Whether the cell carries a memory `c` beside `h` (the LSTM).
    pub fn has_cell_state(self) -> bool {
        self == CellKind::Lstm
    }
    /// The layer name used in messages: `RNN(tanh)`, `RNN(relu)`, `LSTM`, `GRU`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::RnnTanh => "RNN(tanh)",
            CellKind::RnnRelu => "RNN(relu)",
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
        }
    }
    /// The op name of the sequence primitive.
    pub fn op_name(self) -> &'static str {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => "rnn_sequence",
            CellKind::Lstm => "lstm_sequence",
            CellKind::Gru => "gru_sequence",
        }
    }
    /// How many `(B, H)` state rows follow the `T` outputs in the packed output: `h_n`, and
    /// `c_n` for the LSTM.
    pub fn state_slots(self) -> usize {
        if self.has_cell_state() { 2 } else { 1 }
    }
}

/// The logistic sigmoid `1 / (1 + e^-x)`, without overflow for either sign.
#[inline]
pub(crate) fn sigmoid<T: Element>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}
