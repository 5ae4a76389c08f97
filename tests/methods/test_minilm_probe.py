"""A probe on the last layer of the real all-MiniLM-L6-v2 predicts UPOS on the demo corpus far
above the majority baseline; top-k neurons beat random-k, and random-k beats bottom-k."""

from __future__ import annotations

import pytest

from atlas.methods.job import score

pytestmark = pytest.mark.slow


def test_minilm_last_layer_probe_on_demo(db):
    from atlas.corpus.ingest import add_corpus
    from atlas.extract.job import extract
    from atlas.extract.models import builtin_model_path

    add_corpus(db, "demo", builtin="demo", progress=False)
    run_id = extract(db, str(builtin_model_path()), corpus="demo", name="minilm", sites=("resid",), layers=[5],
                     batch_size=64, progress=False)
    result = score(
        db, run_id, methods="probe", concepts=[c for c in _upos(db)],
        params={"probe": {"top_k": 0.05, "max_rows": 12000, "max_iter": 100}}, progress=False,
    )
    res = result["probe_results"]["probe"]["resid.5"]["upos"]
    assert res["accuracy"] > res["majority"] + 0.4, res
    assert res["accuracy"] > 0.85, res
    assert res["top"] > res["random"] > res["bottom"], res


def _upos(db):
    from sqlalchemy import select

    from atlas.store.tables import Concept

    with db.engine.connect() as conn:
        return conn.execute(select(Concept.name).where(Concept.name.like("upos:%"))).scalars().all()
