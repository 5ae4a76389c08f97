"""Error-message snapshots: ``queries/errors/*.nql`` → the rendered ``.txt`` (on both backends).

Known-bad messages (PRQL's idea) are listed at the end: they pass today, and the assertion
documents what a better message would say.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from atlas.errors import QueryError, QueryNameError, QuerySyntaxError, QueryTypeError
from atlas.query.api import run_query
from atlas.query.errors import render

ERRORS = Path(__file__).resolve().parents[2] / "queries" / "errors"
UPDATE = os.environ.get("ATLAS_UPDATE_GOLDENS") == "1"


def test_error_snapshots(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    problems = []
    paths = sorted(ERRORS.glob("*.nql"))
    assert len(paths) >= 12
    for path in paths:
        text = path.read_text(encoding="utf-8").rstrip("\n")
        try:
            run_query(db, text)
        except QueryError as exc:
            actual = render(exc) + "\n"
        else:
            problems.append(f"{path.name}: no error raised")
            continue
        assert "Traceback" not in actual
        snap = path.with_suffix(".txt")
        if UPDATE or not snap.exists():
            snap.write_text(actual, encoding="utf-8")
            if not UPDATE:
                problems.append(f"{snap.name}: written (was missing)")
        elif snap.read_text(encoding="utf-8") != actual:
            problems.append(f"{snap.name}:\n--- expected\n{snap.read_text()}\n--- actual\n{actual}")
    assert not problems, "\n\n".join(problems)


def test_the_issue_messages_word_for_word(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    cases = [
        ("neurons in bert where selectivity(negaton) > 0.5", QueryNameError, "unknown concept 'negaton'; did you mean 'negation'?"),
        ("neurons in minilm layer=14", QueryTypeError, "layer 14 is out of range for minilm (0-5)"),
        ("neurons in bert where iou(noun) >", QuerySyntaxError, "the query ended early: expected a number after '>'"),
    ]
    for text, cls, first_line in cases:
        with pytest.raises(cls) as info:
            run_query(db, text)
        lines = render(info.value).splitlines()
        assert lines[0] == f"error: {first_line}"
        caret = lines[2]
        start = caret.index("^")
        assert lines[1][start] != " "  # the caret sits under text


def test_all_binder_errors_are_reported_at_once(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    with pytest.raises(QueryError) as info:
        run_query(db, "neurons in bert where selectivty(negaton) > 0.5 and iou(nuon) > 0.3")
    errors = info.value.errors  # type: ignore[attr-defined]
    messages = sorted(e.message.split(" (and")[0] for e in errors)
    assert messages == ["unknown concept 'negaton'", "unknown concept 'nuon'", "unknown method 'selectivty'"]
    assert render(info.value).count("error:") == 3


# -- known-bad messages: they work, but could be better -----------------------------------------


def test_known_bad_keyword_as_model_name(fx: tuple[Any, Any]) -> None:
    # 'where' right after 'in' is read as a model name (only names are allowed there), so the
    # error lands on the next word. Better: "the model list is missing before 'where'".
    db, _ = fx
    with pytest.raises(QuerySyntaxError, match="unexpected 'iou'"):
        run_query(db, "neurons in where iou(noun) > 0.3")
