//! Sharded runs (issue 17): three shares in separate processes of the xtask binary, merged,
//! give the bytes of the single run; the merge's errors name what is wrong; a failed share
//! run again alone lets the merge succeed. `recipes` runs the scheduler recipes.
//!
//! What is compared: every file of the single run's output, byte for byte, except each
//! experiment's `run.json` (its commit and time, which say when, not what) and, in
//! `index.md` and `index.html`, the two timing cells of each row of the experiments table
//! (seconds and cpu seconds, measured anew by every run). Those cells are replaced by `T`
//! in both reports before the comparison; the merged report's cells are first checked
//! against the timings that the shares' manifests recorded.

mod recipes;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use xtask::merge::merge;
use xtask::registry;

/// Cheap deterministic experiments (well under a second each at quick size): LPT over their
/// costs gives each of three shares at least one.
pub const SELECTION: [&str; 5] = [
    "softmax-stability",
    "approximation-polynomial-floor",
    "boolean-functions-width",
    "checkpointing-memory",
    "ntk-generalisation-bound",
];

/// A fresh directory under the target's temporary directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// The xtask binary with no scheduler variable inherited from the environment of the test.
pub fn xtask() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP",
        "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` and requires success, printing its output otherwise.
pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The quick single run of [`SELECTION`] and the three shares of it, made once.
struct Runs {
    single: PathBuf,
    shares: Vec<PathBuf>,
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let base = fresh_dir("sharding");
        let single = base.join("single");
        succeed(xtask().args(["experiments", "--quick", "--only"]).args(SELECTION).arg("--out").arg(&single));
        let shares: Vec<PathBuf> = (0..3).map(|k| base.join(format!("share-{k}"))).collect();
        for (k, dir) in shares.iter().enumerate() {
            let shard = format!("{k}/3");
            succeed(
                xtask()
                    .args(["experiments", "--quick", "--shard", &shard, "--only"])
                    .args(SELECTION)
                    .arg("--out")
                    .arg(dir),
            );
        }
        Runs { single, shares }
    })
}

/// Every file below `dir`, relative, sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// The report with the two timing cells of every experiments-table row replaced by `T`,
/// and those cells, in row order. A row of the table is a line after the table's header
/// (the line with `cpu seconds`) up to the first line that is not a row.
pub fn without_timings(text: &str, html: bool) -> (String, Vec<(String, String)>) {
    let mut out = String::new();
    let mut cells = Vec::new();
    let mut in_table = false;
    for line in text.split_inclusive('\n') {
        let row = if html { line.starts_with("<tr><td>") } else { line.starts_with("| [") };
        if in_table && row {
            let (head, a, b, tail) = split_last_two_cells(line, html);
            cells.push((a.to_string(), b.to_string()));
            out.push_str(&format!("{head}T{}T{tail}", if html { "</td><td>" } else { " | " }));
            continue;
        }
        in_table = if line.contains("cpu seconds") { true } else { in_table && (row || line.starts_with("| ---")) };
        out.push_str(line);
    }
    (out, cells)
}

fn split_last_two_cells(line: &str, html: bool) -> (&str, &str, &str, &str) {
    let (open, sep, close) = if html { ("<td>", "</td><td>", "</td></tr>") } else { ("| ", " | ", " |") };
    let end = line.rfind(close).unwrap();
    let mid = line[..end].rfind(sep).unwrap();
    let start = line[..mid].rfind(sep).map(|i| i + sep.len()).unwrap_or_else(|| line.find(open).unwrap() + open.len());
    (&line[..start], &line[start..mid], &line[mid + sep.len()..end], &line[end..])
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn three_shares_merged_are_the_single_run_byte_for_byte() {
    let runs = runs();
    let merged = fresh_dir("sharding-merged");
    let mut cmd = xtask();
    cmd.arg("merge").args(&runs.shares).arg("--out").arg(&merged);
    let text = String::from_utf8_lossy(&succeed(&mut cmd).stdout).into_owned();
    assert!(text.contains("merged 5 experiments from 3 directories"), "{text}");
    // each share made only its experiments: three non-empty, disjoint parts of the selection
    let mut made: Vec<String> = Vec::new();
    for (k, dir) in runs.shares.iter().enumerate() {
        let manifest = read_json(&dir.join(format!("shard-{k}-of-3.json")));
        let assigned: Vec<String> =
            manifest["assigned"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert!(!assigned.is_empty(), "share {k}/3 has no experiment");
        let dirs: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let mut sorted = dirs.clone();
        sorted.sort();
        let mut expected = assigned.clone();
        expected.sort();
        assert_eq!(sorted, expected, "share {k}/3 wrote other experiments");
        assert!(!dir.join("index.md").exists(), "a share writes no index");
        made.extend(assigned);
    }
    made.sort();
    let mut selection: Vec<String> = SELECTION.iter().map(|s| s.to_string()).collect();
    selection.sort();
    assert_eq!(made, selection);

    let files = files_below(&runs.single);
    assert_eq!(files, files_below(&merged), "the merged run has other files than the single run");
    let mut compared = 0;
    for file in files.iter().filter(|f| !f.ends_with("run.json")) {
        let (a, b) = (fs::read(runs.single.join(file)).unwrap(), fs::read(merged.join(file)).unwrap());
        let name = file.to_string_lossy();
        if name == "index.md" || name == "index.html" {
            let html = name == "index.html";
            let (a, single_cells) = without_timings(std::str::from_utf8(&a).unwrap(), html);
            let (b, merged_cells) = without_timings(std::str::from_utf8(&b).unwrap(), html);
            assert_eq!(single_cells.len(), SELECTION.len(), "{name}: one timing row per experiment");
            assert_eq!(merged_cells, shares_timings(&runs.shares), "{name}: timings from the manifests");
            assert!(a == b, "{name} differs beyond the timing cells");
        } else {
            assert!(a == b, "{name} differs between the single and the merged run");
        }
        compared += 1;
    }
    // 5 metrics.json, their figures, and the two reports
    assert!(compared >= 2 * SELECTION.len() + 2, "{compared} files compared");
}

/// The timing cells the merged report must show: each experiment's seconds and processor
/// seconds from the manifest of the share that ran it, in report (registry) order.
fn shares_timings(shares: &[PathBuf]) -> Vec<(String, String)> {
    let mut units: Vec<Value> = Vec::new();
    for (k, dir) in shares.iter().enumerate() {
        units.extend(read_json(&dir.join(format!("shard-{k}-of-3.json")))["completed"].as_array().unwrap().clone());
    }
    let all = registry::all();
    let position = |u: &Value| all.iter().position(|e| e.id() == u["id"]).unwrap();
    units.sort_by_key(position);
    units
        .iter()
        .map(|u| {
            let cpu = u["cpu_seconds"].as_f64().map_or("—".to_string(), |c| format!("{c:.2}"));
            (format!("{:.2}", u["seconds"].as_f64().unwrap()), cpu)
        })
        .collect()
}

/// A copy of a share's directory, to corrupt.
fn copy_share(from: &Path, name: &str) -> PathBuf {
    let to = fresh_dir(name);
    for file in files_below(from) {
        fs::create_dir_all(to.join(&file).parent().unwrap()).unwrap();
        fs::copy(from.join(&file), to.join(&file)).unwrap();
    }
    to
}

fn edit_manifest(dir: &Path, k: usize, edit: impl FnOnce(&mut Value)) {
    let path = dir.join(format!("shard-{k}-of-3.json"));
    let mut m = read_json(&path);
    edit(&mut m);
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

fn merge_error(dirs: &[&Path], name: &str) -> String {
    let dirs: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    match merge(&registry::all(), &dirs, &fresh_dir(name)) {
        Ok(_) => panic!("merging {dirs:?} succeeded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn merge_errors_name_the_share_and_the_field() {
    let runs = runs();
    let [s0, s1, s2] = [&runs.shares[0], &runs.shares[1], &runs.shares[2]].map(|p| p.as_path());
    let msg = merge_error(&[s0, s2], "merge-missing");
    assert_eq!(msg, "missing shares: 1/3 (of 3; shares count from 0); run them and give their directories");
    let msg = merge_error(&[s0, s1, s2, s1], "merge-duplicate");
    assert!(msg.starts_with("share 1/3 is given twice: ") && msg.contains(&s1.display().to_string()), "{msg}");

    for (field, edit, says) in [
        ("seed", (|m: &mut Value| m["seed"] = 5.into()) as fn(&mut Value), "has seed 0, "),
        ("commit", |m| m["commit"] = "0123456789abcdef0123456789abcdef01234567".into(), "has commit "),
        ("size", |m| m["size"] = "full".into(), "has size quick, "),
        (
            "selection",
            |m| {
                m["selection"].as_array_mut().unwrap().push("grokking".into());
            },
            "has selection [",
        ),
    ] {
        let other = copy_share(s2, &format!("merge-other-{field}"));
        edit_manifest(&other, 2, edit);
        let msg = merge_error(&[s0, s1, &other], &format!("merge-mismatch-{field}"));
        assert!(msg.starts_with("the shares are not from one run: ") && msg.contains(says), "{field}: {msg}");
        assert!(msg.contains(&other.join("shard-2-of-3.json").display().to_string()), "{msg}");
    }

    // truncated and corrupted manifests are errors naming the file, not panics
    let broken = copy_share(s1, "merge-truncated");
    let path = broken.join("shard-1-of-3.json");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, &text[..text.len() / 2]).unwrap();
    let msg = merge_error(&[s0, &broken, s2], "merge-truncated-out");
    assert!(msg.starts_with(&format!("{} is not a valid share manifest: ", path.display())), "{msg}");
    fs::write(&path, text.replace("\"index\": 1", "\"index\": 7")).unwrap();
    let msg = merge_error(&[s0, &broken, s2], "merge-index-out");
    assert!(msg.contains("shard 7/3 is not k/n"), "{msg}");
    let empty = fresh_dir("merge-empty");
    fs::create_dir_all(&empty).unwrap();
    let msg = merge_error(&[s0, &empty], "merge-empty-out");
    assert!(msg.starts_with(&format!("{} holds no share manifest", empty.display())), "{msg}");
}

/// A share whose experiments did not all complete is named with the missing experiments;
/// after running that share again into its directory, the merge succeeds.
#[test]
fn an_incomplete_share_run_again_alone_merges() {
    let runs = runs();
    let redo = copy_share(&runs.shares[2], "merge-redo");
    let manifest = read_json(&redo.join("shard-2-of-3.json"));
    let assigned: Vec<String> =
        manifest["assigned"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert!(assigned.len() >= 2, "{assigned:?}");
    edit_manifest(&redo, 2, |m| {
        m["completed"] = Value::Array(vec![]);
        m["failed"] = serde_json::json!([{"id": assigned[0], "error": "killed by the scheduler"}]);
    });
    let msg = merge_error(&[&runs.shares[0], &runs.shares[1], &redo], "merge-incomplete");
    let expected = format!(
        "share 2/3 did not complete: {} (failed: {}: killed by the scheduler)",
        assigned.join(", "),
        assigned[0]
    );
    assert!(msg.starts_with(&expected), "{msg}");
    let mut again = xtask();
    again.args(["experiments", "--quick", "--shard", "2/3", "--only"]).args(SELECTION).arg("--out").arg(&redo);
    succeed(&mut again);
    let out = fresh_dir("merge-redo-out");
    let dirs = [runs.shares[0].clone(), runs.shares[1].clone(), redo];
    let records = merge(&registry::all(), &dirs, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records.len(), SELECTION.len());
}

/// The share index from the schedulers' variables, and bad values named, through the binary.
#[test]
fn the_binary_reads_the_share_from_the_environment() {
    let bad = |env: &[(&str, &str)], args: &[&str]| {
        let out =
            xtask().args(["experiments", "--quick", "--list"]).args(args).envs(env.iter().copied()).output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = bad(&[("JOB_COMPLETION_INDEX", "x1")], &["--shards", "3"]);
    assert!(err.contains("JOB_COMPLETION_INDEX=x1: not a whole number"), "{err}");
    let err = bad(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "3")], &[]);
    assert!(
        err.contains("SLURM_ARRAY_TASK_ID=4: share 4 (counting from 0) is not below the number of shares 3"),
        "{err}"
    );
    let err = bad(&[], &["--shard", "3/3"]);
    assert!(err.contains("--shard 3/3: share index 3 is not below the number of shares 3"), "{err}");
    // --list with a share lists what that share runs
    let listed = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = xtask();
        cmd.args(["experiments", "--list", "--only"]).args(SELECTION).args(args).envs(env.iter().copied());
        String::from_utf8_lossy(&succeed(&mut cmd).stdout)
            .lines()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let by_flag = listed(&[], &["--shard", "1/3"]);
    assert!(!by_flag.is_empty() && by_flag.len() < SELECTION.len(), "{by_flag:?}");
    assert_eq!(listed(&[("JOB_COMPLETION_INDEX", "1")], &["--shards", "3"]), by_flag);
    let slurm = [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "3")];
    assert_eq!(listed(&slurm, &[]), by_flag);
}
