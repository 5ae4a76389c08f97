"""``atlas correlate``: a thin shell over the facade's ``correlate`` and ``correlations``."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, add_quiet_option, given, library_option, open_atlas
from atlas.cli._table import render_table
from atlas.errors import MethodError

EPILOG = """\
examples:
  atlas correlate minilm minilm-random
  atlas correlate minilm gpt2 --sites mlp --layers 0-3 --top 20
  atlas correlate --list

Both runs must be over the same corpus (its words are the rows the correlations pair).
Kill it at any moment and run the same command again: it resumes. Then ask:
  atlas query "neurons in minilm where maxcorr(minilm-random) > 0.8"
  atlas query "similar to minilm/mlp.3/318 in gpt2 limit 10"
  atlas query "layers of minilm vs gpt2 by cka"
"""


def register(subparsers: Any) -> None:
    """Add ``correlate`` to the ``atlas`` command line."""
    p = subparsers.add_parser(
        "correlate",
        help="correlate every neuron of one run with every neuron of another (cross-model search)",
        description="Compare two runs over the same corpus unit by unit (Pearson correlation over the "
        "words, computed blockwise in bounded memory) and layer by layer (linear CKA, SVCCA, PWCCA), and "
        "store each neuron's closest partners, its maxcorr and linreg against the other model, and the "
        "layer similarities, for the query language (maxcorr(M), mincorr(*), linreg(M), 'similar to', "
        "'layers of A vs B').",
        epilog=EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("a", nargs="?", help="run id, or model short name (its latest done run)")
    p.add_argument("b", nargs="?", help="the other run (id or model short name)")
    library_option(p, "--sites", help="comma-separated sites (default: mlp,resid, those both runs have)")
    library_option(p, "--layers", help="block indices of both runs, e.g. 0-3 or 1,3 (default: every layer)")
    library_option(p, "--top", dest="top_k", type=int, metavar="K", default_from=("correlate", "top_k"),
                   help="partners stored per neuron (default: {default})")
    p.add_argument("--list", action="store_true", help="list the stored correlations instead")
    add_quiet_option(p, "-q", "--quiet", help="no progress bar")
    add_db_option(p)
    p.set_defaults(func=_cmd_correlate)


def _cmd_correlate(args: argparse.Namespace) -> int:
    db = open_atlas(args)
    if args.list:
        frame = db.correlations()
        print(render_table(frame.itertuples(index=False), tuple(frame.columns), empty="(no correlations: atlas correlate A B)"))
        return 0
    if not args.a or not args.b:
        raise MethodError("atlas correlate needs two runs", hint="for example: atlas correlate minilm minilm-random")
    result = db.correlate(args.a, args.b, **given(args, "sites", "layers", "top_k", "progress"))
    a, b = result["models"]
    resumed = f" ({result['resumed_pairs']} resumed)" if result["resumed_pairs"] else ""
    print(f"correlation {result['correlation_id']}: {a} (run {result['runs'][0]}) x {b} (run {result['runs'][1]}), "
          f"sites {','.join(result['sites'])}: {result['layer_pairs']} layer pairs"
          f"{resumed}, "
          f"{result['n_neurons']:,} neurons, {result['rows']:,} rows, {result['seconds']:.1f} s")
    print(f'ask: atlas query "neurons in {a} where maxcorr({b}) > 0.8"   or   "layers of {a} vs {b} by cka"')
    return 0
