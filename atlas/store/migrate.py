"""Schema migrations (Alembic, in the top-level ``migrations/`` folder).

``init`` creates a database or upgrades it to the newest schema; it refuses a database that
holds other tables but is no atlas, and one whose schema is newer than this code.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, MetaData, Table, func, inspect, select

from atlas.errors import SchemaVersionError, StoreError
from atlas.store.engine import check_connection, table_names

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(engine: Engine) -> Config:
    if not (MIGRATIONS / "env.py").is_file():
        raise StoreError(
            f"the migrations folder is missing ({MIGRATIONS})",
            hint="install Neuron Atlas from its source tree: pip install -e .",
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision(engine: Engine) -> str:
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or ``None`` for an empty database."""
    check_connection(engine)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_existing(engine: Engine) -> None:
    """Raise when a SQLite file does not exist (reading it would create an empty one)."""
    db_file = engine.url.database if engine.dialect.name == "sqlite" else None
    if db_file and db_file != ":memory:" and not Path(db_file).expanduser().exists():
        raise StoreError(
            f"there is no atlas at {db_file!r}",
            hint="run `atlas init` (or `atlas demo`) to create one, or point --db / $ATLAS_DB at an existing atlas",
        )


def check_schema(engine: Engine) -> None:
    """Raise unless the database is an atlas at the newest schema this code knows."""
    require_existing(engine)
    tables = table_names(engine)
    if "alembic_version" not in tables:
        if tables:
            raise StoreError(
                f"the database at {_show(engine)} is not a Neuron Atlas database "
                f"(it holds other tables: {', '.join(sorted(tables)[:5])})",
                hint="point --db at an atlas, or at a new file/database and run `atlas init`",
            )
        raise StoreError(f"the database at {_show(engine)} is empty", hint="run `atlas init` first")
    rev = current_revision(engine)
    head = head_revision(engine)
    if rev == head:
        return
    script = ScriptDirectory.from_config(alembic_config(engine))
    known = {s.revision for s in script.walk_revisions()}
    if rev not in known:
        raise SchemaVersionError(
            f"the database at {_show(engine)} is at schema revision {rev!r}, newer than this version "
            f"of Neuron Atlas knows (newest: {head!r})",
            hint="upgrade Neuron Atlas (pip install -U neuron-atlas)",
        )
    raise SchemaVersionError(
        f"the database at {_show(engine)} is at an older schema revision ({rev!r}; newest is {head!r})",
        hint="run `atlas db upgrade`",
    )


def init(engine: Engine) -> str:
    """Create the schema, or upgrade an existing atlas to the newest revision.

    Returns:
        The revision the database is at afterwards.
    """
    tables = table_names(engine)
    if tables and "alembic_version" not in tables:
        raise StoreError(
            f"the database at {_show(engine)} is not a Neuron Atlas database "
            f"(it holds other tables: {', '.join(sorted(tables)[:5])})",
            hint="use a new file or an empty database for the atlas",
        )
    if "alembic_version" in tables:
        rev = current_revision(engine)
        script = ScriptDirectory.from_config(alembic_config(engine))
        if rev is not None and rev not in {s.revision for s in script.walk_revisions()}:
            raise SchemaVersionError(
                f"the database at {_show(engine)} is at schema revision {rev!r}, newer than this "
                f"version of Neuron Atlas knows",
                hint="upgrade Neuron Atlas (pip install -U neuron-atlas)",
            )
    upgrade(engine, "head")
    return head_revision(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str, *, force: bool = False) -> None:
    """Downgrade the schema to ``revision`` (a revision id, ``-N`` steps, or ``base``).

    A downgrade to ``base`` (it drops every table of the atlas), and any downgrade that would
    drop tables holding rows, refuses unless ``force``, saying how many rows of which tables
    it would delete.

    Raises:
        StoreError: an unknown revision (the message lists the valid ones), a revision the
            database cannot go down to, or rows that would be lost without ``force``.

    Example::

        downgrade(engine, "-1")                  # refuses if the dropped tables hold rows
        downgrade(engine, "base", force=True)    # empties the atlas
    """
    _check_downgrade_target(engine, revision)
    if not force:
        losses = downgrade_losses(engine, revision)
        if losses or revision == "base":
            counts = ", ".join(f"{n:,} rows of {t}" for t, n in sorted(losses.items())) or "no rows"
            drops = "drops every table of the atlas and " if revision == "base" else ""
            raise StoreError(
                f"downgrading {_show(engine)} to {revision!r} {drops}would delete {counts}",
                hint="back the database up first, then pass --force (force=True)",
            )
    try:
        _run(engine, command.downgrade, revision)
    except CommandError as exc:
        raise StoreError(f"cannot downgrade {_show(engine)} to {revision!r}: {exc}",
                         hint=f"valid targets: {_valid_targets(engine)}") from None


def downgrade_losses(engine: Engine, revision: str) -> dict[str, int]:
    """``{table: rows}`` of the tables holding rows that a downgrade to ``revision`` would drop.

    The downgrade is run inside a transaction that is rolled back (both backends have
    transactional DDL), so what it drops is what the migrations say, not a guess.
    """
    _check_downgrade_target(engine, revision)
    check_connection(engine)
    before = table_names(engine) - {"alembic_version"}
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
            after = set(inspect(conn).get_table_names())
        except CommandError as exc:
            raise StoreError(f"cannot downgrade {_show(engine)} to {revision!r}: {exc}",
                             hint=f"valid targets: {_valid_targets(engine)}") from None
        finally:
            trans.rollback()
    losses: dict[str, int] = {}
    moved = {table for table, dest in _moved_tables(engine, revision).items() if dest in after}
    with engine.connect() as conn:
        for table in sorted(before - after - moved):
            n = conn.execute(select(func.count()).select_from(Table(table, MetaData()))).scalar_one()
            if n:
                losses[table] = int(n)
    return losses


def _moved_tables(engine: Engine, revision: str) -> dict[str, str]:
    """``{table: destination}``: tables whose rows the downgrades down to ``revision`` move into
    another table rather than drop (a revision module declares them in ``DOWNGRADE_MOVES``: 0003
    turns complete score sets back into ``score`` rows). A move counts as no loss only if the
    destination is still there at ``revision``."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    current = current_revision(engine)
    if current is None:
        return {}
    target = None if revision == "base" else revision
    moved: dict[str, str] = {}
    steps = int(revision[1:]) if re.fullmatch(r"-[1-9][0-9]*", revision) else None
    for i, rev in enumerate(script.iterate_revisions(current, "base")):
        if steps is not None and i >= steps:
            break
        if steps is None and target is not None and rev.revision == target:
            break
        moved.update(getattr(rev.module, "DOWNGRADE_MOVES", {}))
    return moved


def _check_downgrade_target(engine: Engine, revision: str) -> None:
    if revision == "base" or re.fullmatch(r"-[1-9][0-9]*", revision):
        return
    script = ScriptDirectory.from_config(alembic_config(engine))
    found = None
    if revision.strip():
        try:
            found = script.get_revision(revision)
        except CommandError:
            found = None
    if found is None or isinstance(found, tuple):
        raise StoreError(f"unknown schema revision {revision!r}", hint=f"valid targets: {_valid_targets(engine)}")


def _valid_targets(engine: Engine) -> str:
    script = ScriptDirectory.from_config(alembic_config(engine))
    revisions = [f"{s.revision} ({(s.doc or '').strip().splitlines()[0] if s.doc else ''})"
                 for s in reversed(list(script.walk_revisions()))]
    return ", ".join(["base", "-1", *revisions])


def _run(engine: Engine, fn: object, revision: str) -> None:
    """Run an Alembic command in one transaction.

    On SQLite, foreign keys are off while it runs (SQLite's own procedure for schema changes:
    a table that a migration rebuilds is dropped and renamed, and with foreign keys on, the drop
    would cascade into the rows that refer to it); ``PRAGMA foreign_key_check`` must then find
    nothing before the transaction commits.
    """
    check_connection(engine)
    cfg = alembic_config(engine)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, where it takes effect
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                fn(cfg, revision)  # type: ignore[operator]
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"the migration to {revision!r} would leave {len(broken)} rows pointing at missing rows "
                            f"(first: {tuple(broken[0])}); nothing was changed"
                        )
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def _show(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
