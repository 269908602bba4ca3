//! # dl-layers — modules and layers with their specialised backpropagation (seed section 02)
//!
//! Layers are [`Module`]s over [`dl_autodiff::Var`]: `forward` builds the graph, and
//! `loss.backward()` gives every parameter's gradient. What lives where:
//!
//! | file | holds |
//! | --- | --- |
//! | [`gradients`] | [`NamedGradients`]: a module's gradients by parameter name (`net.gradient(&grads, "0.weight")`) |
//! | [`module`] | the [`Module`] trait (forward, named parameters, state dict, train/eval; defaults for parameterless, mode-independent layers), [`Param`] (a shared parameter handle), [`parameters_for_step`] / [`commit_step`] for optimisers |
//! | [`kind`] | [`LayerKind`]: what a module computes, as a type (dense, convolution with its options, activation with its parameters, pooling, normalisation, ...), read by dl-ntk, dl-theory and dl-framework instead of description strings |
//! | [`linear`] | [`Linear`], `y = x W^T + b`, PyTorch's default initialisation |
//! | [`conv_primitive`] | the convolution primitive whose backward is explicit GEMMs with im2col / col2im (see `docs/convolution.md`) and its two mutually transposed backward primitives |
//! | [`conv`] | [`Conv1d`], [`Conv2d`]: stride, padding (explicit or `'same'`), dilation, groups (depthwise) |
//! | [`pool`] | [`MaxPool2d`] (backward to the first argmax), [`AvgPool2d`], [`GlobalAvgPool`] |
//! | [`pool1d`] | 1-D pooling of `(N, C, L)` sequences: [`MaxPool1d`], [`AvgPool1d`] (padded zeros counted, PyTorch's `count_include_pad = True`), [`GlobalAvgPool1d`] |
//! | [`flatten`], [`dropout`], [`embedding`], [`activation`] | [`Flatten`]; seeded inverted [`Dropout`]; [`Embedding`] (lookup, scatter-add backward); activations as modules ([`Act`]) |
//! | [`sequential`], [`residual`] | [`Sequential`] (parameters named `"0.weight"`, ...); [`Residual`] blocks `x + f(x)` with an optional projection |
//! | [`loss`] | [`mse`], [`cross_entropy`] (integer labels, label smoothing, stable at logits of ±1e4), [`bce_with_logits`]; each with a [`Reduction`] (mean, sum, none) in its `_with_reduction` form |
//! | [`serialize`] | state dicts to and from safetensors files (readable by PyTorch and NumPy) |
//! | [`recurrent`] | [`Recurrent`] RNN (tanh, relu), LSTM and GRU, uni- and bidirectional, with masks or sequence lengths ([`mask_from_lengths`]); the sequence primitive whose VJP is the explicit BPTT loop ([`rnn_backward`]); truncated BPTT(k1, k2) (see `docs/bptt.md`) |
//! | [`reference`](mod@reference) | direct-loop and generic-op references for the convolution (for checks and experiments) |
//! | [`error`] | [`LayerError`]: wrong inputs name the layer, what it expected and the shape it got |
//!
//! Every layer with parameters is built either randomly (`new`, PyTorch's initialisation) or
//! from given tensors (`from_tensors`: [`Linear`], [`Conv1d`], [`Conv2d`], [`Embedding`],
//! [`Recurrent`] per direction; the norms in dl-norm likewise), a wrong shape naming the
//! layer, the parameter and both shapes ([`LayerError::ParamShape`]).
//!
//! Conventions: images NCHW, convolution weights `(out, in / groups, kh, kw)`, linear weights
//! `(out, in)` (PyTorch's layouts, so state dicts map one to one); every random draw comes
//! from an explicit seeded generator.
//!
//! ```
//! use dl_autodiff::Var;
//! use dl_layers::{Act, Linear, Module, Sequential, cross_entropy};
//! use dl_tensor::{Tensor, seeded_rng};
//!
//! let mut rng = seeded_rng(0);
//! let net = Sequential::<f32>::new()
//!     .with(Linear::new(4, 16, true, &mut rng))
//!     .with(Act::relu())
//!     .with(Linear::new(16, 3, true, &mut rng));
//! let x = Var::constant(Tensor::randn(&[8, 4], &mut rng));   // a batch of 8
//! let labels = [0, 1, 2, 0, 1, 2, 0, 1];
//! let loss = cross_entropy(&net.forward(&x)?, &labels, 0.0)?;
//! let grads = loss.backward()?;
//! for p in net.parameters() {
//!     let g = p.param.grad(&grads).expect("every parameter was used");
//!     assert_eq!(g.shape(), p.param.shape().as_slice());          // "0.weight": [16, 4], ...
//! }
//! // wrong inputs say which layer, what it expected and what it got
//! let err = net.forward(&Var::constant(Tensor::zeros(&[8, 5]))).unwrap_err();
//! assert!(err.to_string().contains("Linear(4 -> 16)"));
//! # Ok::<(), dl_layers::LayerError>(())
//! ```

pub mod activation;
pub mod conv;
pub mod conv_primitive;
pub mod dropout;
pub mod embedding;
pub mod error;
pub mod flatten;
pub mod gradients;
pub mod kind;
pub mod linear;
pub mod loss;
pub mod module;
pub mod pool;
pub mod pool1d;
pub mod recurrent;
pub mod reference;
pub mod residual;
pub mod sequential;
pub mod serialize;

pub use activation::{Act, Activation};
pub use conv::{Conv1d, Conv2d, ConvOptions, Padding};
pub use conv_primitive::{ConvGeometry, conv2d};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use error::{LayerError, Result};
pub use flatten::Flatten;
pub use gradients::NamedGradients;
pub use kind::{LayerKind, NormKind, PoolKind};
pub use linear::Linear;
pub use loss::{
    Reduction, bce_with_logits, bce_with_logits_with_reduction, cross_entropy, cross_entropy_with_reduction, mse,
    mse_with_reduction,
};
pub use module::{Module, NamedParam, Param, StepParam, commit_step, join_name, parameters_for_step};
pub use pool::{AvgPool2d, GlobalAvgPool, MaxPool2d, MaxPool2dPrimitive, PoolOptions};
pub use pool1d::{AvgPool1d, GlobalAvgPool1d, MaxPool1d, MaxPool1dPrimitive};
pub use recurrent::{
    CellKind, DirectionTensors, Recurrent, RecurrentOutput, RecurrentState, TbpttSchedule, mask_from_lengths,
    rnn_backward, truncated_bptt,
};
pub use residual::Residual;
pub use sequential::Sequential;
pub use serialize::{load_module, load_safetensors, save_module, save_safetensors};
