"""The golden corpus ``queries/*.nql``: canonical form, SQL per dialect and results.

Each query's answer on the fixture atlas must equal its ``.csv`` snapshot on SQLite AND on
PostgreSQL (so both backends return identical rows). ``ATLAS_UPDATE_GOLDENS=1`` rewrites the
snapshots (review the diff). Independent pandas references for the main query shapes live in
``test_compiler.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from atlas.query.api import compile_query, format_query, run_query
from atlas.query.parser import parse
from atlas.query.views import sections_csv

QUERIES = Path(__file__).resolve().parents[2] / "queries"
UPDATE = os.environ.get("ATLAS_UPDATE_GOLDENS") == "1"
GOLDENS = sorted(QUERIES.glob("*.nql"))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def _check(path: Path, actual: str, problems: list[str]) -> None:
    if UPDATE or not path.exists():
        if not UPDATE:
            problems.append(f"{path.name}: snapshot was missing; written now")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        problems.append(f"{path.name} differs:\n--- expected\n{expected}\n--- actual\n{actual}")


def test_golden_corpus_is_not_empty() -> None:
    assert len(GOLDENS) >= 20


@pytest.mark.parametrize("path", GOLDENS, ids=[p.stem for p in GOLDENS])
def test_format_snapshot_and_round_trip(path: Path) -> None:
    text = _text(path)
    canonical = format_query(text)
    assert parse(canonical) == parse(text)
    assert format_query(canonical) == canonical
    problems: list[str] = []
    _check(path.with_suffix(".fmt"), canonical + "\n", problems)
    assert not problems, "\n".join(problems)


def test_goldens_on_backend(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    dialect = db.engine.dialect.name
    problems: list[str] = []
    for path in GOLDENS:
        text = _text(path)
        if f"-- {dialect}:skip" in text:
            continue
        frame = run_query(db, text)
        _check(path.with_suffix(".csv"), sections_csv(frame), problems)
        _check(path.with_suffix(f".{dialect}.sql"), compile_query(db, text) + "\n", problems)
    assert not problems, "\n\n".join(problems)
