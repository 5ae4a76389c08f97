"""Roles of a shared PostgreSQL atlas: ``atlas kb init`` and ``atlas kb grant``.

Three group roles (``NOLOGIN``), named ``PREFIX_reader``, ``PREFIX_annotator``,
``PREFIX_writer`` (``atlas`` by default):

=================  ===========================================================================
reader             ``SELECT`` on every table and view of the atlas (also those later
                   migrations add: default privileges), nothing else
annotator          reader + ``INSERT, UPDATE, DELETE`` on ``note`` and ``saved_query``
writer             annotator + ``INSERT, UPDATE, DELETE, TRUNCATE`` on every table and the
                   sequences (what ``extract``, ``score`` and the other jobs write)
=================  ===========================================================================

A login role gets one of them with ``atlas kb grant USER --role reader``; the grant also sets
the user's per-database defaults (``ALTER ROLE ... IN DATABASE``): ``statement_timeout`` (the
lab's bound, recorded in ``atlas_info`` as ``kb_statement_timeout_ms``),
``idle_in_transaction_session_timeout`` and, for a reader, ``default_transaction_read_only``
(defence in depth only: the privileges are the control). A role's settings are not inherited
through membership, hence per user.

**The statement timeout.** Every atlas query sets its own ``statement_timeout`` (``SET LOCAL``)
to the time its ``--timeout`` leaves, bounded by ``LEAST`` of that, the session's default (the
role's) and the lab's ``kb_statement_timeout_ms`` (:func:`atlas.query.execute.arm`), so the
client can only lower the bound. PostgreSQL lets any role ``SET statement_timeout`` in raw SQL
(a ``user``-context setting); that cannot be taken away, so raw SQL is bounded by
``temp_file_limit`` (a ``superuser``-context cap set on the user) and by the privileges, not by
the timeout.

**Row-level security** on ``note``: a ``private`` note is read by its author only, and a note
is written, changed or deleted by its author only (``author = current_user``). ``FORCE ROW
LEVEL SECURITY`` holds the table's owner to it too; superusers bypass it (as PostgreSQL does).

On SQLite there are no roles: the file's permissions decide (``chmod``), and these functions
raise :class:`~atlas.errors.KnowledgeBaseError` saying so.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Engine, select, text

from atlas.errors import KnowledgeBaseError
from atlas.store.engine import write
from atlas.store.failures import database_label
from atlas.store.tables import AtlasInfo

#: The kinds of role a user can be granted, least to most.
ROLE_KINDS = ("reader", "annotator", "writer")
#: Tables an annotator writes.
ANNOTATOR_TABLES = ("note", "saved_query")
#: ``atlas_info`` keys: the roles' prefix and the lab's statement timeout (milliseconds).
PREFIX_KEY = "kb_roles"
TIMEOUT_KEY = "kb_statement_timeout_ms"
#: The lab's default statement timeout (seconds) for readers and annotators.
DEFAULT_TIMEOUT_S = 30
#: The cap on a reader's or annotator's temporary files (a ``superuser``-context setting: a real limit).
TEMP_FILE_LIMIT = "1GB"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def require_postgresql(engine: Engine, what: str) -> None:
    """Raise the one-line SQLite explanation unless ``engine`` is PostgreSQL."""
    if engine.dialect.name != "postgresql":
        raise KnowledgeBaseError(
            f"{what}: roles are a PostgreSQL feature and this atlas is {database_label(engine)}",
            hint="on SQLite the file's permissions decide who may read or write it (chmod); put a shared "
            "lab atlas on PostgreSQL (--db postgresql+psycopg://HOST/DB) to use roles",
        )


def role_names(prefix: str) -> dict[str, str]:
    """``{kind: role name}`` for a prefix.

    >>> role_names("atlas")["reader"]
    'atlas_reader'
    """
    check_name(prefix, "role prefix")
    return {kind: f"{prefix}_{kind}" for kind in ROLE_KINDS}


def check_name(name: str, what: str) -> str:
    """``name`` when it is a plain SQL identifier (letters, digits, ``_``; at most 63)."""
    if not _NAME.match(name or ""):
        raise KnowledgeBaseError(f"{what} {name!r} is not a plain name",
                                 hint="use letters, digits and _ (at most 63, not starting with a digit)")
    return name


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def init_roles(engine: Engine, *, prefix: str = "atlas", timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Create (or check and repair) the three roles, their privileges and the notes' row-level
    security on this database; returns ``{"created": [...], "existing": [...], "timeout_s": ...}``.

    Idempotent: run it again after a migration or to change the timeout. Needs a role that may
    create roles and owns the atlas's tables (the one that ran ``atlas init``).
    """
    require_postgresql(engine, "atlas kb init")
    names = role_names(prefix)
    if not 0 < timeout_s <= 3600:
        raise KnowledgeBaseError(f"the statement timeout must be above 0 and at most 3600 s, not {timeout_s:g}",
                                 hint="give --timeout S, e.g. --timeout 30")
    ms = int(round(timeout_s * 1000))
    created, existing = [], []
    with write(engine) as conn:
        have = set(conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:n)"),
                                {"n": list(names.values())}).scalars())
        for kind in ROLE_KINDS:
            name = names[kind]
            (existing if name in have else created).append(name)
            if name not in have:
                conn.execute(text(f"CREATE ROLE {_q(conn, name)} NOLOGIN"))
        _grant_privileges(conn, names)
        _row_security(conn)
        db = _q(conn, conn.execute(text("SELECT current_database()")).scalar_one())
        for kind in ("reader", "annotator"):
            conn.execute(text(f"ALTER ROLE {_q(conn, names[kind])} IN DATABASE {db} SET statement_timeout = {ms}"))
        _set_info(conn, PREFIX_KEY, prefix)
        _set_info(conn, TIMEOUT_KEY, str(ms))
        for user, kind in _members(conn, names):
            _user_settings(conn, user, kind, ms)
    return {"created": created, "existing": existing, "timeout_s": ms / 1000, "roles": names}


def _grant_privileges(conn: Connection, names: dict[str, str]) -> None:
    r, a, w = (_q(conn, names[k]) for k in ROLE_KINDS)
    db = _q(conn, conn.execute(text("SELECT current_database()")).scalar_one())
    schema = _q(conn, conn.execute(text("SELECT current_schema()")).scalar_one())
    for stmt in (
        f"GRANT {r} TO {a}", f"GRANT {a} TO {w}",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}",
        f"GRANT USAGE ON SCHEMA {schema} TO {r}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {r}",
        f"GRANT INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {schema} TO {w}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {w}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {w}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {w}",
    ):
        conn.execute(text(stmt))
    for table in ANNOTATOR_TABLES:
        conn.execute(text(f"GRANT INSERT, UPDATE, DELETE ON {_q(conn, table)} TO {a}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON SEQUENCE {_q(conn, table + '_id_seq')} TO {a}"))


def _row_security(conn: Connection) -> None:
    """Private notes for their author only; a note is changed by its author only."""
    conn.execute(text("ALTER TABLE note ENABLE ROW LEVEL SECURITY"))
    conn.execute(text("ALTER TABLE note FORCE ROW LEVEL SECURITY"))
    policies = {
        "note_read": "FOR SELECT USING (visibility = 'lab' OR author = current_user)",
        "note_insert": "FOR INSERT WITH CHECK (author = current_user)",
        "note_update": "FOR UPDATE USING (author = current_user) WITH CHECK (author = current_user)",
        "note_delete": "FOR DELETE USING (author = current_user)",
    }
    for name, body in policies.items():
        conn.execute(text(f"DROP POLICY IF EXISTS {name} ON note"))
        conn.execute(text(f"CREATE POLICY {name} ON note {body}"))


def _set_info(conn: Connection, key: str, value: str) -> None:
    table = AtlasInfo.__table__
    if conn.execute(select(table.c.value).where(table.c.key == key)).first() is None:
        conn.execute(table.insert().values(key=key, value=value))
    else:
        conn.execute(table.update().where(table.c.key == key).values(value=value))


def _info(conn: Connection, key: str) -> str | None:
    return conn.execute(select(AtlasInfo.value).where(AtlasInfo.key == key)).scalar()


def _members(conn: Connection, names: dict[str, str]) -> list[tuple[str, str]]:
    """``(login user, kind)`` of the users granted one of the roles (the strongest kind)."""
    rows = conn.execute(text(
        "SELECT u.rolname, g.rolname FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member "
        "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = ANY(:n) AND u.rolcanlogin"),
        {"n": list(names.values())}).all()
    kind_of = {v: k for k, v in names.items()}
    best: dict[str, str] = {}
    for user, group in rows:
        kind = kind_of[group]
        if user not in best or ROLE_KINDS.index(kind) > ROLE_KINDS.index(best[user]):
            best[user] = kind
    return sorted(best.items())


def _user_settings(conn: Connection, user: str, kind: str, ms: int) -> None:
    """The per-database defaults of a login user of ``kind`` (``ALTER ROLE ... IN DATABASE``)."""
    db = _q(conn, conn.execute(text("SELECT current_database()")).scalar_one())
    role = f"ALTER ROLE {_q(conn, user)} IN DATABASE {db}"
    if kind == "writer":
        for setting in ("statement_timeout", "idle_in_transaction_session_timeout", "default_transaction_read_only"):
            conn.execute(text(f"{role} RESET {setting}"))
        return
    conn.execute(text(f"{role} SET statement_timeout = {ms}"))
    conn.execute(text(f"{role} SET idle_in_transaction_session_timeout = {max(ms, 30000)}"))
    if kind == "reader":
        conn.execute(text(f"{role} SET default_transaction_read_only = on"))
    else:
        conn.execute(text(f"{role} RESET default_transaction_read_only"))
    if conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        # a superuser-context setting: only a superuser may set it, and the user cannot lift it
        conn.execute(text(f"ALTER ROLE {_q(conn, user)} SET temp_file_limit = '{TEMP_FILE_LIMIT}'"))


def grant(engine: Engine, user: str, role: str, *, create: bool = False) -> dict[str, Any]:
    """Make the login role ``user`` a reader, annotator or writer of this atlas (and nothing
    else of the three); with ``create``, create ``user`` (``LOGIN``, no password) when missing.
    Returns ``{"user", "role", "created", "timeout_s"}``."""
    require_postgresql(engine, "atlas kb grant")
    if role not in ROLE_KINDS:
        raise KnowledgeBaseError(f"unknown role kind {role!r}", hint="use --role reader, annotator or writer")
    check_name(user, "user name")
    with write(engine) as conn:
        prefix = _info(conn, PREFIX_KEY)
        ms = _info(conn, TIMEOUT_KEY)
        if prefix is None or ms is None:
            raise KnowledgeBaseError(f"the roles of {database_label(engine)} are not set up",
                                     hint="run 'atlas kb init' first (as the atlas's owner)")
        names = role_names(prefix)
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :u"), {"u": user}).first() is not None
        if not exists and not create:
            raise KnowledgeBaseError(f"there is no database role {user!r}",
                                     hint=f"create it (CREATE ROLE {user} LOGIN PASSWORD '...') or add --create")
        if not exists:
            conn.execute(text(f"CREATE ROLE {_q(conn, user)} LOGIN"))
        for kind in ROLE_KINDS:
            conn.execute(text(f"REVOKE {_q(conn, names[kind])} FROM {_q(conn, user)}"))
        conn.execute(text(f"GRANT {_q(conn, names[role])} TO {_q(conn, user)}"))
        _user_settings(conn, user, role, int(ms))
    return {"user": user, "role": names[role], "created": not exists, "timeout_s": int(ms) / 1000}


def current_roles(engine: Engine) -> dict[str, Any]:
    """Who this connection is: ``{"user", "kind"}`` (``kind`` the strongest atlas role it holds:
    reader, annotator, writer, ``owner`` for a superuser or the tables' owner, or None)."""
    if engine.dialect.name != "postgresql":
        return {"user": None, "kind": None}
    with engine.connect() as conn:
        user = conn.execute(text("SELECT current_user")).scalar_one()
        owner = conn.execute(text(
            "SELECT rolsuper OR pg_has_role(current_user, (SELECT tableowner FROM pg_tables WHERE tablename = 'note' "
            "AND schemaname = current_schema()), 'MEMBER') FROM pg_roles WHERE rolname = current_user")).scalar()
        if owner:
            return {"user": user, "kind": "owner", "prefix": None}
        prefix = conn.execute(select(AtlasInfo.value).where(AtlasInfo.key == PREFIX_KEY)).scalar()
        if prefix is None:
            return {"user": user, "kind": None, "prefix": None}
        kind = None
        for k, name in role_names(prefix).items():
            held = conn.execute(text(
                "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = :r"), {"r": name}).scalar()
            if held:
                kind = k
        return {"user": user, "kind": kind, "prefix": prefix}


def denied_message(engine: Engine, needs: str = "writer") -> str | None:
    """The one line for a permission error on a shared atlas: ``your role atlas_reader cannot
    write; ask ...``; None when the roles are not set up or the user holds none of them."""
    try:
        who = current_roles(engine)
    except Exception:  # noqa: BLE001 - the explanation is a courtesy; the original error stands
        return None
    kind, prefix = who.get("kind"), who.get("prefix")
    if kind in (None, "owner") or prefix is None:
        return None
    names = role_names(prefix)
    verb = "write notes, labels or saved queries" if needs == "annotator" else "write"
    if ROLE_KINDS.index(kind) >= ROLE_KINDS.index(needs):
        return None
    return (f"your role {names[kind]} cannot {verb} (user {who['user']}); ask the atlas's administrator to "
            f"grant {needs}: atlas kb grant {who['user']} --role {needs}")


def drop_roles(engine: Engine, prefix: str) -> None:
    """Drop the three group roles of ``prefix`` and their privileges on this database (tests,
    and a lab that moves its atlas). Other databases' grants to them must be dropped there."""
    require_postgresql(engine, "dropping the atlas roles")
    names = role_names(prefix)
    with write(engine) as conn:
        for name in reversed([names[k] for k in ROLE_KINDS]):
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}).first():
                conn.execute(text(f"DROP OWNED BY {_q(conn, name)}"))
                conn.execute(text(f"DROP ROLE {_q(conn, name)}"))


__all__ = ["ROLE_KINDS", "current_roles", "denied_message", "drop_roles", "grant", "init_roles", "role_names"]
