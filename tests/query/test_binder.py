"""The binder: catalog semantics (which run and method row a query reads) and name checks."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.errors import QueryLimitError, QueryNameError, QueryTypeError
from atlas.query.binder import bind
from atlas.query.parser import parse


def test_reads_latest_done_run_and_latest_method_row(fx: tuple[Any, Any]) -> None:
    db, data = fx
    bound = bind(db.engine, parse("neurons in bert, gpt2 where iou(noun) > 0.3"))
    info = {m.name: m for m in bound.models}
    # bert has an older done run and a newer failed run, both with scores: neither is read.
    assert info["bert"].score_run == data.runs["bert"]
    assert info["gpt2"].score_run == data.runs["gpt2"]
    # iou has an older method row with scores in the same runs: the latest row's set is read,
    # from the latest done run (the stale run's sets are newer, and not read).
    noun = data.concept_ids["noun"]
    assert bound.refs[0].concept_id == noun
    for name in ("bert", "gpt2"):
        source = info[name].sets[("iou", noun)]
        assert (source.run_id, source.method_id) == (data.runs[name], data.method_ids["iou"])


@pytest.mark.parametrize(
    ("text", "cls", "message"),
    [
        ("neurons in bret", QueryNameError, "unknown model 'bret'"),
        ("neurons in bert where iou(nonu) > 0", QueryNameError, "unknown concept 'nonu'"),
        ("neurons in bert where iuo(noun) > 0", QueryNameError, "unknown method 'iuo'"),
        ("neurons in bert where iou > 0", QueryNameError, "unknown field 'iou'"),
        ("neurons in gpt2 layer=6", QueryTypeError, "layer 6 is out of range for gpt2 (0-5)"),
        ("neurons in gpt2 layer>5", QueryTypeError, "layer > 5 selects no layer of gpt2 (0-5)"),
        ("neurons in bert depth>1.5", QueryTypeError, "depth is between 0 and 1"),
        ("neurons in bert where 1 > 2", QueryTypeError, "a comparison needs a score or a field"),
        ("neurons in bert where layer is missing", QueryTypeError, "only a score or a statistic can be missing"),
        ("neurons in bert limit 10001", QueryLimitError, "limit 10001 is above the maximum"),
        ("top tokens of bert/resid.3/4", QueryTypeError, "unit 4 is out of range for bert resid (0-3)"),
        ("compare bert where iou(noun) > 0 by unit", QueryNameError, "cannot group by 'unit'"),
    ],
)
def test_binder_errors(fx: tuple[Any, Any], text: str, cls: type, message: str) -> None:
    db, _ = fx
    with pytest.raises(cls) as info:
        bind(db.engine, parse(text), text=text)
    assert info.value.message.startswith(message)
    assert info.value.span is not None and info.value.span != (0, 0)


def test_layer_filter_valid_for_one_of_several_models(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    bound = bind(db.engine, parse("neurons in bert, gpt2 layer>8"))
    assert [m.name for m in bound.models] == ["bert", "gpt2"]


def test_method_without_scores_reads_missing(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    # 'mi' is a known method name with no stored scores: every value is missing (NULL).
    from atlas.query.api import run_query

    frame = run_query(db, "neurons in minilm layer=0 where mi(noun) is missing")
    assert len(frame) == 8 and frame["mi(noun)"].isna().all()
    assert len(run_query(db, "neurons in minilm where mi(noun) > 0")) == 0
