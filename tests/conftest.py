"""Shared fixtures. Every store test runs on SQLite and on PostgreSQL.

PostgreSQL: ``$ATLAS_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
is the server; the session builds a template database at the newest schema, and each test
gets a fresh database copied from it, dropped afterwards. An unreachable server is an
error, never a skip: CI must not pass without PostgreSQL. ``--backend sqlite`` limits a
local run to SQLite.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import atlas
from atlas.store import migrate
from atlas.store.engine import make_engine

PG_ADMIN_URL = os.environ.get("ATLAS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PUD = SHARED / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"
_counter = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=["sqlite", "postgresql"],
        help="run store tests on this backend only (repeatable; default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend") or ["sqlite", "postgresql"]
        metafunc.parametrize("backend", chosen, scope="function")


class PostgresServer:
    """Creates and drops per-test databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.base = make_url(admin_url)
        self.prefix = f"atlas_test_{os.getpid()}"
        self.template: str | None = None

    def url(self, dbname: str) -> str:
        return self.base.set(database=dbname).render_as_string(hide_password=False)

    def create(self, *, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            tpl = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{tpl}'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer(PG_ADMIN_URL)
    try:
        with server.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        pytest.fail(
            f"PostgreSQL is unreachable at {PG_ADMIN_URL} ({type(exc).__name__}): the store tests must run on "
            "both backends. Start it, or set ATLAS_TEST_PG, or run locally with --backend sqlite.",
            pytrace=False,
        )
    template = server.create()
    engine = make_engine(server.url(template))
    migrate.init(engine)
    engine.dispose()
    server.template = template
    yield server
    server.drop(template)
    server.admin.dispose()


def _fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'atlas.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = server.create(template=server.template)
    try:
        yield server.url(name)
    finally:
        server.drop(name)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, initialised atlas database on ``backend``."""
    for url in _fresh_url(backend, request, tmp_path):
        if backend == "sqlite":
            engine = make_engine(url)
            migrate.init(engine)
            engine.dispose()
        yield url


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database (no schema) on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = server.create()
    try:
        yield server.url(name)
    finally:
        server.drop(name)


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> Iterator[atlas.Atlas]:
    """A fresh, initialised :class:`atlas.Atlas` on each backend, its arrays in ``tmp_path``."""
    handle = atlas.connect(db_url, store_root=tmp_path / "store")
    handle.check()
    yield handle
    handle.close()


def pud_path() -> Path:
    """The UD English PUD file from ../shared, or skip with the reason (never in CI)."""
    if not PUD.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{PUD} is missing in CI: ../shared must sit beside the checkout", pytrace=False)
        pytest.skip(f"../shared is absent ({PUD} not found): the UD English PUD integration test needs it")
    return PUD
