//! Label noise as Nakkiran et al. (2019, "Deep double descent", Section 3) define it: each
//! training label independently, with probability `p`, is replaced by a label drawn
//! uniformly from the *other* `C − 1` classes; the noise is drawn once, before training.

use rand::{Rng, RngExt};

use super::{Result, invalid};

/// Labels with noise, and which of them were changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoisyLabels {
    /// The labels after corruption.
    pub labels: Vec<usize>,
    /// `true` where a label was replaced (by a different class).
    pub corrupted: Vec<bool>,
}

impl NoisyLabels {
    /// The fraction of labels that were replaced.
    pub fn corrupted_fraction(&self) -> f64 {
        if self.labels.is_empty() {
            return 0.0;
        }
        self.corrupted.iter().filter(|&&c| c).count() as f64 / self.labels.len() as f64
    }
}

/// Replaces each label with probability `probability` by a uniformly random incorrect label
/// among `num_classes` classes.
///
/// Errors: `num_classes < 2`, a probability outside `[0, 1]`, a label `>= num_classes`.
pub fn corrupt_labels<R: Rng + ?Sized>(
    labels: &[usize],
    num_classes: usize,
    probability: f64,
    rng: &mut R,
) -> Result<NoisyLabels> {
    let op = "corrupt_labels";
    if num_classes < 2 {
        return Err(invalid(op, "num_classes", num_classes, "must be at least 2"));
    }
    if !(0.0..=1.0).contains(&probability) {
        return Err(invalid(op, "probability", probability, "must lie in [0, 1]"));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= num_classes) {
        return Err(invalid(
            op,
            "labels",
            format!("{l} at index {i}"),
            format!("must be below num_classes = {num_classes}"),
        ));
    }
    let mut out = Vec::with_capacity(labels.len());
    let mut corrupted = Vec::with_capacity(labels.len());
    for &l in labels {
        // two draws per label whatever happens, so one label's fate does not shift the
        // stream of the next
        let flip = rng.random::<f64>() < probability;
        let other = rng.random_range(0..num_classes - 1);
        if flip {
            out.push(if other >= l { other + 1 } else { other });
            corrupted.push(true);
        } else {
            out.push(l);
            corrupted.push(false);
        }
    }
    Ok(NoisyLabels { labels: out, corrupted })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn corrupted_labels_differ_and_the_rate_matches_the_probability() {
        let n = 20_000;
        let labels: Vec<usize> = (0..n).map(|i| i % 10).collect();
        let noisy = corrupt_labels(&labels, 10, 0.15, &mut seeded_rng(0)).unwrap();
        for ((a, b), c) in labels.iter().zip(&noisy.labels).zip(&noisy.corrupted) {
            assert_eq!(a != b, *c, "a corrupted label is always a different class");
            assert!(*b < 10);
        }
        // binomial(20000, 0.15): sd = sqrt(0.15 * 0.85 / 20000) = 0.0025; 4 sd
        assert!((noisy.corrupted_fraction() - 0.15).abs() < 0.01, "{}", noisy.corrupted_fraction());
        // the new label is uniform over the other 9 classes: for true label 0, each of
        // 1..9 gets ~1/9 of the ~300 corruptions (sd ~ 10 per class; 5 sd)
        let mut counts = [0usize; 10];
        for (a, b) in labels.iter().zip(&noisy.labels) {
            if *a == 0 && *b != 0 {
                counts[*b] += 1;
            }
        }
        let total: usize = counts.iter().sum();
        for &c in &counts[1..] {
            assert!((c as f64 - total as f64 / 9.0).abs() < 50.0, "{counts:?}");
        }
    }

    #[test]
    fn edge_probabilities_and_bad_arguments() {
        let labels = [0, 1, 2, 1];
        assert_eq!(corrupt_labels(&labels, 3, 0.0, &mut seeded_rng(1)).unwrap().labels, labels);
        assert!(corrupt_labels(&labels, 3, 1.0, &mut seeded_rng(1)).unwrap().corrupted.iter().all(|c| *c));
        assert!(
            corrupt_labels(&labels, 1, 0.1, &mut seeded_rng(1)).unwrap_err().to_string().contains("num_classes = 1")
        );
        assert!(
            corrupt_labels(&labels, 3, 1.5, &mut seeded_rng(1)).unwrap_err().to_string().contains("probability = 1.5")
        );
        let e = corrupt_labels(&[0, 5], 3, 0.1, &mut seeded_rng(1)).unwrap_err().to_string();
        assert!(e.contains("5 at index 1"), "{e}");
        assert!(corrupt_labels(&labels, 3, f64::NAN, &mut seeded_rng(1)).is_err());
    }
}
