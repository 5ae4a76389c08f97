"""The ``atlas`` command line: a thin shell over the facade, :mod:`atlas.api`.

One module per command group (:mod:`atlas.cli.db`, :mod:`~atlas.cli.corpus`,
:mod:`~atlas.cli.extract`, :mod:`~atlas.cli.score`, :mod:`~atlas.cli.causal`, :mod:`~atlas.cli.query`,
:mod:`~atlas.cli.report`, :mod:`~atlas.cli.demo` and the others), each with a ``register(subparsers)``; this module holds the global
options and the error boundary: an :class:`~atlas.errors.AtlasError` becomes a one-line
message (or a caret diagram for a query) and exit status 1, never a traceback; Ctrl-C exits 130.

Building the parser imports nothing heavy (no pandas, SQLAlchemy, torch, transformers or
Lark): a command imports the facade when it runs, so ``atlas --help`` returns at once.

>>> build_parser().parse_args(["fmt", "neurons in bert"]).command
'fmt'
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from atlas._version import __version__
from atlas.cli import causal, corpus, db, demo, explain, extract, kb, note, query, report, saved, score, serve, similarity, transfer
from atlas.cli._common import Formatter, add_db_option
from atlas.errors import AtlasError

#: The command groups, in the order they appear in ``atlas --help``.
COMMAND_MODULES = (db, corpus, extract, score, explain, similarity, causal, query, saved, note, report, transfer, kb, serve, demo)

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


def build_parser() -> argparse.ArgumentParser:
    """The ``atlas`` argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="atlas",
        description="Neuron Atlas: which neurons of which model encode what, as a database you can query.",
        epilog=EPILOG,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"neuron-atlas {__version__}")
    add_db_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def render_error(exc: AtlasError) -> str:
    """The text the CLI prints for an error: a caret diagram for queries, else one line."""
    from atlas.api import error_text

    return error_text(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``atlas`` command; returns the exit status (0, 1 for an :class:`AtlasError`, 130 for Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args) or 0)
    except AtlasError as exc:
        print(_permission_line(args, exc) or render_error(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; what was committed is kept, run the command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a lost connection, a full disk, a lock, a permission: one line, not a traceback
        from atlas.store.failures import translate

        err = translate(exc, f"atlas {args.command}")
        if err is None:
            raise  # a bug: the traceback is what a report needs
        print(_permission_line(args, err) or render_error(err), file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _permission_line(args: argparse.Namespace, exc: AtlasError) -> str | None:
    """For a permission error on a shared atlas, the line naming the user's role and who can grant more."""
    from atlas.errors import StorePermissionError

    if not isinstance(exc, StorePermissionError):
        return None
    return kb.denied_line(args)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command as Ctrl-C does: transactions roll back, a run is marked interrupted."""
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
