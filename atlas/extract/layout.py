"""The corpus as the extraction sees it: sentences that tile token rows ``0..n-1``, cut into
chunks of whole sentences, and the words of one chunk.

Example::

    info = load_corpus(db, "pud")
    chunks = chunk_bounds(info.n_words, 2048)     # sentence ranges [a, b)
    r0, r1 = info.rows(*chunks[0])                # token rows [r0, r1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, func, select

from atlas.errors import ExtractionError, did_you_mean
from atlas.store.context import AtlasContext
from atlas.store.tables import Corpus, Sentence, Token


@dataclass
class CorpusInfo:
    """A stored corpus' row and its sentence layout."""

    id: int
    name: str
    n_tokens: int
    sha256: str | None
    first_row: np.ndarray  # [n_sentences]
    n_words: np.ndarray  # [n_sentences]

    def rows(self, a: int, b: int) -> tuple[int, int]:
        """The token rows ``[r0, r1)`` of sentences ``[a, b)``."""
        return int(self.first_row[a]), int(self.first_row[b - 1] + self.n_words[b - 1])


def _missing_corpus(conn: Connection, name: str) -> ExtractionError:
    names = conn.execute(select(Corpus.name)).scalars().all()
    hint = did_you_mean(name, names) or (
        f"stored corpora: {', '.join(names)}" if names else "add one first: atlas corpus add NAME FILE"
    )
    return ExtractionError(f"no corpus named {name!r}", hint=hint)


def load_corpus(db: AtlasContext, name: str) -> CorpusInfo:
    """The corpus row and its sentence layout; checks that sentences tile rows 0..n-1.

    Raises:
        ExtractionError: no such corpus, an empty one, or sentences that do not tile the rows.
    """
    with db.engine.connect() as conn:
        row = conn.execute(select(Corpus.id, Corpus.name, Corpus.n_tokens, Corpus.sha256).where(Corpus.name == name)).first()
        if row is None:
            raise _missing_corpus(conn, name)
        sents = conn.execute(
            select(Sentence.first_row, Sentence.n_tokens).where(Sentence.corpus_id == row.id).order_by(Sentence.index)
        ).all()
        n_rows = conn.execute(select(func.count()).select_from(Token).where(Token.corpus_id == row.id)).scalar_one()
    first = np.array([s[0] for s in sents], dtype=np.int64)
    sizes = np.array([s[1] for s in sents], dtype=np.int64)
    expected = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else first
    if not np.array_equal(first, expected) or int(sizes.sum()) != n_rows:
        raise ExtractionError(
            f"corpus {name!r} is inconsistent: its sentences do not cover token rows 0..{n_rows - 1}",
            hint="store it again with atlas corpus add --replace",
        )
    if n_rows == 0:
        raise ExtractionError(f"corpus {name!r} has no words", hint="store a corpus with at least one sentence")
    return CorpusInfo(row.id, row.name, int(n_rows), row.sha256, first, sizes)


def chunk_bounds(n_words: np.ndarray, chunk_words: int) -> list[tuple[int, int]]:
    """Sentence ranges ``[a, b)`` of about ``chunk_words`` words each (whole sentences).

    >>> chunk_bounds(np.array([3, 3, 3, 3]), 5)
    [(0, 2), (2, 4)]
    """
    out: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i, n in enumerate(n_words.tolist()):
        acc += n
        if acc >= chunk_words:
            out.append((start, i + 1))
            start, acc = i + 1, 0
    if start < len(n_words):
        out.append((start, len(n_words)))
    return out


def chunk_sentences(conn: Connection, corpus_id: int, corpus_name: str, sentences: tuple[int, int], rows: tuple[int, int]) -> list[list[str]]:
    """The words of sentences ``[a, b)``, which hold token rows ``[r0, r1)``.

    Raises:
        ExtractionError: the token table lacks rows of the range.
    """
    (a, b), (r0, r1) = sentences, rows
    sizes = conn.execute(
        select(Sentence.n_tokens)
        .where(Sentence.corpus_id == corpus_id, Sentence.index >= a, Sentence.index < b)
        .order_by(Sentence.index)
    ).scalars().all()
    forms = conn.execute(
        select(Token.form).where(Token.corpus_id == corpus_id, Token.row >= r0, Token.row < r1).order_by(Token.row)
    ).scalars().all()
    if len(forms) != r1 - r0 or sum(sizes) != r1 - r0 or len(sizes) != b - a:
        raise ExtractionError(f"corpus {corpus_name!r} is missing token rows in {r0}..{r1 - 1}")
    out: list[list[str]] = []
    o = 0
    for n in sizes:
        out.append(list(forms[o : o + n]))
        o += n
    return out
