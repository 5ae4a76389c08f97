"""Notes and labels (issue 18): the CLI and API on both backends, the query language's
``label = "..."`` and ``notes of``, and on PostgreSQL who sees and writes what."""

from __future__ import annotations

import json
from typing import Any

import pytest

import atlas
from atlas.cli import main
from atlas.errors import KnowledgeBaseError, QueryError


def test_note_label_list_remove_through_the_cli(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = fx
    url = db.url
    author = [] if db.engine.dialect.name == "postgresql" else ["--author", "dana"]
    assert main(["note", "add", "gpt2/mlp.1/2", "fires on commas", "--db", url, *author]) == 0
    assert main(["label", "gpt2/mlp.1/2", "comma detector", "--db", url, *author]) == 0
    assert main(["note", "add", "concept:noun", "NOUN and PROPN", "--db", url, *author]) == 0
    assert main(["note", "add", "model:gpt2", "the small one", "--private", "--db", url, *author]) == 0
    capsys.readouterr()
    assert main(["note", "list", "gpt2/mlp.1/2", "--format", "json", "--db", url]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["label"], r["text"]) for r in rows] == [(None, "fires on commas"), ("comma detector", "")]
    assert {r["target"] for r in rows} == {"gpt2/mlp.1/2"}
    who = "postgres" if db.engine.dialect.name == "postgresql" else "dana"
    assert {r["author"] for r in rows} == {who}
    assert main(["query", 'neurons in gpt2 where label = "comma detector"', "--format", "csv", "--db", url]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["gpt2/mlp.1/2,gpt2,mlp,1,2"]
    listed = db.notes(model="gpt2")
    assert set(listed["target"]) == {"gpt2/mlp.1/2", "model:gpt2"}
    assert listed.loc[listed["target"] == "model:gpt2", "visibility"].tolist() == ["private"]
    assert db.notes(target="concept:noun")["text"].tolist() == ["NOUN and PROPN"]
    first = int(rows[0]["note"])
    assert main(["note", "remove", str(first), "--db", url]) == 0
    assert db.query("notes of gpt2/mlp.1/2")["text"].tolist() == [""]
    assert main(["note", "remove", str(first), "--db", url]) == 1
    assert "no note" in capsys.readouterr().err


def test_bad_targets_are_one_line_errors(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = fx
    for target, words in (("concept:nounn", "did you mean 'noun'"), ("model:gtp2", "unknown model"),
                          ("gpt2", "not a neuron id"), ("run:999", "999")):
        assert main(["note", "add", target, "x", "--db", db.url, "--author", "a"]) == 1
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
    assert main(["note", "add", "gpt2/mlp.99/1", "x", "--db", db.url]) == 1
    err = capsys.readouterr().err
    assert "layer 99 is out of range" in err and "^" in err
    with pytest.raises(KnowledgeBaseError, match="empty"):
        db.add_note("gpt2/mlp.1/2", "   ")
    with pytest.raises(QueryError, match="label"):
        db.query("neurons in gpt2 where label = 3")


def test_labels_in_queries_match_a_pandas_reference(fx: tuple[Any, Any]) -> None:
    db, data = fx
    from fixture_atlas import NOTES

    labelled = {n for n, _, _, lb, _ in NOTES if lb == "negation detector"}
    got = db.query('neurons in minilm, bert, gpt2 where label = "negation detector"')
    assert set(got["neuron"]) == labelled
    n_all = len(data.neurons[data.neurons["site"] == "mlp"])
    rest = db.query('count neurons in minilm, bert, gpt2 where label != "negation detector" by model')
    assert int(rest["n_matching"].sum()) == n_all - len(labelled)
    assert db.describe('notes of minilm/mlp.0/0') == "the lab's notes and labels on minilm/mlp.0/0, oldest first"


@pytest.mark.usefixtures("pg_server")
def test_private_notes_and_roles_on_a_shared_atlas(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    alice, bob, reader = lab.user("annotator"), lab.user("annotator"), lab.user("reader")
    assert main(["note", "add", "gpt2/mlp.1/2", "alice's draft", "--private", "--db", alice]) == 0
    assert main(["label", "gpt2/mlp.1/2", "draft label", "--private", "--db", alice]) == 0
    assert main(["note", "add", "gpt2/mlp.1/2", "for the lab", "--db", alice]) == 0
    capsys.readouterr()
    # the reader cannot write a note: one line naming its role and the grant it needs
    assert main(["note", "add", "gpt2/mlp.1/2", "x", "--db", reader]) == 1
    err = capsys.readouterr().err
    assert f"your role {lab.prefix}_reader cannot write notes" in err and "--role annotator" in err
    assert err.count("\n") == 1
    # alice sees her private note everywhere; bob and the reader never do
    for url, seen in ((alice, ["alice's draft", "", "for the lab"]), (bob, ["for the lab"]), (reader, ["for the lab"])):
        with atlas.connect(url) as db:
            assert db.query("notes of gpt2/mlp.1/2")["text"].tolist() == seen
            assert db.neuron("gpt2/mlp.1/2")["notes"]["text"].tolist() == seen
            assert db.notes(target="gpt2/mlp.1/2")["text"].tolist() == seen
            hits = db.query('neurons in gpt2 where label = "draft label"')["neuron"].tolist()
            assert hits == (["gpt2/mlp.1/2"] if url == alice else [])
    # bob cannot remove alice's note, nor write one under her name
    with atlas.connect(bob) as db:
        mine = int(atlas.connect(alice).notes(target="gpt2/mlp.1/2")["note"].iloc[-1])
        with pytest.raises(KnowledgeBaseError, match="no note"):
            db.remove_note(mine)
        user = alice.split("//")[1].split("@")[0]
        with pytest.raises(KnowledgeBaseError, match="database user"):
            db.add_note("gpt2/mlp.1/2", "forged", author=user)
