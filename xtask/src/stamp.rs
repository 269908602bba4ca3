//! [`RunStamp`]: when, and from which commit, an experiment's results were made, written
//! beside its metrics as `DIR/ID/run.json`.
//!
//! `metrics.json` holds only what the experiment computed (it is snapshot-tested and must
//! be byte-identical for the same seed), so the commit and the time live in their own
//! file. The index lists every experiment found on disk; one that this run did not make is
//! shown with its stamp, and marked stale when its commit is not the current one.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The provenance of one experiment's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStamp {
    /// `git rev-parse HEAD` where the run was made, or `unknown` outside a git checkout.
    pub commit: String,
    /// When the experiment finished, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub time_utc: String,
    /// `quick` or `full`.
    pub size: String,
    /// The run seed.
    pub seed: u64,
    /// Wall-clock seconds the experiment took.
    pub seconds: f64,
}

impl RunStamp {
    /// Reads `DIR/ID/run.json`; `None` if it is absent or not a stamp.
    pub fn read(dir: &Path) -> Option<Self> {
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).ok()?).ok()
    }

    /// The first 12 characters of the commit (all of `unknown`).
    pub fn short_commit(&self) -> &str {
        self.commit.get(..12).unwrap_or(&self.commit)
    }
}

/// The commit of the working directory's checkout (`git rev-parse HEAD`), or `unknown`.
pub fn current_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_utc() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

/// `secs` since 1970-01-01T00:00:00Z as `YYYY-MM-DDTHH:MM:SSZ` (the proleptic Gregorian
/// calendar, by Howard Hinnant's `civil_from_days`).
pub fn utc_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3_600, rem % 3_600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dates checked against `date -u -d @SECS` (GNU coreutils).
    #[test]
    fn utc_dates_match_the_calendar() {
        assert_eq!(utc_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_from_unix(951_782_400), "2000-02-29T00:00:00Z"); // a leap day of a century leap year
        assert_eq!(utc_from_unix(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_from_unix(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn the_commit_is_a_hash_or_unknown() {
        let c = current_commit();
        assert!(c == "unknown" || (c.len() == 40 && c.chars().all(|ch| ch.is_ascii_hexdigit())), "{c}");
    }
}
