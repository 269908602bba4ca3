//! What each experiment costs at full size, for the assignment of experiments to shares
//! ([`crate::shard::assign`]).
//!
//! The figures are the processor seconds (all threads) of the full-size run of all 43
//! experiments at commit d094561, seed 0, on the 2-core development machine
//! (`cargo xtask experiments`, the "cpu seconds" column of its index). Processor seconds
//! rather than wall seconds because a share on a cluster node has its own cores: the
//! work, not the neighbours, is what it waits for. The same table orders quick runs: quick
//! sizes are cut-down full sizes, so the costly experiments stay the costly ones.
//!
//! A new experiment gets a line here (the test `every_registered_experiment_has_a_cost`
//! fails until it does); until then it counts [`UNKNOWN_COST_SECONDS`].

/// Full-size processor seconds per experiment id, in registry order.
pub const COSTS: &[(&str, f64)] = &[
    ("gemm-throughput", 2.37),
    ("softmax-stability", 1.18),
    ("approximation-rates", 5.34),
    ("approximation-polynomial-floor", 0.75),
    ("barron-dimension-free", 44.66),
    ("approximation-learnability-gap", 15.35),
    ("sawtooth-depth-separation", 25.00),
    ("parity-representation-vs-learning", 7.22),
    ("boolean-functions-width", 0.14),
    ("compositional-deep-vs-shallow", 28.95),
    ("linear-regions-depth-width", 0.70),
    ("autodiff-cost", 13.41),
    ("checkpointing-memory", 0.03),
    ("conv-gradient-check", 5.74),
    ("truncated-bptt-bias", 75.45),
    ("rnn-gradient-flow", 15.66),
    ("signal-propagation-phase-diagram", 0.51),
    ("correlation-map-iterates", 1.97),
    ("digits-mlp", 5.85),
    ("digits-cnn", 53.64),
    ("mnist1d-table", 114.22),
    ("framework-theoretical-analysis", 77.79),
    ("init-activation-statistics", 30.92),
    ("norm-training-curves", 10.81),
    ("norm-landscape-smoothness", 2.21),
    ("norm-lr-range", 51.26),
    ("norm-batch-size", 299.92),
    ("init-designed-activation", 49.38),
    ("init-trainability-depth", 314.60),
    ("ntk-finite-vs-infinite", 604.12),
    ("ntk-lazy-vs-feature-learning", 101.65),
    ("ntk-generalisation-bound", 0.05),
    ("ntk-cnn-gap", 48.85),
    ("double-descent-random-features", 10.06),
    ("double-descent-mlp", 85.99),
    ("implicit-regularisation-least-squares", 0.08),
    ("implicit-regularisation-matrix-factorisation", 46.02),
    ("implicit-regularisation-logistic", 9.73),
    ("scaling-laws-mnist1d", 13.60),
    ("scaling-laws-teacher-student", 16.12),
    ("lottery-tickets", 185.28),
    ("grokking", 124.38),
    ("feature-learning-mup", 150.20),
];

/// The cost of an experiment the table does not list: about the median of the table.
pub const UNKNOWN_COST_SECONDS: f64 = 15.0;

/// The full-size processor seconds of experiment `id` ([`COSTS`]), or
/// [`UNKNOWN_COST_SECONDS`].
pub fn cost_seconds(id: &str) -> f64 {
    COSTS.iter().find(|(known, _)| *known == id).map_or(UNKNOWN_COST_SECONDS, |(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_experiment_has_a_cost() {
        let registered: Vec<&str> = crate::registry::all().iter().map(|e| e.id()).collect();
        let listed: Vec<&str> = COSTS.iter().map(|(id, _)| *id).collect();
        assert_eq!(listed, registered, "COSTS lists the registry, in its order");
        assert!(COSTS.iter().all(|(_, c)| c.is_finite() && *c > 0.0));
        assert_eq!(cost_seconds("ntk-finite-vs-infinite"), 604.12);
        assert_eq!(cost_seconds("not-registered"), UNKNOWN_COST_SECONDS);
    }
}
