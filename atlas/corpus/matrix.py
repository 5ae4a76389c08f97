"""Reading concept membership back: the boolean token x concept matrix methods score neurons
against (:func:`load_concept_matrix`), and the token mask of a formula (:func:`evaluate_formula`).

Sentence-level concepts mark every token of their sentences; sentence-level methods pool by
sentence (:attr:`ConceptMatrix.sentence_index`, :meth:`ConceptMatrix.sentence_mask`).

Example::

    m = load_concept_matrix(db, corpus_id, concepts=["noun", "negation"])
    m.column("noun").sum(), evaluate_formula(db, corpus_id, "noun and not plural").sum()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

import atlas.corpus.formula as fm
from atlas.corpus.dependencies import check_names
from atlas.corpus.stored import concept_rows, corpus_row, sentence_index, stored_mask_loader
from atlas.errors import ConceptError, did_you_mean
from atlas.store.context import AtlasContext
from atlas.store.tables import Annotation, Concept, ConceptCount


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


def load_concept_matrix(
    db: AtlasContext, corpus_id: int, *, concepts: Sequence[str] | None = None, min_count: int = 1
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
        corpus = corpus_row(conn, corpus_id)
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
        index = sentence_index(conn, corpus_id)
    return ConceptMatrix(
        ids=ids,
        names=[r.name for r in rows],
        levels=[r.level for r in rows],
        mask=mask,
        sentence_index=index,
        kinds=[r.kind for r in rows],
    )


def evaluate_formula(db: AtlasContext, corpus_id: int, formula: str) -> np.ndarray:
    """The token mask ``bool [n_tokens]`` of a concept formula on a corpus.

    Raises:
        ConceptError: the formula is malformed, or names an unknown concept (with a "did you mean").

    Example::

        >>> evaluate_formula(db, corpus_id, "noun and not plural").sum()  # doctest: +SKIP
        4412
    """
    tree = fm.parse_formula(formula)
    with db.engine.connect() as conn:
        corpus = corpus_row(conn, corpus_id)
        concepts = concept_rows(conn)
        check_names(tree, concepts)
        loader = stored_mask_loader(conn, corpus_id, int(corpus.n_tokens), concepts)
        return fm.evaluate(tree, loader)


__all__ = ["ConceptMatrix", "evaluate_formula", "load_concept_matrix"]
