//! [`DataError`]: what went wrong while loading, validating or generating data.
//!
//! Every variant names where the problem is: the file (path, or the name of an embedded
//! file), and for text formats the line and column, so that a message such as
//! `data/mine.csv:17: column 3: 'abc' is not a number` can be acted on directly.

use dl_tensor::TensorError;

/// An error from the `data` module. Nothing in this module panics on malformed input;
/// every public entry point that reads external data or takes sizes returns this error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A file could not be read (missing, permissions, not valid UTF-8 text, ...).
    #[error("{path}: cannot read: {detail}")]
    Io {
        /// The file's path (or the name of an embedded file).
        path: String,
        /// The operating system's or decoder's message.
        detail: String,
    },
    /// A file's SHA-256 differs from the checksum it must have.
    #[error("{path}: SHA-256 mismatch: expected {expected}, found {found}")]
    Checksum {
        /// The file's path (or the name of an embedded file).
        path: String,
        /// The expected hex digest.
        expected: String,
        /// The digest of the bytes that were read.
        found: String,
    },
    /// A file's content is malformed as a whole (bad gzip stream, wrong array rank, ...).
    #[error("{path}: {detail}")]
    Format {
        /// The file's path (or the name of an embedded file).
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A cell of a text file is malformed. `line` and `column` count from 1.
    #[error("{path}:{line}: column {column}: {detail}")]
    Cell {
        /// The file's path (or the name of an embedded file).
        path: String,
        /// The line, counting from 1.
        line: usize,
        /// The comma-separated column, counting from 1.
        column: usize,
        /// What is wrong with the cell.
        detail: String,
    },
    /// A line of a text file has a different number of cells than the first line.
    #[error("{path}:{line}: {found} columns, but line {first_line} has {expected}")]
    RaggedRow {
        /// The file's path.
        path: String,
        /// The offending line, counting from 1.
        line: usize,
        /// Number of cells on the offending line.
        found: usize,
        /// Number of cells on the first line.
        expected: usize,
        /// The first line (the header if there is one), counting from 1.
        first_line: usize,
    },
    /// Features and targets disagree in the number of examples, or a shape is unusable.
    #[error("{context}: {detail}")]
    Shape {
        /// Where (an operation, or a path).
        context: String,
        /// The shapes or lengths that disagree.
        detail: String,
    },
    /// A class label is not below the number of classes.
    #[error("{context}: label {label} of example {index} is out of range for {num_classes} classes")]
    LabelOutOfRange {
        /// Where (an operation, or a path).
        context: String,
        /// The example's position.
        index: usize,
        /// The offending label.
        label: usize,
        /// The number of classes (labels must be `< num_classes`).
        num_classes: usize,
    },
    /// An argument is outside its domain (a fraction outside [0, 1], a zero batch size, ...).
    #[error("{op}: {detail}")]
    InvalidArgument {
        /// The function that was called.
        op: &'static str,
        /// Which argument and why.
        detail: String,
    },
    /// A tensor operation or `.npy` read failed; its message names the op or the path.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// Result with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn invalid(op: &'static str, detail: impl Into<String>) -> Self {
        DataError::InvalidArgument { op, detail: detail.into() }
    }

    pub(crate) fn shape(context: impl Into<String>, detail: impl Into<String>) -> Self {
        DataError::Shape { context: context.into(), detail: detail.into() }
    }

    pub(crate) fn format(path: impl Into<String>, detail: impl Into<String>) -> Self {
        DataError::Format { path: path.into(), detail: detail.into() }
    }
}
