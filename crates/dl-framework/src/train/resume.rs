//! Checked resume: a checkpoint records the network and training configurations it was
//! made with, and resuming under a different one is refused, naming every differing field,
//! unless the caller allows the change (fine-tuning).
//!
//! Resuming reproduces the uninterrupted run bit for bit only under the same
//! configuration: another batch size, learning rate, schedule or seed quietly makes it a
//! different run. So [`Trainer::resume`](super::Trainer::resume) compares the two
//! configurations field by field ([`config_changes`]: a JSON diff to the leaf, e.g.
//! `optimizer.lr`, `schedule.then.gamma`, `network.layers[1].p`) and refuses any change
//! that the [`ResumePolicy`] does not allow. Fields that steer the run without changing
//! its trajectory may always differ ([`RUN_CONTROL_FIELDS`]): `max_steps` (how a run is
//! interrupted), `output_dir`, `checkpoint_every`, `progress`, `log_every`,
//! `finite_check_every`, the memory limits and the allowance itself.
//!
//! ```
//! use dl_framework::train::{ResumePolicy, config_changes};
//! let before = serde_json::json!({"batch_size": 32, "optimizer": {"kind": "sgd", "lr": 0.1}});
//! let now = serde_json::json!({"batch_size": 64, "optimizer": {"kind": "sgd", "lr": 0.01}});
//! let changes = config_changes(&before, &now, "");
//! let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
//! assert_eq!(fields, ["batch_size", "optimizer.lr"]);
//! let fine_tune = ResumePolicy::AllowChanges(vec!["optimizer.lr".into()]);
//! assert!(fine_tune.allows("optimizer.lr") && !fine_tune.allows("batch_size"));
//! assert!(ResumePolicy::AllowChanges(vec!["optimizer".into()]).allows("optimizer.lr"));
//! ```

use serde_json::Value;

/// Training fields that never change a run's trajectory: they may differ on resume.
pub const RUN_CONTROL_FIELDS: &[&str] = &[
    "max_steps",
    "output_dir",
    "checkpoint_every",
    "progress",
    "log_every",
    "finite_check_every",
    "memory_limit_bytes",
    "allow_config_changes",
    "network.memory_limit_bytes",
];

/// Which configuration changes a resume accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ResumePolicy {
    /// The configuration must be the checkpoint's (run-control fields aside): the resumed
    /// run continues the interrupted one bit for bit.
    #[default]
    Strict,
    /// These fields may differ (fine-tuning): a path allows itself and everything under it
    /// (`"optimizer"` allows `optimizer.lr`; `"network.layers[2]"` allows
    /// `network.layers[2].p`).
    AllowChanges(Vec<String>),
}

impl ResumePolicy {
    /// The policy a training configuration states with `allow_config_changes`.
    pub fn from_fields(fields: &[String]) -> Self {
        if fields.is_empty() { ResumePolicy::Strict } else { ResumePolicy::AllowChanges(fields.to_vec()) }
    }

    /// Whether a change of `field` is accepted.
    pub fn allows(&self, field: &str) -> bool {
        let covered = |allowed: &str| {
            field == allowed
                || field.strip_prefix(allowed).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        };
        if RUN_CONTROL_FIELDS.iter().any(|f| covered(f)) {
            return true;
        }
        match self {
            ResumePolicy::Strict => false,
            ResumePolicy::AllowChanges(fields) => fields.iter().any(|f| covered(f.trim())),
        }
    }
}

/// One field whose value differs between a checkpoint's configuration and the current one.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigChange {
    /// The field's path (`optimizer.lr`, `network.layers[1].p`).
    pub field: String,
    /// Its value in the checkpoint (JSON; `absent` when it was not set).
    pub checkpoint: String,
    /// Its value now.
    pub now: String,
}

impl std::fmt::Display for ConfigChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {} in the checkpoint, {} now", self.field, self.checkpoint, self.now)
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".to_string(),
        Some(v) => v.to_string(),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

/// The leaf fields in which `checkpoint` and `now` differ, in order, under `prefix`
/// (objects compared key by key, arrays element by element; an array whose length
/// changed is one change of the array).
pub fn config_changes(checkpoint: &Value, now: &Value, prefix: &str) -> Vec<ConfigChange> {
    let mut out = Vec::new();
    diff(Some(checkpoint), Some(now), prefix, &mut out);
    out
}

fn diff(a: Option<&Value>, b: Option<&Value>, path: &str, out: &mut Vec<ConfigChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff(x.get(k), y.get(k), &join(path, k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                diff(Some(u), Some(v), &format!("{path}[{i}]"), out);
            }
        }
        // null and absent are the same setting (an optional field left out)
        (Some(Value::Null), None) | (None, Some(Value::Null)) => {}
        (a, b) if a != b => {
            let field = if path.is_empty() { "<root>".to_string() } else { path.to_string() };
            out.push(ConfigChange { field, checkpoint: show(a), now: show(b) });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_named_to_the_leaf() {
        let a = json!({"layers": [{"type": "dense", "units": 8}, {"type": "dropout", "p": 0.1}], "seed": 1});
        let b =
            json!({"layers": [{"type": "dense", "units": 8}, {"type": "dropout", "p": 0.3}], "seed": 1, "extra": null});
        let c = config_changes(&a, &b, "network");
        assert_eq!(
            c,
            vec![ConfigChange { field: "network.layers[1].p".into(), checkpoint: "0.1".into(), now: "0.3".into() }]
        );
        assert_eq!(c[0].to_string(), "network.layers[1].p is 0.1 in the checkpoint, 0.3 now");
        let d = json!({"layers": [{"type": "dense", "units": 8}], "seed": 1});
        assert_eq!(config_changes(&a, &d, "network")[0].field, "network.layers");
        let e = json!({"layers": [{"type": "dense", "units": 8}, {"type": "dropout", "p": 0.1}], "seed": 1, "init": {"scheme": "lecun"}});
        assert_eq!(config_changes(&a, &e, "network")[0].checkpoint, "absent");
    }

    #[test]
    fn policies_allow_fields_and_what_is_under_them() {
        let p = ResumePolicy::AllowChanges(vec!["optimizer.lr".into(), "network.layers[2]".into()]);
        assert!(p.allows("optimizer.lr") && !p.allows("optimizer.lr_x") && !p.allows("optimizer.momentum"));
        assert!(p.allows("network.layers[2].p") && !p.allows("network.layers[20].p"));
        assert!(ResumePolicy::Strict.allows("max_steps") && ResumePolicy::Strict.allows("output_dir"));
        assert!(!ResumePolicy::Strict.allows("batch_size") && !ResumePolicy::Strict.allows("epochs"));
        assert_eq!(ResumePolicy::from_fields(&[]), ResumePolicy::Strict);
    }
}
