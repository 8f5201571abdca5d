"""The README's code examples run as written (so they cannot go stale)."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block(heading: str) -> str:
    text = README.read_text()
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, f"no python block under '## {heading}'"
    return blocks[0]


def test_use_the_core_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(_python_block("Using the core on your own task"), str(README), "exec"), ns)
    t, qqt, loss, sim = ns["t"], ns["qqt"], ns["loss"], ns["sim"]
    assert qqt.shape == (len(t), 10, 10) and loss.shape == (len(t),)
    assert ns["ntk"].shape == (len(t), 4 * 50, 4 * 50)
    # the closed form it shows agrees with the simulation it shows (eta 0.05: O(eta) apart)
    steps = np.asarray(sim.steps)
    w2w1_exact = ns["exact"].network_function(ns["w1"], ns["w2"], ns["task"].sigma_yx, steps * 0.05)
    assert np.max(np.abs(w2w1_exact - sim.records["W2W1"])) < 0.05
    assert loss[-1] < loss[0]


def test_results_folder_is_in_the_repository_with_its_readme():
    """A clone has results/ (README and layout promise it), with a README that says what lands where."""
    import subprocess

    root = README.parent
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=root, capture_output=True, text=True).stdout.split()
    if tracked or (root / ".git").exists():
        assert "results/README.md" in tracked
    text = (root / "results" / "README.md").read_text()
    for where in ("results/<paper>/data/", "results/<paper>/figures/", "results/claims", "results/smoke/"):
        assert where in text
