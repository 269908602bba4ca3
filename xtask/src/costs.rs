//! What each experiment costs at full size, for the assignment of experiments to shares
//! ([`crate::shard::assign`]).
//!
//! The figures are processor seconds (all threads) on the 2-core development machine, the
//! "cpu seconds" column of a run's index, seed 0: at full size from the run of all 43
//! experiments at commit d094561, at quick size from the run at commit 3cd805e (0.01 where
//! it measured less). Processor seconds rather than wall seconds because a share on a
//! cluster node has its own cores: the work, not the neighbours, is what it waits for.
//! Quick sizes are not cut down in proportion (grokking is a fifth of the quick run and a
//! twentieth of the full one), hence a column per size.
//!
//! A new experiment gets a line here (the test `every_registered_experiment_has_a_cost`
//! fails until it does); until then it counts [`UNKNOWN_COST_SECONDS`].

use crate::experiment::Size;

/// Processor seconds per experiment id at full and at quick size, in registry order.
pub const COSTS: &[(&str, f64, f64)] = &[
    ("gemm-throughput", 2.37, 0.12),
    ("softmax-stability", 1.18, 0.01),
    ("approximation-rates", 5.34, 0.82),
    ("approximation-polynomial-floor", 0.75, 0.03),
    ("barron-dimension-free", 44.66, 0.13),
    ("approximation-learnability-gap", 15.35, 1.85),
    ("sawtooth-depth-separation", 25.00, 0.31),
    ("parity-representation-vs-learning", 7.22, 0.22),
    ("boolean-functions-width", 0.14, 0.01),
    ("compositional-deep-vs-shallow", 28.95, 0.44),
    ("linear-regions-depth-width", 0.70, 0.25),
    ("autodiff-cost", 13.41, 0.17),
    ("checkpointing-memory", 0.03, 0.01),
    ("conv-gradient-check", 5.74, 0.04),
    ("truncated-bptt-bias", 75.45, 0.31),
    ("rnn-gradient-flow", 15.66, 0.06),
    ("signal-propagation-phase-diagram", 0.51, 0.24),
    ("correlation-map-iterates", 1.97, 0.43),
    ("digits-mlp", 5.85, 0.35),
    ("digits-cnn", 53.64, 2.03),
    ("mnist1d-table", 114.22, 0.12),
    ("framework-theoretical-analysis", 77.79, 1.15),
    ("init-activation-statistics", 30.92, 0.13),
    ("norm-training-curves", 10.81, 1.01),
    ("norm-landscape-smoothness", 2.21, 0.22),
    ("norm-lr-range", 51.26, 4.84),
    ("norm-batch-size", 299.92, 5.00),
    ("init-designed-activation", 49.38, 2.67),
    ("init-trainability-depth", 314.60, 1.28),
    ("ntk-finite-vs-infinite", 604.12, 0.64),
    ("ntk-lazy-vs-feature-learning", 101.65, 0.33),
    ("ntk-generalisation-bound", 0.05, 0.02),
    ("ntk-cnn-gap", 48.85, 1.86),
    ("double-descent-random-features", 10.06, 0.56),
    ("double-descent-mlp", 85.99, 0.22),
    ("implicit-regularisation-least-squares", 0.08, 0.01),
    ("implicit-regularisation-matrix-factorisation", 46.02, 5.69),
    ("implicit-regularisation-logistic", 9.73, 0.01),
    ("scaling-laws-mnist1d", 13.60, 0.78),
    ("scaling-laws-teacher-student", 16.12, 0.82),
    ("lottery-tickets", 185.28, 1.85),
    ("grokking", 124.38, 8.96),
    ("feature-learning-mup", 150.20, 0.08),
];

/// The cost of an experiment the table does not list: about the median of the full-size
/// column.
pub const UNKNOWN_COST_SECONDS: f64 = 15.0;

/// The processor seconds of experiment `id` at `size` ([`COSTS`]), or
/// [`UNKNOWN_COST_SECONDS`] (at either size: only the order of the costs matters).
pub fn cost_seconds(id: &str, size: Size) -> f64 {
    COSTS
        .iter()
        .find(|(known, ..)| *known == id)
        .map_or(UNKNOWN_COST_SECONDS, |(_, full, quick)| size.pick(*quick, *full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_experiment_has_a_cost() {
        let registered: Vec<&str> = crate::registry::all().iter().map(|e| e.id()).collect();
        let listed: Vec<&str> = COSTS.iter().map(|(id, ..)| *id).collect();
        assert_eq!(listed, registered, "COSTS lists the registry, in its order");
        assert!(COSTS.iter().all(|(_, f, q)| f.is_finite() && *f > 0.0 && q.is_finite() && *q > 0.0));
        assert_eq!(cost_seconds("ntk-finite-vs-infinite", Size::Full), 604.12);
        assert_eq!(cost_seconds("grokking", Size::Quick), 8.96);
        assert_eq!(cost_seconds("not-registered", Size::Quick), UNKNOWN_COST_SECONDS);
    }
}
