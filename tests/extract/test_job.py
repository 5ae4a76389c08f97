"""The job: statistics and top-k, reruns, random init, provenance, errors, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from atlas.cli import main
from atlas.errors import ExtractionError
from atlas.extract.adapters import adapter_for
from atlas.extract.job import extract, list_runs, resolve_run, show_run
from atlas.store.tables import ActivationFile, Layer, Model, Neuron, NeuronStat, Run, RunChunk, TopActivation

from .helpers import make_sentences, store_corpus, stored_checksum


def test_stats_and_topk_match_numpy(db, tmp_path, tiny_model) -> None:
    store_corpus(db, "t", make_sentences(40, seed=4), tmp_path)
    run_id = extract(db, str(tiny_model("bert")), corpus="t", name="b", sites="mlp", layers="0",
                     progress=False, chunk_words=60, top_k=5)
    with db.engine.connect() as conn:
        rel, layer_id = conn.execute(select(ActivationFile.path, ActivationFile.layer_id).where(ActivationFile.run_id == run_id)).one()
        stats = conn.execute(
            select(Neuron.unit, NeuronStat.count, NeuronStat.mean, NeuronStat.std, NeuronStat.min, NeuronStat.max,
                   NeuronStat.threshold, NeuronStat.fire_rate)
            .join(Neuron, Neuron.id == NeuronStat.neuron_id).where(NeuronStat.run_id == run_id).order_by(Neuron.unit)
        ).all()
        top = conn.execute(
            select(Neuron.unit, TopActivation.rank, TopActivation.row, TopActivation.value)
            .join(Neuron, Neuron.id == TopActivation.neuron_id).where(TopActivation.run_id == run_id)
            .order_by(Neuron.unit, TopActivation.rank)
        ).all()
    x = np.asarray(db.store.open(rel), dtype=np.float64)
    n, width = x.shape
    assert len(stats) == width == 48
    got = np.array([[s.count, s.mean, s.std, s.min, s.max, s.fire_rate] for s in stats])
    want = np.stack([np.full(width, n), x.mean(0), x.std(0), x.min(0), x.max(0), (x > 0).mean(0)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    # the NetDissect threshold is left to the scoring job (an exact quantile needs memory that
    # grows with the corpus); the corpus methods fill it in
    assert all(s.threshold is None for s in stats)
    from atlas.methods.job import score

    score(db, run_id, methods=["iou"], progress=False)
    with db.engine.connect() as conn:
        thresholds = conn.execute(
            select(NeuronStat.threshold).join(Neuron, Neuron.id == NeuronStat.neuron_id)
            .where(NeuronStat.run_id == run_id).order_by(Neuron.unit)
        ).scalars().all()
    np.testing.assert_array_equal(np.array(thresholds, dtype=np.float64), np.quantile(x, 0.995, axis=0))
    assert len(top) == width * 5
    for unit in range(width):
        rows = [t for t in top if t.unit == unit]
        values = np.array([t.value for t in rows])
        assert np.all(np.diff(values) <= 0)
        np.testing.assert_array_equal(values, np.sort(x[:, unit])[::-1][:5])
        np.testing.assert_array_equal(x[[t.row for t in rows], unit], values)


def test_rerun_is_a_no_op_and_new_config_is_a_new_run(db, tmp_path, tiny_model) -> None:
    store_corpus(db, "t", make_sentences(20, seed=5), tmp_path)
    folder = str(tiny_model("bert"))
    first = extract(db, folder, corpus="t", name="b", progress=False, chunk_words=40)
    with db.engine.connect() as conn:
        chunks = conn.execute(select(func.count()).select_from(RunChunk)).scalar_one()
        stats = conn.execute(select(func.count()).select_from(NeuronStat)).scalar_one()
    assert chunks > 1
    assert extract(db, folder, corpus="t", name="b", progress=False, chunk_words=40) == first
    other = extract(db, folder, corpus="t", name="b", progress=False, chunk_words=40, aggregation="last")
    assert other != first
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RunChunk).where(RunChunk.run_id == first)).scalar_one() == chunks
        assert conn.execute(select(func.count()).select_from(NeuronStat).where(NeuronStat.run_id == first)).scalar_one() == stats
        assert conn.execute(select(func.count()).select_from(Model)).scalar_one() == 1  # same model row reused
        runs = conn.execute(select(Run.status, Run.rows_done, Run.n_words)).all()
    assert all(r.status == "done" and r.rows_done == r.n_words for r in runs)
    frame = list_runs(db)
    assert list(frame["id"]) == [first, other] and set(frame["status"]) == {"done"}


def test_random_init_is_its_own_model(db, tmp_path, tiny_model) -> None:
    store_corpus(db, "t", make_sentences(8, seed=6), tmp_path)
    folder = str(tiny_model("bert"))
    trained = extract(db, folder, corpus="t", name="b", sites="mlp", progress=False)
    # (the tiny test model itself is a seed-0 initialisation, so the control uses seed 1)
    random_run = extract(db, folder, corpus="t", name="b", sites="mlp", random_init=True, seed=1, progress=False)
    with db.engine.connect() as conn:
        models = {m.name: m for m in conn.execute(select(Model.__table__))}
    assert set(models) == {"b", "b-random"}
    assert models["b-random"].random_init and models["b-random"].parent_id == models["b"].id
    a = np.asarray(db.store.open(show_run(db, trained)["files"][0]["path"]))
    b = np.asarray(db.store.open(show_run(db, random_run)["files"][0]["path"]))
    assert a.shape == b.shape and not np.allclose(a, b)
    # the same seed gives the same random model: a rerun is the same run
    assert extract(db, folder, corpus="t", name="b", sites="mlp", random_init=True, seed=1, progress=False) == random_run


def test_provenance_is_recorded(db, tmp_path, tiny_model) -> None:
    store_corpus(db, "t", make_sentences(8, seed=7), tmp_path)
    run_id = extract(db, str(tiny_model("gpt2")), corpus="t", name="g", sites="mlp,resid", layers="1",
                     batch_size=3, dtype="bfloat16", progress=False)
    info = show_run(db, "g")
    prov = info["provenance"]
    assert info["id"] == run_id and info["status"] == "done" and info["revision"].startswith("sha256:")
    assert prov["architecture"] == "GPT2Model" and prov["family"] == "gpt2"
    assert prov["hook_points"] == {"mlp.1": "h.1.mlp.c_proj:input", "resid.1": "h.1:output"}
    assert prov["dtype"] == "bfloat16" and prov["batch_size"] == 3 and prov["device"] == "cpu"
    assert {"torch", "transformers", "python"} <= set(prov["versions"]) and prov["host"]
    assert prov["words_per_s"] > 0 and info["finished_at"] and all(f["sha256"] for f in info["files"])
    for f in info["files"]:
        assert stored_checksum(db, run_id, f) == f["sha256"]


def test_bad_input_raises_and_changes_nothing(db, tmp_path, tiny_model) -> None:
    store_corpus(db, "t", make_sentences(4, seed=8), tmp_path)
    folder = str(tiny_model("bert"))
    cases = [
        dict(corpus="nope"),
        dict(corpus="t", sites="mlp,attn"),
        dict(corpus="t", layers="0-7"),
        dict(corpus="t", layers="x"),
        dict(corpus="t", aggregation="max"),
        dict(corpus="t", dtype="int8"),
        dict(corpus="t", device="tpu"),
        dict(corpus="t", batch_size=0),
    ]
    for kwargs in cases:
        with pytest.raises(ExtractionError) as info:
            extract(db, folder, progress=False, **kwargs)
        assert str(info.value)
    with pytest.raises(ExtractionError, match="does not exist"):
        extract(db, str(tmp_path / "no-such-model"), corpus="t", progress=False)
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(Layer)).scalar_one() == 0
    extract(db, folder, corpus="t", name="b", sites="mlp", progress=False)
    with pytest.raises(ExtractionError, match="already belongs"):
        extract(db, str(tiny_model("gpt2")), corpus="t", name="b", progress=False)
    with pytest.raises(ExtractionError, match="did you mean 'b'"):
        resolve_run(db, "bb")
    with pytest.raises(ExtractionError):
        resolve_run(db, 999)


def test_unsupported_architecture_names_the_adapter() -> None:
    from transformers import MPNetConfig

    with pytest.raises(ExtractionError) as info:
        adapter_for(MPNetConfig())
    assert "mpnet" in str(info.value) and "atlas/extract/adapters.py" in str(info.value)


def test_cuda_unavailable_is_a_clear_error(db, tmp_path, tiny_model) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    store_corpus(db, "t", make_sentences(2), tmp_path)
    with pytest.raises(ExtractionError, match="no CUDA device"):
        extract(db, str(tiny_model("bert")), corpus="t", device="cuda", progress=False)


def test_cli_extract_and_run_commands(db, db_url, tmp_path, tiny_model, capsys) -> None:
    store_corpus(db, "t", make_sentences(6, seed=9), tmp_path)
    common = ["--db", db_url, "--store", str(db.store.root)]
    assert main(["extract", str(tiny_model("distilbert")), "--corpus", "t", "--as", "d", "--sites", "mlp",
                 "--quiet", *common]) == 0
    out = capsys.readouterr().out
    assert "run 1 done: d on t" in out
    assert main(["run", "list", *common]) == 0
    out = capsys.readouterr().out
    assert "done" in out and " d " in out
    assert main(["run", "show", "d", *common]) == 0
    out = capsys.readouterr().out
    assert "transformer.layer.1.ffn.lin2:input" in out and "width 40" in out
    assert main(["run", "show", "1", "--json", *common]) == 0
    assert '"status": "done"' in capsys.readouterr().out
    assert main(["extract", str(tiny_model("bert")), "--corpus", "tt", *common]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no corpus named 'tt'") and "did you mean 't'" in err and "Traceback" not in err


def test_bytes_do_not_depend_on_the_number_of_cores(db, tmp_path, tiny_model) -> None:
    """Batches run one per core, each on one core: the files are the same bytes whatever the
    core count (a run resumed on another machine of the same kind stays byte-identical), and
    torch's thread setting is restored afterwards."""
    import torch

    import atlas
    from atlas.extract.pipeline import compute_threads

    sentences = make_sentences(50, seed=21)
    folder = str(tiny_model("bert"))
    before = torch.get_num_threads()
    files = []
    try:
        for threads, target in ((1, db), (2, None)):
            torch.set_num_threads(threads)
            if target is None:
                (tmp_path / "two").mkdir()
                target = atlas.connect(f"sqlite:///{tmp_path / 'two.db'}", store_root=tmp_path / "two-store")
                target.init()
            store_corpus(target, "t", sentences, tmp_path / ("two" if threads == 2 else ""))
            assert compute_threads(torch.device("cpu")) == threads
            run_id = extract(target, folder, corpus="t", name="b", progress=False, chunk_words=64, batch_size=4)
            assert torch.get_num_threads() == threads  # restored
            info = show_run(target, run_id)
            files.append({f["layer"]: (f["sha256"], target.store.path(f["path"]).read_bytes()) for f in info["files"]})
    finally:
        torch.set_num_threads(before)
    one, two = files
    assert one.keys() == two.keys() and len(one) == 4  # mlp + resid of 2 blocks
    for layer in one:
        assert one[layer] == two[layer], layer


def test_a_plan_that_misses_a_row_is_refused() -> None:
    """Chunk buffers are not zeroed: the job checks that the batches give every row once."""
    from types import SimpleNamespace

    from atlas.extract.pipeline import check_cover as _check_cover

    batch = lambda rows: SimpleNamespace(rows=np.asarray(rows, dtype=np.int64))  # noqa: E731
    _check_cover(SimpleNamespace(batches=[batch([2, 0]), batch([1, 3])]), 10, 14)
    for batches in ([batch([0, 1, 2])], [batch([0, 1, 2, 2])], [batch([0, 1]), batch([1, 3])]):
        with pytest.raises(ExtractionError, match="cover"):
            _check_cover(SimpleNamespace(batches=batches), 10, 14)


def test_options_and_run_reading_do_not_import_torch() -> None:
    """The command line parses --sites/--layers and lists runs without loading torch."""
    import subprocess
    import sys

    code = (
        "import sys; import atlas.extract as e; import atlas.extract.options, atlas.extract.runs, atlas.extract.job; "
        "e.parse_sites('mlp'); e.show_run; e.list_runs; e.resolve_run; e.default_name; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
