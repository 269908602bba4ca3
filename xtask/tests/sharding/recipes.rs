//! The scheduler recipes in `recipes/`, run locally with the schedulers' variables set by
//! hand and the test's xtask binary as `DLF_XTASK`: every share of the Slurm array (its
//! size read from the script's `#SBATCH --array` line) and of the Kubernetes Indexed Job
//! (its size read from the YAML's `completions`), and the one-machine GNU parallel script
//! (xargs -P where GNU parallel is not installed). Each merged result must hold the single
//! run's `metrics.json` files, byte for byte.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{fresh_dir, runs, succeed, xtask};

/// Cheap experiments for the recipes (well under a second each at quick size).
const RECIPE_SELECTION: [&str; 3] = ["softmax-stability", "boolean-functions-width", "checkpointing-memory"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `bash SCRIPT` from the repository's root with the binary, the output and the selection.
fn recipe(script: &str, out: &Path) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script).current_dir(repo());
    // the scheduler variables of the test's own environment must not leak in
    for (key, _) in xtask().get_envs() {
        cmd.env_remove(key);
    }
    cmd.env("DLF_XTASK", env!("CARGO_BIN_EXE_xtask"))
        .env("DLF_OUT", out)
        .env("DLF_ARGS", format!("--quick --only {}", RECIPE_SELECTION.join(" ")));
    cmd
}

fn assert_merged_like_the_single_run(out: &Path) {
    let single = &runs().single;
    for id in RECIPE_SELECTION {
        let file = Path::new(id).join("metrics.json");
        let merged = fs::read(out.join(&file)).unwrap_or_else(|e| panic!("{}: {e}", out.join(&file).display()));
        assert!(merged == fs::read(single.join(&file)).unwrap(), "{id}: metrics.json differs from the single run");
    }
    let md = fs::read_to_string(out.join("index.md")).unwrap();
    assert!(md.contains(&format!("experiments: {}, failed: 0", RECIPE_SELECTION.len())), "{md}");
}

/// The number after `key` in `text` (the first occurrence).
fn number_after(text: &str, key: &str) -> usize {
    let at = text.find(key).unwrap_or_else(|| panic!("no {key:?}")) + key.len();
    let digits: String =
        text[at..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after {key:?}"))
}

#[test]
fn slurm_array_recipe_runs_every_task_and_merges() {
    let script = fs::read_to_string(repo().join("recipes/slurm/experiments.sbatch")).unwrap();
    // `#SBATCH --array=0-LAST`: LAST + 1 tasks, numbered from 0
    let count = number_after(&script, "#SBATCH --array=0-") + 1;
    let out = fresh_dir("recipe-slurm");
    for task in 0..count {
        let mut cmd = recipe("recipes/slurm/experiments.sbatch", &out);
        cmd.env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .env("SLURM_ARRAY_TASK_COUNT", count.to_string());
        succeed(&mut cmd);
        assert!(out.join(format!("shares/{task}/shard-{task}-of-{count}.json")).is_file());
    }
    succeed(&mut recipe("recipes/slurm/merge.sbatch", &out));
    assert_merged_like_the_single_run(&out);
    let submit = fs::read_to_string(repo().join("recipes/slurm/submit.sh")).unwrap();
    assert!(submit.contains("--dependency=\"afterok:") && submit.contains("recipes/slurm/merge.sbatch"), "{submit}");
}

#[test]
fn kubernetes_indexed_job_recipe_runs_every_index_and_merges() {
    let job = fs::read_to_string(repo().join("recipes/kubernetes/indexed-job.yaml")).unwrap();
    let count = number_after(&job, "completions:");
    assert_eq!(number_after(&job, "name: DLF_SHARDS"), count, "DLF_SHARDS is the Job's completions");
    for needle in
        ["completionMode: Indexed", "kind: PersistentVolumeClaim", "claimName: dlf-results", "mountPath: /results"]
    {
        assert!(job.contains(needle), "indexed-job.yaml lacks {needle}");
    }
    assert!(job.contains(r#"command: ["bash", "recipes/kubernetes/share.sh"]"#));
    let merge_job = fs::read_to_string(repo().join("recipes/kubernetes/merge-job.yaml")).unwrap();
    assert!(merge_job.contains(r#"command: ["bash", "recipes/kubernetes/merge.sh"]"#));
    assert!(merge_job.contains("claimName: dlf-results"));
    let out = fresh_dir("recipe-kubernetes");
    for index in 0..count {
        let mut cmd = recipe("recipes/kubernetes/share.sh", &out);
        cmd.env("JOB_COMPLETION_INDEX", index.to_string()).env("DLF_SHARDS", count.to_string());
        succeed(&mut cmd);
    }
    succeed(&mut recipe("recipes/kubernetes/merge.sh", &out));
    assert_merged_like_the_single_run(&out);
}

#[test]
fn gnu_parallel_recipe_runs_the_shares_at_once_and_merges() {
    let has_parallel = Command::new("parallel").arg("--version").output().is_ok_and(|o| o.status.success());
    println!(
        "recipes/gnu-parallel/run.sh runs its shares with {}",
        if has_parallel { "GNU parallel" } else { "xargs -P" }
    );
    let out = fresh_dir("recipe-parallel");
    let mut cmd = recipe("recipes/gnu-parallel/run.sh", &out);
    cmd.env("DLF_SHARDS", "3");
    succeed(&mut cmd);
    for k in 0..3 {
        assert!(out.join(format!("shares/{k}/shard-{k}-of-3.json")).is_file());
    }
    assert_merged_like_the_single_run(&out);
}
