//! Runs one share of a sharded run (`cargo xtask experiments --shard k/n --out DIR`): the
//! experiments [`crate::shard::assign`] gives share `k`, written as a normal run writes
//! them, then the share manifest `DIR/shard-K-of-N.json` ([`ShareManifest`]). A share
//! writes no index: the merge ([`crate::merge`]) writes the one report of the whole run.

use crate::error::RunError;
use crate::experiment::Experiment;
use crate::manifest::{CompletedUnit, FailedUnit, MANIFEST_FORMAT, ShareManifest};
use crate::runner::{RunOptions, Status, run_experiments};
use crate::shard::{ShardError, ShardSpec, assign, config_hash};
use crate::stamp::{current_commit, now_utc};

/// Runs share `shard` of `selection` (the whole run's experiments, in registry order) into
/// `opts.out` and writes its manifest. Returns the manifest; if an experiment failed, the
/// manifest is written (naming the failures) and the result is [`RunError::ShareFailed`].
pub fn run_share(
    selection: &[&dyn Experiment],
    shard: ShardSpec,
    opts: &RunOptions,
) -> Result<ShareManifest, RunError> {
    let ids: Vec<&str> = selection.iter().map(|e| e.id()).collect();
    let assignment = assign(&ids, shard.count, opts.size);
    let mine = assignment.get(shard.index).ok_or_else(|| ShardError::BadSpec {
        value: shard.to_string(),
        reason: "the share index is not below the number of shares".to_string(),
    })?;
    let experiments: Vec<&dyn Experiment> =
        selection.iter().copied().filter(|e| mine.iter().any(|id| id == e.id())).collect();
    println!(
        "share {shard}: {} of {} experiments{}{}",
        experiments.len(),
        selection.len(),
        if mine.is_empty() { "" } else { ": " },
        mine.join(", ")
    );
    // An earlier manifest of this share must not outlive a run of it that is cut short.
    let manifest_path = opts.out.join(ShareManifest::file_name(shard));
    if manifest_path.is_file() {
        std::fs::remove_file(&manifest_path)
            .map_err(|source| RunError::Write { path: manifest_path.clone(), source })?;
    }
    let records = run_experiments(&experiments, opts)?;
    let mut completed = Vec::new();
    let mut failed = Vec::new();
    for r in &records {
        match &r.status {
            Status::Ok => {
                completed.push(CompletedUnit { id: r.id.to_string(), seconds: r.seconds, cpu_seconds: r.cpu_seconds })
            }
            Status::Failed(error) => failed.push(FailedUnit { id: r.id.to_string(), error: error.clone() }),
        }
    }
    let manifest = ShareManifest {
        format: MANIFEST_FORMAT,
        shard,
        commit: current_commit(),
        seed: opts.seed,
        size: opts.size,
        selection: ids.iter().map(|s| s.to_string()).collect(),
        config_hash: config_hash(opts.size, opts.seed, &ids, &assignment),
        assigned: mine.clone(),
        completed,
        failed,
        finished_utc: now_utc(),
    };
    let path = manifest
        .write(&opts.out)
        .map_err(|source| RunError::Write { path: opts.out.join(ShareManifest::file_name(shard)), source })?;
    if manifest.failed.is_empty() {
        println!("share {shard}: manifest {}", path.display());
        Ok(manifest)
    } else {
        Err(RunError::ShareFailed {
            shard: shard.to_string(),
            failed: manifest.failed.iter().map(|f| f.id.clone()).collect(),
            total: manifest.assigned.len(),
            manifest: path,
        })
    }
}
