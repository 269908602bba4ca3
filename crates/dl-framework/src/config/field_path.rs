//! Field paths in configuration errors, down to the leaf.
//!
//! `serde_path_to_error` tracks the path of a deserialisation error, but serde's
//! internally tagged enums (`{"type": "dense", ...}`, `{"kind": "sgd", ...}`) buffer their
//! content before picking the variant, and the path stops at the enum: an invalid learning
//! rate is reported at `optimizer`, not `optimizer.lr`. [`parse_json`] finds the leaf by
//! asking the deserialiser itself: it removes the fields of the object the error points at,
//! one at a time, and the field whose removal changes the error is the one at fault (its
//! own value is searched the same way when it is an object or a list of objects). This
//! runs only on the error path, on documents of a few hundred bytes.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{FrameworkError, Result};

/// One step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn show(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) if s.is_empty() => s.push_str(k),
            Step::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if s.is_empty() { "<root>".to_string() } else { s }
}

fn node_mut<'v>(doc: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(doc, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// The error (path and message) of deserialising `C` from `doc`, if any.
fn error_of<C: DeserializeOwned>(doc: &Value) -> Option<(Vec<Step>, String)> {
    match serde_path_to_error::deserialize::<_, C>(doc) {
        Ok(_) => None,
        Err(e) => {
            let path = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
                    _ => None,
                })
                .collect();
            Some((path, e.into_inner().to_string()))
        }
    }
}

/// Keys that select a variant; removing one changes every error, so they are not searched.
const TAGS: [&str; 3] = ["type", "kind", "scheme"];

/// The leaf under `path` at which deserialising `C` from `doc` fails with `target`:
/// in an object, the field whose removal changes the error (a type or value error is
/// raised while the fields are visited, before any missing field is noticed, so removing
/// another field leaves it as it was); in a list, the first element such that the list
/// cut after it still fails with `target` (elements are read in order).
fn refine<C: DeserializeOwned>(doc: &Value, path: Vec<Step>, target: &(Vec<Step>, String)) -> Vec<Step> {
    let mut probe = doc.clone();
    let Some(node) = node_mut(&mut probe, &path) else { return path };
    match node {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| !TAGS.contains(&k.as_str())).cloned().collect();
            for key in keys {
                let mut candidate = doc.clone();
                let Some(Value::Object(map)) = node_mut(&mut candidate, &path) else { continue };
                let Some(value) = map.remove(&key) else { continue };
                if error_of::<C>(&candidate).as_ref() != Some(target) {
                    let mut next = path.clone();
                    next.push(Step::Key(key));
                    return if value.is_object() || value.is_array() { refine::<C>(doc, next, target) } else { next };
                }
            }
            path
        }
        Value::Array(items) => {
            for i in 0..items.len() {
                let mut candidate = doc.clone();
                let Some(Value::Array(items)) = node_mut(&mut candidate, &path) else { break };
                items.truncate(i + 1);
                if error_of::<C>(&candidate).as_ref() == Some(target) {
                    let mut next = path.clone();
                    next.push(Step::Index(i));
                    let inner = doc.pointer(&pointer(&next)).is_some_and(|v| v.is_object() || v.is_array());
                    return if inner { refine::<C>(doc, next, target) } else { next };
                }
            }
            path
        }
        _ => path,
    }
}

/// The JSON pointer of `path` (`/layers/0/body`).
fn pointer(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            Step::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// Parses a JSON document into `C`; errors carry the field path, to the leaf
/// (`optimizer.lr: invalid type: string "fast", expected f64`).
pub fn parse_json<C: DeserializeOwned>(text: &str) -> Result<C> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut path = e.path().to_string();
        let message = e.into_inner().to_string();
        // a well-formed document: look for the leaf the error is about
        if let Ok(doc) = serde_json::from_str::<Value>(text)
            && let Some(target) = error_of::<C>(&doc)
        {
            let mut leaf = refine::<C>(&doc, target.0.clone(), &target);
            if let Some(field) = target.1.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
                leaf.push(Step::Key(field.to_string()));
            }
            path = show(&leaf);
        }
        let path = if path == "." || path == "?" || path.is_empty() { "<root>".to_string() } else { path };
        FrameworkError::config(path, message)
    })
}

#[cfg(test)]
mod tests {
    use crate::config::NetworkConfig;
    use crate::train::TrainConfig;

    fn err<C: serde::de::DeserializeOwned>(text: &str) -> String {
        match super::parse_json::<C>(text) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_inside_tagged_enums_name_the_leaf() {
        let e = err::<TrainConfig>(r#"{"epochs": 1, "batch_size": 2, "optimizer": {"kind": "sgd", "lr": "fast"}}"#);
        assert!(
            e.starts_with("invalid configuration: optimizer.lr: invalid type: string \"fast\", expected f64"),
            "{e}"
        );
        let e = err::<TrainConfig>(r#"{"epochs": 1, "batch_size": 2, "optimizer": {"kind": "adam", "lrr": 0.1}}"#);
        assert!(e.starts_with("invalid configuration: optimizer.lrr: unknown field `lrr`"), "{e}");
        let e = err::<TrainConfig>(
            r#"{"epochs": 1, "batch_size": 2, "optimizer": {"kind": "sgd"}, "schedule": {"kind": "warmup", "steps": 2, "then": {"kind": "step", "step_size": "x", "gamma": 0.5}}}"#,
        );
        assert!(e.starts_with("invalid configuration: schedule.then.step_size: invalid type"), "{e}");
        let e = err::<NetworkConfig>(
            r#"{"input_shape": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "flatten"}, {"type": "conv2d", "channels": 4, "kernel_size": "3"}]}"#,
        );
        assert!(
            e.starts_with("invalid configuration: layers[2].kernel_size: invalid type: string \"3\", expected usize"),
            "{e}"
        );
        let e = err::<NetworkConfig>(
            r#"{"input_shape": [4], "layers": [{"type": "residual", "body": [{"type": "dense", "units": 3}, {"type": "dense", "units": -2}]}]}"#,
        );
        assert!(e.starts_with("invalid configuration: layers[0].body[1].units: invalid value: integer `-2`"), "{e}");
        let e = err::<NetworkConfig>(r#"{"input_shape": [4], "layers": [{"type": "dense"}]}"#);
        assert!(e.starts_with("invalid configuration: layers[0].units: missing field `units`"), "{e}");
        let e = err::<NetworkConfig>(
            r#"{"input_shape": [4], "layers": [{"type": "dense", "units": 2}], "init": {"scheme": "gaussian", "sigma_w2": null}}"#,
        );
        assert!(e.starts_with("invalid configuration: init.sigma_w2: invalid type: null"), "{e}");
        // errors outside enums keep serde_path_to_error's path
        let e = err::<NetworkConfig>(r#"{"input_shape": [4, "x"], "layers": []}"#);
        assert!(e.starts_with("invalid configuration: input_shape[1]: invalid type"), "{e}");
        // syntax errors name the root
        let e = err::<NetworkConfig>("{");
        assert!(e.starts_with("invalid configuration: <root>: ") && e.contains("EOF"), "{e}");
    }
}
