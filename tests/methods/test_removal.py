"""Removing a concept or a corpus (and its runs) removes their score sets in the same
transaction, and ids are never handed out again: a new concept never inherits old scores."""

from __future__ import annotations

from sqlalchemy import func, select, text

from atlas.corpus.ingest import remove_corpus
from atlas.corpus.inventory import define_concept, remove_concept
from atlas.methods.job import score
from atlas.store.tables import Concept, ScoreSet, ScoreVector, TopActivation

from .fixtures import make_run


def _count(db, table, *where):
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_removing_a_concept_removes_its_sets_and_its_id_stays_retired(db, tmp_path):
    tiny = make_run(db, tmp_path)
    define_concept(db, "det_or_adj", "upos:DET or upos:ADJ")
    score(db, tiny.run_id, methods="iou,selectivity", concepts="det_or_adj,upos:NOUN", progress=False)
    with db.engine.connect() as conn:
        old = conn.execute(select(Concept.id).where(Concept.name == "det_or_adj")).scalar_one()
    assert _count(db, ScoreSet, ScoreSet.concept_id == old) == 2
    remove_concept(db, "det_or_adj")
    assert _count(db, ScoreSet, ScoreSet.concept_id == old) == 0
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM score WHERE concept_id = :c"), {"c": old}).scalar_one() == 0
        orphans = conn.execute(select(func.count()).select_from(ScoreVector).where(
            ScoreVector.set_id.not_in(select(ScoreSet.id)))).scalar_one()
    assert orphans == 0
    define_concept(db, "newc", "upos:DET")
    with db.engine.connect() as conn:
        new = conn.execute(select(Concept.id).where(Concept.name == "newc")).scalar_one()
    assert new > old  # SQLite AUTOINCREMENT / PostgreSQL sequences: never reused
    frame = db.query("neurons in tiny where has iou(newc)")
    assert len(frame) == 0  # the new concept has no scores: it inherited none
    assert len(db.query("neurons in tiny where has iou(upos:NOUN)")) > 0


def test_removing_a_corpus_removes_its_runs_sets_and_top_words(db, tmp_path):
    tiny = make_run(db, tmp_path)
    score(db, tiny.run_id, methods="iou", concepts="upos:NOUN", progress=False)
    assert _count(db, ScoreSet) > 0
    remove_corpus(db, "tiny", force=True)
    assert _count(db, ScoreSet) == 0
    assert _count(db, ScoreVector) == 0
    assert _count(db, TopActivation, TopActivation.run_id == tiny.run_id) == 0
