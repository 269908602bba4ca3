//! Recurrent layers with backpropagation through time (seed section 02; the derivations are
//! in `docs/bptt.md`).
//!
//! | file | holds |
//! | --- | --- |
//! | [`cell`] | [`CellKind`]: the RNN (tanh, relu), LSTM and GRU recurrences in PyTorch's gate layouts |
//! | [`sequence`](mod@sequence) | the explicit forward over a whole sequence, input projection as one GEMM, saving what BPTT needs |
//! | [`bptt`] | [`rnn_backward`]: the explicit backward-through-time loop, weight gradients as GEMMs over `(T B)` rows |
//! | [`unrolled`] | the same recurrences as a per-step graph of generic `Var` ops (the reference, and the higher-order path) |
//! | [`primitive`] | [`SequencePrimitive`]: forward, VJP (explicit BPTT) and JVP (tangent recurrence) of a whole sequence |
//! | [`mask`] | masks of variable-length batches ([`mask_from_lengths`]) and the per-sequence reversal of bidirectional layers |
//! | [`layer`] | [`Recurrent`]: the module, uni- or bidirectional, with masks or sequence lengths and initial states; built randomly or from given tensors per direction ([`DirectionTensors`]) |
//! | [`truncated`] | [`truncated_bptt`]: BPTT(k1, k2) with the state carried across windows, detached |
//! | `gemm`, `packed`, `activations` | the GEMM on slices used by the time loops; the recurrent weight packed once per sequence for an AVX-512 kernel; `tanh` / sigmoid over slices (a vectorisable rational `tanh` in f32) |
//!
//! A padded batch of two sequences (lengths 3 and 1) through an LSTM; the final state is
//! each sequence's own last real step:
//!
//! ```
//! use dl_autodiff::Var;
//! use dl_layers::{Module, Recurrent};
//! use dl_tensor::{Tensor, seeded_rng};
//!
//! let mut rng = seeded_rng(0);
//! let lstm = Recurrent::<f64>::lstm(2, 4, &mut rng);              // input 2, hidden 4
//! let x = Tensor::<f64>::randn(&[3, 2, 2], &mut rng);           // (time, batch, features)
//! let mask = Tensor::from_vec(vec![1.0, 1.0, 1.0, 0.0, 1.0, 0.0], &[3, 2])?;
//! let out = lstm.forward_sequence(&Var::constant(x.clone()), None, Some(&mask))?;
//! // the same by sequence lengths
//! let by_lengths = lstm.forward_with_lengths(&Var::constant(x.clone()), None, &[3, 1])?;
//! assert_eq!(by_lengths.h_n.value().to_vec(), out.h_n.value().to_vec());
//! assert_eq!(out.output.shape(), &[3, 2, 4]);
//! assert_eq!(out.h_n.shape(), &[1, 2, 4]);
//! // sequence 1 alone, one step: the same final state
//! let alone = lstm.forward_sequence(&Var::constant(x.narrow(0, 0, 1)?.narrow(1, 1, 1)?), None, None)?;
//! let (a, b) = (out.h_n.value().narrow(1, 1, 1)?.to_vec(), alone.h_n.value().to_vec());
//! assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-14));
//! // gradients of every parameter by the explicit BPTT
//! let grads = out.output.sum_all()?.backward()?;
//! assert!(lstm.parameters().iter().all(|p| p.param.grad(&grads).is_some()));
//! // a mask that does not match the batch is an error
//! assert!(lstm.forward_sequence(&Var::constant(x), None, Some(&Tensor::ones(&[3, 1]))).is_err());
//! # Ok::<(), dl_layers::LayerError>(())
//! ```

mod activations;
pub mod bptt;
pub mod cell;
mod gemm;
pub mod layer;
pub mod mask;
mod packed;
pub mod primitive;
pub mod sequence;
pub mod truncated;
pub mod unrolled;

pub use bptt::{SequenceGrads, rnn_backward};
pub use cell::CellKind;
pub use layer::{DirectionParams, DirectionTensors, Recurrent, RecurrentOutput, RecurrentState};
pub use mask::{ReverseWithinLength, mask_from_lengths, prefix_mask};
pub use primitive::{SequencePrimitive, sequence};
pub use truncated::{TbpttResult, TbpttSchedule, truncated_bptt};
pub use unrolled::unrolled_sequence;
