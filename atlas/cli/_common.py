"""What every command module shares: the help formatter, ``--db``/``--store``, options that
default to the library, and :func:`open_atlas`.

Light on purpose: building the parser imports argparse and nothing of the library beyond the
errors; a command imports the facade (:mod:`atlas.api`) when it runs.

Options that set a library keyword default to ``argparse.SUPPRESS``: a namespace holds only
what the user typed, :func:`given` passes exactly that, and the library's signature supplies
the rest. A help text quotes a default as ``{default}``, read from that signature when the help
is printed (:func:`atlas.api.library_defaults`), so there is no second copy to drift.
"""

from __future__ import annotations

import argparse
from typing import Any


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in epilogs as written, and fills ``{default}`` from the library."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        source = getattr(action, "library_default", None)
        if text and source and "{default}" in text:
            text = text.replace("{default}", _library_default(*source).replace("%", "%%"))
        return text


def _library_default(operation: str, keyword: str) -> str:
    from atlas.api import library_defaults

    value = library_defaults(operation).get(keyword)
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return str(value)


def library_option(
    parser: argparse.ArgumentParser, *flags: str, default_from: tuple[str, str] | None = None, **kwargs: Any
) -> argparse.Action:
    """``parser.add_argument`` for an option the library has a default for.

    The option defaults to ``argparse.SUPPRESS`` (absent unless given); ``default_from`` names
    ``(operation, keyword)`` of :func:`atlas.api.library_defaults` for a ``{default}`` in the help.

    >>> p = argparse.ArgumentParser(formatter_class=Formatter)
    >>> _ = library_option(p, "--seed", type=int, help="the seed")
    >>> vars(p.parse_args([])), vars(p.parse_args(["--seed", "3"]))
    ({}, {'seed': 3})
    """
    action = parser.add_argument(*flags, default=argparse.SUPPRESS, **kwargs)
    if default_from is not None:
        action.library_default = default_from  # type: ignore[attr-defined]
    return action


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The keywords among ``names`` that the user set, for passing on to the library.

    >>> given(argparse.Namespace(seed=3, db="x"), "seed", "sites")
    {'seed': 3}
    """
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """``--db URL`` and ``--store DIR`` (on the top-level parser and on every command that opens an atlas)."""
    parser.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: $ATLAS_DB or sqlite:///atlas.db)",
    )
    parser.add_argument(
        "--store",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="folder for activation arrays (default: $ATLAS_STORE, or NAME.store/ beside a SQLite NAME.db)",
    )


def add_quiet_option(parser: argparse.ArgumentParser, *flags: str, help: str = "no progress bars") -> None:
    """``-q``/``--quiet``: passes ``progress=False`` to the library (its default shows progress)."""
    parser.add_argument(*(flags or ("-q", "--quiet")), dest="progress", action="store_false",
                        default=argparse.SUPPRESS, help=help)


def open_atlas(args: argparse.Namespace, *, check: bool = True) -> Any:
    """The :class:`~atlas.api.Atlas` that ``--db``/``--store`` name (checked to be an up-to-date atlas)."""
    from atlas.api import Atlas

    db = Atlas(getattr(args, "db", None), store_root=getattr(args, "store", None))
    if check:
        db.check()
    return db
