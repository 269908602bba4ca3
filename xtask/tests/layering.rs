//! The stack's layering rule: a workspace crate may depend (normal, dev or build) only on
//! workspace crates strictly below it in [`ORDER`]. `xtask` and `benches` sit on top and may
//! depend on anything. A workspace crate missing from the order is an error too, so a new
//! crate must be given its place.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

/// The stack, bottom first.
const ORDER: [&str; 8] =
    ["dl-tensor", "dl-autodiff", "dl-layers", "dl-init", "dl-norm", "dl-ntk", "dl-theory", "dl-framework"];

/// Crates above the stack, allowed to depend on any crate of it (the benches package is
/// named `dl-benches`).
const TOP: [&str; 3] = ["xtask", "benches", "dl-benches"];

/// Checks the packages of `cargo metadata --no-deps` output; returns every violation.
fn check_layering(metadata: &Value) -> Result<(), Vec<String>> {
    let mut violations = Vec::new();
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    if packages.is_empty() {
        violations.push("metadata lists no packages".to_string());
    }
    for package in &packages {
        let name = package["name"].as_str().unwrap_or("?");
        if TOP.contains(&name) {
            continue;
        }
        let Some(rank) = ORDER.iter().position(|c| *c == name) else {
            violations.push(format!("workspace crate {name} has no place in the layer order {ORDER:?}"));
            continue;
        };
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or("?");
            let kind = dep["kind"].as_str().unwrap_or("normal");
            let dep_rank = ORDER.iter().position(|c| *c == dep_name);
            if TOP.contains(&dep_name) || dep_rank.is_some_and(|r| r >= rank) {
                violations.push(format!("{name} has a {kind} dependency on {dep_name}, which is not below it"));
            }
        }
    }
    if violations.is_empty() { Ok(()) } else { Err(violations) }
}

#[test]
fn workspace_crates_depend_only_downwards() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace root");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let names: Vec<&str> = metadata["packages"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"dl-tensor") && names.contains(&"xtask"), "{names:?}");
    if let Err(v) = check_layering(&metadata) {
        panic!("layering violations:\n{}", v.join("\n"));
    }
}

fn package(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
    let deps: Vec<Value> = deps.iter().map(|(n, k)| json!({"name": n, "kind": k})).collect();
    json!({"name": name, "dependencies": deps})
}

#[test]
fn downward_edges_pass() {
    let meta = json!({"packages": [
        package("dl-tensor", &[("ndarray", None), ("proptest", Some("dev"))]),
        package("dl-autodiff", &[("dl-tensor", None)]),
        package("dl-framework", &[("dl-ntk", None), ("dl-tensor", Some("dev"))]),
        package("xtask", &[("dl-framework", None), ("dl-tensor", None)]),
        package("benches", &[("dl-ntk", None)]),
    ]});
    assert_eq!(check_layering(&meta), Ok(()));
}

#[test]
fn upward_edges_of_every_kind_are_rejected() {
    for kind in [None, Some("dev"), Some("build")] {
        let meta = json!({"packages": [package("dl-tensor", &[("dl-autodiff", kind)])]});
        let err = check_layering(&meta).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err[0].contains("dl-tensor") && err[0].contains("dl-autodiff"), "{err:?}");
    }
    // a crate on its own level, or depending on the runner, is rejected as well
    let meta = json!({"packages": [package("dl-ntk", &[("dl-ntk", None), ("xtask", Some("dev"))])]});
    assert_eq!(check_layering(&meta).unwrap_err().len(), 2);
    let meta = json!({"packages": [package("dl-new", &[])]});
    assert!(check_layering(&meta).unwrap_err()[0].contains("no place"));
}
