"""Issue 12 regressions for the query language, on both backends: every case the audit found
(huge numbers, unstorable text, ``--explain`` of statistics, time limits, silent surprises,
one error boundary)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy.exc import OperationalError

from atlas.cli import main
from atlas.errors import QueryError, QueryLimitError, QueryNameError, QuerySyntaxError, QueryTypeError, StoreBusyError
from atlas.query.api import run_query
from atlas.query.errors import render
from atlas.store.tables import Concept

ROOT = Path(__file__).resolve().parents[2]


def _error(db: Any, text: str, kind: type[QueryError] = QueryError, **kwargs: Any) -> QueryError:
    with pytest.raises(kind) as info:
        run_query(db, text, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("neurons in minilm layer < 9223372036854775808", "layer < 9223372036854775808"),
        ("count neurons in minilm layer in 0..2147483648", "layer in 0..2147483648"),
        ("neurons in minilm where layer > 9223372036854775808", "9223372036854775808"),
        ("neurons in minilm where unit between 0 and 99999999999", "99999999999"),
        ("neurons in minilm where iou(noun) > 1e400", "1e400"),
        ("neurons in minilm where fire_rate < -1e999", "-1e999"),
    ],
)
def test_numbers_out_of_range_are_caret_errors(fx: tuple[Any, Any], text: str, marked: str) -> None:
    db, _ = fx
    exc = _error(db, text, QueryTypeError)
    assert exc.span is not None and text[exc.span[0] : exc.span[1]] == marked
    assert "^" * len(marked) in render(exc)


def test_numbers_in_range_still_work(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    assert len(run_query(db, "neurons in minilm layer < 2147483647 where unit < 2147483647 and iou(noun) < 1e300")) > 0
    assert len(run_query(db, "count neurons in minilm layer in 0..2147483647")) == 1


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ('neurons in "\ud800"', 12),
        ('neurons in "a\x00"', 13),
        ("neurons in minilm -- a comment \x00", 31),
        ('show concepts like "\udcff%"', 20),
    ],
)
def test_unstorable_characters_are_syntax_errors(fx: tuple[Any, Any], text: str, at: int) -> None:
    db, _ = fx
    exc = _error(db, text, QuerySyntaxError)
    assert exc.span == (at, at + 1)
    shown = render(exc)
    shown.encode("utf-8")  # printable: the character is drawn as U+FFFD
    assert "\ufffd" in shown


def test_like_pattern_ending_in_its_escape_is_refused_on_both_backends(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    text = 'show concepts like "neg\\\\"'
    exc = _error(db, text, QueryTypeError)
    assert "escape character" in exc.message and text[exc.span[0] : exc.span[1]] == '"neg\\\\"'
    assert run_query(db, 'show concepts like "neg\\\\\\\\"').empty  # an escaped backslash is fine
    assert list(run_query(db, 'show concepts like "neg%"').name) == ["negation"]


def test_names_longer_than_any_column_are_unknown_names(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    long = "m" * 300
    exc = _error(db, f"neurons in {long}", QueryNameError)
    assert exc.message.startswith("unknown model 'mmm") and len(exc.message) < 120
    exc = _error(db, f'neurons in bert where iou("{long}") > 0', QueryNameError)
    assert "unknown concept" in exc.message and len(exc.message) < 120


@pytest.mark.parametrize("text", ["neurons in bert, gpt2 where fire_rate > 0.1 and mean > 0", "count neurons in bert where std > 0 by depth"])
def test_explain_with_statistics(fx: tuple[Any, Any], text: str) -> None:
    db, _ = fx
    plan = db.explain(text)
    assert plan.strip()


@pytest.mark.parametrize("timeout", [0, -1, 601, float("nan"), float("inf"), "5", True])
def test_timeout_is_above_zero_and_at_most_600(fx: tuple[Any, Any], timeout: Any) -> None:
    db, _ = fx
    exc = _error(db, "neurons in bert", QueryLimitError, timeout_s=timeout)
    assert "time limit" in exc.message and "600" in str(exc)


def test_composite_step_honours_the_deadline(fx: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas.query import composite

    db, _ = fx

    def slow(_db: Any, run_id: int, neuron_ids: list[int], mask: np.ndarray, method: str, params: Any = None) -> np.ndarray:
        time.sleep(0.2)
        return np.zeros(len(neuron_ids))

    monkeypatch.setattr(composite, "_score_mask", slow)
    monkeypatch.setattr(composite, "CHUNK", 1)  # 96 calls of 0.2 s: 19 s without a deadline
    start = time.monotonic()
    exc = _error(db, "neurons in bert where iou(noun and not plural) > 0.5", QueryLimitError, timeout_s=0.5)
    assert time.monotonic() - start < 3
    assert "\n" not in render(exc)  # one line
    assert "0.5 s" in exc.message and "--timeout" in exc.message


def test_composite_failures_are_query_errors(fx: tuple[Any, Any]) -> None:
    db, _ = fx  # the fixture atlas has no activation files
    text = "neurons in bert where iou(noun and not plural) > 0.5"
    exc = _error(db, text, QueryTypeError)
    assert exc.span is not None and text[exc.span[0] : exc.span[1]] == "iou(noun and not plural)"
    assert "cannot be computed" in exc.message


def _unscored_concept(db: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(Concept), [dict(id=900, name="unscored", kind="named", level="token", builtin=False,
                                             description="no scores", created_at=dt.datetime(2024, 1, 1))])


def test_warning_when_a_score_has_no_set(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = fx
    _unscored_concept(db)
    frame = run_query(db, "neurons in bert, gpt2 where iou(unscored) > 0.1")
    assert frame.empty
    [warning] = frame.attrs["warnings"]
    assert warning.startswith("iou(unscored) has no complete score set for bert, gpt2")
    assert run_query(db, "neurons in bert where iou(noun) > 0.1").attrs["warnings"] == []
    assert main(["query", "count neurons in bert where iou(unscored) > 0.1", "--db", db.url]) == 0
    assert "warning: iou(unscored) has no complete score set for bert" in capsys.readouterr().err
    assert "-- warning: iou(unscored)" in db.explain("neurons in bert where iou(unscored) > 0.1")


def test_count_lists_every_group_with_zero(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    got = run_query(db, "count neurons in bert, minilm where iou(noun) > 2 by model")
    assert list(got.columns) == ["model", "n_neurons", "n_matching"]
    assert got.values.tolist() == [["bert", 96, 0], ["minilm", 48, 0]]
    got = run_query(db, "count neurons in minilm layer >= 4 where iou(noun) > 2 by layer")
    assert got.values.tolist() == [["minilm", 4, 8, 0], ["minilm", 5, 8, 0]]
    cmp = run_query(db, "compare minilm where iou(noun) > 2 by layer")
    assert list(cmp.columns) == ["model", "layer", "n_neurons", "n_matching", "fraction"]


def test_a_note_when_the_default_limit_cut_the_answer(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    full = run_query(db, "neurons in bert")  # 96 neurons: all shown
    assert len(full) == 96 and full.attrs["warnings"] == []
    cut = run_query(db, "neurons in bert, gpt2")  # 144 neurons
    assert len(cut) == 100 and any("first 100 rows" in w for w in cut.attrs["warnings"])
    assert run_query(db, "neurons in bert, gpt2 limit 100").attrs["warnings"] == []  # the user chose it
    assert run_query(db, "neurons in bert, gpt2", limit=120).attrs["warnings"] == []


def test_database_failures_are_translated(fx: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import atlas.query.api as api

    db, _ = fx

    def locked(*_a: Any, **_k: Any) -> Any:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(api, "fetch", locked)
    with pytest.raises(StoreBusyError):
        run_query(db, "neurons in bert")

    class Cancelled(Exception):
        sqlstate = "57014"

    def cancelled(*_a: Any, **_k: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Cancelled("canceling statement due to statement timeout"))

    monkeypatch.setattr(api, "fetch", cancelled)
    exc = _error(db, "neurons in bert", QueryLimitError, timeout_s=2)
    assert "time limit of 2 s" in exc.message


def test_cli_timeout_errors_and_ctrl_c(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import atlas.cli.query as cli_query

    db, _ = fx
    assert main(["query", "neurons in bert", "--timeout", "0", "--db", db.url]) == 1
    assert "time limit must be above 0" in capsys.readouterr().err

    def interrupted(_args: Any) -> int:
        raise KeyboardInterrupt

    def exit_now(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(cli_query, "_query", interrupted)
    monkeypatch.setattr(cli_query.os, "_exit", exit_now)
    with pytest.raises(SystemExit) as info:
        main(["query", "neurons in bert", "--db", db.url])
    assert info.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_a_composite_query_imports_no_torch(tmp_path: Path) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import atlas
from fixture_atlas import build_fixture_atlas
db = atlas.connect("sqlite:///{tmp_path / 'a.db'}", store_root={str(tmp_path / 'store')!r})
db.init()
build_fixture_atlas(db)
try:
    db.query("neurons in bert where iou(noun and not plural) > 0.5 and fire_rate > 0")
except atlas.errors.QueryError:
    pass
print(sorted(m for m in ("torch", "transformers", "sklearn") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
