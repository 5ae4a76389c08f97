"""Hostile names come back as data on both backends: quotes, semicolons, comments, unicode, keywords."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from atlas.query.api import compile_query, run_query
from atlas.query.canonical import quote
from atlas.store import scores
from atlas.store.tables import Concept, Model, Neuron, ScoreVector

HOSTILE = [
    "it's",
    'say "hi"',
    "semi;colon",
    "dash -- comment",
    "Robert'); DROP TABLE score;--",
    "where",
    "naïve ☃ 概念",
    "back\\slash",
    "%_like",
]


def _add_hostile(db: Any, data: Any) -> dict[str, float]:
    """Hostile concepts with one known score for bert/mlp.0/0 each."""
    expected = {}
    nid = int(data.neurons[(data.neurons.model == "bert") & (data.neurons.site == "mlp") & (data.neurons.layer == 0) & (data.neurons.unit == 0)].id.iloc[0])
    with db.write() as conn:
        layer_id = conn.execute(select(Neuron.layer_id).where(Neuron.id == nid)).scalar_one()
        for i, name in enumerate(HOSTILE):
            cid = 1000 + i
            conn.execute(insert(Concept), [dict(id=cid, name=name, kind="named", level="token", builtin=False)])
            value = round(0.1 + i / 100, 3)
            (set_id,) = scores.open_sets(conn, data.runs["bert"], data.method_ids["iou"], [cid])
            scores.write_layer(conn, [set_id], layer_id, np.array([[value]]))  # unit 0 only
            scores.complete_sets(conn, [set_id])
            expected[name] = value
    return expected


def test_hostile_concept_names_are_bound_values(fx: tuple[Any, Any]) -> None:
    db, data = fx
    expected = _add_hostile(db, data)
    with db.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(ScoreVector)).scalar_one()
    for name, value in expected.items():
        text = f"neurons in bert layer=0 where iou({quote(name)}) > 0"
        frame = run_query(db, text)
        assert list(frame["neuron"]) == ["bert/mlp.0/0"], name
        assert list(frame.columns)[-1] == f"iou({quote(name)})"
        assert frame.iloc[0, -1] == value
        sql = compile_query(db, text).split("-- parameters:")[0]
        assert name not in sql
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ScoreVector)).scalar_one() == before


def test_hostile_patterns_and_model_names(fx: tuple[Any, Any]) -> None:
    db, data = fx
    _add_hostile(db, data)
    frame = run_query(db, 'show concepts like "%\'%"')
    assert set(frame["name"]) == {"it's", "Robert'); DROP TABLE score;--"}
    frame = run_query(db, 'show concepts like "%☃%"')
    assert list(frame["name"]) == ["naïve ☃ 概念"]
    with db.write() as conn:
        conn.execute(insert(Model), [dict(id=99, name="x'; DROP TABLE neuron;--", source="s", architecture="a", family="f", n_layers=1, d_model=1, d_mlp=1)])
    frame = run_query(db, "count neurons in \"x'; DROP TABLE neuron;--\"")
    assert len(frame) == 0  # a model without neurons: no groups, and the neuron table is intact
    assert len(run_query(db, "neurons in bert", limit=5)) == 5


def test_keywords_as_names_need_quotes(fx: tuple[Any, Any]) -> None:
    db, data = fx
    _add_hostile(db, data)
    frame = run_query(db, 'neurons in bert where iou("where") > 0')
    assert list(frame["neuron"]) == ["bert/mlp.0/0"]
