"""``atlas explain``: a thin shell over the facade's ``explain_neurons`` (compositional explanations)."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, add_quiet_option, given, library_option, open_atlas

EXPLAIN_EPILOG = """\
examples:
  atlas explain --run minilm
  atlas explain --run minilm --layers 3 --sites mlp --units 318,1265
  atlas explain --run 1 --length 3 --beam 10 --metric iou --mask alpha=0.005
  atlas explain --run 1 --mask fires --atoms upos,feat,word
  atlas explain --run 1 --layers 0 --units 0,1,2 --exact   # provably best formulas of up to 3 concepts

Stores each neuron's best formula of at most 1, 2, ..., LENGTH atoms (table explanation).
Ask them with: atlas query "explain minilm/mlp.3/318"
               atlas query "neurons in minilm where explanation iou > 0.2"
A killed job resumes: finished layers are kept and skipped (--force recomputes them).
"""


def register(subparsers: Any) -> None:
    """Add ``explain`` to the ``atlas`` command line."""
    p = subparsers.add_parser(
        "explain",
        help="search compositional explanations (formulas over concepts) for a run's neurons",
        description="For every selected neuron, search the logical formula over the corpus's concepts "
        "(and, or, and not) whose mask best matches the neuron's mask (Mu & Andreas 2020, compexp's beam "
        "search), and store the best formula of each length.",
        epilog=EXPLAIN_EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("--run", required=True, help="run id, or model short name (its latest done run)")
    library_option(p, "--layers", metavar="L,L", help="layer indices (default: all)")
    library_option(p, "--sites", metavar="SITE,SITE", help="sites, e.g. mlp,resid (default: all)")
    library_option(p, "--units", metavar="U,U", help="units (default: all)")
    library_option(p, "--length", type=int, metavar="N", default_from=("explain_neurons", "length"),
                   help="longest formulas, in concepts (default: {default})")
    library_option(p, "--beam", type=int, metavar="N", default_from=("explain_neurons", "beam"),
                   help="formulas kept per step (default: {default})")
    library_option(p, "--metric", choices=("iou", "precision", "recall"), default_from=("explain_neurons", "metric"),
                   help="how a formula matches the neuron (default: {default})")
    library_option(p, "--mask", metavar="RULE", default_from=("explain_neurons", "mask"),
                   help="the neuron's mask: alpha=A (its top A of words) or fires (activation > 0) (default: {default})")
    library_option(p, "--atoms", metavar="KIND,KIND",
                   help="concept kinds formulas use: upos, xpos, feat, deprel, word, named, user "
                   "(default: upos,feat,deprel,word,named)")
    library_option(p, "--min-count", type=int, metavar="N", default_from=("explain_neurons", "min_count"),
                   help="leave out concepts with fewer words (default: {default})")
    library_option(p, "--exact", action="store_true",
                   help="also the exact search (IoU, length <= 3): provably best formulas; reports how often the beam "
                   "missed. Seconds per neuron: choose --layers/--units")
    library_option(p, "--force", action="store_true", help="recompute layers already stored")
    add_quiet_option(p, "-q", "--quiet", help="no progress bar")
    add_db_option(p)
    p.set_defaults(func=_cmd_explain)


def _cmd_explain(args: argparse.Namespace) -> int:
    kwargs = given(args, "layers", "sites", "units", "length", "beam", "metric", "mask", "atoms", "min_count", "exact",
                   "force", "progress")
    result = open_atlas(args).explain_neurons(args.run, **kwargs)
    p = result["params"]
    print(f"run {result['run_id']}: {result['n_neurons']} neurons, {result['n_atoms']} concepts as atoms, "
          f"{p['search']} search, length {p['length']}, beam {p['beam']}, {p['metric']}, mask {p['mask']}")
    print(f"  {result['rows']} explanations stored; {result['resumed_layers']} layers already stored"
          + (f"; {result['empty_masks']} neurons with an empty mask skipped" if result["empty_masks"] else ""))
    for ell, mean in result["mean_score"].items():
        if mean is not None:
            line = f"  length <= {ell}: mean {p['metric']} {mean:.3f}"
            if "beam_missed" in result:
                gap = result["beam_gap"][ell]
                line += f"; beam missed the best formula for {result['beam_missed'][ell]} neurons (gap mean {gap['mean']:.4f}, max {gap['max']:.4f})"
            print(line)
    return 0
