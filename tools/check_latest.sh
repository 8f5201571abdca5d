#!/usr/bin/env bash
# Drift check: run the test suite against the NEWEST releases that pyproject.toml's ranges admit (not the lock),
# in a throw-away virtual environment, so that a release that breaks the project is seen before the lock is
# regenerated (tools/lock.sh). torch stays at the lock's pin (requirements/lock.in: a newer or unpinned torch
# pulls a multi-GB CUDA build). Prints the versions it got that differ from the lock, then pytest's summary.
#   bash tools/check_latest.sh                 # the whole suite (about as long as the README's test command)
#   bash tools/check_latest.sh -m "not slow"   # any pytest options: here the fast tests only
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --upgrade --upgrade-strategy eager -e ".[test,slurm]" -r requirements/lock.in
echo "== versions that differ from requirements/lock.txt =="
"$tmp/venv/bin/python" - <<'PY'
import sys
from importlib import metadata
sys.path.insert(0, "tools")
from sync_envs import locked_pins
lock = {n.replace("_", "-"): v for n, v in locked_pins().items()}
got = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions()}
diff = sorted((n, v, got.get(n)) for n, v in lock.items() if got.get(n) not in (v, None))
new = sorted(n for n in got if n not in lock and n not in ("pip", "learndyn"))
for n, v, g in diff:
    print(f"  {n}: lock {v} -> newest {g}")
print(f"  ({len(diff)} differ; not in the lock: {', '.join(new) or 'none'})")
PY
echo "== tests against the newest releases =="
# test_environment's "the lock is installed" check fails here by design: this environment is not the lock
"$tmp/venv/bin/python" -m pytest -q -rs -p no:cacheprovider --deselect \
    tests/test_environment.py::test_pyproject_ranges_admit_the_lock_and_the_lock_is_installed "$@"
