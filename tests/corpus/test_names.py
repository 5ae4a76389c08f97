"""Validation at the edge: one name rule, text the backends cannot store, user regexes under a
time limit, and removals that ask for force. Every test runs on both backends."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import insert, select

import atlas.corpus.patterns as patterns
from atlas.corpus.inventory import define_concept, list_concepts
from atlas.corpus.ingest import add_corpus, remove_corpus
from atlas.corpus.inventory import read_word_list
from atlas.errors import ConceptError, ConceptLimitError, CorpusError
from atlas.naming import NAME_MAX, check_name, name_problem, suggest_name
from atlas.store import scores
from atlas.store.tables import Concept, Method, Model, Run
from tests.corpus.helpers import EDGE, row_counts, write

BAD_NAMES = ["", "1abc", "_x", "a b", "a/b", "a.b", "a:b", "a=b", "a\nb", "a\x00b", "caf\u00e9", "x" * (NAME_MAX + 1),
             "where", "AND", "show"]
GOOD_NAMES = ["pud", "en-pud_2", "gpt2-small", "X", "x" * NAME_MAX]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_rule_refuses(name):
    for kind in ("model", "corpus", "concept"):
        assert name_problem(kind, name) is not None


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_the_rule_accepts(name):
    for kind in ("model", "corpus", "concept"):
        assert check_name(kind, name) == name


def test_suggestions_follow_the_rule():
    for text in ("Qwen2.5-0.5B", "all-MiniLM-L6-v2", "1st", "where", "a/b:c", "x" * 300):
        assert name_problem("model", suggest_name(text)) is None


@pytest.mark.parametrize("name", ["x" * 201, "a b", "1abc", "a\x00b", "where", "a:b"])
def test_bad_corpus_names_store_nothing(db, name):
    before = row_counts(db)
    with pytest.raises(CorpusError, match="bad corpus name") as info:
        add_corpus(db, name, builtin="demo", n_sentences=5, progress=False)
    assert "\n" not in str(info.value) and "a letter" in str(info.value)
    assert row_counts(db) == before


def test_long_concept_name_refused_on_both_backends(db, tmp_path):
    add_corpus(db, "edge", write(tmp_path, "edge.conllu", EDGE), progress=False)
    before = row_counts(db)
    for name in ("c" * 201, "c" * 101, "my:noun", "where"):
        with pytest.raises(ConceptError, match="bad concept name"):
            define_concept(db, name, "noun")
    assert row_counts(db) == before
    define_concept(db, "c" * NAME_MAX, "noun")
    define_concept(db, "common-noun", "noun and not proper_noun")
    define_concept(db, "uses-hyphen", "common-noun or verb")  # a hyphenated name works in formulas


def test_nul_in_corpus_files_names_file_and_line(db, tmp_path):
    before = row_counts(db)
    bad_conllu = EDGE.replace("dogs", "do\x00gs", 1)
    path = write(tmp_path, "nul.conllu", bad_conllu)
    line = next(i for i, text in enumerate(bad_conllu.splitlines(), 1) if "\x00" in text)
    with pytest.raises(CorpusError, match=rf"nul.conllu:{line}: the line holds a NUL character"):
        add_corpus(db, "nul", path, progress=False)
    path = write(tmp_path, "nul.txt", "A fine line.\nA bad\x00 line.\n")
    with pytest.raises(CorpusError, match=r"nul.txt:2: the line holds a NUL character at position 6"):
        add_corpus(db, "nul", path, progress=False)
    assert row_counts(db) == before


def test_overlong_annotation_values_name_the_line(db, tmp_path):
    bad = EDGE.replace("\tPRON\tPRP\t", "\t" + "PRON" * 10 + "\tPRP\t", 1)
    with pytest.raises(CorpusError, match=r"bad.conllu:\d+: UPOS .* is 40 characters long \(at most 16\)"):
        add_corpus(db, "bad", write(tmp_path, "bad.conllu", bad), progress=False)
    long_id = "# sent_id = " + "s" * 250 + "\n"
    with pytest.raises(CorpusError, match=r"long.conllu:1: sent_id is 250 characters long"):
        add_corpus(db, "long", write(tmp_path, "long.conllu", long_id + EDGE), progress=False)
    with pytest.raises(CorpusError, match="the licence is 300 characters long"):
        add_corpus(db, "lic", builtin="demo", n_sentences=5, license="x" * 300, progress=False)
    with pytest.raises(CorpusError, match="the licence holds a NUL"):
        add_corpus(db, "lic", builtin="demo", n_sentences=5, license="CC\x00", progress=False)


def test_long_frequent_words_get_no_concept(db, tmp_path):
    long_word = "w" * 250
    text = "\n".join(f"{long_word} is here ." for _ in range(12)) + "\n"
    add_corpus(db, "long", write(tmp_path, "long.txt", text), progress=False)  # a 'word:' name would not fit
    names = set(list_concepts(db)["name"])
    assert "word:here" in names and f"word:{long_word}" not in names


def test_nul_in_concept_definitions(db, tmp_path):
    add_corpus(db, "edge", write(tmp_path, "edge.conllu", EDGE), progress=False)
    before = row_counts(db)
    with pytest.raises(ConceptError, match="word 2 of the word list of concept 'w' holds a NUL"):
        define_concept(db, "w", words=["red", "gr\x00een"])
    with pytest.raises(ConceptError, match="regular expression of concept 'r' holds a NUL"):
        define_concept(db, "r", regex="a\x00")
    with pytest.raises(ConceptError, match="description of concept 'd' holds a lone surrogate"):
        define_concept(db, "d", "noun", description="bad \ud800")
    assert row_counts(db) == before
    path = write(tmp_path, "words.txt", b"red\ngreen\nbl\x00ue\n")
    with pytest.raises(ConceptError, match=r"words.txt:3: the line holds a NUL character at position 3"):
        read_word_list(path)
    assert read_word_list(write(tmp_path, "ok.txt", "\ufeffRed\nGreen\n")) == ["Red", "Green", ""]


def test_catastrophic_regex_ends_within_its_limit(db, tmp_path, monkeypatch):
    run_of_a = "a" * 50_000 + "b"  # one word: a long run of a's that the pattern cannot end on
    add_corpus(db, "as", write(tmp_path, "as.txt", f"{run_of_a}\nnothing here .\n"), progress=False)
    before = row_counts(db)
    monkeypatch.setattr(patterns, "REGEX_SECONDS", 1.0)
    for pattern in (r"(a+)+$", r"(a|a)+$"):
        started = time.monotonic()
        with pytest.raises(ConceptLimitError) as info:
            define_concept(db, "rx", regex=pattern)
        assert time.monotonic() - started < 10
        message = str(info.value)
        assert f"regular expression {pattern!r} of concept 'rx' ran past its 1 s limit on corpus 'as'" in message
        assert "nested repetition" in message
        assert row_counts(db) == before
    assert define_concept(db, "rx", regex=r"a+b")["n_tokens"] == {"as": 1}  # a linear pattern is fine


def test_slow_regex_refuses_a_new_corpus(db, tmp_path, monkeypatch):
    define_concept(db, "rx", regex=r"(a|a)+$")
    before = row_counts(db)
    monkeypatch.setattr(patterns, "REGEX_SECONDS", 0.5)
    with pytest.raises(ConceptLimitError, match="on corpus"):
        add_corpus(db, "as", write(tmp_path, "as.txt", "a" * 50_000 + "b\n"), progress=False)
    assert row_counts(db) == before


def test_remove_corpus_with_runs_asks_for_force(db, tmp_path):
    info = add_corpus(db, "edge", write(tmp_path, "edge.conllu", EDGE), progress=False)
    with db.engine.begin() as conn:
        model_id = conn.execute(insert(Model.__table__).values(
            name="m", source="s", architecture="A", family="bert", n_layers=1, d_model=2, d_mlp=4
        ).returning(Model.__table__.c.id)).scalar_one()
        run_id = conn.execute(insert(Run.__table__).values(
            model_id=model_id, corpus_id=info["id"], config_hash="c" * 64, config={}, store_path="run-x"
        ).returning(Run.__table__.c.id)).scalar_one()
        method_id = conn.execute(insert(Method.__table__).values(
            name="iou", version="1", params={}, params_hash="h", higher_is_more=True
        ).returning(Method.__table__.c.id)).scalar_one()
        concepts = conn.execute(select(Concept.id).order_by(Concept.id).limit(3)).scalars().all()
        scores.complete_sets(conn, scores.open_sets(conn, run_id, method_id, concepts))
    before = row_counts(db)
    with pytest.raises(CorpusError) as err:
        remove_corpus(db, "edge")
    assert "corpus 'edge' has 1 runs with 3 score sets and 0 top activations" in str(err.value)
    assert "--force" in str(err.value)
    assert row_counts(db) == before
    assert remove_corpus(db, "edge", force=True)["n_runs_removed"] == 1
    assert row_counts(db)["corpus"] == 0
