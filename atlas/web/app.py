"""The web server's routes (Starlette): pages and a read-only JSON API over one open atlas.

=================================  ===========================================================
``GET /?q=QUERY``                  the query box and the answer as a table (errors with the caret)
``GET /neuron/ID``                 every section of :meth:`atlas.api.Atlas.neuron`, and the notes form
``GET /concept/NAME``              the concept with its counts per corpus, and its notes
``GET /model/`` ``/model/NAME``    the models; one model with its runs and its labelled neurons
``GET /run/ID``                    a run's configuration, progress and provenance
``POST /notes``                    add a note or a label (an annotator's server; a reader's says no)
``GET /api/query?q=QUERY``         ``{"columns", "rows", "warnings"}`` or ``{"error"}`` (400)
``GET /api/neuron/ID``             ``{section: rows}``
``GET /api/notes?target=T``        the notes a role may read
``GET /api/whoami``                the server's database user and atlas role
=================================  ===========================================================

Every request runs the facade's call in a worker thread; a query holds to ``timeout_s`` and to
the role's statement timeout (:func:`atlas.query.execute.arm`), and every other read to the
role's statement timeout on the server. The API only reads.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote as urlquote

import pandas as pd
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from atlas.errors import AtlasError, StorePermissionError
from atlas.web import render

#: The time limit of a query asked through the server (seconds).
DEFAULT_TIMEOUT_S = 10.0


class Site:
    """The pages and the API over one open atlas, as the database role of its connection."""

    def __init__(self, db: Any, timeout_s: float) -> None:
        self.db, self.timeout_s = db, timeout_s
        self.who = who = db.whoami()
        self.can_write = db.engine.dialect.name == "sqlite" or who.get("kind") in ("annotator", "writer", "owner")
        self.label = f"{who['user']} ({who.get('kind') or 'no atlas role'})" if who.get("user") else "SQLite"
        self.reason = (f"read-only: this server's database role {who.get('user')} is a {who.get('kind') or 'role'} "
                       "without the annotator grant")

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(fn, *args, **kwargs)

    def html(self, title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(render.page(title, body, who=self.label), status_code=status)

    def failed(self, exc: AtlasError, status: int = 400) -> HTMLResponse:
        from atlas.api import error_text

        return self.html("error", render.error(error_text(exc)), status)

    async def home(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        body = render.query_box(q)
        if q:
            try:
                frame = await self.call(self.db.query, q, timeout_s=self.timeout_s)
            except AtlasError as exc:
                from atlas.api import error_text

                return self.html("query", body + render.error(error_text(exc)), 400)
            parts = frame.attrs.get("sections")
            body += render.sections(parts, str(parts['stats']['neuron'].iloc[0])) if parts else render.table(frame, empty="(no rows)")
            if frame.empty and not parts:  # say why: each condition alone (atlas.query.why)
                why = await self.call(self.db.why_empty, q, timeout_s=self.timeout_s)
                body += f"<pre class='why'>{render.esc(chr(10).join(why))}</pre>" if why else ""
            body += "".join(f"<p class='muted warning'>warning: {render.esc(w)}</p>" for w in frame.attrs.get("warnings", []))
        return self.html("query", body)

    async def neuron(self, request: Request) -> Response:
        nid = request.path_params["nid"]
        try:
            parts = await self.call(self.db.neuron, nid, timeout_s=self.timeout_s)
        except AtlasError as exc:
            return self.failed(exc, 404)
        return self.html(nid, render.sections(parts, nid) + "<h2>add a note</h2>" + render.notes_form(nid, self.can_write, self.reason))

    async def concept(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            info = await self.call(self.db.concept, name)
            notes = await self.call(self.db.notes, target=f"concept:{name}")
            card = await self.call(render.concept_card, self.db, name)
        except AtlasError as exc:
            return self.failed(exc, 404)
        corpora = pd.DataFrame(info.pop("corpora", []) or [])
        body = (render.record(info) + card + "<h2>corpora</h2>" + render.table(corpora) + "<h2>notes</h2>"
                + render.table(notes))
        return self.html(f"concept {name}", body + render.notes_form(f"concept:{name}", self.can_write, self.reason))

    async def models(self, request: Request) -> Response:
        frame = await self.call(self.db.query, "show models", timeout_s=self.timeout_s)
        return self.html("models", render.table(frame, link_names="/model/"))

    async def model(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            shown = await self.call(self.db.query, "show models", timeout_s=self.timeout_s)
            row = shown[shown["name"] == name]
            if row.empty:
                raise AtlasError(f"unknown model {name!r}", hint="the models page lists them")
            runs = await self.call(self.db.runs)
            notes = await self.call(self.db.notes, model=name)
            card = await self.call(render.model_card, self.db, name)
        except AtlasError as exc:
            return self.failed(exc, 404)
        runs = runs[runs["model"] == name] if "model" in runs.columns else runs
        body = (render.record(row.iloc[0].to_dict()) + card + "<h2>runs</h2>" + render.table(runs, link_names=None)
                + "<h2>notes and labels</h2>" + render.table(notes))
        return self.html(f"model {name}", body + render.notes_form(f"model:{name}", self.can_write, self.reason))

    async def run(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        try:
            info = await self.call(self.db.run, int(ref) if ref.isdigit() else ref)
        except AtlasError as exc:
            return self.failed(exc, 404)
        return self.html(f"run {ref}", render.record(info))

    async def add_note(self, request: Request) -> Response:
        form = await _form(request)
        target = str(form.get("target", ""))
        text, lab = str(form.get("text", "")).strip(), str(form.get("label", "")).strip() or None
        try:
            await self.call(self.db.add_note, target, text, label=lab, private=bool(form.get("private")))
        except StorePermissionError:
            from atlas.kb.roles import denied_message

            line = denied_message(self.db.engine, "annotator") or self.reason
            return self.html("not allowed", render.error(f"error: {line}"), 403)
        except AtlasError as exc:
            return self.failed(exc)
        page = "/neuron/" if "/" in target and ":" not in target.split("/")[0] else "/" + target.replace(":", "/", 1)
        dest = page + urlquote(target, safe="/:") if page == "/neuron/" else page
        return RedirectResponse(dest, status_code=303)

    async def api_query(self, request: Request) -> Response:
        q = request.query_params.get("q", "")
        try:
            frame = await self.call(self.db.query, q, timeout_s=self.timeout_s)
        except AtlasError as exc:
            return JSONResponse(_error(exc), status_code=400)
        parts = frame.attrs.get("sections")
        if parts:
            return JSONResponse({"sections": {k: _records(v) for k, v in parts.items()},
                                 "warnings": frame.attrs.get("warnings", [])})
        why = await self.call(self.db.why_empty, q, timeout_s=self.timeout_s) if frame.empty else []
        return JSONResponse({"columns": list(map(str, frame.columns)), "rows": _records(frame),
                             "warnings": frame.attrs.get("warnings", []), **({"why_empty": why} if why else {})})

    async def api_neuron(self, request: Request) -> Response:
        try:
            parts = await self.call(self.db.neuron, request.path_params["nid"], timeout_s=self.timeout_s)
        except AtlasError as exc:
            return JSONResponse(_error(exc), status_code=404)
        return JSONResponse({k: _records(v) for k, v in parts.items()})

    async def api_notes(self, request: Request) -> Response:
        target = request.query_params.get("target")
        try:
            frame = await self.call(self.db.notes, **({"target": target} if target else {}))
        except AtlasError as exc:
            return JSONResponse(_error(exc), status_code=400)
        return JSONResponse(_records(frame))

    async def api_whoami(self, request: Request) -> Response:
        return JSONResponse({"user": self.who.get("user"), "role": self.who.get("kind"), "can_annotate": self.can_write,
                             "backend": self.db.engine.dialect.name})

    def routes(self) -> list[Route]:
        """The routes of the pages and the API (see the module docstring)."""
        s = self
        return [
            Route("/", s.home), Route("/neuron/{nid:path}", s.neuron), Route("/concept/{name:path}", s.concept),
            Route("/model/", s.models), Route("/model/{name}", s.model), Route("/run/{ref}", s.run),
            Route("/notes", s.add_note, methods=["POST"]), Route("/api/query", s.api_query),
            Route("/api/neuron/{nid:path}", s.api_neuron), Route("/api/notes", s.api_notes),
            Route("/api/whoami", s.api_whoami),
        ]


def create_app(db: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Starlette:
    """The ASGI application over the open atlas ``db`` (:class:`atlas.api.Atlas`)."""
    return Starlette(routes=Site(db, timeout_s).routes())


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form (what the notes form posts), without python-multipart."""
    from urllib.parse import parse_qsl

    body = (await request.body())[:100_000].decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (times in ISO 8601, NaN as null)."""
    return json.loads(frame.to_json(orient="records", date_format="iso")) if not frame.empty else []


def _error(exc: AtlasError) -> dict[str, Any]:
    from atlas.api import error_text

    return {"error": exc.message, "hint": exc.hint, "span": list(exc.span) if getattr(exc, "span", None) else None,
            "text": error_text(exc)}


def serve(db: Any, *, host: str = "127.0.0.1", port: int = 8000, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Run the server until Ctrl-C (Uvicorn)."""
    import uvicorn

    uvicorn.run(create_app(db, timeout_s=timeout_s), host=host, port=port, log_level="warning")


__all__ = ["DEFAULT_TIMEOUT_S", "create_app", "serve"]
