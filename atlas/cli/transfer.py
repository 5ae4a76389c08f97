"""``atlas export`` and ``atlas import``: a model's or a run's part of an atlas as files, and back
into another atlas (SQLite or PostgreSQL); thin shells over :meth:`atlas.api.Atlas.export` and
:meth:`~atlas.api.Atlas.import_export`."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, open_atlas

EPILOG = """\
examples:
  atlas export --model minilm --out minilm-export/                      Parquet (needs pyarrow)
  atlas export --run 3 --out run3/ --format csv
  atlas export --model minilm --out minilm-export/ --format jsonl --activations
  atlas export --model minilm --out minilm-oai/ --format csv --records openai
  atlas import minilm-export/ --db postgresql+psycopg://host/lab        into another atlas
  atlas export --all --out lab/ --activations && atlas import lab/ --db postgresql+psycopg://host/lab

An export holds the model's catalog, runs, corpora, concepts, methods, score sets (and the
scores in long form, scores.FMT), statistics, top activations, probe results, explanations,
similarities and notes; --activations adds the .npy arrays. An import is one transaction.
"""


def register(sub: Any) -> None:
    """Add ``export`` and ``import`` to the ``atlas`` command line."""
    p = sub.add_parser("export", help="write a model's or a run's part of the atlas to files",
                       description="Export a model (or one run) with everything the atlas holds on it, as Parquet, "
                       "CSV or JSON Lines files plus a manifest.", epilog=EPILOG, formatter_class=Formatter)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="the model's short name")
    which.add_argument("--run", help="a run id")
    which.add_argument("--all", dest="everything", action="store_true", help="the whole atlas (moving it to another backend)")
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    p.add_argument("--format", dest="fmt", choices=("parquet", "csv", "jsonl"), default="parquet")
    p.add_argument("--activations", action="store_true", help="also copy the runs' activation arrays (.npy)")
    p.add_argument("--records", choices=("openai", "neuronpedia"),
                   help="also write a record per neuron: OpenAI automated-interpretability NeuronRecord JSON, or Neuronpedia's")
    add_db_option(p)
    p.set_defaults(func=_cmd_export)
    p = sub.add_parser("import", help="add an export to this atlas",
                       description="Add the folder 'atlas export' wrote to this atlas, in one transaction.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("folder", metavar="DIR")
    add_db_option(p)
    p.set_defaults(func=_cmd_import)


def _cmd_export(args: argparse.Namespace) -> int:
    manifest = open_atlas(args).export(args.out, model=args.model, run=args.run, everything=args.everything,
                                       fmt=args.fmt, activations=args.activations, records=args.records)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    print(f"exported {rows:,} rows of {len(manifest['tables'])} tables and {manifest['scores']['rows']:,} scores "
          f"to {args.out}" + (f" with {len(manifest['activations'])} activation files" if args.activations else ""))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    counts = open_atlas(args).import_export(args.folder)
    print(f"imported {sum(counts.values()):,} rows from {args.folder}")
    return 0
