"""The environment is pinned exactly: one lock, the conda environments and pyproject's ranges agree."""

import importlib.util
import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def _sync_envs():
    spec = importlib.util.spec_from_file_location("sync_envs", ROOT / "tools" / "sync_envs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_locked_package_is_pinned_exactly_with_hashes():
    text = LOCK.read_text()
    entries = re.findall(r"^([A-Za-z0-9_.\-]+)(==[^\s\\]+)? \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
                         text, flags=re.M)
    names = re.findall(r"^([A-Za-z0-9_.\-]+)\b", text, flags=re.M)
    assert len(entries) == len(names) > 50
    assert all(pin for _, pin, _ in entries), "every entry is name==version"
    pins = _sync_envs().locked_pins()
    assert pins["torch"].startswith("2.13.0") and "+cpu" in pins["torch"]


def test_conda_environments_pin_the_locked_versions():
    mod = _sync_envs()
    pins = mod.locked_pins()
    for name in ("learndyn", "torch"):
        assert (ROOT / "envs" / f"{name}.yaml").read_text() == mod.env_text(name, pins), \
            f"envs/{name}.yaml is stale: run python tools/sync_envs.py"


def test_pyproject_ranges_admit_the_lock_and_the_lock_is_installed():
    """pyproject.toml keeps compatible ranges (for users importing the core); the locked versions satisfy
    them, and this environment runs exactly the locked versions (it was installed from the lock)."""
    pins = _sync_envs().locked_pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for extra in ("test", "slurm") for r in project["optional-dependencies"][extra]]
    for r in reqs:
        name = r.name.lower()
        assert name in pins, f"{name} is not in the lock: run tools/lock.sh"
        assert r.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} outside {r.specifier}"
    installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions()}
    wrong = {n: (v, installed.get(n.replace("_", "-"))) for n, v in pins.items()
             if installed.get(n.replace("_", "-")) not in (v, None)}
    assert not wrong, f"installed versions differ from the lock (locked, installed): {wrong}"
