"""explain() on both backends: the best formula per length stored for every neuron, a planted
formula found, parameter sets kept apart, resumed layers skipped, errors before any write; the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

import atlas.corpus.formula as fm
from atlas.cli import main
from atlas.errors import ExplainError
from atlas.explain.job import MaskSpec, explain
from atlas.store.tables import Explanation

from methods.fixtures import make_run

PLANTED = "upos:ADJ or upos:PART"  # adjectives and "not": no single concept of the tiny corpus


def _plant(db, tiny, unit: int = 2) -> np.ndarray:
    """Unit ``unit`` of mlp.0 fires (> 0) exactly on ``PLANTED``; returns that mask."""
    from atlas.corpus.matrix import evaluate_formula

    target = evaluate_formula(db, tiny.corpus_id, PLANTED)
    rel = f"runs/1-tiny/L00.mlp.npy"
    arr = db.store.open(rel, mode="r+")
    arr[:, unit] = np.where(target, 1.0, -1.0).astype(np.float16)
    db.store.flush(arr)
    return target


def _rows(db, **where):
    e = Explanation.__table__
    stmt = select(e).order_by(e.c.neuron_id, e.c.max_length)
    for key, value in where.items():
        stmt = stmt.where(e.c[key] == value)
    with db.engine.connect() as conn:
        return conn.execute(stmt).mappings().all()


def test_explain_stores_the_planted_formula_and_every_length(db, tmp_path):
    tiny = make_run(db, tmp_path)
    target = _plant(db, tiny)
    result = explain(db, tiny.run_id, layers=[0], sites="mlp", mask="fires", atoms="upos,feat", progress=False)
    assert result["resumed_layers"] == 0 and result["n_neurons"] == 6
    rows = _rows(db)
    assert len(rows) == result["rows"] == 6 * 3
    nid = int(tiny.neuron_ids[("mlp", 0)][2])
    mine = [r for r in rows if r["neuron_id"] == nid]
    assert [r["max_length"] for r in mine] == [1, 2, 3]
    two = mine[1]
    assert two["iou"] == 1.0 and two["length"] == 2
    from atlas.corpus.matrix import evaluate_formula

    assert np.array_equal(evaluate_formula(db, tiny.corpus_id, two["formula"]), target)
    assert two["overlap"] == two["formula_size"] == two["mask_size"]
    assert mine[0]["iou"] < 1.0 and mine[0]["length"] == 1
    for r in rows:  # formulas are canonical text that parses back
        assert fm.to_text(fm.parse_formula(r["formula"])) == r["formula"]
        assert r["params"]["mask"] == "fires" and r["params"]["search"] == "beam" and r["search"] == "beam"
        assert r["score"] == pytest.approx(r["overlap"] / (r["mask_size"] + r["formula_size"] - r["overlap"]))
    scores = [[r["score"] for r in rows if r["neuron_id"] == n] for n in {r["neuron_id"] for r in rows}]
    assert all(a <= b <= c for a, b, c in scores)  # at most l atoms: never worse with more


def test_resume_force_and_parameter_sets(db, tmp_path):
    tiny = make_run(db, tmp_path)
    first = explain(db, tiny.run_id, layers=[0, 1], sites="mlp", length=2, atoms="upos", progress=False)
    assert first["rows"] == 2 * 6 * 2
    again = explain(db, tiny.run_id, layers=[0, 1], sites="mlp", length=2, atoms="upos", progress=False)
    assert again["resumed_layers"] == 2 and again["rows"] == 0
    forced = explain(db, tiny.run_id, layers=[0], sites="mlp", length=2, atoms="upos", force=True, progress=False)
    assert forced["rows"] == 12
    assert len(_rows(db)) == 24  # replaced, not added
    other = explain(db, tiny.run_id, layers=[0], sites="mlp", length=2, atoms="upos", metric="precision", progress=False)
    assert other["params_hash"] != first["params_hash"] and len(_rows(db)) == 36
    units = explain(db, tiny.run_id, layers=[1], sites="resid", units="1,3", length=1, atoms="upos", progress=False)
    assert units["rows"] == 2 and units["n_neurons"] == 2
    grown = explain(db, tiny.run_id, layers=[1], sites="resid", length=1, atoms="upos", progress=False)
    assert grown["resumed_layers"] == 0 and grown["rows"] == 6  # the layer had rows for 2 units only


def test_exact_mode_reports_the_beam_and_is_never_worse(db, tmp_path):
    tiny = make_run(db, tmp_path)
    beam = explain(db, tiny.run_id, layers=[0], sites="mlp", length=3, beam=1, atoms="upos,feat,word", progress=False)
    exact = explain(db, tiny.run_id, layers=[0], sites="mlp", length=3, beam=1, atoms="upos,feat,word", exact=True,
                    progress=False)
    assert set(exact["beam_missed"]) == {1, 2, 3} and exact["beam_missed"][1] == 0
    for b, e in zip(_rows(db, search="beam"), _rows(db, search="exact")):
        assert (b["neuron_id"], b["max_length"]) == (e["neuron_id"], e["max_length"])
        assert e["score"] >= b["score"] - 1e-12
    assert beam["params_hash"] != exact["params_hash"]


@pytest.mark.parametrize("kwargs, message", [
    ({"mask": "alpha=2"}, "unknown neuron mask"),
    ({"metric": "f1"}, "unknown metric"),
    ({"atoms": "upos,colour"}, "unknown atom kind 'colour'"),
    ({"exact": True, "length": 4}, "exact mode"),
    ({"layers": [7]}, "no layer of the run"),
])
def test_errors_write_nothing(db, tmp_path, kwargs, message):
    tiny = make_run(db, tmp_path)
    with pytest.raises(ExplainError, match=message):
        explain(db, tiny.run_id, progress=False, **kwargs)
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Explanation.__table__)).scalar_one() == 0


def test_mask_spec() -> None:
    assert MaskSpec.parse("top") == MaskSpec("top", 0.005)
    assert MaskSpec.parse("top:0.02").text() == "alpha=0.02"
    with pytest.raises(ExplainError):
        MaskSpec.parse("size")


def test_cli_explain(db_url, tmp_path, capsys):
    import atlas

    db = atlas.connect(db_url, store_root=tmp_path / "store")
    tiny = make_run(db, tmp_path)
    code = main(["explain", "--db", db_url, "--store", str(tmp_path / "store"), "--run", str(tiny.run_id),
                 "--layers", "0", "--sites", "mlp", "--length", "2", "--atoms", "upos", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "12 explanations stored" in out and "length <= 2: mean iou" in out
    code = main(["explain", "--db", db_url, "--store", str(tmp_path / "store"), "--run", str(tiny.run_id), "--mask", "bad"])
    assert code == 1 and "error: unknown neuron mask 'bad'" in capsys.readouterr().err


def test_stored_explanations_answer_queries(db, tmp_path):
    """The job's rows, read back through the query language (explain N, explanation predicates)."""
    tiny = make_run(db, tmp_path)
    _plant(db, tiny)
    explain(db, tiny.run_id, layers=[0], sites="mlp", mask="fires", atoms="upos,feat", progress=False)
    shown = db.query("explain tiny/mlp.0/2")
    assert shown["max_length"].tolist() == [1, 2, 3] and shown["iou"].tolist()[1:] == [1.0, 1.0]
    formula = shown["formula"].tolist()[1]
    found = db.query(f"neurons in tiny where explanation = {formula!r}")
    assert found["neuron"].tolist() == ["tiny/mlp.0/2"]
    mentioned = db.query(f"neurons in tiny where explanation mentions {formula.split()[0]} and explanation iou = 1")
    assert mentioned["neuron"].tolist() == ["tiny/mlp.0/2"]
    counted = db.query("count neurons in tiny where explanation iou >= 0 by layer")
    assert counted["n_matching"].tolist() == [6, 0]
    assert db.neuron("tiny/mlp.0/2")["explanations"]["formula"].tolist() == shown["formula"].tolist()


def test_migration_0006_down_and_up_keeps_the_rows(db, tmp_path):
    """Downgrading below 0006 drops the search's columns, not the explanations; upgrading adds
    them back (empty) and the job fills them again."""
    from sqlalchemy import inspect

    from atlas.store import migrate

    tiny = make_run(db, tmp_path)
    explain(db, tiny.run_id, layers=[0], sites="mlp", length=2, atoms="upos", progress=False)
    migrate.downgrade(db.engine, "0003")
    columns = {c["name"] for c in inspect(db.engine).get_columns("explanation")}
    assert {"formula", "iou", "length", "params"} <= columns and not {"score", "params_hash", "max_length"} & columns
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM explanation").scalar_one() == 12
    migrate.upgrade(db.engine)
    assert len(_rows(db)) == 12 and all(r["params_hash"] is None for r in _rows(db))
    again = explain(db, tiny.run_id, layers=[0], sites="mlp", length=2, atoms="upos", progress=False)
    assert again["rows"] == 12 and len(_rows(db, params_hash=again["params_hash"])) == 12
