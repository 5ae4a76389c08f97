"""``atlas query`` / ``describe`` / ``fmt`` end to end (argparse entry point, no subprocess)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from atlas.cli import main


def test_query_table_csv_json_sql(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    db, _ = fx
    q = "neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3"
    assert main(["query", q, "--db", db.url]) == 0
    out = capsys.readouterr()
    assert "bert/mlp.9/0" in out.out and "selectivity(negation)" in out.out and "rows)" in out.err
    assert main(["query", q, "--db", db.url, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "neuron,model,site,layer,unit,selectivity(negation),iou(noun)"
    target = tmp_path / "out.json"
    assert main(["query", q, "--db", db.url, "--format", "json", "--output", str(target)]) == 0
    rows = json.loads(target.read_text())
    assert len(rows) == len(lines) - 1 and rows[0]["neuron"] == lines[1].split(",")[0]
    assert main(["query", q, "--db", db.url, "--sql"]) == 0
    assert "JOIN score" in capsys.readouterr().out
    assert main(["query", q, "--db", db.url, "--explain"]) == 0
    assert capsys.readouterr().out.strip()


def test_query_parquet_roundtrip(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow", reason="--format parquet needs the [parquet] extra (pyarrow)")
    db, _ = fx
    q = "neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3"
    assert main(["query", q, "--db", db.url, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    target = tmp_path / "out.parquet"
    assert main(["query", q, "--db", db.url, "--format", "parquet", "--output", str(target)]) == 0
    frame = pd.read_parquet(target)
    assert list(frame.columns) == lines[0].split(",")
    assert list(frame["neuron"]) == [line.split(",")[0] for line in lines[1:]]
    assert main(["query", q, "--db", db.url, "--format", "parquet"]) == 1  # needs --output
    assert "--output" in capsys.readouterr().err


def test_query_errors_exit_nonzero_without_traceback(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = fx
    assert main(["query", "neurons in bert where selectivity(negaton) > 0.5", "--db", db.url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown concept 'negaton'; did you mean 'negation'?")
    assert "^^^^^^^" in err and "Traceback" not in err


def test_syntax_error_needs_no_database(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    assert main(["query", "neurons in bert where iou(noun) >", "--db", f"sqlite:///{tmp_path / 'none.db'}"]) == 1
    assert "the query ended early: expected a number after '>'" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_describe_and_fmt(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "NEURONS IN bert layer>8 WHERE iou(noun)>.3"]) == 0
    assert capsys.readouterr().out == "neurons in bert layer > 8 where iou(noun) > 0.3\n"
    assert main(["describe", "neurons in bert layer>8 where selectivity(negation)>0.5"]) == 0
    assert "selectivity for negation is above 0.5" in capsys.readouterr().out
