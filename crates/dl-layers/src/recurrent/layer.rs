//! [`Recurrent`]: one recurrent layer (RNN with tanh or relu, LSTM, GRU), unidirectional or
//! bidirectional, over sequences `(time, batch, features)` with an optional mask.
//!
//! Parameters carry PyTorch's names and layouts (`weight_ih_l0 (G H, I)`,
//! `weight_hh_l0 (G H, H)`, `bias_ih_l0`, `bias_hh_l0`, and `..._reverse` for the backward
//! direction), initialised like PyTorch: every entry uniform on `[-1/sqrt(H), 1/sqrt(H)]`.
//! The backward direction runs on each sequence reversed within its own length, so it
//! starts at the sequence's last real step; its outputs are reversed back and concatenated
//! after the forward direction's on the feature axis, `(T, B, 2 H)`.

use dl_autodiff::Var;
use dl_tensor::{Element, Tensor, TensorRng, cst};

use super::cell::CellKind;
use super::mask::{ReverseWithinLength, check_lengths, lengths, read_mask};
use super::primitive::sequence;
use crate::error::{LayerError, Result};
use crate::kind::LayerKind;
use crate::module::{Module, Param, join_name};

/// The four parameters of one direction.
pub struct DirectionParams<T: Element> {
    /// `W_ih`, the `(G H, I)` input weight (gate blocks stacked by rows) in
    /// `a_t = x_t W_ih^T + b_ih + h_{t−1} W_hh^T + b_hh`; PyTorch's `weight_ih_l0`.
    pub weight_ih: Param<T>,
    /// `W_hh`, the `(G H, H)` recurrent weight; PyTorch's `weight_hh_l0`.
    pub weight_hh: Param<T>,
    /// `b_ih`, the `(G H)` input bias; PyTorch's `bias_ih_l0`.
    pub bias_ih: Param<T>,
    /// `b_hh`, the `(G H)` recurrent bias (inside `r ⊙ (·)` for the GRU's `n` block);
    /// PyTorch's `bias_hh_l0`.
    pub bias_hh: Param<T>,
}

impl<T: Element> DirectionParams<T> {
    fn new(kind: CellKind, input_size: usize, hidden_size: usize, rng: &mut TensorRng) -> Self {
        let bound: T = cst(1.0 / (hidden_size.max(1) as f64).sqrt());
        let gh = kind.gates() * hidden_size;
        let mut draw = |shape: &[usize]| {
            Param::new(Tensor::rand_uniform(shape, -bound, bound, rng).expect("a finite, non-empty range"))
        };
        DirectionParams {
            weight_ih: draw(&[gh, input_size]),
            weight_hh: draw(&[gh, hidden_size]),
            bias_ih: draw(&[gh]),
            bias_hh: draw(&[gh]),
        }
    }
}

/// The four tensors of one direction in PyTorch's layouts (`weight_ih_l0 (G H, I)`,
/// `weight_hh_l0 (G H, H)`, `bias_ih_l0 (G H)`, `bias_hh_l0 (G H)`, with `G` gates: 1 for
/// the RNN, 4 for the LSTM, 3 for the GRU), for [`Recurrent::from_tensors`].
pub struct DirectionTensors<T: Element> {
    /// `W_ih`, `(G H, I)`.
    pub weight_ih: Tensor<T>,
    /// `W_hh`, `(G H, H)`.
    pub weight_hh: Tensor<T>,
    /// `b_ih`, `(G H)`.
    pub bias_ih: Tensor<T>,
    /// `b_hh`, `(G H)`.
    pub bias_hh: Tensor<T>,
}

/// The initial state `(D, B, H)` for each direction `D`; `c0` for the LSTM only.
#[derive(Clone)]
pub struct RecurrentState<T: Element> {
    /// The hidden state `h_0`, `(D, B, H)` (direction `0` forward, `1` backward).
    pub h: Var<T>,
    /// The LSTM's memory `c_0`, `(D, B, H)`; `None` for the RNN and GRU (and zeros for an
    /// LSTM given none).
    pub c: Option<Var<T>>,
}

/// What a recurrent layer returns: every step's output and the final state.
pub struct RecurrentOutput<T: Element> {
    /// `(T, B, D H)`, zero at padded steps.
    pub output: Var<T>,
    /// The final state `(D, B, H)`: each sequence's own last real step (for the backward
    /// direction, its first step).
    pub h_n: Var<T>,
    /// The final memory of the LSTM, `(D, B, H)`.
    pub c_n: Option<Var<T>>,
}

impl<T: Element> RecurrentOutput<T> {
    /// The final state as the next call's initial state (still in the graph; `detach` it to
    /// cut the gradient, as truncated BPTT does).
    pub fn state(&self) -> RecurrentState<T> {
        RecurrentState { h: self.h_n.clone(), c: self.c_n.clone() }
    }
}

/// A single recurrent layer (see the module docs).
pub struct Recurrent<T: Element> {
    /// The recurrence: RNN (tanh or relu), LSTM or GRU, which fixes the gate count `G`.
    pub kind: CellKind,
    /// Input features `I` of each step `x_t (B, I)`.
    pub input_size: usize,
    /// Hidden size `H` of the state `h_t (B, H)` per direction.
    pub hidden_size: usize,
    /// The forward direction's parameters, then the backward direction's when bidirectional.
    pub directions: Vec<DirectionParams<T>>,
    training: bool,
}

impl<T: Element> Recurrent<T> {
    /// A layer with PyTorch's default initialisation drawn from `rng`.
    pub fn new(
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        bidirectional: bool,
        rng: &mut TensorRng,
    ) -> Self {
        let n = if bidirectional { 2 } else { 1 };
        let directions = (0..n).map(|_| DirectionParams::new(kind, input_size, hidden_size, rng)).collect();
        Recurrent { kind, input_size, hidden_size, directions, training: true }
    }
    /// An Elman RNN with `tanh`.
    pub fn rnn_tanh(input_size: usize, hidden_size: usize, rng: &mut TensorRng) -> Self {
        Self::new(CellKind::RnnTanh, input_size, hidden_size, false, rng)
    }
    /// An Elman RNN with `relu`.
    pub fn rnn_relu(input_size: usize, hidden_size: usize, rng: &mut TensorRng) -> Self {
        Self::new(CellKind::RnnRelu, input_size, hidden_size, false, rng)
    }
    /// An LSTM.
    pub fn lstm(input_size: usize, hidden_size: usize, rng: &mut TensorRng) -> Self {
        Self::new(CellKind::Lstm, input_size, hidden_size, false, rng)
    }
    /// A GRU.
    pub fn gru(input_size: usize, hidden_size: usize, rng: &mut TensorRng) -> Self {
        Self::new(CellKind::Gru, input_size, hidden_size, false, rng)
    }
    /// A layer with the given parameters: the forward direction's, and the backward
    /// direction's for a bidirectional layer. The input and hidden sizes come from the
    /// forward `weight_ih (G H, I)`; every other tensor must fit them, or the error
    /// ([`LayerError::ParamShape`]) names the layer, the parameter (`weight_hh_l0_reverse`,
    /// say) and both shapes.
    ///
    /// ```
    /// use dl_layers::{CellKind, DirectionTensors, Recurrent};
    /// use dl_tensor::Tensor;
    /// let (i, h) = (3, 2);
    /// let dir = |hh: usize| DirectionTensors {
    ///     weight_ih: Tensor::<f64>::ones(&[3 * h, i]),
    ///     weight_hh: Tensor::ones(&[3 * h, hh]),
    ///     bias_ih: Tensor::zeros(&[3 * h]),
    ///     bias_hh: Tensor::zeros(&[3 * h]),
    /// };
    /// let gru = Recurrent::from_tensors(CellKind::Gru, dir(h), Some(dir(h)))?;
    /// assert_eq!((gru.input_size, gru.hidden_size, gru.num_directions()), (3, 2, 2));
    /// let err = Recurrent::from_tensors(CellKind::Gru, dir(h), Some(dir(5))).err().unwrap();
    /// assert_eq!(err.to_string(), "GRU(3 -> 2, bidirectional): parameter weight_hh_l0_reverse must have shape [6, 2], got [6, 5]");
    /// # Ok::<(), dl_layers::LayerError>(())
    /// ```
    pub fn from_tensors(
        kind: CellKind,
        forward: DirectionTensors<T>,
        backward: Option<DirectionTensors<T>>,
    ) -> Result<Self> {
        let g = kind.gates();
        let w = forward.weight_ih.shape().to_vec();
        if w.len() != 2 || w[0] == 0 || !w[0].is_multiple_of(g) {
            let expected =
                format!("({g} gates x hidden_size, input_size): 2 axes, the first a positive multiple of {g}");
            return Err(LayerError::param_shape(kind.name(), "weight_ih_l0", expected, &w));
        }
        let (input_size, hidden_size) = (w[1], w[0] / g);
        let dir = if backward.is_some() { ", bidirectional" } else { "" };
        let layer = format!("{}({input_size} -> {hidden_size}{dir})", kind.name());
        let mut directions = Vec::with_capacity(2);
        for (suffix, tensors) in [("", Some(forward)), ("_reverse", backward)] {
            let Some(t) = tensors else { continue };
            let expect = [
                ("weight_ih_l0", &t.weight_ih, vec![g * hidden_size, input_size]),
                ("weight_hh_l0", &t.weight_hh, vec![g * hidden_size, hidden_size]),
                ("bias_ih_l0", &t.bias_ih, vec![g * hidden_size]),
                ("bias_hh_l0", &t.bias_hh, vec![g * hidden_size]),
            ];
            for (name, tensor, shape) in expect {
                if tensor.shape() != shape.as_slice() {
                    return Err(LayerError::param_shape(
                        &layer,
                        format!("{name}{suffix}"),
                        format!("{shape:?}"),
                        tensor.shape(),
                    ));
                }
            }
            directions.push(DirectionParams {
                weight_ih: Param::new(t.weight_ih),
                weight_hh: Param::new(t.weight_hh),
                bias_ih: Param::new(t.bias_ih),
                bias_hh: Param::new(t.bias_hh),
            });
        }
        Ok(Recurrent { kind, input_size, hidden_size, directions, training: true })
    }

    /// Whether the layer runs a backward direction too.
    pub fn bidirectional(&self) -> bool {
        self.directions.len() == 2
    }
    /// The number of directions `D`.
    pub fn num_directions(&self) -> usize {
        self.directions.len()
    }

    fn check_state(&self, what: &str, v: &Var<T>, b: usize) -> Result<()> {
        let want = [self.num_directions(), b, self.hidden_size];
        if v.shape() != want {
            return Err(LayerError::layer(
                self.describe(),
                format!("an initial {what} (directions, batch, hidden) = {want:?}"),
                v.shape(),
            ));
        }
        Ok(())
    }

    /// Runs the layer over a padded batch `x (T, B, I)` whose sequence `b` has
    /// `lengths[b]` real steps (PyTorch's `pack_padded_sequence(x, lengths)`): the same as
    /// [`Self::forward_sequence`] with [`crate::mask_from_lengths`]. One length per sequence,
    /// each at most `T`, or an error naming the layer.
    pub fn forward_with_lengths(
        &self,
        x: &Var<T>,
        state: Option<&RecurrentState<T>>,
        lengths: &[usize],
    ) -> Result<RecurrentOutput<T>> {
        let s = x.shape();
        if s.len() != 3 || s[2] != self.input_size {
            return Err(LayerError::layer(self.describe(), format!("an input (time, batch, {})", self.input_size), s));
        }
        check_lengths(&self.describe(), lengths, s[0], s[1])?;
        let mask = super::mask::mask_from_lengths::<T>(lengths, s[0])?;
        self.forward_sequence(x, state, Some(&mask))
    }

    /// Runs the layer over `x (T, B, I)` from `state` (zeros when `None`) with an optional
    /// `mask (T, B)` of real steps (1) and padding (0).
    pub fn forward_sequence(
        &self,
        x: &Var<T>,
        state: Option<&RecurrentState<T>>,
        mask: Option<&Tensor<T>>,
    ) -> Result<RecurrentOutput<T>> {
        let s = x.shape();
        if s.len() != 3 || s[2] != self.input_size {
            return Err(LayerError::layer(self.describe(), format!("an input (time, batch, {})", self.input_size), s));
        }
        let (t, b, h) = (s[0], s[1], self.hidden_size);
        let mask = mask.map(|m| read_mask(&self.describe(), m, t, b)).transpose()?;
        let d = self.num_directions();
        let (h0, c0) = match state {
            Some(st) => {
                self.check_state("h0", &st.h, b)?;
                let c = match (&st.c, self.kind.has_cell_state()) {
                    (Some(c), true) => {
                        self.check_state("c0", c, b)?;
                        Some(c.clone())
                    }
                    (None, true) => Some(Var::constant(Tensor::zeros(&[d, b, h]))),
                    (Some(_), false) => {
                        return Err(LayerError::config(
                            self.describe(),
                            "only the LSTM takes an initial cell state c0",
                        ));
                    }
                    (None, false) => None,
                };
                (st.h.clone(), c)
            }
            None => (
                Var::constant(Tensor::zeros(&[d, b, h])),
                self.kind.has_cell_state().then(|| Var::constant(Tensor::zeros(&[d, b, h]))),
            ),
        };
        let reversal = if self.bidirectional() {
            let lens = match &mask {
                Some(m) => lengths(&self.describe(), m, t, b)?,
                None => vec![t; b],
            };
            Some(ReverseWithinLength { lengths: lens })
        } else {
            None
        };
        let mut outputs = Vec::with_capacity(d);
        let mut h_n = Vec::with_capacity(d);
        let mut c_n = Vec::with_capacity(d);
        for (k, p) in self.directions.iter().enumerate() {
            let xin = match (&reversal, k) {
                (Some(r), 1) => Var::apply(r.clone(), &[x])?,
                _ => x.clone(),
            };
            let h0k = h0.narrow(0, k, 1)?.reshape(&[b, h])?;
            let mut inputs = vec![xin, h0k];
            if let Some(c0) = &c0 {
                inputs.push(c0.narrow(0, k, 1)?.reshape(&[b, h])?);
            }
            inputs.extend([p.weight_ih.var(), p.weight_hh.var(), p.bias_ih.var(), p.bias_hh.var()]);
            let refs: Vec<&Var<T>> = inputs.iter().collect();
            let packed = sequence(self.kind, &refs, mask.clone())?;
            let mut y = packed.narrow(0, 0, t)?;
            if let (Some(r), 1) = (&reversal, k) {
                y = Var::apply(r.clone(), &[&y])?;
            }
            outputs.push(y);
            h_n.push(packed.narrow(0, t, 1)?);
            if self.kind.has_cell_state() {
                c_n.push(packed.narrow(0, t + 1, 1)?);
            }
        }
        let join = |parts: &[Var<T>], axis: isize| -> Result<Var<T>> {
            if parts.len() == 1 {
                return Ok(parts[0].clone());
            }
            let refs: Vec<&Var<T>> = parts.iter().collect();
            Ok(Var::concat(&refs, axis)?)
        };
        Ok(RecurrentOutput {
            output: join(&outputs, 2)?,
            h_n: join(&h_n, 0)?,
            c_n: if c_n.is_empty() { None } else { Some(join(&c_n, 0)?) },
        })
    }
}

impl<T: Element> Module<T> for Recurrent<T> {
    fn describe(&self) -> String {
        let dir = if self.bidirectional() { ", bidirectional" } else { "" };
        format!("{}({} -> {}{dir})", self.kind.name(), self.input_size, self.hidden_size)
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Recurrent { cell: self.kind, bidirectional: self.bidirectional() }
    }
    /// The outputs `(T, B, D H)` from a zero state, no mask.
    fn forward(&self, x: &Var<T>) -> Result<Var<T>> {
        Ok(self.forward_sequence(x, None, None)?.output)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<T>)) {
        for (k, p) in self.directions.iter().enumerate() {
            let suffix = if k == 1 { "_reverse" } else { "" };
            f(&join_name(prefix, &format!("weight_ih_l0{suffix}")), &p.weight_ih);
            f(&join_name(prefix, &format!("weight_hh_l0{suffix}")), &p.weight_hh);
            f(&join_name(prefix, &format!("bias_ih_l0{suffix}")), &p.bias_ih);
            f(&join_name(prefix, &format!("bias_hh_l0{suffix}")), &p.bias_hh);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn is_training(&self) -> bool {
        self.training
    }
}
