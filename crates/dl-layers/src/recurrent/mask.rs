//! Masks of variable-length batches, `(time, batch)` with 1 for real steps and 0 for
//! padding, and the per-sequence time reversal that a bidirectional layer runs its
//! backward direction on.

use dl_autodiff::{AutodiffError, JvpContext, Primitive, Result as AdResult, Var, VjpContext};
use dl_tensor::{Element, Tensor};

use crate::error::{LayerError, Result};

/// Reads a mask `(T, B)` of zeros and ones for a sequence of `t` steps and `b` sequences;
/// any other shape or value is an error naming `layer` (never a silent broadcast).
pub fn read_mask<T: Element>(layer: &str, mask: &Tensor<T>, t: usize, b: usize) -> Result<Vec<bool>> {
    if mask.shape() != [t, b] {
        return Err(LayerError::layer(
            layer,
            format!("a mask (time, batch) = ({t}, {b}) matching the input"),
            mask.shape(),
        ));
    }
    mask.to_vec()
        .into_iter()
        .enumerate()
        .map(|(k, v)| {
            if v == T::one() {
                Ok(true)
            } else if v == T::zero() {
                Ok(false)
            } else {
                Err(LayerError::config(
                    layer,
                    format!("mask entries must be 0 or 1, found {v} at (time {}, batch {})", k / b, k % b),
                ))
            }
        })
        .collect()
}

/// The length of each sequence of a prefix mask (every real step before every padded one);
/// a mask with a real step after padding is an error, since "the last real step" would not
/// be the end of the sequence.
pub fn lengths(layer: &str, mask: &[bool], t: usize, b: usize) -> Result<Vec<usize>> {
    (0..b)
        .map(|j| {
            let len = (0..t).take_while(|&s| mask[s * b + j]).count();
            match (len..t).find(|&s| mask[s * b + j]) {
                Some(s) => Err(LayerError::config(
                    layer,
                    format!(
                        "sequence {j} has a real step at time {s} after padding at time {len}: masks must be 1s then 0s"
                    ),
                )),
                None => Ok(len),
            }
        })
        .collect()
}

/// The prefix mask `(T, B)` of the given lengths as booleans in time-major order (`true` for
/// real steps), the form the sequence primitive ([`super::sequence()`]) takes.
pub fn prefix_mask(lengths: &[usize], t: usize) -> Vec<bool> {
    (0..t).flat_map(|s| lengths.iter().map(move |&l| s < l)).collect()
}

/// Checks `lengths` against a batch of `b` sequences of `t` steps: one length per
/// sequence, each at most `t`.
pub fn check_lengths(layer: &str, lengths: &[usize], t: usize, b: usize) -> Result<()> {
    if lengths.len() != b {
        return Err(LayerError::config(
            layer,
            format!("{} sequence lengths for a batch of {b} sequences", lengths.len()),
        ));
    }
    if let Some((j, &l)) = lengths.iter().enumerate().find(|&(_, &l)| l > t) {
        return Err(LayerError::config(
            layer,
            format!("sequence {j} has length {l}, longer than the input's {t} steps"),
        ));
    }
    Ok(())
}

/// The mask `(T, B)` of a padded batch: 1 at the real steps `s < lengths[b]` of sequence
/// `b`, 0 at the padding (the form [`super::Recurrent::forward_sequence`] takes). A length
/// above `t` is an error.
///
/// ```
/// use dl_layers::mask_from_lengths;
/// let mask = mask_from_lengths::<f32>(&[3, 1], 3)?;
/// assert_eq!(mask.shape(), &[3, 2]);
/// assert_eq!(mask.to_vec(), vec![1.0, 1.0, 1.0, 0.0, 1.0, 0.0]);
/// # Ok::<(), dl_layers::LayerError>(())
/// ```
pub fn mask_from_lengths<T: Element>(lengths: &[usize], t: usize) -> Result<Tensor<T>> {
    check_lengths("mask_from_lengths", lengths, t, lengths.len())?;
    let values = prefix_mask(lengths, t).into_iter().map(|m| if m { T::one() } else { T::zero() }).collect();
    Ok(Tensor::from_vec(values, &[t, lengths.len()])?)
}

/// Reverses each sequence of `x (T, B, F)` within its own length: `y[s, b] = x[L_b - 1 - s, b]`
/// for `s < L_b`, padding left in place. A permutation that is its own inverse, so its VJP
/// and JVP are the op itself.
#[derive(Clone, Debug)]
pub struct ReverseWithinLength {
    /// The real length `L_b ≤ T` of each sequence `b` of the batch, `B` entries.
    pub lengths: Vec<usize>,
}

fn reverse<T: Element>(x: &Tensor<T>, lengths: &[usize]) -> AdResult<Tensor<T>> {
    let s = x.shape();
    if s.len() != 3 || s[1] != lengths.len() || lengths.iter().any(|&l| l > s[0]) {
        return Err(AutodiffError::InvalidArgument {
            op: "reverse_within_length",
            detail: format!(
                "expected (time, batch, features) with batch {} and time >= every length, got {s:?}",
                lengths.len()
            ),
        });
    }
    let (t, b, f) = (s[0], s[1], s[2]);
    let src = x.contiguous();
    let src = src.as_slice().expect("contiguous");
    let mut out = src.to_vec();
    for (j, &len) in lengths.iter().enumerate() {
        for step in 0..len {
            let (to, from) = ((step * b + j) * f, ((len - 1 - step) * b + j) * f);
            out[to..to + f].copy_from_slice(&src[from..from + f]);
        }
    }
    Ok(Tensor::from_vec(out, &[t, b, f])?)
}

impl<T: Element> Primitive<T> for ReverseWithinLength {
    fn name(&self) -> &'static str {
        "reverse_within_length"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> AdResult<Tensor<T>> {
        reverse(inputs[0], &self.lengths)
    }
    fn vjp(&self, _ctx: &VjpContext<'_, T>, u: &Var<T>) -> AdResult<Vec<Option<Var<T>>>> {
        Ok(vec![Some(Var::apply(self.clone(), &[u])?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> AdResult<Tensor<T>> {
        match t[0] {
            Some(t) => reverse(t, &self.lengths),
            None => Ok(Tensor::zeros(ctx.output.shape())),
        }
    }
}
