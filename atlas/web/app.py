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


def create_app(db: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Starlette:
    """The ASGI application over the open atlas ``db`` (:class:`atlas.api.Atlas`)."""
    who = db.whoami()
    sqlite = db.engine.dialect.name == "sqlite"
    can_write = sqlite or who.get("kind") in ("annotator", "writer", "owner")
    label = f"{who['user']} ({who.get('kind') or 'no atlas role'})" if who.get("user") else "SQLite"
    reason = (f"read-only: this server's database role {who.get('user')} is a {who.get('kind') or 'role'} "
              "without the annotator grant")

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(fn, *args, **kwargs)

    def html(title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(render.page(title, body, who=label), status_code=status)

    def failed(exc: AtlasError, status: int = 400) -> HTMLResponse:
        from atlas.api import error_text

        return html("error", render.error(error_text(exc)), status)

    async def home(request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        body = render.query_box(q)
        if q:
            try:
                frame = await call(db.query, q, timeout_s=timeout_s)
            except AtlasError as exc:
                from atlas.api import error_text

                return html("query", body + render.error(error_text(exc)), 400)
            parts = frame.attrs.get("sections")
            body += render.sections(parts) if parts else render.table(frame, empty="(no rows)")
            body += "".join(f"<p class='muted warning'>warning: {render.esc(w)}</p>" for w in frame.attrs.get("warnings", []))
        return html("query", body)

    async def neuron(request: Request) -> Response:
        nid = request.path_params["nid"]
        try:
            parts = await call(db.neuron, nid, timeout_s=timeout_s)
        except AtlasError as exc:
            return failed(exc, 404)
        return html(nid, render.sections(parts) + "<h2>add a note</h2>" + render.notes_form(nid, can_write, reason))

    async def concept(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            info = await call(db.concept, name)
            notes = await call(db.notes, target=f"concept:{name}")
        except AtlasError as exc:
            return failed(exc, 404)
        corpora = pd.DataFrame(info.pop("corpora", []) or [])
        body = render.record(info) + "<h2>corpora</h2>" + render.table(corpora) + "<h2>notes</h2>" + render.table(notes)
        return html(f"concept {name}", body + render.notes_form(f"concept:{name}", can_write, reason))

    async def models(request: Request) -> Response:
        frame = await call(db.query, "show models", timeout_s=timeout_s)
        return html("models", render.table(frame, link_names="/model/"))

    async def model(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            shown = await call(db.query, "show models", timeout_s=timeout_s)
            row = shown[shown["name"] == name]
            if row.empty:
                raise AtlasError(f"unknown model {name!r}", hint="the models page lists them")
            runs = await call(db.runs)
            notes = await call(db.notes, model=name)
        except AtlasError as exc:
            return failed(exc, 404)
        runs = runs[runs["model"] == name] if "model" in runs.columns else runs
        body = (render.record(row.iloc[0].to_dict()) + "<h2>runs</h2>" + render.table(runs, link_names=None)
                + "<h2>notes and labels</h2>" + render.table(notes))
        return html(f"model {name}", body + render.notes_form(f"model:{name}", can_write, reason))

    async def run(request: Request) -> Response:
        ref = request.path_params["ref"]
        try:
            info = await call(db.run, int(ref) if ref.isdigit() else ref)
        except AtlasError as exc:
            return failed(exc, 404)
        return html(f"run {ref}", render.record(info))

    async def add_note(request: Request) -> Response:
        form = await _form(request)
        target = str(form.get("target", ""))
        text, lab = str(form.get("text", "")).strip(), str(form.get("label", "")).strip() or None
        try:
            await call(db.add_note, target, text, label=lab, private=bool(form.get("private")))
        except StorePermissionError:
            from atlas.kb.roles import denied_message

            line = denied_message(db.engine, "annotator") or reason
            return html("not allowed", render.error(f"error: {line}"), 403)
        except AtlasError as exc:
            return failed(exc)
        page = "/neuron/" if "/" in target and ":" not in target.split("/")[0] else "/" + target.replace(":", "/", 1)
        dest = page + urlquote(target, safe="/:") if page == "/neuron/" else page
        return RedirectResponse(dest, status_code=303)

    async def api_query(request: Request) -> Response:
        q = request.query_params.get("q", "")
        try:
            frame = await call(db.query, q, timeout_s=timeout_s)
        except AtlasError as exc:
            return JSONResponse(_error(exc), status_code=400)
        parts = frame.attrs.get("sections")
        if parts:
            return JSONResponse({"sections": {k: _records(v) for k, v in parts.items()},
                                 "warnings": frame.attrs.get("warnings", [])})
        return JSONResponse({"columns": list(map(str, frame.columns)), "rows": _records(frame),
                             "warnings": frame.attrs.get("warnings", [])})

    async def api_neuron(request: Request) -> Response:
        try:
            parts = await call(db.neuron, request.path_params["nid"], timeout_s=timeout_s)
        except AtlasError as exc:
            return JSONResponse(_error(exc), status_code=404)
        return JSONResponse({k: _records(v) for k, v in parts.items()})

    async def api_notes(request: Request) -> Response:
        target = request.query_params.get("target")
        try:
            frame = await call(db.notes, **({"target": target} if target else {}))
        except AtlasError as exc:
            return JSONResponse(_error(exc), status_code=400)
        return JSONResponse(_records(frame))

    async def api_whoami(request: Request) -> Response:
        return JSONResponse({"user": who.get("user"), "role": who.get("kind"), "can_annotate": can_write,
                             "backend": db.engine.dialect.name})

    routes = [
        Route("/", home), Route("/neuron/{nid:path}", neuron), Route("/concept/{name:path}", concept),
        Route("/model/", models), Route("/model/{name}", model), Route("/run/{ref}", run),
        Route("/notes", add_note, methods=["POST"]), Route("/api/query", api_query),
        Route("/api/neuron/{nid:path}", api_neuron), Route("/api/notes", api_notes), Route("/api/whoami", api_whoami),
    ]
    return Starlette(routes=routes)


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
