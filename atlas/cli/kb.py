"""``atlas kb init|grant|whoami``: the roles of a shared PostgreSQL atlas (a thin shell over
:meth:`atlas.api.Atlas.kb_init` and friends), and :func:`denied_line`, the one line the error
boundary prints for a permission error on a shared atlas."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, given, library_option, open_atlas

KB_EPILOG = """\
examples:
  atlas kb init --db postgresql+psycopg://admin@host/lab               roles atlas_reader, _annotator, _writer
  atlas kb init --timeout 10                                            the readers' statement timeout, seconds
  atlas kb grant alice --role reader                                    alice may query, nothing else
  atlas kb grant bob --role annotator                                   + notes, labels, saved queries
  atlas kb grant worker --role writer --create                          + extract, score (creates the login role)
  atlas kb whoami                                                       your database user and atlas role

PostgreSQL only: on SQLite the file's permissions decide who may read or write.
"""

#: Commands that write only what an annotator may write.
ANNOTATOR_COMMANDS = ("note", "label", "saved")


def register(sub: Any) -> None:
    """Add ``kb`` to the ``atlas`` command line."""
    p = sub.add_parser("kb", help="roles of a shared PostgreSQL atlas: init, grant, whoami",
                       description="Roles of a shared lab atlas on PostgreSQL: readers query, annotators also "
                       "keep notes, labels and saved queries, writers also extract and score.",
                       epilog=KB_EPILOG, formatter_class=Formatter)
    ksub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = ksub.add_parser("init", help="create or check the roles, privileges and row-level security",
                        description="Create (or check and repair) PREFIX_reader, PREFIX_annotator and PREFIX_writer, "
                        "their privileges on this atlas, the lab's statement timeout and the row-level security that "
                        "keeps private notes private. Run it as the atlas's owner, again after a migration.",
                        epilog=KB_EPILOG, formatter_class=Formatter)
    library_option(q, "--prefix", help="role name prefix (default: atlas)")
    library_option(q, "--timeout", dest="timeout_s", type=float, metavar="S",
                   help="statement timeout of readers and annotators, and the bound of every atlas query (default: 30)")
    add_db_option(q)
    q.set_defaults(func=_cmd_init)
    q = ksub.add_parser("grant", help="make a user a reader, annotator or writer",
                        description="Give a database login role one atlas role (and take away the others).",
                        epilog=KB_EPILOG, formatter_class=Formatter)
    q.add_argument("user", help="the database login role")
    q.add_argument("--role", required=True, choices=["reader", "annotator", "writer"])
    q.add_argument("--create", action="store_true", help="create the login role when it does not exist (no password)")
    add_db_option(q)
    q.set_defaults(func=_cmd_grant)
    q = ksub.add_parser("whoami", help="your database user and atlas role",
                        description="The database user this --db URL connects as and its atlas role.",
                        epilog="examples:\n  atlas kb whoami --db postgresql+psycopg://alice@host/lab",
                        formatter_class=Formatter)
    add_db_option(q)
    q.set_defaults(func=_cmd_whoami)


def _cmd_init(args: argparse.Namespace) -> int:
    db = open_atlas(args)
    out = db.kb_init(**given(args, "prefix", "timeout_s"))
    for name in out["created"]:
        print(f"created role {name}")
    for name in out["existing"]:
        print(f"checked role {name}")
    print(f"statement timeout of readers and annotators: {out['timeout_s']:g} s; private notes: row-level security on")
    return 0


def _cmd_grant(args: argparse.Namespace) -> int:
    db = open_atlas(args)
    out = db.kb_grant(args.user, args.role, create=args.create)
    made = " (created, no password: ALTER ROLE ... PASSWORD '...' to set one)" if out["created"] else ""
    bound = "" if args.role == "writer" else f", statement timeout {out['timeout_s']:g} s"
    print(f"{out['user']}{made} is now {out['role']}{bound}")
    return 0


def _cmd_whoami(args: argparse.Namespace) -> int:
    db = open_atlas(args)
    who = db.whoami()
    print(f"{who['user'] or '(SQLite: no database users)'}: {who['kind'] or 'no atlas role'}")
    return 0


def denied_line(args: argparse.Namespace) -> str | None:
    """For a permission error on a shared PostgreSQL atlas: ``error: your role atlas_reader cannot
    write; ask ...`` (None where there is nothing better to say than the error itself)."""
    try:
        from atlas.api import Atlas
        from atlas.kb.roles import denied_message

        db = Atlas(getattr(args, "db", None), store_root=getattr(args, "store", None))
        if db.engine.dialect.name != "postgresql":
            return None
        needs = "annotator" if args.command in ANNOTATOR_COMMANDS else "writer"
        line = denied_message(db.engine, needs)
        db.close()
    except Exception:  # noqa: BLE001 - a courtesy; the original error is printed instead
        return None
    return f"error: {line}" if line else None
