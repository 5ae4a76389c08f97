"""Integration: UD English-PUD from ../shared (skipped with the reason only where it is absent)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from atlas.corpus import add_corpus, evaluate_formula, load_concept_matrix, resolve_corpus
from conftest import pud_path

pytestmark = pytest.mark.slow  # the real UD English PUD corpus


def _file_facts(path) -> tuple[int, int, int, int]:
    """Sentences, syntactic words, Polarity=Neg words and multiword ranges, counted line by line."""
    sentences = words = neg = ranges = 0
    in_sentence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            in_sentence = False
            continue
        if line.startswith("#"):
            continue
        if not in_sentence:
            sentences += 1
            in_sentence = True
        cols = line.split("\t")
        if re.fullmatch(r"\d+", cols[0]):
            words += 1
            neg += "Polarity=Neg" in cols[5].split("|")
        elif "-" in cols[0]:
            ranges += 1
    return sentences, words, neg, ranges


def test_pud(db) -> None:
    path = pud_path()
    n_sent, n_words, n_neg, n_ranges = _file_facts(path)
    assert n_ranges > 0  # the file exercises multiword tokens
    r = add_corpus(db, "pud", path, license="CC BY-SA 3.0", progress=False)
    assert r["n_sentences"] == n_sent == 1000
    assert r["n_tokens"] == n_words
    m = load_concept_matrix(db, r["id"], concepts=["feat:Polarity=Neg", "negation", "question"])
    assert m.mask.shape[0] == n_words
    assert m.column("feat:Polarity=Neg").sum() == n_neg
    assert m.column("negation").sum() >= n_neg
    assert np.bincount(m.sentence_index).size == 1000
    assert evaluate_formula(db, r["id"], "feat:Polarity=Neg and not negation").sum() == 0
    assert resolve_corpus(db, "pud")["license"] == "CC BY-SA 3.0"
