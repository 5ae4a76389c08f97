"""The schema as SQL text, for a SQL user who reads ``schema/`` instead of Python.

``python -m atlas.store.ddl`` rewrites ``schema/sqlite.sql`` and ``schema/postgresql.sql``;
``tests/store/test_schema.py`` fails when those files drift from the models.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from atlas.store.tables import Base
from atlas.store.views import VIEWS

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"


def ddl(dialect: str) -> str:
    """``CREATE TABLE``, ``CREATE INDEX`` and ``CREATE VIEW`` statements of the whole schema for ``dialect``."""
    d = DIALECTS[dialect]
    parts = [
        f"-- Neuron Atlas schema for {dialect}. Generated from atlas/store/tables.py by",
        "-- `python -m atlas.store.ddl`; do not edit by hand (tests/store/test_schema.py checks it).",
        "",
    ]
    for table in Base.metadata.sorted_tables:
        parts.extend(f"-- {line}".rstrip() for line in _doc(table.name))
        parts.append(_sql(CreateTable(table), d))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            parts.append(_sql(CreateIndex(index), d))
        parts.append("")
    for view in VIEWS:
        parts.append(f"-- {view.doc}")
        parts.append(view.create(dialect) + ";")
        parts.append("")
    return "\n".join(parts)


def _sql(element: object, dialect: object) -> str:
    text = str(element.compile(dialect=dialect)).strip()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + ";"


def _doc(table_name: str) -> list[str]:
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table_name:
            doc = (mapper.class_.__doc__ or "").strip()
            return [line.strip() for line in doc.splitlines()]
    return []


def write(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DIALECTS:
        path = folder / f"{name}.sql"
        path.write_text(ddl(name))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in write():
        print(f"wrote {p}", file=sys.stderr)
