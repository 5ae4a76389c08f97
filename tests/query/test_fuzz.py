"""Property-based fuzz of the whole query path on both backends: any query-like text either
answers or fails as a :class:`~atlas.errors.QueryError` (syntax, names, types, limits,
time limit), never another exception. ``bench/fuzz_query.py`` runs the same texts by the
100,000 (figures in ``bench/results/``).

Sized for CI: about 2,000 texts on SQLite and 1,000 on PostgreSQL, each under a 2 s limit
(``ATLAS_FUZZ_EXAMPLES`` overrides the SQLite count; PostgreSQL runs half of it).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from atlas.errors import QueryError
from atlas.query.api import run_query
from fuzz_texts import texts

EXAMPLES = int(os.environ.get("ATLAS_FUZZ_EXAMPLES", "2000"))


def _fuzz(db: Any, n: int) -> None:
    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(texts)
    def run(text: str) -> None:
        try:
            run_query(db, text, timeout_s=2)
        except QueryError:
            pass

    run()


def test_any_text_answers_or_fails_as_a_query_error(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    _fuzz(db, EXAMPLES if db.engine.dialect.name == "sqlite" else max(1, EXAMPLES // 2))


@pytest.mark.parametrize(
    "text",
    [
        "neurons in minilm layer < 9223372036854775808",
        "count neurons in minilm layer in 0..2147483648",
        'neurons in "\ud800"',
        'neurons in "a\x00b"',
        'show concepts like "\\\\"',
        "neurons in minilm where iou(noun) > 1e400 or fire_rate < -1e999",
        "neurons in minilm where iou(noun and not plural) > 0.2",
        "top tokens of bert/resid.0/99999999999999999999",
        "neurons in minilm where unit < 99999999999",
    ],
)
def test_the_audit_inputs(fx: tuple[Any, Any], text: str) -> None:
    db, _ = fx
    with pytest.raises(QueryError):
        run_query(db, text, timeout_s=2)
