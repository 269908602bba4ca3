//! Independent runs of an experiment (replicate seeds, points of a sweep) computed in
//! parallel, with their results in a fixed order.
//!
//! Training runs of the small networks in the experiments are mostly single-threaded (their
//! tensors sit below the crates' parallel thresholds), so independent runs — one per
//! replicate seed, or per point of a grid — are spread over the cores here. Each run draws
//! from its own seeded generator, and the crates' results do not depend on the thread
//! count, so the results are the same bits as a sequential loop's, in item order.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::context::RunContext;
use crate::error::ExperimentError;

/// `f` applied to every item, in parallel, results in item order; the first error (in item
/// order) is returned. Progress is reported to `ctx` as runs finish.
pub fn par_map<T, R, F>(ctx: &RunContext, items: &[T], f: F) -> Result<Vec<R>, ExperimentError>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R, ExperimentError> + Sync,
{
    let done = AtomicU64::new(0);
    let total = items.len() as u64;
    let results: Vec<Result<R, ExperimentError>> = items
        .par_iter()
        .map(|item| {
            let out = f(item);
            ctx.progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            out
        })
        .collect();
    // sequentially, so that the error returned is the first in item order
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use dl_tensor::{Tensor, seeded_rng};
    use indicatif::ProgressBar;

    use super::*;
    use crate::experiment::Size;

    #[test]
    fn parallel_runs_match_a_sequential_loop_in_order() {
        let ctx = RunContext::new(Size::Quick, 0, PathBuf::from("."), ProgressBar::hidden());
        let seeds: Vec<u64> = (0..16).collect();
        let run = |&s: &u64| -> Result<Vec<f64>, ExperimentError> {
            let a = Tensor::<f64>::randn(&[48, 48], &mut seeded_rng(s));
            Ok(a.matmul(&a)?.to_vec())
        };
        let parallel = par_map(&ctx, &seeds, run).unwrap();
        let sequential: Vec<Vec<f64>> = seeds.iter().map(|s| run(s).unwrap()).collect();
        assert_eq!(parallel, sequential);
        let failing =
            par_map(
                &ctx,
                &seeds,
                |&s| {
                    if s % 5 == 3 { Err(ExperimentError::Invalid(format!("run {s}"))) } else { Ok(s) }
                },
            );
        assert_eq!(failing.unwrap_err().to_string(), ExperimentError::Invalid("run 3".into()).to_string());
    }
}
