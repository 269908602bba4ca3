//! Kernels by tiles, beyond memory (issue 17): the analytic NNGP and NTK of `N` points as
//! tiles on disk, and the predictions of kernel regression and gradient flow computed from
//! them in memory bounded by a budget. The algorithms, memory bounds and cost model are in
//! `docs/ntk.md`, section "Kernels by tiles".
//!
//! | file | holds |
//! | --- | --- |
//! | [`layout`] | [`TileLayout`] (blocks of `b` points, the upper tiles `i <= j`), [`Shard`] (`k/n`, 0-based, round robin over tiles), the [`fnv1a64`] checksum |
//! | [`manifest`] | [`StoreConfig`] and the per-shard JSON [`Manifest`] with every tile's checksum |
//! | [`store`] | [`TileStore`]: compute a shard's tiles (atomic writes, resumable), open a complete store, read a tile checked against its checksum |
//! | [`operator`] | [`TiledKernel`]: `K P` by one streaming pass over the tiles, the diagonal, Gershgorin's bound |
//! | [`solve`] | [`kernel_regression_tiled`] (CG with a Nyström or Jacobi preconditioner), [`predict_tiled`] |
//! | [`flow`] | [`gradient_flow_tiled`] (the finite-`t` prediction by a Chebyshev polynomial) |
//!
//! ```
//! use dl_init::Activation;
//! use dl_ntk::{Architecture, Parameterisation};
//! use dl_ntk::tiled::{KernelKind, Shard, TileStore, TiledKernel, TiledOptions, kernel_regression_tiled};
//! use dl_tensor::{Tensor, seeded_rng};
//!
//! let mut rng = seeded_rng(1);
//! let x = Tensor::<f64>::randn(&[50, 4], &mut rng);
//! let y = Tensor::<f64>::randn(&[50, 1], &mut rng);
//! let arch = Architecture::mlp(2, 1, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk)?;
//! let dir = std::env::temp_dir().join(format!("tiled-doc-{}", std::process::id()));
//! for k in 0..2 {
//!     TileStore::compute(&dir, &arch, &x, 16, Shard::new(k, 2)?)?; // two shards, any machines
//! }
//! let store = TileStore::open_for(&dir, &arch, &x, 16)?;
//! let ntk = TiledKernel::new(&store, KernelKind::Ntk);
//! let fit = kernel_regression_tiled(&ntk, &y, 1e-3, TiledOptions::with_budget(1 << 20))?;
//! assert!(fit.working_set < 8 * 50 * 50 * 2 * 10);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), dl_ntk::NtkError>(())
//! ```

pub mod flow;
pub mod layout;
pub mod manifest;
pub mod operator;
pub mod solve;
pub mod store;

pub use flow::gradient_flow_tiled;
pub use layout::{Shard, TileLayout, fnv1a64};
pub use manifest::{Manifest, StoreConfig};
pub use operator::TiledKernel;
pub use solve::{Preconditioner, TiledFit, TiledMethod, TiledOptions, kernel_regression_tiled, predict_tiled};
pub use store::{ComputeReport, KernelKind, TileStore};

/// Helpers shared by the tests of this module.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;

    use dl_init::Activation;
    use dl_tensor::{Tensor, seeded_rng};

    use crate::{Architecture, Parameterisation};

    /// A fresh, empty directory under the system's temporary directory.
    pub fn fresh_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dl-ntk-tiled-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    /// A deep ReLU network (NTK parameterisation) and one with erf (standard).
    pub fn archs() -> Vec<Architecture> {
        vec![
            Architecture::mlp(3, 1, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).unwrap(),
            Architecture::mlp(2, 1, Activation::Erf, 1.5, 0.05, 1, Parameterisation::Standard).unwrap(),
        ]
    }

    /// `n` Gaussian points in 5 dimensions.
    pub fn points(n: usize, seed: u64) -> Tensor<f64> {
        Tensor::<f64>::randn(&[n, 5], &mut seeded_rng(seed))
    }
}
