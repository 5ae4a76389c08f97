"""Fixtures of the report tests: the query tests' fixture atlas (both backends)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "query"))

from fixture_atlas import FixtureData, build_fixture_atlas  # noqa: E402


@pytest.fixture
def fx(db: Any) -> tuple[Any, FixtureData]:
    """The ``db`` atlas (SQLite and PostgreSQL) filled with the fixture atlas."""
    return db, build_fixture_atlas(db)

