"""Benchmark: words/s for storing UD English-PUD (``atlas corpus add``) on SQLite and PostgreSQL.

For each backend it times, in the same run:

* ``parse``   reading the CoNLL-U file only (the ceiling for the whole ingest);
* ``bulk``    ``add_corpus``: corpus + sentences + tokens + every concept's annotations, one
              transaction, through :func:`atlas.store.bulk.bulk_insert` (the shipped path);
* ``core``    the same ingest with ``bulk_insert`` swapped for SQLAlchemy Core
              ``conn.execute(insert(table), rows)`` (the baseline the bulk path replaces).

and prints words/s plus the ratio bulk/core. Usage::

    python bench/bench_ingest.py            # PUD, 3 repetitions, both backends
    python bench/bench_ingest.py --quick    # 1 repetition
    python bench/bench_ingest.py --backend sqlite --file my.conllu

PostgreSQL: ``$ATLAS_BENCH_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``);
a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from atlas.corpus import ingest, materialise
from atlas.corpus.conllu import read_conllu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fresh_atlas  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PUD = ROOT.parent / "shared" / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"


def core_insert(conn: Any, table: Any, columns: dict[str, Any]) -> int:
    """The baseline: SQLAlchemy Core executemany with a list of dicts."""
    names = list(columns)
    data = [c.tolist() if hasattr(c, "tolist") else list(c) for c in columns.values()]
    rows = [dict(zip(names, values)) for values in zip(*data)]
    if rows:
        conn.execute(insert(table), rows)
    return len(rows)


@contextmanager
def swapped_bulk(fn: Callable[..., int]) -> Iterator[None]:
    saved = ingest.bulk_insert, materialise.bulk_insert
    ingest.bulk_insert = materialise.bulk_insert = fn  # type: ignore[assignment]
    try:
        yield
    finally:
        ingest.bulk_insert, materialise.bulk_insert = saved


def time_ingest(backend: str, path: Path, reps: int, *, baseline: bool, progress: bool) -> tuple[float, dict[str, Any]]:
    times = []
    result: dict[str, Any] = {}
    for _ in range(reps):
        with fresh_atlas(backend, "atlas_bench_ingest") as db:
            start = time.perf_counter()
            if baseline:
                with swapped_bulk(core_insert):
                    result = ingest.add_corpus(db, "bench", path, progress=False)
            else:
                result = ingest.add_corpus(db, "bench", path, progress=progress)
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--file", type=Path, default=PUD, help="a CoNLL-U file (default: UD English-PUD)")
    parser.add_argument("--progress", action="store_true", help="show the ingest progress bars")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"skipped: {args.file} not found (../shared must sit beside the checkout)", file=sys.stderr)
        return 0
    reps = 1 if args.quick else 3
    backends = args.backend or ["sqlite", "postgresql"]

    start = time.perf_counter()
    sentences = read_conllu(args.file)
    parse_s = time.perf_counter() - start
    n_words = sum(len(s.words) for s in sentences)
    print(f"file: {args.file.name}: {len(sentences):,} sentences, {n_words:,} words; repetitions: {reps} (median)")
    print(f"parse only: {parse_s:.3f} s = {n_words / parse_s:,.0f} words/s")
    print(f"{'backend':<11} {'path':<5} {'seconds':>8} {'words/s':>10} {'annotations':>12}  ratio bulk/core")
    for backend in backends:
        bulk_s, result = time_ingest(backend, args.file, reps, baseline=False, progress=args.progress)
        core_s, _ = time_ingest(backend, args.file, reps, baseline=True, progress=False)
        with fresh_atlas(backend, "atlas_bench_ingest") as db:
            ingest.add_corpus(db, "count", args.file, progress=False)
            with db.engine.connect() as conn:
                n_ann = conn.execute(text("SELECT count(*) FROM annotation")).scalar_one()
        print(f"{backend:<11} {'bulk':<5} {bulk_s:>8.3f} {n_words / bulk_s:>10,.0f} {n_ann:>12,}  {core_s / bulk_s:.2f}x faster")
        print(f"{backend:<11} {'core':<5} {core_s:>8.3f} {n_words / core_s:>10,.0f} {n_ann:>12,}  (baseline)")
        assert result["n_tokens"] == n_words
    return 0


if __name__ == "__main__":
    sys.exit(main())
