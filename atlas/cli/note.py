"""``atlas note add|list|remove`` and ``atlas label``: the lab's notes and labels (thin shells over
:meth:`atlas.api.Atlas.add_note`, :meth:`~atlas.api.Atlas.notes` and friends)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atlas.cli._common import Formatter, add_db_option, given, open_atlas
from atlas.cli._table import render_table

NOTE_EPILOG = """\
examples:
  atlas note add minilm/mlp.0/829 "fires on no, not and never, in every position"
  atlas note add minilm/mlp.0/829 "maybe a tokenisation artefact" --private
  atlas note add concept:negation "built from the UD Polarity=Neg feature"
  atlas note add model:minilm "the sentence-transformers checkpoint, mean pooling"
  atlas note list minilm/mlp.0/829
  atlas note list --model minilm --author alice
  atlas note remove 12
  atlas label minilm/mlp.0/829 "negation detector"
  atlas query 'neurons in minilm where label = "negation detector"'
  atlas query "notes of minilm/mlp.0/829"

A target is a neuron id, or concept:NAME, model:NAME, run:ID. The author is the database user
on PostgreSQL, --author or $USER on SQLite. A private note is shown to its author only
(PostgreSQL, after 'atlas kb init'; a SQLite file has no users).
"""


def register(sub: Any) -> None:
    """Add ``note`` and ``label`` to the ``atlas`` command line."""
    p = sub.add_parser("note", help="the lab's notes on neurons, concepts, models and runs: add, list, remove",
                       description="Keep notes on neurons, concepts, models and runs for the lab.",
                       epilog=NOTE_EPILOG, formatter_class=Formatter)
    nsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = nsub.add_parser("add", help="add a note", description="Add a note on a target.", epilog=NOTE_EPILOG,
                        formatter_class=Formatter)
    q.add_argument("target", metavar="TARGET", help="a neuron id, or concept:NAME, model:NAME, run:ID")
    q.add_argument("text", metavar="TEXT")
    _note_options(q)
    q.set_defaults(func=_cmd_add)
    q = nsub.add_parser("list", help="list notes and labels", description="The notes and labels you may read, oldest first.",
                        epilog=NOTE_EPILOG, formatter_class=Formatter)
    q.add_argument("target", metavar="TARGET", nargs="?", help="only the notes on this target")
    q.add_argument("--author", default=argparse.SUPPRESS, help="only this author's")
    q.add_argument("--label", default=argparse.SUPPRESS, help="only this label")
    q.add_argument("--model", default=argparse.SUPPRESS, help="only notes on this model and its neurons")
    q.add_argument("--labels", dest="labels_only", action="store_true", default=argparse.SUPPRESS, help="labels only")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_db_option(q)
    q.set_defaults(func=_cmd_list)
    q = nsub.add_parser("remove", help="remove one of your notes", description="Delete a note or label by id (its author only).",
                        epilog=NOTE_EPILOG, formatter_class=Formatter)
    q.add_argument("note", type=int, metavar="ID")
    add_db_option(q)
    q.set_defaults(func=_cmd_remove)

    p = sub.add_parser("label", help="label a neuron (or a concept, model, run)",
                       description="Give a target a label the lab can query: neurons in M where label = \"...\".",
                       epilog=NOTE_EPILOG, formatter_class=Formatter)
    p.add_argument("target", metavar="TARGET")
    p.add_argument("label", metavar="LABEL")
    p.add_argument("--text", default=argparse.SUPPRESS, help="a note to go with the label")
    _note_options(p)
    p.set_defaults(func=_cmd_label)


def _note_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--private", action="store_true", default=argparse.SUPPRESS, help="visible to you only (PostgreSQL)")
    p.add_argument("--author", default=argparse.SUPPRESS, help="the author on SQLite (default: $USER)")
    add_db_option(p)


def _cmd_add(args: argparse.Namespace) -> int:
    note = open_atlas(args).add_note(args.target, args.text, **given(args, "private", "author"))
    print(f"note {note} added on {args.target}")
    return 0


def _cmd_label(args: argparse.Namespace) -> int:
    note = open_atlas(args).label(args.target, args.label, **given(args, "private", "author", "text"))
    print(f"label {args.label!r} added on {args.target} (note {note})")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    frame = open_atlas(args).notes(**given(args, "target", "author", "label", "model", "labels_only"))
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", indent=2) + "\n")
    else:
        print(render_table(frame, empty="(no notes)"))
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    open_atlas(args).remove_note(args.note)
    print(f"note {args.note} removed")
    return 0
