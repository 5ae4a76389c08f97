"""Query errors as the command line shows them: the query, a caret under the span, a hint.

>>> from atlas.errors import QueryNameError
>>> print(render(QueryNameError("unknown concept 'negaton'", span=(34, 41), hint="did you mean 'negation'?",
...                             query="neurons in bert where selectivity(negaton) > 0.5")))
error: unknown concept 'negaton'; did you mean 'negation'?
  neurons in bert where selectivity(negaton) > 0.5
                                    ^^^^^^^
"""

from __future__ import annotations

import re

from atlas.errors import QueryError, QueryLimitError, QueryNameError, QuerySyntaxError, QueryTypeError

__all__ = ["QueryError", "QueryLimitError", "QueryNameError", "QuerySyntaxError", "QueryTypeError", "render"]


#: Characters a terminal cannot show in the query line (NUL, other controls, lone surrogates):
#: drawn as U+FFFD so the caret stays under the right column and printing never fails.
_UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _one(exc: QueryError, query: str | None) -> list[str]:
    message = exc.message
    hint = exc.hint
    if hint and hint.startswith("did you mean"):
        message = f"{message}; {hint}"
        hint = None
    lines = [f"error: {message}"]
    if query is not None and exc.span is not None:
        start, end = exc.span
        # Show the line that holds the span (queries are usually one line).
        line_start = query.rfind("\n", 0, start) + 1
        line_end = query.find("\n", start)
        if line_end == -1:
            line_end = len(query)
        line = _UNSHOWABLE.sub("\ufffd", query[line_start:line_end].replace("\t", " "))
        col = start - line_start
        width = max(1, min(end, line_end) - start)
        lines.append(f"  {line}")
        lines.append("  " + " " * col + "^" * width)
    if hint:
        lines.append(f"  hint: {hint}")
    return lines


def render(exc: QueryError) -> str:
    """The caret diagram for a query error (every problem when the binder found several).

    Args:
        exc: the error; ``exc.errors`` (set by the binder) lists all problems.

    Returns:
        Text without a trailing newline and without colour.
    """
    items = getattr(exc, "errors", None) or [exc]
    blocks: list[str] = []
    for item in items:
        if item is exc and len(items) > 1:
            # The first problem's message carries "(and N more)": draw it without that suffix.
            base = QueryError(exc.message.split(" (and ")[0], span=exc.span, hint=exc.hint, query=exc.query)
            blocks.append("\n".join(_one(base, exc.query)))
        else:
            blocks.append("\n".join(_one(item, item.query if item.query is not None else exc.query)))
    return "\n".join(blocks)
