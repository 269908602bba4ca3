//! The runner's contract: unknown ids, unwritable output, failures marked in the index,
//! atomic report, and the command line; `sharding/` (a module of this binary, not one of its
//! own): sharded runs merged byte for byte, the merge's errors, and the scheduler recipes.

mod sharding;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::cli::{Cli, Command as Task};
use xtask::runner::{RunOptions, run, select};
use xtask::{Experiment, ExperimentError, LineChart, Metrics, RunContext, RunError, SeriesKind, Size};

struct Good;
impl Experiment for Good {
    fn id(&self) -> &'static str {
        "good"
    }
    fn title(&self) -> &'static str {
        "A working experiment"
    }
    fn section(&self) -> &'static str {
        "tests"
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Metrics, ExperimentError> {
        let mut m = Metrics::new();
        m.config("points", 3);
        m.scalar("answer", 42.0);
        m.table("t", &["x", "y"]);
        for x in 0..3 {
            m.push_row("t", vec![x.into(), xtask::num(x as f64 * 0.5)])?;
            ctx.progress(x + 1, 3);
        }
        let mut c = LineChart::new("line", "x", "y");
        c.add("y", SeriesKind::Line, 0, vec![(0.0, 0.0), (1.0, 0.5)]);
        ctx.figure("line", &c)?;
        Ok(m)
    }
}

struct Failing;
impl Experiment for Failing {
    fn id(&self) -> &'static str {
        "failing"
    }
    fn title(&self) -> &'static str {
        "An experiment that returns an error"
    }
    fn section(&self) -> &'static str {
        "tests"
    }
    fn run(&self, _: &mut RunContext) -> Result<Metrics, ExperimentError> {
        Err(ExperimentError::Invalid("boom <b>".into()))
    }
}

struct Panicking;
impl Experiment for Panicking {
    fn id(&self) -> &'static str {
        "panicking"
    }
    fn title(&self) -> &'static str {
        "An experiment that panics"
    }
    fn section(&self) -> &'static str {
        "tests"
    }
    fn run(&self, _: &mut RunContext) -> Result<Metrics, ExperimentError> {
        panic!("deliberate panic")
    }
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn opts(out: PathBuf) -> RunOptions {
    RunOptions { size: Size::Quick, seed: 7, out, progress: false }
}

#[test]
fn unknown_id_is_an_error_listing_valid_ids() {
    let all: Vec<Box<dyn Experiment>> = vec![Box::new(Good), Box::new(Failing)];
    let err = select(&all, &["good".into(), "nope".into()]).err().unwrap();
    let msg = err.to_string();
    assert!(msg.contains("`nope`") && msg.contains("good, failing"), "{msg}");
    assert_eq!(select(&all, &["failing".into()]).unwrap().len(), 1);
    assert_eq!(select(&all, &[]).unwrap().len(), 2);
}

#[test]
fn unwritable_out_names_the_path_and_writes_nothing() {
    let base = out_dir("unwritable");
    fs::create_dir_all(&base).unwrap();
    let file = base.join("a-file");
    fs::write(&file, "not a directory").unwrap();
    let out = file.join("results");
    let all: Vec<Box<dyn Experiment>> = vec![Box::new(Good)];
    let err = run(&select(&all, &[]).unwrap(), &opts(out.clone())).err().unwrap();
    // a regular file where a parent directory should be: said so (out_naming_a_file_says_so)
    assert!(matches!(err, RunError::OutIsAFile { .. }), "{err:?}");
    assert!(err.to_string().contains(&out.display().to_string()), "{err}");
}

#[test]
fn failures_are_marked_in_the_index_and_fail_the_run() {
    let out = out_dir("failures");
    // A stale metrics.json from an earlier run must not survive a failed run.
    fs::create_dir_all(out.join("failing")).unwrap();
    fs::write(out.join("failing/metrics.json"), "{}").unwrap();
    let all: Vec<Box<dyn Experiment>> = vec![Box::new(Good), Box::new(Failing), Box::new(Panicking)];
    let err = run(&select(&all, &[]).unwrap(), &opts(out.clone())).err().unwrap();
    match &err {
        RunError::ExperimentsFailed { failed, total, .. } => {
            assert_eq!(failed, &["failing".to_string(), "panicking".to_string()]);
            assert_eq!(*total, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!out.join("failing/metrics.json").exists());
    let md = fs::read_to_string(out.join("index.md")).unwrap();
    assert!(md.contains("FAILED: boom <b>") && md.contains("FAILED: panicked: deliberate panic"), "{md}");
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("FAILED: boom &lt;b&gt;"), "messages are escaped");
    assert!(html.contains("class=\"failed\""));
    // the working experiment is complete, its figure inlined and its metrics tabulated
    let doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("good/metrics.json")).unwrap()).unwrap();
    assert_eq!(doc["seed"], 7);
    assert_eq!(doc["scalars"]["answer"], 42.0);
    assert_eq!(doc["tables"]["t"]["rows"][2], serde_json::json!([2, 1.0]));
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(html.contains("<td>answer</td><td>42</td>"), "{html}");
    assert!(md.contains("![line.svg](good/line.svg)"));
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn command_line_parses_every_option() {
    use clap::Parser;
    let cli = Cli::try_parse_from([
        "cargo xtask",
        "experiments",
        "--only",
        "a",
        "b",
        "--only",
        "c",
        "--quick",
        "--out",
        "o",
        "--seed",
        "3",
    ])
    .unwrap();
    let Task::Experiments(args) = cli.command else { panic!("not experiments") };
    assert_eq!(args.only, ["a", "b", "c"]);
    assert!(args.quick && !args.list);
    assert_eq!((args.out, args.seed), (PathBuf::from("o"), 3));
    let Task::Experiments(args) = Cli::try_parse_from(["cargo xtask", "experiments"]).unwrap().command else {
        panic!("not experiments")
    };
    assert_eq!((args.out, args.seed, args.quick), (PathBuf::from("results"), 0, false));
    assert!(Cli::try_parse_from(["cargo xtask", "experiments", "--seed", "x"]).is_err());
}

#[test]
fn binary_lists_and_rejects_unknown_ids() {
    let bin = env!("CARGO_BIN_EXE_xtask");
    let list = Command::new(bin).args(["experiments", "--list"]).output().unwrap();
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    for id in ["gemm-throughput", "softmax-stability"] {
        assert!(text.lines().any(|l| l.starts_with(id) && l.contains("foundations")), "{text}");
    }
    let bad = Command::new(bin).args(["experiments", "--only", "nope", "--out", "unused"]).output().unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("unknown experiment id `nope`") && err.contains("softmax-stability"), "{err}");
}

#[test]
fn out_naming_a_file_says_so() {
    let base = out_dir("out-file");
    fs::create_dir_all(&base).unwrap();
    let file = base.join("results.txt");
    fs::write(&file, "a file").unwrap();
    let all: Vec<Box<dyn Experiment>> = vec![Box::new(Good)];
    for out in [file.clone(), file.join("below")] {
        let err = run(&select(&all, &[]).unwrap(), &opts(out.clone())).err().unwrap();
        assert!(matches!(err, RunError::OutIsAFile { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "--out {}: {} is a file, not a directory; name a directory for the results",
                out.display(),
                file.display()
            )
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "a file", "the file is left alone");
}

/// `--only X` into a folder holding other experiments' results: the index keeps them,
/// each with its recorded commit and time, stale unless made at the current commit.
#[test]
fn an_only_run_keeps_earlier_results_in_the_index_marked_by_commit_and_time() {
    let out = out_dir("earlier");
    let all: Vec<Box<dyn Experiment>> = vec![Box::new(Good)];
    run(&select(&all, &[]).unwrap(), &opts(out.clone())).unwrap();
    // this run's stamp: the commit and the time, beside (not inside) metrics.json
    let stamp: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("good/run.json")).unwrap()).unwrap();
    let commit = xtask::stamp::current_commit();
    assert_eq!(stamp["commit"], commit.as_str());
    assert!(stamp["time_utc"].as_str().unwrap().ends_with('Z') && stamp["size"] == "quick");
    let metrics = fs::read_to_string(out.join("good/metrics.json")).unwrap();
    assert!(!metrics.contains("time_utc") && !metrics.contains(&commit), "metrics.json stays free of run provenance");
    // two registered experiments left by earlier runs: one of another commit, one of this one
    let earlier = |id: &str, commit: &str| {
        fs::create_dir_all(out.join(id)).unwrap();
        let doc = serde_json::json!({"id": id, "size": "full", "seed": 3, "config": {}, "scalars": {"x": 1.5}, "tables": {}, "figures": []});
        fs::write(out.join(id).join("metrics.json"), doc.to_string()).unwrap();
        let stamp = xtask::stamp::RunStamp {
            commit: commit.to_string(),
            time_utc: "2026-01-02T03:04:05Z".into(),
            size: "full".into(),
            seed: 3,
            seconds: 12.5,
        };
        fs::write(out.join(id).join("run.json"), serde_json::to_string(&stamp).unwrap()).unwrap();
    };
    earlier("softmax-stability", "0123456789abcdef0123456789abcdef01234567");
    earlier("gemm-throughput", &commit);
    let records = run(&select(&all, &[]).unwrap(), &opts(out.clone())).unwrap();
    assert_eq!(records.len(), 1, "run returns what it ran");
    let md = fs::read_to_string(out.join("index.md")).unwrap();
    assert!(md.contains("experiments: 3 (of which 2 from earlier runs, marked)"), "{md}");
    assert!(
        md.contains("ok, from an earlier run (stale: commit 0123456789ab, 2026-01-02T03:04:05Z, full, seed 3)"),
        "{md}"
    );
    if commit != "unknown" {
        assert!(
            md.contains(&format!("ok, from an earlier run (same commit {}, 2026-01-02T03:04:05Z", &commit[..12])),
            "{md}"
        );
    }
    assert!(md.contains("[good](#good)") && md.contains("| x | 1.5 |"), "the earlier metrics are shown: {md}");
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("id=\"softmax-stability\"") && html.contains("stale: commit 0123456789ab"));
    // a result without run.json (written before stamps existed) is stale, commit unknown
    fs::remove_file(out.join("softmax-stability/run.json")).unwrap();
    run(&select(&all, &[]).unwrap(), &opts(out.clone())).unwrap();
    let md = fs::read_to_string(out.join("index.md")).unwrap();
    assert!(md.contains("from an earlier run (stale: no run.json, commit and time unknown)"), "{md}");
}

/// With stdout piped (not a terminal), progress comes as plain lines: each experiment's
/// stages with the elapsed time, and after each experiment the run's elapsed time and an
/// estimate of the remainder.
#[test]
fn piped_output_shows_progress_lines() {
    let bin = env!("CARGO_BIN_EXE_xtask");
    let out = out_dir("piped");
    let run = Command::new(bin)
        .args(["experiments", "--only", "softmax-stability", "--quick", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("[1/1] softmax-stability (foundations) ..."), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("softmax-stability: ok in") && l.contains("run elapsed") && l.contains("s left")),
        "{text}"
    );
}
