//! # dl-ntk — neural tangent kernels (seed sections 01 week 3 and 05)
//!
//! The empirical NTK of finite networks, the analytic infinite-width NNGP and NTK, and the
//! training dynamics they predict. The derivations are in `docs/ntk.md`. What lives where:
//!
//! | file | holds |
//! | --- | --- |
//! | [`layer`] | [`KernelLayer`] (Dense, Activation, Conv, GlobalAvgPool): the finite layer and its kernel map side by side; [`Parameterisation`] (NTK, standard) |
//! | [`activation_map`] | the activation step `K' = E[phi phi]`, `Theta' = Theta E[phi' phi']` over whole matrices (vectorised ReLU / erf closed forms, dl-init's engine otherwise) |
//! | [`analytic`] | [`Architecture`]: the NNGP and NTK recursions for fully connected networks of any depth, and convolutional ones with global average pooling |
//! | [`conv_kernel`] | the pixel-pair recursion of convolutions and the pooling (CNN-GP, CNTK with GAP) |
//! | [`conv`] | [`NtkConv`](conv::NtkConv): the finite 'same' convolution in NTK or standard parameterisation, over dl-layers' Conv1d / Conv2d |
//! | [`from_module`] | [`Architecture::from_sequential`]: a dl-layers network's architecture, or an error naming the layer without an analytic kernel (max pooling, dropout at train time, normalisation, recurrent) |
//! | [`finite`] | [`FiniteNetwork`]: a random finite network of an architecture (a dl-layers [`Module`](dl_layers::Module)) |
//! | [`empirical`] | the empirical NTK: naive full Jacobian, batched under a byte budget, structured layer-wise, and [`empirical_ntk`] choosing between the last two; full, trace or diagonal-block output |
//! | [`linalg`] | [`SymmetricSolver`]: Cholesky with a clipped-eigendecomposition fallback, reported |
//! | [`predict`] | [`predict::GradientFlow`] (f_t of one network at any t, loss curves, 2 / lambda_max), kernel regression, the NNGP posterior (mean, variances, full covariance), the Arora et al. (2019) bound |
//! | [`ensemble`] | the infinite ensemble at time t, mean and covariance over initialisations, NTK and NNGP regimes: [`ensemble::gradient_descent_mse_ensemble`] (neural-tangents' `predict.gradient_descent_mse_ensemble`) |
//! | [`tiled`] | kernels by tiles beyond memory: [`tiled::TileStore`] (the NNGP and NTK as `.npy` tiles with a checksummed manifest, sharded, resumable), [`tiled::kernel_regression_tiled`] (conjugate gradients) and [`tiled::gradient_flow_tiled`] (Chebyshev) streaming tiles within a memory budget |
//! | [`train`] | full-batch gradient descent on the MSE, the training the predictions describe |
//! | [`feature_learning`] | kernel distance, kernel–target alignment, [`feature_learning::analyze_feature_learning`] |
//! | [`error`] | [`NtkError`]: every message names the operation, the argument or layer, and both shapes |
//!
//! Everything is f64. The analytic kernels cover fully connected networks and
//! convolutional networks (stride 1, 'same' padding, 1-D or 2-D) ending in global average
//! pooling and dense layers.
//!
//! The analytic NTK of a wide ReLU network, the empirical NTK of one random network of it,
//! and the prediction of kernel regression:
//!
//! ```
//! use dl_init::Activation;
//! use dl_ntk::{Architecture, OutputKernel, Parameterisation, empirical_ntk_structured};
//! use dl_ntk::predict::GradientFlow;
//! use dl_tensor::{Tensor, seeded_rng};
//!
//! let mut rng = seeded_rng(0);
//! let x = Tensor::<f64>::randn(&[10, 3], &mut rng);
//! let y = Tensor::<f64>::randn(&[10, 1], &mut rng);
//! let arch = Architecture::mlp(2, 2048, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk)?;
//! let exact = arch.kernels(&x, None)?;                          // (10, 10) NNGP and NTK
//! let net = arch.sample(3, &mut rng)?;
//! let emp = empirical_ntk_structured(&net, &x, None, OutputKernel::Trace)?;
//! let (a, e) = (emp.kernel.to_vec(), exact.ntk.to_vec());
//! let err = a.iter().zip(&e).map(|(a, e)| (a - e).powi(2)).sum::<f64>().sqrt()
//!     / e.iter().map(|e| e * e).sum::<f64>().sqrt();
//! assert!(err < 0.1, "relative Frobenius error {err}");          // O(1 / sqrt(width))
//! let flow = GradientFlow::new(&exact.ntk, &y, None, 1.0)?;
//! let fit = flow.predict_train(f64::INFINITY)?;                  // interpolates y
//! assert!((fit.to_vec()[0] - y.to_vec()[0]).abs() < 1e-6);
//! assert!(flow.predict_train(-1.0).is_err());                   // negative time: an error
//! # Ok::<(), dl_ntk::NtkError>(())
//! ```

pub mod activation_map;
pub mod analytic;
pub mod conv;
pub mod conv_kernel;
pub mod empirical;
pub mod ensemble;
pub mod error;
pub mod feature_learning;
pub mod finite;
pub mod from_module;
pub mod layer;
pub mod linalg;
mod matrix;
pub mod predict;
pub mod tiled;
pub mod train;

pub use analytic::{AnalyticKernels, Architecture};
pub use empirical::{
    EmpiricalKernel, OutputKernel, empirical_ntk, empirical_ntk_batched, empirical_ntk_naive, empirical_ntk_structured,
};
pub use error::{NtkError, Result};
pub use finite::FiniteNetwork;
pub use layer::{FiniteLayer, KernelLayer, Parameterisation};
pub use linalg::{SolveMethod, SymmetricSolver};
