"""Fuzz the query path: N query-like texts through ``run_query`` on the fixture atlas.

Every text must answer or fail as a :class:`~atlas.errors.QueryError`; anything else is a
finding. The texts come from ``tests/query/fuzz_texts.py`` (``random_text``, seeded), the atlas
from ``tests/query/fixture_atlas.py``. Prints: inputs, how they ended (answers, each
QueryError subclass), the non-QueryError exceptions (count, the first few with their text),
and the longest wall time against the time limit, with the load average before and after.

    python bench/fuzz_query.py --n 100000 --backend sqlite --timeout 2
    python bench/fuzz_query.py --n 10000 --backend postgresql --timeout 2
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "query"))
sys.path.insert(0, str(ROOT / "bench"))

from _common import fresh_atlas  # noqa: E402
from atlas.errors import QueryError  # noqa: E402
from atlas.query.api import run_query  # noqa: E402
from fixture_atlas import build_fixture_atlas  # noqa: E402
from fuzz_texts import random_text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="texts to run (default 10000)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--timeout", type=float, default=2.0, help="each query's time limit in seconds (default 2)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--show", type=int, default=5, help="non-QueryError exceptions to print in full")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    outcomes: collections.Counter[str] = collections.Counter()
    bad: list[tuple[str, BaseException]] = []
    slowest = (0.0, "")
    load_before = os.getloadavg()
    started = time.perf_counter()
    with fresh_atlas(args.backend, "fuzz") as db:
        build_fixture_atlas(db)
        for _ in range(args.n):
            text = random_text(rng)
            t0 = time.perf_counter()
            try:
                run_query(db, text, timeout_s=args.timeout)
                outcomes["answer"] += 1
            except QueryError as exc:
                outcomes[type(exc).__name__] += 1
            except Exception as exc:  # noqa: BLE001 - every other exception is a finding
                outcomes["OTHER " + type(exc).__name__] += 1
                bad.append((text, exc))
            wall = time.perf_counter() - t0
            if wall > slowest[0]:
                slowest = (wall, text)
    total = time.perf_counter() - started
    print(f"backend {args.backend}, seed {args.seed}, time limit {args.timeout:g} s per query")
    print(f"inputs: {args.n}  ({total:.0f} s, {args.n / total:.0f} queries/s)")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(f"non-QueryError exceptions: {len(bad)}")
    for text, exc in bad[: args.show]:
        print(f"  {text!r}")
        print("    " + "".join(traceback.format_exception_only(type(exc), exc)).strip().replace("\n", "\n    ")[:600])
    print(f"longest wall time: {slowest[0]:.3f} s against the limit of {args.timeout:g} s: {slowest[1]!r}")
    print(f"load average: before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (1 min)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
