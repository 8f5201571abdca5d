"""The parquet layer: corrupted files fail loudly, interrupted writes leave nothing behind."""

import numpy as np
import pytest

from learndyn import io


def _table():
    rng = np.random.default_rng(0)
    steps = np.arange(200)
    return io.concat([
        io.records(np.exp(-steps / 50.0), quantity="loss", source="simulation", figure="a2", panel="A", steps=steps),
        io.records(rng.standard_normal((50, 3, 4)), quantity="W2W1", source="exact", figure="a2", panel="A",
                   steps=np.arange(50)),
    ])


def test_every_single_bit_flip_is_detected_or_harmless(tmp_path):
    """A flipped bit anywhere in the file (data pages: CRC-32 page checksums; footer: the stored content
    digest) either raises CorruptFileError naming the file or reads back the identical table; before page
    checksums and the digest, about half of random flips read back different values without an error."""
    path = tmp_path / "t.parquet"
    df = _table()
    io.write_trajectories(df, path)
    raw = path.read_bytes()
    ref = io.read_trajectories(path)
    assert ref.equals(df.reset_index(drop=True)[list(io.COLUMNS)].astype(ref.dtypes.to_dict()))
    rng = np.random.default_rng(1)
    raised = 0
    for pos in rng.choice(len(raw), size=400, replace=False):
        b = bytearray(raw)
        b[pos] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(b))
        try:
            got = io.read_trajectories(path)
        except io.CorruptFileError as exc:
            assert str(path) in str(exc) and "delete it and rerun snakemake" in str(exc)
            raised += 1
        else:
            assert got.equals(ref), f"bit flip at byte {pos} changed the values silently"
    assert raised > 300  # most flips hit data or metadata that matters


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "t.parquet"
    io.write_trajectories(_table(), path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(io.CorruptFileError, match="t.parquet"):
        io.read_trajectories(path)


def test_writes_are_deterministic_and_checksummed(tmp_path):
    import pyarrow.parquet as pq
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    io.write_trajectories(_table(), a)
    io.write_trajectories(_table(), b)
    assert a.read_bytes() == b.read_bytes()
    meta = pq.ParquetFile(a).schema_arrow.metadata
    assert io.DIGEST_KEY in meta


def test_failed_write_leaves_nothing_and_killed_writes_are_cleaned_up(tmp_path):
    path = tmp_path / "out.parquet"

    def boom(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("job killed")

    with pytest.raises(RuntimeError):
        io.atomic_write(path, boom)
    assert list(tmp_path.iterdir()) == []
    # a kill -9 during a write leaves its temporary file behind; the next write of the same output removes it
    stale = tmp_path / ".out.parquet.abc123.tmp.parquet"
    stale.write_bytes(b"half")
    other = tmp_path / ".other.parquet.abc123.tmp.parquet"   # another output's: left alone
    other.write_bytes(b"half")
    io.write_trajectories(_table(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.parquet.abc123.tmp.parquet", "out.parquet"]
