//! The share manifest, `DIR/shard-K-of-N.json`: what one share of a sharded run was asked
//! to do and what it did. The merge ([`crate::merge`]) reads one per share and checks them
//! against each other before it combines anything.
//!
//! A share's experiments are written as a normal run writes them (`DIR/ID/metrics.json`,
//! `run.json`, figures); the manifest is written last, atomically, after every assigned
//! experiment has ended, so a manifest on disk describes a share that ran to its end.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::experiment::Size;
use crate::fsio::write_atomic;
use crate::shard::ShardSpec;

/// The manifest format this code writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// An experiment a share finished, with its timings (the report shows them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletedUnit {
    /// The experiment id.
    pub id: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Processor seconds of the process while it ran, where the platform reports them.
    pub cpu_seconds: Option<f64>,
}

/// An experiment a share ran and that failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedUnit {
    /// The experiment id.
    pub id: String,
    /// The error, as the index would show it.
    pub error: String,
}

/// What one share was asked to do and what it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// Which share of how many.
    pub shard: ShardSpec,
    /// The commit the share ran at (`git rev-parse HEAD`, or `unknown`).
    pub commit: String,
    /// The run seed.
    pub seed: u64,
    /// Quick or full.
    pub size: Size,
    /// Every experiment of the sharded run (all shares), ids in registry order: the
    /// `--only` list, or every registered experiment without one.
    pub selection: Vec<String>,
    /// [`crate::shard::config_hash`] of the size, seed, selection and assignment.
    pub config_hash: String,
    /// The experiments assigned to this share, in registry order.
    pub assigned: Vec<String>,
    /// Those that finished, with their timings.
    pub completed: Vec<CompletedUnit>,
    /// Those that failed.
    pub failed: Vec<FailedUnit>,
    /// When the share ended, UTC.
    pub finished_utc: String,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read share manifest {path}: {source}")]
    Read {
        /// The manifest.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid manifest (truncated, corrupted, another format).
    #[error("{path} is not a valid share manifest: {detail}")]
    Malformed {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl ShareManifest {
    /// The manifest's file name: `shard-K-of-N.json`.
    pub fn file_name(shard: ShardSpec) -> String {
        format!("shard-{}-of-{}.json", shard.index, shard.count)
    }

    /// Whether `name` has the form of a manifest's file name.
    pub fn is_manifest_name(name: &str) -> bool {
        let Some(middle) = name.strip_prefix("shard-").and_then(|n| n.strip_suffix(".json")) else {
            return false;
        };
        middle.split_once("-of-").is_some_and(|(k, n)| {
            !k.is_empty() && !n.is_empty() && k.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
        })
    }

    /// Writes the manifest as `dir/shard-K-of-N.json`, atomically; returns its path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(Self::file_name(self.shard));
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Reads and checks a manifest: the format, a share index below the count, and only
    /// assigned experiments completed or failed. Any fault is an error naming `path`.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let text =
            fs::read_to_string(path).map_err(|source| ManifestError::Read { path: path.to_path_buf(), source })?;
        let malformed = |detail: String| ManifestError::Malformed { path: path.to_path_buf(), detail };
        let m: ShareManifest = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        if m.format != MANIFEST_FORMAT {
            return Err(malformed(format!("format {} (this xtask reads format {MANIFEST_FORMAT})", m.format)));
        }
        if m.shard.count == 0 || m.shard.index >= m.shard.count {
            return Err(malformed(format!("shard {} is not k/n with 0 <= k < n", m.shard)));
        }
        let ran = m.completed.iter().map(|c| &c.id).chain(m.failed.iter().map(|f| &f.id));
        if let Some(stray) = ran.clone().find(|id| !m.assigned.contains(id)) {
            return Err(malformed(format!("{stray} is completed or failed but not assigned")));
        }
        if let Some(stray) = m.assigned.iter().find(|id| !m.selection.contains(id)) {
            return Err(malformed(format!("{stray} is assigned but not in the selection")));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_names_are_recognised() {
        let name = ShareManifest::file_name(ShardSpec { index: 2, count: 3 });
        assert_eq!(name, "shard-2-of-3.json");
        assert!(ShareManifest::is_manifest_name(&name));
        for other in
            ["shard-2-of-.json", "shard-a-of-3.json", "shard-2-of-3.json.tmp", "index.json", "shard--of-3.json"]
        {
            assert!(!ShareManifest::is_manifest_name(other), "{other}");
        }
    }
}
