"""``atlas saved add|list|show|remove|load``: the lab's saved, parameterised queries (a thin
shell over :meth:`atlas.api.Atlas.save_query` and friends; ``atlas query --saved NAME`` runs one)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atlas.cli._common import Formatter, add_db_option, given, open_atlas
from atlas.cli._table import render_table

SAVED_EPILOG = """\
examples:
  atlas saved add strong "neurons in \\$model where ap(\\$concept) > \\$t order by ap(\\$concept) desc"
  atlas saved add layers "count neurons in \\$model where ap(\\$concept) > 0.5 by layer" --description "per layer"
  atlas saved list
  atlas saved show strong
  atlas query --saved strong --param model=minilm --param concept=noun --param t=0.5
  atlas saved load queries/            every NAME.nql of the folder, in one transaction
  atlas saved remove strong

A placeholder is $NAME outside quotes. Each value goes in as one token of the language: a
number or a bare name as written, anything else quoted, so a value cannot change the query.
"""


def register(sub: Any) -> None:
    """Add ``saved`` to the ``atlas`` command line."""
    p = sub.add_parser("saved", help="the lab's saved, parameterised queries: add, list, show, remove, load",
                       description="Saved queries with $placeholders, kept in the atlas for the lab.",
                       epilog=SAVED_EPILOG, formatter_class=Formatter)
    ssub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = ssub.add_parser("add", help="save a query", description="Save a query under a name.", epilog=SAVED_EPILOG,
                        formatter_class=Formatter)
    q.add_argument("name", metavar="NAME")
    q.add_argument("text", metavar="QUERY", help="the query, with $placeholders")
    q.add_argument("--description", default=argparse.SUPPRESS)
    q.add_argument("--replace", action="store_true", default=argparse.SUPPRESS, help="overwrite a saved query of that name")
    add_db_option(q)
    q.set_defaults(func=_cmd_add)
    q = ssub.add_parser("list", help="list saved queries", description="The saved queries and their parameters.",
                        epilog=SAVED_EPILOG, formatter_class=Formatter)
    add_db_option(q)
    q.set_defaults(func=_cmd_list)
    q = ssub.add_parser("show", help="print a saved query", description="Print a saved query's text.",
                        epilog=SAVED_EPILOG, formatter_class=Formatter)
    q.add_argument("name", metavar="NAME")
    add_db_option(q)
    q.set_defaults(func=_cmd_show)
    q = ssub.add_parser("remove", help="delete a saved query", description="Delete a saved query.",
                        epilog=SAVED_EPILOG, formatter_class=Formatter)
    q.add_argument("name", metavar="NAME")
    add_db_option(q)
    q.set_defaults(func=_cmd_remove)
    q = ssub.add_parser("load", help="save every NAME.nql of a folder",
                        description="Save every NAME.nql file of a folder as the saved query NAME (replacing those "
                        "of the same names), all in one transaction.", epilog=SAVED_EPILOG, formatter_class=Formatter)
    q.add_argument("folder", metavar="DIR")
    add_db_option(q)
    q.set_defaults(func=_cmd_load)


def _cmd_add(args: argparse.Namespace) -> int:
    out = open_atlas(args).save_query(args.name, args.text, **given(args, "description", "replace"))
    takes = " ".join("$" + p for p in out["parameters"]) or "no parameters"
    print(f"{'replaced' if out['replaced'] else 'saved'} query {out['name']} ({takes})")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    frame = open_atlas(args).saved_queries()
    print(render_table(frame[["name", "parameters", "author", "description", "text"]], empty="(no saved queries)"))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from atlas.kb.saved import saved_text

    sys.stdout.write(saved_text(open_atlas(args), args.name).rstrip("\n") + "\n")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    open_atlas(args).remove_saved(args.name)
    print(f"removed saved query {args.name}")
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    names = open_atlas(args).load_saved(args.folder)
    print(f"saved {len(names)} queries from {args.folder}")
    return 0
