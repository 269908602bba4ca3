//! [`Dataset`]: features of shape (N, ...) with class labels or regression targets,
//! validated on construction, with `subset`, `split_at`, `random_split` and
//! `stratified_split`.
//!
//! Rows are gathered by copying contiguous row blocks, so a subset of a dataset is a new
//! dataset that owns its data (cheap at the sizes used here: at most a few MB).

use dl_tensor::{Element, Tensor};
use rand::{Rng, RngExt};

use super::error::{DataError, Result};

/// What a dataset predicts.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T: Element> {
    /// Class labels `0..num_classes`, one per example.
    Classes {
        /// One label per example.
        labels: Vec<usize>,
        /// The number of classes; every label is below it.
        num_classes: usize,
    },
    /// Real-valued targets of shape (N, ...), one row per example.
    Regression(Tensor<T>),
}

/// Features of shape (N, ...) and their targets, N examples. Construction validates that
/// features and targets have the same N and that every label is below `num_classes`, so a
/// `Dataset` value is always consistent.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T: Element> {
    features: Tensor<T>,
    targets: Targets<T>,
}

/// A training set and a test set.
#[derive(Clone, Debug, PartialEq)]
pub struct Split<T: Element> {
    /// The training examples.
    pub train: Dataset<T>,
    /// The held-out examples.
    pub test: Dataset<T>,
}

/// The number of elements in one example of a tensor of shape (N, ...).
pub(crate) fn row_len(shape: &[usize]) -> usize {
    shape.iter().skip(1).product()
}

/// Copies rows `indices` of a (N, ...) tensor into a new (indices.len(), ...) tensor.
/// The caller has checked that every index is below N.
pub(crate) fn gather_rows<T: Element>(t: &Tensor<T>, indices: &[usize]) -> Tensor<T> {
    let t = t.contiguous();
    let mut shape = t.shape().to_vec();
    let d = row_len(&shape);
    let src = t.as_slice().expect("contiguous tensor has a slice");
    let mut out = Vec::with_capacity(indices.len() * d);
    for &i in indices {
        out.extend_from_slice(&src[i * d..(i + 1) * d]);
    }
    shape[0] = indices.len();
    Tensor::from_vec(out, &shape).expect("length matches shape")
}

/// A uniformly random permutation of `0..n` (Fisher–Yates, drawing from `rng`).
pub fn permutation<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        p.swap(i, j);
    }
    p
}

/// Checks that `fraction` is a number in [0, 1].
pub(crate) fn check_fraction(op: &'static str, name: &str, fraction: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(DataError::invalid(op, format!("{name} must be in [0, 1], got {fraction}")));
    }
    Ok(())
}

impl<T: Element> Dataset<T> {
    /// A dataset from features (N, ...) and targets, checking that they agree.
    ///
    /// Errors: features with no leading dimension, targets whose length differs from N,
    /// a label `>= num_classes` ([`DataError::LabelOutOfRange`]).
    pub fn new(features: Tensor<T>, targets: Targets<T>) -> Result<Self> {
        let ctx = "Dataset::new";
        let Some(&n) = features.shape().first() else {
            return Err(DataError::shape(ctx, "features must have shape (N, ...), got a 0-d tensor"));
        };
        match &targets {
            Targets::Classes { labels, num_classes } => {
                if labels.len() != n {
                    return Err(DataError::shape(
                        ctx,
                        format!(
                            "features {:?} have {n} examples but there are {} labels",
                            features.shape(),
                            labels.len()
                        ),
                    ));
                }
                // Counting classes (class_counts, one_hot rows) allocates one slot per
                // class: a count no machine can hold is refused here, not in the allocator.
                if *num_classes > 1 << 20 {
                    dl_tensor::MemoryLimit::available()
                        .check_tensor::<usize>(format!("{ctx}: counting {num_classes} classes"), &[*num_classes])?;
                }
                if let Some((index, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= *num_classes) {
                    return Err(DataError::LabelOutOfRange {
                        context: ctx.into(),
                        index,
                        label,
                        num_classes: *num_classes,
                    });
                }
            }
            Targets::Regression(y) => {
                if y.shape().first() != Some(&n) {
                    return Err(DataError::shape(
                        ctx,
                        format!(
                            "features {:?} and regression targets {:?} differ in N (the first dimension)",
                            features.shape(),
                            y.shape()
                        ),
                    ));
                }
            }
        }
        Ok(Dataset { features, targets })
    }

    /// A classification dataset: features (N, ...), `labels` of length N, each `< num_classes`.
    pub fn classification(features: Tensor<T>, labels: Vec<usize>, num_classes: usize) -> Result<Self> {
        Self::new(features, Targets::Classes { labels, num_classes })
    }

    /// A regression dataset: features (N, ...) and targets (N, ...).
    pub fn regression(features: Tensor<T>, targets: Tensor<T>) -> Result<Self> {
        Self::new(features, Targets::Regression(targets))
    }

    /// The number of examples N.
    pub fn len(&self) -> usize {
        self.features.shape()[0]
    }

    /// True if there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The features, shape (N, ...).
    pub fn features(&self) -> &Tensor<T> {
        &self.features
    }

    /// The shape of one example's features (the feature shape without N).
    pub fn feature_shape(&self) -> &[usize] {
        &self.features.shape()[1..]
    }

    /// The targets.
    pub fn targets(&self) -> &Targets<T> {
        &self.targets
    }

    /// The class labels, if this is a classification dataset.
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Regression(_) => None,
        }
    }

    /// The number of classes, if this is a classification dataset.
    pub fn num_classes(&self) -> Option<usize> {
        match &self.targets {
            Targets::Classes { num_classes, .. } => Some(*num_classes),
            Targets::Regression(_) => None,
        }
    }

    /// The regression targets, if this is a regression dataset.
    pub fn regression_targets(&self) -> Option<&Tensor<T>> {
        match &self.targets {
            Targets::Regression(y) => Some(y),
            Targets::Classes { .. } => None,
        }
    }

    /// Splits into its features and targets.
    pub fn into_parts(self) -> (Tensor<T>, Targets<T>) {
        (self.features, self.targets)
    }

    /// The same targets with new features (for example standardised ones); the new
    /// features must have the same N.
    pub fn with_features(&self, features: Tensor<T>) -> Result<Self> {
        Self::new(features, self.targets.clone())
    }

    /// The dataset in another float type (features and regression targets converted).
    pub fn cast<U: Element>(&self) -> Dataset<U> {
        let targets = match &self.targets {
            Targets::Classes { labels, num_classes } => {
                Targets::Classes { labels: labels.clone(), num_classes: *num_classes }
            }
            Targets::Regression(y) => Targets::Regression(y.cast::<U>()),
        };
        Dataset { features: self.features.cast::<U>(), targets }
    }

    /// The examples at `indices`, in that order (repeats allowed).
    ///
    /// Errors: an index `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        let n = self.len();
        if let Some((pos, &i)) = indices.iter().enumerate().find(|(_, i)| **i >= n) {
            return Err(DataError::invalid(
                "Dataset::subset",
                format!("index {i} (position {pos}) is out of range for {n} examples"),
            ));
        }
        let features = gather_rows(&self.features, indices);
        let targets = match &self.targets {
            Targets::Classes { labels, num_classes } => {
                Targets::Classes { labels: indices.iter().map(|&i| labels[i]).collect(), num_classes: *num_classes }
            }
            Targets::Regression(y) => Targets::Regression(gather_rows(y, indices)),
        };
        Ok(Dataset { features, targets })
    }

    /// The first `n_first` examples and the rest, in order.
    pub fn split_at(&self, n_first: usize) -> Result<(Self, Self)> {
        if n_first > self.len() {
            return Err(DataError::invalid(
                "Dataset::split_at",
                format!("cannot take {n_first} of {} examples", self.len()),
            ));
        }
        let first: Vec<usize> = (0..n_first).collect();
        let rest: Vec<usize> = (n_first..self.len()).collect();
        Ok((self.subset(&first)?, self.subset(&rest)?))
    }

    /// A random split: a permutation drawn from `rng`, its first `round(N * test_fraction)`
    /// indices to the test set; both sides keep the original order of their examples.
    pub fn random_split<R: Rng + ?Sized>(&self, test_fraction: f64, rng: &mut R) -> Result<Split<T>> {
        check_fraction("Dataset::random_split", "test_fraction", test_fraction)?;
        let perm = permutation(self.len(), rng);
        let n_test = (self.len() as f64 * test_fraction).round() as usize;
        let mut test = perm[..n_test].to_vec();
        let mut train = perm[n_test..].to_vec();
        test.sort_unstable();
        train.sort_unstable();
        Ok(Split { train: self.subset(&train)?, test: self.subset(&test)? })
    }

    /// A stratified split of a classification dataset: for each class `c` in turn, the
    /// indices of class `c` (in dataset order) are shuffled by Fisher–Yates with one
    /// generator `rng` (shared across classes, used in class order), and the first
    /// `round(n_c * test_fraction)` go to the test set. Both sides keep the original order
    /// of their examples. Class proportions are preserved to within one example per class.
    ///
    /// Errors: a regression dataset, `test_fraction` outside [0, 1].
    pub fn stratified_split<R: Rng + ?Sized>(&self, test_fraction: f64, rng: &mut R) -> Result<Split<T>> {
        let op = "Dataset::stratified_split";
        check_fraction(op, "test_fraction", test_fraction)?;
        let (Some(labels), Some(k)) = (self.labels(), self.num_classes()) else {
            return Err(DataError::invalid(op, "needs class labels, but this is a regression dataset"));
        };
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &c) in labels.iter().enumerate() {
            by_class[c].push(i);
        }
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for members in &by_class {
            let order = permutation(members.len(), rng);
            let n_test = (members.len() as f64 * test_fraction).round() as usize;
            test.extend(order[..n_test].iter().map(|&j| members[j]));
            train.extend(order[n_test..].iter().map(|&j| members[j]));
        }
        test.sort_unstable();
        train.sort_unstable();
        Ok(Split { train: self.subset(&train)?, test: self.subset(&test)? })
    }

    /// The number of examples of each class (`None` for regression).
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let (labels, k) = (self.labels()?, self.num_classes()?);
        let mut counts = vec![0; k];
        for &c in labels {
            counts[c] += 1;
        }
        Some(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    fn toy() -> Dataset<f64> {
        let x = Tensor::from_vec((0..20).map(f64::from).collect(), &[10, 2]).unwrap();
        Dataset::classification(x, vec![0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 3).unwrap()
    }

    #[test]
    fn validation_names_the_problem() {
        let x = Tensor::<f64>::zeros(&[4, 3]);
        let e = Dataset::classification(x.clone(), vec![0, 1, 2], 3).unwrap_err().to_string();
        assert!(e.contains("4 examples") && e.contains("3 labels"), "{e}");
        let e = Dataset::classification(x.clone(), vec![0, 1, 5, 0], 3).unwrap_err();
        assert_eq!(
            e,
            DataError::LabelOutOfRange { context: "Dataset::new".into(), index: 2, label: 5, num_classes: 3 }
        );
        let e = Dataset::regression(x.clone(), Tensor::zeros(&[5, 1])).unwrap_err().to_string();
        assert!(e.contains("[4, 3]") && e.contains("[5, 1]"), "{e}");
        assert!(Dataset::regression(Tensor::scalar(1.0), Tensor::zeros(&[1])).is_err());
        assert!(Dataset::regression(x, Tensor::zeros(&[4])).is_ok());
    }

    #[test]
    fn subset_gathers_rows_and_labels() {
        let d = toy();
        let s = d.subset(&[3, 0, 3]).unwrap();
        assert_eq!(s.features().to_vec(), vec![6., 7., 0., 1., 6., 7.]);
        assert_eq!(s.labels().unwrap(), &[0, 0, 0]);
        assert!(d.subset(&[10]).unwrap_err().to_string().contains("index 10"));
        let (a, b) = d.split_at(4).unwrap();
        assert_eq!((a.len(), b.len()), (4, 6));
        assert_eq!(b.features().to_vec()[0], 8.0);
        assert!(d.split_at(11).is_err());
        assert_eq!(d.class_counts().unwrap(), vec![4, 3, 3]);
    }

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let p = permutation(50, &mut seeded_rng(1));
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(p, permutation(50, &mut seeded_rng(1)));
        assert_ne!(p, permutation(50, &mut seeded_rng(2)));
    }

    #[test]
    fn random_and_stratified_splits_partition() {
        let d = toy();
        let s = d.random_split(0.3, &mut seeded_rng(0)).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (7, 3));
        let s = d.stratified_split(0.5, &mut seeded_rng(0)).unwrap();
        // round(4 * 0.5) + round(3 * 0.5) * 2 = 2 + 2 + 2
        assert_eq!(s.test.class_counts().unwrap(), vec![2, 2, 2]);
        let mut all: Vec<f64> = s.train.features().to_vec();
        all.extend(s.test.features().to_vec());
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..20).map(f64::from).collect::<Vec<_>>());
        assert!(d.stratified_split(1.5, &mut seeded_rng(0)).is_err());
        assert!(d.stratified_split(f64::NAN, &mut seeded_rng(0)).is_err());
        let r = Dataset::regression(Tensor::<f64>::zeros(&[3, 1]), Tensor::zeros(&[3])).unwrap();
        assert!(r.stratified_split(0.5, &mut seeded_rng(0)).unwrap_err().to_string().contains("regression"));
    }

    proptest::proptest! {
        /// For any labels and fraction, a stratified split is a partition whose test side
        /// holds round(n_c * fraction) examples of each class c, the same for the same seed.
        #[test]
        fn stratified_split_partitions_by_class(
            labels in proptest::collection::vec(0usize..4, 0..60),
            fraction in 0.0f64..=1.0,
            seed in 0u64..1000,
        ) {
            let n = labels.len();
            let x = Tensor::<f64>::from_vec((0..n).map(|i| i as f64).collect(), &[n, 1]).unwrap();
            let d = Dataset::classification(x, labels.clone(), 4).unwrap();
            let s = d.stratified_split(fraction, &mut seeded_rng(seed)).unwrap();
            let mut ids: Vec<usize> = s.train.features().to_vec().iter().chain(&s.test.features().to_vec()).map(|v| *v as usize).collect();
            ids.sort_unstable();
            proptest::prop_assert_eq!(ids, (0..n).collect::<Vec<_>>());
            for c in 0..4 {
                let n_c = labels.iter().filter(|&&l| l == c).count();
                let t_c = s.test.labels().unwrap().iter().filter(|&&l| l == c).count();
                proptest::prop_assert_eq!(t_c, (n_c as f64 * fraction).round() as usize);
            }
            // Each side's rows keep their own labels.
            for side in [&s.train, &s.test] {
                for (v, &l) in side.features().to_vec().iter().zip(side.labels().unwrap()) {
                    proptest::prop_assert_eq!(labels[*v as usize], l);
                }
            }
            proptest::prop_assert_eq!(&s, &d.stratified_split(fraction, &mut seeded_rng(seed)).unwrap());
        }
    }

    #[test]
    fn cast_keeps_values() {
        let d = toy().cast::<f32>();
        assert_eq!(d.features().to_vec()[19], 19.0f32);
        assert_eq!(d.num_classes(), Some(3));
    }
}
