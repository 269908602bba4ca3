//! Magnitude pruning (one round of Frankle & Carbin 2019, Algorithm "Identifying winning
//! tickets", step 3) and the random-pruning control.
//!
//! One round removes a fraction `q` of the weights that are still there, those of smallest
//! magnitude `|theta_i|`:
//!
//! - **layer-wise** (Frankle & Carbin 2019, Lenet and Conv-2/4/6): in each masked parameter
//!   `l`, with `r_l` entries remaining, the `round(q_l r_l)` smallest are pruned, with the
//!   per-parameter rate `q_l` (the paper prunes fully connected layers at 20% a round and
//!   the output layer at half that rate, 10%);
//! - **global** (Frankle & Carbin 2019, VGG-19 and Resnet-18; Frankle et al. 2020): the
//!   masked parameters without a rate of their own are pooled, and the `round(q R)`
//!   smallest of their `R` remaining entries are pruned, wherever they are; a parameter
//!   with its own rate is pruned layer-wise at that rate.
//!
//! `round` rounds half away from zero. Ties are broken deterministically: entries are
//! ranked by `(|theta_i|, parameter name, flat index)`, so of two equal magnitudes the
//! one in the parameter whose name sorts first, then the one with the lower index, goes
//! first. After `n` rounds at rate `q` a parameter keeps about `(1 - q)^n` of its entries
//! (exactly `r_{k+1} = r_k - round(q r_k)`, see [`remaining_after_rounds`]).
//!
//! Random pruning (the paper's "randomly sampled" sparse networks, Figure 1 and
//! Section 2) keeps, in each parameter, a uniformly random subset of the same size as a
//! given mask's: [`random_masks_like`].

use std::collections::BTreeMap;

use dl_tensor::{Element, Tensor};
use rand::{Rng, RngExt};

use super::error::{LotteryError, Result};
use super::mask::{Mask, MaskSet};

/// Whether a round ranks weights within each parameter or across all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruningScope {
    /// Each masked parameter loses its own fraction of remaining weights.
    LayerWise,
    /// The masked parameters are pooled and ranked together.
    Global,
}

/// How one round prunes: the scope, the rate, and per-parameter rates.
#[derive(Clone, Debug, PartialEq)]
pub struct PruningPlan {
    scope: PruningScope,
    rate: f64,
    per_parameter: BTreeMap<String, f64>,
}

fn check_rate(op: &'static str, what: String, rate: f64) -> Result<()> {
    if !(0.0..1.0).contains(&rate) {
        return Err(LotteryError::Rate { op, what, value: rate });
    }
    Ok(())
}

impl PruningPlan {
    /// Layer-wise pruning of a fraction `rate` in [0, 1) of each parameter's remaining
    /// weights per round.
    pub fn layer_wise(rate: f64) -> Result<Self> {
        check_rate("PruningPlan::layer_wise", "rate".into(), rate)?;
        Ok(PruningPlan { scope: PruningScope::LayerWise, rate, per_parameter: BTreeMap::new() })
    }

    /// Global pruning of a fraction `rate` in [0, 1) of the pooled remaining weights per round.
    pub fn global(rate: f64) -> Result<Self> {
        check_rate("PruningPlan::global", "rate".into(), rate)?;
        Ok(PruningPlan { scope: PruningScope::Global, rate, per_parameter: BTreeMap::new() })
    }

    /// Frankle & Carbin's (2019) plan: layer-wise at `rate`, the output layer's weight
    /// `output` at half the rate.
    pub fn frankle_carbin(rate: f64, output: &str) -> Result<Self> {
        Self::layer_wise(rate)?.with_rate(output, rate / 2.0)
    }

    /// Parameter `name` pruned at its own `rate` (layer-wise, whatever the scope).
    pub fn with_rate(mut self, name: &str, rate: f64) -> Result<Self> {
        check_rate("PruningPlan::with_rate", format!("the rate of '{name}'"), rate)?;
        self.per_parameter.insert(name.to_string(), rate);
        Ok(self)
    }

    /// The scope.
    pub fn scope(&self) -> PruningScope {
        self.scope
    }

    /// The rate of every parameter without its own.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The rate of parameter `name`.
    pub fn rate_of(&self, name: &str) -> f64 {
        self.per_parameter.get(name).copied().unwrap_or(self.rate)
    }

    /// The parameters with a rate of their own.
    pub fn per_parameter_rates(&self) -> &BTreeMap<String, f64> {
        &self.per_parameter
    }
}

/// `round(q r)`, half away from zero: how many of `r` remaining entries a round at rate `q`
/// prunes.
pub fn prune_count(remaining: usize, rate: f64) -> usize {
    ((rate * remaining as f64).round() as usize).min(remaining)
}

/// Entries remaining of `n` after `rounds` rounds at `rate`:
/// `r_0 = n`, `r_{k+1} = r_k - round(q r_k)` (about `n (1 - q)^rounds`).
pub fn remaining_after_rounds(n: usize, rate: f64, rounds: usize) -> usize {
    (0..rounds).fold(n, |r, _| r - prune_count(r, rate))
}

/// One candidate for pruning: its magnitude and its position.
struct Candidate {
    magnitude: f64,
    param: usize,
    index: usize,
}

/// The remaining entries of the named parameters as candidates, in (name, index) order.
fn candidates<T: Element>(
    op: &'static str,
    weights: &BTreeMap<String, Tensor<T>>,
    masks: &MaskSet,
    names: &[&str],
    order: &BTreeMap<&str, usize>,
) -> Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for &name in names {
        let mask = masks.get(name).expect("names come from the mask set");
        let w = weights.get(name).expect("checked by the caller");
        for (i, (v, &keep)) in w.to_vec().into_iter().zip(mask.keep()).enumerate() {
            if !keep {
                continue;
            }
            let x = v.to_f64_exact();
            if x.is_nan() {
                return Err(LotteryError::NonFinite { op, param: name.to_string(), index: i, value: x });
            }
            out.push(Candidate { magnitude: x.abs(), param: order[name], index: i });
        }
    }
    Ok(out)
}

/// The `count` smallest candidates by `(magnitude, parameter, index)`.
fn smallest(mut c: Vec<Candidate>, count: usize) -> Vec<Candidate> {
    c.sort_by(|a, b| a.magnitude.total_cmp(&b.magnitude).then(a.param.cmp(&b.param)).then(a.index.cmp(&b.index)));
    c.truncate(count);
    c
}

/// One round of magnitude pruning: the masks after pruning, from the `weights` (typically
/// the trained ones, by state-dict name) and the current `masks`, under `plan`. Every
/// masked parameter must be in `weights` with the mask's shape; weights already pruned are
/// not candidates; NaN weights are an error.
///
/// ```
/// use std::collections::BTreeMap;
/// use dl_tensor::Tensor;
/// use dl_theory::lottery::{MaskSet, PruningPlan, magnitude_prune};
/// let w = BTreeMap::from([("w".to_string(), Tensor::from_vec(vec![0.3, -0.1, 2.0, -0.5, 0.1], &[5])?)]);
/// let masks = MaskSet::ones_for(&w, &["w"])?;
/// let pruned = magnitude_prune(&w, &masks, &PruningPlan::layer_wise(0.4)?)?;
/// // round(0.4 * 5) = 2 pruned: |-0.1| and |0.1| tie; index 1 goes first, then index 4
/// assert_eq!(pruned.get("w").unwrap().keep(), &[true, false, true, true, false]);
/// assert!(PruningPlan::layer_wise(1.0).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn magnitude_prune<T: Element>(
    weights: &BTreeMap<String, Tensor<T>>,
    masks: &MaskSet,
    plan: &PruningPlan,
) -> Result<MaskSet> {
    let op = "magnitude_prune";
    masks.check_shapes(op, weights.iter().map(|(k, t)| (k.as_str(), t.shape())))?;
    for name in plan.per_parameter_rates().keys() {
        if masks.get(name).is_none() {
            return Err(LotteryError::UnknownParameter {
                op,
                param: name.clone(),
                available: masks.names().join(", "),
            });
        }
    }
    let order: BTreeMap<&str, usize> = masks.names().into_iter().enumerate().map(|(i, n)| (n, i)).collect();
    let names: Vec<&str> = masks.names();
    // groups pruned together: one per parameter (layer-wise, or with its own rate), and
    // the pool of the rest under global scope
    let mut groups: Vec<(Vec<&str>, f64)> = Vec::new();
    let mut pool = Vec::new();
    for &name in &names {
        match plan.per_parameter_rates().get(name) {
            Some(&r) => groups.push((vec![name], r)),
            None if plan.scope() == PruningScope::LayerWise => groups.push((vec![name], plan.rate())),
            None => pool.push(name),
        }
    }
    if !pool.is_empty() {
        groups.push((pool, plan.rate()));
    }
    let mut keep: BTreeMap<&str, Vec<bool>> =
        names.iter().map(|&n| (n, masks.get(n).expect("a mask").keep().to_vec())).collect();
    for (group, rate) in groups {
        let c = candidates(op, weights, masks, &group, &order)?;
        let count = prune_count(c.len(), rate);
        for cand in smallest(c, count) {
            keep.get_mut(names[cand.param]).expect("a masked parameter")[cand.index] = false;
        }
    }
    let mut out = MaskSet::new();
    for (name, k) in keep {
        out.insert(name, Mask::from_keep(masks.get(name).expect("a mask").shape(), k)?);
    }
    Ok(out)
}

/// Random pruning at the same layer-wise sparsity: for each mask of `like`, a mask of the
/// same shape keeping a uniformly random subset of the same size (a partial Fisher–Yates
/// shuffle of the indices, drawn from `rng` in name order).
pub fn random_masks_like<R: Rng + ?Sized>(like: &MaskSet, rng: &mut R) -> MaskSet {
    let mut out = MaskSet::new();
    for (name, mask) in like.iter() {
        let n = mask.len();
        let keep_count = mask.remaining();
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..keep_count {
            let j = rng.random_range(i..n);
            idx.swap(i, j);
        }
        let mut keep = vec![false; n];
        for &i in &idx[..keep_count] {
            keep[i] = true;
        }
        out.insert(name, Mask::from_keep(mask.shape(), keep).expect("same shape as the mask it copies"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    fn params(entries: &[(&str, Vec<f64>, Vec<usize>)]) -> BTreeMap<String, Tensor<f64>> {
        entries.iter().map(|(n, v, s)| (n.to_string(), Tensor::from_vec(v.clone(), s).unwrap())).collect()
    }

    /// The reference: sort every remaining entry by hand, with the tie rule spelled out.
    fn brute_force_layer_wise(w: &[f64], keep: &[bool], rate: f64) -> Vec<bool> {
        let mut idx: Vec<usize> = (0..w.len()).filter(|&i| keep[i]).collect();
        let k = (rate * idx.len() as f64).round() as usize;
        // stable sort on magnitude keeps ascending index order among ties
        idx.sort_by(|&a, &b| w[a].abs().partial_cmp(&w[b].abs()).unwrap());
        let mut out = keep.to_vec();
        for &i in &idx[..k] {
            out[i] = false;
        }
        out
    }

    #[test]
    fn layer_wise_prunes_the_right_count_and_matches_a_brute_force_sort() {
        let mut rng = seeded_rng(5);
        let w1: Vec<f64> = (0..37).map(|_| rng.random_range(-1.0..1.0)).collect();
        // integers with many ties
        let w2: Vec<f64> = (0..23).map(|_| rng.random_range(-3i32..=3) as f64).collect();
        let w = params(&[("a", w1.clone(), vec![37]), ("b", w2.clone(), vec![23])]);
        let mut masks = MaskSet::ones_for(&w, &["a", "b"]).unwrap();
        let plan = PruningPlan::frankle_carbin(0.2, "b").unwrap();
        let (mut ka, mut kb) = (vec![true; 37], vec![true; 23]);
        for round in 0..8 {
            let before = (masks.get("a").unwrap().remaining(), masks.get("b").unwrap().remaining());
            masks = magnitude_prune(&w, &masks, &plan).unwrap();
            ka = brute_force_layer_wise(&w1, &ka, 0.2);
            kb = brute_force_layer_wise(&w2, &kb, 0.1);
            assert_eq!(masks.get("a").unwrap().keep(), ka.as_slice(), "round {round}");
            assert_eq!(masks.get("b").unwrap().keep(), kb.as_slice(), "round {round}");
            assert_eq!(masks.get("a").unwrap().remaining(), before.0 - prune_count(before.0, 0.2));
            assert_eq!(masks.get("b").unwrap().remaining(), before.1 - prune_count(before.1, 0.1));
        }
        assert_eq!(masks.get("a").unwrap().remaining(), remaining_after_rounds(37, 0.2, 8));
    }

    #[test]
    fn global_pruning_ranks_across_parameters_with_name_then_index_ties() {
        // magnitudes: a = [1, 5, 2], b = [2, 0.5, 7]; prune round(0.5 * 6) = 3:
        // 0.5 (b[1]), 1 (a[0]), then the tie 2: a[2] before b[0] (a sorts first)
        let w = params(&[("a", vec![1.0, -5.0, 2.0], vec![3]), ("b", vec![-2.0, 0.5, 7.0], vec![3])]);
        let masks = MaskSet::ones_for(&w, &["a", "b"]).unwrap();
        let out = magnitude_prune(&w, &masks, &PruningPlan::global(0.5).unwrap()).unwrap();
        assert_eq!(out.get("a").unwrap().keep(), &[false, true, false]);
        assert_eq!(out.get("b").unwrap().keep(), &[true, false, true]);
        assert_eq!(out.remaining(), 3);
    }

    #[test]
    fn pruned_entries_are_never_candidates_again() {
        // the pruned entry has the largest magnitude: it must not be "pruned" a second time
        let w = params(&[("a", vec![9.0, 1.0, 2.0, 3.0], vec![2, 2])]);
        let mut masks = MaskSet::new();
        masks.insert("a", Mask::from_keep(&[2, 2], vec![false, true, true, true]).unwrap());
        let out = magnitude_prune(&w, &masks, &PruningPlan::layer_wise(0.34).unwrap()).unwrap();
        // round(0.34 * 3) = 1: entry 1 (magnitude 1)
        assert_eq!(out.get("a").unwrap().keep(), &[false, false, true, true]);
    }

    #[test]
    fn bad_input_gets_named_errors() {
        let w = params(&[("a", vec![1.0, f64::NAN], vec![2])]);
        let masks = MaskSet::ones_for(&w, &["a"]).unwrap();
        let e = magnitude_prune(&w, &masks, &PruningPlan::layer_wise(0.5).unwrap()).unwrap_err().to_string();
        assert!(e.contains("weight 1 of 'a' is NaN"), "{e}");
        let e = PruningPlan::global(-0.1).unwrap_err().to_string();
        assert!(e.contains("[0, 1)") && e.contains("-0.1"), "{e}");
        let e = PruningPlan::layer_wise(0.2).unwrap().with_rate("out", 1.0).unwrap_err().to_string();
        assert!(e.contains("'out'"), "{e}");
        let mut wrong = MaskSet::new();
        wrong.insert("a", Mask::ones(&[3]));
        let e = magnitude_prune(&w, &wrong, &PruningPlan::layer_wise(0.2).unwrap()).unwrap_err().to_string();
        assert!(e.contains("'a'") && e.contains("[3]") && e.contains("[2]"), "{e}");
        let mut missing = MaskSet::new();
        missing.insert("zz", Mask::ones(&[2]));
        let e = magnitude_prune(&w, &missing, &PruningPlan::layer_wise(0.2).unwrap()).unwrap_err().to_string();
        assert!(e.contains("no parameter 'zz'") && e.contains("a"), "{e}");
        let plan = PruningPlan::layer_wise(0.2).unwrap().with_rate("nope", 0.1).unwrap();
        assert!(
            magnitude_prune(
                &params(&[("a", vec![1.0], vec![1])]),
                &MaskSet::ones_for(&params(&[("a", vec![1.0], vec![1])]), &["a"]).unwrap(),
                &plan
            )
            .is_err()
        );
    }

    #[test]
    fn random_masks_keep_the_same_count_per_parameter_and_are_seeded() {
        let w = params(&[("a", (0..50).map(f64::from).collect(), vec![5, 10]), ("b", vec![1.0; 8], vec![8])]);
        let masks = MaskSet::ones_for(&w, &["a", "b"]).unwrap();
        let pruned = magnitude_prune(&w, &masks, &PruningPlan::layer_wise(0.7).unwrap()).unwrap();
        let r1 = random_masks_like(&pruned, &mut seeded_rng(3));
        let r2 = random_masks_like(&pruned, &mut seeded_rng(3));
        assert_eq!(r1, r2);
        for (name, m) in pruned.iter() {
            assert_eq!(r1.get(name).unwrap().remaining(), m.remaining());
            assert_eq!(r1.get(name).unwrap().shape(), m.shape());
        }
        assert_ne!(r1.get("a").unwrap().keep(), pruned.get("a").unwrap().keep());
        // uniform: over many draws each entry of "a" is kept about 15/50 of the time
        let mut counts = [0usize; 50];
        let mut rng = seeded_rng(9);
        let draws = 4000;
        for _ in 0..draws {
            for (i, &k) in random_masks_like(&pruned, &mut rng).get("a").unwrap().keep().iter().enumerate() {
                counts[i] += k as usize;
            }
        }
        let p = 15.0 / 50.0;
        let sd = (draws as f64 * p * (1.0 - p)).sqrt();
        // every count within 5 binomial standard deviations of its mean (50 entries: a
        // false alarm has probability below 1e-4)
        assert!(counts.iter().all(|&c| (c as f64 - draws as f64 * p).abs() < 5.0 * sd), "{counts:?}");
    }

    #[test]
    fn remaining_follows_the_geometric_schedule() {
        // 20% a round: after 18 rounds about 0.8^18 = 1.8% remain
        let r = remaining_after_rounds(100_000, 0.2, 18);
        assert!((r as f64 / 1e5 - 0.8f64.powi(18)).abs() < 1e-3, "{r}");
        assert_eq!(prune_count(5, 0.5), 3); // 2.5 rounds away from zero
        assert_eq!(prune_count(0, 0.5), 0);
    }
}
