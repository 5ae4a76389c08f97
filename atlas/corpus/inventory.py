"""The concept inventory as users see and change it: define a concept (a formula, a word list
or a regular expression) and materialise it for every corpus, remove one, list them, and show
one with examples.

A formula combines other concepts with ``and``, ``or``, ``not`` and brackets (``noun and not
plural``, see :mod:`atlas.corpus.formula`); a word list matches lower-cased forms; a regular
expression is matched against the whole word form (``re`` syntax, under a time limit:
:mod:`atlas.corpus.patterns`).

Example::

    define_concept(db, "common_singular", "noun and not plural")
    list_concepts(db, corpus="pud").query("kind == 'formula'")
    remove_concept(db, "common_singular")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select, update

import atlas.corpus.formula as fm
from atlas.corpus.dependencies import check_names, dependencies, transitive_names, with_dependents
from atlas.corpus.materialise import compute_masks, rematerialise
from atlas.corpus.patterns import compile_pattern
from atlas.corpus.stored import USER_KINDS, ConceptRow, concept_rows, resolve_corpus
from atlas.errors import ConceptError, did_you_mean
from atlas.naming import check_name, check_text, text_problem
from atlas.store.context import AtlasContext
from atlas.store.engine import write
from atlas.store.failures import database_label, translating
from atlas.store.tables import Annotation, Concept, ConceptCount, Corpus, Token

if TYPE_CHECKING:
    import pandas as pd


def define_concept(
    db: AtlasContext,
    name: str,
    formula: str | None = None,
    *,
    words: Iterable[str] | None = None,
    regex: str | None = None,
    description: str | None = None,
    level: str = "token",
    replace: bool = False,
) -> dict[str, Any]:
    """Define a concept and materialise it for every stored corpus, in one transaction.

    Exactly one of ``formula`` (over other concepts), ``words`` (matched on lower-cased forms)
    or ``regex`` (the whole form must match, :mod:`atlas.corpus.patterns`) defines it.
    ``level="sentence"`` OR-pools it over sentences. Concepts that use it in their formulas are
    recomputed when it is replaced. Masks are computed before the write transaction, so the
    write lock is held only to write.

    Returns:
        ``{"id", "name", "kind", "n_tokens": {corpus name: count}}``.

    Raises:
        ConceptError: a bad name (:func:`atlas.naming.check_name`) or definition (NUL characters
            included), an unknown concept in the formula (with a "did you mean"), a name that
            exists (unless ``replace``), or a built-in concept; :class:`~atlas.errors.ConceptLimitError`
            when a regular expression runs past its time limit. Nothing is stored then.
        StoreError: a database failure (:mod:`atlas.store.failures`: busy, full, lost connection, ...).

    Example::

        define_concept(db, "common_singular", "noun and not plural")
        define_concept(db, "colour", words=["red", "green", "blue"])
        define_concept(db, "ing_form", regex=r"\\w+ing")
    """
    kind, definition, tree = _parse_definition(name, formula, words, regex, level)
    if description is not None:
        check_text(description, f"the description of concept {name!r}", error=ConceptError)
    values = dict(name=name, kind=kind, level=level, definition=definition, description=description, builtin=False)
    where = database_label(db.engine)
    with translating(f"defining concept {name!r}", where=where):
        with db.engine.connect() as conn:  # compute first: the write lock is held only to write
            planned, masks = _plan(conn, values, tree, replace=replace)
        with write(db.engine) as conn:
            concept_id = _store_definition(conn, values, tree, replace=replace)
            concepts = concept_rows(conn)
            affected = _affected(concepts, name)
            if _signature(concepts) != _signature(planned):
                masks = {}  # the inventory changed meanwhile: compute again, inside
            counts: dict[str, int] = {}
            corpora = conn.execute(select(Corpus.__table__.c.id, Corpus.__table__.c.name)).all()
            for corpus_id, corpus_name in corpora:
                result = rematerialise(conn, corpus_id, concepts, affected, masks=masks.get(corpus_id),
                                       corpus=corpus_name)
                counts[corpus_name] = result[name]
    return {"id": int(concept_id), "name": name, "kind": kind, "n_tokens": counts}


def _affected(concepts: dict[str, ConceptRow], name: str) -> set[str]:
    """``name`` and the concepts built on it; :class:`ConceptError` when that makes a cycle."""
    if name in transitive_names(concepts, name):
        raise ConceptError(
            f"redefining {name!r} makes a cycle: its formula uses a concept that uses {name!r}",
            hint="define it without the concepts built on it",
        )
    return with_dependents(concepts, {name})


def _signature(concepts: dict[str, ConceptRow]) -> dict[str, tuple[str, str, str | None]]:
    return {n: (r.kind, r.level, r.definition) for n, r in concepts.items()}


def _plan(
    conn: Connection, values: dict[str, Any], tree: fm.Node | None, *, replace: bool
) -> tuple[dict[str, ConceptRow], dict[int, dict[str, np.ndarray]]]:
    """Check the definition against the stored inventory and compute its masks (and those of the
    concepts built on it) on every corpus, without writing. Returns the inventory as it will be
    and ``{corpus id: {name: mask}}``."""
    name = values["name"]
    concepts = concept_rows(conn)
    existing = _check_definition(conn, concepts, values, tree, replace=replace)
    new_id = existing.id if existing is not None else max((r.id for r in concepts.values()), default=0) + 1
    planned = dict(concepts)
    planned[name] = ConceptRow(new_id, name, values["kind"], values["level"], values["definition"])
    affected = _affected(planned, name)
    masks: dict[int, dict[str, np.ndarray]] = {}
    for corpus_id, corpus_name in conn.execute(select(Corpus.__table__.c.id, Corpus.__table__.c.name)).all():
        masks[corpus_id] = compute_masks(conn, corpus_id, planned, affected, corpus=corpus_name)
    return planned, masks


def _parse_definition(
    name: str, formula: str | None, words: Iterable[str] | None, regex: str | None, level: str
) -> tuple[str, str, fm.Node | None]:
    """Check a new concept's name, level and single definition; returns ``(kind, definition,
    formula tree or None)``. The definition is what the ``concept`` row stores."""
    check_name("concept", name, error=ConceptError)
    given = [x is not None for x in (formula, words, regex)]
    if sum(given) != 1:
        raise ConceptError(
            f"concept {name!r} needs exactly one definition: a formula, a word list or a regular expression",
            hint="atlas concept define NAME 'noun and not plural' | --words FILE | --regex PATTERN",
        )
    if level not in ("token", "sentence"):
        raise ConceptError(f"bad level {level!r} for concept {name!r}", hint="use 'token' or 'sentence'")
    if formula is not None:
        tree = fm.parse_formula(formula)
        return "formula", fm.to_text(tree), tree
    if words is not None:
        given_words = list(words)
        for number, word in enumerate(given_words, start=1):
            check_text(word, f"word {number} of the word list of concept {name!r}", error=ConceptError)
        items = sorted({w.strip().lower() for w in given_words if w.strip()})
        if not items:
            raise ConceptError(f"the word list of concept {name!r} is empty")
        bad = [w for w in items if "\n" in w]
        if bad:
            raise ConceptError(f"word {bad[0]!r} of concept {name!r} holds a line break")
        return "wordlist", "\n".join(items), None
    assert regex is not None
    check_text(regex, f"the regular expression of concept {name!r}", error=ConceptError)
    compile_pattern(regex, concept=name)
    return "regex", regex, None


def read_word_list(path: str | Path) -> list[str]:
    """The words of a word-list file (UTF-8, one word per line) for ``define_concept(words=...)``.

    Raises:
        ConceptError: the file cannot be read, is not UTF-8, or a line holds a NUL or a lone
            surrogate, with the file and the line.

    Example::

        define_concept(db, "colour", words=read_word_list("colours.txt"))
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConceptError(f"cannot read the word list {str(path)!r}: {exc.strerror}", hint="check the path") from None
    words: list[str] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            raise ConceptError(f"{path}:{number}: the line is not valid UTF-8 ({exc.reason} at byte {exc.start})",
                               hint="word lists are UTF-8; convert the file with iconv") from None
        problem = text_problem(line)
        if problem is not None:
            raise ConceptError(f"{path}:{number}: the line holds {problem}",
                               hint="remove the character: no database can store it in text")
        words.append(line.lstrip("\ufeff") if number == 1 else line)
    return words


def _check_definition(
    conn: Connection, concepts: dict[str, ConceptRow], values: dict[str, Any], tree: fm.Node | None, *, replace: bool
) -> ConceptRow | None:
    """The stored row the definition replaces (or ``None``); :class:`ConceptError` for a built-in
    concept, an existing name without ``replace``, unknown names in the formula or a formula
    naming the concept itself."""
    table = Concept.__table__
    name = values["name"]
    existing = concepts.get(name)
    if existing is not None:
        row = conn.execute(select(table.c.builtin).where(table.c.id == existing.id)).scalar_one()
        if row:
            raise ConceptError(f"{name!r} is a built-in concept and cannot be redefined", hint="choose another name")
        if not replace:
            raise ConceptError(f"concept {name!r} exists", hint="use --replace (replace=True) to redefine it")
    if tree is not None:
        check_names(tree, concepts)
        if name in fm.names(tree):
            raise ConceptError(f"concept {name!r} cannot be defined in terms of itself")
    return existing


def _store_definition(conn: Connection, values: dict[str, Any], tree: fm.Node | None, *, replace: bool) -> int:
    """Insert or (with ``replace``) update a user concept's row after :func:`_check_definition`;
    returns its id."""
    table = Concept.__table__
    existing = _check_definition(conn, concept_rows(conn), values, tree, replace=replace)
    if existing is None:
        return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())
    conn.execute(update(table).where(table.c.id == existing.id).values(**values))
    return existing.id


def remove_concept(db: AtlasContext, name: str) -> None:
    """Remove a user-defined concept (and its annotations and scores) unless a formula uses it."""
    with write(db.engine) as conn:
        concepts = concept_rows(conn)
        row = concepts.get(name)
        if row is None:
            raise ConceptError(f"unknown concept {name!r}", hint=did_you_mean(name, concepts))
        if row.kind not in USER_KINDS:
            raise ConceptError(f"{name!r} is a built-in concept and cannot be removed")
        users = sorted(r.name for r in concepts.values() if name in dependencies(r))
        if users:
            raise ConceptError(f"concept {name!r} is used by {', '.join(users)}", hint="remove those first")
        conn.execute(delete(Concept.__table__).where(Concept.__table__.c.id == row.id))


def list_concepts(db: AtlasContext, *, corpus: str | int | None = None, kind: str | None = None) -> pd.DataFrame:
    """The concept inventory with token and sentence counts.

    Args:
        db: the atlas.
        corpus: count in this corpus only (name or id); default: summed over all corpora.
        kind: only concepts of this kind (``named``, ``upos``, ``formula``, ...).

    Returns:
        A DataFrame with columns ``name, kind, level, definition, description, builtin,
        n_tokens, n_sentences, n_corpora``, ordered by concept id.

    Example::

        list_concepts(db, corpus="pud").query("kind == 'named'")
    """
    import pandas as pd

    c, cc = Concept.__table__, ConceptCount.__table__
    with db.engine.connect() as conn:
        counts = select(
            cc.c.concept_id,
            func.sum(cc.c.n_tokens).label("n_tokens"),
            func.sum(cc.c.n_sentences).label("n_sentences"),
            func.count().label("n_corpora"),
        )
        if corpus is not None:
            counts = counts.where(cc.c.corpus_id == resolve_corpus(db, corpus, conn=conn)["id"])
        sub = counts.group_by(cc.c.concept_id).subquery()
        query = (
            select(c.c.name, c.c.kind, c.c.level, c.c.definition, c.c.description, c.c.builtin,
                   sub.c.n_tokens, sub.c.n_sentences, sub.c.n_corpora)
            .outerjoin(sub, sub.c.concept_id == c.c.id)
            .order_by(c.c.id)
        )
        if kind is not None:
            query = query.where(c.c.kind == kind)
        rows = conn.execute(query).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["name", "kind", "level", "definition", "description", "builtin", "n_tokens", "n_sentences", "n_corpora"],
    )
    for col in ("n_tokens", "n_sentences", "n_corpora"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["builtin"] = frame["builtin"].astype(bool)
    return frame


def concept_info(db: AtlasContext, name: str, *, n_examples: int = 5) -> dict[str, Any]:
    """One concept: its row, and per corpus its counts and a few example words (``concept show``).

    Example::

        concept_info(db, "negation")["corpora"]   # [("pud", 119, 97, ["not", "n't", ...]), ...]
    """
    c, cc, a, t, co = Concept.__table__, ConceptCount.__table__, Annotation.__table__, Token.__table__, Corpus.__table__
    with db.engine.connect() as conn:
        row = conn.execute(select(c).where(c.c.name == name)).mappings().first()
        if row is None:
            names_ = conn.execute(select(c.c.name)).scalars().all()
            raise ConceptError(f"unknown concept {name!r}", hint=did_you_mean(name, names_))
        info = dict(row)
        corpora = []
        for corpus_id, corpus_name, n_tok, n_sent in conn.execute(
            select(co.c.id, co.c.name, cc.c.n_tokens, cc.c.n_sentences)
            .join(cc, cc.c.corpus_id == co.c.id)
            .where(cc.c.concept_id == info["id"])
            .order_by(co.c.id)
        ):
            forms = conn.execute(
                select(t.c.form)
                .join(a, (a.c.corpus_id == t.c.corpus_id) & (a.c.row == t.c.row))
                .where(a.c.concept_id == info["id"], a.c.corpus_id == corpus_id)
                .order_by(a.c.row)
                .limit(200)
            ).scalars().all()
            examples = list(dict.fromkeys(forms))[:n_examples]
            corpora.append((corpus_name, int(n_tok), int(n_sent), examples))
        info["corpora"] = corpora
    return info


__all__ = ["concept_info", "define_concept", "list_concepts", "read_word_list", "remove_concept"]
