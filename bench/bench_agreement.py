"""Method agreement on a scored atlas (issue 13): how long ``compute_agreement`` takes against
reading the same score sets (the baseline, measured in the same run), and the figures for a few
concepts (mean top-n Jaccard and Spearman per site, the pairs of the named methods).

Needs an atlas whose run is scored already, e.g. MiniLM on PUD::

    python bench/bench_agreement.py --db sqlite:///pud.db --run minilm --concepts noun,negation
"""

from __future__ import annotations

import argparse
import os
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True, help="the atlas URL")
    p.add_argument("--store", default=None, help="its activation store (not read here)")
    p.add_argument("--run", default="minilm", help="run id or model name (its latest done run)")
    p.add_argument("--concepts", default="noun,negation", help="concepts whose figures to print")
    p.add_argument("--top", default="10,100", help="top-n sizes")
    args = p.parse_args(argv)

    import atlas
    from atlas.methods.agreement import _site_layout, agreement_frame, compute_agreement, find_run, voters
    from atlas.store.scores import read_set

    db = atlas.connect(args.db, store_root=args.store)
    run = find_run(db, args.run)
    sizes = [int(x) for x in args.top.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f} at start; {os.cpu_count()} cores")
    t = time.perf_counter()
    with db.engine.connect() as conn:
        groups = {c: g for c, g in voters(conn, run.id).items() if len(g) >= 2}
        _site_layout(conn, run.model_id)
        n_sets = 0
        for g in groups.values():
            for v in g:
                read_set(conn, v.set_id)
                n_sets += 1
    base = time.perf_counter() - t
    t = time.perf_counter()
    summary = compute_agreement(db, run, top=sizes)
    total = time.perf_counter() - t
    print(f"run {run.id}: {summary['n_concepts']} concepts, {n_sets} score sets, {summary['n_pairs']} agreement rows (top {sizes})")
    print(f"  baseline, reading the sets:        {base:7.2f} s")
    print(f"  compute_agreement (read, rank, store): {total:7.2f} s   ratio {total / base:.1f}")
    for concept in args.concepts.split(","):
        frame = agreement_frame(db, run, concept)
        for (site, n), sub in frame.groupby(["site", "n"]):
            print(f"\n{concept}, {site}, top-{n}: mean Jaccard {sub['jaccard'].mean():.3f}, mean Spearman {sub['spearman'].mean():.3f}")
            print(sub[["method_a", "method_b", "jaccard", "spearman"]].round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
