"""The built-in demo corpus: deterministic, well-formed UD annotations, enough of every concept."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from atlas.corpus import add_corpus, load_concept_matrix
from atlas.corpus.columns import TokenColumns
from atlas.corpus.generated import generate
from atlas.corpus.named import NAMED
from atlas.corpus.text import tokenize

FEATS = re.compile(r"[A-Za-z0-9]+=[A-Za-z0-9]+(,[A-Za-z0-9]+)*(\|[A-Za-z0-9]+=[A-Za-z0-9]+(,[A-Za-z0-9]+)*)*")
UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
        "SCONJ", "SYM", "VERB", "X"}


@pytest.fixture(scope="module")
def demo():
    return generate(2000, seed=0)


def test_deterministic_and_prefix_stable(demo) -> None:
    again = generate(2000, seed=0)
    assert [s.text for s in again] == [s.text for s in demo]
    assert [s.text for s in generate(50, seed=0)] == [s.text for s in demo[:50]]
    assert [s.text for s in generate(50, seed=1)] != [s.text for s in demo[:50]]
    assert len(demo) == 2000 and len({s.sent_id for s in demo}) == 2000


def test_well_formed_trees_and_tags(demo) -> None:
    for s in demo:
        n = len(s.words)
        assert [w.head for w in s.words].count(0) == 1, s.text
        for i, w in enumerate(s.words, start=1):
            assert w.upos in UPOS and w.xpos and w.lemma and w.deprel, (s.text, w)
            assert (w.head == 0) == (w.deprel == "root")
            assert w.feats is None or FEATS.fullmatch(w.feats), w.feats
            # following heads from any word reaches the root without a cycle
            seen, j = set(), i
            while j != 0:
                assert j not in seen, s.text
                seen.add(j)
                j = s.words[j - 1].head
            assert 0 <= w.head <= n


def test_text_matches_words(demo) -> None:
    """The sentence text is what the words and their spacing say, and the plain-text tokenizer
    splits it back into the same words (so the text is ordinary English)."""
    for s in demo[:500]:
        assert s.text == s.detokenized()
        assert [w.form for w in tokenize(s.text)] == [w.form for w in s.words], s.text
        assert s.text[0].isupper() or s.text[0] == '"'
        assert s.words[-1].upos == "PUNCT" or s.words[-1].form == '"'


def test_agreement(demo) -> None:
    """A plural subject never has a 3rd-singular verb; a singular noun subject never a VBP verb."""
    for s in demo:
        for w in s.words:
            if w.deprel != "nsubj":
                continue
            head = s.words[w.head - 1]
            verb = head if head.upos in ("VERB", "AUX") else next(
                (x for x in s.words if x.head == w.head and x.deprel in ("cop", "aux")), head)
            if w.feats and "Number=Plur" in w.feats and verb.xpos == "VBZ":
                pytest.fail(f"plural subject with VBZ: {s.text}")
            if w.upos == "NOUN" and "Number=Sing" in (w.feats or "") and verb.xpos == "VBP":
                pytest.fail(f"singular subject with VBP: {s.text}")


def test_concept_coverage(demo) -> None:
    cols = TokenColumns.from_sentences(demo)
    assert 8 <= cols.n / len(demo) <= 12
    for name in ["negation", "past_tense", "present_tense", "plural", "singular", "question", "inside_quotes",
                 "inside_brackets", "proper_noun", "numeral", "digits", "comparative", "superlative", "noun", "verb",
                 "adjective", "pronoun", "conjunction"]:
        assert NAMED[name].compute(cols).sum() >= 150, name
    words = Counter(f.lower() for f in cols.form)
    assert words["not"] + words["n't"] >= 200 and words["never"] >= 30


def test_stored_demo(db) -> None:
    r = add_corpus(db, "demo", builtin="demo", progress=False)
    assert r["n_sentences"] == 2000
    expected = sum(len(s.words) for s in generate(2000, seed=0))
    assert r["n_tokens"] == expected
    m = load_concept_matrix(db, r["id"], concepts=["question", "feat:Polarity=Neg", "upos:PROPN"])
    questions = {i for i, s in enumerate(generate(2000, seed=0)) if s.text.endswith("?")}
    q = m.column("question")
    assert set(np.unique(m.sentence_index[q]).tolist()) == questions
    assert m.column("feat:Polarity=Neg").sum() == sum(
        (w.feats or "").count("Polarity=Neg") for s in generate(2000, seed=0) for w in s.words)
