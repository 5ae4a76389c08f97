"""Export and import (issue 18): the fixture atlas exported from one backend and imported into
the other gives the same answers to the golden queries; a model's export alone answers the
queries about it; an import is all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import atlas
from atlas.cli import main
from atlas.errors import KnowledgeBaseError
from atlas.query.views import sections_csv

QUERIES = Path(__file__).resolve().parents[2] / "queries"
#: Golden queries over every model, and those about minilm alone.
GOLDENS = ("count_by_layer", "compare_depth", "aggregate_by_concept", "params_key_value", "latest_method_row",
           "probes_by_layer", "show_runs", "show_models", "top_tokens", "label_filter", "neuron_view_no_activations",
           "words_by_mean", "missing_scores", "explain_view", "similar_to_every_model", "layers_cka",
           "similarity_maxcorr_and_score", "similarity_mincorr_star")
MINILM = ("neuron_view", "notes_of", "words_by_max", "label_not_count")


def _answer(db: Any, name: str) -> str:
    frame = db.query((QUERIES / f"{name}.nql").read_text())
    return sections_csv(frame) + "\n".join(frame.attrs.get("warnings", []))


def _without_partners(answer: str) -> str:
    """An answer without the neuron view's ``similar`` section: a one-model export keeps no
    partners in models it leaves out (a similarity row needs both its neurons)."""
    head, sep, rest = answer.partition("# similar\n")
    return head + (rest[rest.index("\n# "):] if sep and "\n# " in rest else "")


def _other(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> atlas.Atlas:
    if backend == "postgresql":
        target = atlas.connect(f"sqlite:///{tmp_path / 'target.db'}", store_root=tmp_path / "target_store")
        target.init()
        return target
    server = request.getfixturevalue("pg_server")
    name = server.create(template=server.template)
    request.addfinalizer(lambda: server.drop(name))
    target = atlas.connect(server.url(name), store_root=tmp_path / "target_store")
    request.addfinalizer(target.close)
    return target


def test_export_import_across_backends_gives_the_same_answers(fx: tuple[Any, Any], backend: str,
                                                             request: pytest.FixtureRequest, tmp_path: Path) -> None:
    db, _ = fx
    fmt = "csv" if backend == "sqlite" else "jsonl"
    out = tmp_path / "export"
    assert main(["export", "--all", "--out", str(out), "--format", fmt, "--activations", "--db", db.url,
                 "--store", str(db.store.root)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["neuron"]["rows"] > 0 and manifest["activations"]
    target = _other(backend, request, tmp_path)
    assert target.engine.dialect.name != db.engine.dialect.name
    assert main(["import", str(out), "--db", target.url, "--store", str(target.store.root)]) == 0
    for name in GOLDENS + MINILM:
        assert _answer(target, name) == _answer(db, name), name
    # the long-form scores are the view's, value for value
    scores = pd.read_csv(out / "scores.csv") if fmt == "csv" else pd.read_json(out / "scores.jsonl", lines=True)
    with db.engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM score s JOIN run r ON r.id = s.run_id").scalar()
    assert len(scores) == n
    # importing the same export again is refused, and leaves the target as it was
    before = _answer(target, "show_models")
    with pytest.raises(KnowledgeBaseError, match="already has model"):
        target.import_export(out)
    assert _answer(target, "show_models") == before


def test_a_models_export_answers_its_queries(fx: tuple[Any, Any], tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="--format parquet needs the [parquet] extra (pyarrow)")
    db, _ = fx
    out = tmp_path / "minilm"
    manifest = db.export(out, model="minilm", fmt="parquet", activations=True)
    assert manifest["scores"]["rows"] > 0
    target = atlas.connect(f"sqlite:///{tmp_path / 'one.db'}", store_root=tmp_path / "one_store")
    target.init()
    target.import_export(out)
    assert target.query("show models")["name"].tolist() == ["minilm"]
    for name in MINILM:
        assert _without_partners(_answer(target, name)) == _without_partners(_answer(db, name)), name
    with pytest.raises(KnowledgeBaseError, match="not empty"):
        db.export(out, model="minilm")
    with pytest.raises(KnowledgeBaseError, match="unknown model"):
        db.export(tmp_path / "x", model="minlm")
    with pytest.raises(KnowledgeBaseError, match="not an atlas export"):
        target.import_export(tmp_path)


def test_neuron_records_in_openai_and_neuronpedia_formats(fx: tuple[Any, Any], tmp_path: Path) -> None:
    import numpy as np

    db, data = fx
    m = db.export(tmp_path / "oai", model="minilm", fmt="csv", records="openai")
    tops = [t for t in data.extra["top"] if t[0] == data.runs["minilm"]]
    neurons = data.neurons.set_index("id")
    assert m["records"]["neurons"] == len({t[1] for t in tops})
    nid = tops[0][1]
    n = neurons.loc[nid]
    record = json.loads((tmp_path / "oai" / "records" / "openai" / n["site"] / str(n["layer"]) / f"{n['unit']}.json").read_text())
    assert record["dataclass_name"] == "NeuronRecord"
    assert record["neuron_id"] == {"dataclass_name": "NeuronId", "layer_index": int(n["layer"]), "neuron_index": int(n["unit"])}
    firsts = record["most_positive_activation_records"]
    assert len(firsts) == len([t for t in tops if t[1] == nid])
    with db.engine.connect() as conn:
        path = conn.exec_driver_sql(
            f"SELECT f.path FROM activation_file f JOIN layer l ON l.id = f.layer_id WHERE f.run_id = {data.runs['minilm']} "
            f"AND l.site = '{n['site']}' AND l.\"index\" = {int(n['layer'])}").scalar()
        row = tops[0][3]
        sent = conn.exec_driver_sql(f"SELECT s.first_row, s.n_tokens FROM token t JOIN sentence s ON s.id = t.sentence_id "
                                    f"WHERE t.row = {row} AND t.corpus_id = s.corpus_id "
                                    f"AND s.corpus_id = (SELECT corpus_id FROM run WHERE id = {data.runs['minilm']})").first()
    column = np.asarray(db.store.open(path)[:, int(n["unit"])], dtype=np.float64)
    first = firsts[0]
    assert len(first["tokens"]) == len(first["activations"]) == sent[1]
    assert np.allclose(first["activations"], column[sent[0]:sent[0] + sent[1]])
    db.export(tmp_path / "np", model="minilm", fmt="csv", records="neuronpedia")
    feature = json.loads((tmp_path / "np" / "records" / "neuronpedia" / "0-mlp" / "0.json").read_text())
    assert feature["modelId"] == "minilm" and feature["layer"] == "0-mlp" and feature["index"] == "0"
    assert {"description": "negation detector", "typeName": "atlas-label"} in feature["explanations"]
    act = feature["activations"][0]
    assert act["maxValue"] == max(act["values"]) and act["values"][act["maxValueTokenIndex"]] == act["maxValue"]
