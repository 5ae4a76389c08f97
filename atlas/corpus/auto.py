"""Automatic concepts: one per annotation value a corpus carries (``builtin``).

* ``upos:NOUN`` (UPOS), ``xpos:NNS`` (XPOS), ``deprel:nsubj`` (DEPREL);
* ``feat:Tense=Past``: one concept per feature *value* (``PronType=Int,Rel`` gives
  ``feat:PronType=Int`` and ``feat:PronType=Rel``);
* ``word:the``: lower-cased forms occurring at least :data:`WORD_MIN_COUNT` (10) times in a
  corpus, at most :data:`WORD_MAX` (200) most frequent per corpus, forms with a letter or
  digit only.

Characters a concept name cannot hold are spelled out: in XPOS ``$`` → ``S``
(``xpos:PRPS`` is ``PRP$``), ``:`` → ``COLON``, `````` → ``LQ``, ``#`` → ``HASH``, any other
→ ``_``; in DEPREL the subtype colon becomes ``_`` (``deprel:nmod_poss`` is ``nmod:poss``),
and ``deprel:nmod`` covers all its subtypes; feature names drop brackets
(``Number[psor]`` → ``Number_psor``). The raw value is the concept's ``definition``.

Example::

    >>> auto_name("xpos", "PRP$"), auto_name("deprel", "nmod:poss")
    ('xpos:PRPS', 'deprel:nmod_poss')
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

import atlas.corpus.formula as fm
from atlas.corpus.columns import TokenColumns
from atlas.naming import check_generated_name

#: A lower-cased form becomes a ``word:`` concept when a corpus holds it this many times.
WORD_MIN_COUNT = 10
#: At most this many ``word:`` concepts come from one corpus (the most frequent forms).
WORD_MAX = 200
#: The kinds of automatic concepts.
AUTO_KINDS = ("upos", "xpos", "feat", "deprel", "word")
_XPOS_SPELLING = {"$": "S", ":": "COLON", "`": "LQ", "#": "HASH"}
_VALUE_OK = re.compile(r"[A-Za-z0-9_=.,\-']+")


def _spell(value: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch if _VALUE_OK.fullmatch(ch) else "_") for ch in value)


def auto_name(kind: str, raw: str) -> str:
    """The concept name of an annotation value: ``auto_name("xpos", "PRP$") == "xpos:PRPS"``."""
    if kind == "xpos":
        return f"xpos:{_spell(raw, _XPOS_SPELLING)}"
    if kind == "deprel":
        return f"deprel:{_spell(raw.replace(':', '_'), {})}"
    if kind == "feat":
        name, _, value = raw.partition("=")
        name = name.replace("[", "_").replace("]", "")
        return f"feat:{_spell(name, {})}={_spell(value, {})}"
    return f"{kind}:{_spell(raw, {})}"


_AUTO_DESCRIPTION = {
    "upos": "words whose UPOS is {!r}",
    "xpos": "words whose XPOS is {!r}",
    "feat": "words with the feature {}",
    "deprel": "words whose dependency relation is {!r}",
    "word": "the word {!r} (lower-cased)",
}


@dataclass(frozen=True)
class AutoConcept:
    """An automatic concept a corpus' annotations give: its name, kind and raw value."""

    name: str
    kind: str
    raw: str

    @property
    def description(self) -> str:
        text = _AUTO_DESCRIPTION[self.kind].format(self.raw)
        if self.kind == "deprel" and ":" not in self.raw:
            text += " (with any subtype)"
        return text


def auto_concepts(cols: TokenColumns, *, word_min_count: int = WORD_MIN_COUNT, word_max: int = WORD_MAX) -> list[AutoConcept]:
    """The automatic concepts a corpus' annotations give (see the module docstring)."""
    found: dict[str, AutoConcept] = {}

    def add(kind: str, raw: str) -> None:
        name = auto_name(kind, raw)
        if fm.is_concept_name(name) and check_generated_name(name) and name not in found:
            found[name] = AutoConcept(name, kind, raw)

    for raw in sorted(cols.index("upos")):
        add("upos", raw)
    for raw in sorted(cols.index("xpos")):
        add("xpos", raw)
    for raw in sorted(cols.index("feat")):
        add("feat", raw)
    for raw in sorted(cols.index("deprel_u")):
        add("deprel", raw)
    for raw in sorted(cols.index("deprel")):
        if ":" in raw:
            add("deprel", raw)
    counts = Counter({w: len(rows) for w, rows in cols.index("lower").items()})
    frequent = [w for w, c in counts.most_common() if c >= word_min_count and _VALUE_OK.fullmatch(w) and re.search(r"[^\W_]", w)]
    for raw in frequent[:word_max]:
        add("word", raw)
    return list(found.values())


def auto_mask(cols: TokenColumns, kind: str, raw: str) -> np.ndarray:
    """The token mask of an automatic concept of ``kind`` whose raw annotation value is ``raw``."""
    if kind == "deprel":
        return cols.mask("deprel", raw) if ":" in raw else cols.mask("deprel_u", raw)
    if kind == "word":
        return cols.mask("lower", raw)
    return cols.mask(kind, raw)


__all__ = ["AUTO_KINDS", "WORD_MAX", "WORD_MIN_COUNT", "AutoConcept", "auto_concepts", "auto_mask", "auto_name"]
