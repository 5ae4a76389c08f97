"""The activation store: big float arrays beside the database, never in SQL rows.

A run's activations live in one folder under the store root, one float16 ``.npy`` array per
layer (block × site) of shape ``[n_words, width]``; row ``r`` is the corpus word with
``token.row == r``. Arrays are preallocated (``open_memmap``) when a run starts and filled by
row ranges; the database records which ranges are complete (``run_chunk``), so a killed job
resumes and never writes a row twice. Methods read them in blocks of rows.

Layout::

    <root>/runs/<run_id>-<config_hash[:12]>/L{layer:02d}.{site}.npy

The store root is ``$ATLAS_STORE`` if set, else ``<name>.store/`` beside a SQLite file
``<name>.db``, else ``./atlas_store``. The database keeps paths relative to the root.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

DTYPE = np.float16


def default_root(engine: Engine | None = None) -> Path:
    """Where activation arrays go for ``engine`` (see the module docstring)."""
    env = os.environ.get("ATLAS_STORE")
    if env:
        return Path(env).expanduser().resolve()
    if engine is not None and engine.dialect.name == "sqlite":
        db = engine.url.database
        if db and db != ":memory:":
            path = Path(db).expanduser().resolve()
            return path.with_name(path.stem + ".store")
    return Path("atlas_store").resolve()


class ActivationStore:
    """Float16 arrays of runs under one root folder.

    Example::

        store = ActivationStore(Path("atlas.store"))
        rel = store.layer_path(run_dir, layer=3, site="mlp")
        store.allocate(rel, n_rows=21_176, width=1536)
        arr = store.open(rel, mode="r+"); arr[0:100] = block; store.flush(arr)
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def run_dir(run_id: int, config_hash: str) -> str:
        return f"runs/{run_id}-{config_hash[:12]}"

    @staticmethod
    def layer_path(run_dir: str, *, layer: int, site: str) -> str:
        return f"{run_dir}/L{layer:02d}.{site}.npy"

    def path(self, rel: str) -> Path:
        return self.root / rel

    def allocate(self, rel: str, *, n_rows: int, width: int) -> None:
        """Create a zero-filled ``[n_rows, width]`` float16 array, atomically; keep an existing
        one of the right shape (a resumed run)."""
        final = self.path(rel)
        if final.exists():
            arr = np.load(final, mmap_mode="r")
            if arr.shape == (n_rows, width) and arr.dtype == DTYPE:
                return
            raise ValueError(f"activation file {final} has shape {arr.shape}, expected {(n_rows, width)}")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_suffix(".npy.tmp")
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=DTYPE, shape=(n_rows, width))
        arr.flush()
        del arr
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(final.parent)

    def open(self, rel: str, *, mode: str = "r") -> np.memmap:
        """The array as a memory map (``mode`` ``"r"`` to read, ``"r+"`` to fill rows)."""
        return np.load(self.path(rel), mmap_mode=mode)  # type: ignore[no-any-return]

    @staticmethod
    def flush(arr: np.memmap) -> None:
        """Make written rows durable before the database records them as done."""
        arr.flush()

    def sha256(self, rel: str) -> str:
        digest = hashlib.sha256()
        with open(self.path(rel), "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        return digest.hexdigest()

    def remove_run(self, run_dir: str) -> None:
        folder = self.path(run_dir)
        if folder.is_dir():
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
