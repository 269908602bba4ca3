//! The registry: every experiment that `cargo xtask experiments` knows, in report order.
//! Adding an experiment is one line here plus its file under `experiments/`.

use crate::experiment::Experiment;
use crate::experiments::autodiff_cost::AutodiffCost;
use crate::experiments::checkpointing_memory::CheckpointingMemory;
use crate::experiments::correlation_map::CorrelationMapIterates;
use crate::experiments::phase_diagram::PhaseDiagram;
use crate::experiments::{gemm_throughput::GemmThroughput, softmax_stability::SoftmaxStability};

/// Every registered experiment.
pub fn all() -> Vec<Box<dyn Experiment>> {
    vec![
        Box::new(GemmThroughput),
        Box::new(SoftmaxStability),
        Box::new(AutodiffCost),
        Box::new(CheckpointingMemory),
        Box::new(PhaseDiagram),
        Box::new(CorrelationMapIterates),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let all = all();
        let mut ids: Vec<&str> = all.iter().map(|e| e.id()).collect();
        for id in &ids {
            let ok = !id.is_empty()
                && !id.starts_with('-')
                && !id.ends_with('-')
                && !id.contains("--")
                && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert!(ok, "id {id:?} is not kebab-case");
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate ids");
        assert!(all.iter().all(|e| !e.title().is_empty() && !e.section().is_empty()));
    }
}
