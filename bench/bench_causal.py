"""Causal methods on all-MiniLM-L6-v2: the cost per neuron of batched ablation against one
neuron at a time (same run, same sample: the baseline), and the top/random/bottom-k ablation
curves of stored rankings (``ap(noun)``, ``ap(negation)``, ...).

One SQLite atlas in a temporary folder: the corpus (the built-in demo corpus by default, or UD
English PUD with ``--pud``), the extraction of MiniLM (mlp + resid), ``ap``, ``meandiff`` and
``probe`` scores for noun and negation, then

1. ``--one-units`` units of ``mlp.<--layer>`` ablated one at a time (``group=1``: one forward
   pass of the evaluation batch per neuron, the baseline), batched through the whole tiled batch
   (``group=--group``, ``fan_out=False``) and batched with the blocks below the layer run once
   (``fan_out=True``, the default): seconds per neuron, the ratios, and the largest difference
   between the score maps (they must agree); then both batched ways on ``--units`` units of
   every layer, and the estimate for all 9,216 MLP neurons;
2. the curves: for each of ``--rankings``, the top-k, bottom-k and 3 random k of the
   9,216 MLP neurons clamped to zero together, k in ``--k``: the concept probe's accuracy, its
   soft accuracy and the sentence-embedding change (1 - cos);
3. with ``--map all`` (or ``--map 0,3``): every unit of those MLP layers ablated (the per-neuron
   map), then the query ``neurons in minilm where ap(noun) > 0.8 and ablation(noun) > 0.01``
   and others on the map.

    python bench/bench_causal.py                          # demo corpus
    python bench/bench_causal.py --pud --sentences 64     # UD English PUD
    python bench/bench_causal.py --atlas DIR              # reuse DIR/atlas.db (minilm extracted, ap scored)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import atlas  # noqa: E402

PUD = ROOT.parent / "shared" / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"


def per_neuron_costs(db: "atlas.Atlas", cm: object, args: argparse.Namespace) -> None:
    """Seconds per neuron of per-neuron ablation: one neuron per pass (``--one-units`` units of
    ``--layer``), batched through the whole tiled batch (``fan_out=False``) and batched with the
    blocks below the layer run once (``fan_out=True``), on the same sample; then both batched
    ways on ``--units`` units of every layer, and the estimate for all 9,216 MLP neurons."""
    from atlas.causal.ablation import ablate_neurons

    common = dict(concepts=["noun", "negation"], sentences=args.sentences, batch_sentences=args.sentences,
                  write=False, progress=False, model=cm)

    def run(layer: int, units: list[int], group: int, fan_out: bool) -> dict:
        return ablate_neurons(db, "minilm", layers=[layer], units=units, group=group, fan_out=fan_out, **common)

    def diff(a: dict, b: dict, layer: int) -> float:
        return max(float(np.nanmax(np.abs(a["scores"][m][("mlp", layer)] - b["scores"][m][("mlp", layer)])))
                   for m in a["scores"])

    few = list(range(args.one_units))
    one = run(args.layer, few, 1, False)
    tiled = run(args.layer, few, args.group, False)
    fanned = run(args.layer, few, args.group, True)
    print(f"\n== per-neuron ablation, mlp.{args.layer}, {len(few)} units, {one['sample']['evaluated']} sentences "
          f"({one['sample']['batch_sentences']} per batch)")
    for label, res in ((f"one at a time (group=1)", one), (f"batched, tiled (group={args.group})", tiled),
                       (f"batched, fanned out (group={args.group})", fanned)):
        print(f"{label:38s} {res['seconds']:8.1f} s   {res['per_neuron_s'] * 1000:8.1f} ms/neuron")
    print(f"speed-up over one at a time: tiled {one['seconds'] / tiled['seconds']:.2f}x, "
          f"fanned out {one['seconds'] / fanned['seconds']:.2f}x; largest score difference: "
          f"{max(diff(one, tiled, args.layer), diff(one, fanned, args.layer)):.2e}")
    units = list(range(args.units))
    print(f"\n== batched, {args.units} units of every layer (group={args.group}): ms/neuron")
    print(f"{'layer':>5} {'tiled':>9} {'fanned':>9} {'ratio':>6} {'max diff':>9}")
    totals = [0.0, 0.0]
    for layer in range(6):
        t, f = run(layer, units, args.group, False), run(layer, units, args.group, True)
        totals[0] += t["per_neuron_s"]
        totals[1] += f["per_neuron_s"]
        print(f"{layer:5d} {t['per_neuron_s'] * 1000:9.1f} {f['per_neuron_s'] * 1000:9.1f} "
              f"{t['seconds'] / f['seconds']:6.2f} {diff(t, f, layer):9.1e}")
    print(f"all 9,216 MLP neurons ({args.sentences} sentences): tiled {totals[0] * 1536 / 60:.1f} min, "
          f"fanned out {totals[1] * 1536 / 60:.1f} min ({totals[0] / totals[1]:.2f}x)")


def group_sweep(db: "atlas.Atlas", cm: object, args: argparse.Namespace) -> None:
    """ms per neuron against the group size (fanned out), ``--units`` units of layers 1 and 3."""
    from atlas.causal.ablation import ablate_neurons

    print(f"\n== group size (fanned out), {args.units} units, {args.sentences} sentences, same sample: ms/neuron")
    for layer in (1, 3):
        for g in [int(x) for x in args.groups.split(",")]:
            r = ablate_neurons(db, "minilm", layers=[layer], units=list(range(args.units)), group=g,
                               concepts=["noun", "negation"], sentences=args.sentences, batch_sentences=args.sentences,
                               write=False, progress=False, model=cm)
            print(f"layer {layer} group {g:2d}: {r['per_neuron_s'] * 1000:6.1f} ms/neuron", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pud", action="store_true", help="UD English PUD instead of the demo corpus")
    ap.add_argument("--layer", type=int, default=3)
    ap.add_argument("--units", type=int, default=32, help="units per layer of the batched costs")
    ap.add_argument("--one-units", type=int, default=8, help="units of --layer ablated one at a time (the baseline)")
    ap.add_argument("--group", type=int, default=32)
    ap.add_argument("--sentences", type=int, default=32, help="evaluation sentences of the per-neuron part (one batch)")
    ap.add_argument("--curve-sentences", type=int, default=64)
    ap.add_argument("--k", default="10,50,200")
    ap.add_argument("--rankings", default="ap(noun);ap(negation)", help="curves of these stored rankings (;-separated)")
    ap.add_argument("--groups", default=None, help="also sweep these group sizes (1,4,32)")
    ap.add_argument("--no-costs", action="store_true", help="skip the per-neuron costs (part 1)")
    ap.add_argument("--map", default=None, help="per-neuron map of these mlp layers (all, or 0,3)")
    ap.add_argument("--atlas", type=Path, default=None, help="a folder holding atlas.db and store/ from an earlier run")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, shared with other jobs (loaded); torch threads: ", end="")
    import torch

    print(torch.get_num_threads())
    with tempfile.TemporaryDirectory(prefix="bench-causal-") as tmp_dir:
        tmp = args.atlas or Path(tmp_dir)
        db = atlas.connect(f"sqlite:///{tmp}/atlas.db", store_root=Path(tmp) / "store")
        db.init()
        t0 = time.perf_counter()
        if args.atlas is not None:
            corpus = db.run("minilm")["corpus"]
        elif args.pud:
            db.add_corpus("pud", PUD, progress=False)
            corpus = "pud"
        else:
            db.add_corpus("demo", builtin="demo", progress=False)
            corpus = "demo"
        if args.atlas is None:
            db.extract("builtin:all-minilm-l6-v2", corpus=corpus, name="minilm", progress=False)
            db.score("minilm", methods="ap,meandiff,probe", concepts="noun,negation", progress=False)
        print(f"corpus {corpus}, extraction + ap scores: {time.perf_counter() - t0:.0f} s")
        from atlas.causal.ablation import ablate_neurons
        from atlas.causal.model import model_for_run
        from atlas.store.runs import find_run

        cm = model_for_run(db, find_run(db, "minilm"))
        if not args.no_costs:
            per_neuron_costs(db, cm, args)
        if args.groups:
            group_sweep(db, cm, args)
        for ranking in [r.strip() for r in args.rankings.split(";") if r.strip()]:
            t1 = time.perf_counter()
            frame = db.ablate("minilm", ranking=ranking, k=args.k, sentences=args.curve_sentences, model=cm)
            wide = frame[frame["metric"].isin(["accuracy", "soft_accuracy", "embedding"])].pivot_table(
                index=["metric", "k"], columns="selection", values="value", sort=False)
            print(f"\n== curve {ranking}: {frame.attrs['params']['evaluated']} sentences, "
                  f"{time.perf_counter() - t1:.0f} s (value: mean over draws for random)")
            print(wide.to_string(float_format=lambda x: f"{x:.4f}"))
        if args.map is not None:
            layers = list(range(6)) if args.map == "all" else [int(x) for x in args.map.split(",")]
            t1 = time.perf_counter()
            res = db.ablate_neurons("minilm", concepts=["noun", "negation"], layers=layers, sentences=args.sentences,
                                    batch_sentences=args.sentences, group=args.group, model=cm, progress=True)
            took = time.perf_counter() - t1
            print(f"\n== per-neuron map of mlp.{args.map}: {res['n_neurons']} neurons in {took:.0f} s "
                  f"({took / res['n_neurons'] * 1000:.1f} ms/neuron, {args.sentences} sentences)")
            for q in ("neurons in minilm where ap(noun) > 0.8 and ablation(noun) > 0.01 order by ablation(noun) desc limit 10",
                      "neurons in minilm where ap(negation) > 0.8 and ablation(negation) > 0.01 order by ablation(negation) desc limit 10",
                      "max ablation(negation) in minilm by layer",
                      "max ablation_embedding(noun) in minilm by layer",
                      "neurons in minilm order by ablation_embedding(noun) desc limit 5"):
                print(f"$ atlas query \"{q}\"")
                print(db.query(q).to_string())
        db.close()


if __name__ == "__main__":
    main()
