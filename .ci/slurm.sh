#!/usr/bin/env bash
# CI step "cluster execution" (issue 6): tests/test_slurm.py against a real one-node SLURM 22.05.
#
#   .ci/slurm.sh            # from anywhere; needs root, the Debian package mirror and ../shared/tools
#
# The test brings the cluster up (shared/tools/slurm-local-up.sh), runs fig_a1 + fig_a2 at smoke
# scale through profiles/slurm and locally, compares the parquet bytes, and tears the cluster down.
# Here a missing prerequisite is a failure, not a skip (LEARNDYN_REQUIRE_SLURM=1). The whole step is
# bounded (SIGINT first, so snakemake scancels its jobs); if pytest itself is killed before its
# fixture could stop the cluster, the EXIT trap does (only when the cluster was not up before).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
DOWN=../shared/tools/slurm-local-down.sh
export LEARNDYN_REQUIRE_SLURM=${LEARNDYN_REQUIRE_SLURM:-1}

was_up=0
if command -v scontrol >/dev/null && scontrol ping 2>/dev/null | grep -q 'is UP'; then was_up=1; fi
cleanup() {
  if ((!was_up)) && [[ -f $DOWN ]] && [[ $(id -u) -eq 0 ]]; then bash "$DOWN" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

timeout -s INT -k 120 2400 "$PYTHON" -m pytest tests/test_slurm.py -m slurm -q -rs -p no:cacheprovider
