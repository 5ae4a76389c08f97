"""The Ray executor (issue 19): a local Ray cluster (2 CPUs, 2 model actors) extracts a small
corpus byte-identical to the local executor (files, checksums, statistics, top words), and a
worker process killed by pid in the middle of the run does not change a byte nor duplicate a
chunk row. Ray starts once for the module and is shut down after it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import atlas
from atlas.errors import ExtractionError
from atlas.extract.executor import LocalExecutor, SerialExecutor, make_executor
from atlas.extract.job import extract
from atlas.store.tables import Run, RunChunk

from .helpers import make_sentences, store_corpus, stored_checksum
from .test_executor import _snapshot

#: a Ray cluster and its model actors take 20-60 s to start on 2 shared cores
slow = pytest.mark.slow

KWARGS = dict(corpus="t", name="b", sites="embed,mlp,resid", progress=False, chunk_words=30, batch_size=4, top_k=5)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """A local Ray cluster of 2 CPUs for the module (workers find this checkout's atlas)."""
    ray = pytest.importorskip("ray", reason="the Ray executor needs the [ray] extra (ray[data])")
    from atlas.extract.ray_executor import _package_path

    os.environ.setdefault("RAY_worker_niceness", "0")  # as the executor does for its own cluster
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": _package_path()}})
    try:
        yield
    finally:
        ray.shutdown()


def _local_reference(tmp_path, folder: str, sentences):
    ref = atlas.connect(f"sqlite:///{tmp_path / 'local.db'}", store_root=tmp_path / "local-store")
    ref.init()
    (tmp_path / "local").mkdir()
    store_corpus(ref, "t", sentences, tmp_path / "local")
    try:
        return _snapshot(ref, extract(ref, folder, executor=LocalExecutor(), **KWARGS))
    finally:
        ref.close()


def _chunk_rows(db, run_id: int) -> tuple[int, int]:
    with db.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(RunChunk).where(RunChunk.run_id == run_id)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(RunChunk.chunk))).where(RunChunk.run_id == run_id)).scalar_one()
    return int(n), int(distinct)


@slow
def test_ray_cluster_gives_the_local_executors_bytes(db, tmp_path, tiny_model, ray_cluster) -> None:
    from atlas.extract.ray_executor import RayExecutor

    sentences = make_sentences(40, seed=41)
    folder = str(tiny_model("bert"))
    store_corpus(db, "t", sentences, tmp_path)
    executor = RayExecutor(workers=2)
    run_id = extract(db, folder, executor=executor, **KWARGS)
    got = _snapshot(db, run_id)
    want = _local_reference(tmp_path, folder, sentences)
    assert got[0] == want[0]  # neuron_stat rows, exactly
    assert got[1] == want[1]  # top_activation rows
    assert got[2] == want[2]  # file bytes and checksums
    n_chunks = len(got[3]["files"]) and got[3]["chunks_done"]
    assert _chunk_rows(db, run_id) == (n_chunks, n_chunks) and n_chunks >= 6
    assert executor.pids and os.getpid() not in executor.pids  # computed by the actors, not the driver
    for f in got[3]["files"]:
        assert f["sha256"] == stored_checksum(db, run_id, f)
    with db.engine.connect() as conn:
        assert conn.execute(select(Run.rows_done).where(Run.id == run_id)).scalar_one() == got[3]["n_words"]


@slow
def test_a_worker_killed_mid_run_changes_nothing(tmp_path, tiny_model, ray_cluster) -> None:
    """The first worker to return a chunk is killed (SIGKILL, by pid) while chunks are left;
    Ray restarts it and retries: the run completes with the local executor's bytes, one row per
    chunk. (SQLite only: the test above runs the executor on both backends.)"""
    from atlas.extract.ray_executor import RayExecutor

    db = atlas.connect(f"sqlite:///{tmp_path / 'ray.db'}", store_root=tmp_path / "ray-store")
    db.init()
    sentences = make_sentences(60, seed=42)
    folder = str(tiny_model("bert"))
    store_corpus(db, "t", sentences, tmp_path)
    killed: list[int] = []

    def kill_first(chunk: int, pid: int) -> None:
        if not killed:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    executor = RayExecutor(workers=2, on_result=kill_first)
    run_id = extract(db, folder, executor=executor, **KWARGS)
    got = _snapshot(db, run_id)
    assert got[3]["status"] == "done" and killed
    assert len(executor.pids - set(killed)) >= 1  # chunks kept coming from other (or restarted) processes
    want = _local_reference(tmp_path, folder, sentences)
    assert (got[0], got[1], got[2]) == (want[0], want[1], want[2])
    n_chunks = got[3]["chunks_done"]
    assert _chunk_rows(db, run_id) == (n_chunks, n_chunks)
    with db.engine.connect() as conn:
        assert conn.execute(select(Run.rows_done).where(Run.id == run_id)).scalar_one() == got[3]["n_words"]


def test_executor_names_and_options() -> None:
    assert isinstance(make_executor(None), LocalExecutor) and isinstance(make_executor("serial"), SerialExecutor)
    r = make_executor("ray", address="auto", workers=3, gpus_per_worker=1)
    assert (r.address, r.workers, r.gpus_per_worker) == ("auto", 3, 1)
    with pytest.raises(ExtractionError, match="only apply to --executor ray"):
        make_executor("local", workers=2)
    with pytest.raises(ExtractionError, match="unknown executor 'dask'"):
        make_executor("dask")
    with pytest.raises(ExtractionError, match="at least 1"):
        make_executor("ray", workers=0)


def test_in_memory_sqlite_is_refused_before_ray_starts(tmp_path) -> None:
    from atlas.extract.ray_executor import database_url

    mem = atlas.connect("sqlite://", store_root=tmp_path / "s")
    with pytest.raises(ExtractionError, match="in-memory"):
        database_url(mem)
    disk = atlas.connect(f"sqlite:///{tmp_path / 'a.db'}")
    assert database_url(disk) == f"sqlite:///{(tmp_path / 'a.db').resolve()}"


def test_a_failed_ray_job_is_one_extraction_error() -> None:
    """Whatever Ray raises while the results stream in becomes one line naming the fix."""
    from atlas.extract.ray_executor import RayExecutor

    class Failing:
        def iter_rows(self):
            yield from ()
            raise RuntimeError("ray.exceptions.RayTaskError(OSError): model folder /x not found\n  Traceback ...")

    with pytest.raises(ExtractionError, match=r"the Ray job failed: ray.exceptions.RayTaskError\(OSError\): model folder /x not found \(the workers. logs"):
        list(RayExecutor()._collect(Failing(), [0]))

    class Short:
        def iter_rows(self):
            return iter(())

    with pytest.raises(ExtractionError, match=r"without chunks \[0, 1\]"):
        list(RayExecutor()._collect(Short(), [0, 1]))


def test_cli_executor_options_errors_are_one_line(db, db_url, tmp_path, tiny_model, capsys) -> None:
    from atlas.cli import main

    store_corpus(db, "t", make_sentences(4, seed=43), tmp_path)
    common = ["--db", db_url, "--store", str(db.store.root), "--quiet"]
    assert main(["extract", str(tiny_model("bert")), "--corpus", "t", "--workers", "2", *common]) == 1
    err = capsys.readouterr().err
    assert "\nerror: --workers only apply to --executor ray" in "\n" + err and "Traceback" not in err
    assert main(["score", "--run", "1", "--device", "tpu", "--db", db_url]) == 1
    err = capsys.readouterr().err
    assert "unknown device 'tpu'" in err and "Traceback" not in err


@slow
def test_a_ray_run_whose_driver_stops_resumes(tmp_path, tiny_model, ray_cluster) -> None:
    """The driver stops after two chunks (as if it died: Ray loses the job); the chunks the actors
    committed stay; the same extraction again reads them back and computes the rest, with the
    local executor's bytes and one row per chunk."""
    from atlas.extract.ray_executor import RayExecutor

    db = atlas.connect(f"sqlite:///{tmp_path / 'ray.db'}", store_root=tmp_path / "ray-store")
    db.init()
    sentences = make_sentences(50, seed=44)
    folder = str(tiny_model("bert"))
    store_corpus(db, "t", sentences, tmp_path)
    arrived: list[int] = []

    def stop_after_two(chunk: int, pid: int) -> None:
        arrived.append(chunk)
        if len(arrived) == 2:
            raise RuntimeError("the driver stops here")

    with pytest.raises(RuntimeError, match="the driver stops here"):
        extract(db, folder, executor=RayExecutor(workers=2, on_result=stop_after_two), **KWARGS)
    run_id = int(db.runs()["id"].iloc[0])
    n_before = _chunk_rows(db, run_id)[0]
    assert n_before >= 2 and db.run(run_id)["status"] == "failed"
    run_id = extract(db, folder, executor=RayExecutor(workers=2), **KWARGS)
    got = _snapshot(db, run_id)
    assert got[3]["status"] == "done" and got[3]["provenance"]["chunks"]["resumed"]
    want = _local_reference(tmp_path, folder, sentences)
    assert (got[0], got[1], got[2]) == (want[0], want[1], want[2])
    n_chunks = got[3]["chunks_done"]
    assert _chunk_rows(db, run_id) == (n_chunks, n_chunks) and n_chunks > n_before
