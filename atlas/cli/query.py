"""``atlas query``, ``atlas describe`` and ``atlas fmt``: thin shells over the facade's query methods."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from atlas.cli._common import Formatter, add_db_option, given, library_option, open_atlas
from atlas.cli._table import render_table
from atlas.errors import AtlasError

QUERY_EPILOG = """\
examples:
  atlas query "neurons in minilm layer>3 where selectivity(negation)>0.5 and iou(noun)>0.3"
  atlas query "neurons in minilm where iou(noun and not plural) > 0.25 order by iou(noun) desc limit 10"
  atlas query "count neurons in minilm, minilm-random where ap(past_tense) > 0.6 by layer"
  atlas query "compare minilm, minilm-random where selectivity(negation) > 0.3 by depth"
  atlas query "neurons in minilm where iou[alpha=0.01](noun) > 0.3"
  atlas query "max ap(noun) in minilm where selectivity(negation) > 0.5 by layer"
  atlas query "count neurons in minilm where ap(*) > 0.8 by concept"
  atlas query "probes in minilm where task = upos by layer"
  atlas query "top tokens of minilm/mlp.4/1234 limit 10"
  atlas query "neuron minilm/mlp.0/829"
  atlas query "words of minilm/mlp.0/829 by mean min 5 limit 20"
  atlas query "show concepts like 'upos:%'" --format csv --output concepts.csv
  atlas query "neurons in minilm where iou(noun) > 0.3" --sql
  atlas query 'neurons in minilm where label = "negation detector"'
  atlas query "notes of minilm/mlp.0/829"
  atlas query --saved strong --param model=minilm --param concept=noun --param t=0.5

A missing score is NULL: every comparison on it is false (write 'has m(c)' or 'm(c) is missing').
"""

#: Output formats of ``atlas query`` (a property of the command line, not of the library).
FORMATS = ("table", "csv", "json", "parquet")


def register(sub: Any) -> None:
    """Add ``query``, ``describe`` and ``fmt`` to the ``atlas`` command line."""
    p = sub.add_parser(
        "query",
        help="ask the atlas a question in the query language",
        description="Run a query: neurons, count, compare, max/min/mean/median, probes, top tokens, neuron, words of or show. Prints a table by default.",
        epilog=QUERY_EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("text", metavar="QUERY", nargs="?", help="the query text (quote it)")
    p.add_argument("--saved", metavar="NAME", help="run the saved query NAME instead (see: atlas saved list)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter of the saved query (repeatable); each value goes in as one token")
    p.add_argument("--format", choices=FORMATS, default=FORMATS[0], help=f"output format (default: {FORMATS[0]})")
    p.add_argument("--output", "-o", metavar="FILE", help="write the answer to FILE instead of the terminal")
    p.add_argument("--sql", action="store_true", help="print the SQL the query compiles to (values as parameters) and stop")
    library_option(p, "--inline", action="store_true", help="with --sql: write the values into the SQL, for reading")
    p.add_argument("--explain", action="store_true", help="print the database's query plan and stop")
    library_option(p, "--limit", type=int, metavar="N", help="rows to return (overrides the query's limit; at most 10000)")
    library_option(p, "--timeout", dest="timeout_s", type=float, metavar="S", default_from=("query", "timeout_s"),
                   help="stop a query after S seconds, above 0 and at most 600 (default: {default})")
    add_db_option(p)
    p.set_defaults(func=_cmd_query)

    p = sub.add_parser(
        "describe",
        help="say what a query asks, in English",
        description=("Print one English sentence saying what a query asks (no database needed). For\n"
                     "'neuron NEURON' with an atlas at hand (--db, $ATLAS_DB or ./atlas.db), the neuron's\n"
                     "activation histogram follows, as text."),
        epilog=('examples:\n  atlas describe "neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3"\n'
                '  atlas describe "neuron minilm/mlp.0/829" --db sqlite:///atlas-demo.db'),
        formatter_class=Formatter,
    )
    p.add_argument("text", metavar="QUERY")
    add_db_option(p)
    p.set_defaults(func=_cmd_describe)

    p = sub.add_parser(
        "fmt",
        help="print a query in its canonical form",
        description="Print a query's canonical text (it parses back to the same query; fmt is idempotent).",
        epilog='examples:\n  atlas fmt "NEURONS IN bert layer>8 WHERE iou(noun)>.3"',
        formatter_class=Formatter,
    )
    p.add_argument("text", metavar="QUERY")
    p.set_defaults(func=_cmd_fmt)


#: Headings of the sections of ``neuron NEURON`` in a table.
SECTION_TITLES = {
    "stats": "statistics",
    "concepts": "best concepts by each method",
    "causal": "causal scores (ablation, attribution)",
    "top_words": "top words in context",
    "histogram": "activations",
    "similar": "closest neurons in other models (atlas correlate)",
    "explanations": "explanations",
    "notes": "notes",
}


def text_histogram(frame: Any, width: int = 40, *, log: bool = False) -> str:
    """A histogram section (low, high, count) as text bars, one line per bin (``log``: bar
    lengths on a log scale, log(1 + count), so that a tail of a few words still shows).

    >>> import pandas as pd
    >>> print(text_histogram(pd.DataFrame({"low": [0.0, 0.5], "high": [0.5, 1.0], "count": [1, 2]}), width=4))
      0.000 ..   0.500 | ##    1
      0.500 ..   1.000 | ####  2
    """
    if frame.empty:
        return "(no activations)"
    import math

    scale = (lambda n: math.log1p(n)) if log else (lambda n: float(n))
    top = max(scale(int(frame["count"].max())), 1.0)
    lines = []
    for low, high, count in frame[["low", "high", "count"]].itertuples(index=False):
        bar = "#" * int(round(width * scale(int(count)) / top))
        lines.append(f"{low:7.3f} .. {high:7.3f} | {bar:<{width}}  {int(count)}")
    return "\n".join(lines)


def _sections_text(sections: dict[str, Any]) -> str:
    """The sections of a neuron view, each under a heading, as the terminal shows them."""
    parts = []
    for name, title in SECTION_TITLES.items():
        part = sections[name]
        if name == "stats":
            body = render_table(part.T.reset_index().set_axis(["field", "value"], axis=1).astype(str), empty="(none)")
        elif name == "histogram":
            run = part.attrs.get("run")
            title += f" (run {run}, {len(part)} bins)" if run is not None else ""
            body = text_histogram(part)
        else:
            body = render_table(part, empty="(none)")
        parts.append(f"== {title}\n{body}")
    return "\n\n".join(parts)


def write_frame(frame: Any, fmt: str, output: str | None) -> None:
    """Write a query's answer as a table, CSV, JSON or Parquet, to ``output`` or the terminal.
    The answer of ``neuron NEURON`` is its sections: headed tables (a text histogram),
    ``# name`` blocks of CSV, or one JSON object of record lists."""
    sections = frame.attrs.get("sections")
    if sections and fmt != "parquet":
        from atlas.query.views import sections_csv

        if fmt == "csv":
            text = sections_csv(frame)
        elif fmt == "json":
            import json

            text = json.dumps({k: json.loads(v.to_json(orient="records", date_format="iso")) for k, v in sections.items()}, indent=2) + "\n"
        else:
            text = _sections_text(sections) + "\n"
        _emit(text, output)
        return
    if fmt == "parquet":
        if not output:
            raise AtlasError("--format parquet writes a file", hint="add --output FILE.parquet")
        try:
            frame.to_parquet(output, index=False)
        except ImportError as exc:
            raise AtlasError("writing parquet needs pyarrow", hint="pip install 'neuron-atlas[parquet]' (pyarrow), or use --format csv") from exc
        return
    if fmt == "csv":
        text = frame.to_csv(index=False)
    elif fmt == "json":
        text = frame.to_json(orient="records", date_format="iso", indent=2) + "\n"
    else:
        text = render_table(frame, empty="(no rows)") + "\n"
    _emit(text, output)


def _emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


def _cmd_query(args: argparse.Namespace) -> int:
    try:
        return _query(args)
    except KeyboardInterrupt:
        # Leave at once: a normal interpreter exit after Ctrl-C can meet native worker threads
        # (BLAS, Arrow) mid-way and print "terminate called without an active exception".
        # A query writes nothing, so there is nothing to clean up.
        print("interrupted", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def _query(args: argparse.Namespace) -> int:
    from atlas.api import parse_query

    if (args.text is None) == (args.saved is None):
        raise AtlasError("give a query text or --saved NAME (one of them)",
                         hint='atlas query "show models", or atlas query --saved NAME --param KEY=VALUE')
    if args.param and args.saved is None:
        raise AtlasError("--param goes with --saved NAME", hint="write the values into the query text instead")
    if args.saved is None:
        parse_query(args.text)  # syntax errors first: they need no database
    db = open_atlas(args)
    if args.saved is not None:
        args.text = db.saved_query_text(args.saved, parse_params(args.param))
    if args.sql:
        print(db.compile(args.text, **given(args, "inline")))
        return 0
    if args.explain:
        print(db.explain(args.text, **given(args, "timeout_s")))
        return 0
    frame = db.query(args.text, **given(args, "limit", "timeout_s"))
    write_frame(frame, args.format, args.output)
    if args.format == "table" and not args.output:
        print(f"({len(frame)} row{'s' * (len(frame) != 1)})", file=sys.stderr)
        if frame.empty:
            for line in db.why_empty(args.text, **given(args, "timeout_s")):
                print(line, file=sys.stderr)
        if frame.attrs.get("sources"):
            from atlas.api import sources_text

            print("scores read: " + sources_text(frame.attrs["sources"]).replace("\n", "; "), file=sys.stderr)
    for warning in frame.attrs.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def parse_params(items: list[str]) -> dict[str, str]:
    """``["model=minilm", "t=0.5"]`` as a dict; a malformed or repeated one is an error.

    >>> parse_params(["model=minilm", "t=0.5"])
    {'model': 'minilm', 't': '0.5'}
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise AtlasError(f"--param {item!r} is not KEY=VALUE", hint="e.g. --param model=minilm")
        if key.strip() in out:
            raise AtlasError(f"--param {key.strip()} is given twice", hint="give each parameter once")
        out[key.strip()] = value
    return out


def _cmd_describe(args: argparse.Namespace) -> int:
    from atlas.api import describe_query, parse_query

    print(describe_query(args.text))
    statement = parse_query(args.text)
    if type(statement).__name__ == "NeuronView" and _atlas_at_hand(args):
        db = open_atlas(args)
        histogram = db.neuron(str(statement.neuron))["histogram"]  # type: ignore[attr-defined]
        run = histogram.attrs.get("run")
        print(f"\nactivations{f' (run {run}, {len(histogram)} bins' if run is not None else ' ('}; bars on a log scale):")
        print(text_histogram(histogram, log=True))
        for warning in histogram.attrs.get("warnings", []):
            print(f"warning: {warning}", file=sys.stderr)
    return 0


def _atlas_at_hand(args: argparse.Namespace) -> bool:
    """Whether ``describe`` may open an atlas: ``--db`` or ``$ATLAS_DB`` given, or ./atlas.db exists."""
    return bool(getattr(args, "db", None) or os.environ.get("ATLAS_DB") or os.path.exists("atlas.db"))


def _cmd_fmt(args: argparse.Namespace) -> int:
    from atlas.api import format_query

    print(format_query(args.text))
    return 0
