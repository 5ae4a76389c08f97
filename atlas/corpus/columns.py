"""The token columns of one corpus that concepts are computed from (:class:`TokenColumns`).

Ingest builds them from parsed sentences before anything is stored; rematerialisation loads
them back from the ``token`` table. Either way row ``r`` is the token with ``token.row == r``.

Example::

    cols = TokenColumns.from_sentences(sentences)
    cols.mask("upos", "NOUN", "PROPN").sum()        # nouns and names
    cols.pool(cols.mask("lower", "?"))              # every word of the questions
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, select

from atlas.corpus.model import ParsedSentence
from atlas.corpus.stored import sentence_lengths
from atlas.store.tables import Token


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
        lengths = sentence_lengths(conn, corpus_id)
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


__all__ = ["TokenColumns"]
