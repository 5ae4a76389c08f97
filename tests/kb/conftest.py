"""Fixtures of the knowledge-base tests: the fixture atlas on both backends (``fx``), and a shared
PostgreSQL atlas with real login roles (``lab``): unique names, dropped after the test."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import atlas

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "query"))

from fixture_atlas import FixtureData, build_fixture_atlas  # noqa: E402

_n = itertools.count()


@pytest.fixture
def fx(db: Any) -> tuple[Any, FixtureData]:
    """The ``db`` atlas (SQLite and PostgreSQL) filled with the fixture atlas."""
    return db, build_fixture_atlas(db)


@dataclass
class Lab:
    """A shared atlas on the test PostgreSQL, its roles set up by ``atlas kb init``."""

    admin: atlas.Atlas
    prefix: str
    users: list[str] = field(default_factory=list)

    def url(self, user: str) -> str:
        return make_url(self.admin.url).set(username=user).render_as_string(hide_password=False)

    def user(self, kind: str) -> str:
        """A new login role granted ``kind``; returns its database URL."""
        name = f"{self.prefix}_u{len(self.users)}_{kind}"
        self.admin.kb_grant(name, kind, create=True)
        self.users.append(name)
        return self.url(name)


@pytest.fixture(scope="session")
def lab_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL database holding the fixture atlas, built once (each ``lab`` copies it), and
    its activation store."""
    server = request.getfixturevalue("pg_server")
    name = server.create(template=server.template)
    store = tmp_path_factory.mktemp("lab_store")
    db = atlas.connect(server.url(name), store_root=store)
    db.init()  # records the store's folder, so the users' connections find the arrays
    build_fixture_atlas(db)
    db.close()
    yield name, store
    server.drop(name)


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_template: tuple[str, Path]) -> Iterator[Lab]:
    """A fresh PostgreSQL atlas holding the fixture atlas, with roles ``PREFIX_reader`` ... set up
    (statement timeout 2 s); every role it made is dropped afterwards."""
    server = request.getfixturevalue("pg_server")
    name = server.create(template=lab_template[0])
    admin = atlas.connect(server.url(name), store_root=lab_template[1])
    prefix = f"kbt{os.getpid()}_{next(_n)}"
    admin.kb_init(prefix=prefix, timeout_s=2)
    found = Lab(admin, prefix)
    try:
        yield found
    finally:
        admin.close()
        server.drop(name)
        with server.admin.connect() as conn:
            for user in found.users:
                conn.execute(text(f'DROP ROLE IF EXISTS "{user}"'))
            for kind in ("writer", "annotator", "reader"):
                conn.execute(text(f'DROP ROLE IF EXISTS "{prefix}_{kind}"'))
