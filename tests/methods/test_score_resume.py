"""Kill -9 during scoring, at several points, on both backends: queries see only complete score
sets before, during and after; a rerun computes only the missing layers and ends with exactly the
sets (and values) of an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import column, func, select, table

from atlas.methods.job import score
from atlas.store.tables import ScoreSet

from .fixtures import make_run

ROOT = Path(__file__).resolve().parents[2]
METHODS = "iou,selectivity,probe"
Score = table("score", *(column(c) for c in ("set_id", "run_id", "method_id", "concept_id", "neuron_id", "value")))

#: The child scores, and SIGKILLs itself at the point named: after the k-th committed layer, inside
#: the k-th call that writes a layer's vectors (mid-transaction), or inside the completing transaction.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import atlas
    import atlas.methods.job as job
    from atlas.store import scores

    url, store, run, point, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    calls = {"n": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def wrap(module, name):
        original = getattr(module, name)

        def wrapped(*args, **kwargs):
            if point == "inside-" + name:
                calls["n"] += 1
                if calls["n"] == k:
                    die()
            out = original(*args, **kwargs)
            if point == "after-" + name:
                calls["n"] += 1
                if calls["n"] == k:
                    die()
            return out

        setattr(module, name, wrapped)

    wrap(job, "_write_layer")
    wrap(scores, "write_layer")
    wrap(scores, "complete_sets")
    db = atlas.connect(url, store_root=store)
    db.score(run, methods=sys.argv[6], progress=False)
    sys.exit(3)  # the kill point was never reached
    """
)


def _snapshot(db) -> dict[tuple[int, int, int], float | None]:
    """What a query reads: (method, concept, neuron) -> value, over complete sets only."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(Score.c.method_id, Score.c.concept_id, Score.c.neuron_id, Score.c.value))
        return {(m, c, n): v for m, c, n, v in rows}


def _sets(db) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(ScoreSet.status, func.count()).group_by(ScoreSet.status)).all()
    return dict(rows)


@pytest.mark.parametrize(
    ("point", "k"),
    [("after-_write_layer", 1), ("after-_write_layer", 3), ("inside-write_layer", 5), ("inside-complete_sets", 1)],
)
def test_kill_9_then_rerun_equals_an_uninterrupted_run(db, db_url, tmp_path, point, k):
    tiny = make_run(db, tmp_path)
    first = score(db, tiny.run_id, methods=METHODS, progress=False)
    reference = _snapshot(db)
    n_sets = _sets(db)["complete"]
    assert reference and n_sets > 0

    proc = subprocess.run(
        [sys.executable, "-c", CHILD, db_url, str(db.store.root), str(tiny.run_id), point, str(k), METHODS],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    # during: the killed job's sets are invisible, the earlier complete ones are all there
    assert _snapshot(db) == reference
    assert _sets(db)["complete"] == n_sets

    again = score(db, tiny.run_id, methods=METHODS, progress=False)
    if point.startswith("after-"):
        assert again["resumed_layers"] == k  # the committed layers are not computed again
    assert again["methods"]["iou"]["method_id"] == first["methods"]["iou"]["method_id"]
    assert _snapshot(db) == reference  # identical values to the uninterrupted run
    assert _sets(db) == {"complete": n_sets}  # one complete set per (run, method, concept), nothing left building

