//! Runs every registered experiment at quick size and snapshot-tests the metrics of the
//! deterministic ones, rounded to `SNAPSHOT_SIGNIFICANT_DIGITS` significant digits so that
//! another CPU or libm does not break them. Experiments that report measured timings are
//! run and checked for complete output, but their numbers are not pinned. The metrics
//! include every claim with its verdict, so the snapshots pin the verdicts too. Every figure
//! of the run is rendered and checked for text off the canvas or overlapping
//! (`figure_check/`).
//!
//! Besides: every registered experiment declares complete claims; the regime assumptions of
//! every experiment hold at both sizes; the experiments whose full size is cheap run at full
//! size (the guard of issue 19: a check that holds at quick size must not break at full).

mod figure_check;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use xtask::Size;
use xtask::metrics::{SNAPSHOT_SIGNIFICANT_DIGITS, round_json};
use xtask::registry;
use xtask::runner::{RunOptions, run, select};

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn quick(out: PathBuf) -> RunOptions {
    RunOptions { size: Size::Quick, seed: 0, out, progress: false }
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The output directory of one quick run of every registered experiment, shared by the
/// tests of this file (the run happens once, in the first test that asks).
fn quick_run() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = out_dir("experiments-quick");
        let all = registry::all();
        let chosen = select(&all, &[]).unwrap();
        let records = run(&chosen, &quick(out.clone())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(records.len(), all.len());
        out
    })
}

#[test]
fn every_experiment_runs_quick_and_matches_its_snapshot() {
    let out = quick_run().to_path_buf();
    let all = registry::all();
    let index = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(out.join("index.md").is_file());
    let checker = figure_check::FigureChecker::new();
    let (mut unreadable, mut checked, mut check_time) = (Vec::new(), 0, Duration::ZERO);
    for exp in &all {
        let doc = read_json(&out.join(exp.id()).join("metrics.json"));
        assert_eq!(doc["id"], exp.id());
        assert_eq!(doc["size"], "quick");
        assert_eq!(doc["seed"], 0);
        let figures = doc["figures"].as_array().unwrap();
        assert!(!figures.is_empty(), "{} wrote no figure", exp.id());
        for fig in figures {
            let svg = fs::read_to_string(out.join(exp.id()).join(fig.as_str().unwrap())).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{fig} is not an SVG document");
            let start = Instant::now();
            let problems = checker.problems(&svg);
            check_time += start.elapsed();
            checked += 1;
            unreadable.extend(problems.into_iter().map(|p| format!("{}/{}: {p}", exp.id(), fig.as_str().unwrap())));
        }
        assert!(index.contains(&format!("id=\"{}\"", exp.id())), "index lacks {}", exp.id());
        if exp.deterministic() {
            insta::assert_json_snapshot!(exp.id(), round_json(&doc, SNAPSHOT_SIGNIFICANT_DIGITS));
        }
    }
    assert_eq!(index.matches("<svg").count(), count_figures(&out, &all), "every figure is inlined");
    println!("rendered and checked {checked} figures in {:.2} s", check_time.as_secs_f64());
    assert!(unreadable.is_empty(), "{} problems in the figures:\n{}", unreadable.len(), unreadable.join("\n"));
}

fn count_figures(out: &Path, all: &[Box<dyn xtask::Experiment>]) -> usize {
    all.iter().map(|e| read_json(&out.join(e.id()).join("metrics.json"))["figures"].as_array().unwrap().len()).sum()
}

#[test]
fn gemm_throughput_reports_every_size_and_dtype() {
    let out = out_dir("gemm-quick");
    let all = registry::all();
    let chosen = select(&all, &["gemm-throughput".to_string()]).unwrap();
    run(&chosen, &quick(out.clone())).unwrap_or_else(|e| panic!("{e}"));
    let doc = read_json(&out.join("gemm-throughput/metrics.json"));
    let rows = doc["tables"]["throughput"]["rows"].as_array().unwrap();
    for n in doc["config"]["sizes"].as_array().unwrap() {
        for dtype in ["f32", "f64"] {
            let row = rows.iter().find(|r| r[0] == *n && r[1] == dtype);
            let row = row.unwrap_or_else(|| panic!("no row for n = {n}, {dtype}"));
            let gflops = row[2].as_f64().unwrap();
            assert!(gflops.is_finite() && gflops > 0.0, "n = {n}, {dtype}: {gflops} GFLOP/s");
        }
    }
    assert_eq!(rows.len(), 2 * 3, "quick size has n in {{32, 64, 128}}");
}

#[test]
fn the_same_seed_gives_the_same_bits() {
    let all = registry::all();
    let only: Vec<String> = all.iter().filter(|e| e.deterministic()).map(|e| e.id().to_string()).collect();
    let chosen = select(&all, &only).unwrap();
    let (a, b) = (quick_run().to_path_buf(), out_dir("seed-b"));
    run(&chosen, &quick(b.clone())).unwrap();
    for id in &only {
        let path = |d: &Path| d.join(id).join("metrics.json");
        assert_eq!(fs::read(path(&a)).unwrap(), fs::read(path(&b)).unwrap(), "{id} is not reproducible");
    }
}

/// Every registered experiment (including those added later) declares at least one claim,
/// and every claim is complete: id (unique in the experiment), statement, source, measured
/// quantity, criterion, measurement and one of the three verdicts.
#[test]
fn every_experiment_declares_complete_claims() {
    let out = quick_run();
    let verdicts = ["reproduced", "partly", "not reproduced"];
    for exp in &registry::all() {
        let doc = read_json(&out.join(exp.id()).join("metrics.json"));
        let claims = doc["claims"].as_array().unwrap_or_else(|| panic!("{} declares no claims", exp.id()));
        assert!(!claims.is_empty(), "{} declares no claims", exp.id());
        let mut ids = Vec::new();
        for c in claims {
            let text = |k: &str| c[k].as_str().unwrap_or("").trim().to_string();
            let id = text("id");
            for field in ["id", "statement", "source", "quantity", "criterion", "measured"] {
                assert!(!text(field).is_empty(), "{}: claim {id:?} has no {field}", exp.id());
            }
            assert!(
                verdicts.contains(&text("verdict").as_str()),
                "{}: claim {id:?}: verdict {}",
                exp.id(),
                c["verdict"]
            );
            let seeds = c["seeds"].as_u64().unwrap_or(0);
            assert!(seeds >= 1, "{}: claim {id:?} has no measured value", exp.id());
            assert_eq!(c["values"].as_array().map(Vec::len), Some(seeds as usize), "{}: claim {id:?}", exp.id());
            assert!(!ids.contains(&id), "{}: claim {id:?} declared twice", exp.id());
            ids.push(id);
        }
    }
}

/// The regime each experiment's checks assume holds for its parameters at both sizes.
#[test]
fn every_experiment_stays_in_its_regime_at_both_sizes() {
    for exp in &registry::all() {
        for size in [Size::Quick, Size::Full] {
            for a in exp.assumptions(size) {
                assert!(a.holds, "{} at {} size: {} ({})", exp.id(), size.as_str(), a.name, a.detail);
            }
        }
    }
}

/// The experiments whose full size takes seconds run at full size and end ok, with their
/// claims: their size-dependent checks are exercised where the published figure is made.
#[test]
fn cheap_experiments_pass_at_full_size() {
    let cheap = [
        "softmax-stability",
        "checkpointing-memory",
        "rnn-gradient-flow",
        "signal-propagation-phase-diagram",
        "approximation-polynomial-floor",
        "boolean-functions-width",
        "linear-regions-depth-width",
        "implicit-regularisation-least-squares",
        "ntk-generalisation-bound",
    ];
    let out = out_dir("experiments-full-cheap");
    let all = registry::all();
    let only: Vec<String> = cheap.iter().map(|s| s.to_string()).collect();
    let chosen = select(&all, &only).unwrap();
    let opts = RunOptions { size: Size::Full, seed: 0, out: out.clone(), progress: false };
    run(&chosen, &opts).unwrap_or_else(|e| panic!("{e}"));
    for id in cheap {
        let doc = read_json(&out.join(id).join("metrics.json"));
        assert_eq!(doc["size"], "full");
        assert!(doc["claims"].as_array().is_some_and(|c| !c.is_empty()), "{id} declares no claims");
    }
}
