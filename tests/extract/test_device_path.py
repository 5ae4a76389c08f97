"""The GPU path of extraction (issue 19) on CPU tensors: no accelerator was lent to this task, so
the code a GPU runs (device buffers, statistics reduced where the tensors are, copies through
:class:`atlas.extract.device.HostCopier`, the overlapped chunk loop) runs here with
``device_path=True`` on a CPU, and the reductions are checked against numpy and exact arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

import atlas
from atlas.extract.device import HostCopier, device_partial, exact_sums, order_keys, partial_stats
from atlas.extract.executor import LocalExecutor, SerialExecutor
from atlas.extract.job import execute, extract
from atlas.extract.models import canonical_dtype
from atlas.extract.stats import StatsMerger, StreamStats, _order_key

from .helpers import make_sentences, store_corpus
from .test_executor import _snapshot

KWARGS = dict(corpus="t", name="b", sites="embed,mlp,resid", progress=False, chunk_words=40, batch_size=4, top_k=7)


def _merged(x: np.ndarray, bounds, k: int, device: bool):
    m = StatsMerger(x.shape[1], len(x), k)
    for r0, r1 in bounds:
        if device:
            part = partial_stats(torch.from_numpy(x[r0:r1].copy()), r0, k)
        else:
            acc = StreamStats(x.shape[1], r1 - r0, k, first_row=r0, floor=m.floor())
            acc.update(x[r0:r1], r0)
            part = acc.partial()
        m.add(part)
    return m.result()


@pytest.mark.parametrize("scale", [0.05, 3.0, 40.0])
def test_device_reduction_on_cpu_tensors_equals_numpy(scale: float) -> None:
    rng = np.random.default_rng(int(scale * 100))
    x = (rng.standard_normal((900, 23)) * scale).astype(np.float16)
    x[:, 0] = 1.0  # ties everywhere
    x[:, 1] = 0.0
    x[::7, 2] = -np.float16(0.0)
    bounds = [(0, 90), (90, 100), (100, 350), (350, 351), (351, 900)]
    a, b = _merged(x, bounds, 9, True), _merged(x, bounds, 9, False)
    for name in ("mean", "min", "max", "fire_rate", "top_rows", "top_values"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # numpy's float64 sums of squares are exact here except at the largest scale, where the
    # device's (exact, rounded once) may differ from them in the last bits
    np.testing.assert_allclose(a.std, b.std, rtol=1e-12, atol=0)
    if scale <= 3.0:
        np.testing.assert_array_equal(a.std, b.std)


def test_exact_sums_are_the_correctly_rounded_sums() -> None:
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.standard_normal((300, 4)) * 1e-3, rng.standard_normal((300, 4)) * 300]).astype(np.float16)
    total, total_sq = exact_sums(torch.from_numpy(x))
    for j in range(4):
        col = [Fraction(float(v)) for v in x[:, j]]
        assert total[j].item() == float(sum(col))
        assert total_sq[j].item() == float(sum(v * v for v in col))  # float(Fraction) rounds correctly


def test_order_keys_match_numpy_and_partial_edge_cases() -> None:
    x = np.array([[1.0, -2.0, 0.0], [-0.0, 65504.0, -65504.0], [6e-8, -6e-8, 0.5]], dtype=np.float16)
    keys = order_keys(torch.from_numpy(x), 10).numpy()
    want = ((_order_key(x).astype(np.int64) + (1 << 15)) << 32) | ((1 << 32) - 1 - (10 + np.arange(3)))[:, None]
    np.testing.assert_array_equal(keys, want)
    empty = device_partial(torch.zeros((0, 3), dtype=torch.float16), 5, 4)
    assert empty.count == 0 and empty.tensors["keys"].shape == (0, 3)
    bad = x.copy()
    bad[0, 0] = np.inf
    part = partial_stats(torch.from_numpy(bad), 0, 2)  # non-finite: the numpy path
    assert part.hi[0] == np.inf and part.total[0] == np.inf


def test_host_copier_on_a_cpu_returns_the_tensors() -> None:
    t = torch.arange(6, dtype=torch.float16)
    copier = HostCopier(torch.device("cpu"))
    assert copier.stream is None
    assert copier.start({"a": t}).wait()["a"] is t


def _device_run(db, folder: str, executor, tmp_path, *, stop_after: int | None = None) -> int:
    """plan_run + execute with device_path=True (the GPU code on a CPU); optionally only the first
    ``stop_after`` chunks, recorded, as a killed run leaves them."""
    from atlas.extract import bookkeeping
    from atlas.extract.layout import load_corpus
    from atlas.extract.models import load_model
    from atlas.extract.options import ExtractOptions, parse_sites
    from atlas.extract.pipeline import ChunkWork
    from atlas.extract.plan import plan_run
    from atlas.extract.runner import ModelRunner

    kw = {k: v for k, v in KWARGS.items() if k not in ("corpus", "progress", "sites")}
    options = ExtractOptions(folder, "t", sites=parse_sites(KWARGS["sites"]), **kw)
    loaded = load_model(folder)
    plan = plan_run(db, options, loaded, load_corpus(db, "t"))
    if stop_after is not None:
        with ChunkWork(db, plan, ModelRunner(loaded), device_path=True) as work:
            for k in range(stop_after):
                r = work.run_chunk(k)
                bookkeeping.record_chunk(db, plan.run_id, r.chunk, r.r0, r.r1)
        plan = plan_run(db, options, loaded, load_corpus(db, "t"))
        assert plan.done == list(range(stop_after))
    return execute(db, plan, ModelRunner(loaded), executor=executor, device_path=True)


def test_device_path_on_a_cpu_gives_the_cpu_paths_bytes(db, tmp_path, tiny_model) -> None:
    sentences = make_sentences(70, seed=33)
    folder = str(tiny_model("bert"))
    store_corpus(db, "t", sentences, tmp_path)
    want = _snapshot(db, extract(db, folder, **KWARGS))
    assert want[3]["chunks_done"] >= 5
    for name, executor, stop in (("local", LocalExecutor(), None), ("serial", SerialExecutor(), None), ("resumed", LocalExecutor(), 2)):
        other = atlas.connect(f"sqlite:///{tmp_path / f'{name}.db'}", store_root=tmp_path / f"{name}-store")
        other.init()
        (tmp_path / name).mkdir()
        store_corpus(other, "t", sentences, tmp_path / name)
        got = _snapshot(other, _device_run(other, folder, executor, tmp_path, stop_after=stop))
        other.close()
        assert got[2] == want[2], name  # file bytes and checksums
        assert got[1] == want[1], name  # top_activation rows
        for g, w in zip(got[0], want[0]):  # neuron_stat: all exact but std (rounded once on the device path)
            assert g[:6] == w[:6] and g[7:] == w[7:] and g[6] == pytest.approx(w[6], rel=1e-12, abs=0), name


def test_dtype_aliases_name_the_same_run(db, tmp_path, tiny_model) -> None:
    assert [canonical_dtype(d) for d in ("bf16", "fp16", "fp32", "float16")] == ["bfloat16", "float16", "float32", "float16"]
    store_corpus(db, "t", make_sentences(12, seed=34), tmp_path)
    folder = str(tiny_model("bert"))
    short = dict(KWARGS, sites="mlp")
    run_id = extract(db, folder, dtype="bf16", **short)
    info = db.run(run_id)
    assert info["status"] == "done" and info["config"]["dtype"] == "bfloat16"
    assert extract(db, folder, dtype="bfloat16", **short) == run_id  # the same run, found by its config


class _RemoteOnThisCPU:
    """An executor whose workers compute (as Ray's): it sees what the driver hands it, then
    computes the chunks itself from the plan, as a worker would, on this CPU."""

    computes_remotely = True

    def map_chunks(self, work, chunk_ids):
        from atlas.extract.pipeline import ChunkWork
        from atlas.extract.plan import ModelSpec, RunPlan

        self.seen = (work.device_path, work.device.type, work.plan.model.device)
        plan = RunPlan.from_json(work.plan.to_json())
        spec = plan.model
        plan.model = ModelSpec(spec.source, spec.revision, spec.dtype, "cpu", spec.random_init, spec.seed, spec.max_length)
        with ChunkWork(work.db, plan, device_path=True) as worker:  # loads the model, as an actor does
            for k in chunk_ids:
                yield worker.process(k)


def test_remote_workers_with_cuda_need_no_gpu_on_the_driver(db, tmp_path, tiny_model) -> None:
    """--executor ray --device cuda: the driver plans on its CPU (no CUDA check there) with the
    device path's reductions; the plan tells the workers to load the model on cuda."""
    store_corpus(db, "t", make_sentences(30, seed=35), tmp_path)
    folder = str(tiny_model("bert"))
    remote = _RemoteOnThisCPU()
    run_id = extract(db, folder, device="cuda", executor=remote, **KWARGS)
    assert remote.seen == (True, "cpu", "cuda")
    info = db.run(run_id)
    assert info["status"] == "done" and info["config"]["device"] == "cuda"
    if not torch.cuda.is_available():
        with pytest.raises(atlas.errors.ExtractionError, match="no CUDA device"):
            extract(db, folder, device="cuda", executor=LocalExecutor(), **dict(KWARGS, name="b2"))
