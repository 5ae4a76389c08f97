"""Storing corpora: ``add_corpus`` and its companions ``list_corpora``, ``corpus_info``,
``remove_corpus`` (and ``resolve_corpus``, defined in :mod:`atlas.corpus.stored`).

``add_corpus`` parses the whole source first (a malformed file fails before the database is
touched), then writes the ``corpus``, ``sentence`` and ``token`` rows and materialises every
concept (``annotation`` and ``concept_count`` rows) in ONE write transaction through the bulk
path: the database holds the whole corpus or nothing of it.

Example::

    import atlas
    db = atlas.connect("sqlite:///atlas.db"); db.init()
    add_corpus(db, "pud", "../shared/data/ud-english-pud/en_pud-ud-test.conllu", license="CC BY-SA 3.0")
    add_corpus(db, "demo", builtin="demo")
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select

from atlas.corpus.columns import TokenColumns
from atlas.corpus.materialise import materialise_corpus
from atlas.corpus.model import ParsedSentence
from atlas.corpus.stored import resolve_corpus
from atlas.errors import CorpusError, did_you_mean
from atlas.naming import check_name, check_text
from atlas.store.bulk import bulk_insert
from atlas.store.context import AtlasContext
from atlas.store.engine import write
from atlas.store.failures import database_label, translating
from atlas.store.maintenance import purge_orphans
from atlas.store.tables import Concept, ConceptCount, Corpus, Run, ScoreSet, Sentence, Token, TopActivation

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("conllu", "text")
BUILTINS = ("demo",)
#: Suffixes that name a format when ``format`` is not given.
SUFFIXES = {".conllu": "conllu", ".conll": "conllu", ".txt": "text", ".text": "text"}
#: Sentences of the stored demo corpus.
DEMO_SENTENCES = 2000


def guess_format(path: Path) -> str:
    """``conllu`` or ``text`` from the file suffix; :class:`CorpusError` when it says neither."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise CorpusError(
            f"cannot tell the format from the suffix {path.suffix!r}",
            path=str(path),
            hint="pass --format conllu or --format text",
        )
    return fmt


def parse_source(
    path: str | Path | None,
    *,
    format: str | None = None,
    builtin: str | None = None,
    n_sentences: int | None = None,
    progress: bool = False,
) -> tuple[list[ParsedSentence], str, str, str | None]:
    """Parse a corpus source. Returns ``(sentences, source, format, sha256)``."""
    if builtin is not None:
        if builtin not in BUILTINS:
            raise CorpusError(f"unknown built-in corpus {builtin!r}", hint=did_you_mean(builtin, BUILTINS) or "use 'demo'")
        from atlas.corpus.generated import generate

        return generate(n_sentences or DEMO_SENTENCES, seed=0), f"builtin:{builtin}", "builtin", None
    if path is None:
        raise CorpusError("no corpus file given", hint="give a PATH, or --builtin demo")
    path = Path(path)
    if not path.is_file():
        raise CorpusError("no such file", path=str(path), hint="check the path")
    fmt = format or guess_format(path)
    if fmt not in FORMATS:
        raise CorpusError(f"unknown corpus format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if fmt == "conllu":
        from atlas.corpus.conllu import read_conllu

        sentences = read_conllu(path, progress=progress)
    else:
        from atlas.corpus.text import read_text

        sentences = read_text(path, progress=progress)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return sentences, str(path.resolve()), fmt, digest


def add_corpus(
    db: AtlasContext,
    name: str,
    path: str | Path | None = None,
    *,
    format: str | None = None,
    builtin: str | None = None,
    license: str | None = None,
    replace: bool = False,
    n_sentences: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Store a corpus and materialise every concept for it, in one transaction.

    Args:
        db: the atlas.
        name: the corpus name queries and extraction jobs use (:func:`atlas.naming.check_name`:
            a letter, then letters, digits, ``_`` and ``-``; at most 100 characters; no keyword).
        path: a CoNLL-U or text file (ignored when ``builtin`` is given).
        format: ``"conllu"`` or ``"text"``; guessed from the suffix when ``None``.
        builtin: ``"demo"`` stores the built-in demo corpus (:mod:`atlas.corpus.generated`).
        license: the corpus licence, kept on the corpus row.
        replace: replace a corpus of that name (its runs and scores go with it).
        n_sentences: with ``builtin``, how many sentences to generate (default 2,000).
        progress: show progress bars on stderr.

    Returns:
        ``{"id", "name", "n_sentences", "n_tokens", "n_concepts"}`` (concepts with at least one token).

    Raises:
        CorpusError: a malformed or unreadable file (file, line, what), a bad name, or a name
            that exists without ``replace``. The database is then exactly as before.

    Example::

        >>> add_corpus(db, "demo", builtin="demo", progress=False)  # doctest: +SKIP
        {'id': 1, 'name': 'demo', 'n_sentences': 2000, 'n_tokens': 17243, 'n_concepts': 412}
    """
    from tqdm import tqdm

    check_name("corpus", name, error=CorpusError)
    _check_license(license)
    if format is not None and format not in FORMATS:
        raise CorpusError(f"unknown corpus format {format!r}", hint=f"use one of {', '.join(FORMATS)}")
    with db.engine.connect() as conn:
        _check_name_free(conn, name, replace)
    started = time.perf_counter()
    sentences, source, fmt, digest = parse_source(
        path, format=format, builtin=builtin, n_sentences=n_sentences, progress=progress
    )
    cols = TokenColumns.from_sentences(sentences)
    n_tokens = cols.n
    steps = tqdm(total=4, desc=f"store {name}", unit=" step", disable=not progress, leave=False)
    with translating(f"storing corpus {name!r}", where=database_label(db.engine)):
        with write(db.engine) as conn:
            old = _check_name_free(conn, name, replace)
            if old is not None:
                _delete_corpus(conn, old)
            c = Corpus.__table__
            corpus_id = conn.execute(
                insert(c)
                .values(name=name, source=source, format=fmt, license=license, n_sentences=len(sentences),
                        n_tokens=n_tokens, sha256=digest)
                .returning(c.c.id)
            ).scalar_one()
            steps.update(1)
            sentence_ids = _insert_sentences(conn, corpus_id, sentences)
            steps.update(1)
            _insert_tokens(conn, corpus_id, sentences, sentence_ids)
            steps.update(1)
            n_concepts = materialise_corpus(conn, corpus_id, cols, progress=progress, corpus=name)
            steps.update(1)
    steps.close()
    elapsed = time.perf_counter() - started
    return {
        "id": int(corpus_id),
        "name": name,
        "n_sentences": len(sentences),
        "n_tokens": n_tokens,
        "n_concepts": n_concepts,
        "seconds": round(elapsed, 3),
    }


def _check_license(license: str | None) -> None:
    if license is None:
        return
    check_text(license, "the licence", error=CorpusError)
    limit = Corpus.__table__.c.license.type.length
    if len(license) > limit:
        raise CorpusError(f"the licence is {len(license)} characters long (at most {limit})",
                          hint="give its short name or SPDX id, e.g. 'CC BY-SA 4.0'")


def _check_name_free(conn: Connection, name: str, replace: bool) -> int | None:
    c = Corpus.__table__
    existing = conn.execute(select(c.c.id).where(c.c.name == name)).scalar()
    if existing is not None and not replace:
        raise CorpusError(f"a corpus named {name!r} exists", hint="choose another name, or use --replace")
    return existing


def _insert_sentences(conn: Connection, corpus_id: int, sentences: list[ParsedSentence]) -> list[int]:
    lengths = np.array([len(s.words) for s in sentences], dtype=np.int64)
    first_rows = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
    s = Sentence.__table__
    bulk_insert(
        conn,
        s,
        {
            "corpus_id": [corpus_id] * len(sentences),
            "index": list(range(len(sentences))),
            "sent_id": [x.sent_id for x in sentences],
            "text": [x.text for x in sentences],
            "first_row": first_rows,
            "n_tokens": lengths,
        },
    )
    ids = conn.execute(select(s.c.id).where(s.c.corpus_id == corpus_id).order_by(s.c.index)).scalars().all()
    return list(ids)


def _insert_tokens(conn: Connection, corpus_id: int, sentences: list[ParsedSentence], sentence_ids: list[int]) -> None:
    cols: dict[str, list[Any]] = {k: [] for k in (
        "sentence_id", "position", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "misc", "space_after")}
    for sentence, sid in zip(sentences, sentence_ids):
        for position, w in enumerate(sentence.words):
            cols["sentence_id"].append(sid)
            cols["position"].append(position)
            cols["form"].append(w.form)
            cols["lemma"].append(w.lemma)
            cols["upos"].append(w.upos)
            cols["xpos"].append(w.xpos)
            cols["feats"].append(w.feats)
            cols["head"].append(w.head)
            cols["deprel"].append(w.deprel)
            cols["misc"].append(w.misc)
            cols["space_after"].append(bool(w.space_after))
    n = len(cols["form"])
    bulk_insert(conn, Token.__table__, {"corpus_id": [corpus_id] * n, "row": list(range(n)), **cols})


def _delete_corpus(conn: Connection, corpus_id: int) -> list[str]:
    """Delete a corpus; CASCADE removes its sentences, tokens, annotations, counts and runs.
    Returns the store folders of the runs that went with it."""
    run = Run.__table__
    run_dirs = conn.execute(select(run.c.store_path).where(run.c.corpus_id == corpus_id)).scalars().all()
    # delete the big children explicitly: cheaper than cascading row by row on SQLite
    for table in (Token.__table__, Sentence.__table__):
        conn.execute(delete(table).where(table.c.corpus_id == corpus_id))
    conn.execute(delete(Corpus.__table__).where(Corpus.__table__.c.id == corpus_id))
    purge_orphans(conn)  # scores and top activations of the runs that went with it
    return list(run_dirs)


def list_corpora(db: AtlasContext) -> pd.DataFrame:
    """The stored corpora: ``id, name, format, n_sentences, n_tokens, n_concepts, license, source, created_at``."""
    import pandas as pd

    c, cc = Corpus.__table__, ConceptCount.__table__
    n_concepts = (
        select(func.count()).where(cc.c.corpus_id == c.c.id, cc.c.n_tokens > 0).scalar_subquery().label("n_concepts")
    )
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(c.c.id, c.c.name, c.c.format, c.c.n_sentences, c.c.n_tokens, n_concepts, c.c.license,
                   c.c.source, c.c.created_at).order_by(c.c.id)
        ).all()
    return pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["id", "name", "format", "n_sentences", "n_tokens", "n_concepts", "license", "source", "created_at"],
    )


def corpus_info(db: AtlasContext, ref: str | int, *, n_examples: int = 3, top: int = 15) -> dict[str, Any]:
    """A corpus' row, its first sentences and its most frequent named concepts (for ``corpus show``)."""
    s, c, cc = Sentence.__table__, Concept.__table__, ConceptCount.__table__
    with db.engine.connect() as conn:
        info = resolve_corpus(db, ref, conn=conn)
        info["examples"] = conn.execute(
            select(s.c.text).where(s.c.corpus_id == info["id"]).order_by(s.c.index).limit(n_examples)
        ).scalars().all()
        info["concepts"] = [
            tuple(r)
            for r in conn.execute(
                select(c.c.name, c.c.kind, cc.c.n_tokens, cc.c.n_sentences)
                .join(cc, cc.c.concept_id == c.c.id)
                .where(cc.c.corpus_id == info["id"], c.c.kind.in_(["named", "position", "sentence",
                                                                     "formula", "wordlist", "regex"]))
                .order_by(cc.c.n_tokens.desc(), c.c.id)
                .limit(top)
            )
        ]
        info["n_concepts"] = conn.execute(
            select(func.count()).where(cc.c.corpus_id == info["id"], cc.c.n_tokens > 0)
        ).scalar_one()
        info["n_runs"] = conn.execute(select(func.count()).where(Run.__table__.c.corpus_id == info["id"])).scalar_one()
    return info


def remove_corpus(db: AtlasContext, ref: str | int, *, force: bool = False) -> dict[str, Any]:
    """Delete a corpus with its sentences, tokens, annotations and the runs over it (and their
    activation arrays). Returns the removed corpus row.

    A corpus with runs (extracted activations, scores) is removed only with ``force``: the
    error says how many runs, scores and top activations would go.

    Raises:
        CorpusError: no such corpus, or runs over it and no ``force``.
        StoreError: a database failure (:mod:`atlas.store.failures`).

    Example::

        remove_corpus(db, "mine")              # refuses when runs were extracted over it
        remove_corpus(db, "mine", force=True)  # deletes them too
    """
    with translating(f"removing corpus {ref!r}", where=database_label(db.engine)):
        with write(db.engine) as conn:
            info = resolve_corpus(db, ref, conn=conn)
            losses = _run_losses(conn, info["id"])
            if losses["runs"] and not force:
                raise CorpusError(
                    f"corpus {info['name']!r} has {losses['runs']} runs with {losses['score_sets']:,} score sets and "
                    f"{losses['top_activations']:,} top activations; removing it deletes them and their "
                    "activation arrays",
                    hint="pass --force (force=True) to remove it with them",
                )
            run_dirs = _delete_corpus(conn, info["id"])
    for run_dir in run_dirs:
        try:
            db.store.remove_run(run_dir)
        except OSError:
            pass  # arrays already gone: nothing to free
    info["n_runs_removed"] = len(run_dirs)
    return info


def _run_losses(conn: Connection, corpus_id: int) -> dict[str, int]:
    """How many runs over a corpus, and their score sets and top activations, a removal deletes."""
    run = Run.__table__
    runs = select(run.c.id).where(run.c.corpus_id == corpus_id)
    return {
        "runs": conn.execute(select(func.count()).select_from(runs.subquery())).scalar_one(),
        "score_sets": conn.execute(select(func.count()).where(ScoreSet.__table__.c.run_id.in_(runs))).scalar_one(),
        "top_activations": conn.execute(
            select(func.count()).where(TopActivation.__table__.c.run_id.in_(runs))).scalar_one(),
    }


__all__ = [
    "add_corpus",
    "corpus_info",
    "guess_format",
    "list_corpora",
    "parse_source",
    "remove_corpus",
    "resolve_corpus",
]
