"""``atlas init`` and ``atlas db current|upgrade|downgrade``: the schema of an atlas."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, open_atlas


def register(sub: Any) -> None:
    """Add ``init`` and ``db`` to the ``atlas`` command line."""
    p = sub.add_parser(
        "init",
        help="create an atlas database, or upgrade it to the newest schema",
        description="Create an atlas database, or upgrade an existing one to the newest schema.",
        epilog="examples:\n  atlas init\n  atlas init --db postgresql+psycopg://localhost/lab",
        formatter_class=Formatter,
    )
    add_db_option(p)
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser(
        "db",
        help="schema migrations: current, upgrade, downgrade",
        description="Show or change the schema revision of an atlas database (Alembic).",
        epilog="examples:\n  atlas db current\n  atlas db upgrade\n  atlas db downgrade 0002        refuses if it would delete rows\n  atlas db downgrade base --force    deletes every table and row of the atlas",
        formatter_class=Formatter,
    )
    p.add_argument("action", choices=["current", "upgrade", "downgrade"])
    p.add_argument("revision", nargs="?", help="target revision (upgrade: the newest; downgrade: the one before, or base)")
    p.add_argument("--force", action="store_true",
                   help="downgrade: allow one that deletes tables holding rows (base always needs it)")
    add_db_option(p)
    p.set_defaults(func=_cmd_db)


def _cmd_init(args: argparse.Namespace) -> int:
    db = open_atlas(args, check=False)
    rev = db.init()
    print(f"atlas ready at {db.engine.url.render_as_string(hide_password=True)} (schema revision {rev})")
    print(f"activation store: {db.store.root}")
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    db = open_atlas(args, check=False)
    if args.action == "current":
        rev, head = db.schema_revision()
        state = "up to date" if rev == head else f"newest is {head}"
        print(f"{rev or '(empty database)'} ({state})")
    elif args.action == "upgrade":
        print(f"upgraded to {db.upgrade(args.revision)}")
    else:
        rev = db.downgrade(args.revision or "-1", force=args.force)
        print(f"downgraded to {rev or 'base (empty)'}")
    return 0
