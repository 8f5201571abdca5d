"""Write the exact pins of requirements/lock.txt into the conda environments envs/*.yaml.

The rules' conda environments (``snakemake --sw-deployment-method conda``) install the same versions as
the README's set-up command: Python from conda-forge, every package with pip at the locked version.
``envs/learndyn.yaml`` omits torch and the packages only torch needs; ``envs/torch.yaml`` has them all.
Run by tools/lock.sh; tests/test_environment.py fails when the files disagree with the lock.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
ONLY_TORCH = {"torch", "sympy", "mpmath", "networkx", "fsspec", "filelock"}  # 'via' torch alone in the lock

HEADER = {
    "learndyn": "Environment of every numpy/scipy rule",
    "torch": "Environment of the deep-network (paper B) training rules: the core's dependencies plus PyTorch (CPU build)",
}


def locked_pins(lock: Path = LOCK) -> dict[str, str]:
    """``{name: version}`` of every package in the lock file."""
    pins = {}
    for line in lock.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def env_text(name: str, pins: dict[str, str]) -> str:
    keep = {k: v for k, v in pins.items() if name == "torch" or k not in ONLY_TORCH}
    lines = [f"# {HEADER[name]}.",
             "# Generated from requirements/lock.txt by tools/sync_envs.py (tools/lock.sh): do not edit by hand.",
             "# Used with `snakemake --sw-deployment-method conda`; without it the rules run in the environment",
             "# snakemake itself runs in (README set-up). torch's pin is the CPU build (+cpu): it comes from a local",
             "# wheel (pip's find-links) or PyTorch's CPU package index.",
             "channels:", "  - conda-forge", "dependencies:", "  - python=3.11", "  - pip", "  - pip:"]
    lines += [f"      - {k}=={v}" for k, v in sorted(keep.items())]
    return "\n".join(lines) + "\n"


def main() -> int:
    pins = locked_pins()
    for name in HEADER:
        (ROOT / "envs" / f"{name}.yaml").write_text(env_text(name, pins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
