#!/usr/bin/env bash
# A sharded run on one machine: DLF_SHARDS shares at once (GNU parallel if installed,
# otherwise xargs -P), then the merge into DLF_OUT. Useful to check a sweep's shares before
# a cluster run, or to use a large machine whose experiments do not fill its cores.
#
# Environment (all optional):
#   DLF_SHARDS  number of shares (default: the number of cores)
#   DLF_OUT     results directory (default results); share k writes DLF_OUT/shares/k
#   DLF_XTASK   the runner command (default: `cargo xtask`, built once here first)
#   DLF_ARGS    further arguments of `experiments` (e.g. `--quick`)
#   RAYON_NUM_THREADS  threads per share (default: cores / shares, at least 1)
# DLF_OUT/shares is removed first: every share is run again here.
set -euo pipefail
if [ "${1:-}" = --one-share ]; then
    # shellcheck disable=SC2086
    exec $DLF_XTASK experiments ${DLF_ARGS:-} --shard "$2/$DLF_SHARDS" --out "$DLF_OUT/shares/$2"
fi
cores=$(nproc 2>/dev/null || echo 1)
export DLF_SHARDS=${DLF_SHARDS:-$cores}
export DLF_OUT=${DLF_OUT:-results}
export DLF_ARGS=${DLF_ARGS:-}
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-$((cores / DLF_SHARDS > 0 ? cores / DLF_SHARDS : 1))}
if [ -z "${DLF_XTASK:-}" ]; then
    cargo build --release -p xtask
    DLF_XTASK="$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')/release/xtask"
fi
export DLF_XTASK
rm -rf "$DLF_OUT/shares"
status=0
if command -v parallel >/dev/null 2>&1 && [ -z "${DLF_NO_GNU_PARALLEL:-}" ]; then
    parallel --jobs "$DLF_SHARDS" --line-buffer bash "$0" --one-share {} ::: $(seq 0 $((DLF_SHARDS - 1))) || status=$?
else
    seq 0 $((DLF_SHARDS - 1)) | xargs -P "$DLF_SHARDS" -I{} bash "$0" --one-share {} || status=$?
fi
if [ "$status" -ne 0 ]; then
    echo "some shares failed (status $status); the merge names them" >&2
fi
# shellcheck disable=SC2086
exec $DLF_XTASK merge "$DLF_OUT"/shares/*/ --out "$DLF_OUT"
