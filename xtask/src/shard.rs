//! Shares of a sweep for job arrays: which share this process runs (`--shard k/n`, or a
//! scheduler's environment variables), and which experiments each share is assigned.
//!
//! Shares count from 0: share `k` of `n` has `0 <= k < n`, as Kubernetes' Indexed Jobs
//! number their pods (`JOB_COMPLETION_INDEX`). A Slurm array may start anywhere
//! (`--array=1-3`): the share is `(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /
//! SLURM_ARRAY_TASK_STEP`, and the count `SLURM_ARRAY_TASK_COUNT` unless `--shards n` says
//! otherwise.
//!
//! The unit of work is the experiment. The assignment is a pure function of the selection
//! (in registry order), the number of shares, the size and the cost table [`crate::costs`]: greedy
//! longest processing time first (the costliest experiment goes to the least loaded share;
//! ties go to the earlier experiment in registry order and to the lower share). Every
//! experiment derives its random draws from the run seed and its own keys
//! ([`crate::context::derive_seed`]), never from what ran before it in the process, so an
//! experiment gives the same bits in any share as in a single run.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::costs::cost_seconds;
use crate::experiment::Size;

/// Share `index` of `count` (`0 <= index < count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// Which share, from 0.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why the share of this process could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// `--shard` is not `k/n` with `0 <= k < n`.
    #[error("--shard {value}: {reason}; expected k/n with 0 <= k < n (shares count from 0)")]
    BadSpec {
        /// What was given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A scheduler's environment variable (or `--shards`) holds an unusable value.
    #[error("{name}={value}: {reason}")]
    BadVariable {
        /// The variable (or flag).
        name: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The share index came from the environment but the number of shares is unknown.
    #[error("{name}={value} gives the share index but not the number of shares: pass --shards N")]
    NoCount {
        /// The variable holding the index.
        name: String,
        /// Its value.
        value: String,
    },
    /// `--shards` was given without any share index.
    #[error(
        "--shards {count} needs a share index: --shard k/{count}, or SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX in the environment"
    )]
    CountWithoutIndex {
        /// The number of shares asked for.
        count: usize,
    },
}

impl ShardSpec {
    /// Parses `k/n` (`0 <= k < n`).
    pub fn parse(value: &str) -> Result<Self, ShardError> {
        let bad = |reason: &str| ShardError::BadSpec { value: value.to_string(), reason: reason.to_string() };
        let (k, n) = value.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let k: usize = k.trim().parse().map_err(|_| bad(&format!("share index {k:?} is not a whole number")))?;
        let n: usize = n.trim().parse().map_err(|_| bad(&format!("share count {n:?} is not a whole number")))?;
        if n == 0 {
            return Err(bad("the number of shares is 0"));
        }
        if k >= n {
            return Err(bad(&format!("share index {k} is not below the number of shares {n}")));
        }
        Ok(ShardSpec { index: k, count: n })
    }

    /// The share of this process: `--shard` if given; otherwise from Slurm's
    /// `SLURM_ARRAY_TASK_ID` (with `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_STEP`, and
    /// `SLURM_ARRAY_TASK_COUNT` or `--shards`), otherwise from Kubernetes'
    /// `JOB_COMPLETION_INDEX` (with `--shards`); `None` for an unsharded run. `env` looks a
    /// variable up (`|name| std::env::var(name).ok()` in the command).
    pub fn resolve(
        shard: Option<&str>,
        shards: Option<usize>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ShardError> {
        if let Some(value) = shard {
            let spec = Self::parse(value)?;
            if let Some(n) = shards.filter(|&n| n != spec.count) {
                return Err(ShardError::BadSpec {
                    value: value.to_string(),
                    reason: format!("--shards {n} says another number of shares"),
                });
            }
            return Ok(Some(spec));
        }
        if let Some(id) = env("SLURM_ARRAY_TASK_ID") {
            return Self::from_slurm(&id, shards, &env).map(Some);
        }
        if let Some(index) = env("JOB_COMPLETION_INDEX") {
            let k = whole("JOB_COMPLETION_INDEX", &index)?;
            let n = shards.ok_or(ShardError::NoCount { name: "JOB_COMPLETION_INDEX".into(), value: index.clone() })?;
            return within("JOB_COMPLETION_INDEX", &index, k, n).map(Some);
        }
        match shards {
            Some(count) => Err(ShardError::CountWithoutIndex { count }),
            None => Ok(None),
        }
    }

    fn from_slurm(id: &str, shards: Option<usize>, env: &impl Fn(&str) -> Option<String>) -> Result<Self, ShardError> {
        let task = whole("SLURM_ARRAY_TASK_ID", id)?;
        let read = |name: &str, default: usize| env(name).map_or(Ok(default), |v| whole(name, &v));
        let min = read("SLURM_ARRAY_TASK_MIN", 0)?;
        let step = read("SLURM_ARRAY_TASK_STEP", 1)?;
        if step == 0 {
            return Err(bad_var("SLURM_ARRAY_TASK_STEP", "0", "the step is 0"));
        }
        if task < min || (task - min) % step != 0 {
            return Err(bad_var(
                "SLURM_ARRAY_TASK_ID",
                id,
                &format!("not SLURM_ARRAY_TASK_MIN ({min}) plus a multiple of SLURM_ARRAY_TASK_STEP ({step})"),
            ));
        }
        let k = (task - min) / step;
        let n = match shards {
            Some(n) => n,
            None => match env("SLURM_ARRAY_TASK_COUNT") {
                Some(v) => whole("SLURM_ARRAY_TASK_COUNT", &v)?,
                None => return Err(ShardError::NoCount { name: "SLURM_ARRAY_TASK_ID".into(), value: id.to_string() }),
            },
        };
        within("SLURM_ARRAY_TASK_ID", id, k, n)
    }
}

fn bad_var(name: &str, value: &str, reason: &str) -> ShardError {
    ShardError::BadVariable { name: name.to_string(), value: value.to_string(), reason: reason.to_string() }
}

fn whole(name: &str, value: &str) -> Result<usize, ShardError> {
    value.trim().parse().map_err(|_| bad_var(name, value, "not a whole number"))
}

fn within(name: &str, value: &str, k: usize, n: usize) -> Result<ShardSpec, ShardError> {
    if n == 0 {
        return Err(bad_var(name, value, "the number of shares is 0"));
    }
    if k >= n {
        return Err(bad_var(
            name,
            value,
            &format!("share {k} (counting from 0) is not below the number of shares {n}"),
        ));
    }
    Ok(ShardSpec { index: k, count: n })
}

/// The experiments of `selection` (ids in registry order) assigned to each of `count`
/// shares of a run at `size`: greedy longest processing time first over [`cost_seconds`].
/// Each share's list is in registry order. No shares (`count` 0) assign nothing.
pub fn assign(selection: &[&str], count: usize, size: Size) -> Vec<Vec<String>> {
    if count == 0 {
        return Vec::new();
    }
    let cost = |i: usize| cost_seconds(selection[i], size);
    let mut order: Vec<usize> = (0..selection.len()).collect();
    // costliest first; a stable sort keeps registry order among equal costs
    order.sort_by(|&a, &b| cost(b).total_cmp(&cost(a)));
    let mut load = vec![0.0_f64; count];
    let mut shares: Vec<Vec<usize>> = vec![Vec::new(); count];
    for i in order {
        let (least, _) =
            load.iter().enumerate().fold((0, f64::INFINITY), |best, (s, &l)| if l < best.1 { (s, l) } else { best });
        load[least] += cost(i);
        shares[least].push(i);
    }
    shares
        .into_iter()
        .map(|mut s| {
            s.sort_unstable();
            s.into_iter().map(|i| selection[i].to_string()).collect()
        })
        .collect()
}

/// The configuration hash a share records and the merge compares: FNV-1a (64 bits, as hex)
/// over the size, the seed, the number of shares, the selection and the whole assignment,
/// one `name=value` line each.
pub fn config_hash(size: Size, seed: u64, selection: &[&str], assignment: &[Vec<String>]) -> String {
    let shares: Vec<String> = assignment.iter().enumerate().map(|(k, ids)| format!("{k}:{}", ids.join(","))).collect();
    let text = format!(
        "size={}\nseed={seed}\nshares={}\nselection={}\nassignment={}\n",
        size.as_str(),
        assignment.len(),
        selection.join(","),
        shares.join(";")
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn parses_k_of_n_counting_from_zero() {
        assert_eq!(ShardSpec::parse("0/3").unwrap(), ShardSpec { index: 0, count: 3 });
        assert_eq!(ShardSpec::parse("2/3").unwrap().to_string(), "2/3");
        for (bad, says) in [
            ("3/3", "share index 3 is not below the number of shares 3"),
            ("0/0", "the number of shares is 0"),
            ("a/3", "share index \"a\" is not a whole number"),
            ("1", "no `/`"),
            ("-1/3", "not a whole number"),
        ] {
            let msg = ShardSpec::parse(bad).unwrap_err().to_string();
            assert!(msg.starts_with(&format!("--shard {bad}: ")) && msg.contains(says), "{msg}");
        }
    }

    #[test]
    fn reads_the_share_from_slurm_and_kubernetes() {
        let none = env_of(&[]);
        assert_eq!(ShardSpec::resolve(None, None, &none).unwrap(), None);
        assert_eq!(ShardSpec::resolve(Some("1/2"), Some(2), &none).unwrap(), Some(ShardSpec { index: 1, count: 2 }));
        assert!(ShardSpec::resolve(Some("1/2"), Some(3), &none).unwrap_err().to_string().contains("--shards 3"));
        // a Slurm array --array=1-3: task ids 1, 2, 3 are shares 0, 1, 2 of 3
        let slurm =
            env_of(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "3")]);
        assert_eq!(ShardSpec::resolve(None, None, &slurm).unwrap(), Some(ShardSpec { index: 2, count: 3 }));
        // --array=0-8:4 (ids 0, 4, 8): id 4 is share 1
        let stepped =
            env_of(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_STEP", "4"), ("SLURM_ARRAY_TASK_COUNT", "3")]);
        assert_eq!(ShardSpec::resolve(None, None, &stepped).unwrap(), Some(ShardSpec { index: 1, count: 3 }));
        // --shard wins over the environment; --shards over SLURM_ARRAY_TASK_COUNT
        assert_eq!(ShardSpec::resolve(Some("0/1"), None, &slurm).unwrap(), Some(ShardSpec { index: 0, count: 1 }));
        assert_eq!(ShardSpec::resolve(None, Some(5), &slurm).unwrap(), Some(ShardSpec { index: 2, count: 5 }));
        let k8s = env_of(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(ShardSpec::resolve(None, Some(3), &k8s).unwrap(), Some(ShardSpec { index: 2, count: 3 }));
    }

    #[test]
    fn bad_scheduler_values_name_the_variable_and_the_value() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<usize>, &'a str);
        let cases: [Case; 7] = [
            (&[("JOB_COMPLETION_INDEX", "2")], None, "JOB_COMPLETION_INDEX=2 gives the share index but not the number"),
            (
                &[("JOB_COMPLETION_INDEX", "3")],
                Some(3),
                "JOB_COMPLETION_INDEX=3: share 3 (counting from 0) is not below",
            ),
            (&[("JOB_COMPLETION_INDEX", "x1")], Some(3), "JOB_COMPLETION_INDEX=x1: not a whole number"),
            (&[("SLURM_ARRAY_TASK_ID", "two")], Some(3), "SLURM_ARRAY_TASK_ID=two: not a whole number"),
            (
                &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "0")],
                None,
                "SLURM_ARRAY_TASK_ID=1: the number of shares is 0",
            ),
            (
                &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "?")],
                Some(2),
                "SLURM_ARRAY_TASK_MIN=?: not a whole number",
            ),
            (&[], Some(4), "--shards 4 needs a share index"),
        ];
        for (pairs, shards, says) in cases {
            let msg = ShardSpec::resolve(None, shards, env_of(pairs)).unwrap_err().to_string();
            assert!(msg.starts_with(says), "{msg}");
        }
    }

    #[test]
    fn assignment_balances_costs_and_covers_the_selection_once() {
        let all: Vec<&str> = crate::costs::COSTS.iter().map(|(id, ..)| *id).collect();
        for size in [Size::Full, Size::Quick] {
            balanced(&all, &assign(&all, 3, size), size);
        }
        let shares = assign(&all, 3, Size::Full);
        // the costliest experiment sits first in share 0; shares keep registry order
        assert!(shares[0].contains(&"ntk-finite-vs-infinite".to_string()), "{shares:?}");
        for s in &shares {
            let pos: Vec<usize> = s.iter().map(|id| all.iter().position(|a| a == id).unwrap()).collect();
            assert!(pos.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        }
        // quick size orders by its own costs: grokking is the costliest there
        assert!(assign(&all, 3, Size::Quick)[0].contains(&"grokking".to_string()));
        // more shares than experiments: the extra shares are empty
        let few = assign(&["softmax-stability", "grokking"], 3, Size::Full);
        assert_eq!(few, [vec!["grokking".to_string()], vec!["softmax-stability".to_string()], vec![]]);
        assert!(assign(&["grokking"], 0, Size::Quick).is_empty(), "no shares, nothing assigned (and no panic)");
    }

    fn balanced(all: &[&str], shares: &[Vec<String>], size: Size) {
        let mut seen: Vec<&str> = shares.iter().flatten().map(String::as_str).collect();
        seen.sort_unstable();
        let mut expected = all.to_vec();
        expected.sort_unstable();
        assert_eq!(seen, expected, "every experiment in exactly one share");
        let loads: Vec<f64> = shares.iter().map(|s| s.iter().map(|id| cost_seconds(id, size)).sum()).collect();
        let total: f64 = loads.iter().sum();
        let largest = all.iter().map(|id| cost_seconds(id, size)).fold(0.0, f64::max);
        // LPT's guarantee: no share exceeds the mean load by more than the largest job
        for l in &loads {
            assert!(*l <= total / 3.0 + largest, "{size:?}: {loads:?}");
        }
    }

    #[test]
    fn the_configuration_hash_changes_with_every_input() {
        let sel = ["a", "b"];
        let two = vec![vec!["a".to_string()], vec!["b".to_string()]];
        let base = config_hash(Size::Quick, 0, &sel, &two);
        assert!(base.starts_with("fnv1a64:") && base.len() == 8 + 16, "{base}");
        assert_eq!(base, config_hash(Size::Quick, 0, &sel, &two));
        assert_ne!(base, config_hash(Size::Full, 0, &sel, &two));
        assert_ne!(base, config_hash(Size::Quick, 1, &sel, &two));
        assert_ne!(base, config_hash(Size::Quick, 0, &["a"], &two));
        assert_ne!(base, config_hash(Size::Quick, 0, &sel, &[vec!["a".to_string(), "b".to_string()], vec![]]));
    }
}
