#!/usr/bin/env bash
# The command of each pod of the Indexed Job in indexed-job.yaml: share JOB_COMPLETION_INDEX
# (0 .. completions-1) of DLF_SHARDS shares into DLF_OUT/shares/INDEX on the shared volume.
#
# Environment: JOB_COMPLETION_INDEX (set by Kubernetes), DLF_SHARDS (the Job's completions),
# DLF_OUT (default /results), DLF_XTASK (default `cargo xtask`), DLF_ARGS (further
# arguments of `experiments`).
set -euo pipefail
: "${JOB_COMPLETION_INDEX:?set by an Indexed Job (completionMode: Indexed)}"
: "${DLF_SHARDS:?the number of shares, as completions in the Job}"
xtask=${DLF_XTASK:-cargo xtask}
out=${DLF_OUT:-/results}
# shellcheck disable=SC2086
exec $xtask experiments ${DLF_ARGS:-} --shards "$DLF_SHARDS" --out "$out/shares/$JOB_COMPLETION_INDEX"
