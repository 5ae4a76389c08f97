"""Storing corpora on both backends: rows, atomicity, names, replace and remove."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from atlas.corpus import add_corpus, list_corpora, remove_corpus, resolve_corpus
from atlas.errors import CorpusError
from atlas.store.tables import Annotation, Concept, Sentence, Token

from .helpers import EDGE, GOOD_DOC, row_counts, write


def _tokens(db, corpus_id: int) -> list[tuple]:
    t = Token.__table__
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(t.c.row, t.c.position, t.c.form, t.c.upos, t.c.feats, t.c.head, t.c.deprel, t.c.space_after)
            .where(t.c.corpus_id == corpus_id).order_by(t.c.row))]


def test_conllu_rows(db, tmp_path) -> None:
    r = add_corpus(db, "edge", write(tmp_path, "edge.conllu", EDGE), license="CC0", progress=False)
    assert (r["name"], r["n_sentences"], r["n_tokens"]) == ("edge", 2, 19)
    assert r["n_concepts"] > 20
    toks = _tokens(db, r["id"])
    assert [t[0] for t in toks] == list(range(19))
    assert [t[1] for t in toks] == list(range(8)) + list(range(11))
    assert toks[2][2:] == ("n't", "PART", "Polarity=Neg", 4, "advmod", True)
    assert toks[1][7] is False and toks[4][6] == "nmod:poss"
    s = Sentence.__table__
    with db.engine.connect() as conn:
        sents = conn.execute(select(s.c.index, s.c.sent_id, s.c.text, s.c.first_row, s.c.n_tokens)
                             .where(s.c.corpus_id == r["id"]).order_by(s.c.index)).all()
    assert [tuple(x) for x in sents] == [
        (0, "s1", "I don't like Mary's dogs.", 0, 8),
        (1, "s2", 'Did he say "never older" (2019)?', 8, 11),
    ]
    info = resolve_corpus(db, "edge")
    assert (info["format"], info["license"], info["n_tokens"]) == ("conllu", "CC0", 19)
    assert len(info["sha256"]) == 64


def test_text_corpus(db, tmp_path) -> None:
    path = write(tmp_path, "s.text", "The dog didn't bark.\nIs it \"fine\"?\n")
    r = add_corpus(db, "txt", path, progress=False)
    assert (r["n_sentences"], r["n_tokens"]) == (2, 12)
    forms = [t[2] for t in _tokens(db, r["id"])]
    assert forms == ["The", "dog", "did", "n't", "bark", ".", "Is", "it", '"', "fine", '"', "?"]
    assert resolve_corpus(db, r["id"])["format"] == "text"


def test_format_from_option_and_bad_suffix(db, tmp_path) -> None:
    path = write(tmp_path, "sentences.dat", "One sentence.\n")
    with pytest.raises(CorpusError, match="cannot tell the format"):
        add_corpus(db, "x", path, progress=False)
    assert add_corpus(db, "x", path, format="text", progress=False)["n_tokens"] == 3


MALFORMED = {
    "columns": "1\tA\ta\tDET\tDT\t_\t0\troot\t_\n",
    "id": "x\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n",
    "head": "1\tA\ta\tDET\tDT\t_\t5\troot\t_\t_\n",
    "feats": "1\tA\ta\tDET\tDT\tDefinite\t0\troot\t_\t_\n",
    "empty": "# text = nothing\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_stores_nothing(db, tmp_path, case: str) -> None:
    add_corpus(db, "good", write(tmp_path, "good.conllu", GOOD_DOC), progress=False)
    before = row_counts(db)
    text = GOOD_DOC + MALFORMED[case]
    path = write(tmp_path, "bad.conllu", text)
    with pytest.raises(CorpusError) as info:
        add_corpus(db, "bad", path, progress=False)
    assert info.value.path == str(path) and info.value.line == len(text.splitlines())
    assert row_counts(db) == before


def test_failure_inside_the_transaction_rolls_everything_back(db, tmp_path, monkeypatch) -> None:
    before = row_counts(db)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("atlas.corpus.ingest.materialise_corpus", broken)
    with pytest.raises(RuntimeError):
        add_corpus(db, "edge", write(tmp_path, "edge.conllu", EDGE), progress=False)
    assert row_counts(db) == before


def test_name_exists_unless_replace(db, tmp_path) -> None:
    first = add_corpus(db, "c", write(tmp_path, "a.txt", "One two three.\n"), progress=False)
    before = row_counts(db)
    with pytest.raises(CorpusError, match="exists.*--replace"):
        add_corpus(db, "c", write(tmp_path, "b.txt", "Four five.\nSix.\n"), progress=False)
    assert row_counts(db) == before
    second = add_corpus(db, "c", tmp_path / "b.txt", replace=True, progress=False)
    assert second["n_tokens"] == 5
    frame = list_corpora(db)
    assert frame["name"].tolist() == ["c"] and frame["n_tokens"].tolist() == [5]
    assert [t[2] for t in _tokens(db, second["id"])] == ["Four", "five", ".", "Six", "."]
    a = Annotation.__table__
    with db.engine.connect() as conn:
        corpus_ids = set(conn.execute(select(a.c.corpus_id).distinct()).scalars())
        capitalized = conn.execute(
            select(a.c.row).join(Concept.__table__, Concept.__table__.c.id == a.c.concept_id)
            .where(Concept.__table__.c.name == "capitalized").order_by(a.c.row)).scalars().all()
    assert corpus_ids == {second["id"]} and first["n_tokens"] == 4
    assert capitalized == [0, 3]  # the old corpus' annotations are gone: only "Four" and "Six"


@pytest.mark.parametrize("name", ["", "has space", "1abc", "x" * 201, "semi;colon"])
def test_bad_names(db, name: str) -> None:
    with pytest.raises(CorpusError, match="bad corpus name"):
        add_corpus(db, name, builtin="demo", progress=False)


def test_remove_cascades(db, tmp_path) -> None:
    keep = add_corpus(db, "keep", write(tmp_path, "k.txt", "Keep me.\n"), progress=False)
    gone = add_corpus(db, "gone", write(tmp_path, "edge.conllu", EDGE), progress=False)
    info = remove_corpus(db, "gone")
    assert info["id"] == gone["id"]
    with db.engine.connect() as conn:
        for table in (Token.__table__, Sentence.__table__, Annotation.__table__):
            assert conn.execute(select(table.c.corpus_id).where(table.c.corpus_id == gone["id"])).first() is None
        assert conn.execute(select(Token.__table__.c.row).where(Token.__table__.c.corpus_id == keep["id"])).all()
    with pytest.raises(CorpusError, match="no corpus named 'gone'"):
        resolve_corpus(db, "gone")
    with pytest.raises(CorpusError, match="did you mean 'keep'"):
        remove_corpus(db, "kep")


def test_unknown_builtin_and_missing_path(db, tmp_path) -> None:
    with pytest.raises(CorpusError, match="unknown built-in"):
        add_corpus(db, "d", builtin="dmeo", progress=False)
    with pytest.raises(CorpusError, match="no such file"):
        add_corpus(db, "d", tmp_path / "nope.conllu", progress=False)
    with pytest.raises(CorpusError, match="no corpus file"):
        add_corpus(db, "d", progress=False)
