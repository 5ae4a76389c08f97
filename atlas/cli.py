"""The ``atlas`` command line: a thin shell over :class:`atlas.Atlas`.

Each area registers its own commands (``register(subparsers)`` in ``atlas/<area>/cli.py``);
this module holds the global options, the ``init``/``db`` commands and the error boundary:
an :class:`~atlas.errors.AtlasError` becomes a one-line message (or a caret diagram for a
query) and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from atlas.errors import AtlasError, QueryError

#: Modules that add commands, in the order they appear in ``atlas --help``.
COMMAND_MODULES = (
    "atlas.corpus.cli",
    "atlas.extract.cli",
    "atlas.methods.cli",
    "atlas.query.cli",
    "atlas.demo",
)

EPILOG = """\
examples:
  atlas demo                                   build a small atlas of all-MiniLM-L6-v2 and query it
  atlas init --db sqlite:///lab.db             create (or upgrade) an atlas
  atlas corpus add pud en_pud-ud-test.conllu   store a CoNLL-U corpus and its concepts
  atlas extract path/to/model --corpus pud --as minilm
  atlas score --run 1
  atlas query "neurons in minilm layer>3 where selectivity(negation)>0.5 and iou(noun)>0.3"

The database comes from --db or $ATLAS_DB (default sqlite:///atlas.db);
PostgreSQL: --db postgresql+psycopg://user@host:5432/dbname
"""


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in epilogs as written."""


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: $ATLAS_DB or sqlite:///atlas.db)",
    )
    parser.add_argument(
        "--store",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="folder for activation arrays (default: $ATLAS_STORE, or NAME.store/ beside a SQLite NAME.db)",
    )


def open_atlas(args: argparse.Namespace, *, check: bool = True) -> Any:
    """The :class:`~atlas.Atlas` that ``--db``/``--store`` name."""
    from atlas.api import Atlas

    db = Atlas(getattr(args, "db", None), store_root=getattr(args, "store", None))
    if check:
        db.check()
    return db


def _cmd_init(args: argparse.Namespace) -> int:
    db = open_atlas(args, check=False)
    rev = db.init()
    print(f"atlas ready at {db.engine.url.render_as_string(hide_password=True)} (schema revision {rev})")
    print(f"activation store: {db.store.root}")
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from atlas.store import migrate

    db = open_atlas(args, check=False)
    if args.action != "upgrade":
        migrate.require_existing(db.engine)
    if args.action == "current":
        rev = migrate.current_revision(db.engine)
        head = migrate.head_revision(db.engine)
        state = "up to date" if rev == head else f"newest is {head}"
        print(f"{rev or '(empty database)'} ({state})")
    elif args.action == "upgrade":
        migrate.upgrade(db.engine, args.revision or "head")
        print(f"upgraded to {migrate.current_revision(db.engine)}")
    else:
        migrate.downgrade(db.engine, args.revision or "-1")
        print(f"downgraded to {migrate.current_revision(db.engine) or 'base (empty)'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas",
        description="Neuron Atlas: which neurons of which model encode what, as a database you can query.",
        epilog=EPILOG,
        formatter_class=Formatter,
    )
    from atlas import __version__

    parser.add_argument("--version", action="version", version=f"neuron-atlas {__version__}")
    add_db_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
        epilog="examples:\n  atlas db current\n  atlas db upgrade\n  atlas db downgrade base",
        formatter_class=Formatter,
    )
    p.add_argument("action", choices=["current", "upgrade", "downgrade"])
    p.add_argument("revision", nargs="?", help="target revision (upgrade: head; downgrade: -1, or base)")
    add_db_option(p)
    p.set_defaults(func=_cmd_db)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not (name == exc.name or name.startswith(exc.name + ".")):
                raise  # a missing dependency inside the module, not a missing module
            continue
        module.register(sub)
    return parser


def render_error(exc: AtlasError) -> str:
    """The text the CLI prints for an error: a caret diagram for queries, else one line."""
    if isinstance(exc, QueryError):
        from atlas.query.errors import render

        return render(exc)
    return f"error: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except AtlasError as exc:
        print(render_error(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; what was committed is kept, run the command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
