"""The prefilter changes the work, never the answer: every golden query, and a batch of
comparisons at the edges of float32 and NaN, answer the same with it forced on (both backends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import atlas.query.prefilter as prefilter
from atlas.query.api import compile_query, run_query
from atlas.query.binder import bind
from atlas.query.parser import parse

QUERIES = Path(__file__).resolve().parents[2] / "queries"

EDGES = [
    "neurons in bert, gpt2 where iou(noun) > 0.3 and selectivity(negation) <= 0.5 limit 1000",
    "neurons in bert where 0.3 < iou(noun) limit 1000",
    "neurons in bert where iou(noun) = 0.3 or iou(noun) = 0.5 limit 1000",
    "neurons in bert where iou(noun) != 0.3 limit 1000",
    "neurons in gpt2 where ap(past_tense) between 0.2 and 0.4 and has iou(noun) limit 1000",
    "neurons in bert layer > 3 where iou(noun) > 2 limit 1000",  # nothing passes
    "count neurons in bert, gpt2, minilm where iou(noun) > 0.3 and ap(past_tense) > 0.1 by layer",
    "count neurons in bert where iou(plural) >= 0 by depth",
]


def _frames(db: Any, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    plain = run_query(db, text, timeout_s=60).to_csv(index=False)
    with monkeypatch.context() as m:
        m.setattr(prefilter, "MIN_NEURONS", 0)
        forced = run_query(db, text, timeout_s=60).to_csv(index=False)
    return plain, forced


def test_every_golden_query_answers_the_same_with_the_prefilter(fx: tuple[Any, Any], monkeypatch):
    db, _ = fx
    texts = [p.read_text(encoding="utf-8").strip() for p in sorted(QUERIES.glob("*.nql"))]
    assert len(texts) > 20
    for text in texts + EDGES:
        plain, forced = _frames(db, text, monkeypatch)
        assert plain == forced, text


def test_the_prefilter_engages_and_restricts_the_sql(fx: tuple[Any, Any], monkeypatch):
    db, _ = fx
    text = "neurons in bert, gpt2 where iou(noun) > 0.3 and selectivity(negation) > 0.5"
    assert bind(db.engine, parse(text)).candidates is None  # a small atlas: no prefilter
    monkeypatch.setattr(prefilter, "MIN_NEURONS", 0)
    found = bind(db.engine, parse(text)).candidates
    assert found is not None and 0 < sum(map(len, found.values())) < 18 * 8
    assert "neuron.unit IN" in compile_query(db, text)
    nothing = bind(db.engine, parse("neurons in bert where iou(noun) > 2")).candidates
    assert nothing == {}
    assert len(run_query(db, "neurons in bert where iou(noun) > 2")) == 0
