"""The concept inventory and concept membership of every stored corpus.

A concept is a property of words (or of sentences) that methods score neurons against. The
inventory (table ``concept``) is global; membership (table ``annotation``, one row per
(concept, corpus, token row)) and counts (table ``concept_count``) are per corpus, written
through the bulk path. Every concept is materialised for every corpus: when a corpus is
added, for all concepts; when a concept is defined, for all corpora.

Kinds of concepts:

* automatic, from the annotations a corpus carries (``builtin``):

  - ``upos:NOUN`` (UPOS), ``xpos:NNS`` (XPOS), ``deprel:nsubj`` (DEPREL);
  - ``feat:Tense=Past``: one concept per feature *value* (``PronType=Int,Rel`` gives
    ``feat:PronType=Int`` and ``feat:PronType=Rel``);
  - ``word:the``: lower-cased forms occurring at least :data:`WORD_MIN_COUNT` (10) times in a
    corpus, at most :data:`WORD_MAX` (200) most frequent per corpus, forms with a letter or
    digit only.

  Characters a concept name cannot hold are spelled out: in XPOS ``$`` → ``S``
  (``xpos:PRPS`` is ``PRP$``), ``:`` → ``COLON``, `````` → ``LQ``, ``#`` → ``HASH``, any other
  → ``_``; in DEPREL the subtype colon becomes ``_`` (``deprel:nmod_poss`` is ``nmod:poss``),
  and ``deprel:nmod`` covers all its subtypes; feature names drop brackets
  (``Number[psor]`` → ``Number_psor``). The raw value is the concept's ``definition``.

* named concepts with friendly names (:data:`NAMED`; ``builtin``): ``noun``, ``negation``,
  ``past_tense``, ``question``, ``inside_quotes``, ``sentence_start``, ...
  (``atlas concept list`` shows each definition);

* position concepts ``position:0`` .. ``position:9`` (the 0-based index of the word in its sentence);

* user-defined (:func:`define_concept`): a formula over other concepts (``noun and not plural``,
  see :mod:`atlas.corpus.formula`), a word list (lower-cased forms) or a regular expression
  matched against the whole word form (``re.fullmatch``).

Sentence-level concepts (``level="sentence"``, e.g. ``question``) mark **every token** of the
sentences that have them, so token-level methods work on them; sentence-level methods pool by
sentence (:attr:`ConceptMatrix.sentence_index`). ``concept_count.n_sentences`` is the number of
sentences with at least one token having the concept (OR-pooling).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, update

from atlas.corpus import formula as fm
from atlas.corpus.model import ParsedSentence
from atlas.errors import ConceptError, CorpusError, did_you_mean
from atlas.store.bulk import bulk_insert
from atlas.store.tables import Annotation, Concept, ConceptCount, Corpus, Sentence, Token

if TYPE_CHECKING:
    import pandas as pd

    from atlas.api import Atlas

#: A lower-cased form becomes a ``word:`` concept when a corpus holds it this many times.
WORD_MIN_COUNT = 10
#: At most this many ``word:`` concepts come from one corpus (the most frequent forms).
WORD_MAX = 200
#: ``position:K`` concepts exist for K = 0 .. POSITIONS - 1.
POSITIONS = 10

NEGATION_WORDS = frozenset(
    {"not", "n't", "n’t", "no", "never", "nor", "neither", "none", "nobody", "nothing", "nowhere", "cannot", "without"}
)
AUTO_KINDS = ("upos", "xpos", "feat", "deprel", "word")
USER_KINDS = ("formula", "wordlist", "regex")
_PUNCT_RE = re.compile(r"[^\w]+")
_DIGITS_RE = re.compile(r"[0-9][0-9.,:/\-]*")
_XPOS_SPELLING = {"$": "S", ":": "COLON", "`": "LQ", "#": "HASH"}
_VALUE_OK = re.compile(r"[A-Za-z0-9_=.,\-']+")
_QUOTE_OPEN = {"“", "«", "„"}
_QUOTE_CLOSE = {"”", "»"}
_BRACKET_OPEN = {"(", "[", "{"}
_BRACKET_CLOSE = {")", "]", "}"}


# -- token columns ---------------------------------------------------------------------------
@dataclass
class TokenColumns:
    """The columns of a corpus' tokens that concepts are computed from (row order).

    Built from parsed sentences (:meth:`from_sentences`) or from the store (:meth:`load`).
    """

    form: list[str]
    upos: list[str | None]
    xpos: list[str | None]
    feats: list[str | None]
    deprel: list[str | None]
    position: np.ndarray
    sentence_index: np.ndarray
    sentence_length: np.ndarray  # words per sentence
    _index: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.form)

    @property
    def n_sentences(self) -> int:
        return len(self.sentence_length)

    @classmethod
    def from_sentences(cls, sentences: Sequence[ParsedSentence]) -> TokenColumns:
        words = [w for s in sentences for w in s.words]
        lengths = np.array([len(s.words) for s in sentences], dtype=np.int64)
        return cls(
            form=[w.form for w in words],
            upos=[w.upos for w in words],
            xpos=[w.xpos for w in words],
            feats=[w.feats for w in words],
            deprel=[w.deprel for w in words],
            position=np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.zeros(0, np.int64),
            sentence_index=np.repeat(np.arange(len(lengths)), lengths),
            sentence_length=lengths,
        )

    @classmethod
    def load(cls, conn: Connection, corpus_id: int) -> TokenColumns:
        t = Token.__table__
        rows = conn.execute(
            select(t.c.form, t.c.upos, t.c.xpos, t.c.feats, t.c.deprel, t.c.position)
            .where(t.c.corpus_id == corpus_id)
            .order_by(t.c.row)
        ).all()
        lengths = _sentence_lengths(conn, corpus_id)
        return cls(
            form=[r[0] for r in rows],
            upos=[r[1] for r in rows],
            xpos=[r[2] for r in rows],
            feats=[r[3] for r in rows],
            deprel=[r[4] for r in rows],
            position=np.array([r[5] for r in rows], dtype=np.int64),
            sentence_index=np.repeat(np.arange(len(lengths)), lengths),
            sentence_length=lengths,
        )

    def index(self, column: str) -> dict[str, np.ndarray]:
        """``value -> rows`` for ``upos``, ``xpos``, ``deprel`` (exact), ``deprel_u`` (universal
        part), ``feat`` (``Name=Value``) or ``lower`` (lower-cased form); built once."""
        if column not in self._index:
            groups: dict[str, list[int]] = {}
            if column == "feat":
                for row, feats in enumerate(self.feats):
                    if feats:
                        for item in feats.split("|"):
                            name, _, values = item.partition("=")
                            for value in values.split(","):
                                groups.setdefault(f"{name}={value}", []).append(row)
            else:
                if column == "lower":
                    values_of: Iterable[str | None] = (f.lower() for f in self.form)
                elif column == "deprel_u":
                    values_of = (d.split(":", 1)[0] if d else None for d in self.deprel)
                else:
                    values_of = getattr(self, column)
                for row, value in enumerate(values_of):
                    if value is not None:
                        groups.setdefault(value, []).append(row)
            self._index[column] = {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}
        return self._index[column]

    def mask(self, column: str, *values: str) -> np.ndarray:
        """Rows whose ``column`` (see :meth:`index`) has any of ``values``."""
        out = np.zeros(self.n, dtype=bool)
        idx = self.index(column)
        for value in values:
            rows = idx.get(value)
            if rows is not None:
                out[rows] = True
        return out

    def pool(self, mask: np.ndarray) -> np.ndarray:
        """Sentence-level OR-pooling broadcast back to tokens: every token of a sentence with any hit."""
        if self.n == 0:
            return mask.copy()
        hit = np.zeros(self.n_sentences, dtype=bool)
        hit[self.sentence_index[mask]] = True
        return hit[self.sentence_index]


def _sentence_lengths(conn: Connection, corpus_id: int) -> np.ndarray:
    s = Sentence.__table__
    return np.array(
        conn.execute(select(s.c.n_tokens).where(s.c.corpus_id == corpus_id).order_by(s.c.index)).scalars().all(),
        dtype=np.int64,
    )


# -- named concepts --------------------------------------------------------------------------
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


# -- automatic concepts ----------------------------------------------------------------------
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
        if fm.is_concept_name(name) and name not in found:
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


def _auto_mask(cols: TokenColumns, kind: str, raw: str) -> np.ndarray:
    if kind == "deprel":
        return cols.mask("deprel", raw) if ":" in raw else cols.mask("deprel_u", raw)
    if kind == "word":
        return cols.mask("lower", raw)
    return cols.mask(kind, raw)


# -- materialisation -------------------------------------------------------------------------
@dataclass(frozen=True)
class ConceptRow:
    id: int
    name: str
    kind: str
    level: str
    definition: str | None


def _concept_rows(conn: Connection) -> dict[str, ConceptRow]:
    c = Concept.__table__
    return {
        r.name: ConceptRow(r.id, r.name, r.kind, r.level, r.definition)
        for r in conn.execute(select(c.c.id, c.c.name, c.c.kind, c.c.level, c.c.definition).order_by(c.c.id))
    }


class _MaskComputer:
    """Computes concept masks on one corpus, formulas through their parts (memoised, cycle-safe).

    ``stored(name)`` gives a mask already in the store for concepts not being recomputed.
    """

    def __init__(
        self,
        cols: TokenColumns,
        concepts: dict[str, ConceptRow],
        *,
        recompute: set[str] | None = None,
        stored: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.cols = cols
        self.concepts = concepts
        self.recompute = recompute
        self.stored = stored
        self.memo: dict[str, np.ndarray] = {}
        self.visiting: set[str] = set()

    def __call__(self, name: str) -> np.ndarray:
        if name in self.memo:
            return self.memo[name]
        if self.recompute is not None and name not in self.recompute and self.stored is not None:
            mask = self.stored(name)
            self.memo[name] = mask
            return mask
        row = self.concepts.get(name)
        if row is None:
            raise ConceptError(f"unknown concept {name!r}", hint=did_you_mean(name, self.concepts))
        if name in self.visiting:
            raise ConceptError(f"concept {name!r} is defined in terms of itself", hint="remove the cycle from its formula")
        self.visiting.add(name)
        try:
            mask = self._compute(row)
        finally:
            self.visiting.discard(name)
        if row.level == "sentence" and row.kind in USER_KINDS:
            mask = self.cols.pool(mask)
        self.memo[name] = mask
        return mask

    def _compute(self, row: ConceptRow) -> np.ndarray:
        cols = self.cols
        if row.kind in AUTO_KINDS:
            return _auto_mask(cols, row.kind, row.definition or "")
        if row.kind == "formula":
            return fm.evaluate(fm.parse_formula(row.definition or ""), self)
        if row.kind == "wordlist":
            return cols.mask("lower", *(w for w in (row.definition or "").split("\n") if w))
        if row.kind == "regex":
            pattern = re.compile(row.definition or "")
            return np.fromiter((pattern.fullmatch(f) is not None for f in cols.form), dtype=bool, count=cols.n)
        named = NAMED.get(row.name)
        if named is None:  # a built-in concept this version does not know: nothing to compute
            return np.zeros(cols.n, dtype=bool)
        return np.asarray(named.compute(cols), dtype=bool)


def _insert_concepts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert concept rows, skipping names that exist (a concurrent ingest may add the same)."""
    if not rows:
        return
    table = Concept.__table__
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    conn.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=["name"]), rows)


def ensure_builtin_concepts(conn: Connection, autos: Iterable[AutoConcept] = ()) -> list[str]:
    """Create the named concepts and the given automatic ones when missing; returns new names."""
    existing = set(conn.execute(select(Concept.__table__.c.name)).scalars())
    new: list[dict[str, Any]] = []
    for c in NAMED.values():
        if c.name not in existing:
            new.append(dict(name=c.name, kind=c.kind, level=c.level, definition=c.definition,
                            description=c.description, builtin=True))
    for a in autos:
        if a.name not in existing:
            new.append(dict(name=a.name, kind=a.kind, level="token", definition=a.raw,
                            description=a.description, builtin=True))
    _insert_concepts(conn, new)
    return [r["name"] for r in new]


def write_masks(conn: Connection, corpus_id: int, cols: TokenColumns, masks: dict[int, np.ndarray]) -> int:
    """Bulk-write annotations and counts of ``{concept_id: mask}`` for one corpus; returns
    how many of the concepts have at least one token."""
    concept_ids: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    counts: dict[str, list[int]] = {"concept_id": [], "corpus_id": [], "n_tokens": [], "n_sentences": []}
    nonzero = 0
    for concept_id, mask in masks.items():
        hit = np.flatnonzero(mask)
        n_sent = int(np.unique(cols.sentence_index[hit]).size) if hit.size else 0
        counts["concept_id"].append(concept_id)
        counts["corpus_id"].append(corpus_id)
        counts["n_tokens"].append(int(hit.size))
        counts["n_sentences"].append(n_sent)
        if hit.size:
            nonzero += 1
            rows.append(hit)
            concept_ids.append(np.full(hit.size, concept_id, dtype=np.int64))
    if rows:
        all_rows = np.concatenate(rows)
        bulk_insert(
            conn,
            Annotation.__table__,
            {
                "concept_id": np.concatenate(concept_ids),
                "corpus_id": np.full(all_rows.size, corpus_id, dtype=np.int64),
                "row": all_rows,
            },
        )
    bulk_insert(conn, ConceptCount.__table__, counts)
    return nonzero


def materialise_corpus(conn: Connection, corpus_id: int, cols: TokenColumns, *, progress: bool = False) -> int:
    """Create the concepts a new corpus brings and write every concept's membership for it.

    Concepts the corpus adds to the inventory (new UPOS tags, frequent words, ...) are also
    written for every other stored corpus, so each concept stays materialised everywhere.
    Runs inside the caller's transaction. Returns the number of concepts with at least one
    token in the new corpus.
    """
    from tqdm import tqdm

    new_names = ensure_builtin_concepts(conn, auto_concepts(cols))
    concepts = _concept_rows(conn)
    computer = _MaskComputer(cols, concepts)
    masks: dict[int, np.ndarray] = {}
    for name, row in tqdm(concepts.items(), desc="concepts", unit=" concept", disable=not progress, leave=False):
        try:
            masks[row.id] = computer(name)
        except ConceptError:
            masks[row.id] = np.zeros(cols.n, dtype=bool)  # a broken user formula does not block ingest
    n_concepts = write_masks(conn, corpus_id, cols, masks)
    if new_names:
        others = conn.execute(select(Corpus.__table__.c.id).where(Corpus.__table__.c.id != corpus_id)).scalars().all()
        affected = _with_dependents(concepts, set(new_names))
        for other in others:
            _rematerialise(conn, other, concepts, affected)
    return n_concepts


def _dependencies(row: ConceptRow) -> set[str]:
    if row.kind != "formula" or not row.definition:
        return set()
    try:
        return fm.names(fm.parse_formula(row.definition))
    except ConceptError:
        return set()


def _with_dependents(concepts: dict[str, ConceptRow], names: set[str]) -> set[str]:
    """``names`` plus every formula concept that uses one of them, transitively."""
    out = set(names)
    changed = True
    while changed:
        changed = False
        for row in concepts.values():
            if row.name not in out and _dependencies(row) & out:
                out.add(row.name)
                changed = True
    return out


def _stored_mask_loader(conn: Connection, corpus_id: int, n: int, concepts: dict[str, ConceptRow]) -> Callable[[str], np.ndarray]:
    a = Annotation.__table__

    def load(name: str) -> np.ndarray:
        row = concepts.get(name)
        if row is None:
            raise ConceptError(f"unknown concept {name!r}", hint=did_you_mean(name, concepts))
        mask = np.zeros(n, dtype=bool)
        hits = conn.execute(select(a.c.row).where(a.c.corpus_id == corpus_id, a.c.concept_id == row.id)).scalars().all()
        if hits:
            mask[np.asarray(hits, dtype=np.int64)] = True
        return mask

    return load


def _rematerialise(conn: Connection, corpus_id: int, concepts: dict[str, ConceptRow], names: set[str]) -> dict[str, int]:
    """Recompute ``names`` on a stored corpus, replacing their annotations and counts."""
    cols = TokenColumns.load(conn, corpus_id)
    ids = [concepts[n].id for n in names]
    for table in (Annotation.__table__, ConceptCount.__table__):
        conn.execute(delete(table).where(table.c.corpus_id == corpus_id, table.c.concept_id.in_(ids)))
    computer = _MaskComputer(cols, concepts, recompute=names, stored=_stored_mask_loader(conn, corpus_id, cols.n, concepts))
    masks = {concepts[n].id: computer(n) for n in sorted(names, key=lambda n: concepts[n].id)}
    write_masks(conn, corpus_id, cols, masks)
    return {n: int(masks[concepts[n].id].sum()) for n in names}


# -- reading concepts back -------------------------------------------------------------------
@dataclass
class ConceptMatrix:
    """Which token of a corpus has which concept.

    Attributes:
        ids: concept ids, ``[n_concepts]``.
        names: concept names, in the order of ``ids``.
        levels: ``"token"`` or ``"sentence"`` per concept.
        mask: ``bool [n_tokens, n_concepts]``; row ``r`` is the token with ``token.row == r``.
        sentence_index: ``int [n_tokens]``, the 0-based sentence of each row.
        kinds: the kind of each concept (``upos``, ``named``, ``formula``, ...).
    """

    ids: np.ndarray
    names: list[str]
    levels: list[str]
    mask: np.ndarray
    sentence_index: np.ndarray
    kinds: list[str] = field(default_factory=list)

    @property
    def n_tokens(self) -> int:
        return int(self.mask.shape[0])

    def column(self, name: str) -> np.ndarray:
        """The mask of one concept by name."""
        try:
            return self.mask[:, self.names.index(name)]
        except ValueError:
            raise ConceptError(f"concept {name!r} is not in this matrix", hint=did_you_mean(name, self.names)) from None

    def sentence_mask(self) -> np.ndarray:
        """``bool [n_sentences, n_concepts]``: a sentence has a concept when any of its tokens has it."""
        n_sent = int(self.sentence_index.max()) + 1 if self.sentence_index.size else 0
        out = np.zeros((n_sent, self.mask.shape[1]), dtype=bool)
        np.logical_or.at(out, self.sentence_index, self.mask)
        return out


def _corpus_row(conn: Connection, corpus_id: int) -> Any:
    row = conn.execute(select(Corpus.__table__).where(Corpus.__table__.c.id == corpus_id)).first()
    if row is None:
        raise CorpusError(f"no corpus with id {corpus_id}", hint="atlas corpus list shows the stored corpora")
    return row


def _sentence_index(conn: Connection, corpus_id: int) -> np.ndarray:
    lengths = _sentence_lengths(conn, corpus_id)
    return np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)


def load_concept_matrix(
    db: Atlas, corpus_id: int, *, concepts: Sequence[str] | None = None, min_count: int = 1
) -> ConceptMatrix:
    """The concept membership of a corpus as a boolean matrix.

    Args:
        db: the atlas.
        corpus_id: ``corpus.id``.
        concepts: concept names to include (default: all); unknown names raise :class:`ConceptError`.
            Columns are in concept-id order whatever the order of ``concepts``.
        min_count: keep concepts with at least this many tokens in the corpus.

    Example::

        m = load_concept_matrix(db, corpus_id, concepts=["noun", "negation"])
        m.mask[:, m.names.index("noun")].sum()
    """
    c, cc, a = Concept.__table__, ConceptCount.__table__, Annotation.__table__
    with db.engine.connect() as conn:
        corpus = _corpus_row(conn, corpus_id)
        query = (
            select(c.c.id, c.c.name, c.c.level, c.c.kind)
            .join(cc, cc.c.concept_id == c.c.id)
            .where(cc.c.corpus_id == corpus_id, cc.c.n_tokens >= min_count)
            .order_by(c.c.id)
        )
        if concepts is not None:
            wanted = list(dict.fromkeys(concepts))
            known = set(conn.execute(select(c.c.name).where(c.c.name.in_(wanted))).scalars()) if wanted else set()
            missing = [n for n in wanted if n not in known]
            if missing:
                all_names = conn.execute(select(c.c.name)).scalars().all()
                raise ConceptError(f"unknown concept {missing[0]!r}", hint=did_you_mean(missing[0], all_names))
            query = query.where(c.c.name.in_(wanted)) if wanted else query.where(c.c.id < 0)
        rows = conn.execute(query).all()
        ids = np.array([r.id for r in rows], dtype=np.int64)
        n = int(corpus.n_tokens)
        mask = np.zeros((n, len(rows)), dtype=bool)
        if rows:
            col_of = {int(i): k for k, i in enumerate(ids.tolist())}
            ann = select(a.c.concept_id, a.c.row).where(a.c.corpus_id == corpus_id)
            if concepts is not None or min_count > 1:
                ann = ann.where(a.c.concept_id.in_(ids.tolist()))
            result = conn.execute(ann)
            while chunk := result.fetchmany(200_000):
                arr = np.asarray(chunk, dtype=np.int64).reshape(-1, 2)
                cols = np.fromiter((col_of.get(int(x), -1) for x in arr[:, 0]), dtype=np.int64, count=len(arr))
                keep = cols >= 0
                mask[arr[keep, 1], cols[keep]] = True
        sentence_index = _sentence_index(conn, corpus_id)
    return ConceptMatrix(
        ids=ids,
        names=[r.name for r in rows],
        levels=[r.level for r in rows],
        mask=mask,
        sentence_index=sentence_index,
        kinds=[r.kind for r in rows],
    )


def evaluate_formula(db: Atlas, corpus_id: int, formula: str) -> np.ndarray:
    """The token mask ``bool [n_tokens]`` of a concept formula on a corpus.

    Raises:
        ConceptError: the formula is malformed, or names an unknown concept (with a "did you mean").

    Example::

        >>> evaluate_formula(db, corpus_id, "noun and not plural").sum()  # doctest: +SKIP
        4412
    """
    tree = fm.parse_formula(formula)
    with db.engine.connect() as conn:
        corpus = _corpus_row(conn, corpus_id)
        concepts = _concept_rows(conn)
        _check_names(tree, concepts)
        loader = _stored_mask_loader(conn, corpus_id, int(corpus.n_tokens), concepts)
        return fm.evaluate(tree, loader)


def _check_names(tree: fm.Node, concepts: dict[str, ConceptRow]) -> None:
    for node in fm.name_nodes(tree):
        if node.name not in concepts:
            raise ConceptError(f"unknown concept {node.name!r}", hint=did_you_mean(node.name, concepts))


# -- user-defined concepts -------------------------------------------------------------------
def define_concept(
    db: Atlas,
    name: str,
    formula: str | None = None,
    *,
    words: Iterable[str] | None = None,
    regex: str | None = None,
    description: str | None = None,
    level: str = "token",
    replace: bool = False,
) -> dict[str, Any]:
    """Define a concept and materialise it for every stored corpus, in one transaction.

    Exactly one of ``formula`` (over other concepts), ``words`` (matched on lower-cased forms)
    or ``regex`` (``re.fullmatch`` on the form) defines it. ``level="sentence"`` OR-pools it
    over sentences. Concepts that use it in their formulas are recomputed when it is replaced.

    Returns:
        ``{"id", "name", "kind", "n_tokens": {corpus name: count}}``.

    Raises:
        ConceptError: a bad name or definition, an unknown concept in the formula (with a
            "did you mean"), a name that exists (unless ``replace``), or a built-in concept.

    Example::

        define_concept(db, "common_singular", "noun and not plural")
        define_concept(db, "colour", words=["red", "green", "blue"])
        define_concept(db, "ing_form", regex=r"\\w+ing")
    """
    if not fm.is_concept_name(name):
        raise ConceptError(
            f"bad concept name {name!r}",
            hint="a name is letters, digits and _ (not starting with a digit), optionally ':' and a value; "
            "'and', 'or', 'not' are reserved",
        )
    given = [x is not None for x in (formula, words, regex)]
    if sum(given) != 1:
        raise ConceptError(
            f"concept {name!r} needs exactly one definition: a formula, a word list or a regular expression",
            hint="atlas concept define NAME 'noun and not plural' | --words FILE | --regex PATTERN",
        )
    if level not in ("token", "sentence"):
        raise ConceptError(f"bad level {level!r} for concept {name!r}", hint="use 'token' or 'sentence'")
    if formula is not None:
        kind = "formula"
        tree = fm.parse_formula(formula)
        definition = fm.to_text(tree)
    elif words is not None:
        kind = "wordlist"
        items = sorted({w.strip().lower() for w in words if w.strip()})
        if not items:
            raise ConceptError(f"the word list of concept {name!r} is empty")
        bad = [w for w in items if "\n" in w]
        if bad:
            raise ConceptError(f"word {bad[0]!r} of concept {name!r} holds a line break")
        definition = "\n".join(items)
    else:
        kind = "regex"
        assert regex is not None
        try:
            re.compile(regex)
        except re.error as exc:
            raise ConceptError(f"bad regular expression {regex!r} for concept {name!r}: {exc}") from None
        definition = regex
    table = Concept.__table__
    with db.write() as conn:
        concepts = _concept_rows(conn)
        existing = concepts.get(name)
        if existing is not None:
            row = conn.execute(select(table.c.builtin).where(table.c.id == existing.id)).scalar_one()
            if row:
                raise ConceptError(f"{name!r} is a built-in concept and cannot be redefined", hint="choose another name")
            if not replace:
                raise ConceptError(f"concept {name!r} exists", hint="use --replace (replace=True) to redefine it")
        if kind == "formula":
            _check_names(tree, concepts)
            if name in fm.names(tree):
                raise ConceptError(f"concept {name!r} cannot be defined in terms of itself")
        values = dict(name=name, kind=kind, level=level, definition=definition, description=description, builtin=False)
        if existing is None:
            concept_id = conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()
        else:
            concept_id = existing.id
            conn.execute(update(table).where(table.c.id == concept_id).values(**values))
        concepts = _concept_rows(conn)
        affected = _with_dependents(concepts, {name})
        if name in _transitive_names(concepts, name):
            raise ConceptError(
                f"redefining {name!r} makes a cycle: its formula uses a concept that uses {name!r}",
                hint="define it without the concepts built on it",
            )
        counts: dict[str, int] = {}
        corpora = conn.execute(select(Corpus.__table__.c.id, Corpus.__table__.c.name)).all()
        for corpus_id, corpus_name in corpora:
            result = _rematerialise(conn, corpus_id, concepts, affected)
            counts[corpus_name] = result[name]
    return {"id": int(concept_id), "name": name, "kind": kind, "n_tokens": counts}


def _transitive_names(concepts: dict[str, ConceptRow], name: str) -> set[str]:
    out: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        row = concepts.get(current)
        if row is None:
            continue
        for dep in _dependencies(row):
            if dep not in out:
                out.add(dep)
                todo.append(dep)
    return out


def remove_concept(db: Atlas, name: str) -> None:
    """Remove a user-defined concept (and its annotations and scores) unless a formula uses it."""
    with db.write() as conn:
        concepts = _concept_rows(conn)
        row = concepts.get(name)
        if row is None:
            raise ConceptError(f"unknown concept {name!r}", hint=did_you_mean(name, concepts))
        if row.kind not in USER_KINDS:
            raise ConceptError(f"{name!r} is a built-in concept and cannot be removed")
        users = sorted(r.name for r in concepts.values() if name in _dependencies(r))
        if users:
            raise ConceptError(f"concept {name!r} is used by {', '.join(users)}", hint="remove those first")
        conn.execute(delete(Concept.__table__).where(Concept.__table__.c.id == row.id))


def list_concepts(db: Atlas, *, corpus: str | int | None = None, kind: str | None = None) -> pd.DataFrame:
    """The concept inventory with token and sentence counts.

    Args:
        db: the atlas.
        corpus: count in this corpus only (name or id); default: summed over all corpora.
        kind: only concepts of this kind (``named``, ``upos``, ``formula``, ...).

    Returns:
        A DataFrame with columns ``name, kind, level, definition, description, builtin,
        n_tokens, n_sentences, n_corpora``, ordered by concept id.

    Example::

        list_concepts(db, corpus="pud").query("kind == 'named'")
    """
    import pandas as pd

    c, cc = Concept.__table__, ConceptCount.__table__
    with db.engine.connect() as conn:
        counts = select(
            cc.c.concept_id,
            func.sum(cc.c.n_tokens).label("n_tokens"),
            func.sum(cc.c.n_sentences).label("n_sentences"),
            func.count().label("n_corpora"),
        )
        if corpus is not None:
            from atlas.corpus.ingest import resolve_corpus

            counts = counts.where(cc.c.corpus_id == resolve_corpus(db, corpus, conn=conn)["id"])
        sub = counts.group_by(cc.c.concept_id).subquery()
        query = (
            select(c.c.name, c.c.kind, c.c.level, c.c.definition, c.c.description, c.c.builtin,
                   sub.c.n_tokens, sub.c.n_sentences, sub.c.n_corpora)
            .outerjoin(sub, sub.c.concept_id == c.c.id)
            .order_by(c.c.id)
        )
        if kind is not None:
            query = query.where(c.c.kind == kind)
        rows = conn.execute(query).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["name", "kind", "level", "definition", "description", "builtin", "n_tokens", "n_sentences", "n_corpora"],
    )
    for col in ("n_tokens", "n_sentences", "n_corpora"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["builtin"] = frame["builtin"].astype(bool)
    return frame


def concept_info(db: Atlas, name: str, *, n_examples: int = 5) -> dict[str, Any]:
    """One concept: its row, and per corpus its counts and a few example words (``concept show``).

    Example::

        concept_info(db, "negation")["corpora"]   # [("pud", 119, 97, ["not", "n't", ...]), ...]
    """
    c, cc, a, t, co = Concept.__table__, ConceptCount.__table__, Annotation.__table__, Token.__table__, Corpus.__table__
    with db.engine.connect() as conn:
        row = conn.execute(select(c).where(c.c.name == name)).mappings().first()
        if row is None:
            names_ = conn.execute(select(c.c.name)).scalars().all()
            raise ConceptError(f"unknown concept {name!r}", hint=did_you_mean(name, names_))
        info = dict(row)
        corpora = []
        for corpus_id, corpus_name, n_tok, n_sent in conn.execute(
            select(co.c.id, co.c.name, cc.c.n_tokens, cc.c.n_sentences)
            .join(cc, cc.c.corpus_id == co.c.id)
            .where(cc.c.concept_id == info["id"])
            .order_by(co.c.id)
        ):
            forms = conn.execute(
                select(t.c.form)
                .join(a, (a.c.corpus_id == t.c.corpus_id) & (a.c.row == t.c.row))
                .where(a.c.concept_id == info["id"], a.c.corpus_id == corpus_id)
                .order_by(a.c.row)
                .limit(200)
            ).scalars().all()
            examples = list(dict.fromkeys(forms))[:n_examples]
            corpora.append((corpus_name, int(n_tok), int(n_sent), examples))
        info["corpora"] = corpora
    return info


__all__ = [
    "NAMED",
    "ConceptMatrix",
    "NamedConcept",
    "TokenColumns",
    "auto_concepts",
    "auto_name",
    "concept_info",
    "define_concept",
    "evaluate_formula",
    "list_concepts",
    "load_concept_matrix",
    "materialise_corpus",
    "remove_concept",
]
