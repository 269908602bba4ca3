#!/usr/bin/env bash
# The command of merge-job.yaml: combines the shares on the shared volume into DLF_OUT.
set -euo pipefail
xtask=${DLF_XTASK:-cargo xtask}
out=${DLF_OUT:-/results}
# shellcheck disable=SC2086
exec $xtask merge "$out"/shares/*/ --out "$out"
