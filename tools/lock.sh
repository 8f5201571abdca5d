#!/usr/bin/env bash
# Regenerate the exact lock (requirements/lock.txt) from pyproject.toml's ranges (extras test, slurm) and
# requirements/lock.in (torch, CPU build), then the conda environments' pins (envs/*.yaml) from the lock.
# Run from anywhere; needs Python 3.11 (the lock is for CPython 3.11 on Linux x86_64) and the package index.
#   bash tools/lock.sh            # newest versions within the ranges
#   bash tools/lock.sh --upgrade-package numpy==2.4.6   # any pip-compile option
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet "pip-tools==7.6.2"
"$tmp/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-index-url --no-emit-find-links --extra test --extra slurm \
    --output-file requirements/lock.txt "$@" pyproject.toml requirements/lock.in
python3 tools/sync_envs.py
echo "wrote requirements/lock.txt and envs/*.yaml; run the tests (README) before committing them"
