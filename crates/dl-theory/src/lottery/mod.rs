//! Lottery tickets: iterative magnitude pruning with rewinding (Frankle & Carbin 2019,
//! "The Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks"; Frankle,
//! Dziugaite, Roy & Carbin 2020, "Linear Mode Connectivity and the Lottery Ticket
//! Hypothesis").
//!
//! The procedure (Frankle & Carbin 2019, Section 1, "Identifying winning tickets"; with
//! rewinding to step `k` as in Frankle et al. 2020, Section 5):
//!
//! ```text
//! 1. initialise f(x; theta_0), m = 1; train to step k and keep theta_k (k = 0: theta_0)
//! 2. train f(x; m ⊙ theta) from m ⊙ theta_k to the end, reaching theta_T
//! 3. prune q of the remaining weights of theta_T by magnitude: m <- prune(theta_T, m)
//! 4. rewind: theta <- m ⊙ theta_k, and repeat from 2
//! ```
//!
//! After `n` rounds a fraction of about `(1 - q)^n` of the weights remains. The controls
//! of the paper: the same mask `m` with a fresh random initialisation ("random
//! reinitialisation", [`rewind`] of a new draw), and a random mask of the same layer-wise
//! sparsity ("random pruning", [`random_masks_like`]).
//!
//! | file | holds |
//! | --- | --- |
//! | `mask` | [`Mask`], [`MaskSet`]: binary masks by parameter name, density, `theta ⊙ m` |
//! | `prune` | [`PruningPlan`] (layer-wise or global, per-parameter rates), [`magnitude_prune`], [`random_masks_like`], the geometric schedule |
//! | `error` | [`LotteryError`] |
//!
//! Training is not here (dl-theory sits below the training loop): [`iterative_magnitude_pruning`]
//! takes the training of one round as a closure. dl-framework's `Trainer` keeps masked
//! weights at exactly zero during training (`Trainer::set_masks`).
//!
//! ```
//! use std::collections::BTreeMap;
//! use dl_tensor::Tensor;
//! use dl_theory::lottery::{MaskSet, PruningPlan, iterative_magnitude_pruning, rewind};
//!
//! let theta_0 = BTreeMap::from([("w".to_string(), Tensor::from_vec(vec![0.5, -1.0, 0.25, 2.0], &[4])?)]);
//! let masks = MaskSet::ones_for(&theta_0, &["w"])?;
//! // a stand-in for training: the trained weights are the rewound ones, doubled
//! let rounds = iterative_magnitude_pruning(masks, &PruningPlan::layer_wise(0.5)?, 2, |_, m| {
//!     let mut theta = rewind(&theta_0, m)?;
//!     theta.values_mut().for_each(|t| *t = t.mul_scalar(2.0));
//!     Ok::<_, dl_theory::lottery::LotteryError>((theta, m.density()))
//! })?;
//! assert_eq!(rounds.len(), 3);                      // dense, then two pruned rounds
//! assert_eq!(rounds[1].masks.get("w").unwrap().keep(), &[false, true, false, true]);
//! assert_eq!(rounds[2].masks.get("w").unwrap().keep(), &[false, false, false, true]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod mask;
mod prune;

use std::collections::BTreeMap;

use dl_tensor::{Element, Tensor};

pub use error::{LotteryError, Result};
pub use mask::{Mask, MaskSet};
pub use prune::{PruningPlan, PruningScope, magnitude_prune, prune_count, random_masks_like, remaining_after_rounds};

/// Rewinding: the parameters `m ⊙ theta_k` for a snapshot `theta_k` (the initialisation,
/// an early step, or a fresh draw for the random-reinitialisation control). Parameters
/// without a mask are copied unchanged; every kept entry is the snapshot's value, bit for
/// bit, and every pruned entry is exactly zero.
pub fn rewind<T: Element>(
    snapshot: &BTreeMap<String, Tensor<T>>,
    masks: &MaskSet,
) -> Result<BTreeMap<String, Tensor<T>>> {
    let mut out = snapshot.clone();
    masks.apply(&mut out)?;
    Ok(out)
}

/// One round of [`iterative_magnitude_pruning`]: the masks it trained under and what the
/// training closure returned.
#[derive(Clone, Debug, PartialEq)]
pub struct ImpRound<R> {
    /// The masks of this round (all ones in round 0).
    pub masks: MaskSet,
    /// The closure's result for this round.
    pub result: R,
}

/// Iterative magnitude pruning with a caller-supplied training step: for round
/// `r = 0..=rounds`, `train(r, &masks)` trains from the rewound parameters under `masks` and
/// returns the trained parameters (by state-dict name) and a result to keep (accuracies,
/// say); the next round's masks are [`magnitude_prune`] of those parameters under `plan`.
/// Returns the `rounds + 1` rounds, the dense one first. The closure's error type must
/// absorb [`LotteryError`].
pub fn iterative_magnitude_pruning<T, R, E, F>(
    initial: MaskSet,
    plan: &PruningPlan,
    rounds: usize,
    mut train: F,
) -> std::result::Result<Vec<ImpRound<R>>, E>
where
    T: Element,
    E: From<LotteryError>,
    F: FnMut(usize, &MaskSet) -> std::result::Result<(BTreeMap<String, Tensor<T>>, R), E>,
{
    let mut masks = initial;
    let mut out = Vec::with_capacity(rounds + 1);
    for r in 0..=rounds {
        let (trained, result) = train(r, &masks)?;
        let next = if r < rounds { Some(magnitude_prune(&trained, &masks, plan)?) } else { None };
        out.push(ImpRound { masks: masks.clone(), result });
        if let Some(n) = next {
            masks = n;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    #[test]
    fn rewinding_restores_the_snapshot_bit_for_bit_and_zeroes_the_rest() {
        let mut rng = seeded_rng(1);
        let snap = BTreeMap::from([
            ("0.weight".to_string(), Tensor::<f32>::randn(&[4, 3], &mut rng)),
            ("0.bias".to_string(), Tensor::<f32>::randn(&[4], &mut rng)),
        ]);
        let trained: BTreeMap<String, Tensor<f32>> =
            snap.iter().map(|(k, t)| (k.clone(), t.map(|x| x * 3.0 + 0.1))).collect();
        let masks = MaskSet::ones_for(&snap, &["0.weight"]).unwrap();
        let masks = magnitude_prune(&trained, &masks, &PruningPlan::layer_wise(0.5).unwrap()).unwrap();
        let back = rewind(&snap, &masks).unwrap();
        let keep = masks.get("0.weight").unwrap().keep();
        for ((w, s), &k) in back["0.weight"].to_vec().iter().zip(snap["0.weight"].to_vec()).zip(keep) {
            if k {
                assert_eq!(w.to_bits(), s.to_bits());
            } else {
                assert_eq!(w.to_bits(), 0.0f32.to_bits(), "a pruned entry is +0.0 exactly");
            }
        }
        assert_eq!(back["0.bias"].to_vec(), snap["0.bias"].to_vec(), "unmasked parameters are copied");
        assert_eq!(masks.remaining(), 6);
    }

    #[test]
    fn imp_prunes_the_trained_weights_each_round() {
        // "training" maps theta to theta + c, with c chosen so the ranking changes
        let theta0 = BTreeMap::from([(
            "w".to_string(),
            Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[8]).unwrap(),
        )]);
        let shift = [10.0, -9.0, 0.0, 0.0, -2.0, 0.0, 0.0, -8.5];
        let rounds = iterative_magnitude_pruning(
            MaskSet::ones_for(&theta0, &["w"]).unwrap(),
            &PruningPlan::layer_wise(0.25).unwrap(),
            2,
            |r, m| {
                let mut t = rewind(&theta0, m)?;
                let v: Vec<f64> = t["w"].to_vec().iter().zip(shift).map(|(x, s)| x + s).collect();
                t.insert("w".into(), Tensor::from_vec(v, &[8]).unwrap());
                Ok::<_, LotteryError>((m.masks_rewound(&t), r))
            },
        )
        .unwrap();
        // trained round 0: [11, -7, 3, 4, 3, 6, 7, -0.5] -> prune 2: |-0.5| (7), then 3 at index 2
        assert_eq!(rounds[1].masks.get("w").unwrap().keep(), &[true, true, false, true, true, true, true, false]);
        // round 1 trained (pruned entries stay 0 + shift = 0 and -8.5 -> masked again by the closure):
        // remaining [11, -7, 4, 3, 6, 7] at 0,1,3,4,5,6 -> round(0.25 * 6) = 2: 3 (4), 4 (3)
        assert_eq!(rounds[2].masks.get("w").unwrap().keep(), &[true, true, false, false, false, true, true, false]);
        assert_eq!(rounds.iter().map(|r| r.result).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    trait MaskedCopy {
        fn masks_rewound(&self, t: &BTreeMap<String, Tensor<f64>>) -> BTreeMap<String, Tensor<f64>>;
    }
    impl MaskedCopy for MaskSet {
        /// what a masked training loop returns: pruned entries exactly zero
        fn masks_rewound(&self, t: &BTreeMap<String, Tensor<f64>>) -> BTreeMap<String, Tensor<f64>> {
            rewind(t, self).unwrap()
        }
    }
}
