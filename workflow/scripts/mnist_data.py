"""Rule ``b_mnist_data`` (spec 9): put the official MNIST files paper B's figures read into ``resources/mnist`` as
``<official name>.gz`` and verify them (SHA-256 of the decompressed content).

Copied from the local directory ``paper_b.mnist.mnist_dir`` (official names, gzipped or not; a gzipped file is
copied byte for byte, an uncompressed one gzipped deterministically), or, with ``paper_b.mnist.download: true``,
fetched from ``paper_b.mnist.url_base`` (needs internet: the rule is a localrule, run it on a login node). A
missing or corrupt file stops the rule with a message that names every bad file and how to provide it; the
message goes to the rule's log and to stderr. The pure pieces (file names, checksums, message, gzip of bytes)
are in ``learndyn.figures.paper_b._mnist`` and ``learndyn.datasets``; this script does the file and network work.

The functions can also be called directly (tests load this file by path): :func:`provide_mnist`.
"""
import shutil
import sys
import urllib.request
from pathlib import Path

if "snakemake" in globals():  # run by the rule: this checkout's core first on sys.path, BLAS threads
    sys.path.insert(0, snakemake.scriptdir)  # noqa: F821
    import _rule

    _rule.setup(snakemake)  # noqa: F821

from learndyn import datasets, io  # noqa: E402
from learndyn.figures.paper_b import _mnist  # noqa: E402


def _download(url: str, how: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            return resp.read()
    except OSError as exc:
        raise datasets.MnistMissingError(f"could not download {url}: {exc}\n{how}") from exc


def provide_mnist(dest, *, source_dir=None, download: bool = False, url_base: str | None = None,
                  proxy: bool = False, config_prefix: str = "paper_b.mnist", log=None) -> list[str]:
    """Put the MNIST files of ``_mnist.needed_splits(proxy)`` into ``dest`` as ``<official name>.gz`` and verify them.

    ``download=False``: the files are taken from ``source_dir`` (official names, gzipped or not, see
    :func:`learndyn.datasets.find_mnist_file`); they are verified there first (SHA-256 of the decompressed
    bytes, :func:`learndyn.datasets.verify_mnist_dir`), then a gzipped file is copied byte for byte and an
    uncompressed one is gzipped (:func:`_mnist.gzip_bytes`). ``download=True``: the official ``.gz`` files are
    fetched from ``url_base`` (default :data:`learndyn.datasets.MNIST_URL_BASES` ``[0]``). Either way the written
    files are verified again. Errors: :class:`learndyn.datasets.MnistMissingError` /
    :class:`~learndyn.datasets.MnistCorruptError` whose message names every bad file and how to provide it
    (a corrupt download is deleted). ``log``: optional file that receives :func:`_mnist.provision_log`.
    Returns the written paths.
    """
    dest = Path(dest)
    splits = _mnist.needed_splits(proxy)
    names = _mnist.provided_names(proxy)
    how = _mnist.how_to_provide(config_prefix, source_dir, download)
    if download:
        urls = datasets.mnist_download_urls(url_base)
        for name in names.values():
            raw = _download(urls[name], how)
            io.atomic_write(dest / name, lambda tmp: Path(tmp).write_bytes(raw))
    else:
        if source_dir is None:
            raise ValueError("source_dir is required unless download=True")
        try:
            found = datasets.verify_mnist_dir(source_dir, splits)
        except datasets.MnistDataError as exc:
            raise type(exc)(f"{exc}\n{how}") from exc
        for key, src in found.items():
            data = src.read_bytes()
            if _mnist.is_gzip(data):
                io.atomic_write(dest / names[key], lambda tmp: shutil.copyfile(src, tmp))
            else:
                io.atomic_write(dest / names[key], lambda tmp: Path(tmp).write_bytes(_mnist.gzip_bytes(data)))
    files = _mnist.provided_files(dest, proxy)
    try:
        datasets.verify_mnist_dir(dest, splits)
    except datasets.MnistDataError as exc:
        if download:
            for path in files:
                Path(path).unlink(missing_ok=True)
        raise type(exc)(f"{exc}\n{how}") from exc
    if log is not None:
        text = _mnist.provision_log(files, download=download, source_dir=source_dir, url_base=url_base)
        io.atomic_write(Path(log), lambda tmp: Path(tmp).write_text(text))
    return files


def main(smk) -> None:
    """The rule: :func:`provide_mnist` into the directory of the rule's outputs; on a missing or corrupt file the
    message goes to the log and to stderr (snakemake shows it) and the rule fails."""
    dest = Path(smk.output[0]).parent
    try:
        files = provide_mnist(dest, source_dir=smk.params.mnist_dir, download=smk.params.download,
                              url_base=smk.params.url_base, proxy=smk.params.proxy, log=smk.log[0])
    except datasets.MnistDataError as exc:
        Path(smk.log[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(smk.log[0]).write_text(f"{type(exc).__name__}: {exc}\n")
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    expected = sorted(str(Path(f)) for f in smk.output)
    if sorted(str(Path(f)) for f in files) != expected:  # the rule's outputs and the script must agree
        raise RuntimeError(f"b_mnist_data wrote {files}, the rule declares {expected}")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
