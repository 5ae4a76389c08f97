"""``atlas ablate``, ``atlas attribute`` and ``atlas steer``: thin shells over the facade's
causal methods (:mod:`atlas.causal`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atlas.cli._common import Formatter, add_db_option, add_quiet_option, given, library_option, open_atlas
from atlas.cli._table import render_table
from atlas.errors import MethodError

ABLATE_EPILOG = """\
examples:
  atlas ablate --run minilm --ranking "probe(noun)" --k 10,50,200,1000
  atlas ablate --run minilm --ranking "selectivity(negation)" --k 10,50 --value mean
  atlas ablate --run minilm --neurons --layers 0,1 --concepts noun,negation
  atlas ablate --run minilm --show --plot curves.svg
  atlas query "neurons in minilm where ap(negation) > 0.8 and ablation(negation) > 0.0005"

--ranking: clamp the top-k, bottom-k and random-k neurons of a stored ranking together and store
the curve (the concept probe's accuracy, the sentence-embedding change, the LM losses). Bottom-k
is the ranking's last k (ties in a seeded order): for probe (|W|) the units the concept uses
least; for ap or a signed score the units most against it. Random-k fits every ranking.
--neurons: clamp each neuron alone and store the ablation(c), ablation_loss(c) (LM models) and
ablation_embedding(c) scores the query language reads; the blocks below the clamped layer run
once per batch. One unit rarely moves a probe by more than 0.001 (MiniLM): an empty query says
which condition no neuron meets. --show: print the stored curves.
"""

ATTRIBUTE_EPILOG = """\
examples:
  atlas attribute --run minilm --concepts noun,negation --layers 0
  atlas attribute --run gpt2 --concepts noun --steps 20 --target logprob
  atlas query "neurons in minilm order by attribution(noun) desc limit 10"
"""

STEER_EPILOG = """\
examples:
  atlas steer minilm/mlp.0/829 --set 0 --text "He does not like it ." --compare "He likes it ."
  atlas steer gpt2/mlp.5/12,gpt2/mlp.5/40 --scale 2 --text "The capital of France is"
  atlas steer bert/mlp.9/100 --set 5 --text "The [MASK] barked at the cat ."
"""


def _sample_options(p: argparse.ArgumentParser, op: str) -> None:
    library_option(p, "--sentences", type=int, metavar="N", default_from=(op, "sentences"),
                   help="evaluation sentences, a seeded sample of the run's corpus (default: {default}" + (
                       " for curves, 64 per neuron)" if op == "ablate" else ")"))
    library_option(p, "--probe-sentences", type=int, metavar="N", dest="probe_sentences",
                   default_from=(op, "probe_sentences"), help="sentences the output probes train on (default: {default})")
    library_option(p, "--batch-sentences", type=int, metavar="N", dest="batch_sentences",
                   default_from=(op, "batch_sentences"), help="sentences per forward pass (default: {default})")
    library_option(p, "--seed", type=int, default_from=(op, "seed"), help="the sample's seed (default: {default})")
    library_option(p, "--device", help="cpu or cuda (default: cpu)")


def register(subparsers: Any) -> None:
    """Add ``ablate``, ``attribute`` and ``steer`` to the ``atlas`` command line."""
    p = subparsers.add_parser(
        "ablate", help="clamp neurons and measure what the model loses (curves, per-neuron scores)",
        description="Ablation: clamp neurons (zero, their mean, or a value) during the forward pass and "
        "measure the concept probe's accuracy on the output, the sentence-embedding change and the model's "
        "own loss. Curves of a stored ranking, or causal scores per neuron.",
        epilog=ABLATE_EPILOG, formatter_class=Formatter,
    )
    p.add_argument("--run", required=True, help="run id, or model short name (its latest done run)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--ranking", help='a stored ranking, METHOD(CONCEPT): "ap(noun)", "iou[fires](noun)"')
    mode.add_argument("--neurons", action="store_true", help="ablate every neuron of the chosen layers alone")
    mode.add_argument("--show", action="store_true", help="print the run's stored curves")
    p.add_argument("--plot", metavar="FILE.svg", help="--ranking, --show: also draw the curves into an SVG file")
    library_option(p, "--k", default_from=("ablate", "k"), help="comma-separated neuron counts (default: {default})")
    library_option(p, "--site", default_from=("ablate", "site"), help="site of the ranked neurons (default: {default})")
    library_option(p, "--repeats", type=int, default_from=("ablate", "repeats"), help="random draws per k (default: {default})")
    library_option(p, "--value", default_from=("ablate", "value"), help="zero, mean or a number (default: {default})")
    library_option(p, "--concepts", help="--neurons: comma-separated concepts (default: the named ones with enough words)")
    library_option(p, "--layers", help="--neurons: comma-separated layer indices (default: all)")
    library_option(p, "--sites", help="--neurons: sites (default: mlp)")
    library_option(p, "--group", type=int, default_from=("ablate_neurons", "group"),
                   help="--neurons: neurons per forward pass (default: {default}; 1: one at a time)")
    _sample_options(p, "ablate")
    add_quiet_option(p, "-q", "--quiet", help="no progress bar")
    add_db_option(p)
    p.set_defaults(func=_cmd_ablate)

    p = subparsers.add_parser(
        "attribute", help="integrated-gradients attribution of neurons to concepts",
        description="Integrated gradients (Dai et al. 2022) of each neuron's activation to the target: the gold "
        "words' log-probability for LM models, the concept probe's logit otherwise; stored as attribution(CONCEPT).",
        epilog=ATTRIBUTE_EPILOG, formatter_class=Formatter,
    )
    p.add_argument("--run", required=True, help="run id, or model short name (its latest done run)")
    library_option(p, "--concepts", help="comma-separated concepts (default: the named ones with enough words)")
    library_option(p, "--layers", help="comma-separated layer indices (default: all)")
    library_option(p, "--sites", default_from=("attribute", "sites"), help="sites (default: {default})")
    library_option(p, "--steps", type=int, default_from=("attribute", "steps"), help="integration steps (default: {default})")
    library_option(p, "--target", default_from=("attribute", "target"), help="auto, logprob or probe (default: {default})")
    _sample_options(p, "attribute")
    add_quiet_option(p, "-q", "--quiet", help="no progress bar")
    add_db_option(p)
    p.set_defaults(func=_cmd_attribute)

    p = subparsers.add_parser(
        "steer", help="set or scale neurons on a text and show the output before/after",
        description="Intervene on neurons (set them to a value, or scale them) while the model reads a text: the "
        "top predictions before and after for LM models, the embedding similarity shift for sentence encoders.",
        epilog=STEER_EPILOG, formatter_class=Formatter,
    )
    p.add_argument("neurons", metavar="NEURON[,NEURON...]", help="neuron ids of one model, MODEL/SITE.LAYER/UNIT")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--set", type=float, dest="value", metavar="VALUE", help="set the neurons to VALUE")
    how.add_argument("--scale", type=float, metavar="F", help="multiply the neurons by F")
    p.add_argument("--text", required=True, help="the text the model reads")
    p.add_argument("--compare", action="append", default=[], metavar="TEXT",
                   help="encoders: also show the similarity to TEXT before/after (repeatable)")
    library_option(p, "--top", type=int, default_from=("steer", "top"), help="LM models: predictions shown (default: {default})")
    library_option(p, "--device", help="cpu or cuda (default: cpu)")
    add_db_option(p)
    p.set_defaults(func=_cmd_steer)


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise MethodError(f"--{what} {text!r} is not a comma-separated list of integers", hint=f"for example --{what} 0,1") from None


def curve_table(frame: Any) -> Any:
    """A curve as the terminal shows it: :func:`~atlas.causal.ablation.curve_wide`, four
    decimals, blanks where a selection has no value."""
    import pandas as pd

    from atlas.causal.ablation import curve_wide

    wide = curve_wide(frame)
    return wide if wide.empty else wide.round(4).astype(object).where(lambda f: pd.notna(f), None)


def _plot(frame: Any, title: str, path: str | None) -> None:
    """Draw the curves (a panel per ranking and metric, as the report does) into ``path``."""
    if not path:
        return
    from atlas.report.plots import ablation_curve

    svg = ablation_curve(frame, title)
    if svg is None:
        raise MethodError("no curve to draw", hint="store one first: atlas ablate --run RUN --ranking \"ap(noun)\"")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(svg)
    print(f"wrote {path}")


def _cmd_ablate(args: argparse.Namespace) -> int:
    db = open_atlas(args)
    if args.show:
        frame = db.ablation_curves(args.run)
        if frame.empty:
            print("(no stored curves; make one with --ranking)")
        labels = frame["params"].map(lambda p: ", ".join(f"{k}={v}" for k, v in (p or {}).items()))
        for (run, ranking, params), curve in frame.groupby(["run", "ranking", labels], sort=False):
            print(f"ablation curve of {ranking} in run {run} ({curve['created_at'].iloc[0]:%Y-%m-%d %H:%M}; {params})")
            print(render_table(curve_table(curve), empty="(no rows)", indent="  "))
        if args.plot and not frame.empty:  # the newest curve of each ranking (other samples would mix in)
            newest = frame.assign(_p=labels).sort_values("created_at").groupby("ranking")["_p"].last()
            frame = frame[labels == frame["ranking"].map(newest)]
        _plot(frame, f"run {args.run}", args.plot)
        return 0
    sample = given(args, "sentences", "probe_sentences", "batch_sentences", "seed", "device", "value")
    if args.ranking:
        frame = db.ablate(args.run, ranking=args.ranking, **sample, **given(args, "k", "site", "repeats"))
        print(f"ablation curve of {args.ranking} in run {args.run} (stored; {frame.attrs['params']['evaluated']} sentences; "
              "random: mean of the draws, std beside it)")
        print(render_table(curve_table(frame), empty="(no rows)", indent="  "))
        _plot(frame, f"run {args.run}", args.plot)
        return 0
    if args.plot:
        raise MethodError("--plot draws curves: use it with --ranking or --show", hint="per-neuron scores: atlas report")
    kw = {**sample, **given(args, "concepts", "sites", "group", "progress")}
    if hasattr(args, "layers"):
        kw["layers"] = _ints(args.layers, "layers")
    res = db.ablate_neurons(args.run, **kw)
    print(f"run {res['run_id']}: {res['n_neurons']} neurons ablated one by one in {res['seconds']:.1f} s "
          f"({res['per_neuron_s'] * 1000:.1f} ms per neuron), layers {', '.join(res['layers'])}")
    print(f"  stored {', '.join(f'{m}(c)' for m in res['methods'])} for {len(res['concepts'])} concepts: {', '.join(res['concepts'])}")
    return 0


def _cmd_attribute(args: argparse.Namespace) -> int:
    kw = given(args, "concepts", "sites", "steps", "target", "sentences", "probe_sentences", "batch_sentences", "seed",
               "device", "progress")
    if hasattr(args, "layers"):
        kw["layers"] = _ints(args.layers, "layers")
    res = open_atlas(args).attribute(args.run, **kw)
    print(f"run {res['run_id']}: attribution({', '.join(res['concepts'])}) on {', '.join(res['layers'])}, "
          f"target {res['target']}, {res['params']['steps']} steps, baseline zero, in {res['seconds']:.1f} s")
    rows = [(layer, f"{c['sum_attr']:.4g}", f"{c['delta']:.4g}", f"{c['max_gap']:.3g}") for layer, c in res["completeness"].items()]
    print(render_table(rows, ("layer", "sum of attributions", "F(h) - F(0)", "largest gap per sentence"), indent="  "))
    return 0


def _cmd_steer(args: argparse.Namespace) -> int:
    kw = given(args, "top", "device")
    frame = open_atlas(args).steer(args.neurons, text=args.text, value=args.value, scale=args.scale,
                                   compare=args.compare, **kw)
    how = f"set to {args.value:g}" if args.value is not None else f"scaled by {args.scale:g}"
    print(f"{', '.join(frame.attrs['neurons'])} {how}:")
    print(render_table(frame, empty="(no rows)"))
    for warning in frame.attrs.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    return 0
