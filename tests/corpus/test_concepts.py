"""The concept inventory on both backends: automatic and named concepts, matrices, formulas,
user-defined concepts. Expected rows are worked out by hand from the documents in helpers.py."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from atlas.corpus import add_corpus, define_concept, evaluate_formula, list_concepts, load_concept_matrix
from atlas.corpus.inventory import concept_info, remove_concept
from atlas.errors import ConceptError, CorpusError

from .helpers import EDGE, row_counts, write

# EDGE rows: 0 I, 1 do, 2 n't, 3 like, 4 Mary, 5 's, 6 dogs, 7 . | 8 Did, 9 he, 10 say, 11 ", 12 never,
#            13 older, 14 ", 15 (, 16 2019, 17 ), 18 ?
EXPECTED = {
    "upos:NOUN": [6],
    "upos:PROPN": [4],
    "noun": [6],
    "proper_noun": [4],
    "pronoun": [0, 9],
    "xpos:POS": [5],
    "xpos:LQLQ": [11],
    "xpos:''": [14],
    "xpos:-LRB-": [15],
    "feat:Polarity=Neg": [2],
    "feat:PronType=Prs": [0, 9],
    "negation": [2, 12],
    "past_tense": [8],
    "present_tense": [1],
    "plural": [6],
    "singular": [0, 4, 9],
    "first_person": [0],
    "deprel:nmod": [4],
    "deprel:nmod_poss": [4],
    "deprel:punct": [7, 11, 14, 15, 17, 18],
    "comparative": [13],
    "question": list(range(8, 19)),
    "inside_quotes": [12, 13],
    "inside_brackets": [16],
    "digits": [16],
    "numeral": [16],
    "sentence_start": [0, 8],
    "sentence_end": [6, 16],
    "capitalized": [0, 4, 8],
    "position:1": [1, 9],
    "punctuation": [7, 11, 14, 15, 17, 18],
}


@pytest.fixture
def edge(db, tmp_path):
    return add_corpus(db, "edge", write(tmp_path, "edge.conllu", EDGE), progress=False)


def test_automatic_and_named_concepts(db, edge) -> None:
    m = load_concept_matrix(db, edge["id"])
    assert m.mask.shape == (19, len(m.names)) and m.mask.dtype == bool
    for name, rows in EXPECTED.items():
        assert np.flatnonzero(m.column(name)).tolist() == rows, name
    assert m.levels[m.names.index("question")] == "sentence"
    assert m.levels[m.names.index("noun")] == "token"
    assert m.sentence_index.tolist() == [0] * 8 + [1] * 11
    assert len(set(m.names)) == len(m.names) and list(m.ids) == sorted(m.ids)


def test_min_count_and_selection(db, edge) -> None:
    everything = load_concept_matrix(db, edge["id"], min_count=0)
    assert "superlative" in everything.names and not everything.column("superlative").any()
    default = load_concept_matrix(db, edge["id"])
    assert "superlative" not in default.names and default.mask.sum(axis=0).min() >= 1
    two = load_concept_matrix(db, edge["id"], min_count=2)
    assert "noun" not in two.names and "pronoun" in two.names
    chosen = load_concept_matrix(db, edge["id"], concepts=["negation", "noun"])
    assert chosen.names == ["noun", "negation"] and chosen.mask.shape == (19, 2)
    with pytest.raises(ConceptError, match="did you mean 'negation'"):
        load_concept_matrix(db, edge["id"], concepts=["negaton"])
    with pytest.raises(CorpusError):
        load_concept_matrix(db, edge["id"] + 100)


def test_sentence_pooling(db, edge) -> None:
    m = load_concept_matrix(db, edge["id"], concepts=["negation", "comparative", "noun"])
    pooled = m.sentence_mask()
    by_name = {n: pooled[:, i].tolist() for i, n in enumerate(m.names)}
    assert by_name == {"negation": [True, True], "comparative": [False, True], "noun": [True, False]}


def _python_eval(formula: str, m, row: int) -> bool:
    """Evaluate a formula for one token with Python's own and/or/not (an independent reference)."""
    names = sorted(set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9_=.,\-']+)?", formula)) - {"and", "or", "not"},
                   key=len, reverse=True)
    env = {f"v{i}": bool(m.column(n)[row]) for i, n in enumerate(names)}
    expr = formula
    for i, n in enumerate(names):
        expr = re.sub(rf"(?<![\w:]){re.escape(n)}(?![\w:=.,\-'])", f"v{i}", expr)
    return bool(eval(expr, {"__builtins__": {}}, env))  # noqa: S307 - test reference on generated text


def _random_formula(rng: random.Random, names: list[str], depth: int = 0) -> str:
    r = rng.random()
    if depth > 2 or r < 0.35:
        return rng.choice(names)
    if r < 0.5:
        return f"not {_random_formula(rng, names, depth + 1)}"
    op = rng.choice(["and", "or"])
    return f"({_random_formula(rng, names, depth + 1)} {op} {_random_formula(rng, names, depth + 1)})"


def test_evaluate_formula_matches_python_logic(db, edge) -> None:
    m = load_concept_matrix(db, edge["id"])
    names = ["noun", "plural", "negation", "question", "feat:Polarity=Neg", "xpos:''", "deprel:nmod_poss", "pronoun"]
    rng = random.Random(7)
    for _ in range(40):
        formula = _random_formula(rng, names)
        got = evaluate_formula(db, edge["id"], formula)
        want = [_python_eval(formula, m, r) for r in range(19)]
        assert got.tolist() == want, formula


def test_formula_precedence(db, edge) -> None:
    # not > and > or: "pronoun or noun and not plural" = pronoun or (noun and not plural)
    got = evaluate_formula(db, edge["id"], "pronoun or noun and not plural")
    assert np.flatnonzero(got).tolist() == [0, 9]
    got = evaluate_formula(db, edge["id"], "NOT (question OR punctuation) And capitalized")
    assert np.flatnonzero(got).tolist() == [0, 4]


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("noun and not plurall", "unknown concept 'plurall' (did you mean 'plural'?)"),
        ("nuon", "did you mean 'noun'?"),
        ("noun and", "a concept name is missing"),
        ("(noun or verb", "'(' is never closed"),
        ("noun verb", "an 'and' or 'or' is missing"),
        ("noun & verb", "unexpected character '&'"),
        ("", "empty concept formula"),
    ],
)
def test_formula_errors(db, edge, formula: str, message: str) -> None:
    with pytest.raises(ConceptError) as info:
        evaluate_formula(db, edge["id"], formula)
    assert message in str(info.value)


def test_word_concepts_threshold_cap_and_global_inventory(db, tmp_path) -> None:
    lines = ["Alpha beta gamma." if i % 2 else "alpha beta." for i in range(9)] + ["alpha gamma."]
    first = add_corpus(db, "lexicon", write(tmp_path, "w.txt", "\n".join(lines)), progress=False)
    inventory = set(list_concepts(db)["name"])
    assert "word:alpha" in inventory            # 10 times, counted case-insensitively
    assert "word:beta" not in inventory         # 9 times: under the threshold of 10
    assert "word:." not in inventory            # forms without a letter or digit are left out
    many = " ".join(f"w{i:03d}" for i in range(205))
    add_corpus(db, "many", write(tmp_path, "m.txt", "\n".join([many] * 10)), progress=False)
    new_words = [n for n in list_concepts(db)["name"] if re.fullmatch(r"word:w\d{3}", n)]
    assert len(new_words) == 200
    # a concept that a later corpus brings is materialised for the earlier corpus too
    add_corpus(db, "beta", write(tmp_path, "b.txt", "\n".join(["beta"] * 10)), progress=False)
    m = load_concept_matrix(db, first["id"], concepts=["word:beta"])
    assert m.mask[:, 0].sum() == 9


def test_define_formula_wordlist_regex(db, edge, tmp_path) -> None:
    r = define_concept(db, "proper_or_plural", "proper_noun or (noun and plural)", description="names and plurals")
    assert r["kind"] == "formula" and r["n_tokens"] == {"edge": 2}
    w = define_concept(db, "dogish", words=["Dogs", " cat ", ""])
    assert w["n_tokens"] == {"edge": 1}
    x = define_concept(db, "four_digits", regex=r"\d{4}")
    assert x["n_tokens"] == {"edge": 1}
    s = define_concept(db, "has_comparative", "comparative", level="sentence")
    m = load_concept_matrix(db, edge["id"], concepts=["proper_or_plural", "dogish", "four_digits", "has_comparative"])
    assert [np.flatnonzero(m.mask[:, i]).tolist() for i in range(4)] == [[4, 6], [6], [16], list(range(8, 19))]
    assert m.levels[3] == "sentence" and s["n_tokens"] == {"edge": 11}
    # a corpus added later gets the user concepts too
    later = add_corpus(db, "later", write(tmp_path, "l.txt", "Dogs in 1999 and cats.\n"), progress=False)
    m2 = load_concept_matrix(db, later["id"], concepts=["dogish", "four_digits"], min_count=0)
    assert np.flatnonzero(m2.mask[:, 0]).tolist() == [0] and np.flatnonzero(m2.mask[:, 1]).tolist() == [2]
    frame = list_concepts(db)
    row = frame[frame["name"] == "dogish"].iloc[0]
    assert (row["kind"], row["definition"], row["n_tokens"], row["n_corpora"], bool(row["builtin"])) == (
        "wordlist", "cat\ndogs", 2, 2, False)
    info = concept_info(db, "negation")
    assert info["corpora"][0][:3] == ("edge", 2, 2) and info["corpora"][0][3] == ["n't", "never"]


def test_replace_recomputes_dependents(db, edge) -> None:
    define_concept(db, "base", "noun")
    define_concept(db, "derived", "base or verb")
    assert np.flatnonzero(evaluate_formula(db, edge["id"], "derived")).tolist() == [3, 6, 10]
    with pytest.raises(ConceptError, match="exists"):
        define_concept(db, "base", "pronoun")
    define_concept(db, "base", "pronoun", replace=True)
    assert np.flatnonzero(evaluate_formula(db, edge["id"], "derived")).tolist() == [0, 3, 9, 10]


def test_definition_errors_change_nothing(db, edge) -> None:
    define_concept(db, "base", "noun")
    define_concept(db, "derived", "base or verb")
    before = row_counts(db)
    cases = [
        (dict(name="base", formula="derived", replace=True), "cycle"),
        (dict(name="loop", formula="loop or noun"), "unknown concept 'loop'"),
        (dict(name="noun", formula="verb", replace=True), "built-in"),
        (dict(name="x", formula="nuon"), "did you mean 'noun'"),
        (dict(name="x", formula="noun", words=["a"]), "exactly one definition"),
        (dict(name="x"), "exactly one definition"),
        (dict(name="x", regex="(unclosed"), "bad regular expression"),
        (dict(name="x", words=["", " "]), "empty"),
        (dict(name="not", formula="noun"), "bad concept name"),
        (dict(name="bad name", formula="noun"), "bad concept name"),
        (dict(name="x", formula="noun", level="word"), "bad level"),
    ]
    for kwargs, message in cases:
        name = kwargs.pop("name")
        with pytest.raises(ConceptError, match=message):
            define_concept(db, name, **kwargs)
    assert row_counts(db) == before


def test_remove_concept(db, edge) -> None:
    define_concept(db, "base", "noun")
    define_concept(db, "derived", "base or verb")
    with pytest.raises(ConceptError, match="used by derived"):
        remove_concept(db, "base")
    with pytest.raises(ConceptError, match="built-in"):
        remove_concept(db, "noun")
    remove_concept(db, "derived")
    remove_concept(db, "base")
    assert "base" not in set(list_concepts(db)["name"])


def test_list_concepts_counts_by_corpus(db, edge, tmp_path) -> None:
    add_corpus(db, "txt", write(tmp_path, "t.txt", "Not now.\n"), progress=False)
    edge_counts = list_concepts(db, corpus="edge").set_index("name")
    both = list_concepts(db).set_index("name")
    assert edge_counts.loc["negation", "n_tokens"] == 2 and both.loc["negation", "n_tokens"] == 3
    assert both.loc["negation", "n_sentences"] == 3 and both.loc["negation", "n_corpora"] == 2
    named = list_concepts(db, kind="named")
    assert set(named["kind"]) == {"named"} and "noun" in set(named["name"])
