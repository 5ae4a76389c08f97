"""Saved, parameterised queries (issue 18): stored in the atlas, run with parameters that go in
as tokens of the language (never pasted text), loaded from .nql files; both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atlas.cli import main
from atlas.errors import KnowledgeBaseError, QueryNameError
from atlas.kb.saved import fill, parameters

TEMPLATE = "neurons in $model where ap($concept) > $t order by ap($concept) desc limit $n"


def test_save_list_and_run_with_parameters(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = fx
    assert main(["saved", "add", "strong", TEMPLATE, "--description", "the strongest", "--db", db.url]) == 0
    assert "($model $concept $t $n)" in capsys.readouterr().out
    assert main(["saved", "list", "--db", db.url]) == 0
    assert "strong  $model $concept $t $n" in capsys.readouterr().out
    argv = ["query", "--saved", "strong", "--param", "model=bert", "--param", "concept=noun", "--param", "t=0.5",
            "--param", "n=4", "--format", "csv", "--db", db.url]
    assert main(argv) == 0
    got = capsys.readouterr().out
    direct = db.query("neurons in bert where ap(noun) > 0.5 order by ap(noun) desc limit 4")
    assert got == direct.to_csv(index=False)
    assert db.run_saved("strong", {"model": "bert", "concept": "noun", "t": "0.5", "n": "4"}).equals(direct)


def test_missing_and_extra_parameters_are_named(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = fx
    db.save_query("strong", TEMPLATE)
    assert main(["query", "--saved", "strong", "--param", "model=bert", "--param", "colour=red", "--db", db.url]) == 1
    err = capsys.readouterr().err
    assert "missing $concept, $t, $n" in err and "no placeholder for colour" in err and err.count("\n") == 1
    assert main(["query", "--saved", "strnog", "--db", db.url]) == 1
    assert "did you mean 'strong'" in capsys.readouterr().err
    assert main(["query", "show models", "--saved", "strong", "--db", db.url]) == 1
    with pytest.raises(KnowledgeBaseError, match="already"):
        db.save_query("strong", "show models")
    assert db.save_query("strong", "show concepts like $p", replace=True)["replaced"]


def test_values_are_tokens_never_query_text(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    db.save_query("strong", TEMPLATE)
    base = {"model": "bert", "concept": "noun", "t": "0.5", "n": "3"}
    for key, evil in (("model", "bert where 1=1"), ("model", "bert, gpt2"), ("concept", "noun) > 0 or ap(noun"),
                      ("concept", 'noun" ) --'), ("model", "bert -- comment")):
        with pytest.raises(QueryNameError):  # one name that does not exist, not a new clause
            db.run_saved("strong", {**base, key: evil})
    # a value that is a keyword is quoted, and then a name like any other
    assert fill("show concepts like $p", {"p": "neg%"}) == 'show concepts like "neg%"'
    assert fill("neurons in $m", {"m": "where"}) == 'neurons in "where"'
    with pytest.raises(KnowledgeBaseError, match="control character"):
        fill("neurons in $m", {"m": "a\nb"})
    # placeholders inside quotes and comments are text
    assert parameters('neurons in $m where label = "$x" -- $y') == ["m"]


def test_load_a_folder_all_or_nothing(fx: tuple[Any, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = fx
    (tmp_path / "by_layer.nql").write_text("-- count per layer\ncount neurons in $model where ap(noun) > $t by layer\n")
    (tmp_path / "models.nql").write_text("show models\n")
    assert main(["saved", "load", str(tmp_path), "--db", db.url]) == 0
    frame = db.saved_queries()
    assert frame["name"].tolist() == ["by_layer", "models"]
    assert frame["description"].iloc[0] == "count per layer" and frame["description"].isna().iloc[1]
    assert len(db.run_saved("by_layer", {"model": "minilm", "t": "0.5"})) == 6
    (tmp_path / "zz_bad.nql").write_text("neurons in $model where\n")
    (tmp_path / "new.nql").write_text("show runs\n")
    assert main(["saved", "load", str(tmp_path), "--db", db.url]) == 1
    assert "zz_bad.nql" in capsys.readouterr().err
    assert "new" not in set(db.saved_queries()["name"])  # nothing of a failed load is saved


@pytest.mark.usefixtures("pg_server")
def test_saved_queries_need_an_annotator(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ann, reader = lab.user("annotator"), lab.user("reader")
    assert main(["saved", "add", "strong", TEMPLATE, "--db", ann]) == 0
    assert main(["saved", "add", "mine", "show models", "--db", reader]) == 1
    assert "cannot write notes, labels or saved queries" in capsys.readouterr().err
    argv = ["query", "--saved", "strong", "--param", "model=bert", "--param", "concept=noun", "--param", "t=0.5",
            "--param", "n=2", "--db", reader]
    assert main(argv) == 0 and "bert/mlp" in capsys.readouterr().out
