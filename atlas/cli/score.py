"""``atlas score``, ``atlas agreement`` and ``atlas method list``: thin shells over the facade's
``score``, ``compute_agreement`` and ``list_methods``."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, add_quiet_option, given, library_option, open_atlas
from atlas.cli._table import render_table
from atlas.errors import MethodError

SCORE_EPILOG = """\
examples:
  atlas score --run 1
  atlas score --run minilm --methods iou,selectivity --concepts noun,negation
  atlas score --run 1 --methods probe,control_selectivity
  atlas score --run 1 --methods iou --param iou.alpha=0.01 --min-count 10
  atlas score --run 1 --device cuda          # matrix products and AP sorts on the GPU (torch)

Re-running replaces that (run, method, parameters) score set in one transaction.
Default methods: the corpus-based ones; probes are opt-in (see: atlas method list).
At the end, the agreement of the methods and their NeuronVote are stored for every
concept scored by two methods or more (as atlas agreement; --no-agreement skips it).
"""

AGREEMENT_EPILOG = """\
examples:
  atlas agreement --run minilm
  atlas agreement --run 1 --top 10,100 --methods ap,iou,probe --concepts noun,negation
  atlas query "agreement of ap, iou, probe on noun in minilm"
  atlas query "neurons in minilm where vote(noun) >= 3 order by vote_rank(noun) limit 10"

For each concept and site (mlp, resid), each pair of methods gets the Jaccard index of their
top-n units and the Spearman correlation of their scores (table 'agreement'); the NeuronVote
is stored as the score sets vote (how many methods put the unit in their top-n) and
vote_rank (1 = first: by votes, ties by mean rank). Re-running replaces them.
"""


def register(subparsers: Any) -> None:
    """Add ``score`` and ``method`` to the ``atlas`` command line."""
    p = subparsers.add_parser(
        "score",
        help="score a run's neurons against its corpus's concepts",
        description="Score every neuron of an extraction run against every concept of its corpus "
        "and store the scores the query language filters on.",
        epilog=SCORE_EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("--run", required=True, help="run id, or model short name (its latest done run)")
    library_option(p, "--methods", help="comma-separated method names (default: corpus methods; 'all' adds probes)")
    library_option(p, "--concepts", help="comma-separated concept names (default: all with --min-count words)")
    p.add_argument("--param", action="append", metavar="METHOD.PARAM=VALUE", help="a method parameter (repeatable)")
    library_option(p, "--min-count", type=int, metavar="N", default_from=("score", "min_count"),
                   help="skip concepts with fewer words (default: {default})")
    library_option(p, "--device", metavar="DEVICE",
                   help="cuda: the matrix products and AP sorts on the GPU with torch (default: numpy on the CPU)")
    add_quiet_option(p, "-q", "--quiet", help="no progress bar")
    p.add_argument("--no-agreement", dest="agreement", action="store_false",
                   help="do not store the methods' agreement and NeuronVote at the end")
    add_db_option(p)
    p.set_defaults(func=_cmd_score)

    p = subparsers.add_parser(
        "agreement",
        help="store how far the scoring methods agree (Jaccard, Spearman, NeuronVote)",
        description="Compute, from a run's stored score sets, how far each pair of methods agrees on each "
        "concept (top-n Jaccard, Spearman), and the NeuronVote over the methods; store both.",
        epilog=AGREEMENT_EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("--run", required=True, help="run id, or model short name (its latest done run)")
    library_option(p, "--top", metavar="N[,N...]", default_from=("agreement", "top"),
                   help="top-n sizes, comma-separated (default: {default})")
    library_option(p, "--methods", help="comma-separated method names that vote (default: every scored method)")
    library_option(p, "--concepts", help="comma-separated concept names (default: every concept two methods scored)")
    add_db_option(p)
    p.set_defaults(func=_cmd_agreement)

    p = subparsers.add_parser(
        "method",
        help="the scoring methods: list",
        description="The registered scoring methods, their value ranges, defaults and versions.",
        epilog="examples:\n  atlas method list",
        formatter_class=Formatter,
    )
    msub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = msub.add_parser(
        "list",
        help="list the methods",
        description="Each registered method: family, unit of analysis, value range, direction, "
        "whether 'atlas score' runs it by default, version, parameters and the METHODS.md section it follows.",
        formatter_class=Formatter,
        epilog="examples:\n  atlas method list",
    )
    add_db_option(q)
    q.set_defaults(func=_cmd_method_list)


def parse_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--param METHOD.PARAM=VALUE`` options as ``{method: {param: value}}``.

    >>> parse_params(["iou.alpha=0.01", "iou.x=1"])
    {'iou': {'alpha': '0.01', 'x': '1'}}
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        method, dot, param = key.partition(".")
        if not sep or not dot or not method or not param:
            raise MethodError(f"--param {item!r} is not METHOD.PARAM=VALUE", hint="for example --param iou.alpha=0.01")
        out.setdefault(method, {})[param] = value
    return out


def _cmd_score(args: argparse.Namespace) -> int:
    kwargs = given(args, "methods", "concepts", "min_count", "progress", "device")
    if not args.agreement:
        kwargs["agreement"] = False
    if args.param:
        kwargs["params"] = parse_params(args.param)
    result = open_atlas(args).score(args.run, **kwargs)
    print(f"run {result['run_id']}: {result['n_neurons']} neurons x {result['n_concepts']} concepts")
    for name, info in result["methods"].items():
        print(f"  {name:<20} method {info['method_id']:<4} {info['rows']:>10} scores  "
              f"compute {info['compute_s']:.2f}s  write {info['write_s']:.2f}s")
    if result["skipped_concepts"]:
        from atlas.api import library_defaults

        min_count = kwargs.get("min_count", library_defaults("score")["min_count"])
        print(f"  skipped {len(result['skipped_concepts'])} concepts with fewer than {min_count} words or on every word")
    if "agreement" in result:
        print("  " + _agreement_line(result["agreement"]))
    for name, layers in result.get("probe_results", {}).items():
        for layer, tasks in layers.items():
            for task, res in tasks.items():
                if "accuracy" in res:
                    extra = "  ".join(f"{k} {res[k]:.3f}" for k in ("majority", "top", "random", "bottom", "control_accuracy", "selectivity") if k in res)
                    print(f"  {name} {layer} {task}: accuracy {res['accuracy']:.3f}  {extra}")
    return 0


def _agreement_line(summary: dict[str, Any]) -> str:
    sizes = ", ".join(str(n) for n in summary["top"])
    return (f"agreement: {summary['n_concepts']} concepts, {summary['n_pairs']} rows (top-{sizes}) "
            f"and the NeuronVote stored in {summary['seconds']:.1f}s")


def _cmd_agreement(args: argparse.Namespace) -> int:
    kwargs = given(args, "methods", "concepts")
    if hasattr(args, "top"):
        try:
            kwargs["top"] = [int(v) for v in str(args.top).split(",") if v.strip()]
        except ValueError:
            raise MethodError(f"--top {args.top!r} is not a list of whole numbers", hint="for example --top 10,100") from None
    summary = open_atlas(args).compute_agreement(args.run, **kwargs)
    print(f"run {summary['run_id']}: " + _agreement_line(summary))
    for concept, reason in summary["skipped"].items():
        print(f"  skipped {concept}: {reason}")
    return 0


def _cmd_method_list(args: argparse.Namespace) -> int:
    from atlas.api import list_methods

    methods = list_methods()
    rows = []
    for m in methods:
        lo, hi = m["value_range"]
        rows.append((
            m["name"], m["family"], m["level"],
            f"[{'-inf' if lo is None else format(lo, 'g')}, {'inf' if hi is None else format(hi, 'g')}]",
            "higher=more" if m["higher_is_more"] else "lower=more",
            "default" if m["default"] else "opt-in",
            f"v{m['version']}",
        ))
    print(render_table(rows, ("method", "family", "level", "range", "direction", "run", "version")))
    for m in methods:
        print(f"\n{m['name']}: {m['description']} ({m['reference']})")
        if m["parameters"]:
            print("    parameters: " + ", ".join(f"{k}={v!r}" for k, v in m["parameters"].items()))
    return 0
