//! `cargo xtask merge DIR... --out DIR`: checks the share manifests of a sharded run and
//! combines the shares into the output a single run writes: every experiment's directory
//! (`metrics.json`, `run.json`, figures), then `index.md` and `index.html`.
//!
//! The checks, in order, each an error that names what is wrong:
//! 1. every `DIR` holds at least one manifest `shard-K-of-N.json`, and each one reads;
//! 2. the shares agree on the commit, the seed, the size, the selection, the number of
//!    shares and the configuration hash (the error names both manifests and both values);
//! 3. no share is given twice, and none of `0..n` is missing;
//! 4. every experiment of the selection is assigned to exactly one share;
//! 5. every share completed every experiment assigned to it (`share 2/3 did not complete:
//!    lottery-tickets, grokking`); such a share can be run again alone into its directory;
//! 6. every completed experiment's `metrics.json` is there and names its id, seed and size.
//!
//! The report's per-experiment seconds and processor seconds come from the manifests (the
//! share that ran the experiment measured them); everything else in it is made from the
//! `metrics.json` files and figures, as a single run makes it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::RunError;
use crate::experiment::Experiment;
use crate::fsio::{ensure_writable_dir, write_atomic};
use crate::manifest::{ManifestError, ShareManifest};
use crate::report::write_index;
use crate::runner::{Record, RunOptions, Status, with_earlier_results};
use crate::stamp::current_commit;

/// Why the shares could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A directory given holds no share manifest.
    #[error("{dir} holds no share manifest (shard-K-of-N.json); is it the --out of a sharded run?")]
    NoManifest {
        /// The directory.
        dir: PathBuf,
    },
    /// A directory given cannot be listed.
    #[error("cannot read directory {dir}: {source}")]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A manifest cannot be read or is malformed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Two shares disagree on a field that must be common to all.
    #[error("the shares are not from one run: {first} has {field} {first_value}, {second} has {field} {second_value}")]
    Mismatch {
        /// The field (commit, seed, size, selection, number of shares, configuration hash).
        field: &'static str,
        /// The first manifest.
        first: PathBuf,
        /// Its value.
        first_value: String,
        /// The manifest that disagrees.
        second: PathBuf,
        /// Its value.
        second_value: String,
    },
    /// The same share was given twice.
    #[error("share {shard} is given twice: {first} and {second}")]
    Duplicate {
        /// The share, `k/n`.
        shard: String,
        /// One manifest.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Some shares are absent.
    #[error("missing shares: {} (of {count}; shares count from 0); run them and give their directories", missing.join(", "))]
    Missing {
        /// The absent shares, `k/n`.
        missing: Vec<String>,
        /// The number of shares.
        count: usize,
    },
    /// An experiment of the selection is assigned to no share, or to several.
    #[error("experiment {id} is assigned to {assigned} shares ({}); the manifests are inconsistent", shares.join(", "))]
    Assignment {
        /// The experiment.
        id: String,
        /// How many shares it is assigned to.
        assigned: usize,
        /// Those shares' manifests.
        shares: Vec<String>,
    },
    /// An id in a manifest is not a registered experiment.
    #[error("{manifest} names experiment {id}, which is not registered")]
    UnknownExperiment {
        /// The manifest.
        manifest: PathBuf,
        /// The id.
        id: String,
    },
    /// Shares did not complete every experiment assigned to them.
    #[error("{}", incomplete.join("; "))]
    Incomplete {
        /// One line per incomplete share: `share 2/3 did not complete: a, b (a: error)`.
        incomplete: Vec<String>,
    },
    /// A completed experiment's `metrics.json` is absent, unreadable or not its own.
    #[error("{path}: {detail}")]
    Metrics {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Copying a file of a share into the output failed.
    #[error("cannot copy {from} to {to}: {source}")]
    Copy {
        /// The share's file.
        from: PathBuf,
        /// The destination.
        to: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A manifest and the directory it was found in.
struct Share {
    dir: PathBuf,
    path: PathBuf,
    manifest: ShareManifest,
}

/// Checks the shares found in `dirs` and writes the merged run into `out` (which may be one
/// of them). Returns the records of the merged experiments, in registry order.
pub fn merge(all: &[Box<dyn Experiment>], dirs: &[PathBuf], out: &Path) -> Result<Vec<Record>, RunError> {
    let shares = read_shares(dirs)?;
    check_agreement(&shares)?;
    let shares = check_complete_set(shares)?;
    check_assignment(all, &shares)?;
    check_completed(&shares)?;
    ensure_writable_dir(out).map_err(|source| RunError::OutDir { path: out.to_path_buf(), source })?;
    let first = &shares[0].manifest;
    let mut records = Vec::new();
    for share in &shares {
        for unit in &share.manifest.completed {
            let exp = all
                .iter()
                .find(|e| e.id() == unit.id)
                .ok_or_else(|| MergeError::UnknownExperiment { manifest: share.path.clone(), id: unit.id.clone() })?;
            let document = read_metrics(share, &unit.id)?;
            copy_experiment(&share.dir.join(&unit.id), &out.join(&unit.id))?;
            let figures = document["figures"]
                .as_array()
                .map(|f| f.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            records.push(Record {
                id: exp.id(),
                title: exp.title(),
                section: exp.section(),
                status: Status::Ok,
                seconds: unit.seconds,
                cpu_seconds: unit.cpu_seconds,
                document: Some(document),
                figures,
                earlier: None,
            });
        }
    }
    let position = |id: &str| all.iter().position(|e| e.id() == id).unwrap_or(usize::MAX);
    records.sort_by_key(|r| position(r.id));
    let opts = RunOptions { size: first.size, seed: first.seed, out: out.to_path_buf(), progress: false };
    let listed = with_earlier_results(&records, out, &current_commit());
    write_index(out, &opts, &listed)?;
    Ok(records)
}

fn read_shares(dirs: &[PathBuf]) -> Result<Vec<Share>, MergeError> {
    let mut shares = Vec::new();
    for dir in dirs {
        let entries = fs::read_dir(dir).map_err(|source| MergeError::ReadDir { dir: dir.clone(), source })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| ShareManifest::is_manifest_name(n))
            .collect();
        if names.is_empty() {
            return Err(MergeError::NoManifest { dir: dir.clone() });
        }
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let manifest = ShareManifest::read(&path)?;
            shares.push(Share { dir: dir.clone(), path, manifest });
        }
    }
    Ok(shares)
}

fn check_agreement(shares: &[Share]) -> Result<(), MergeError> {
    let first = &shares[0];
    type Field = (&'static str, fn(&ShareManifest) -> String);
    let fields: [Field; 6] = [
        ("commit", |m| m.commit.clone()),
        ("seed", |m| m.seed.to_string()),
        ("size", |m| m.size.as_str().to_string()),
        ("selection", |m| format!("[{}]", m.selection.join(", "))),
        ("number of shares", |m| m.shard.count.to_string()),
        ("configuration hash", |m| m.config_hash.clone()),
    ];
    for share in &shares[1..] {
        for (field, value) in &fields {
            let (a, b) = (value(&first.manifest), value(&share.manifest));
            if a != b {
                return Err(MergeError::Mismatch {
                    field,
                    first: first.path.clone(),
                    first_value: a,
                    second: share.path.clone(),
                    second_value: b,
                });
            }
        }
    }
    Ok(())
}

/// The shares in index order, one per index of `0..n`.
fn check_complete_set(shares: Vec<Share>) -> Result<Vec<Share>, MergeError> {
    let count = shares[0].manifest.shard.count;
    let mut by_index: BTreeMap<usize, Share> = BTreeMap::new();
    for share in shares {
        let k = share.manifest.shard.index;
        if let Some(earlier) = by_index.get(&k) {
            return Err(MergeError::Duplicate {
                shard: share.manifest.shard.to_string(),
                first: earlier.path.clone(),
                second: share.path.clone(),
            });
        }
        by_index.insert(k, share);
    }
    let missing: Vec<String> =
        (0..count).filter(|k| !by_index.contains_key(k)).map(|k| format!("{k}/{count}")).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    Ok(by_index.into_values().collect())
}

fn check_assignment(all: &[Box<dyn Experiment>], shares: &[Share]) -> Result<(), MergeError> {
    let first = &shares[0];
    for id in &first.manifest.selection {
        if !all.iter().any(|e| e.id() == id) {
            return Err(MergeError::UnknownExperiment { manifest: first.path.clone(), id: id.clone() });
        }
        let holders: Vec<String> =
            shares.iter().filter(|s| s.manifest.assigned.contains(id)).map(|s| s.path.display().to_string()).collect();
        if holders.len() != 1 {
            return Err(MergeError::Assignment { id: id.clone(), assigned: holders.len(), shares: holders });
        }
    }
    Ok(())
}

fn check_completed(shares: &[Share]) -> Result<(), MergeError> {
    let mut incomplete = Vec::new();
    for share in shares {
        let m = &share.manifest;
        let absent: Vec<&str> =
            m.assigned.iter().filter(|id| !m.completed.iter().any(|c| &c.id == *id)).map(String::as_str).collect();
        if absent.is_empty() {
            continue;
        }
        let mut line = format!("share {} did not complete: {}", m.shard, absent.join(", "));
        let errors: Vec<String> = m.failed.iter().map(|f| format!("{}: {}", f.id, f.error)).collect();
        if !errors.is_empty() {
            line.push_str(&format!(" (failed: {})", errors.join("; ")));
        }
        line.push_str(&format!(" [{}]; run that share again into {}", share.path.display(), share.dir.display()));
        incomplete.push(line);
    }
    if incomplete.is_empty() { Ok(()) } else { Err(MergeError::Incomplete { incomplete }) }
}

fn read_metrics(share: &Share, id: &str) -> Result<Value, MergeError> {
    let path = share.dir.join(id).join("metrics.json");
    let fault = |detail: String| MergeError::Metrics { path: path.clone(), detail };
    let text = fs::read_to_string(&path)
        .map_err(|e| fault(format!("cannot read it ({e}), though {} lists {id} as completed", share.path.display())))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| fault(format!("not valid JSON: {e}")))?;
    let m = &share.manifest;
    let expected = [("id", Value::from(id)), ("seed", Value::from(m.seed)), ("size", Value::from(m.size.as_str()))];
    for (field, value) in expected {
        if doc.get(field) != Some(&value) {
            let found = doc.get(field).map_or("nothing".to_string(), Value::to_string);
            return Err(fault(format!("{field} is {found}, but {} says {value}", share.path.display())));
        }
    }
    Ok(doc)
}

/// Copies the regular files of a share's experiment directory (not temporaries of an
/// interrupted write) into `to`, atomically each; nothing when `from` and `to` are the same
/// directory (a merge into one of the shares' directories).
fn copy_experiment(from: &Path, to: &Path) -> Result<(), MergeError> {
    let copy_err = |source| MergeError::Copy { from: from.to_path_buf(), to: to.to_path_buf(), source };
    if let (Ok(a), Ok(b)) = (fs::canonicalize(from), fs::canonicalize(to))
        && a == b
    {
        return Ok(());
    }
    fs::create_dir_all(to).map_err(copy_err)?;
    let mut names: Vec<String> = fs::read_dir(from)
        .map_err(copy_err)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    for name in names {
        let (src, dst) = (from.join(&name), to.join(&name));
        let bytes = fs::read(&src).map_err(|source| MergeError::Copy { from: src.clone(), to: dst.clone(), source })?;
        write_atomic(&dst, &bytes).map_err(|source| MergeError::Copy { from: src.clone(), to: dst.clone(), source })?;
    }
    Ok(())
}
