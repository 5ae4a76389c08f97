"""Streamed statistics: exact against numpy, chunk by chunk, and the same after a resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sqlalchemy import select

import atlas.extract.bookkeeping as bookkeeping
from atlas.extract.executor import LocalExecutor
from atlas.extract.align import _ordinals, aggregate, plan_batches
from atlas.extract.job import extract, show_run
from atlas.extract.models import builtin_model_path
from atlas.extract.stats import SUB_ROWS, StreamStats, layer_stats
from atlas.store.tables import ActivationFile, Neuron, NeuronStat, Run, TopActivation

from .helpers import make_sentences, store_corpus, stored_checksum


def _reference(x16: np.ndarray, k: int) -> dict[str, np.ndarray]:
    x = x16.astype(np.float64)
    n = len(x)
    top = np.stack([np.lexsort((np.arange(n), -x[:, j]))[:k] for j in range(x.shape[1])])
    return {
        "mean": x.mean(0), "std": x.std(0), "min": x.min(0), "max": x.max(0),
        "fire_rate": (x > 0).mean(0),
        "top_rows": top, "top_values": np.take_along_axis(x.T, top, axis=1),
    }


def _random_block(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    x = (rng.standard_normal((n, width)) * 3).astype(np.float16)
    x[rng.random((n, width)) < 0.2] = 0.0
    x[rng.random((n, width)) < 0.1] = np.float16(-0.0)
    x[:, 0] = 1.5  # every value tied: ranks go to the lower rows
    x[:, 1] = np.round(x[:, 1])  # many ties
    x[:, 2] = -np.abs(x[:, 2])  # never fires
    return x


@pytest.mark.parametrize("n, width, block, k", [
    (5000, 9, 700, 20),  # several chunks
    (2 * SUB_ROWS + 17, 4, 2 * SUB_ROWS + 17, 20),  # one chunk larger than SUB_ROWS
    (300, 6, 7, 5),  # many small chunks
    (300, 6, 3, 8),  # chunks smaller than the kept top values
    (15, 3, 4, 20),  # fewer rows than k
    (1, 3, 1, 20),
])
def test_stream_stats_match_numpy(n, width, block, k) -> None:
    x = _random_block(np.random.default_rng(n), n, width)
    acc = StreamStats(width, n, k=k)
    for r0 in range(0, n, block):
        acc.update(x[r0 : r0 + block], r0)
    got = acc.result()
    want = _reference(x, min(k, n))
    assert got.count == n
    for name in ("mean", "std", "min", "max", "fire_rate"):
        np.testing.assert_allclose(getattr(got, name), want[name], rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(got.top_rows, want["top_rows"])
    np.testing.assert_array_equal(got.top_values, want["top_values"])


def test_stream_stats_depend_only_on_rows_and_blocks() -> None:
    x = _random_block(np.random.default_rng(1), 1200, 5)

    def run(bounds):
        acc = StreamStats(5, 1200, k=20)
        for r0, r1 in bounds:
            acc.update(x[r0:r1].copy(), r0)
        return acc.result()

    a = run([(0, 400), (400, 800), (800, 1200)])
    b = run([(0, 400), (400, 800), (800, 1200)])
    c = run([(0, 600), (600, 1200)])
    for name in ("mean", "std", "min", "max", "fire_rate", "top_rows", "top_values"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("min", "max", "fire_rate", "top_rows", "top_values"):  # order-free parts
        np.testing.assert_array_equal(getattr(a, name), getattr(c, name))


def test_stream_stats_refuse_rows_out_of_order_or_missing() -> None:
    acc = StreamStats(3, 10)
    acc.update(np.zeros((4, 3), np.float16), 0)
    with pytest.raises(ValueError, match="in order"):
        acc.update(np.zeros((4, 3), np.float16), 5)
    with pytest.raises(ValueError, match="float16"):
        acc.update(np.zeros((4, 3), np.float32), 4)
    with pytest.raises(ValueError, match="4 of 10"):
        acc.result()


def test_layer_stats_of_a_file(tmp_path) -> None:
    x = _random_block(np.random.default_rng(2), 900, 7)
    path = tmp_path / "a.npy"
    np.save(path, x)
    got = layer_stats(path, n_rows=900, width=7, k=4, bounds=[(0, 450), (450, 900)])
    want = _reference(x, 4)
    np.testing.assert_array_equal(got.top_values, want["top_values"])
    np.testing.assert_array_equal(got.top_rows, want["top_rows"])
    np.testing.assert_allclose(got.mean, want["mean"], rtol=1e-12)


def test_cpu_aggregation_equals_the_ordinal_path_bit_for_bit() -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(builtin_model_path())
    sentences = make_sentences(40, seed=3) + [["a", "\x00", "b"], ["\x01"], ["antidisestablishmentarianism"] * 3]
    torch.manual_seed(0)
    for agg in ("mean", "first", "last"):
        for max_length in (512, 9):
            plan = plan_batches(tok, sentences, max_length=max_length, batch_size=8, aggregations=(agg,))
            for batch in plan.batches:
                hidden = torch.randn(*batch.input_ids.shape, 24)
                hidden[..., 0] = -0.0  # the sign of zero must survive too
                flat = hidden.reshape(-1, 24)
                ref = torch.zeros((batch.n_words, 24))
                steps = _ordinals(batch, agg)
                for j, (words, pos) in enumerate(steps):
                    ref[words] = ref.index_select(0, words) + flat.index_select(0, pos) if j else flat.index_select(0, pos)
                if agg == "mean" and len(steps) > 1:
                    ref /= batch.n_sub[agg].clamp(min=1.0).unsqueeze(1)
                got = aggregate(hidden, batch, agg)
                assert torch.equal(got.view(torch.int32), ref.view(torch.int32))  # bit for bit


def _stats(db, run_id: int):
    with db.engine.connect() as conn:
        stats = conn.execute(
            select(Neuron.layer_id, Neuron.unit, NeuronStat.count, NeuronStat.mean, NeuronStat.std, NeuronStat.min,
                   NeuronStat.max, NeuronStat.threshold, NeuronStat.fire_rate)
            .join(Neuron, Neuron.id == NeuronStat.neuron_id).where(NeuronStat.run_id == run_id)
            .order_by(Neuron.layer_id, Neuron.unit)
        ).all()
        top = conn.execute(
            select(Neuron.layer_id, Neuron.unit, TopActivation.rank, TopActivation.row, TopActivation.value)
            .join(Neuron, Neuron.id == TopActivation.neuron_id).where(TopActivation.run_id == run_id)
            .order_by(Neuron.layer_id, Neuron.unit, TopActivation.rank)
        ).all()
        files = dict(conn.execute(select(ActivationFile.layer_id, ActivationFile.path).where(ActivationFile.run_id == run_id)).all())
    return stats, top, files


def test_resumed_run_streams_the_same_stats_as_numpy(db, tmp_path, tiny_model, monkeypatch) -> None:
    sentences = make_sentences(60, seed=12)
    store_corpus(db, "t", sentences, tmp_path)
    folder = str(tiny_model("bert"))
    kwargs = dict(corpus="t", name="b", sites="mlp,resid", layers="1", progress=False, chunk_words=50, top_k=6)
    real = bookkeeping.record_chunk
    calls = {"n": 0}

    def record_then_die(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        real(*args, **kw)

    monkeypatch.setattr(bookkeeping, "record_chunk", record_then_die)
    with pytest.raises(KeyboardInterrupt):
        extract(db, folder, **kwargs)
    monkeypatch.setattr(bookkeeping, "record_chunk", real)
    with db.engine.connect() as conn:
        run = conn.execute(select(Run.id, Run.status, Run.rows_done, Run.n_words)).one()
    assert run.status == "interrupted" and 0 < run.rows_done < run.n_words  # Ctrl-C: interrupted, resumable
    assert extract(db, folder, **kwargs) == run.id
    info = show_run(db, run.id)
    assert info["status"] == "done" and info["provenance"]["chunks"]["resumed"] is True
    stats, top, files = _stats(db, run.id)

    ref_db = __import__("atlas").connect(f"sqlite:///{tmp_path / 'ref.db'}", store_root=tmp_path / "ref-store")
    ref_db.init()
    (tmp_path / "ref").mkdir()
    store_corpus(ref_db, "t", sentences, tmp_path / "ref")
    # the reference also covers the inline path
    ref_stats, ref_top, _ = _stats(ref_db, extract(ref_db, folder, executor=LocalExecutor(pipeline=False), **kwargs))
    ref_db.close()
    assert [tuple(s)[2:] for s in stats] == [tuple(s)[2:] for s in ref_stats]  # exactly equal
    assert [tuple(t)[2:] for t in top] == [tuple(t)[2:] for t in ref_top]

    for f in info["files"]:
        assert stored_checksum(db, run.id, f) == f["sha256"]
    for layer_id, rel in files.items():
        x = np.asarray(db.store.open(rel), dtype=np.float64)
        mine = [s for s in stats if s.layer_id == layer_id]
        got = np.array([[s.count, s.mean, s.std, s.min, s.max, s.fire_rate] for s in mine])
        want = np.stack([np.full(x.shape[1], len(x)), x.mean(0), x.std(0), x.min(0), x.max(0), (x > 0).mean(0)], axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        assert all(s.threshold is None for s in mine)  # filled in by the scoring job
        for unit in range(x.shape[1]):
            rows = [t.row for t in top if t.layer_id == layer_id and t.unit == unit]
            want_rows = np.lexsort((np.arange(len(x)), -x[:, unit]))[:6]
            np.testing.assert_array_equal(rows, want_rows)
