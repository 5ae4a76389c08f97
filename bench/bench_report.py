"""Report generation for the demo atlas against the demo's scoring time (issue 14's goal: the
report takes no more than a quarter of the scoring time).

    python bench/bench_report.py --db sqlite:///atlas-demo.db      # an atlas `atlas demo` built
    python bench/bench_report.py --db ... --screenshots DIR         # also screenshots (Chromium)

The baseline is the scoring time recorded in the same atlas: for each scored run, from its
first score set's ``created_at`` to its last set's ``finished_at`` (what ``atlas score`` took for
it). The report is written with the demo's settings (:data:`atlas.demo.DEMO_REPORT_CONCEPTS`,
:data:`atlas.demo.DEMO_REPORT_TOP`, model ``minilm`` and its control) ``--repeat`` times; the
median is compared. ``atlas demo`` prints the same ratio for its own run at its end.
The detector counts are timed both ways too: the ``layer_detector_counts`` view through SQL
(``--view``; minutes on SQLite) against the numpy path the report uses.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import atlas  # noqa: E402
from atlas.demo import DEMO_REPORT_CONCEPTS, DEMO_REPORT_TOP  # noqa: E402


def scoring_seconds(db: atlas.Atlas) -> dict[int, float]:
    """Seconds each run's scoring took, from its score sets' timestamps."""
    frame = db.sql("SELECT run_id, MIN(created_at) AS started, MAX(finished_at) AS finished FROM score_set "
                   "WHERE status = 'complete' GROUP BY run_id ORDER BY run_id")
    import pandas as pd

    out = {}
    for run_id, start, end in frame.itertuples(index=False):
        out[int(run_id)] = (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="an atlas built by `atlas demo` (sqlite:///atlas-demo.db)")
    parser.add_argument("--store", help="its activation store (default: NAME.store beside the database)")
    parser.add_argument("--repeat", type=int, default=3, help="reports to time (median; default 3)")
    parser.add_argument("--view", action="store_true", help="also time layer_detector_counts through SQL (slow)")
    parser.add_argument("--screenshots", metavar="DIR", help="save a neuron card and a concept page as PNG (Chromium)")
    args = parser.parse_args()
    db = atlas.connect(args.db, store_root=args.store)
    scoring = scoring_seconds(db)
    total_scoring = sum(scoring.values())
    print(f"scoring recorded in the atlas: {', '.join(f'run {r}: {s:.0f} s' for r, s in scoring.items())}; "
          f"total {total_scoring:.0f} s")
    times, summary = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for i in range(args.repeat):
            summary = db.report(Path(tmp) / f"r{i}", models=["minilm"], concepts=list(DEMO_REPORT_CONCEPTS),
                                top=DEMO_REPORT_TOP)
            times.append(summary["seconds"])
            print(f"report {i + 1}: {summary['pages']} pages in {summary['seconds']:.1f} s  "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in summary["timings"].items()))
        median = statistics.median(times)
        print(f"report (median of {len(times)}): {median:.1f} s = {median / total_scoring:.3f} of the scoring time "
              f"(goal: at most 0.25: {'met' if median <= 0.25 * total_scoring else 'NOT met'})")
        if args.screenshots:
            _screenshots(Path(tmp) / "r0", Path(args.screenshots))
    runs = sorted(scoring)
    t0 = time.perf_counter()
    fast = db.report_data("detector_counts", runs)
    numpy_s = time.perf_counter() - t0
    print(f"detector counts, numpy over score_vector: {numpy_s:.1f} s ({len(fast)} rows)")
    if args.view:
        t0 = time.perf_counter()
        slow = db.sql(fast.attrs["source"]["text"], limit=100_000, timeout_s=600)
        view_s = time.perf_counter() - t0
        same = (slow["n_detectors"].astype(int).tolist() == fast["n_detectors"].tolist())
        print(f"detector counts, the layer_detector_counts view through SQL: {view_s:.1f} s "
              f"({view_s / numpy_s:.0f}x the numpy path; same rows: {same})")
    db.close()


def _screenshots(report: Path, folder: Path) -> None:
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    card = sorted(report.glob("neuron-*.html"))[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for src, name in ((card, "demo-neuron-card.png"), (report / "concept-negation.html", "demo-concept-page.png")):
            page.goto(src.as_uri())
            page.screenshot(path=str(folder / name), full_page=True)
            print(f"screenshot: {folder / name} ({src.name})")
        browser.close()


if __name__ == "__main__":
    main()
