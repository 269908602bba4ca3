//! Binary masks over parameters: [`Mask`] for one tensor, [`MaskSet`] for the prunable
//! parameters of a network, by name.
//!
//! A pruned network computes with `theta ⊙ m`: entry `i` of a parameter is kept where
//! `m_i = 1` and is exactly zero where `m_i = 0`. The density of a mask set is the fraction
//! of its entries kept, `sum_l |m_l|_0 / sum_l |m_l|` (Frankle & Carbin 2019 report it as
//! "percent of weights remaining", `P_m`).

use std::collections::BTreeMap;

use dl_tensor::{Element, Tensor};

use super::error::{LotteryError, Result};

/// A binary mask of one parameter: its shape and, per entry in row-major order, whether the
/// entry is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    shape: Vec<usize>,
    keep: Vec<bool>,
}

impl Mask {
    /// The mask that keeps every entry of a parameter of `shape`.
    pub fn ones(shape: &[usize]) -> Self {
        Mask { shape: shape.to_vec(), keep: vec![true; shape.iter().product()] }
    }

    /// A mask from its entries (row-major); `keep.len()` must be the product of `shape`.
    pub fn from_keep(shape: &[usize], keep: Vec<bool>) -> Result<Self> {
        let n: usize = shape.iter().product();
        if keep.len() != n {
            return Err(LotteryError::InvalidMask {
                op: "Mask::from_keep",
                detail: format!("{} entries for shape {shape:?} ({n} entries)", keep.len()),
            });
        }
        Ok(Mask { shape: shape.to_vec(), keep })
    }

    /// A mask from a tensor of zeros and ones (any other value is an error naming it).
    pub fn from_tensor<T: Element>(t: &Tensor<T>) -> Result<Self> {
        let keep = t
            .to_vec()
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v.to_f64_exact() {
                1.0 => Ok(true),
                0.0 => Ok(false),
                other => Err(LotteryError::InvalidMask {
                    op: "Mask::from_tensor",
                    detail: format!("entry {i} is {other}; a mask holds only 0 and 1"),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mask { shape: t.shape().to_vec(), keep })
    }

    /// The mask as a tensor of ones (kept) and zeros (pruned).
    pub fn to_tensor<T: Element>(&self) -> Tensor<T> {
        let v = self.keep.iter().map(|&k| if k { T::one() } else { T::zero() }).collect();
        Tensor::from_vec(v, &self.shape).expect("a mask's entries match its shape")
    }

    /// The parameter's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Whether each entry is kept, row-major.
    pub fn keep(&self) -> &[bool] {
        &self.keep
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.keep.len()
    }

    /// True for a mask of an empty parameter.
    pub fn is_empty(&self) -> bool {
        self.keep.is_empty()
    }

    /// Number of entries kept.
    pub fn remaining(&self) -> usize {
        self.keep.iter().filter(|&&k| k).count()
    }

    /// Fraction of entries kept (1 for an empty mask).
    pub fn density(&self) -> f64 {
        if self.keep.is_empty() { 1.0 } else { self.remaining() as f64 / self.keep.len() as f64 }
    }

    /// Checks that the mask fits a parameter named `param` of shape `shape`.
    pub fn check(&self, op: &'static str, param: &str, shape: &[usize]) -> Result<()> {
        if self.shape != shape {
            return Err(LotteryError::Shape {
                op,
                param: param.to_string(),
                mask: self.shape.clone(),
                tensor: shape.to_vec(),
            });
        }
        Ok(())
    }

    /// `t ⊙ m`: the pruned entries of `t` set to exactly zero, in place.
    pub fn apply_in_place<T: Element>(&self, op: &'static str, param: &str, t: &mut Tensor<T>) -> Result<()> {
        self.check(op, param, t.shape())?;
        if t.as_slice().is_none() {
            *t = t.contiguous();
        }
        let v = t.array_mut().as_slice_mut().expect("contiguous after the copy above");
        for (x, &k) in v.iter_mut().zip(&self.keep) {
            if !k {
                *x = T::zero();
            }
        }
        Ok(())
    }

    /// `t ⊙ m` as a new tensor.
    pub fn applied<T: Element>(&self, op: &'static str, param: &str, t: &Tensor<T>) -> Result<Tensor<T>> {
        let mut out = t.clone();
        self.apply_in_place(op, param, &mut out)?;
        Ok(out)
    }
}

/// Masks of the prunable parameters of a network, by parameter name (the names of its
/// state dict). Parameters without a mask (biases, say) are never pruned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaskSet {
    masks: BTreeMap<String, Mask>,
}

fn names<V>(map: &BTreeMap<String, V>) -> String {
    map.keys().cloned().collect::<Vec<_>>().join(", ")
}

impl MaskSet {
    /// An empty set (no parameter masked).
    pub fn new() -> Self {
        Self::default()
    }

    /// Full masks (everything kept) for the parameters `prunable` of `params`; each name
    /// must be in `params`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use dl_tensor::Tensor;
    /// use dl_theory::lottery::MaskSet;
    /// let params = BTreeMap::from([
    ///     ("0.weight".to_string(), Tensor::<f64>::zeros(&[3, 2])),
    ///     ("0.bias".to_string(), Tensor::<f64>::zeros(&[3])),
    /// ]);
    /// let masks = MaskSet::ones_for(&params, &["0.weight"])?;
    /// assert_eq!((masks.total(), masks.remaining()), (6, 6));
    /// assert!(MaskSet::ones_for(&params, &["1.weight"]).is_err());
    /// # Ok::<(), dl_theory::lottery::LotteryError>(())
    /// ```
    pub fn ones_for<T: Element>(params: &BTreeMap<String, Tensor<T>>, prunable: &[&str]) -> Result<Self> {
        let mut masks = BTreeMap::new();
        for &name in prunable {
            let t = params.get(name).ok_or_else(|| LotteryError::UnknownParameter {
                op: "MaskSet::ones_for",
                param: name.to_string(),
                available: names(params),
            })?;
            masks.insert(name.to_string(), Mask::ones(t.shape()));
        }
        Ok(MaskSet { masks })
    }

    /// Adds (or replaces) the mask of `name`.
    pub fn insert(&mut self, name: &str, mask: Mask) {
        self.masks.insert(name.to_string(), mask);
    }

    /// The mask of `name`.
    pub fn get(&self, name: &str) -> Option<&Mask> {
        self.masks.get(name)
    }

    /// `(name, mask)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Mask)> {
        self.masks.iter().map(|(k, m)| (k.as_str(), m))
    }

    /// The masked parameters' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.masks.keys().map(String::as_str).collect()
    }

    /// Number of masked parameters.
    pub fn len(&self) -> usize {
        self.masks.len()
    }

    /// True when no parameter is masked.
    pub fn is_empty(&self) -> bool {
        self.masks.is_empty()
    }

    /// Entries over every mask.
    pub fn total(&self) -> usize {
        self.masks.values().map(Mask::len).sum()
    }

    /// Entries kept over every mask.
    pub fn remaining(&self) -> usize {
        self.masks.values().map(Mask::remaining).sum()
    }

    /// `remaining / total` (1 for an empty set): Frankle & Carbin's `P_m`.
    pub fn density(&self) -> f64 {
        let total = self.total();
        if total == 0 { 1.0 } else { self.remaining() as f64 / total as f64 }
    }

    /// Checks every mask against `shapes` (name to shape): the name must be there and the
    /// shapes equal. Errors name the parameter and both shapes.
    pub fn check_shapes<'a>(
        &self,
        op: &'static str,
        shapes: impl IntoIterator<Item = (&'a str, &'a [usize])>,
    ) -> Result<()> {
        let shapes: BTreeMap<&str, &[usize]> = shapes.into_iter().collect();
        for (name, mask) in &self.masks {
            let Some(shape) = shapes.get(name.as_str()) else {
                let available = shapes.keys().copied().collect::<Vec<_>>().join(", ");
                return Err(LotteryError::UnknownParameter { op, param: name.clone(), available });
            };
            mask.check(op, name, shape)?;
        }
        Ok(())
    }

    /// `theta ⊙ m` for every masked parameter of `params`, in place; parameters without a
    /// mask are left alone. Nothing changes unless every mask fits.
    pub fn apply<T: Element>(&self, params: &mut BTreeMap<String, Tensor<T>>) -> Result<()> {
        self.check_shapes("MaskSet::apply", params.iter().map(|(k, t)| (k.as_str(), t.shape())))?;
        for (name, mask) in &self.masks {
            let t = params.get_mut(name).expect("checked above");
            mask.apply_in_place("MaskSet::apply", name, t)?;
        }
        Ok(())
    }
}
