"""Why an answer is empty (``atlas.query.why``): each condition of the ``and`` alone, in the
query's scope, against pandas references from the fixture's own values, on both backends; and
the CLI prints it under ``(no rows)``."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.query.why import why_empty


def test_each_condition_alone_and_the_threshold_no_neuron_reaches(fx: tuple[Any, Any]) -> None:
    db, data = fx
    w = data.wide()
    scope = w[(w["model"] == "minilm") & (w["site"] == "mlp") & (w["layer"] >= 2)]
    top = float(scope["ablation(noun)"].max())
    text = f"neurons in minilm layer >= 2 where ap(noun) > 0.5 and ablation(noun) > {top + 0.01:.3f}"
    assert len(db.query(text)) == 0
    lines = why_empty(db, text)
    n_ap = int((scope["ap(noun)"] > 0.5).sum())
    assert n_ap > 1
    assert lines == [
        "why: alone, in this scope, each condition holds for",
        f"  ap(noun) > 0.5: {n_ap:,} neurons",
        f"  ablation(noun) > {top + 0.01:.3f}: none (the largest ablation(noun) here is {top:.4g})",
    ]
    low = float(scope["attribution(noun)"].min())
    lines = why_empty(db, f"neurons in minilm layer >= 2 where attribution(noun) < {low - 0.5:.3f}")
    assert lines[1].endswith(f"none (the smallest attribution(noun) here is {low:.4g})")


def test_no_explanation_where_none_helps(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    assert why_empty(db, "count neurons in minilm where ap(noun) > 2") == []  # counts are never empty
    assert why_empty(db, "neurons in minilm layer = 1") == []  # no where: nothing to take apart
    lines = why_empty(db, "neurons in minilm where iou(noun and not plural) > 5 and has ap(noun)")
    assert lines[1].startswith("  iou(noun and not plural) > 5: not counted alone (")  # count takes no composite
    assert lines[2].startswith("  has ap(noun): ") and lines[2].endswith(" neurons")


def test_the_cli_prints_why_under_no_rows(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from atlas.cli import main

    db, _ = fx
    url = db.engine.url.render_as_string(hide_password=False)
    assert main(["query", "neurons in minilm where ap(noun) > 0.5 and ablation(noun) > 3", "--db", url]) == 0
    captured = capsys.readouterr()
    assert "(no rows)" in captured.out
    assert "why: alone, in this scope" in captured.err and "ablation(noun) > 3: none (the largest" in captured.err


def test_every_golden_query_gets_an_answer_or_nothing(fx: tuple[Any, Any]) -> None:
    """Robustness: ``why_empty`` on every golden query of ``queries/`` (each ``where`` made
    impossible by one more condition) returns lines or ``[]``, never raises."""
    import dataclasses
    from pathlib import Path

    from atlas.query import ast
    from atlas.query.canonical import format_statement
    from atlas.query.parser import parse

    db, _ = fx
    checked = 0
    for path in sorted((Path(__file__).resolve().parents[2] / "queries").glob("*.nql")):
        text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("--")).strip()
        statement = parse(text)
        if type(statement).__name__ != "NeuronQuery" or statement.where is None:
            assert why_empty(db, text) == []
            continue
        extra = parse("neurons in minilm where ap(noun) > 7").where
        impossible = dataclasses.replace(statement, where=ast.And((statement.where, extra)))
        lines = why_empty(db, format_statement(impossible))
        assert lines[0].startswith("why: ") and lines[-1] == "  ap(noun) > 7: none (the largest ap(noun) here is " + lines[-1].split("here is ")[-1]
        checked += 1
    assert checked >= 10


def test_a_missing_score_says_which_command_stores_it(fx: tuple[Any, Any]) -> None:
    """The warning for a score set a model lacks names the command that makes it: causal scores
    come from atlas ablate (not atlas score), with the model filled in."""
    db, _ = fx
    warnings = db.query("neurons in minilm where ablation_loss(noun) > 0.1").attrs["warnings"]
    assert any("compute them with 'atlas ablate --run minilm --neurons'" in w for w in warnings), warnings
    assert not any("atlas score" in w for w in warnings)
