"""What the corpus stages read back from the store: a corpus row, its sentence lengths, the
concept inventory as :class:`ConceptRow` objects, and one concept's stored token mask.

Ingest, materialisation, the concept matrix and the user inventory all read these; none of
them imports another for them, so the stages stay one-way (ingest -> materialise).

Example::

    with db.engine.connect() as conn:
        rows = concept_rows(conn)              # {name: ConceptRow}, in concept-id order
        noun = stored_mask_loader(conn, corpus_id, n_tokens, rows)("noun")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from atlas.errors import ConceptError, CorpusError, did_you_mean
from atlas.store.context import AtlasContext
from atlas.store.tables import Annotation, Concept, Corpus, Sentence

#: The kinds of user-defined concepts (:func:`atlas.corpus.inventory.define_concept`).
USER_KINDS = ("formula", "wordlist", "regex")


# -- corpora ---------------------------------------------------------------------------------
def resolve_corpus(db: AtlasContext, ref: str | int, *, conn: Connection | None = None) -> dict[str, Any]:
    """The corpus row (as a dict) for a name or an id; :class:`CorpusError` with a hint if unknown.

    Example::

        resolve_corpus(db, "pud")["n_tokens"]
    """
    c = Corpus.__table__

    def run(connection: Connection) -> dict[str, Any]:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = connection.execute(select(c).where(c.c.id == int(ref))).mappings().first()
        else:
            row = connection.execute(select(c).where(c.c.name == ref)).mappings().first()
        if row is None:
            names = connection.execute(select(c.c.name)).scalars().all()
            raise CorpusError(
                f"no corpus named {ref!r}",
                hint=did_you_mean(str(ref), names) or "atlas corpus list shows the stored corpora",
            )
        return dict(row)

    if conn is not None:
        return run(conn)
    with db.engine.connect() as connection:
        return run(connection)


def corpus_row(conn: Connection, corpus_id: int) -> Any:
    """The ``corpus`` row of an id; :class:`CorpusError` when there is none."""
    row = conn.execute(select(Corpus.__table__).where(Corpus.__table__.c.id == corpus_id)).first()
    if row is None:
        raise CorpusError(f"no corpus with id {corpus_id}", hint="atlas corpus list shows the stored corpora")
    return row


def sentence_lengths(conn: Connection, corpus_id: int) -> np.ndarray:
    """Words per sentence of a stored corpus, in sentence order."""
    s = Sentence.__table__
    return np.array(
        conn.execute(select(s.c.n_tokens).where(s.c.corpus_id == corpus_id).order_by(s.c.index)).scalars().all(),
        dtype=np.int64,
    )


def sentence_index(conn: Connection, corpus_id: int) -> np.ndarray:
    """``int [n_tokens]``: the 0-based sentence of each token row of a stored corpus."""
    lengths = sentence_lengths(conn, corpus_id)
    return np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)


# -- concepts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConceptRow:
    """One row of the ``concept`` table, as materialisation and formulas need it."""

    id: int
    name: str
    kind: str
    level: str
    definition: str | None


def concept_rows(conn: Connection) -> dict[str, ConceptRow]:
    """The whole concept inventory, ``{name: ConceptRow}`` in concept-id order."""
    c = Concept.__table__
    return {
        r.name: ConceptRow(r.id, r.name, r.kind, r.level, r.definition)
        for r in conn.execute(select(c.c.id, c.c.name, c.c.kind, c.c.level, c.c.definition).order_by(c.c.id))
    }


def stored_mask_loader(
    conn: Connection, corpus_id: int, n: int, concepts: dict[str, ConceptRow]
) -> Callable[[str], np.ndarray]:
    """A function ``name -> bool [n]``: the stored membership of a concept on one corpus."""
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


__all__ = [
    "USER_KINDS",
    "ConceptRow",
    "concept_rows",
    "corpus_row",
    "resolve_corpus",
    "sentence_index",
    "sentence_lengths",
    "stored_mask_loader",
]
