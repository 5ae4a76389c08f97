"""The named-concept catalogue: built-in concepts with friendly names (:data:`NAMED`).

Word classes (``noun``, ``verb``, ...), features (``negation``, ``past_tense``, ``plural``,
...), shapes (``capitalized``, ``digits``, ``punctuation``), long-range spans
(``inside_quotes``, ``inside_brackets``), positions (``sentence_start``, ``sentence_end``,
``position:0`` .. ``position:9``) and sentence-level concepts (``question``,
``negative_sentence``, ``quoted_sentence``), each computed from :class:`TokenColumns`.
``atlas concept list`` shows every definition.

Example::

    NAMED["negation"].compute(TokenColumns.from_sentences(sentences)).sum()
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from atlas.corpus.columns import TokenColumns

#: ``position:K`` concepts exist for K = 0 .. POSITIONS - 1.
POSITIONS = 10

NEGATION_WORDS = frozenset(
    {"not", "n't", "n’t", "no", "never", "nor", "neither", "none", "nobody", "nothing", "nowhere", "cannot", "without"}
)
_PUNCT_RE = re.compile(r"[^\w]+")
_DIGITS_RE = re.compile(r"[0-9][0-9.,:/\-]*")
_QUOTE_OPEN = {"“", "«", "„"}
_QUOTE_CLOSE = {"”", "»"}
_BRACKET_OPEN = {"(", "[", "{"}
_BRACKET_CLOSE = {")", "]", "}"}


@dataclass(frozen=True)
class NamedConcept:
    """A built-in concept with a friendly name, computed from token columns by ``compute``."""

    name: str
    definition: str
    description: str
    compute: Callable[[TokenColumns], np.ndarray]
    level: str = "token"
    kind: str = "named"


def _is_punct(cols: TokenColumns) -> np.ndarray:
    upos = cols.mask("upos", "PUNCT")
    untagged = np.fromiter((u is None for u in cols.upos), dtype=bool, count=cols.n)
    shape = np.fromiter((bool(_PUNCT_RE.fullmatch(f)) for f in cols.form), dtype=bool, count=cols.n)
    return upos | (untagged & shape)


def _span_between(cols: TokenColumns, opens: np.ndarray, closes: np.ndarray, toggles: np.ndarray) -> np.ndarray:
    """Tokens strictly inside open/close marks, sentence by sentence.

    A toggle (``"``) opens when nothing is open and closes otherwise. A close with nothing
    open marks the words before it (the quotation began in an earlier sentence); an open
    never closed marks the words after it up to the sentence end.
    """
    out = np.zeros(cols.n, dtype=bool)
    start = 0
    for length in cols.sentence_length.tolist():
        depth = 0
        seen_open = False
        for row in range(start, start + length):
            if closes[row] or (toggles[row] and depth > 0):
                if depth > 0:
                    depth -= 1
                elif not seen_open:
                    out[start:row] = True  # the quotation began before this sentence
                seen_open = True
            elif opens[row] or toggles[row]:
                depth += 1
                seen_open = True
            elif depth > 0:
                out[row] = True
        start += length
    return out


def _inside_quotes(cols: TokenColumns) -> np.ndarray:
    xpos_open = cols.mask("xpos", "``")
    xpos_close = cols.mask("xpos", "''")
    plain = cols.mask("lower", '"')
    opens = cols.mask("lower", *_QUOTE_OPEN) | (plain & xpos_open)
    closes = cols.mask("lower", *_QUOTE_CLOSE) | (plain & xpos_close)
    toggles = plain & ~xpos_open & ~xpos_close
    return _span_between(cols, opens, closes, toggles)


def _inside_brackets(cols: TokenColumns) -> np.ndarray:
    opens = cols.mask("lower", *_BRACKET_OPEN)
    closes = cols.mask("lower", *_BRACKET_CLOSE)
    return _span_between(cols, opens, closes, np.zeros(cols.n, dtype=bool))


def _sentence_end(cols: TokenColumns) -> np.ndarray:
    punct = _is_punct(cols)
    out = np.zeros(cols.n, dtype=bool)
    start = 0
    for length in cols.sentence_length.tolist():
        end = start + length - 1
        row = end
        while row > start and punct[row]:
            row -= 1
        out[row if not punct[row] else end] = True
        start += length
    return out


def _feat_or_xpos(feat: str, *xpos: str) -> Callable[[TokenColumns], np.ndarray]:
    return lambda c: c.mask("feat", feat) | c.mask("xpos", *xpos)


def _upos(*tags: str) -> Callable[[TokenColumns], np.ndarray]:
    return lambda c: c.mask("upos", *tags)


def _named() -> list[NamedConcept]:
    neg_words = ", ".join(sorted(NEGATION_WORDS))
    n = NamedConcept
    items = [
        n("noun", "upos = NOUN", "common nouns", _upos("NOUN")),
        n("proper_noun", "upos = PROPN", "proper nouns (names)", _upos("PROPN")),
        n("verb", "upos = VERB", "main verbs", _upos("VERB")),
        n("auxiliary", "upos = AUX", "auxiliary verbs and copulas", _upos("AUX")),
        n("adjective", "upos = ADJ", "adjectives", _upos("ADJ")),
        n("adverb", "upos = ADV", "adverbs", _upos("ADV")),
        n("pronoun", "upos = PRON", "pronouns", _upos("PRON")),
        n("determiner", "upos = DET", "determiners and articles", _upos("DET")),
        n("adposition", "upos = ADP", "prepositions and postpositions", _upos("ADP")),
        n("conjunction", "upos = CCONJ or SCONJ", "coordinating and subordinating conjunctions", _upos("CCONJ", "SCONJ")),
        n("particle", "upos = PART", "particles ('not', 'to', possessive 's)", _upos("PART")),
        n("numeral", "upos = NUM", "numerals, in digits or words", _upos("NUM")),
        n("punctuation", "upos = PUNCT, or an untagged word with no letter or digit", "punctuation marks", _is_punct),
        n(
            "negation",
            f"feat Polarity=Neg, or the lower-cased form is one of: {neg_words}",
            "negation words",
            lambda c: c.mask("feat", "Polarity=Neg") | c.mask("lower", *NEGATION_WORDS),
        ),
        n("past_tense", "feat Tense=Past", "past-tense verbs and auxiliaries", lambda c: c.mask("feat", "Tense=Past")),
        n("present_tense", "feat Tense=Pres", "present-tense verbs and auxiliaries", lambda c: c.mask("feat", "Tense=Pres")),
        n("plural", "feat Number=Plur", "plural words", lambda c: c.mask("feat", "Number=Plur")),
        n("singular", "feat Number=Sing", "singular words", lambda c: c.mask("feat", "Number=Sing")),
        n("comparative", "feat Degree=Cmp, or xpos JJR/RBR", "comparative adjectives and adverbs",
          _feat_or_xpos("Degree=Cmp", "JJR", "RBR")),
        n("superlative", "feat Degree=Sup, or xpos JJS/RBS", "superlative adjectives and adverbs",
          _feat_or_xpos("Degree=Sup", "JJS", "RBS")),
        n("first_person", "feat Person=1", "first-person pronouns and verbs", lambda c: c.mask("feat", "Person=1")),
        n("wh_word", "feat PronType=Int, or xpos WDT/WP/WP$/WRB", "interrogative and relative wh-words",
          lambda c: c.mask("feat", "PronType=Int") | c.mask("xpos", "WDT", "WP", "WP$", "WRB")),
        n("capitalized", "the form starts with an upper-case letter", "capitalized words",
          lambda c: np.fromiter((f[:1].isupper() for f in c.form), dtype=bool, count=c.n)),
        n("digits", "the form is a digit followed by digits or . , : / -", "numbers written in digits",
          lambda c: np.fromiter((bool(_DIGITS_RE.fullmatch(f)) for f in c.form), dtype=bool, count=c.n)),
        n("inside_quotes", "between an opening and a closing quotation mark in the sentence (marks excluded); "
          "a close with no open marks the words before it, an open never closed the words after it",
          "words inside quoted speech (long-range)", _inside_quotes),
        n("inside_brackets", "between ( [ { and the matching ) ] } in the sentence (brackets excluded)",
          "words inside brackets (long-range)", _inside_brackets),
        n("sentence_start", "position 0", "the first word of a sentence", lambda c: c.position == 0, kind="position"),
        n("sentence_end", "the last word that is not punctuation (the last word if all are punctuation)",
          "the last word of a sentence before its final punctuation", _sentence_end, kind="position"),
        n("question", "the sentence contains '?' (OR-pooled: every word of the sentence)",
          "questions (sentence-level)", lambda c: c.pool(c.mask("lower", "?", "？")), level="sentence", kind="sentence"),
        n("negative_sentence", "the sentence contains a negation word (OR-pooled)",
          "sentences with a negation (sentence-level)",
          lambda c: c.pool(c.mask("feat", "Polarity=Neg") | c.mask("lower", *NEGATION_WORDS)),
          level="sentence", kind="sentence"),
        n("quoted_sentence", "the sentence contains a quotation (OR-pooled inside_quotes)",
          "sentences with quoted speech (sentence-level)", lambda c: c.pool(_inside_quotes(c)),
          level="sentence", kind="sentence"),
    ]
    for k in range(POSITIONS):
        items.append(
            n(f"position:{k}", f"position = {k}", f"the word at 0-based position {k} in its sentence",
              (lambda kk: lambda c: c.position == kk)(k), kind="position")
        )
    return items


#: The built-in named concepts, by name.
NAMED: dict[str, NamedConcept] = {c.name: c for c in _named()}


__all__ = ["NAMED", "NEGATION_WORDS", "POSITIONS", "NamedConcept"]
