"""Query latency on a synthetic atlas, against loading the score table into pandas.

Builds the fixture atlas (``tests/query/fixture_atlas.py``) at benchmark size on SQLite and/or
PostgreSQL: models ``bert`` (12 layers) and ``gpt2`` (6 layers), NEURONS units in all, CONCEPTS
concepts × 5 methods of scores (values skewed low, Beta(1, 4), as real scores are). Then times
the user's example and three other queries (median of REPEAT runs, warm), and a baseline that
loads the score and neuron tables into pandas and answers the example there. Prints sizes,
medians and ratios (baseline / query).

    python bench/bench_query.py --quick                  # seconds: 3,000 neurons × 20 concepts
    python bench/bench_query.py                          # 20,000 neurons × 50 concepts (5 M scores)
    python bench/bench_query.py --neurons 100000 --concepts 100 --backend postgresql --baseline-repeat 1
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "query"))
sys.path.insert(0, str(ROOT / "bench"))

import atlas  # noqa: E402
from atlas.query.api import run_query  # noqa: E402
from _common import fresh_atlas  # noqa: E402
from fixture_atlas import build_fixture_atlas  # noqa: E402

EXAMPLE = "neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3"
QUERIES = {
    "user example": EXAMPLE,
    "top-20 order by": "neurons in bert where ap(past_tense) > 0.8 order by ap(past_tense) desc limit 20",
    "count by layer": "count neurons in bert, gpt2 where selectivity(negation) > 0.5 and iou(noun) > 0.3 by layer",
    "two models, not": "neurons in bert, gpt2 depth>=0.5 where probe(upos:NOUN) > 0.9 and not iou(plural) > 0.2 limit 50",
}


def _load_scores(conn: object) -> pd.DataFrame:
    """The whole score table as a DataFrame. PostgreSQL: ``COPY ... TO STDOUT`` into
    ``read_csv`` (typed columns; ``read_sql`` of 50 M rows needs more than this machine's 24 GB),
    SQLite: ``read_sql``."""
    sql = "SELECT run_id, method_id, concept_id, neuron_id, value FROM score"
    if conn.dialect.name != "postgresql":  # type: ignore[attr-defined]
        return pd.read_sql(text(sql), conn)
    buf = io.BytesIO()
    raw = conn.connection.driver_connection  # type: ignore[attr-defined]
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for chunk in copy:
            buf.write(chunk)
    buf.seek(0)
    return pd.read_csv(buf, names=["run_id", "method_id", "concept_id", "neuron_id", "value"],
                       dtype={"run_id": "int32", "method_id": "int32", "concept_id": "int32", "neuron_id": "int32",
                              "value": "float64"})


def _baseline(db: atlas.Atlas, data: object) -> pd.DataFrame:
    """Load score + neuron + model into pandas and answer the user's example there."""
    with db.engine.connect() as conn:
        scores = _load_scores(conn)
        neurons = pd.read_sql(text("SELECT id, model_id, site, layer, unit FROM neuron"), conn)
        models = pd.read_sql(text("SELECT id, name FROM model"), conn)
    cid = data.concept_ids  # type: ignore[attr-defined]
    mid = data.method_ids  # type: ignore[attr-defined]
    run = data.runs["bert"]  # type: ignore[attr-defined]
    bert = int(models.loc[models.name == "bert", "id"].iloc[0])
    n = neurons[(neurons.model_id == bert) & (neurons.site == "mlp") & (neurons.layer > 8)]
    s = scores[scores.run_id == run]
    sel = s[(s.method_id == mid["selectivity"]) & (s.concept_id == cid["negation"]) & (s.value > 0.5)]
    iou = s[(s.method_id == mid["iou"]) & (s.concept_id == cid["noun"]) & (s.value > 0.3)]
    out = n.merge(sel[["neuron_id", "value"]], left_on="id", right_on="neuron_id").merge(
        iou[["neuron_id", "value"]], left_on="id", right_on="neuron_id", suffixes=("_sel", "_iou")
    )
    return out.sort_values(["layer", "unit"]).head(100)


def _median(fn: object, repeat: int) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def bench(backend: str, *, neurons: int, concepts: int, repeat: int, baseline_repeat: int) -> None:
    width = max(2, round(neurons / 18))  # 18 layers in all (bert 12 + gpt2 6)
    mlp, resid = width - width // 5, width // 5
    n_extra = max(0, concepts - 9)
    with fresh_atlas(backend, "atlas_bench_query") as db:
        t = time.perf_counter()
        data = build_fixture_atlas(
            db, models=(("bert", 12), ("gpt2", 6)), mlp_width=mlp, resid_width=resid, n_extra_concepts=n_extra,
            distribution="beta", missing=0.0, traps=False, causal=False, progress=True,  # 5 methods, as before
        )
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        build_s = time.perf_counter() - t
        n_neurons = len(data.neurons)
        print(f"\n[{backend}] atlas: {n_neurons:,} neurons × {9 + n_extra} concepts × 5 methods = "
              f"{data.n_score_rows:,} score rows (built in {build_s:.0f} s)")
        # the queries first: their latencies are printed even if the baseline runs out of memory
        timed = {}
        for label, q in QUERIES.items():
            run_query(db, q)  # warm the cache and the catalog
            timed[label] = _median(lambda q=q: run_query(db, q), repeat)
            med, frame = timed[label]
            print(f"  {label:<18} median {med * 1000:9.1f} ms   ({len(frame)} rows)", flush=True)
        if baseline_repeat < 1:
            print("  baseline skipped (--baseline-repeat 0)")
            return
        base_s, base = _median(lambda: _baseline(db, data), baseline_repeat)
        print(f"  baseline (load score table into pandas, filter): median {base_s * 1000:9.1f} ms")
        for label, (med, frame) in timed.items():
            print(f"  {label:<18} {base_s / med:8.1f}× faster than the baseline")
            if label == "user example":
                assert list(frame["unit"]) == list(base["unit"]), "the SQL answer differs from the pandas baseline"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small atlas (3,000 neurons × 20 concepts), seconds")
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--neurons", type=int, default=20_000)
    p.add_argument("--concepts", type=int, default=50)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--baseline-repeat", type=int, default=3, help="runs of the pandas baseline (slow at full size; 0 skips it)")
    args = p.parse_args()
    if args.quick:
        args.neurons, args.concepts, args.repeat = 3_000, 20, 9
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        bench(backend, neurons=args.neurons, concepts=args.concepts, repeat=args.repeat, baseline_repeat=args.baseline_repeat)


if __name__ == "__main__":
    main()
