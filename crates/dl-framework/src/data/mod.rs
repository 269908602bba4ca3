//! Datasets: the vendored real datasets, synthetic generators, and loaders for users' own
//! files, all producing one [`Dataset`] type.
//!
//! | file | holds |
//! | --- | --- |
//! | `dataset` | [`Dataset`] (features (N, ...) with [`Targets`]: class labels or regression targets), validation, `subset`, `split_at`, `random_split`, `stratified_split` |
//! | `batches` | [`Dataset::batches`]: seeded minibatches with per-epoch shuffling |
//! | `transform` | [`one_hot`], [`Standardizer`] (fit on train, apply to test) |
//! | `embedded` | the files of `data/` embedded with `include_bytes!`, their SHA-256, gzip decoding |
//! | `digits` | [`load_digits`]: the 8x8 handwritten digits (1797 images), [`digits_split`] |
//! | `mnist1d` | [`load_mnist1d`]: MNIST-1D (4000 + 1000 sequences of length 40) |
//! | `synthetic` | [`TeacherNetwork`], [`SparseParity`], [`ModularArithmetic`], [`TwoSpirals`], [`Sinusoid`] |
//! | `csv` | [`CsvTable`]: tables of numbers from CSV (RFC 4180 quoting, through the `csv` crate) |
//! | `user` | [`load_npy_dataset`], [`load_npy_regression`], [`load_csv`], [`load_csv_regression`] and their `_with` forms under [`LoadOptions`]: the same rules for `.npy` and CSV (finite features, bounded class counts) |
//! | `error` | [`DataError`]: every message names the path, line and column, or the argument |
//!
//! The real datasets are embedded in the crate, so they load offline on a fresh machine;
//! each file's SHA-256 is checked on every load. Provenance and licences (digits:
//! CC BY 4.0, Alpaydin and Kaynak 1998; MNIST-1D: Apache-2.0, Greydanus 2020) are in the
//! repository's `data/README.md`. Every random draw comes from an explicit seeded
//! generator ([`dl_tensor::TensorRng`], ChaCha8).
//!
//! Load the digits, split them 75/25 by class, standardise with training statistics, and
//! iterate over shuffled minibatches:
//!
//! ```
//! use dl_framework::data::{Standardizer, digits_split};
//! use dl_tensor::seeded_rng;
//!
//! let split = digits_split::<f32>(0.25, 0)?;
//! assert_eq!(split.train.len() + split.test.len(), 1797);
//! assert_eq!(split.train.feature_shape(), &[64]);
//!
//! let scaler = Standardizer::fit(split.train.features())?;
//! let (train, test) = (scaler.apply(&split.train)?, scaler.apply(&split.test)?);
//! assert_eq!(test.len(), split.test.len());
//!
//! let mut rng = seeded_rng(42);
//! for epoch in 0..2 {
//!     let mut seen = 0;
//!     for batch in train.batches(128, Some(&mut rng))? {
//!         let x = batch.features();      // (<= 128, 64)
//!         let y = batch.one_hot()?;      // (<= 128, 10)
//!         assert_eq!(x.shape()[0], y.shape()[0]);
//!         seen += batch.len();
//!     }
//!     assert_eq!(seen, train.len(), "epoch {epoch} visits every example once");
//! }
//! # Ok::<(), dl_framework::data::DataError>(())
//! ```

#![warn(missing_docs)]

mod batches;
mod csv;
mod dataset;
mod digits;
pub mod embedded;
mod error;
mod mnist1d;
mod synthetic;
mod transform;
mod user;

pub use batches::Batches;
pub use csv::CsvTable;
pub use dataset::{Dataset, Split, Targets, permutation};
pub use digits::{DIGITS_CLASSES, DIGITS_LEN, DIGITS_PIXELS, digits_split, load_digits, load_digits_from_dir};
pub use embedded::{Checksum, sha256_hex, verify_sha256};
pub use error::{DataError, Result};
pub use mnist1d::{MNIST1D_CLASSES, MNIST1D_LEN, Mnist1d, load_mnist1d, load_mnist1d_from_dir};
pub use synthetic::{Activation, ModOp, ModularArithmetic, Sinusoid, SparseParity, TeacherNetwork, TwoSpirals};
pub use transform::{Standardizer, one_hot};
pub use user::{
    DEFAULT_MAX_CLASSES, LoadOptions, load_csv, load_csv_regression, load_csv_regression_with, load_csv_with,
    load_npy_dataset, load_npy_dataset_with, load_npy_regression, load_npy_regression_with,
};
