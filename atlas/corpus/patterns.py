"""User regular expressions, matched under a time limit.

A regex concept (``atlas concept define ing_form --regex '\\w+ing'``) is matched against the
whole word form of every word. A pattern with nested repetition (``(a+)+$``, ``(a|a)+``) can
take exponential time on some words; Python's :mod:`re` has no way to stop it. The patterns
are therefore run with the :mod:`regex` package (``regex.V0``: the syntax and behaviour of
:mod:`re`) under a deadline: :data:`REGEX_SECONDS` per concept and corpus, over the distinct
word forms. Past the deadline a :class:`~atlas.errors.ConceptError` says which concept and
corpus, and how to fix the pattern.

Example::

    >>> import numpy as np
    >>> from atlas.corpus.text import parse_text
    >>> from atlas.corpus.columns import TokenColumns
    >>> cols = TokenColumns.from_sentences(parse_text("I was singing and dancing ."))
    >>> regex_mask(cols, r"\\w+ing", concept="ing_form").tolist()
    [False, False, True, False, True, False]
"""

from __future__ import annotations

import time

import numpy as np
import regex

from atlas.corpus.columns import TokenColumns
from atlas.errors import ConceptError, ConceptLimitError

#: Seconds one regex concept may take on one corpus.
REGEX_SECONDS = 10.0


def compile_pattern(pattern: str, *, concept: str) -> regex.Pattern[str]:
    """Compile a user pattern (``re`` syntax); :class:`ConceptError` when it is malformed."""
    try:
        return regex.compile(pattern, flags=regex.V0)
    except (regex.error, ValueError, OverflowError) as exc:
        raise ConceptError(f"bad regular expression {pattern!r} for concept {concept!r}: {exc}") from None


def regex_mask(
    cols: TokenColumns, pattern: str, *, concept: str, corpus: str | None = None, seconds: float | None = None
) -> np.ndarray:
    """The rows whose whole form matches ``pattern``, computed within ``seconds`` (default
    :data:`REGEX_SECONDS`).

    Raises:
        ConceptError: the pattern is malformed; :class:`ConceptLimitError` when it ran past the limit.
    """
    limit = REGEX_SECONDS if seconds is None else seconds
    compiled = compile_pattern(pattern, concept=concept)
    deadline = time.monotonic() + limit
    out = np.zeros(cols.n, dtype=bool)
    for form, rows in cols.index("form").items():
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            if compiled.fullmatch(form, timeout=remaining) is not None:
                out[rows] = True
        except TimeoutError:
            where = f" on corpus {corpus!r}" if corpus else ""
            raise ConceptLimitError(
                f"the regular expression {pattern!r} of concept {concept!r} ran past its {limit:g} s limit{where} "
                f"(at the word {form[:30]!r}{'...' if len(form) > 30 else ''})",
                hint="simplify the pattern: avoid nested repetition such as (a+)+ or (a|a)+; "
                "nothing was stored",
            ) from None
    return out


__all__ = ["REGEX_SECONDS", "compile_pattern", "regex_mask"]
