"""The Ray executor's overhead on one machine: words/s of ``atlas extract --executor ray`` against
the local executor, same model (all-MiniLM-L6-v2), same PUD sentences, same run (issue 19).

In one process, interleaved, best of ``--reps``:

(L) ``LocalExecutor`` (the default): this process, one compute thread per core;
(R) ``RayExecutor(workers=W)`` on a local Ray cluster started once before the timings
    (``ray.init(num_cpus=W)``): W model actors, one core each, each loads the model, chunks
    as Ray Data blocks, committed by the actors;
(R+) the same, the cluster started by the executor itself (what ``atlas extract --executor ray``
    without ``--address`` does): cluster start and shutdown included.

Each line gives the end-to-end wall time of ``extract`` (model load on the driver, plan, the
chunks, merge, finalize) and words/s = words / wall time; then the steady state: for Ray, the
words/s between the arrival of the first and of the last chunk (the actors are up), and the time
to the first chunk (cluster, actors, model loads: the fixed cost). Every Ray run is checked byte for byte
against the local run (files, checksums, statistics). No GPU is involved.

Usage::

    python bench/bench_extract_ray.py                 # 400 PUD sentences, 2 workers
    python bench/bench_extract_ray.py --sentences 1000 --workers 2 --reps 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_extract import read_pud, store  # noqa: E402


class Clock:
    """Arrival times of the chunks at the driver (the Ray executor's ``on_result``)."""

    def __init__(self) -> None:
        self.times: list[tuple[float, int]] = []
        self.rows: dict[int, int] = {}

    def __call__(self, chunk: int, pid: int) -> None:
        self.times.append((time.perf_counter(), chunk))

    def steady(self, plan_rows: dict[int, int]) -> tuple[float, float]:
        """(seconds from the start to the first chunk, words/s from the first chunk to the last)."""
        (t_first, _), (t_last, _) = self.times[0], self.times[-1]
        words = sum(plan_rows[k] for _, k in self.times[1:])
        return t_first, words / max(t_last - t_first, 1e-9)


def one_run(executor, sentences, chunk_words: int) -> tuple[float, tuple]:
    """Wall seconds of one extraction into a fresh SQLite atlas, and what it stored."""
    import atlas
    from atlas.extract.models import builtin_model_path

    with tempfile.TemporaryDirectory(prefix="h7-bench-ray-") as tmp:
        db = atlas.connect(f"sqlite:///{tmp}/bench.db", store_root=Path(tmp) / "store")
        db.init()
        store(db, "pud", sentences)
        t0 = time.perf_counter()
        run_id = db.extract(str(builtin_model_path()), corpus="pud", name="minilm", sites="mlp,resid",
                            progress=False, chunk_words=chunk_words, executor=executor)
        wall = time.perf_counter() - t0
        info = db.run(run_id)
        if isinstance(getattr(executor, "on_result", None), Clock):
            with db.engine.connect() as conn:
                bounds = conn.exec_driver_sql("select chunk, end_row - start_row from run_chunk").fetchall()
            first, steady = executor.on_result.steady(dict(bounds))
            executor.on_result.report = (first - t0, steady)
        else:
            executor.report = info["words_per_s"]
        files = tuple((f["layer"], f["sha256"], db.store.path(f["path"]).read_bytes()) for f in info["files"])
        stats = db.engine.connect().exec_driver_sql(
            "select neuron_id, mean, std, min, max, fire_rate from neuron_stat order by neuron_id").fetchall()
        db.close()
    return wall, (files, [tuple(r) for r in stats])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=400, metavar="N", help="the first N PUD sentences")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-words", type=int, default=2048)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    import ray
    import torch

    from atlas.extract.executor import LocalExecutor
    from atlas.extract.ray_executor import RayExecutor, _package_path

    os.environ.setdefault("RAY_worker_niceness", "0")  # as the executor does for its own cluster
    sentences = read_pud(args.sentences)
    n_words = sum(map(len, sentences))
    print(f"all-MiniLM-L6-v2, sites mlp,resid, on {len(sentences)} PUD sentences ({n_words:,} words), "
          f"chunks of {args.chunk_words} words; {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
          f"ray {ray.__version__}; no GPU (none lent to this task)")
    print(f"load average at start: {os.getloadavg()}")
    best = {"L": float("inf"), "R": float("inf"), "R+": float("inf")}
    steady = {"L": 0.0, "R": 0.0, "R+": 0.0}
    first = {"R": float("inf"), "R+": float("inf")}
    ref = None
    for _rep in range(args.reps):
        local = LocalExecutor()
        wall, got = one_run(local, sentences, args.chunk_words)
        best["L"], steady["L"] = min(best["L"], wall), max(steady["L"], local.report)
        ref = ref or got
        assert got == ref
        for key in ("R", "R+"):
            clock = Clock()
            if key == "R":
                ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": _package_path()}})
            try:
                wall, got = one_run(RayExecutor(workers=args.workers, on_result=clock), sentences, args.chunk_words)
            finally:
                if key == "R":
                    ray.shutdown()
            assert got == ref, f"Ray run ({key}) differs from the local run"
            best[key], steady[key] = min(best[key], wall), max(steady[key], clock.report[1])
            first[key] = min(first[key], clock.report[0])
    base = n_words / best["L"]
    names = {"L": "(L)  local executor", "R": f"(R)  Ray, {args.workers} actors, cluster up", "R+": "(R+) Ray, cluster started by the job"}
    for key, label in names.items():
        wps = n_words / best[key]
        print(f"{label:<40}: {wps:8,.0f} words/s end to end ({best[key]:6.2f} s)  {wps / base:5.2f}x local")
    print("steady state (local: the run's words/s, from its first chunk's start; Ray: words/s between the "
          "first and the last chunk's arrival, i.e. after the actors are up):")
    for key, label in names.items():
        extra = f"; first chunk after {first[key]:6.2f} s (cluster, actors, model loads)" if key in first else ""
        print(f"{label:<40}: {steady[key]:8,.0f} words/s  {steady[key] / steady['L']:5.2f}x local{extra}")
    print("every Ray run: files, checksums and statistics byte-identical to the local run")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
