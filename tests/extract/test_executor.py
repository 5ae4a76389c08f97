"""plan_run -> run_chunk(k) -> finalize_run behind an executor: chunks run in any order, by
any worker, give the same bytes, statistics, top words and checksums as the local executor."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import select

import atlas
from atlas.extract.executor import LocalExecutor, SerialExecutor
from atlas.extract.job import extract, show_run
from atlas.extract.pipeline import ChunkResult, ChunkWork, run_chunk
from atlas.extract.plan import RunPlan
from atlas.extract.stats import StatsMerger, StreamStats
from atlas.store.tables import Neuron, NeuronStat, TopActivation

from .helpers import make_sentences, store_corpus, stored_checksum


class ShuffledExecutor:
    """Chunks in a random order; every third one by a 'remote' worker that gets the plan as
    JSON and loads the model itself."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.order: list[int] = []

    def map_chunks(self, work: ChunkWork, chunk_ids: Sequence[int]) -> Iterator[ChunkResult]:
        ids = list(chunk_ids)
        random.Random(self.seed).shuffle(ids)
        self.order = ids
        remote = RunPlan.from_json(work.plan.to_json())
        for i, k in enumerate(ids):
            yield run_chunk(work.db, remote, k) if i % 3 == 2 else work.process(k)


def _snapshot(db, run_id: int):
    info = show_run(db, run_id)
    with db.engine.connect() as conn:
        stats = conn.execute(
            select(Neuron.layer, Neuron.site, Neuron.unit, NeuronStat.count, NeuronStat.mean, NeuronStat.std,
                   NeuronStat.min, NeuronStat.max, NeuronStat.fire_rate)
            .join(Neuron, Neuron.id == NeuronStat.neuron_id).where(NeuronStat.run_id == run_id)
            .order_by(Neuron.layer, Neuron.site, Neuron.unit)
        ).all()
        top = conn.execute(
            select(Neuron.layer, Neuron.site, Neuron.unit, TopActivation.rank, TopActivation.row, TopActivation.value)
            .join(Neuron, Neuron.id == TopActivation.neuron_id).where(TopActivation.run_id == run_id)
            .order_by(Neuron.layer, Neuron.site, Neuron.unit, TopActivation.rank)
        ).all()
    files = {f["layer"]: (f["sha256"], db.store.path(f["path"]).read_bytes()) for f in info["files"]}
    return [tuple(s) for s in stats], [tuple(t) for t in top], files, info


def test_shuffled_chunks_give_what_the_local_executor_gives(db, tmp_path, tiny_model) -> None:
    sentences = make_sentences(90, seed=31)
    folder = str(tiny_model("bert"))
    kwargs = dict(corpus="t", name="b", sites="embed,mlp,resid", progress=False, chunk_words=40, batch_size=4, top_k=7)
    store_corpus(db, "t", sentences, tmp_path)
    shuffled = ShuffledExecutor(seed=3)
    run_id = extract(db, folder, executor=shuffled, **kwargs)
    assert shuffled.order != sorted(shuffled.order) and len(shuffled.order) > 5
    got = _snapshot(db, run_id)

    for name, executor in (("local", LocalExecutor()), ("serial", SerialExecutor())):
        ref_db = atlas.connect(f"sqlite:///{tmp_path / f'{name}.db'}", store_root=tmp_path / f"{name}-store")
        ref_db.init()
        (tmp_path / name).mkdir()
        store_corpus(ref_db, "t", sentences, tmp_path / name)
        want = _snapshot(ref_db, extract(ref_db, folder, executor=executor, **kwargs))
        ref_db.close()
        assert got[0] == want[0], name  # neuron_stat rows, exactly
        assert got[1] == want[1], name  # top_activation rows
        assert got[2] == want[2], name  # file bytes and checksums
    for f in got[3]["files"]:
        assert f["sha256"] == stored_checksum(db, run_id, f)


def test_plan_round_trips_through_json_and_run_chunk_is_idempotent(db, tmp_path, tiny_model) -> None:
    from atlas.extract.layout import load_corpus
    from atlas.extract.models import load_model
    from atlas.extract.options import ExtractOptions
    from atlas.extract.plan import plan_run

    store_corpus(db, "t", make_sentences(20, seed=32), tmp_path)
    folder = str(tiny_model("gpt2"))
    options = ExtractOptions(folder, "t", name="g", sites=("mlp",), chunk_words=30)
    plan = plan_run(db, options, load_model(folder), load_corpus(db, "t"))
    assert RunPlan.from_json(plan.to_json()) == plan
    assert plan.todo == [c.index for c in plan.chunks] and plan.status == "pending"
    first = run_chunk(db, plan, 1)
    path = db.store.path(plan.files[0].path)
    data = path.read_bytes()
    again = run_chunk(db, plan, 1)
    assert path.read_bytes() == data and again.digests == first.digests
    for key in first.stats:
        a, b = first.stats[key], again.stats[key]
        assert np.array_equal(a.total, b.total) and np.array_equal(a.keys, b.keys)
    with ChunkWork(db, plan) as work:
        read = work.read_chunk(1)
    assert read.digests == first.digests and not read.computed


def test_partials_merge_the_same_with_or_without_floors() -> None:
    """A floor (the k-th best value of the rows before) only drops candidates that cannot win."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((700, 6)) * 2).astype(np.float16)
    x[:, 0] = 1.0  # ties everywhere
    bounds = [(0, 90), (90, 100), (100, 350), (350, 351), (351, 700)]

    def merged(with_floor: bool):
        m = StatsMerger(6, 700, 9)
        for r0, r1 in bounds:
            acc = StreamStats(6, r1 - r0, 9, first_row=r0, floor=m.floor() if with_floor else None)
            acc.update(x[r0:r1], r0)
            m.add(acc.partial())
        return m.result()

    a, b = merged(True), merged(False)
    for name in ("mean", "std", "min", "max", "fire_rate", "top_rows", "top_values"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    want = np.stack([np.lexsort((np.arange(700), -x[:, j].astype(np.float64)))[:9] for j in range(6)])
    np.testing.assert_array_equal(a.top_rows, want)
