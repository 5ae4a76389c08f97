"""``atlas report`` and ``atlas sql``: thin shells over :meth:`atlas.api.Atlas.report` and
:meth:`atlas.api.Atlas.sql`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atlas.cli._common import Formatter, add_db_option, given, library_option, open_atlas

SQL_EPILOG = """\
examples:
  atlas sql "SELECT * FROM detector_threshold"
  atlas sql "SELECT layer, n_detectors, n_units FROM layer_detector_counts WHERE model = 'minilm' AND method = 'ap' AND site = 'mlp'"
  atlas sql "SELECT neuron, value FROM neuron_score WHERE concept = 'negation' AND method = 'selectivity' ORDER BY value DESC LIMIT 5"
  atlas sql "SELECT layer, task, metric, value FROM probe_curve WHERE model = 'minilm'" --format csv

Read-only: a statement that writes is refused. The views are documented in schema/sqlite.sql
and schema/postgresql.sql (the same SQL on both backends).
"""

REPORT_EPILOG = """\
examples:
  atlas report --out report/
  atlas report --model minilm --concept negation --concept noun --out report/
  atlas report --run 1 --neuron minilm/mlp.0/829 --top 3 --out /tmp/report

Open report/index.html in a browser: no network, no server needed.
"""

#: Output formats of ``atlas sql`` (as ``atlas query``'s, without parquet).
SQL_FORMATS = ("table", "csv", "json")


def register(sub: Any) -> None:
    """Add ``report`` and ``sql`` to the ``atlas`` command line."""
    p = sub.add_parser(
        "report",
        help="write a static HTML report (overview, concept pages, neuron cards, comparison)",
        description=(
            "Write a self-contained HTML report of the atlas into DIR: an overview per model, a page per\n"
            "concept, a card per neuron it mentions and a comparison across models, each table and figure\n"
            "with the SQL or query it came from."
        ),
        epilog=REPORT_EPILOG,
        formatter_class=Formatter,
    )
    which = p.add_mutually_exclusive_group()
    library_option(which, "--run", dest="runs", action="append", metavar="RUN", help="report on this run (repeatable)")
    library_option(which, "--model", dest="models", action="append", metavar="MODEL", help="report on this model (repeatable)")
    library_option(p, "--concept", dest="concepts", action="append", metavar="CONCEPT",
                   help="a concept page for this concept (repeatable; default: a handful of the best scored)")
    library_option(p, "--neuron", dest="neurons", action="append", metavar="NEURON",
                   help="also a card for this neuron, e.g. minilm/mlp.0/829 (repeatable)")
    library_option(p, "--top", type=int, metavar="N", default_from=("report", "top"),
                   help="units per method in a concept's top-units table, each with its card (default: {default})")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the report into (created)")
    add_db_option(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "sql",
        help="run read-only SQL on the atlas's tables and named views",
        description="Run one read-only SQL statement (SQLite or PostgreSQL) and print its rows as atlas query does.",
        epilog=SQL_EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("text", metavar="SQL", help="one SELECT statement (quote it)")
    p.add_argument("--format", choices=SQL_FORMATS, default=SQL_FORMATS[0], help=f"output format (default: {SQL_FORMATS[0]})")
    p.add_argument("--output", "-o", metavar="FILE", help="write the rows to FILE instead of the terminal")
    library_option(p, "--limit", type=int, metavar="N", default_from=("sql", "limit"), help="rows to return (default: {default})")
    library_option(p, "--timeout", dest="timeout_s", type=float, metavar="S", default_from=("sql", "timeout_s"),
                   help="stop the statement after S seconds (default: {default})")
    add_db_option(p)
    p.set_defaults(func=_cmd_sql)


def _cmd_sql(args: argparse.Namespace) -> int:
    from atlas.cli.query import write_frame

    db = open_atlas(args)
    frame = db.sql(args.text, **given(args, "limit", "timeout_s"))
    write_frame(frame, args.format, args.output)
    if args.format == "table" and not args.output:
        print(f"({len(frame)} row{'s' * (len(frame) != 1)})", file=sys.stderr)
    for warning in frame.attrs.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    db = open_atlas(args)
    summary = db.report(args.out, **given(args, "runs", "models", "concepts", "neurons", "top"))
    print(f"wrote {summary['pages']} pages in {summary['seconds']:.1f} s: {summary['index']}")
    return 0
