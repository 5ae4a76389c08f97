"""Kill -9 mid-run, run the same command again: the run resumes and its files are byte-identical
to an uninterrupted run's, with no duplicated or missing rows (on both backends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import atlas
from sqlalchemy import func, select

from atlas.extract.job import show_run
from atlas.store.tables import NeuronStat, Run, RunChunk, TopActivation

from .helpers import make_sentences, store_corpus, stored_checksum

SENTENCES = make_sentences(300, seed=11)


def _command(folder: Path, url: str, store: Path) -> list[str]:
    return [sys.executable, "-m", "atlas", "extract", str(folder), "--corpus", "t", "--as", "b",
            "--sites", "embed,mlp,resid", "--chunk-words", "30", "--batch-size", "4", "--quiet",
            "--db", url, "--store", str(store)]


def _chunks(db: atlas.Atlas) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(RunChunk)).scalar_one())


def test_kill_9_then_resume_is_byte_identical(db, db_url, tmp_path, tiny_model) -> None:
    folder = tiny_model("bert")
    store_corpus(db, "t", SENTENCES, tmp_path)
    # one thread: tiny ops on a shared 2-core machine are fastest that way, and both runs match
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_command(folder, db_url, db.store.root), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while _chunks(db) < 1:
            assert proc.poll() is None, f"the job ended before it could be killed: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "no chunk recorded within 120 s"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with db.engine.connect() as conn:
        run = conn.execute(select(Run.status, Run.rows_done, Run.n_words)).one()
    assert run.status == "running" and 0 < run.rows_done < run.n_words  # really killed mid-run

    resumed = subprocess.run(_command(folder, db_url, db.store.root), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr

    ref_db = atlas.connect(f"sqlite:///{tmp_path / 'ref.db'}", store_root=tmp_path / "ref-store")
    ref_db.init()
    (tmp_path / "ref").mkdir()
    store_corpus(ref_db, "t", SENTENCES, tmp_path / "ref")
    fresh = subprocess.run(_command(folder, ref_db.url, ref_db.store.root), env=env, capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr

    got, want = show_run(db, 1), show_run(ref_db, 1)
    assert got["status"] == "done" and got["rows_done"] == got["n_words"] == sum(map(len, SENTENCES))
    assert got["provenance"]["chunks"]["resumed"] is True and want["provenance"]["chunks"]["resumed"] is False
    assert len(got["files"]) == 5
    for a, b in zip(got["files"], want["files"]):
        assert a["layer"] == b["layer"]
        assert (db.store.root / a["path"]).read_bytes() == (ref_db.store.root / b["path"]).read_bytes()
        assert a["sha256"] == b["sha256"] == stored_checksum(db, 1, a)
    with db.engine.connect() as conn, ref_db.engine.connect() as ref:
        spans = conn.execute(select(RunChunk.start_row, RunChunk.end_row).order_by(RunChunk.start_row)).all()
        stats = conn.execute(select(NeuronStat.mean, NeuronStat.max, NeuronStat.threshold).order_by(NeuronStat.neuron_id)).all()
        ref_stats = ref.execute(select(NeuronStat.mean, NeuronStat.max, NeuronStat.threshold).order_by(NeuronStat.neuron_id)).all()
        top = conn.execute(select(TopActivation.row).order_by(TopActivation.neuron_id, TopActivation.rank)).scalars().all()
        ref_top = ref.execute(select(TopActivation.row).order_by(TopActivation.neuron_id, TopActivation.rank)).scalars().all()
    # chunks tile the corpus: no duplicated and no missing rows
    assert spans[0][0] == 0 and spans[-1][1] == got["n_words"]
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
    assert stats == ref_stats and top == ref_top
    ref_db.close()
