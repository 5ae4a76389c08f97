"""The activation store: big float arrays beside the database, never in SQL rows.

A run's activations live in one folder under the store root, one float16 ``.npy`` array per
layer (block × site) of shape ``[n_words, width]``; row ``r`` is the corpus word with
``token.row == r``. Arrays are preallocated (sparse, zero) when a run starts and filled by
row ranges (:class:`RowWriter`); the database records which ranges are complete
(``run_chunk``), so a killed job resumes and never writes a row twice. Methods read them in
blocks of rows.

Each file is a plain ``.npy`` (``np.load`` reads it) whose header is padded to
:data:`HEADER_BYTES` = 4096, so the data starts on a page boundary: whole pages of a row range
are then written with ``O_DIRECT`` straight from the job's buffer, without a copy into the
page cache and the kernel's writeback of it (on a 2-core machine that copy and writeback cost
as much CPU as the float16 conversion of every unit); the partial pages at a range's two ends,
and filesystems without ``O_DIRECT`` (tmpfs), go through ordinary writes.

Layout::

    <root>/runs/<run_id>-<config_hash[:12]>/L{layer:02d}.{site}.npy

The database keeps paths relative to the store root, and records the root itself
(``atlas_info.store_root``, written by ``atlas init``), so any process that opens the atlas,
from any folder, finds the arrays. The root is, first that applies: ``--store`` /
``store_root=``; ``$ATLAS_STORE``; the recorded root (or, when that folder is gone, the
default beside a SQLite file that has moved with its store); ``<name>.store/`` beside a SQLite
file ``<name>.db``; ``./atlas_store``. A colleague whose machine mounts the store elsewhere sets
``--store``/``$ATLAS_STORE``; a missing file is a one-line :class:`~atlas.errors.StoreError`
naming the run, the path and that option.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from atlas.errors import StoreError
from atlas.store.engine import write
from atlas.store.tables import AtlasInfo

DTYPE = np.float16
#: Size of the ``.npy`` header of a new array: the data starts on a page boundary.
HEADER_BYTES = 4096
PAGE = 4096


def npy_header(shape: tuple[int, ...], dtype: np.dtype = np.dtype(DTYPE)) -> bytes:
    """A version 1.0 ``.npy`` header of exactly :data:`HEADER_BYTES` bytes (space padded).

    >>> len(npy_header((3, 4)))
    4096
    """
    d = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(shape)}
    text = repr(d).encode("latin1")
    body = HEADER_BYTES - 10  # magic (6) + version (2) + length (2)
    if len(text) + 1 > body:
        raise ValueError(f"shape {shape} does not fit a {HEADER_BYTES}-byte header")
    return b"\x93NUMPY\x01\x00" + body.to_bytes(2, "little") + text + b" " * (body - len(text) - 1) + b"\n"


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


#: The ``atlas_info`` key that holds the activation store root.
ROOT_KEY = "store_root"


def recorded_root(engine: Engine) -> Path | None:
    """The store root the atlas recorded, or ``None`` (not recorded, or not an atlas yet)."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database
        if not db or db == ":memory:" or not Path(db).expanduser().is_file():
            return None  # reading would create the file
    try:
        with engine.connect() as conn:
            value = conn.execute(select(AtlasInfo.value).where(AtlasInfo.key == ROOT_KEY)).scalar()
    except DBAPIError:
        return None
    return Path(value) if value else None


def record_root(engine: Engine, root: Path, *, replace: bool = False) -> None:
    """Record ``root`` as the atlas's store root (kept if one is recorded, unless ``replace``)."""
    with write(engine) as conn:
        found = conn.execute(select(AtlasInfo.value).where(AtlasInfo.key == ROOT_KEY)).scalar()
        if found is None:
            conn.execute(AtlasInfo.__table__.insert().values(key=ROOT_KEY, value=str(root)))
        elif replace and found != str(root):
            conn.execute(AtlasInfo.__table__.update().where(AtlasInfo.key == ROOT_KEY).values(value=str(root)))


def resolve_root(engine: Engine, explicit: str | Path | None = None) -> Path:
    """The store root for ``engine`` (see the module docstring for the order)."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("ATLAS_STORE"):
        return default_root(engine)
    default = default_root(engine)
    recorded = recorded_root(engine)
    if recorded is None:
        return default
    if not recorded.is_dir() and default.is_dir() and engine.dialect.name == "sqlite":
        return default  # the file moved together with its NAME.store folder
    return recorded


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
        with open(tmp, "wb") as fh:
            fh.write(npy_header((n_rows, width)))
            fh.truncate(HEADER_BYTES + n_rows * width * np.dtype(DTYPE).itemsize)  # sparse zeros
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(final.parent)

    def open(self, rel: str, *, mode: str = "r") -> np.memmap:
        """The array as a memory map (``mode`` ``"r"`` to read, ``"r+"`` to fill rows).

        Raises:
            StoreError: the file is not under this root (names the run, the path and the fix).
        """
        path = self.path(rel)
        if not path.is_file():
            run = rel.split("/")[1].split("-")[0] if rel.startswith("runs/") else "?"
            raise StoreError(
                f"run {run}: activation file {rel} not found at {path}",
                hint=f"the store root here is {self.root}; pass --store DIR or set ATLAS_STORE "
                "to the folder that holds runs/ on this machine",
            )
        return np.load(path, mmap_mode=mode)  # type: ignore[no-any-return]

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


def npy_header_size(path: Path) -> int:
    """Byte offset of the data in a ``.npy`` file."""
    with open(path, "rb") as fh:
        major, _minor = np.lib.format.read_magic(fh)
        if major == 1:
            np.lib.format.read_array_header_1_0(fh)
        else:
            np.lib.format.read_array_header_2_0(fh)
        return fh.tell()


def read_rows(path: Path, offset: int, width: int, r0: int, r1: int) -> np.ndarray:
    """Rows ``[r0, r1)`` of a float16 ``.npy`` file whose data starts at ``offset`` (plain reads
    into a fresh array: no memory map, so resident memory stays flat)."""
    out = np.empty((r1 - r0, width), dtype=DTYPE)
    view = memoryview(out).cast("B")
    with open(path, "rb", buffering=0) as fh:
        fh.seek(offset + r0 * out.itemsize * width)
        got = 0
        while got < len(view):
            step = fh.readinto(view[got:])
            if not step:
                raise ValueError(f"{path} is shorter than its header says")
            got += step
    return out


class RowWriter:
    """Durable writes of row ranges of one float16 ``[n_rows, width]`` array file.

    Whole pages go with ``O_DIRECT`` when the data offset is page aligned and the filesystem
    allows it (else, and for the partial pages at both ends, ordinary ``pwrite``); then
    ``fdatasync``. :meth:`buffer` makes a block whose memory is aligned like its place in the
    file, as ``O_DIRECT`` needs.

    Example::

        w = RowWriter(path, offset=4096, width=1536)
        block = w.buffer(first_row=100, n_rows=50)   # fill it, then:
        w.write(block, first_row=100)
        w.close()
    """

    def __init__(self, path: Path, *, offset: int, width: int, direct: bool = True) -> None:
        self.path = Path(path)
        self.offset = offset
        self.row_bytes = width * np.dtype(DTYPE).itemsize
        self.width = width
        self.fd = os.open(self.path, os.O_RDWR)
        self.dfd: int | None = None
        if direct and offset % PAGE == 0 and hasattr(os, "O_DIRECT"):
            try:
                self.dfd = os.open(self.path, os.O_RDWR | os.O_DIRECT)
            except OSError:
                self.dfd = None  # e.g. tmpfs

    def buffer(self, first_row: int, n_rows: int, memory: mmap.mmap | None = None, *, zero: bool = True) -> np.ndarray:
        """A ``[n_rows, width]`` float16 block aligned like rows ``first_row..`` of the file:
        fresh (zero), or laid into ``memory`` (from :meth:`memory`; reused, it spares the page
        faults of a fresh block), zeroed unless ``zero=False`` (the caller overwrites every row)."""
        start = (self.offset + first_row * self.row_bytes) % PAGE
        fresh = memory is None
        if memory is None:
            memory = self.memory(n_rows)  # anonymous: page aligned, zero
        block = np.frombuffer(memory, dtype=DTYPE, count=n_rows * self.width, offset=start).reshape(n_rows, self.width)
        if zero and not fresh:
            block.fill(0)
        return block

    def memory(self, n_rows: int) -> mmap.mmap:
        """Page-aligned memory for a block of up to ``n_rows`` rows at any place in the file."""
        return mmap.mmap(-1, PAGE + n_rows * self.row_bytes + PAGE, flags=mmap.MAP_PRIVATE)

    def write(self, block: np.ndarray, first_row: int) -> None:
        """Write ``block`` as rows ``first_row..`` and make them durable."""
        data = memoryview(np.ascontiguousarray(block)).cast("B")
        pos = self.offset + first_row * self.row_bytes
        n = len(data)
        head = min(n, -pos % PAGE)  # bytes before the first page boundary
        body_end = max(head, (pos + n) // PAGE * PAGE - pos)  # end of the whole pages
        if body_end > head:
            self._write_pages(data[head:body_end], pos + head)
        if head:
            _pwrite_all(self.fd, data[:head], pos)
        if body_end < n:
            _pwrite_all(self.fd, data[body_end:], pos + body_end)
        os.fdatasync(self.fd)

    def _write_pages(self, data: memoryview, pos: int) -> None:
        if self.dfd is not None and _address(data) % PAGE == 0:
            try:
                _pwrite_all(self.dfd, data, pos)
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                os.close(self.dfd)  # the filesystem refuses direct writes: ordinary ones from now on
                self.dfd = None
        _pwrite_all(self.fd, data, pos)

    def close(self) -> None:
        for fd in (self.fd, self.dfd):
            if fd is not None:
                os.close(fd)
        self.dfd = None


def _address(view: memoryview) -> int:
    return int(np.frombuffer(view, dtype=np.uint8).__array_interface__["data"][0])


def _pwrite_all(fd: int, data: memoryview, pos: int) -> None:
    while len(data):
        done = os.pwrite(fd, data, pos)
        data, pos = data[done:], pos + done


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
