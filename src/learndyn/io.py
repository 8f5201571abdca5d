"""The one parquet trajectory schema of the pipeline: building, writing and reading it.

Every compute rule writes a *long* (tidy) table with exactly these columns:

========== ======== ===========================================================
column     dtype    meaning
========== ======== ===========================================================
figure     string   figure id, e.g. ``"a2"`` (paper A, figure 2), ``"b5"``, ``"c3"``
panel      string   panel letter(s) of the figure, e.g. ``"A"``, ``"C"``
condition  string   experimental condition within a panel (``"sigma=0.001"``, an
                    architecture name, a task name, ...)
seed       int64    random seed of the network/task draw (``-1`` if none)
learning_rate float64 learning rate (NaN if not applicable)
step       int64    gradient step / epoch index (``-1`` for summaries)
t          float64  time in units of tau (``step * learning_rate``, NaN if not applicable)
quantity   string   what ``value`` is (``"loss"``, ``"W2W1"``, ``"ntk"``, ``"mse"``, ...)
row        int32    matrix row index (``-1`` for scalars)
col        int32    matrix column index (``-1`` for scalars and vectors)
value      float64  the number
source     string   ``"simulation"``, ``"exact"`` (closed form), ``"theory"``,
                    ``"target"``, ``"fit"``, ``"summary"`` ...
========== ======== ===========================================================

This is the only module (besides :mod:`learndyn.plotting`) that touches files.
Writes are atomic (temporary file + rename), so a job that fails leaves no
half-written output (and the next write of the same file removes the temporary
files that a killed job left behind), and deterministic: the same table gives the
same bytes. Every data page carries a CRC-32 page checksum that is verified on
reading, so a corrupted file fails loudly (:class:`CorruptFileError`) instead of
being read with wrong values.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["COLUMNS", "SCHEMA", "records", "concat", "empty", "to_table", "CorruptFileError", "glob_escape",
           "atomic_write", "write_trajectories", "DIGEST_KEY", "content_digest", "read_table", "read_trajectories",
           "write_checks", "read_checks", "select", "to_array", "scalar", "check_table"]

COLUMNS: tuple[str, ...] = (
    "figure", "panel", "condition", "seed", "learning_rate", "step", "t",
    "quantity", "row", "col", "value", "source",
)

SCHEMA = pa.schema([
    ("figure", pa.string()),
    ("panel", pa.string()),
    ("condition", pa.string()),
    ("seed", pa.int64()),
    ("learning_rate", pa.float64()),
    ("step", pa.int64()),
    ("t", pa.float64()),
    ("quantity", pa.string()),
    ("row", pa.int32()),
    ("col", pa.int32()),
    ("value", pa.float64()),
    ("source", pa.string()),
])

_DEFAULTS = {"seed": -1, "learning_rate": np.nan, "step": -1, "t": np.nan,
             "row": -1, "col": -1, "condition": "", "panel": "", "source": "summary"}


def records(values, *, quantity: str, source: str, figure: str, panel: str = "",
            condition: str = "", seed: int = -1, learning_rate: float = np.nan,
            steps=None, t=None) -> pd.DataFrame:
    """Turn an array of values into rows of the trajectory schema.

    ``values`` has shape ``(T,)``, ``(T, R)`` or ``(T, R, C)`` when ``steps`` (length T)
    is given -- a trajectory of scalars, vectors or matrices -- and ``()``, ``(R,)`` or
    ``(R, C)`` without ``steps`` (a summary). ``t`` defaults to ``steps * learning_rate``.
    """
    v = np.asarray(values, dtype=np.float64)
    if steps is None:
        v = v[None]
        steps_arr = np.array([-1], dtype=np.int64)
    else:
        steps_arr = np.asarray(steps, dtype=np.int64)
        if v.shape[0] != steps_arr.shape[0]:
            raise ValueError(f"values have {v.shape[0]} time points but steps has {steps_arr.shape[0]}")
    T = v.shape[0]
    if v.ndim == 1:
        v = v[:, None, None]
        rows = np.array([-1]); cols = np.array([-1])
    elif v.ndim == 2:
        v = v[:, :, None]
        rows = np.arange(v.shape[1]); cols = np.array([-1])
    elif v.ndim == 3:
        rows = np.arange(v.shape[1]); cols = np.arange(v.shape[2])
    else:
        raise ValueError(f"values must have at most 3 dimensions, got shape {v.shape}")
    R, C = v.shape[1], v.shape[2]
    if t is None:
        t_arr = steps_arr * learning_rate if steps is not None else np.array([np.nan])
    else:
        t_arr = np.asarray(t, dtype=np.float64).reshape(T)
    n = T * R * C
    return pd.DataFrame({
        "figure": np.full(n, figure, dtype=object),
        "panel": np.full(n, panel, dtype=object),
        "condition": np.full(n, condition, dtype=object),
        "seed": np.full(n, seed, dtype=np.int64),
        "learning_rate": np.full(n, learning_rate, dtype=np.float64),
        "step": np.repeat(steps_arr, R * C),
        "t": np.repeat(t_arr, R * C),
        "quantity": np.full(n, quantity, dtype=object),
        "row": np.tile(np.repeat(rows, C), T).astype(np.int32),
        "col": np.tile(cols, T * R).astype(np.int32),
        "value": v.reshape(n),
        "source": np.full(n, source, dtype=object),
    })


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate trajectory tables (an empty iterable gives an empty, typed table)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty()
    return pd.concat(frames, ignore_index=True)


def empty() -> pd.DataFrame:
    """An empty table with the trajectory schema."""
    return SCHEMA.empty_table().to_pandas()


def to_table(df: pd.DataFrame) -> pa.Table:
    """Validate ``df`` against the schema (fill defaults for missing optional columns)."""
    df = df.copy()
    for col, default in _DEFAULTS.items():
        if col not in df.columns:
            df[col] = default
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"trajectory table lacks required columns {missing}")
    extra = [c for c in df.columns if c not in COLUMNS]
    if extra:
        raise ValueError(f"trajectory table has columns outside the schema: {extra}; allowed: {list(COLUMNS)}")
    df = df[list(COLUMNS)]
    return pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False)


class CorruptFileError(OSError):
    """A data file cannot be read back as written (truncated, or a page checksum does not match)."""


def _temporary_siblings(path: Path) -> list[Path]:
    """Temporary files of earlier writes of ``path`` (see :func:`atomic_write`)."""
    return sorted(path.parent.glob(f".{glob_escape(path.name)}.*.tmp{glob_escape(path.suffix)}"))


def glob_escape(text: str) -> str:
    """``text`` with the glob metacharacters ``*?[`` escaped (for :meth:`pathlib.Path.glob`)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def atomic_write(path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path`` and rename it to ``path`` on success
    (removing it on failure), so a failed job never leaves a half-written output. The file gets the
    usual umask permissions. Used for parquet and check tables here and for figures in plotting.

    Temporary files named like this one's (``.<name>.<random>.tmp<suffix>``) that an earlier, killed
    write of the same ``path`` left behind are removed first: one job at a time writes a given output
    (Snakemake's lock), so they cannot belong to a running write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _temporary_siblings(path):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_trajectories(df: pd.DataFrame, path) -> None:
    """Write a trajectory table to ``path`` (parquet, zstd, a CRC-32 checksum per page), atomically and
    deterministically."""
    table = to_table(df).replace_schema_metadata(None)
    table = table.replace_schema_metadata({DIGEST_KEY: content_digest(table)})
    atomic_write(Path(path), lambda tmp: pq.write_table(
        table, tmp, compression="zstd", use_dictionary=True, write_statistics=True, write_page_checksum=True))


#: Key of the file metadata entry holding :func:`content_digest` of the table (covers what page checksums do
#: not: the file footer, e.g. a flipped bit in a column's encoding or statistics).
DIGEST_KEY = b"learndyn:content-sha256"


def content_digest(table: pa.Table, frame: pd.DataFrame | None = None) -> str:
    """SHA-256 over the decoded values of ``table`` (row hashes of :func:`pandas.util.hash_pandas_object`,
    column names included): equal tables give equal digests, whatever the file's encoding. ``frame``:
    ``table.to_pandas()`` when the caller has it already."""
    frame = table.to_pandas() if frame is None else frame
    h = hashlib.sha256(",".join(table.schema.names).encode())
    h.update(np.ascontiguousarray(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return h.hexdigest()


def _corrupt(path, why) -> CorruptFileError:
    return CorruptFileError(f"{path}: corrupt or unreadable data file ({why}). It was written by an earlier job: "
                            "delete it and rerun snakemake, which recreates it.")


def _read_verified(path) -> tuple[pa.Table, pd.DataFrame]:
    """One trajectory parquet file, every page checksum and the content digest verified: the Arrow table
    (trajectory schema) and its DataFrame (converted once, for the digest and the caller)."""
    try:
        t = pq.read_table(path, page_checksum_verification=True)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException, ValueError, EOFError) as exc:
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from exc
    if t.schema.names != list(COLUMNS):
        raise _corrupt(path, f"columns {t.schema.names} are not the trajectory schema's {list(COLUMNS)}")
    try:
        stored = (t.schema.metadata or {}).get(DIGEST_KEY)
        t = t.cast(SCHEMA).replace_schema_metadata(None)
        frame = t.to_pandas()
        if stored is not None and stored.decode() != content_digest(t, frame):
            raise ValueError("its values do not match the content digest stored when it was written")
    except (pa.ArrowException, ValueError) as exc:
        raise _corrupt(path, str(exc)) from exc
    return t, frame


def read_table(path) -> pa.Table:
    """Read one trajectory parquet file as an Arrow table with the trajectory schema, verifying every page
    checksum and the content digest; raises :class:`CorruptFileError` naming the file when it is truncated,
    garbled, its checksums or digest do not match, or its columns are not the trajectory schema's."""
    return _read_verified(path)[0]


def read_trajectories(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Read one or several trajectory parquet files into one DataFrame (schema-, checksum- and digest-verified
    as :func:`read_table`; each file converted to pandas once)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    frames = [_read_verified(p)[1] for p in paths]
    if not frames:
        return empty()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def write_checks(checks: pd.DataFrame, path) -> None:
    """Write an acceptance-check table (columns check, value, threshold, passed) as TSV, atomically."""
    need = ["check", "value", "threshold", "passed"]
    if list(checks.columns[:4]) != need:
        raise ValueError(f"check table must start with columns {need}, got {list(checks.columns)}")
    atomic_write(Path(path), lambda tmp: checks.to_csv(tmp, sep="\t", index=False, float_format="%.6g"))


def read_checks(path) -> pd.DataFrame:
    """Read a check table written by :func:`write_checks`."""
    return pd.read_csv(path, sep="\t")


def select(df: pd.DataFrame, **filters) -> pd.DataFrame:
    """Rows of a trajectory table whose columns equal the given values (e.g. ``quantity="loss"``)."""
    mask = np.ones(len(df), dtype=bool)
    for col, val in filters.items():
        mask &= (df[col] == val).to_numpy()
    return df[mask]


def to_array(df: pd.DataFrame, **filters) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`records` for one trajectory: ``(steps (T,), values (T,) | (T, R) | (T, R, C))``.

    Selects rows by ``filters`` first; the selection must hold one value per (step, row, col).
    """
    sub = select(df, **filters) if filters else df
    if sub.empty:
        raise KeyError(f"no rows match {filters}")
    steps = np.unique(sub["step"].to_numpy())
    rows = np.unique(sub["row"].to_numpy())
    cols = np.unique(sub["col"].to_numpy())
    n = len(steps) * len(rows) * len(cols)
    if len(sub) != n:
        raise ValueError(f"selection {filters} is not one trajectory: {len(sub)} rows for "
                         f"{len(steps)} steps x {len(rows)} rows x {len(cols)} cols")
    order = np.lexsort((sub["col"].to_numpy(), sub["row"].to_numpy(), sub["step"].to_numpy()))
    vals = sub["value"].to_numpy()[order].reshape(len(steps), len(rows), len(cols))
    if rows[0] == -1:
        return steps, vals[:, 0, 0]
    if cols[0] == -1:
        return steps, vals[:, :, 0]
    return steps, vals


def scalar(df: pd.DataFrame, **filters) -> float:
    """The single value selected by ``filters`` (raises if there is not exactly one)."""
    sub = select(df, **filters)
    if len(sub) != 1:
        raise KeyError(f"expected one row for {filters}, found {len(sub)}")
    return float(sub["value"].iloc[0])


def check_table(rows) -> pd.DataFrame:
    """Acceptance-check table from ``(check, value, threshold, passed)`` tuples."""
    return pd.DataFrame(list(rows), columns=["check", "value", "threshold", "passed"]).astype(
        {"check": str, "value": float, "threshold": str, "passed": bool})
