"""Start-up time of the command line: ``atlas --help`` against a bare ``python -c pass``.

    python bench/bench_cli.py            # median of 10 runs each
    python bench/bench_cli.py --quick    # median of 5

Goal (issue 10): ``atlas --help`` returns in under 0.3 s and imports none of pandas,
SQLAlchemy, torch or Lark (tests/test_cli_startup.py checks the imports). Both commands run
in this process's interpreter, in the same run, so the figure is the CLI's own cost plus the
interpreter's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.3

#: What the ``atlas`` console script runs (``atlas = "atlas.cli:main"``).
ATLAS_HELP = "import sys; from atlas.cli import main; sys.exit(main(['--help']))"


def median_s(code: str, runs: int) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 runs each instead of 10")
    parser.add_argument("--runs", type=int, help="runs each (default: 10, or 5 with --quick)")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 10)
    median_s("pass", 1)  # warm the file cache
    bare = median_s("pass", runs)
    cli = median_s(ATLAS_HELP, runs)
    print(f"python -c pass   median of {runs}: {bare:.3f} s")
    print(f"atlas --help     median of {runs}: {cli:.3f} s  ({cli - bare:.3f} s over the interpreter, "
          f"{cli / bare:.1f}x)")
    print(f"goal: under {GOAL_S} s: {'met' if cli < GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
