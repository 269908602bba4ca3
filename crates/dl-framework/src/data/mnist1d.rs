//! MNIST-1D (Greydanus 2020; Apache-2.0): 4000 training and 1000 test sequences of
//! length 40 in 10 classes, made by the `mnist1d` package 0.0.2.post1 with its default
//! arguments (seed 42). A small dataset on which MLPs, CNNs and RNNs differ clearly.
//!
//! [`load_mnist1d`] reads the copy embedded in this crate (checksums verified on every
//! load) from its `.npy` files.

use std::path::Path;

use dl_tensor::{Element, Tensor, npy};

use super::dataset::Dataset;
use super::embedded::{
    Checksum, EmbeddedFile, MNIST1D_T, MNIST1D_X_TEST, MNIST1D_X_TRAIN, MNIST1D_Y_TEST, MNIST1D_Y_TRAIN, read_from_dir,
};
use super::error::{DataError, Result};

/// Number of classes.
pub const MNIST1D_CLASSES: usize = 10;
/// Length of each sequence in the vendored files.
pub const MNIST1D_LEN: usize = 40;

/// MNIST-1D: train and test sets and the sample positions `t`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist1d<T: Element> {
    /// 4000 sequences, features (4000, 40), labels 0..9.
    pub train: Dataset<T>,
    /// 1000 sequences, features (1000, 40), labels 0..9.
    pub test: Dataset<T>,
    /// The positions of the 40 samples, shape (40,).
    pub t: Tensor<T>,
}

/// Loads the embedded MNIST-1D.
///
/// Errors: a checksum mismatch of an embedded file (a corrupted build).
pub fn load_mnist1d<T: Element>() -> Result<Mnist1d<T>> {
    let read = |f: &EmbeddedFile| -> Result<(String, Vec<u8>)> { Ok((f.display_name(), f.verified_bytes()?.to_vec())) };
    assemble(read)
}

/// Loads `x_train.npy`, `y_train.npy`, `x_test.npy`, `y_test.npy` and `t.npy` from `dir`
/// in the vendored format; with [`Checksum::Verify`] they must be the vendored files.
/// Other sequence lengths and sizes are accepted if the files agree with each other.
///
/// Errors name the path: a missing or unreadable file, a wrong dtype or rank, train and
/// test lengths that differ, a label outside 0..9.
pub fn load_mnist1d_from_dir<T: Element>(dir: impl AsRef<Path>, checksum: Checksum) -> Result<Mnist1d<T>> {
    let dir = dir.as_ref();
    assemble(|f| read_from_dir(dir, f, checksum))
}

fn assemble<T: Element>(mut read: impl FnMut(&EmbeddedFile) -> Result<(String, Vec<u8>)>) -> Result<Mnist1d<T>> {
    let (t_name, t_bytes) = read(&MNIST1D_T)?;
    let t: Tensor<T> = npy::load_from_bytes(&t_name, &t_bytes)?;
    if t.ndim() != 1 {
        return Err(DataError::format(t_name, format!("expected shape (L,), got {:?}", t.shape())));
    }
    let len = t.shape()[0];
    let train = split(&mut read, &MNIST1D_X_TRAIN, &MNIST1D_Y_TRAIN, len)?;
    let test = split(&mut read, &MNIST1D_X_TEST, &MNIST1D_Y_TEST, len)?;
    Ok(Mnist1d { train, test, t })
}

fn split<T: Element>(
    read: &mut impl FnMut(&EmbeddedFile) -> Result<(String, Vec<u8>)>,
    xf: &EmbeddedFile,
    yf: &EmbeddedFile,
    len: usize,
) -> Result<Dataset<T>> {
    let (x_name, x_bytes) = read(xf)?;
    let x: Tensor<T> = npy::load_from_bytes(&x_name, &x_bytes)?;
    if x.ndim() != 2 || x.shape()[1] != len {
        return Err(DataError::format(
            x_name,
            format!("expected shape (N, {len}) to match t.npy, got {:?}", x.shape()),
        ));
    }
    let (y_name, y_bytes) = read(yf)?;
    let y = npy::load_indices_from_bytes(&y_name, &y_bytes)?;
    if y.ndim() != 1 || y.len() != x.shape()[0] {
        return Err(DataError::format(
            y_name,
            format!("expected shape ({},) to match {x_name}, got {:?}", x.shape()[0], y.shape()),
        ));
    }
    let labels: Vec<usize> = y.iter().copied().collect();
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= MNIST1D_CLASSES) {
        return Err(DataError::LabelOutOfRange { context: y_name, index, label, num_classes: MNIST1D_CLASSES });
    }
    Dataset::classification(x, labels, MNIST1D_CLASSES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the little-endian value at a byte offset computed from the raw header.
    fn raw_f64(bytes: &[u8], index: usize) -> f64 {
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        assert_eq!(bytes[6], 1);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let off = 10 + header_len + 8 * index;
        f64::from_le_bytes(bytes[off..off + 8].try_into().unwrap())
    }

    #[test]
    fn shapes_labels_and_a_raw_value() {
        let m = load_mnist1d::<f64>().unwrap();
        assert_eq!(m.train.features().shape(), &[4000, 40]);
        assert_eq!(m.test.features().shape(), &[1000, 40]);
        assert_eq!(m.t.shape(), &[40]);
        assert_eq!(m.train.labels().unwrap().len(), 4000);
        assert!(m.test.labels().unwrap().iter().all(|&l| l < 10));
        // All 10 classes occur in both sets.
        assert!(m.train.class_counts().unwrap().iter().all(|&c| c > 0));
        assert!(m.test.class_counts().unwrap().iter().all(|&c| c > 0));
        // x_train[123, 17] and the first label, read from the raw bytes.
        let x = m.train.features().to_vec();
        assert_eq!(x[123 * 40 + 17], raw_f64(MNIST1D_X_TRAIN.bytes, 123 * 40 + 17));
        assert_eq!(m.test.features().to_vec()[999 * 40 + 39], raw_f64(MNIST1D_X_TEST.bytes, 999 * 40 + 39));
        let y0 = i64::from_le_bytes(MNIST1D_Y_TRAIN.bytes[128..136].try_into().unwrap());
        assert_eq!(m.train.labels().unwrap()[0], y0 as usize);
        let f = load_mnist1d::<f32>().unwrap();
        assert_eq!(f.train.features().to_vec()[5], x[5] as f32);
    }

    #[test]
    fn directory_loading_reports_bad_files() {
        let dir = std::env::temp_dir().join(format!("dl-framework-mnist1d-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = load_mnist1d_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains("t.npy"), "{e}");
        for f in [MNIST1D_T, MNIST1D_X_TEST, MNIST1D_X_TRAIN, MNIST1D_Y_TEST, MNIST1D_Y_TRAIN] {
            std::fs::write(dir.join(f.name.rsplit('/').next().unwrap()), f.bytes).unwrap();
        }
        assert_eq!(load_mnist1d_from_dir::<f64>(&dir, Checksum::Verify).unwrap(), load_mnist1d::<f64>().unwrap());
        // Wrong shape: y_test with 3 labels.
        let y = Tensor::<f64>::from_vec(vec![0.0, 1.0, 2.0], &[3]).unwrap();
        npy::save(dir.join("y_test.npy"), &y).unwrap();
        let e = load_mnist1d_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains("y_test.npy"), "{e}");
        let e = load_mnist1d_from_dir::<f64>(&dir, Checksum::Verify).unwrap_err();
        assert!(matches!(e, DataError::Checksum { ref path, .. } if path.contains("y_test.npy")), "{e}");
        // Integer labels out of range: rewrite y_test with a 12.
        let mut bytes = MNIST1D_Y_TEST.bytes.to_vec();
        bytes[128..136].copy_from_slice(&12i64.to_le_bytes());
        std::fs::write(dir.join("y_test.npy"), &bytes).unwrap();
        let e = load_mnist1d_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err();
        assert!(matches!(e, DataError::LabelOutOfRange { label: 12, index: 0, .. }), "{e}");
        assert!(e.to_string().contains("y_test.npy"));
        // Garbage and truncation.
        std::fs::write(dir.join("x_train.npy"), b"garbage").unwrap();
        let e = load_mnist1d_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains("x_train.npy") && e.contains("magic"), "{e}");
        std::fs::write(dir.join("x_train.npy"), &MNIST1D_X_TRAIN.bytes[..5000]).unwrap();
        let e = load_mnist1d_from_dir::<f64>(&dir, Checksum::Skip).unwrap_err().to_string();
        assert!(e.contains("x_train.npy") && e.contains("payload"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
