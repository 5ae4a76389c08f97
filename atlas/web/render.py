"""HTML for the web pages, generically from what the facade returns (DataFrames and dicts).

One small module on purpose: the report's card renderer (``atlas/report/``) can take its place.
Every value is escaped; a cell of a ``neuron``, ``concept``, ``model`` or ``run`` column links to
that page.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote

import pandas as pd

STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:75rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
th{background:#f3f3f3}pre.error{background:#fff0f0;padding:.5rem;border:1px solid #e99}
input[name=q]{width:60%}.muted{color:#666}nav a{margin-right:1rem}"""
#: Columns whose cells link to a page: column -> URL prefix.
LINKS = {"neuron": "/neuron/", "concept": "/concept/", "model": "/model/", "run": "/run/", "name": None}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def page(title: str, body: str, *, who: str = "") -> str:
    """A whole page: the title, a navigation bar with the query box's link, and ``body``."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)} · Neuron Atlas</title>"
            f"<link rel='icon' href='data:,'><style>{STYLE}</style></head><body>"
            f"<nav><a href='/'>query</a><a href='/model/'>models</a><span class='muted'>{esc(who)}</span></nav>"
            f"<h1>{esc(title)}</h1>{body}</body></html>")


def _cell(column: str, value: Any, link_names: str | None) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    prefix = LINKS.get(column)
    if column == "name" and link_names:
        prefix = link_names
    if prefix and not isinstance(value, float):
        return f"<a href='{prefix}{urlquote(str(value), safe='/:')}'>{esc(value)}</a>"
    if isinstance(value, float):
        return esc(f"{value:.6g}")
    if isinstance(value, (dict, list)):
        return esc(json.dumps(value, sort_keys=True))
    return esc(value)


def table(frame: pd.DataFrame, *, link_names: str | None = None, empty: str = "(none)") -> str:
    """A DataFrame as an HTML table (links in the columns of :data:`LINKS`)."""
    if frame is None or frame.empty:
        return f"<p class='muted'>{esc(empty)}</p>"
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(str(c), v, link_names)}</td>" for c, v in zip(frame.columns, row))
                   + "</tr>" for row in frame.itertuples(index=False, name=None))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


class _Links(dict):  # type: ignore[type-arg]
    """The report's page map, live: every neuron or concept has a page at ``prefix + name``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return self.prefix + urlquote(str(key), safe="/:")

    def setdefault(self, key: str, default: Any = None) -> str:  # type: ignore[override]
        return self[key]


def _live_site() -> Any:
    from atlas.report.html import Site

    return Site(out=Path("."), neurons=_Links("/neuron/"), concepts=_Links("/concept/"))


def concept_card(db: Any, concept: str, top: int = 5) -> str:
    """The report's concept page, live (:func:`atlas.report.html.concept_body`) for every model
    with a done run; empty when the atlas has none."""
    from atlas.errors import AtlasError
    from atlas.report import data
    from atlas.report.html import STYLE as CARD_STYLE
    from atlas.report.html import concept_body

    try:
        subjects = data.report_subjects(db)
    except AtlasError:
        return ""
    return f"<style>{CARD_STYLE}</style>" + concept_body(db, _live_site(), subjects, concept, top)


def model_card(db: Any, model: str) -> str:
    """The report's overview of ``model``, live (:func:`atlas.report.html.model_body`): detectors
    per layer against its random-init control; empty when the model has no done run."""
    from atlas.errors import AtlasError
    from atlas.report import data
    from atlas.report.html import STYLE as CARD_STYLE
    from atlas.report.html import model_body

    try:
        subject = data.report_subjects(db, models=[model])[0]
    except (AtlasError, IndexError):
        return ""
    run_ids = [r for r in (subject.run_id, subject.control_run_id) if r is not None]
    return f"<style>{CARD_STYLE}</style>" + model_body(db, _live_site(), subject, data.detector_counts(db, run_ids))


def sections(parts: dict[str, pd.DataFrame], neuron: str) -> str:
    """The neuron card of the report (:func:`atlas.report.html.card_body`: every section, the
    histogram as a figure, the top word highlighted in its sentence, each source beside it),
    its neurons and concepts linked to the server's pages."""
    from atlas.report.html import STYLE as CARD_STYLE
    from atlas.report.html import card_body

    return f"<style>{CARD_STYLE}</style>" + card_body(parts, neuron, _live_site())


def record(info: dict[str, Any]) -> str:
    """A dict as a two-column table (nested values as JSON)."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_cell(k, v, None)}</td></tr>" for k, v in info.items())
    return f"<table>{rows}</table>"


def error(text: str) -> str:
    """An error as the CLI prints it (a caret diagram for a query), preformatted."""
    return f"<pre class='error' id='error'>{esc(text)}</pre>"


def query_box(q: str) -> str:
    return (f"<form method='get' action='/'><input name='q' value='{esc(q)}' autofocus "
            "placeholder='neurons in minilm where ap(noun) &gt; 0.5'> <button type='submit'>run</button></form>")


def notes_form(target: str, allowed: bool, reason: str) -> str:
    """The form that adds a note or a label (an annotator's server), or why there is none."""
    if not allowed:
        return f"<p class='muted' id='notes-readonly'>{esc(reason)}</p>"
    return (f"<form method='post' action='/notes' id='note-form'><input type='hidden' name='target' value='{esc(target)}'>"
            "<textarea name='text' rows='2' cols='60' placeholder='a note'></textarea><br>"
            "<input name='label' placeholder='a label (optional)'> <label><input type='checkbox' name='private'> private</label> "
            "<button type='submit'>add note</button></form>")
