//! dl-framework's modules form a one-way stack: a module may use only the modules below it
//! in [`STACK`]. Read from the sources: every `crate::module` path in a module's code (its
//! doc comments and its `#[cfg(test)]` part excluded, since tests may reach upward).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom first. Shared types (the divergence report, the history, generator states) sit
/// below the modules that record or restore them; the network is built from its
/// configuration; the trainer uses everything.
const STACK: &[&str] = &[
    "optim",
    "data",
    "divergence",
    "error",
    "history",
    "rng_state",
    "config",
    "network",
    "loss",
    "analysis",
    "checkpoint",
    "train",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`train/trainer.rs` -> `train`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::name` in the non-test, non-comment code of `text`, with its line.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.push((i + 1, name));
            }
            rest = &rest[at + "crate::".len()..];
        }
    }
    found
}

#[test]
fn modules_depend_only_on_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank: BTreeMap<&str, usize> = STACK.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" {
            continue;
        }
        let Some(&own) = rank.get(module.as_str()) else {
            panic!("module `{module}` ({}) is not in the stack: add it to STACK", file.display());
        };
        for (line, target) in crate_paths(&std::fs::read_to_string(file).unwrap()) {
            match rank.get(target.as_str()) {
                Some(&r) if r > own => upward.push(format!("{}:{line}: {module} uses {target}", file.display())),
                _ => {}
            }
        }
    }
    assert!(upward.is_empty(), "modules that reach upward in the stack:\n{}", upward.join("\n"));
}

/// The scanner itself: it finds paths, skips comments and stops at the test module.
#[test]
fn the_scanner_sees_code_paths_only() {
    let text = "use crate::error::Result;\n// crate::train in a comment\n/// crate::train in docs\nfn f() { crate::network::x(); }\n#[cfg(test)]\nmod tests { use crate::train::Trainer; }\n";
    let names: Vec<String> = crate_paths(text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["error", "network"]);
}
