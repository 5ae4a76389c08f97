"""Notes and labels on neurons, concepts, models and runs (``atlas note``, ``atlas label``).

A target is written as in the query language: a neuron id (``minilm/mlp.0/829``, checked by the
binder, so a typo gets the caret and a did-you-mean), or ``concept:NAME``, ``model:NAME``,
``run:ID`` (a run id, or a model name for its latest run).

The author is the database user on PostgreSQL (``current_user``, written by the server; with
the roles of ``atlas kb init``, row-level security refuses a note under another name and hides
others' private notes), and ``--author``, else ``$USER``, on SQLite (a file has no users: who can
read the file reads every note). A label is a note row with ``label`` set (``text`` may be
empty): ``neurons in minilm where label = "negation detector"`` finds the neurons carrying it.

Example::

    add_note(db, "minilm/mlp.0/829", "fires on no/not/never", private=True)
    add_note(db, "minilm/mlp.0/829", "", label="negation detector")
    list_notes(db, target="minilm/mlp.0/829")
"""

from __future__ import annotations

import getpass
import os
import re
from typing import Any

import pandas as pd
from sqlalchemy import Connection, delete, func, select

from atlas.errors import KnowledgeBaseError
from atlas.query.api import plan_query
from atlas.query.canonical import quote
from atlas.store.engine import write
from atlas.store.failures import database_label, translating
from atlas.store.tables import Concept, Model, Neuron, Note, Run

#: What a note can be on.
TARGET_KINDS = ("neuron", "concept", "model", "run")
#: Who may read a note: the lab, or its author only.
VISIBILITIES = ("lab", "private")
_NEURON_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:/[A-Za-z0-9_.\-]+)+/[0-9]+")
#: The longest note text and label accepted (characters).
MAX_TEXT = 20_000
MAX_LABEL = 200


def resolve_target(db: Any, target: str) -> tuple[str, int, str]:
    """``(kind, row id, canonical text)`` of a note's target; errors say what is unknown."""
    kind, sep, rest = target.partition(":")
    if sep and kind in ("concept", "model", "run"):
        with db.engine.connect() as conn:
            found = _named(conn, db, kind, rest)
        return kind, found, f"{kind}:{rest}"
    if "/" not in target:
        raise KnowledgeBaseError(f"{target!r} is not a neuron id or a KIND:NAME target",
                                 hint="write a neuron (minilm/mlp.0/829), concept:noun, model:minilm or run:3")
    written = target if _NEURON_ID.fullmatch(target) else quote(target)  # as typed, for the caret
    plan = plan_query(db, f"notes of {written}")
    assert plan.bound is not None and plan.bound.neuron is not None
    st = plan.bound.statement
    ref, model = st.neuron, plan.bound.neuron  # type: ignore[union-attr]
    with db.engine.connect() as conn:
        nid = conn.execute(select(Neuron.id).where(Neuron.model_id == model.id, Neuron.site == ref.site,
                                                   Neuron.layer == ref.layer, Neuron.unit == ref.unit)).scalar()
    if nid is None:
        raise KnowledgeBaseError(f"neuron {ref} is not in the atlas", hint="extract a run of the model first")
    return "neuron", int(nid), str(ref)


def _named(conn: Connection, db: Any, kind: str, name: str) -> int:
    if kind == "run":
        from atlas.extract.runs import resolve_run

        return int(resolve_run(db, int(name) if name.isdigit() else name).id)
    table = Concept if kind == "concept" else Model
    found = conn.execute(select(table.id).where(table.name == name)).scalar()
    if found is None:
        from atlas.errors import did_you_mean

        names = list(conn.execute(select(table.name)).scalars())
        raise KnowledgeBaseError(f"unknown {kind} {name!r}",
                                 hint=did_you_mean(name, names) or f"atlas query 'show {kind}s' lists them")
    return int(found)


def current_author(db: Any, author: str | None = None) -> str:
    """The author of a new note: the database user on PostgreSQL (``author`` must match it),
    else ``author``, ``$USER`` or the login name."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            user = str(conn.execute(select(func.current_user())).scalar_one())
        if author is not None and author != user:
            raise KnowledgeBaseError(f"on PostgreSQL a note's author is the database user ({user}), not {author!r}",
                                     hint="drop --author, or connect as that user")
        return user
    return author or os.environ.get("USER") or getpass.getuser()


def add_note(db: Any, target: str, text: str = "", *, label: str | None = None, private: bool = False,
             author: str | None = None) -> int:
    """Store a note (or, with ``label``, a label) on ``target``; returns its id."""
    kind, row_id, _shown = resolve_target(db, target)
    text = text or ""
    if label is not None:
        label = label.strip()
        if not label or len(label) > MAX_LABEL:
            raise KnowledgeBaseError(f"a label has 1 to {MAX_LABEL} characters, not {len(label)}",
                                     hint='e.g. atlas label minilm/mlp.0/829 "negation detector"')
    elif not text.strip():
        raise KnowledgeBaseError("the note is empty", hint='write its text: atlas note add NEURON "fires on negation"')
    if len(text) > MAX_TEXT:
        raise KnowledgeBaseError(f"the note has {len(text)} characters; at most {MAX_TEXT}", hint="shorten it")
    who = current_author(db, author)
    values = {"target_kind": kind, f"{kind}_id": row_id, "author": who, "label": label, "text": text,
              "visibility": "private" if private else "lab"}
    if db.engine.dialect.name == "postgresql":
        values["author"] = func.current_user()  # the server's word, which row-level security checks
    with translating(f"storing a note on {target}", where=database_label(db.engine)):
        with write(db.engine) as conn:
            return int(conn.execute(Note.__table__.insert().values(**values).returning(Note.id)).scalar_one())


def list_notes(db: Any, *, target: str | None = None, author: str | None = None, label: str | None = None,
               model: str | None = None, labels_only: bool = False) -> pd.DataFrame:
    """Notes and labels, oldest first: note, target, author, visibility, label, text, created_at
    (those a PostgreSQL role may read)."""
    n, neu, mod, con, run = (t.__table__ for t in (Note, Neuron, Model, Concept, Run))
    target_text = _target_text(n, neu, mod, con)
    q = (select(n.c.id.label("note"), target_text.label("target"), n.c.author, n.c.visibility, n.c.label, n.c.text,
                n.c.created_at)
         .select_from(n.outerjoin(neu, neu.c.id == n.c.neuron_id).outerjoin(mod, mod.c.id == func.coalesce(neu.c.model_id, n.c.model_id))
                      .outerjoin(con, con.c.id == n.c.concept_id))
         .order_by(n.c.created_at, n.c.id))
    if target is not None:
        kind, row_id, _ = resolve_target(db, target)
        q = q.where(n.c.target_kind == kind, n.c[f"{kind}_id"] == row_id)
    if author is not None:
        q = q.where(n.c.author == author)
    if label is not None:
        q = q.where(n.c.label == label)
    if labels_only:
        q = q.where(n.c.label.is_not(None))
    if model is not None:
        q = q.where(mod.c.name == model)
    with translating("reading notes", where=database_label(db.engine)):
        with db.engine.connect() as conn:
            result = conn.execute(q)
            return pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))


def _target_text(n: Any, neu: Any, mod: Any, con: Any) -> Any:
    from sqlalchemy import case, cast, String

    neuron = mod.c.name + "/" + neu.c.site + "." + cast(neu.c.layer, String) + "/" + cast(neu.c.unit, String)
    return case(
        (n.c.target_kind == "neuron", neuron),
        (n.c.target_kind == "concept", "concept:" + con.c.name),
        (n.c.target_kind == "model", "model:" + mod.c.name),
        else_="run:" + cast(n.c.run_id, String),
    )


def remove_note(db: Any, note_id: int) -> None:
    """Delete one note or label (on PostgreSQL, only its author can: row-level security)."""
    with translating(f"removing note {note_id}", where=database_label(db.engine)):
        with write(db.engine) as conn:
            gone = conn.execute(delete(Note).where(Note.id == note_id)).rowcount
    if not gone:
        raise KnowledgeBaseError(f"there is no note {note_id} you may remove",
                                 hint="atlas note list shows the notes and their ids; only a note's author removes it")


__all__ = ["TARGET_KINDS", "VISIBILITIES", "add_note", "current_author", "list_notes", "remove_note", "resolve_target"]
