//! # dl-tensor — n-dimensional tensors for dl-fundamentals (foundations)
//!
//! A [`Tensor<T>`] is an n-dimensional array of `f32` or `f64` ([`Element`]) on
//! `ndarray`, with cheap clones (shared, copy-on-write buffers). What lives where:
//!
//! | file | holds |
//! | --- | --- |
//! | [`element`] | the `Element` trait (f32, f64): conversions, `erf`, the GEMM kernel |
//! | [`error`] | [`TensorError`]: every message names the op, the dimension and both shapes |
//! | [`shape`] | NumPy broadcasting and axis normalisation |
//! | `tensor` | the type; creation (`zeros`, `ones`, `full`, `from_vec`, `arange`, `linspace`, `eye`) and ndarray conversion |
//! | [`random`] | seeded ChaCha8 draws: `randn`, `rand_uniform`, `bernoulli` |
//! | [`elementwise`] | unary maps, broadcasting `add/sub/mul/div/pow/maximum/minimum`, comparisons, `where_cond` |
//! | [`reduce`] | `sum/mean/var/max/min/logsumexp` over any axes with keepdim, `argmax`, stable `softmax`/`log_softmax` |
//! | [`views`] | `reshape`, `permute`, `transpose`, `narrow`, `concat`, `stack`, `broadcast_to`, `index_select`, `gather`, `scatter_add` |
//! | [`matmul`] | 2-D and batched `matmul` with broadcast batch dimensions via `matrixmultiply` |
//! | [`im2col`] | `im2col`/`col2im` for 1-D and 2-D windows with stride, padding, dilation |
//! | [`npy`] | `.npy` save (atomic) and load |
//! | [`memory`] | [`MemoryLimit`]: the machine's available memory (or a stated limit), checked before allocating a size that came from outside |
//! | [`compare`] | the shared relative+absolute [`Tolerance`] used by every crate's tests |
//! | [`buffer_pool`] | per-thread reuse of large freed buffers, so a training step does not fault fresh pages in from the OS |
//!
//! Error policy: an operation that can fail on its inputs returns
//! `Result<_, TensorError>`; one that cannot returns its value. Nothing panics on bad input.
//! Constructors that allocate (`zeros`, `full`, `randn`) take their size on trust, as
//! `Vec::with_capacity` does (an allocation the machine cannot satisfy aborts the process);
//! a size that comes from outside (a configuration, a file header) is checked first against
//! a [`MemoryLimit`], which refuses it with an error naming what and
//! how many bytes, before anything is allocated.
//!
//! ```
//! use dl_tensor::{Tensor, seeded_rng};
//! let mut rng = seeded_rng(0);
//! let x = Tensor::<f32>::randn(&[4, 3], &mut rng);
//! let w = Tensor::<f32>::randn(&[3, 2], &mut rng);
//! let b = Tensor::<f32>::zeros(&[2]);
//! let logits = x.matmul(&w)?.add(&b)?;          // (4, 2), bias broadcast over rows
//! let p = logits.softmax(-1)?;                   // each row sums to 1
//! let row_sums = p.sum_axes(&[-1], false)?;
//! assert!(row_sums.to_vec().iter().all(|s| (s - 1.0).abs() < 1e-6));
//! // shape errors name the op and both shapes
//! let err = x.matmul(&x).unwrap_err();
//! assert!(err.to_string().contains("matmul") && err.to_string().contains("[4, 3]"));
//! # Ok::<(), dl_tensor::TensorError>(())
//! ```

pub mod buffer_pool;
pub mod compare;
pub mod element;
pub mod elementwise;
pub mod error;
pub mod im2col;
pub mod matmul;
pub mod memory;
pub mod npy;
pub mod random;
pub mod reduce;
pub mod shape;
mod tensor;
pub mod views;

pub use compare::{Tolerance, assert_close};
pub use element::{Element, cst};
pub use error::{Result, TensorError};
pub use im2col::{Window, col2im_1d, col2im_2d, im2col_1d, im2col_2d};
pub use memory::MemoryLimit;
pub use random::{TensorRng, seeded_rng};
pub use tensor::Tensor;
pub use views::IndexArray;
