"""Materialisation: every concept's token mask on every stored corpus, written to the store.

Membership (table ``annotation``, one row per (concept, corpus, token row)) and counts (table
``concept_count``) are per corpus, written through the bulk path. Every concept is
materialised for every corpus: when a corpus is added (:func:`materialise_corpus`, called by
ingest inside its transaction), for all concepts; when a concept is defined or replaced
(:func:`rematerialise`, called by the inventory), for all corpora.

Sentence-level user concepts (``level="sentence"``) are OR-pooled: they mark every token of
the sentences that have them. ``concept_count.n_sentences`` is the number of sentences with at
least one token having the concept.

Example::

    with write(db.engine) as conn:
        n_concepts = materialise_corpus(conn, corpus_id, TokenColumns.from_sentences(sentences))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, select

import atlas.corpus.formula as fm
from atlas.corpus.auto import AUTO_KINDS, AutoConcept, auto_concepts, auto_mask
from atlas.corpus.columns import TokenColumns
from atlas.corpus.dependencies import with_dependents
from atlas.corpus.named import NAMED
from atlas.corpus.stored import USER_KINDS, ConceptRow, concept_rows, sentence_index, stored_mask_loader
from atlas.corpus.patterns import regex_mask
from atlas.errors import ConceptError, ConceptLimitError, did_you_mean
from atlas.store.bulk import bulk_insert
from atlas.store.tables import Annotation, Concept, ConceptCount, Corpus


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
        corpus: str | None = None,
    ) -> None:
        self.cols = cols
        self.corpus = corpus
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
            return auto_mask(cols, row.kind, row.definition or "")
        if row.kind == "formula":
            return fm.evaluate(fm.parse_formula(row.definition or ""), self)
        if row.kind == "wordlist":
            return cols.mask("lower", *(w for w in (row.definition or "").split("\n") if w))
        if row.kind == "regex":
            return regex_mask(cols, row.definition or "", concept=row.name, corpus=self.corpus)
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
    return _write_masks(conn, corpus_id, cols.sentence_index, masks)


def _write_masks(conn: Connection, corpus_id: int, sentence_index: np.ndarray, masks: dict[int, np.ndarray]) -> int:
    concept_ids: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    counts: dict[str, list[int]] = {"concept_id": [], "corpus_id": [], "n_tokens": [], "n_sentences": []}
    nonzero = 0
    for concept_id, mask in masks.items():
        hit = np.flatnonzero(mask)
        n_sent = int(np.unique(sentence_index[hit]).size) if hit.size else 0
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


def materialise_corpus(
    conn: Connection, corpus_id: int, cols: TokenColumns, *, progress: bool = False, corpus: str | None = None
) -> int:
    """Create the concepts a new corpus brings and write every concept's membership for it.

    Concepts the corpus adds to the inventory (new UPOS tags, frequent words, ...) are also
    written for every other stored corpus, so each concept stays materialised everywhere.
    Runs inside the caller's transaction. Returns the number of concepts with at least one
    token in the new corpus; ``corpus`` (its name) is for messages. A user regex that runs past
    its time limit raises :class:`~atlas.errors.ConceptLimitError` (other broken user concepts
    get an empty mask).
    """
    from tqdm import tqdm

    new_names = ensure_builtin_concepts(conn, auto_concepts(cols))
    concepts = concept_rows(conn)
    computer = _MaskComputer(cols, concepts, corpus=corpus)
    masks: dict[int, np.ndarray] = {}
    for name, row in tqdm(concepts.items(), desc="concepts", unit=" concept", disable=not progress, leave=False):
        try:
            masks[row.id] = computer(name)
        except ConceptLimitError:
            raise  # a regex too slow for this corpus: refuse the corpus rather than store a wrong mask
        except ConceptError:
            masks[row.id] = np.zeros(cols.n, dtype=bool)  # a broken user formula does not block ingest
    n_concepts = write_masks(conn, corpus_id, cols, masks)
    if new_names:
        others = conn.execute(select(Corpus.__table__.c.id).where(Corpus.__table__.c.id != corpus_id)).scalars().all()
        affected = with_dependents(concepts, set(new_names))
        for other in others:
            rematerialise(conn, other, concepts, affected)
    return n_concepts


def compute_masks(
    conn: Connection, corpus_id: int, concepts: dict[str, ConceptRow], names: set[str], *, corpus: str | None = None
) -> dict[str, np.ndarray]:
    """The masks of ``names`` on a stored corpus, computed (the other concepts their formulas
    use are read from the store) but not written: call it before a write transaction, so the
    lock is held only to write (:func:`rematerialise` with ``masks=``)."""
    cols = TokenColumns.load(conn, corpus_id)
    computer = _MaskComputer(
        cols, concepts, recompute=names, stored=stored_mask_loader(conn, corpus_id, cols.n, concepts), corpus=corpus
    )
    return {n: computer(n) for n in sorted(names, key=lambda n: concepts[n].id)}


def rematerialise(
    conn: Connection,
    corpus_id: int,
    concepts: dict[str, ConceptRow],
    names: set[str],
    *,
    masks: dict[str, np.ndarray] | None = None,
    corpus: str | None = None,
) -> dict[str, int]:
    """Replace the annotations and counts of ``names`` on a stored corpus with ``masks`` (from
    :func:`compute_masks`; computed here when ``None``). Returns ``{name: n_tokens}``."""
    if masks is None:
        masks = compute_masks(conn, corpus_id, concepts, names, corpus=corpus)
    ids = [concepts[n].id for n in names]
    for table in (Annotation.__table__, ConceptCount.__table__):
        conn.execute(delete(table).where(table.c.corpus_id == corpus_id, table.c.concept_id.in_(ids)))
    _write_masks(conn, corpus_id, sentence_index(conn, corpus_id), {concepts[n].id: masks[n] for n in names})
    return {n: int(masks[n].sum()) for n in names}


__all__ = ["compute_masks", "ensure_builtin_concepts", "materialise_corpus", "rematerialise", "write_masks"]
