//! Errors of the runner and of single experiments. Every message names the path, the
//! experiment or the field it is about.

use std::path::PathBuf;

/// Why one experiment failed. The runner records the message in the index as FAILED.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A tensor operation failed (shape, axis or argument error from `dl-tensor`).
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] dl_tensor::TensorError),
    /// A differentiation failed (from `dl-autodiff`).
    #[error("autodiff: {0}")]
    Autodiff(#[from] dl_autodiff::AutodiffError),
    /// A signal-propagation computation failed (from `dl-init`).
    #[error("signal propagation: {0}")]
    Init(#[from] dl_init::InitError),
    /// A layer's forward pass or construction failed (from `dl-layers`).
    #[error("layer: {0}")]
    Layer(#[from] dl_layers::LayerError),
    /// Building, training, evaluating or loading data in dl-framework failed (the error
    /// names the field, path or layer).
    #[error("framework: {0}")]
    Framework(#[from] dl_framework::FrameworkError),
    /// A construction or check of dl-theory's expressivity module failed.
    #[error("expressivity: {0}")]
    Expressivity(#[from] dl_theory::expressivity::ExpressivityError),
    /// dl-theory's region counter failed.
    #[error("linear regions: {0}")]
    Regions(#[from] dl_theory::regions::RegionError),
    /// Writing one of the experiment's files failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Drawing a figure failed.
    #[error("figure {figure}: {detail}")]
    Plot {
        /// The figure's file stem.
        figure: String,
        /// What the plotting library said.
        detail: String,
    },
    /// A metrics table was given a row of the wrong width.
    #[error("table {table}: row has {got} cells but the table has {expected} columns")]
    TableRow {
        /// The table's name.
        table: String,
        /// Number of columns declared.
        expected: usize,
        /// Number of cells in the rejected row.
        got: usize,
    },
    /// The experiment itself found something wrong (an invariant that did not hold).
    #[error("{0}")]
    Invalid(String),
}

/// Why a whole `cargo xtask experiments` invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// `--only` named an id that is not registered.
    #[error("unknown experiment id `{id}`; valid ids are: {}", valid.join(", "))]
    UnknownId {
        /// The id that was asked for.
        id: String,
        /// Every registered id.
        valid: Vec<String>,
    },
    /// `--out` names a file (or a path below a file), not a directory.
    #[error("--out {path}: {file} is a file, not a directory; name a directory for the results")]
    OutIsAFile {
        /// The path given with `--out`.
        path: PathBuf,
        /// The file in the way (`path` itself or one of its parents).
        file: PathBuf,
    },
    /// The output directory cannot be created or written.
    #[error("output directory {path} is not writable: {source}")]
    OutDir {
        /// The directory given with `--out`.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A report file (`index.md`, `index.html`, a `metrics.json`) could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Some experiments failed; the index was written and marks them FAILED.
    #[error("{} of {total} experiments failed: {} (see {index})", failed.len(), failed.join(", "))]
    ExperimentsFailed {
        /// Ids of the failed experiments.
        failed: Vec<String>,
        /// Number of experiments run.
        total: usize,
        /// Path of the index report that lists the failures.
        index: PathBuf,
    },
    /// Some experiments of a share failed; its manifest was written and names them.
    #[error("share {shard}: {} of {total} experiments failed: {} (see {manifest}); run the share again into the same directory", failed.len(), failed.join(", "))]
    ShareFailed {
        /// The share, `k/n`.
        shard: String,
        /// Ids of the failed experiments.
        failed: Vec<String>,
        /// Number of experiments assigned to the share.
        total: usize,
        /// Path of the share's manifest.
        manifest: PathBuf,
    },
    /// The share of this process could not be determined.
    #[error(transparent)]
    Shard(#[from] crate::shard::ShardError),
    /// The shares could not be merged.
    #[error(transparent)]
    Merge(#[from] crate::merge::MergeError),
}
