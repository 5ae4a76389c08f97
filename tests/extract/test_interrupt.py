"""A run stopped by SIGTERM (or Ctrl-C) is marked ``interrupted``; one whose process died
without a word (SIGKILL) shows as ``stale`` in ``atlas run list``; both resume (both backends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from atlas.extract.runs import list_runs
from atlas.store.tables import Run, RunChunk

from .helpers import make_sentences, store_corpus
from .test_resume import _command

SENTENCES = make_sentences(300, seed=12)


def _start_and_stop(db, db_url, folder, sig):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_command(folder, db_url, db.store.root), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while True:
            with db.engine.connect() as conn:
                if conn.execute(select(func.count()).select_from(RunChunk)).scalar_one() >= 1:
                    break
            assert proc.poll() is None, f"the job ended before it could be stopped: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "no chunk recorded within 120 s"
            time.sleep(0.01)
        os.kill(proc.pid, sig)
        proc.wait(timeout=60)
        return proc.returncode, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()


def test_sigterm_marks_the_run_interrupted_and_it_resumes(db, db_url, tmp_path, tiny_model):
    folder = tiny_model("bert")
    store_corpus(db, "t", SENTENCES, tmp_path)
    code, err = _start_and_stop(db, db_url, folder, signal.SIGTERM)
    assert code == 130, err
    assert "Traceback" not in err and "terminate called" not in err
    with db.engine.connect() as conn:
        status, rows_done, n_words = conn.execute(select(Run.status, Run.rows_done, Run.n_words)).one()
    assert status == "interrupted" and 0 < rows_done < n_words
    assert list(list_runs(db)["status"]) == ["interrupted"]
    again = subprocess.run(_command(folder, db_url, db.store.root), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert list(list_runs(db)["status"]) == ["done"]


def test_a_killed_runs_status_is_stale_not_running(db, db_url, tmp_path, tiny_model):
    folder = tiny_model("bert")
    store_corpus(db, "t", SENTENCES, tmp_path)
    code, _ = _start_and_stop(db, db_url, folder, signal.SIGKILL)
    assert code == -signal.SIGKILL
    with db.engine.connect() as conn:
        assert conn.execute(select(Run.status)).scalar_one() == "running"  # what the database says
    status = list(list_runs(db)["status"])[0]
    assert status.startswith("stale (process ") and "run the extraction again" in status
