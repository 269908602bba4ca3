//! Target and feature transforms: [`one_hot`] encoding of labels, and the
//! [`Standardizer`] that is fitted on training features and applied to test features.

use dl_tensor::{Element, Tensor};

use super::dataset::{Dataset, row_len};
use super::error::{DataError, Result};

/// One-hot rows: a (labels.len(), num_classes) tensor with a 1 at `(i, labels[i])`.
///
/// Errors: a label `>= num_classes` ([`DataError::LabelOutOfRange`]).
pub fn one_hot<T: Element>(labels: &[usize], num_classes: usize) -> Result<Tensor<T>> {
    // a size no machine can hold is refused here, not in the allocator (small ones skip
    // the read of the available memory)
    if labels.len().checked_mul(num_classes).is_none_or(|n| n > 1 << 24) {
        dl_tensor::MemoryLimit::available().check_tensor::<T>(
            format!("one_hot: {} labels x {num_classes} classes", labels.len()),
            &[labels.len(), num_classes],
        )?;
    }
    let mut out = vec![T::zero(); labels.len() * num_classes];
    for (i, &c) in labels.iter().enumerate() {
        if c >= num_classes {
            return Err(DataError::LabelOutOfRange { context: "one_hot".into(), index: i, label: c, num_classes });
        }
        out[i * num_classes + c] = T::one();
    }
    Ok(Tensor::from_vec(out, &[labels.len(), num_classes])?)
}

impl<T: Element> Dataset<T> {
    /// The labels one-hot encoded, shape (N, num_classes).
    ///
    /// Errors: a regression dataset.
    pub fn one_hot(&self) -> Result<Tensor<T>> {
        match (self.labels(), self.num_classes()) {
            (Some(l), Some(k)) => one_hot(l, k),
            _ => Err(DataError::invalid("Dataset::one_hot", "needs class labels, but this is a regression dataset")),
        }
    }
}

/// Per-feature standardisation `(x - mean) / std`, fitted on one set (the training set)
/// and applied unchanged to others (the test set), so no test statistics leak into
/// training. Each element of the per-example feature shape is one feature. The standard
/// deviation is the population one (divide by N); a feature whose standard deviation is
/// below `1e-12` (for instance a pixel that is always 0) is only centred (scale 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// The per-example feature shape the standardiser was fitted on.
    pub feature_shape: Vec<usize>,
    /// Per-feature mean, row-major over `feature_shape`.
    pub mean: Vec<f64>,
    /// Per-feature scale: the standard deviation, or 1 for a constant feature.
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits means and standard deviations (accumulated in f64) over the N examples of
    /// `features` (shape (N, ...)).
    ///
    /// Errors: a 0-d tensor or N = 0.
    pub fn fit<T: Element>(features: &Tensor<T>) -> Result<Self> {
        let shape = features.shape();
        if shape.is_empty() || shape[0] == 0 {
            return Err(DataError::shape(
                "Standardizer::fit",
                format!("needs features of shape (N, ...) with N >= 1, got {shape:?}"),
            ));
        }
        let (n, d) = (shape[0], row_len(shape));
        let x = features.contiguous();
        let v = x.as_slice().expect("contiguous");
        let mut mean = vec![0.0; d];
        for row in v.chunks_exact(d.max(1)).take(n) {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += x.to_f64_exact();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for row in v.chunks_exact(d.max(1)).take(n) {
            for ((s, x), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (x.to_f64_exact() - m).powi(2);
            }
        }
        let scale = var.iter().map(|s| (s / n as f64).sqrt()).map(|sd| if sd < 1e-12 { 1.0 } else { sd }).collect();
        Ok(Standardizer { feature_shape: shape[1..].to_vec(), mean, scale })
    }

    /// Applies `(x - mean) / scale` to features of shape (M, feature_shape...).
    ///
    /// Errors: a feature shape different from the fitted one.
    pub fn transform<T: Element>(&self, features: &Tensor<T>) -> Result<Tensor<T>> {
        self.map(features, "Standardizer::transform", |x, m, s| (x - m) / s)
    }

    /// Undoes [`transform`](Self::transform): `z * scale + mean`.
    pub fn inverse_transform<T: Element>(&self, features: &Tensor<T>) -> Result<Tensor<T>> {
        self.map(features, "Standardizer::inverse_transform", |z, m, s| z * s + m)
    }

    /// A copy of `data` with standardised features.
    pub fn apply<T: Element>(&self, data: &Dataset<T>) -> Result<Dataset<T>> {
        data.with_features(self.transform(data.features())?)
    }

    fn map<T: Element>(&self, features: &Tensor<T>, op: &str, f: impl Fn(f64, f64, f64) -> f64) -> Result<Tensor<T>> {
        let shape = features.shape();
        if shape.len() != self.feature_shape.len() + 1 || shape[1..] != self.feature_shape[..] {
            return Err(DataError::shape(
                op,
                format!("fitted on examples of shape {:?}, got features {shape:?}", self.feature_shape),
            ));
        }
        let d = self.mean.len().max(1);
        let x = features.contiguous();
        let out = x
            .as_slice()
            .expect("contiguous")
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let j = i % d;
                T::from_f64_lossy(f(v.to_f64_exact(), self.mean[j], self.scale[j]))
            })
            .collect();
        Ok(Tensor::from_vec(out, shape)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_rows() {
        let t = one_hot::<f32>(&[2, 0], 3).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_vec(), vec![0., 0., 1., 1., 0., 0.]);
        assert!(matches!(one_hot::<f64>(&[3], 3), Err(DataError::LabelOutOfRange { label: 3, .. })));
        let r = Dataset::regression(Tensor::<f64>::zeros(&[2, 1]), Tensor::zeros(&[2])).unwrap();
        assert!(r.one_hot().is_err());
    }

    #[test]
    fn standardizer_fit_on_train_applied_to_test() {
        // Column 0: 1, 2, 3 -> mean 2, population std sqrt(2/3); column 1 constant 5.
        let train = Tensor::<f64>::from_vec(vec![1., 5., 2., 5., 3., 5.], &[3, 2]).unwrap();
        let s = Standardizer::fit(&train).unwrap();
        assert_eq!(s.mean, vec![2.0, 5.0]);
        assert!((s.scale[0] - (2.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(s.scale[1], 1.0);
        let test = Tensor::<f64>::from_vec(vec![4., 6.], &[1, 2]).unwrap();
        let z = s.transform(&test).unwrap().to_vec();
        assert!((z[0] - 2.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(z[1], 1.0);
        let back = s.inverse_transform(&s.transform(&test).unwrap()).unwrap().to_vec();
        assert!((back[0] - 4.0).abs() < 1e-12 && (back[1] - 6.0).abs() < 1e-12);
        let zt = s.transform(&train).unwrap().to_vec();
        let m0 = (zt[0] + zt[2] + zt[4]) / 3.0;
        assert!(m0.abs() < 1e-15);
        let e = s.transform(&Tensor::<f64>::zeros(&[2, 3])).unwrap_err().to_string();
        assert!(e.contains("[2]") && e.contains("[2, 3]"), "{e}");
        assert!(Standardizer::fit(&Tensor::<f64>::zeros(&[0, 3])).is_err());
    }
}
