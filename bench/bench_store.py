"""Bulk path against the ORM: score rows written per second on SQLite and PostgreSQL.

    python bench/bench_store.py            # 1,000,000 rows through the bulk path, 1,000,000 through the ORM
    python bench/bench_store.py --quick    # 200,000 and 50,000

Goal (issue 2): the bulk path at least 20x the ORM on both backends.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, fresh_atlas  # noqa: E402

import atlas  # noqa: E402
from atlas.store import bulk_insert  # noqa: E402
from atlas.store.tables import Concept, Corpus, Layer, Method, Model, Neuron, Run, Score  # noqa: E402

N_CONCEPTS, N_METHODS = 25, 4


def setup(db: atlas.Atlas, n_neurons: int) -> None:
    with db.write() as conn:
        conn.execute(Model.__table__.insert(), {"id": 1, "name": "bench", "source": "-", "architecture": "X",
                                                "family": "bert", "n_layers": 1, "d_model": n_neurons,
                                                "d_mlp": n_neurons, "random_init": False})
        conn.execute(Layer.__table__.insert(), {"id": 1, "model_id": 1, "index": 0, "site": "mlp",
                                                "width": n_neurons, "hook_point": "-", "activation": "post"})
        bulk_insert(conn, Neuron.__table__, {"id": np.arange(1, n_neurons + 1), "layer_id": np.ones(n_neurons, int),
                                             "model_id": np.ones(n_neurons, int), "site": ["mlp"] * n_neurons,
                                             "layer": np.zeros(n_neurons, int), "unit": np.arange(n_neurons)})
        conn.execute(Corpus.__table__.insert(), {"id": 1, "name": "c", "source": "-", "format": "text",
                                                 "n_sentences": 0, "n_tokens": 0})
        conn.execute(Run.__table__.insert(), {"id": 1, "model_id": 1, "corpus_id": 1, "config_hash": "h",
                                              "config": {}, "status": "done", "store_path": "-"})
        for c in range(1, N_CONCEPTS + 1):
            conn.execute(Concept.__table__.insert(), {"id": c, "name": f"c{c}", "kind": "named", "level": "token",
                                                      "builtin": False})
        for m in range(1, N_METHODS + 1):
            conn.execute(Method.__table__.insert(), {"id": m, "name": f"m{m}", "version": "1", "params": {},
                                                     "params_hash": "h", "higher_is_more": True})


def columns(n_rows: int, n_neurons: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    idx = np.arange(n_rows)
    return {
        "run_id": np.ones(n_rows, dtype=np.int64),
        "method_id": idx // (n_neurons * N_CONCEPTS) + 1,
        "concept_id": (idx // n_neurons) % N_CONCEPTS + 1,
        "neuron_id": idx % n_neurons + 1,
        "value": rng.random(n_rows),
    }


def count(db: atlas.Atlas) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Score)).scalar_one())


def bench(backend: str, n_bulk: int, n_orm: int) -> tuple[float, float]:
    n_neurons = max(n_bulk, n_orm) // (N_CONCEPTS * N_METHODS)
    with fresh_atlas(backend, "atlas_bench_store") as db:
        setup(db, n_neurons)
        cols = columns(n_bulk, n_neurons)
        with Timer() as t_bulk, db.write() as conn:
            bulk_insert(conn, Score.__table__, cols)
        assert count(db) == n_bulk
        with db.write() as conn:
            conn.execute(delete(Score))
        cols = columns(n_orm, n_neurons)
        rows = list(zip(*(cols[k].tolist() for k in cols)))
        with Timer() as t_orm, Session(db.engine.execution_options(atlas_write=True)) as session:
            session.add_all(Score(run_id=r, method_id=m, concept_id=c, neuron_id=n, value=v) for r, m, c, n, v in rows)
            session.commit()
        assert count(db) == n_orm
    return n_bulk / t_bulk.seconds, n_orm / t_orm.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200k bulk rows and 50k ORM rows")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    n_bulk, n_orm = (200_000, 50_000) if args.quick else (1_000_000, 1_000_000)
    print(f"score rows: bulk path {n_bulk:,}, ORM {n_orm:,} (run, method, concept, neuron, value; PK + value index)")
    print(f"{'backend':<11} {'bulk rows/s':>12} {'ORM rows/s':>11} {'ratio':>7}  goal >= 20x")
    for backend in args.backend or ["sqlite", "postgresql"]:
        bulk, orm = bench(backend, n_bulk, n_orm)
        ok = "ok" if bulk / orm >= 20 else "BELOW GOAL"
        print(f"{backend:<11} {bulk:>12,.0f} {orm:>11,.0f} {bulk / orm:>6.1f}x  {ok}", flush=True)


if __name__ == "__main__":
    main()
