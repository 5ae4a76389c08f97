"""Cross-model correlation at the size users run: MiniLM against its random-init control and
against a permuted copy of itself, on UD English PUD (or the built-in demo corpus).

In one process, on SQLite:

1. extract ``minilm``, ``minilm-random`` (``--random-init``) and ``minilm-perm`` (every MLP
   block's units permuted: rows of the first MLP matrix and its bias, columns of the second;
   the function is unchanged) over the corpus (mlp + resid, every block);
2. ``atlas correlate minilm minilm-random`` and ``atlas correlate minilm minilm-perm`` end to end
   (every mlp and resid layer pair, top-10 partners, maxcorr, linreg, CKA/SVCCA/PWCCA), with time
   and peak traced memory (tracemalloc: numpy's buffers included);
3. the permuted copy's check: the share of MLP units whose top partner is their permuted self
   with |r| > 0.999, and the smallest maxcorr;
4. against a dense ``np.corrcoef`` baseline in the same run, on the same layer pairs (the six
   ``mlp.L x mlp.L`` pairs of minilm x minilm-random): the blockwise core (cross moments and
   correlations) vs loading both layers as float64 and calling ``np.corrcoef``; time, peak
   memory and the largest difference of the correlations;
5. memory as the corpus grows: one layer pair on the first quarter of the words and on all of
   them, blockwise and dense.

    python bench/bench_correlate.py                       # PUD
    python bench/bench_correlate.py --corpus demo         # the built-in corpus (17,101 words)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PUD = ROOT.parent / "shared" / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"

import atlas  # noqa: E402
from atlas.similarity import core  # noqa: E402


def permuted_copy(dst: Path, seed: int = 7) -> dict[int, np.ndarray]:
    """all-MiniLM-L6-v2 with every block's MLP units permuted (function preserved): the tests'
    :func:`tests.similarity.conftest.permute_bert_mlp`, on the real model."""
    from atlas.extract.models import builtin_model_path
    from tests.similarity.conftest import permute_bert_mlp

    return permute_bert_mlp(Path(builtin_model_path()), dst, seed)


def traced(fn, *args, **kwargs):
    """(result, seconds, peak traced MiB) of one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, dt, peak / 2**20


def layer_file(db, model: str, site: str, layer: int) -> tuple[Path, int]:
    from sqlalchemy import select

    from atlas.store.tables import ActivationFile, Layer, Model, Run

    with db.engine.connect() as conn:
        rel, width = conn.execute(
            select(ActivationFile.path, ActivationFile.width).join(Layer, Layer.id == ActivationFile.layer_id)
            .join(Run, Run.id == ActivationFile.run_id).join(Model, Model.id == Run.model_id)
            .where(Model.name == model, Layer.site == site, Layer.index == layer)
        ).one()
    return db.store.path(rel), int(width)


def streaming_pair(pa: Path, pb: Path, wa: int, wb: int, n: int) -> np.ndarray:
    """The blockwise core on one layer pair: per-unit variances, cross moments, correlations."""
    from atlas.store.activations import npy_header_size, read_rows

    oa, ob = npy_header_size(pa), npy_header_size(pb)
    ra = lambda r0, r1: read_rows(pa, oa, wa, r0, r1)  # noqa: E731
    rb = lambda r0, r1: read_rows(pb, ob, wb, r0, r1)  # noqa: E731
    m = core.cross_moments(ra, rb, n)
    return core.correlation(m, m.self_a(), m.self_b())


def dense_pair(pa: Path, pb: Path, n: int) -> np.ndarray:
    """What one writes without the atlas: load both layers as float64, np.corrcoef."""
    a = np.load(pa, mmap_mode="r")[:n].astype(np.float64)
    b = np.load(pb, mmap_mode="r")[:n].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(a.T, b.T)[: a.shape[1], a.shape[1]:]
    return np.nan_to_num(r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["pud", "demo"], default="pud")
    ap.add_argument("--keep", help="work folder to keep (default: a temporary one); an existing one's extractions are reused")
    ap.add_argument("--sites", default="mlp,resid", help="sites correlated (default mlp,resid)")
    ap.add_argument("--layers", default=None, help="layers correlated, e.g. 0,2,4 (default: all six)")
    ap.add_argument("--growth-only", action="store_true", help="only step 5 (memory as the corpus grows)")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="h4-bench-correlate-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench/bench_correlate.py, load average {os.getloadavg()[0]:.1f} at start, {os.cpu_count()} cores")
    reuse = (work / "bench.db").is_file()
    db = atlas.connect(f"sqlite:///{work / 'bench.db'}", store_root=work / "store")
    db.init()
    perms = permuted_copy(work / "minilm-perm")  # seeded: the same permutation as the stored copy's
    t0 = time.perf_counter()
    if not reuse:
        if args.corpus == "pud":
            db.add_corpus("c", PUD, progress=False)
        else:
            db.add_corpus("c", builtin="demo", progress=False)
        for name, src, extra in (("minilm", "builtin:all-minilm-l6-v2", {}),
                                 ("minilm-random", "builtin:all-minilm-l6-v2", {"random_init": True}),
                                 ("minilm-perm", str(work / "minilm-perm"), {})):
            db.extract(src, corpus="c", name=name if not extra else "minilm", progress=False, **extra)
    n_words = db.run("minilm")["n_words"]
    print(f"corpus {args.corpus}: {n_words:,} words; three extractions {time.perf_counter() - t0:.0f} s"
          f"{' (reused from an earlier run of this script)' if reuse else ''}")
    layers = [int(x) for x in args.layers.split(",")] if args.layers else list(range(6))
    print(f"correlated: sites {args.sites}, layers {','.join(map(str, layers))} of both models")

    for other in ("minilm-random", "minilm-perm") if not args.growth_only else ():
        out, dt, peak = traced(db.correlate, "minilm", other, progress=False, sites=args.sites,
                               layers=args.layers)
        print(f"[job] atlas correlate minilm {other}: {dt:.1f} s, peak traced {peak:.0f} MiB, "
              f"{out['layer_pairs']} layer pairs, {out['n_neurons']:,} neurons, {out['rows']:,} rows stored")

    pa, wa = layer_file(db, "minilm", "mlp", 0)
    n = int(np.load(pa, mmap_mode="r").shape[0])
    if not args.growth_only:
        check_permutation(db, perms, layers)
        dense_against_blockwise(db, layers, n)
    growth(db, n)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    db.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def dense_against_blockwise(db, layers: list[int], n: int) -> None:
    """Step 4: the same layer pairs, blockwise and dense, in this process."""
    t_s = t_d = 0.0
    p_s = p_d = 0.0
    worst = 0.0
    for layer in layers:
        pa, wa = layer_file(db, "minilm", "mlp", layer)
        pb, wb = layer_file(db, "minilm-random", "mlp", layer)
        rs, ts, ps = traced(streaming_pair, pa, pb, wa, wb, n)
        rd, td, pd_ = traced(dense_pair, pa, pb, n)
        t_s, t_d, p_s, p_d = t_s + ts, t_d + td, max(p_s, ps), max(p_d, pd_)
        worst = max(worst, float(np.abs(rs - rd).max()))
    print(f"[pairs] the {len(layers)} mlp.L x mlp.L pairs of minilm x minilm-random, {n:,} words:")
    print(f"   blockwise core   {t_s:7.1f} s   peak {p_s:6.0f} MiB")
    print(f"   dense corrcoef   {t_d:7.1f} s   peak {p_d:6.0f} MiB")
    print(f"   time ratio dense/blockwise {t_d / t_s:.2f}, memory ratio {p_d / p_s:.2f}; largest |r difference| {worst:.2e}")



def growth(db, n: int) -> None:
    """Step 5: one layer pair on growing prefixes of the corpus (blocks of 4,096 words: from
    two whole blocks on, the blockwise peak no longer depends on the number of words)."""
    pa, wa = layer_file(db, "minilm", "mlp", 0)
    pb, wb = layer_file(db, "minilm-random", "mlp", 0)
    print("[growth] one layer pair (mlp.0 x mlp.0), peak traced MiB:")
    for rows in (n // 4, n // 2, 3 * n // 4, n):
        _, ts, ps = traced(streaming_pair, pa, pb, wa, wb, rows)
        _, td, pd_ = traced(dense_pair, pa, pb, rows)
        print(f"   {rows:>7,} words: blockwise {ps:6.0f} MiB ({ts:5.1f} s)   dense {pd_:6.0f} MiB ({td:5.1f} s)")


def check_permutation(db, perms: dict[int, np.ndarray], layers: list[int]) -> None:
    """Share of mlp units whose top partner in minilm-perm is their permuted self."""
    from sqlalchemy import select

    from atlas.store.tables import Correlation, Model, Neuron, NeuronSimilarity, Run, Similarity

    with db.engine.connect() as conn:
        perm_run = conn.execute(select(Run.id).join(Model, Model.id == Run.model_id).where(Model.name == "minilm-perm")).scalar_one()
        cid = conn.execute(select(Correlation.id).where(Correlation.other_run_id == perm_run, Correlation.status == "complete")).scalar_one()
        units = {i: (s, l, u) for i, s, l, u in conn.execute(select(Neuron.id, Neuron.site, Neuron.layer, Neuron.unit))}
        top = conn.execute(select(Similarity.neuron_id, Similarity.other_neuron_id, Similarity.value)
                           .where(Similarity.correlation_id == cid, Similarity.rank == 0, Similarity.run_id != perm_run)).all()
        mc = conn.execute(select(NeuronSimilarity.value).where(NeuronSimilarity.correlation_id == cid,
                                                               NeuronSimilarity.method == "maxcorr")).scalars().all()
    inverse = {layer: np.argsort(p) for layer, p in perms.items() if layer in layers}
    mlp = [(nid, oid, v) for nid, oid, v in top if units[nid][0] == "mlp"]
    found = sum(1 for nid, oid, v in mlp if units[oid][2] == inverse[units[nid][1]][units[nid][2]]
                and units[oid][1] == units[nid][1] and abs(v) > 0.999)
    print(f"[permuted] {found:,} of {len(mlp):,} mlp units have their permuted self as top partner with |r| > 0.999; "
          f"smallest maxcorr over all {len(mc):,} units {min(mc):.6f}")


if __name__ == "__main__":
    main()
