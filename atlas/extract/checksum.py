"""The checksum a run records for each activation file: a sha256 that merges chunk by chunk.

A file is written chunk by chunk, possibly by several workers in any order, so its checksum is
built from one sha256 per chunk (of the chunk's rows, as stored) rather than from the file's
bytes in one pass::

    checksum(file) = sha256( sha256(npy header) || sha256(rows of chunk 0) || sha256(rows of chunk 1) || ... )

(each inner digest as its 32 raw bytes, chunks in row order). It is deterministic and depends
only on the file's bytes and the run's chunk bounds (``run_chunk.start_row``/``end_row``), and
:func:`file_checksum` recomputes it from a file. Runs of format ``extract/3`` and earlier
recorded the plain sha256 of the whole file instead.

Example::

    digests = [chunk_digest(rows) for rows in chunks]          # workers
    recorded = combine(header_digest(path), digests)            # the run's finalize
    assert recorded == file_checksum(path, width, bounds)       # anyone, later
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def chunk_digest(rows: np.ndarray) -> str:
    """The sha256 (hex) of a chunk's rows as stored (C order, the file's dtype)."""
    return hashlib.sha256(memoryview(np.ascontiguousarray(rows)).cast("B")).hexdigest()


def header_digest(path: Path) -> str:
    """The sha256 (hex) of a ``.npy`` file's header (everything before the rows)."""
    from atlas.store.activations import npy_header_size

    size = npy_header_size(path)
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read(size)).hexdigest()


def combine(header: str, chunks: Sequence[str]) -> str:
    """The file checksum from the header's digest and the chunks' digests, in row order."""
    digest = hashlib.sha256(bytes.fromhex(header))
    for d in chunks:
        digest.update(bytes.fromhex(d))
    return digest.hexdigest()


def file_checksum(path: Path, width: int, bounds: Sequence[tuple[int, int]]) -> str:
    """Recompute a file's checksum from its bytes and the run's chunk row ranges ``bounds``."""
    from atlas.store.activations import npy_header_size, read_rows

    offset = npy_header_size(path)
    return combine(header_digest(path), [chunk_digest(read_rows(path, offset, width, r0, r1)) for r0, r1 in bounds])
