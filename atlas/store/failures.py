"""Database and file-system failures turned into :class:`~atlas.errors.AtlasError` subclasses.

Every failure a user can meet while a command writes or reads the atlas (a full disk, a lost
PostgreSQL connection, a locked SQLite file, a role without privileges, a cancelled statement,
a value the column cannot hold) is classified once, here:

==============================  ==========================================  =============================
what                            PostgreSQL (SQLSTATE)                        SQLite / OS
==============================  ==========================================  =============================
:class:`StoreBusyError`         55P03 lock not available, 40P01 deadlock    SQLITE_BUSY, SQLITE_LOCKED
:class:`StoreConnectionError`   08xxx, 57P01-57P03, a closed connection     (none)
:class:`StorePermissionError`   42501, 25006 read-only transaction          SQLITE_READONLY/PERM, EACCES
:class:`StoreFullError`         53100 disk full, 53200 out of memory, 53400 SQLITE_FULL, ENOSPC, EDQUOT
:class:`StoreTimeoutError`      57014 query cancelled                       SQLITE_INTERRUPT
:class:`StoreValueError`        22001, 22003, 54000, 22021, 22P05           SQLITE_TOOBIG
==============================  ==========================================  =============================

:func:`translate` returns the error (or ``None`` for a failure it does not know, which then
stays a bug with a traceback); :func:`translating` re-raises it ``from`` the original, so
``--debug`` and ``__cause__`` keep the driver's text.

Example::

    with translating("storing corpus 'pud'", where=database_label(engine)):
        with write(engine) as conn:
            ...
    # StoreBusyError: storing corpus 'pud': the database is locked by another connection
    #   (at sqlite:///atlas.db) (wait for the other atlas command or program using the database ...
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from atlas.errors import (
    AtlasError,
    StoreBusyError,
    StoreConnectionError,
    StoreError,
    StoreFullError,
    StorePermissionError,
    StoreTimeoutError,
    StoreValueError,
)

_HINTS = {
    StoreBusyError: "wait for the other atlas command or program using the database to finish, or stop it, "
    "then run this again",
    StoreConnectionError: "nothing of this command was committed; check that the server is up with pg_isready, "
    "then run the command again",
    StorePermissionError: "use a role or a file that may write the atlas, "
    "e.g. GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO the role",
    StoreFullError: "free disk space or raise the quota or size limit, then run the command again",
    StoreTimeoutError: "the server's statement_timeout or an administrator cancelled it; raise the timeout "
    "with SET statement_timeout or narrow the command, then run it again",
    StoreValueError: "shorten or correct the value and run the command again",
}

#: SQLSTATE (exact, or the two-character class followed by ``*``) -> (error class, what happened).
_SQLSTATE: dict[str, tuple[type[StoreError], str]] = {
    "55P03": (StoreBusyError, "a lock could not be taken"),
    "40P01": (StoreBusyError, "a deadlock with another connection was broken"),
    "40001": (StoreBusyError, "a concurrent transaction conflicted with this one"),
    "57P01": (StoreConnectionError, "the server ended the connection (administrator command)"),
    "57P02": (StoreConnectionError, "the server ended the connection (crash shutdown)"),
    "57P03": (StoreConnectionError, "the server is not accepting connections now"),
    "08*": (StoreConnectionError, "the connection to the server was lost"),
    "42501": (StorePermissionError, "the database role lacks the privilege"),
    "25006": (StorePermissionError, "the transaction is read-only"),
    "53100": (StoreFullError, "the server's disk is full"),
    "53200": (StoreFullError, "the server is out of memory"),
    "53400": (StoreFullError, "a server configuration limit was reached"),
    "57014": (StoreTimeoutError, "the server cancelled the statement"),
    "22001": (StoreValueError, "a text value is longer than its column allows"),
    "22003": (StoreValueError, "a number is out of range for its column"),
    "54000": (StoreValueError, "a value exceeds a server limit"),
    "22021": (StoreValueError, "a text value holds a character the database encoding cannot store (NUL?)"),
    "22P05": (StoreValueError, "a text value holds a character the database cannot store (NUL?)"),
}

#: Primary SQLite result codes (``sqlite_errorcode & 0xff``).
_SQLITE_CODES: dict[int, tuple[type[StoreError], str]] = {
    5: (StoreBusyError, "the database is locked by another connection"),  # SQLITE_BUSY
    6: (StoreBusyError, "a table is locked by another statement"),  # SQLITE_LOCKED
    3: (StorePermissionError, "access to the database file was denied"),  # SQLITE_PERM
    8: (StorePermissionError, "the database file is read-only"),  # SQLITE_READONLY
    13: (StoreFullError, "the database or the disk is full"),  # SQLITE_FULL
    9: (StoreTimeoutError, "the statement was interrupted"),  # SQLITE_INTERRUPT
    18: (StoreValueError, "a string or blob is larger than SQLite allows"),  # SQLITE_TOOBIG
}

#: SQLite messages (for drivers without ``sqlite_errorcode``), by lower-case fragment.
_SQLITE_MESSAGES: tuple[tuple[str, int], ...] = (
    ("database is locked", 5),
    ("database table is locked", 6),
    ("database or disk is full", 13),
    ("readonly database", 8),
    ("interrupted", 9),
    ("string or blob too big", 18),
)

_OS_ERRNOS: dict[int, tuple[type[StoreError], str]] = {
    errno.ENOSPC: (StoreFullError, "no space is left on the device"),
    errno.EDQUOT: (StoreFullError, "the disk quota is exhausted"),
    errno.EFBIG: (StoreFullError, "the file is larger than the file system allows"),
    errno.EACCES: (StorePermissionError, "permission denied"),
    errno.EPERM: (StorePermissionError, "the operation is not permitted"),
    errno.EROFS: (StorePermissionError, "the file system is read-only"),
}

#: Fragments of psycopg messages that mean the connection died (no SQLSTATE comes with them).
_LOST = ("server closed the connection", "connection is lost", "the connection is closed",
         "consuming input failed", "terminating connection", "connection already closed")


def translate(exc: BaseException, what: str | None = None, *, where: str | None = None) -> AtlasError | None:
    """The :class:`AtlasError` a database or OS failure means, or ``None`` when it is not one.

    Args:
        exc: the exception (SQLAlchemy's wrapper, a psycopg / sqlite3 error, an ``OSError``).
        what: what the command was doing (``"storing corpus 'pud'"``), the message's start.
        where: the database or file it happened in (a URL without password, a path).

    An :class:`AtlasError` is returned as it is.

    Example::

        >>> import errno
        >>> err = translate(OSError(errno.ENOSPC, "No space left on device"), "writing run 3")
        >>> type(err).__name__, str(err).split(" (")[0]
        ('StoreFullError', 'writing run 3: no space is left on the device')
    """
    if isinstance(exc, AtlasError):
        return exc
    found = _classify(exc)
    if found is None:
        return None
    cls, happened = found
    detail = _driver_line(exc)
    message = happened
    if where:
        message += f" (at {where})"
    if detail and detail.lower() not in happened.lower():
        message += f": {detail}"
    if what:
        message = f"{what}: {message}"
    return cls(message, hint=_HINTS[cls])


@contextmanager
def translating(what: str, *, where: str | None = None) -> Iterator[None]:
    """Re-raise database and OS failures inside the block as :class:`AtlasError` (``from`` them).

    Failures :func:`translate` does not know pass through unchanged.

    Example::

        with translating(f"storing corpus {name!r}", where=url):
            with write(engine) as conn:
                conn.execute(...)
    """
    try:
        yield
    except AtlasError:
        raise
    except Exception as exc:
        error = translate(exc, what, where=where)
        if error is None:
            raise
        raise error from exc


def database_label(engine: Engine) -> str:
    """The engine's URL without its password, for the ``where`` of a message."""
    return engine.url.render_as_string(hide_password=True)


def _is_psycopg(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] == "psycopg"


def _driver_error(exc: BaseException) -> BaseException:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def _classify(exc: BaseException) -> tuple[type[StoreError], str] | None:
    orig = _driver_error(exc)
    if isinstance(orig, OSError) and orig.errno in _OS_ERRNOS:
        return _OS_ERRNOS[orig.errno]
    if isinstance(orig, sqlite3.Error):
        return _classify_sqlite(orig)
    if _is_psycopg(orig):
        return _classify_psycopg(orig, exc)
    return None


def _classify_sqlite(orig: sqlite3.Error) -> tuple[type[StoreError], str] | None:
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _SQLITE_CODES:
        return _SQLITE_CODES[code & 0xFF]
    text = str(orig).lower()
    for fragment, primary in _SQLITE_MESSAGES:
        if fragment in text:
            return _SQLITE_CODES[primary]
    return None


def _classify_psycopg(orig: BaseException, wrapper: BaseException) -> tuple[type[StoreError], str] | None:
    state = getattr(orig, "sqlstate", None)
    if state:
        if state in _SQLSTATE:
            return _SQLSTATE[state]
        if state[:2] + "*" in _SQLSTATE:
            return _SQLSTATE[state[:2] + "*"]
    lost = isinstance(wrapper, DBAPIError) and wrapper.connection_invalidated
    text = str(orig).lower()
    if lost or (type(orig).__name__ in ("OperationalError", "InterfaceError") and any(f in text for f in _LOST)):
        return _SQLSTATE["08*"]
    return None


def _driver_line(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"file {exc.filename}" if exc.filename else ""
    text = str(_driver_error(exc)).strip()
    return text.splitlines()[0].strip() if text else ""


__all__ = ["database_label", "translate", "translating"]
