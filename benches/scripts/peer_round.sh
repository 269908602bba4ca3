#!/usr/bin/env bash
# One back-to-back round of docs/PERFORMANCE.md: for each thread count, every criterion
# bench that has a peer row, then the peer scripts of ../shared/peers at the same thread
# count, then the step-memory example. Logs go to $OUT (default /tmp/peer-round), one file
# per command, named after it; nothing is summarised here, so every figure in the table can
# be traced to the line it came from.
#
#   bash benches/scripts/peer_round.sh                 # threads 1 and 2
#   THREADS="2" OUT=/tmp/round2 bash benches/scripts/peer_round.sh
#
# Needs the peers' virtual environment (bash ../shared/peers/setup_env.sh, once) and a
# quiet machine: the peer scripts record other processes' load as `ext_load`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/peers}"
PY="${PY:-/tmp/perfenv/bin/python}"
OUT="${OUT:-/tmp/peer-round}"
THREADS="${THREADS:-1 2}"
CRIT=(--warm-up-time 1 --measurement-time 3)
mkdir -p "$OUT"
cd "$ROOT"
cargo bench -p dl-benches --no-run >"$OUT/build.log" 2>&1
cargo build --release -p dl-benches --example step_memory >>"$OUT/build.log" 2>&1
for t in $THREADS; do
    export RAYON_NUM_THREADS=$t
    echo "== $t thread(s), $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
    cargo bench -p dl-benches --bench framework -- "${CRIT[@]}" >"$OUT/ours-t$t-framework.log" 2>&1
    cargo bench -p dl-benches --bench layers -- 'fwd_bwd' "${CRIT[@]}" >"$OUT/ours-t$t-layers.log" 2>&1
    cargo bench -p dl-benches --bench norm -- "${CRIT[@]}" >"$OUT/ours-t$t-norm.log" 2>&1
    cargo bench -p dl-benches --bench ntk -- "${CRIT[@]}" >"$OUT/ours-t$t-ntk.log" 2>&1
    cargo bench -p dl-benches --bench tensor -- gemm "${CRIT[@]}" >"$OUT/ours-t$t-gemm.log" 2>&1
    for case in mlp-a mlp-b cnn; do
        target/release/examples/step_memory "$case" >>"$OUT/ours-t$t-memory.log" 2>&1
    done
    (cd "$PEERS"
     "$PY" peer_mlp.py --lib torch --threads "$t" >"$OUT/peer-t$t-mlp.log" 2>&1
     "$PY" peer_conv.py --threads "$t" >"$OUT/peer-t$t-conv.log" 2>&1
     "$PY" peer_rnn.py --threads "$t" >"$OUT/peer-t$t-rnn.log" 2>&1
     "$PY" peer_bn.py --threads "$t" >"$OUT/peer-t$t-bn.log" 2>&1
     "$PY" peer_ntk.py --x64 --threads "$t" >"$OUT/peer-t$t-ntk64.log" 2>&1
     "$PY" peer_gemm.py --lib torch --threads "$t" >"$OUT/peer-t$t-gemm.log" 2>&1)
done
echo "== done $(date -u +%FT%TZ); logs in $OUT"
