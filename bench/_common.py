"""Helpers shared by the benchmarks: fresh databases on both backends, timing, peak memory."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

import atlas

PG_ADMIN = os.environ.get(
    "ATLAS_BENCH_PG", os.environ.get("ATLAS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
)


@contextlib.contextmanager
def fresh_database(backend: str, name: str) -> Iterator[str]:
    """Yield the URL of a new, empty database on ``backend``; drop it afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    dbname = f"{name}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield admin.url.set(database=dbname).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def fresh_atlas(backend: str, name: str) -> Iterator[atlas.Atlas]:
    """Yield an initialised atlas on a new database of ``backend``, its arrays in a temporary
    folder; close and drop both afterwards."""
    with fresh_database(backend, name) as url, tempfile.TemporaryDirectory(prefix=f"{name}-store-") as tmp:
        db = atlas.connect(url, store_root=Path(tmp))
        db.init()
        try:
            yield db
        finally:
            db.close()


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
