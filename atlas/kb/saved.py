"""Saved, parameterised queries (``atlas saved``, ``atlas query --saved NAME --param k=v``).

A saved query is a query of the language with ``$name`` placeholders outside its quoted strings
and comments: ``neurons in $model where ap($concept) > $t``. It is stored in the database for the
whole lab (table ``saved_query``), or loaded from ``.nql`` files (``atlas saved load queries/``:
the file's stem is the name, its leading ``--`` comment lines the description).

**Parameters are tokens, never text.** Each value goes in as exactly one token of the language:
a number (``0.5``), a name that is no keyword (``minilm``, ``upos:NOUN``, ``minilm/mlp.0/829``)
as written, and anything else as a quoted string (:func:`atlas.query.canonical.quote` escapes
it). So ``--param model="minilm where 1=1"`` names a model called that, and cannot add a
condition; the parsed query is then bound and compiled as any other (values bound in SQL, never
pasted). A missing or an extra parameter is an error that lists what the query takes.

Example::

    save_query(db, "strong", "neurons in $model where ap($concept) > $t")
    run_saved(db, "strong", {"model": "minilm", "concept": "noun", "t": "0.5"})
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, select

from atlas.errors import KnowledgeBaseError, QuerySyntaxError
from atlas.naming import is_reserved
from atlas.query.canonical import quote
from atlas.store.engine import write
from atlas.store.failures import database_label, translating
from atlas.store.tables import SavedQuery

#: A placeholder, a quoted string or a comment (placeholders count outside the last two).
_SCAN = re.compile(r"""(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(?P<comment>--[^\n]*)"""
                   r"""|\$(?P<param>[A-Za-z_][A-Za-z0-9_]*)""")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z0-9_=.,\-']+)?|[A-Za-z_][A-Za-z0-9_\-]*(?:/[A-Za-z0-9_.\-]+)+/[0-9]+")
_SAVED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,99}")
MAX_VALUE = 500


def parameters(text: str) -> list[str]:
    """The placeholders of a saved query's text, in order of first use.

    >>> parameters('neurons in $model where ap($concept) > $t and label = "$not_one" -- $nor_this')
    ['model', 'concept', 't']
    """
    seen: list[str] = []
    for m in _SCAN.finditer(text):
        if m.group("param") and m.group("param") not in seen:
            seen.append(m.group("param"))
    return seen


def token(value: str) -> str:
    """A parameter's value as one token of the language: a number or a bare name as written,
    anything else quoted.

    >>> token("minilm"), token("0.5"), token("upos:NOUN"), token("where"), token("noun) > 0 or ap(x")
    ('minilm', '0.5', 'upos:NOUN', '"where"', '"noun) > 0 or ap(x"')
    """
    if any(ord(ch) < 32 for ch in value) or len(value) > MAX_VALUE:
        raise KnowledgeBaseError(f"a parameter value has a control character or more than {MAX_VALUE} characters",
                                 hint="give a name, a number or a short text on one line")
    if _NUMBER.fullmatch(value):
        return value
    if _BARE.fullmatch(value) and not is_reserved(value.split(":")[0].split("/")[0]):
        return value
    return quote(value)


def fill(text: str, params: dict[str, str]) -> str:
    """The query text with every placeholder replaced by its value's token; errors name the
    missing and the extra parameters."""
    wanted = parameters(text)
    missing = [p for p in wanted if p not in params]
    extra = sorted(set(params) - set(wanted))
    if missing or extra:
        parts = ([f"missing {', '.join('$' + p for p in missing)}"] if missing else []) + (
            [f"no placeholder for {', '.join(extra)}"] if extra else [])
        takes = " ".join(f"--param {p}=VALUE" for p in wanted) or "no parameters"
        raise KnowledgeBaseError(f"the saved query's parameters do not match: {'; '.join(parts)}",
                                 hint=f"it takes {takes}")

    def sub(m: re.Match[str]) -> str:
        return token(params[m.group("param")]) if m.group("param") else m.group(0)

    return _SCAN.sub(sub, text)


def check_template(text: str) -> None:
    """Raise unless the text parses for some choice of a name, a number or a quoted string per
    placeholder (a syntax check before saving; names are checked when it runs)."""
    from atlas.query.api import parse_query

    names = parameters(text)
    kinds = ("x", "1", '"x"')  # a name, a number, a quoted string
    choice = {p: kinds[0] for p in names}
    for _ in range(len(kinds) * len(names) + 1):
        filled, spans = _render(text, choice)
        try:
            parse_query(filled)
            return
        except QuerySyntaxError as exc:
            start = exc.span[0] if getattr(exc, "span", None) else -1
            hit = [p for p, (a, b) in spans if a <= start < b + 1 and choice[p] != kinds[-1]]
            if not hit:
                raise KnowledgeBaseError(f"the saved query does not parse: {exc.message}",
                                         hint="check it with: atlas fmt \"...\" (placeholders as names)") from exc
            choice[hit[0]] = kinds[kinds.index(choice[hit[0]]) + 1]
    raise KnowledgeBaseError("the saved query does not parse with any choice of its placeholders")


def _render(text: str, choice: dict[str, str]) -> tuple[str, list[tuple[str, tuple[int, int]]]]:
    out, spans, pos = [], [], 0
    length = 0
    for m in _SCAN.finditer(text):
        if not m.group("param"):
            continue
        out.append(text[pos:m.start()])
        length += m.start() - pos
        value = choice[m.group("param")]
        spans.append((m.group("param"), (length, length + len(value))))
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), spans


def save_query(db: Any, name: str, text: str, *, description: str | None = None, replace: bool = False,
               author: str | None = None) -> dict[str, Any]:
    """Store (or with ``replace``, overwrite) a saved query; returns its row as a dict."""
    from atlas.kb.notes import current_author

    check_template(text)
    who = current_author(db, author)
    with translating(f"saving query {name!r}", where=database_label(db.engine)):
        with write(db.engine) as conn:
            replaced = _save(conn, name, text, description, who, replace)
    return {"name": name, "text": text, "parameters": parameters(text), "replaced": replaced}


def _save(conn: Any, name: str, text: str, description: str | None, author: str, replace: bool) -> bool:
    if not _SAVED_NAME.fullmatch(name or ""):
        raise KnowledgeBaseError(f"{name!r} is not a saved query name", hint="letters, digits, _ and -, at most 100")
    table = SavedQuery.__table__
    old = conn.execute(select(table.c.id).where(table.c.name == name)).scalar()
    if old is not None and not replace:
        raise KnowledgeBaseError(f"there is already a saved query {name!r}", hint="add --replace to overwrite it")
    if old is not None:
        conn.execute(delete(table).where(table.c.id == old))
    conn.execute(table.insert().values(name=name, text=text, description=description, author=author))
    return old is not None


def saved_queries(db: Any) -> pd.DataFrame:
    """The saved queries: name, parameters, text, description, author, created_at."""
    t = SavedQuery.__table__
    with db.engine.connect() as conn:
        rows = conn.execute(select(t.c.name, t.c.text, t.c.description, t.c.author, t.c.created_at).order_by(t.c.name)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["name", "text", "description", "author", "created_at"])
    frame.insert(1, "parameters", [" ".join("$" + p for p in parameters(x)) for x in frame["text"]])
    return frame


def saved_text(db: Any, name: str) -> str:
    """The text of a saved query; an unknown name gets a did-you-mean."""
    t = SavedQuery.__table__
    with db.engine.connect() as conn:
        found = conn.execute(select(t.c.text).where(t.c.name == name)).scalar()
        if found is None:
            from atlas.errors import did_you_mean

            names = list(conn.execute(select(t.c.name)).scalars())
            raise KnowledgeBaseError(f"there is no saved query {name!r}",
                                     hint=did_you_mean(name, names) or "atlas saved list shows them")
    return str(found)


def run_saved(db: Any, name: str, params: dict[str, str] | None = None, **kwargs: Any) -> pd.DataFrame:
    """Run a saved query with its parameters (``kwargs`` as :meth:`atlas.api.Atlas.query`)."""
    from atlas.query.api import run_query

    text = fill(saved_text(db, name), dict(params or {}))
    frame = run_query(db, text, **kwargs)
    frame.attrs["query"] = text
    return frame


def remove_saved(db: Any, name: str) -> None:
    """Delete a saved query."""
    saved_text(db, name)
    with translating(f"removing saved query {name!r}", where=database_label(db.engine)):
        with write(db.engine) as conn:
            conn.execute(delete(SavedQuery.__table__).where(SavedQuery.__table__.c.name == name))


def load_folder(db: Any, folder: str | Path, *, replace: bool = True) -> list[str]:
    """Save every ``NAME.nql`` of ``folder`` (the leading ``--`` lines are its description);
    returns the names saved. A file that does not parse stops the load before anything is saved."""
    root = Path(folder)
    if not root.is_dir():
        raise KnowledgeBaseError(f"{str(root)!r} is not a folder", hint="give a folder of .nql files, e.g. queries/")
    found = []
    for path in sorted(root.glob("*.nql")):
        text = path.read_text(encoding="utf-8")
        lead = [ln[2:].strip() for ln in text.splitlines() if ln.startswith("--")][:1]
        try:
            check_template(text)
        except KnowledgeBaseError as exc:
            raise KnowledgeBaseError(f"{path}: {exc.message}", hint=exc.hint) from exc
        found.append((path.stem, text.strip(), lead[0] if lead else None))
    from atlas.kb.notes import current_author

    who = current_author(db)
    with translating(f"loading saved queries from {root}", where=database_label(db.engine)):
        with write(db.engine) as conn:  # all of them or none
            for name, text, description in found:
                _save(conn, name, text, description, who, replace)
    return [n for n, _, _ in found]


__all__ = ["check_template", "fill", "load_folder", "parameters", "remove_saved", "run_saved", "save_query",
           "saved_queries", "saved_text", "token"]
