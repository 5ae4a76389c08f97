"""Issue 13 (query language): method parameters in calls, aggregate statements, ``probes``.

References are computed in pandas from what the fixture wrote (``FixtureData``), independently
of the compiler; each test runs on both backends through ``fx``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update

import atlas.query.binder as binder
from atlas.errors import QueryNameError, QuerySyntaxError, QueryTypeError
from atlas.query.api import describe_query, format_query, run_query
from atlas.query.binder import bind
from atlas.query.parser import parse
from atlas.store.tables import Method


def _source(db: Any, text: str, model: str) -> Any:
    bound = bind(db.engine, parse(text))
    info = {m.name: m for m in bound.models}[model]
    return info.sets[bound.refs[0].key], bound


@pytest.mark.parametrize(
    ("call", "variant"),
    [
        ("iou(noun)", False),  # the default parameterisation, though a newer row exists
        ("iou[alpha=0.01](noun)", True),
        ("iou[0.01](noun)", True),  # a bare value: the parameter that takes it (alpha)
        ("iou[alpha=0.005, mask=top](noun)", False),  # the defaults, spelled out
        ("iou[top](noun)", False),
    ],
)
def test_a_call_reads_the_parameterisation_it_names(fx: tuple[Any, Any], call: str, variant: bool) -> None:
    db, data = fx
    source, bound = _source(db, f"neurons in gpt2 where {call} > 0", "gpt2")
    expected = data.extra["iou_variant"] if variant else data.method_ids["iou"]
    assert (source.run_id, source.method_id, source.fallback) == (data.runs["gpt2"], expected, False)
    assert bound.warnings == []


def test_parameterised_values_are_the_variant_rows(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    frame = run_query(db, "neurons in gpt2 layer = 1 where has iou[alpha=0.01](noun) and has iou(noun)")
    assert list(frame.columns[-2:]) == ["iou[alpha=0.01](noun)", "iou(noun)"]
    assert not np.allclose(frame["iou[alpha=0.01](noun)"], frame["iou(noun)"])
    sources = {s["score"]: s for s in frame.attrs["sources"]}
    assert sources["iou[alpha=0.01](noun)"]["params"] == '{"alpha":0.01}'
    assert sources["iou(noun)"]["params"] == "{}"


def test_without_a_stored_default_the_newest_is_read_with_a_warning(fx: tuple[Any, Any]) -> None:
    db, data = fx
    with db.engine.begin() as conn:  # no iou row has the default parameters any more
        conn.execute(update(Method).where(Method.name == "iou", Method.id != data.extra["iou_variant"]).values(params={"alpha": 0.02}))
    source, bound = _source(db, "neurons in gpt2 where iou(noun) > 0", "gpt2")
    assert source.method_id == data.extra["iou_variant"] and source.fallback
    assert any("read the parameterisation {\"alpha\":0.01}" in w for w in bound.warnings)


def test_a_bare_value_two_parameters_take_is_ambiguous(fx: tuple[Any, Any], monkeypatch: Any) -> None:
    db, _ = fx
    monkeypatch.setattr(binder, "_param_values", lambda method, conn: {"mask": {"fires", "top"}, "rule": {"fires"}})
    with pytest.raises(QueryNameError, match=r"more than one parameter \(mask, rule\) of iou takes the value fires") as info:
        run_query(db, "neurons in bert where iou[fires](noun) > 0")
    assert info.value.hint == "write mask=fires"


def test_parameter_syntax_errors() -> None:
    with pytest.raises(QuerySyntaxError, match="given with '='"):
        parse("neurons in b where iou[alpha<1](noun) > 0")
    with pytest.raises(QuerySyntaxError):
        parse("neurons in b where iou[](noun) > 0")


def test_params_format_round_trip() -> None:
    text = 'neurons in b where IOU[ threshold="positive" ,alpha = 1e-2 ](noun) > 0 order by iou["x y"](noun)'
    canonical = format_query(text)
    assert canonical == 'neurons in b where IOU[threshold=positive, alpha=0.01](noun) > 0 order by iou["x y"](noun)'
    assert parse(canonical) == parse(text) and format_query(canonical) == canonical


def _reference(data: Any, model: str, score: str, cond: Any, by: str) -> pd.DataFrame:
    wide = data.wide()
    wide = wide[(wide["model"] == model) & (wide["site"] == "mlp")]
    values = wide[score].where(cond(wide))
    keys = wide[by] if by == "layer" else pd.Series(model, index=wide.index)
    return values.groupby(keys).agg(["max", "min", "mean", "median", "count"])


@pytest.mark.parametrize("func", ["max", "min", "mean", "median"])
def test_aggregates_match_pandas(fx: tuple[Any, Any], func: str) -> None:
    db, data = fx
    frame = run_query(db, f"{func} ap(noun) in minilm where selectivity(negation) > 0.5 by layer")
    ref = _reference(data, "minilm", "ap(noun)", lambda w: w["selectivity(negation)"] > np.float32(0.5), "layer")
    assert list(frame.columns) == ["model", "layer", "n_neurons", "n_values", f"{func} ap(noun)"]
    assert frame["layer"].tolist() == list(range(6)) and (frame["n_neurons"] == 8).all()
    assert frame["n_values"].tolist() == ref["count"].tolist()
    np.testing.assert_allclose(frame[f"{func} ap(noun)"].to_numpy(), ref[func].to_numpy(), rtol=1e-6)


def test_median_of_even_and_odd_groups(fx: tuple[Any, Any]) -> None:
    db, data = fx
    frame = run_query(db, "median iou(noun) in bert, gpt2")
    for model in ("bert", "gpt2"):
        ref = _reference(data, model, "iou(noun)", lambda w: w["iou(noun)"].notna(), "model")
        got = frame.loc[frame["model"] == model, "median iou(noun)"].item()
        assert got == pytest.approx(ref["median"].item(), rel=1e-6)


def test_an_aggregate_group_without_values_is_listed(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    frame = run_query(db, "max ap(noun) in minilm where ap(noun) > 2 by layer")
    assert len(frame) == 6 and (frame["n_values"] == 0).all() and frame["max ap(noun)"].isna().all()


def test_probes_read_the_latest_done_run_only(fx: tuple[Any, Any]) -> None:
    db, data = fx
    frame = run_query(db, "probes in bert where task = upos and metric = accuracy")
    assert frame.attrs["sources"] == [{"score": "probes", "model": "bert", "run": data.runs["bert"], "method_id": None,
                                       "params": None, "set": None}]
    assert frame["layer"].tolist() == list(range(12)) and set(frame["metric"]) == {"accuracy"}
    wide = run_query(db, "probes in bert layer = 3 by layer")
    assert list(wide.columns) == ["model", "method", "params", "site", "layer", "task", "accuracy", "bottom",
                                  "control_accuracy", "majority", "random", "top"]
    assert wide["task"].tolist() == ["negation", "upos"]


def test_probes_conditions(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    frame = run_query(db, 'probes in minilm where task = "upos" and value between 0.2 and 0.8 and method != probe')
    assert frame.empty
    frame = run_query(db, "probes in minilm where not task = upos and value > 0.5")
    assert set(frame["task"]) == {"negation"} and (frame["value"] > 0.5).all()
    with pytest.raises(QueryTypeError, match="task is a name: compare it with = or !="):
        run_query(db, "probes in minilm where task > upos")
    with pytest.raises(QueryNameError, match="probes have no field 'unit'"):
        run_query(db, "probes in minilm where unit > 1")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("neurons in bert where iou[alpha=0.01](noun) > 0.3",
         "mlp neurons of bert whose iou (alpha=0.01) with noun is above 0.3 (first 100, by model, layer and unit)"),
        ("max ap(noun) in minilm layer > 2 by layer", "the highest ap for noun over the mlp neurons of minilm in layers above 2, per layer"),
        ("median iou(noun) in bert where selectivity(negation) > 0.5",
         "the median iou with noun over the mlp neurons of bert whose selectivity for negation is above 0.5, per model"),
        ("probes in minilm where task = upos by layer",
         "the stored probe results of minilm where the task is upos, a column per metric, per layer and task"),
        ("probes in bert, gpt2 where value > 0.5", "the stored probe results of bert, gpt2 where the value is above 0.5, a row per layer, task and metric"),
    ],
)
def test_describe_the_new_forms(text: str, sentence: str) -> None:
    assert describe_query(text) == sentence


def test_count_by_concept_matches_pandas(fx: tuple[Any, Any]) -> None:
    db, data = fx
    frame = run_query(db, "count neurons in minilm where ap(*) > 0.8 by concept")
    wide = data.wide()
    wide = wide[(wide["model"] == "minilm") & (wide["site"] == "mlp")]
    concepts = sorted(data.concept_ids, key=lambda c: c.encode())
    assert frame["concept"].tolist() == concepts and (frame["n_neurons"] == len(wide)).all()
    expected = [int((wide[f"ap({c})"] > np.float32(0.8)).sum()) for c in concepts]
    assert frame["n_matching"].tolist() == expected
    assert {s["n_concepts"] for s in frame.attrs["sources"]} == {len(concepts)}


def test_an_aggregate_by_concept_matches_pandas(fx: tuple[Any, Any]) -> None:
    db, data = fx
    frame = run_query(db, "max ap(*) in minilm where iou(noun) > 0.2 by concept")
    wide = data.wide()
    wide = wide[(wide["model"] == "minilm") & (wide["site"] == "mlp")]
    for concept, got in zip(frame["concept"], frame["max ap(*)"]):
        ref = wide[f"ap({concept})"].where(wide["iou(noun)"] > np.float32(0.2)).max()
        assert got == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("count neurons in minilm where ap(*) > 0.8", "ap(*) is one score per concept: group the answer by concept"),
        ("count neurons in minilm where ap(noun) > 0.8 by concept", "by concept needs a score over every concept"),
        ("count neurons in minilm where ap(*) > 0.8 and iou(*) > 0 by concept", "one method over every concept"),
        ("neurons in minilm where ap(*) > 0.8", "works in 'count ... by concept'"),
    ],
)
def test_every_concept_errors(fx: tuple[Any, Any], text: str, message: str) -> None:
    db, _ = fx
    with pytest.raises(QueryTypeError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        run_query(db, text)
