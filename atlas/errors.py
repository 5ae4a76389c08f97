"""Errors raised by Neuron Atlas.

Every error a user can cause is an :class:`AtlasError`; the command line prints its
message (one line, or a caret diagram for queries) and exits non-zero, never with a
traceback. Errors carry data (where, what, a hint), not just strings::

    AtlasError
    ├── StoreError              the database: unreachable, malformed URL, not an atlas, wrong version
    │   ├── SchemaVersionError  the database is at a schema version this code does not know
    │   ├── StoreBusyError      another connection holds the lock (SQLite "database is locked")
    │   ├── StoreConnectionError  the connection to the server was lost mid-command
    │   ├── StorePermissionError  the role or file may not do this (read-only, no privilege)
    │   ├── StoreFullError      the disk or the database's size limit is full
    │   ├── StoreTimeoutError   the server cancelled a statement (statement_timeout, a cancel)
    │   └── StoreValueError     a value the database cannot store (too long, out of range, NUL)
    ├── CorpusError             a corpus file that cannot be read (file, line, what is wrong)
    ├── ConceptError            an unknown concept, a bad concept formula
    │   └── ConceptLimitError   a concept ran past a limit (a regular expression's time limit)
    ├── ExtractionError         a model that will not load, an unsupported architecture, a run conflict
    ├── MethodError             an unknown scoring method, bad parameters
    └── QueryError              a query that cannot be parsed, bound or run (carries a span)
        ├── QuerySyntaxError
        ├── QueryNameError
        ├── QueryTypeError
        └── QueryLimitError
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AtlasError(Exception):
    """Base class of every error a user of Neuron Atlas can cause.

    Args:
        message: what went wrong, in one sentence.
        hint: how to fix it, or ``None``.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class StoreError(AtlasError):
    """The relational store cannot be used: bad URL, unreachable server, not an atlas."""


class SchemaVersionError(StoreError):
    """The database schema is at a revision this version of Neuron Atlas does not know."""


class StoreBusyError(StoreError):
    """Another connection holds the database lock longer than the busy timeout."""


class StoreConnectionError(StoreError):
    """The connection to the database was lost while a command ran (nothing was committed)."""


class StorePermissionError(StoreError):
    """The database role or the database file may not do what the command asked."""


class StoreFullError(StoreError):
    """The disk, the quota or the database's size limit is full."""


class StoreTimeoutError(StoreError):
    """The database cancelled a statement: ``statement_timeout``, a lock timeout or a cancel."""


class StoreValueError(StoreError):
    """A value the database cannot store: a string too long, a number out of range, a NUL."""


class CorpusError(AtlasError):
    """A corpus cannot be read. ``path`` and ``line`` say where."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, hint: str | None = None
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.line = line


class ConceptError(AtlasError):
    """An unknown concept or a malformed concept formula."""


class ConceptLimitError(ConceptError):
    """A concept could not be computed within its limit (a regular expression ran too long)."""


class ExtractionError(AtlasError):
    """An extraction job cannot run: the model will not load, an unsupported architecture, ..."""


class MethodError(AtlasError):
    """An unknown scoring method or bad method parameters."""


class ExplainError(AtlasError):
    """Compositional explanations cannot be searched as asked (``atlas explain``)."""


class QueryError(AtlasError):
    """A query that cannot be parsed, bound or run.

    Args:
        message: what is wrong.
        span: ``(start, end)`` character offsets in the query text, or ``None``.
        hint: how to fix it.
        query: the query text, used to draw a caret under the span.
    """

    def __init__(
        self,
        message: str,
        *,
        span: tuple[int, int] | None = None,
        hint: str | None = None,
        query: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.span = span
        self.query = query


class QuerySyntaxError(QueryError):
    """The query text does not follow the grammar."""


class QueryNameError(QueryError):
    """A name in the query (model, concept, method, field) is unknown."""


class QueryTypeError(QueryError):
    """A value has the wrong kind or is out of range (a layer past the model's depth, ...)."""


class QueryLimitError(QueryError):
    """The query is too long, too complex, or ran past its time limit."""


class KnowledgeBaseError(AtlasError):
    """A knowledge-base operation that cannot run: roles on SQLite, an unknown note target, a
    saved query's missing or extra parameter, an export folder that is not one."""


def did_you_mean(word: str, choices: Iterable[str], *, what: str = "name") -> str | None:
    """Return a hint such as ``"did you mean 'negation'?"`` or ``None``.

    >>> did_you_mean("negaton", ["negation", "noun"])
    "did you mean 'negation'?"
    """
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    if close:
        return f"did you mean '{close[0]}'?"
    return None
