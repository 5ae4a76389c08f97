"""The one table renderer of the command line (and of ``atlas demo``'s printout).

Rows are tuples, or a DataFrame (anything with ``columns`` and ``itertuples``; pandas is never
imported here). Missing values (``None``, NaN, NaT) print as blanks, floats with four
significant digits and the same number of decimals down a column, numeric columns
right-aligned, the rest left-aligned.

>>> print(render_table([("negation", 0.51234, 12), ("noun", None, 3), ("past", 0.5, 7)], ("concept", "score", "n")))
concept    score   n
negation  0.5123  12
noun               3
past      0.5000   7
>>> render_table([], ("a",), empty="(no rows)")
'(no rows)'
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any


def is_missing(value: Any) -> bool:
    """``None``, NaN, NaT or ``pandas.NA``."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pandas.NA cannot be a bool
        return True


def cell(value: Any) -> str:
    """One value as table text.

    >>> [cell(v) for v in (None, float("nan"), True, 3, 2.0, 0.000123456, 1234.5678, 123456.7, "a\\nb")]
    ['', '', 'True', '3', '2', '0.0001235', '1235', '123457', 'a b']
    """
    if is_missing(value):
        return ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value).replace("\n", " ")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"


def short(text: Any, width: int = 60) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis.

    >>> short("noun and not plural", 10)
    'noun and …'
    """
    s = "" if text is None else str(text).replace("\n", ", ")
    return s if len(s) <= width else s[: width - 1] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return _is_number(value) and not isinstance(value, numbers.Integral) and not is_missing(value)


def _decimals(values: list[Any]) -> int | None:
    """Decimals that show each float of a column with four significant digits (at most 6), or
    ``None`` where a column has no float or one that needs an exponent."""
    floats = [float(v) for v in values if _is_float(v)]
    if not floats:
        return None
    places = 0
    for v in floats:
        text = cell(v)
        if "e" in text:
            return None
        places = max(places, len(text.partition(".")[2]))
    return min(places, 6)


def _column_cell(value: Any, decimals: int | None) -> str:
    if decimals is not None and _is_float(value):
        return f"{float(value):.{decimals}f}"
    return cell(value)


def render_table(
    rows: Iterable[Sequence[Any]] | Any,
    header: Sequence[str] | None = None,
    *,
    empty: str | None = None,
    indent: str = "",
) -> str:
    """Rows as aligned text columns under a header.

    Args:
        rows: tuples of values, or a DataFrame (its columns are the header unless one is given).
        header: the column names.
        empty: the text for no rows (default: the header alone).
        indent: a prefix for every line.
    """
    if hasattr(rows, "itertuples") and hasattr(rows, "columns"):
        header = list(rows.columns) if header is None else header
        rows = rows.itertuples(index=False, name=None)
    data = [tuple(r) for r in rows]
    if not data and empty is not None:
        return empty
    names = [str(h) for h in header or ()]
    ncols = max([len(names), *(len(r) for r in data)])
    names += [""] * (ncols - len(names))
    right = [
        any(_is_number(r[i]) for r in data if i < len(r))
        and all(_is_number(r[i]) or is_missing(r[i]) for r in data if i < len(r))
        for i in range(ncols)
    ]
    decimals = [_decimals([r[i] for r in data if i < len(r)]) for i in range(ncols)]
    cells = [names] + [[_column_cell(v, decimals[i]) for i, v in enumerate(r)] + [""] * (ncols - len(r)) for r in data]
    widths = [max(len(r[i]) for r in cells) for i in range(ncols)]
    lines = (
        "  ".join(v.rjust(w) if right[i] else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))).rstrip()
        for r in cells
    )
    return "\n".join(indent + line for line in lines)
