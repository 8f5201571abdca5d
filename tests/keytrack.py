"""Which config keys does a function read? ``read_keys(fn, cfg, **kwargs)`` calls ``fn`` on a recording copy of
``cfg`` and returns the dotted paths it read (a mapping iterated, copied or listed counts as read whole). Used by
tests/test_figures.py to check that every figure step declares every key it reads, and by developers to find a
new step's keys:

    python tests/keytrack.py a2_sweep        # the keys the step reads at smoke scale
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Recorder(dict):
    """A dict that records the dotted path of every key read through it (nested mappings are wrapped too)."""

    def __init__(self, data, path=(), log=None):
        super().__init__(data)
        self._path = path
        self._log = log if log is not None else set()

    def _wrap(self, key, value):
        path = self._path + (str(key),)
        if isinstance(value, dict):
            return Recorder(value, path, self._log)
        self._log.add(path)
        return value

    def _whole(self):
        self._log.add(self._path)

    def __getitem__(self, key):
        return self._wrap(key, dict.__getitem__(self, key))

    def get(self, key, default=None):
        if dict.__contains__(self, key):
            return self[key]
        self._log.add(self._path + (str(key),))  # absence read: the default decides
        return default

    def __contains__(self, key):
        self._log.add(self._path + (str(key),))
        return dict.__contains__(self, key)

    def copy(self):
        self._whole()
        return dict(dict.items(self))

    def __deepcopy__(self, memo):
        import copy
        self._whole()
        return copy.deepcopy(dict(dict.items(self)), memo)

    def __reduce_ex__(self, protocol):
        self._whole()
        return dict, (dict(dict.items(self)),)


def _reading_whole(name):
    """A dict method that reads the whole mapping (iterating, listing): recorded as a read of the mapping's path."""
    def method(self, *args):
        self._whole()
        return getattr(dict, name)(self, *args)
    method.__name__ = name
    return method


for _name in ("__iter__", "keys", "items", "values"):
    setattr(Recorder, _name, _reading_whole(_name))


def minimal(paths) -> set[str]:
    """Dotted paths with every path below another one dropped (reading ``a`` whole covers ``a.b``); ``{""}``
    when the whole mapping was read."""
    paths = sorted(set(paths), key=len)
    if () in paths:
        return {""}
    kept: list[tuple] = []
    for p in paths:
        if not any(p[:len(k)] == k for k in kept):
            kept.append(p)
    return {".".join(p) for p in kept if p}


def read_keys(fn, cfg: dict, **kwargs) -> set[str]:
    """The dotted keys of ``cfg`` that ``fn(cfg, **kwargs)`` reads (minimal set)."""
    rec = Recorder(cfg)
    fn(rec, **kwargs)
    return minimal(rec._log)


def covered(key: str, declared) -> bool:
    """Is the read dotted ``key`` inside one of the ``declared`` dotted keys (``""`` = everything)?"""
    return any(d == "" or key == d or key.startswith(d + ".") for d in declared)


def load_config(scale: str = "smoke") -> dict:
    """The workflow's resolved config at ``scale`` (config/ plus the preset, validated as the Snakefile does)."""
    spec = importlib.util.spec_from_file_location("learndyn_config_validation_tests",
                                                  REPO / "workflow" / "scripts" / "config_validation.py")
    cv = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = cv
    spec.loader.exec_module(cv)
    raw = cv.load_raw()
    raw["scale"] = scale
    cfg, _ = cv.resolve(raw)
    cfg.pop("presets", None)
    return cfg


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    from learndyn.figures import registry

    cfg = load_config(sys.argv[2] if len(sys.argv) > 2 else "smoke")
    for name in sys.argv[1:2] or [s.name for f, s in registry.steps() if s.view is None and s.inputs is None]:
        fig, step = registry.step(name)
        block = fig.block(step, cfg[fig.paper])
        job = step.jobs(cfg["batches"], block)[0]
        # the whole block (not only the declared keys), so that an undeclared read shows up; keys of a step with a
        # view are those of the mapping the view builds
        src = step.view(block, job) if step.view is not None else block
        if step.inputs is not None:
            print(name, "transforms earlier steps' tables: run tests/test_figures.py", "declared", list(step.keys))
            continue
        print(name, sorted(read_keys(step.function, src, **step.call_kwargs(job))), "declared", list(step.keys))
