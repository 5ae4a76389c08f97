"""Benchmark: every corpus-based method for all-MiniLM-L6-v2 (mlp + resid) on UD English PUD.

Builds (or reuses) an atlas in ``--workdir``: the PUD corpus (../shared/data/ud-english-pud)
and an extraction run of all-MiniLM-L6-v2, sites mlp and resid. Then, against every concept
with at least 5 words, it times each method over all layers and prints two ratios measured in
the same run:

1. speed-up over a direct reading of each formula that loops over (neuron, concept) pairs
   (scikit-learn's ``average_precision_score`` for AP, numpy boolean arrays for IoU / precision /
   recall / MI, numpy means for selectivity / meandiff / probeless), timed on a slice of pairs
   and scaled to all pairs;
2. for the IoU and selectivity passes (given the per-neuron thresholds and statistics, timed
   separately as "stats"), the ratio to the limit: one float32 matrix product of the same shape,
   ``[neurons × words] · [words × concepts]``.

Usage::

    python bench/bench_methods.py            # all 6 layers x 2 sites (11,520 neurons)
    python bench/bench_methods.py --quick    # last layer only (1,920 neurons), smaller pair slice
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PUD = ROOT.parent / "shared" / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"


def _atlas(workdir: Path, quick: bool):
    import atlas
    from atlas.corpus.ingest import add_corpus
    from atlas.extract.job import extract
    from atlas.extract.models import builtin_model_path
    from sqlalchemy import select

    from atlas.store.tables import Corpus

    workdir.mkdir(parents=True, exist_ok=True)
    db = atlas.connect(f"sqlite:///{workdir / 'bench.db'}", store_root=workdir / "store")
    db.init()
    with db.engine.connect() as conn:
        have = conn.execute(select(Corpus.id).where(Corpus.name == "pud")).first()
    if have is None:
        add_corpus(db, "pud", PUD, license="CC BY-SA 3.0", progress=True)
    layers = [5] if quick else None
    name = "minilm-l5" if quick else "minilm"
    run_id = extract(db, str(builtin_model_path()), corpus="pud", name=name, sites=("mlp", "resid"), layers=layers,
                     progress=True)
    return db, run_id


def _pair_loop(X: np.ndarray, Y: np.ndarray, sent: np.ndarray, neurons: np.ndarray, concepts: np.ndarray) -> dict[str, float]:
    """Seconds per (neuron, concept) pair of the direct formulas."""
    from sklearn.metrics import average_precision_score

    out: dict[str, float] = {}
    pairs = [(int(n), int(c)) for n in neurons for c in concepts]
    Xf = {int(n): X[:, n].astype(np.float64) for n in neurons}
    thr = {n: np.quantile(x, 0.995) for n, x in Xf.items()}
    starts = np.flatnonzero(np.r_[True, sent[1:] != sent[:-1]])

    def timed(name, fn):
        t = time.perf_counter()
        for n, c in pairs:
            fn(n, c)
        out[name] = (time.perf_counter() - t) / len(pairs)

    def iou(n, c):
        m, y = Xf[n] > thr[n], Y[:, c]
        return np.logical_and(m, y).sum() / np.logical_or(m, y).sum()

    def precision(n, c):
        m, y = Xf[n] > thr[n], Y[:, c]
        return np.logical_and(m, y).sum() / max(m.sum(), 1)

    def recall(n, c):
        m, y = Xf[n] > thr[n], Y[:, c]
        return np.logical_and(m, y).sum() / y.sum()

    def mi(n, c):
        m, y = Xf[n] > thr[n], Y[:, c]
        total = 0.0
        for a in (False, True):
            for b in (False, True):
                p = np.mean((m == a) & (y == b))
                if p > 0:
                    total += p * np.log2(p / (np.mean(m == a) * np.mean(y == b)))
        py = y.mean()
        return total / -(py * np.log2(py) + (1 - py) * np.log2(1 - py))

    def selectivity(n, c):
        x, y = Xf[n], Y[:, c]
        return (x[y].mean() - x[~y].mean()) / (x.max() - x.min() + 1e-7)

    def meandiff(n, c):
        x, y = Xf[n], Y[:, c]
        return x[y].mean() - x[~y].mean()

    def probeless(n, c):
        x, y = Xf[n], Y[:, c]
        return abs(x[y].mean() - x[~y].mean())

    def ap(n, c):
        return average_precision_score(Y[:, c], Xf[n])

    pooled = {n: np.maximum.reduceat(x, starts) for n, x in Xf.items()}
    ysent = np.logical_or.reduceat(Y, starts, axis=0)

    def ap_sentence(n, c):
        return average_precision_score(ysent[:, c], pooled[n])

    for name, fn in (("iou", iou), ("precision", precision), ("recall", recall), ("mi", mi),
                     ("selectivity", selectivity), ("meandiff", meandiff), ("probeless", probeless),
                     ("ap", ap), ("ap_sentence", ap_sentence)):
        timed(name, fn)
    return out


#: Closed- and open-class UPOS tags (UD's classification; X, SYM, PUNCT, INTJ left out).
CLOSED = ("ADP", "AUX", "CCONJ", "DET", "NUM", "PART", "PRON", "SCONJ")
OPEN = ("ADJ", "ADV", "NOUN", "PROPN", "VERB")


def _probe_bench(workdir: Path, layers: list[int]) -> int:
    """The default probe (NeuroX elastic net) on UPOS, PUD x MiniLM resid layers: fit time, accuracy,
    Spearman between the neuron rankings of seeds 0 and 1, and the weight-mass neuron count
    (50 %) of closed- vs open-class tags (the survey: closed-class concepts need fewer neurons)."""
    from scipy.stats import spearmanr
    from sqlalchemy import select

    from atlas.corpus import load_concept_matrix
    from atlas.methods import registry
    from atlas.methods.job import _activation_files
    from atlas.store.tables import Run

    db, run_id = _atlas(workdir, False)
    with db.engine.connect() as conn:
        corpus_id = conn.execute(select(Run.corpus_id).where(Run.id == run_id)).scalar_one()
    m = load_concept_matrix(db, corpus_id, min_count=1)
    cols = [i for i, n in enumerate(m.names) if n.startswith("upos:")]
    names = [m.names[i] for i in cols]
    Y = np.ascontiguousarray(m.mask[:, cols])
    sent = np.asarray(m.sentence_index)
    files = {f["index"]: f for f in _activation_files(db, run_id) if f["site"] == "resid"}
    print(f"PUD x all-MiniLM-L6-v2, UPOS ({len(names)} tags, {Y.any(1).sum()} words), probe defaults "
          f"{dict(registry.get('probe').defaults)}")
    for layer in layers:
        X = np.asarray(db.store.open(files[layer]["path"]))
        fits = []
        for seed in (0, 1):
            t = time.perf_counter()
            est = registry.get("probe").make({"seed": seed}).fit(X, Y, names=names, sentence_index=sent)
            fits.append((est, time.perf_counter() - t))
        (a, ta), (b, tb) = fits
        rho = spearmanr(np.nanmean(a.weights_, axis=1), np.nanmean(b.weights_, axis=1)).statistic
        top = len(set(a.ranking_["upos"][:38].tolist()) & set(b.ranking_["upos"][:38].tolist()))
        res = a.results_["upos"]
        print(f"resid.{layer}: fit+evaluate {ta:.1f} s / {tb:.1f} s (seeds 0 / 1); accuracy {res['accuracy']:.3f} "
              f"(majority {res['majority']:.3f}); Spearman(seed 0, seed 1) over {X.shape[1]} neurons = {rho:.3f}; "
              f"top-10% overlap {top}/38; minimal_k {res['minimal_k']}; n_neurons_50 (union) {res['n_neurons_50']}")
        curve = {k: round(v, 3) for k, v in res.items() if k.startswith("acc_at_k=")}
        print(f"  accuracy vs k: {curve}")
        for label, tags in (("closed", CLOSED), ("open", OPEN)):
            counts = {t: (a.results_[f"upos:{t}"]["n_neurons_50"], b.results_[f"upos:{t}"]["n_neurons_50"])
                      for t in tags if f"upos:{t}" in a.results_}
            mean0 = np.mean([c[0] for c in counts.values()])
            mean1 = np.mean([c[1] for c in counts.values()])
            print(f"  {label}-class n_neurons_50 (seed 0, seed 1): {counts}; mean {mean0:.1f} / {mean1:.1f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="last layer only, smaller pair slice")
    parser.add_argument("--workdir", default="/tmp/atlas-bench-methods", help="where the bench atlas lives (reused)")
    parser.add_argument("--probe", action="store_true",
                        help="instead: the UPOS probe's seed stability and closed- vs open-class neuron counts")
    parser.add_argument("--probe-layers", default="5", help="resid layers for --probe (comma-separated)")
    args = parser.parse_args(argv)
    if not PUD.is_file():
        print(f"UD English PUD not found at {PUD}", file=sys.stderr)
        return 1
    if args.probe:
        return _probe_bench(Path(args.workdir), [int(x) for x in args.probe_layers.split(",")])

    from sqlalchemy import select

    from atlas.corpus import load_concept_matrix
    from atlas.methods import registry
    from atlas.methods.job import _activation_files
    from atlas.methods.stats import neuron_stats
    from atlas.store.tables import Run

    DEFAULT_METHODS = [m.name for m in registry.select(default=True)]
    db, run_id = _atlas(Path(args.workdir), args.quick)
    with db.engine.connect() as conn:
        corpus_id = conn.execute(select(Run.corpus_id).where(Run.id == run_id)).scalar_one()
    m = load_concept_matrix(db, corpus_id, min_count=5)
    n_words = m.mask.shape[0]
    keep = m.mask.sum(0) < n_words
    Y = np.ascontiguousarray(m.mask[:, keep])
    names = [n for n, k in zip(m.names, keep) if k]
    sent = np.asarray(m.sentence_index)
    files = _activation_files(db, run_id)
    arrays = [np.asarray(db.store.open(f["path"])) for f in files]  # in memory: time compute, not disk
    n_neurons = sum(a.shape[1] for a in arrays)
    n_concepts = Y.shape[1]
    print(f"run {run_id}: {len(files)} layers, {n_neurons} neurons x {n_concepts} concepts x {n_words} words "
          f"({Y.sum()} concept-word pairs, {len(np.unique(sent))} sentences)")

    # --- our implementation, per method, over all layers ------------------------------------
    times = {"stats": 0.0, **{name: 0.0 for name in DEFAULT_METHODS}, "iou[fires]": 0.0, "iou[size]": 0.0}
    for X in arrays:
        cache: dict = {}
        t = time.perf_counter()
        cache[("neurons", 0.005)] = neuron_stats(X, alpha=0.005)
        times["stats"] += time.perf_counter() - t
        ctx = {"stats": cache, "names": names, "sentence_index": sent}
        # selectivity pass: X^T Y + formula (meandiff and probeless reuse the sums)
        t = time.perf_counter()
        registry.get("selectivity").make().fit(X, Y, **ctx)
        times["selectivity"] += time.perf_counter() - t
        # iou pass: (X > T)^T Y + formula (precision, recall, mi reuse the intersections)
        t = time.perf_counter()
        registry.get("iou").make().fit(X, Y, **ctx)
        times["iou"] += time.perf_counter() - t
        for name in ("precision", "recall", "mi", "meandiff", "probeless", "ap", "ap_sentence"):
            t = time.perf_counter()
            registry.get(name).make().fit(X, Y, **ctx)
            times[name] += time.perf_counter() - t
        # the other masks (not in the default set): their own pass each
        for mask in ("fires", "size"):
            t = time.perf_counter()
            registry.get("iou").make({"mask": mask}).fit(X, Y, **ctx)
            times[f"iou[{mask}]"] += time.perf_counter() - t
        del cache

    # --- the limit: one float32 matmul of the same shape --------------------------------------
    Xt = np.ascontiguousarray(np.concatenate([a.T for a in arrays], axis=0).astype(np.float32))
    Yf = Y.astype(np.float32)
    limit = []
    for _ in range(3):
        t = time.perf_counter()
        Xt @ Yf
        limit.append(time.perf_counter() - t)
    limit_s = min(limit)
    del Xt

    # --- the pair loop on a slice, scaled ---------------------------------------------------
    rng = np.random.default_rng(0)
    X0 = np.concatenate(arrays, axis=1)
    n_slice_neurons, n_slice_concepts = (4, 10) if args.quick else (8, 20)
    neurons = rng.choice(X0.shape[1], n_slice_neurons, replace=False)
    concepts = rng.choice(n_concepts, min(n_slice_concepts, n_concepts), replace=False)
    per_pair = _pair_loop(X0, Y, sent, neurons, concepts)
    n_pairs = n_neurons * n_concepts

    print(f"\nlimit: one float32 matmul [{n_neurons} x {n_words}] . [{n_words} x {n_concepts}]: {limit_s:.3f} s")
    print(f"per-neuron statistics and thresholds (alpha=0.005): {times['stats']:.2f} s\n")
    print(f"{'method':<13}{'ours (s)':>10}{'pair loop (s, scaled)':>24}{'speed-up':>10}{'x limit':>9}")
    for name in DEFAULT_METHODS:
        loop = per_pair[name] * n_pairs
        lim = f"{times[name] / limit_s:8.2f}" if name in ("iou", "selectivity") else f"{'':>8}"
        print(f"{name:<13}{times[name]:>10.2f}{loop:>24.1f}{loop / times[name]:>9.0f}x{lim}")
    total = sum(times.values())
    print(f"\nall corpus methods, all pairs ({n_pairs:,}): {total:.1f} s "
          f"(pair slice: {len(neurons)} neurons x {len(concepts)} concepts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
