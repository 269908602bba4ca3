#!/usr/bin/env bash
# Submits the array of shares and the merge that waits for it. Arguments go to the array's
# sbatch (e.g. `--array=0-7` for eight shares, `--partition=...`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
array=$(sbatch --parsable "$@" recipes/slurm/experiments.sbatch)
sbatch --dependency="afterok:${array%%;*}" recipes/slurm/merge.sbatch
