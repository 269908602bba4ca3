//! Seeded minibatches: [`Dataset::batches`] and the [`Batches`] iterator.
//!
//! Epoch shuffling draws one permutation from an explicit generator when the iterator is
//! made. Calling `batches` once per epoch with the same generator gives a new order each
//! epoch, and the whole sequence of epochs is fixed by the generator's seed.

use dl_tensor::Element;
use rand::Rng;

use super::dataset::{Dataset, permutation};
use super::error::{DataError, Result};

/// An iterator over minibatches of a dataset; each batch is itself a [`Dataset`] holding
/// a copy of its examples. Made by [`Dataset::batches`].
#[derive(Clone, Debug)]
pub struct Batches<'a, T: Element> {
    data: &'a Dataset<T>,
    order: Vec<usize>,
    batch_size: usize,
    pos: usize,
    drop_last: bool,
}

impl<'a, T: Element> Batches<'a, T> {
    /// Skips a final batch smaller than `batch_size`.
    pub fn drop_last(mut self) -> Self {
        self.drop_last = true;
        self
    }

    /// The order in which examples are visited this epoch (dataset indices).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The number of batches this iterator yields in total.
    pub fn num_batches(&self) -> usize {
        let n = self.order.len();
        if self.drop_last { n / self.batch_size } else { n.div_ceil(self.batch_size) }
    }
}

impl<'a, T: Element> Iterator for Batches<'a, T> {
    type Item = Dataset<T>;

    fn next(&mut self) -> Option<Dataset<T>> {
        let remaining = self.order.len() - self.pos;
        if remaining == 0 || (self.drop_last && remaining < self.batch_size) {
            return None;
        }
        let end = self.pos + remaining.min(self.batch_size);
        let batch = self.data.subset(&self.order[self.pos..end]).expect("order holds valid indices");
        self.pos = end;
        Some(batch)
    }
}

impl<T: Element> Dataset<T> {
    /// Minibatches of `batch_size` examples. With `shuffle = Some(rng)` the examples are
    /// visited in the order of one permutation drawn from `rng` (Fisher–Yates); with
    /// `None`, in dataset order. The last batch may be smaller (see [`Batches::drop_last`]).
    ///
    /// Errors: `batch_size == 0`.
    pub fn batches<R: Rng + ?Sized>(&self, batch_size: usize, shuffle: Option<&mut R>) -> Result<Batches<'_, T>> {
        if batch_size == 0 {
            return Err(DataError::invalid("Dataset::batches", "batch_size must be at least 1"));
        }
        let order = match shuffle {
            Some(rng) => permutation(self.len(), rng),
            None => (0..self.len()).collect(),
        };
        Ok(Batches { data: self, order, batch_size, pos: 0, drop_last: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::{Tensor, TensorRng, seeded_rng};

    fn data(n: usize) -> Dataset<f32> {
        let x = Tensor::from_vec((0..n).map(|v| v as f32).collect(), &[n, 1]).unwrap();
        Dataset::classification(x, (0..n).map(|i| i % 2).collect(), 2).unwrap()
    }

    #[test]
    fn sequential_batches_cover_in_order() {
        let d = data(10);
        let b: Vec<_> = d.batches::<TensorRng>(4, None).unwrap().collect();
        assert_eq!(b.iter().map(Dataset::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        assert_eq!(b[2].features().to_vec(), vec![8.0, 9.0]);
        assert_eq!(b[1].labels().unwrap(), &[0, 1, 0, 1]);
        let it = d.batches::<TensorRng>(4, None).unwrap().drop_last();
        assert_eq!(it.num_batches(), 2);
        assert_eq!(it.count(), 2);
        assert!(d.batches::<TensorRng>(0, None).is_err());
    }

    #[test]
    fn shuffled_epochs_are_seeded_permutations() {
        let d = data(23);
        let epoch = |rng: &mut TensorRng| -> Vec<f32> {
            d.batches(5, Some(rng))
                .unwrap()
                .flat_map(|b| {
                    // labels travel with their features
                    let f = b.features().to_vec();
                    assert!(f.iter().zip(b.labels().unwrap()).all(|(x, &l)| *x as usize % 2 == l));
                    f
                })
                .collect()
        };
        let mut rng = seeded_rng(7);
        let e1 = epoch(&mut rng);
        let e2 = epoch(&mut rng);
        assert_ne!(e1, e2, "each epoch draws a new order");
        let mut again = seeded_rng(7);
        assert_eq!(epoch(&mut again), e1);
        assert_eq!(epoch(&mut again), e2);
        let mut sorted = e1.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, (0..23).map(|v| v as f32).collect::<Vec<_>>());
    }
}
