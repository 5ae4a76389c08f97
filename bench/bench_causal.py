"""Causal methods on all-MiniLM-L6-v2: the cost per neuron of batched ablation against one
neuron at a time (same run, same sample: the baseline), and the top/random/bottom-k ablation
curves of ``ap(noun)`` and ``ap(negation)``.

One SQLite atlas in a temporary folder: the corpus (the built-in demo corpus by default, or UD
English PUD with ``--pud``), the extraction of MiniLM (mlp + resid), ``ap`` scores for noun and
negation, then

1. ``--units`` units of ``mlp.<--layer>`` ablated one at a time (``group=1``: one forward pass of
   the evaluation batch per neuron) and batched (``group=--group``: the batch tiled once per
   neuron, one pass for the group): seconds, seconds per neuron, the ratio, and the largest
   difference between the two score maps (they must agree);
2. the curves: for ``ap(noun)`` and ``ap(negation)``, the top-k, bottom-k and 3 random k of the
   9,216 MLP neurons clamped to zero together, k in ``--k``: the concept probe's accuracy, its
   soft accuracy and the sentence-embedding change (1 - cos);
3. with ``--map-layer L``: every unit of mlp.L ablated (the per-neuron map), then the query
   ``neurons in minilm where ap(noun) > 0.8 and ablation(noun) > 0.01``.

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pud", action="store_true", help="UD English PUD instead of the demo corpus")
    ap.add_argument("--layer", type=int, default=3)
    ap.add_argument("--units", type=int, default=32)
    ap.add_argument("--group", type=int, default=32)
    ap.add_argument("--sentences", type=int, default=32, help="evaluation sentences of the per-neuron part (one batch)")
    ap.add_argument("--curve-sentences", type=int, default=64)
    ap.add_argument("--k", default="10,50,200")
    ap.add_argument("--map-layer", type=int, default=None)
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
            db.score("minilm", methods="ap", concepts="noun,negation", progress=False)
        print(f"corpus {corpus}, extraction + ap scores: {time.perf_counter() - t0:.0f} s")
        from atlas.causal.ablation import ablate_neurons
        from atlas.causal.model import model_for_run
        from atlas.store.runs import find_run

        cm = model_for_run(db, find_run(db, "minilm"))
        units = list(range(args.units))
        common = dict(concepts=["noun", "negation"], layers=[args.layer], units=units, sentences=args.sentences,
                      batch_sentences=args.sentences,
                      write=False, progress=False, model=cm)
        one = ablate_neurons(db, "minilm", group=1, **common)
        many = ablate_neurons(db, "minilm", group=args.group, **common)
        diff = max(float(np.nanmax(np.abs(one["scores"][m][("mlp", args.layer)] - many["scores"][m][("mlp", args.layer)])))
                   for m in one["scores"])
        print(f"\n== per-neuron ablation, mlp.{args.layer}, {len(units)} units, {one['sample']['evaluated']} sentences "
              f"({one['sample']['batch_sentences']} per batch)")
        print(f"one at a time (group=1):     {one['seconds']:8.1f} s   {one['per_neuron_s'] * 1000:8.1f} ms/neuron")
        print(f"batched (group={args.group}):        {many['seconds']:8.1f} s   {many['per_neuron_s'] * 1000:8.1f} ms/neuron")
        print(f"speed-up: {one['seconds'] / many['seconds']:.2f}x   largest score difference: {diff:.2e}")
        print(f"estimate for all 9,216 MLP neurons, batched: {many['per_neuron_s'] * 9216 / 60:.1f} min")
        for concept in ("noun", "negation"):
            t1 = time.perf_counter()
            frame = db.ablate("minilm", ranking=f"ap({concept})", k=args.k, sentences=args.curve_sentences, model=cm)
            wide = frame[frame["metric"].isin(["accuracy", "soft_accuracy", "embedding"])].pivot_table(
                index=["metric", "k"], columns="selection", values="value", sort=False)
            print(f"\n== curve ap({concept}): {frame.attrs['params']['evaluated']} sentences, "
                  f"{time.perf_counter() - t1:.0f} s (value: mean over draws for random)")
            print(wide.to_string(float_format=lambda x: f"{x:.4f}"))
        if args.map_layer is not None:
            t1 = time.perf_counter()
            res = db.ablate_neurons("minilm", concepts=["noun", "negation"], layers=[args.map_layer], sentences=32,
                                    batch_sentences=32,
                                    model=cm, progress=False)
            print(f"\n== per-neuron map of mlp.{args.map_layer}: {res['n_neurons']} neurons in {time.perf_counter() - t1:.0f} s")
            q = "neurons in minilm where ap(noun) > 0.8 and ablation(noun) > 0.01 order by ablation(noun) desc limit 10"
            print(f"$ atlas query \"{q}\"")
            print(db.query(q).to_string())
            q = "neurons in minilm layer = 0 order by ablation_embedding(noun) desc limit 5"
            print(f"$ atlas query \"{q}\"")
            print(db.query(q).to_string())
        db.close()


if __name__ == "__main__":
    main()
