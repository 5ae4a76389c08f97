"""Property-level probeless (Antverg & Belinkov, issue 13): ``atlas score`` stores the ranking of
neurons for a whole property (``upos``, ``feat:Number``) as the set of a concept of kind
``property``; its values equal a direct numpy computation over every value of the property with
``min_count`` words, whichever of its values are scored; the query language reads it."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from atlas.corpus.matrix import load_concept_matrix
from atlas.methods.job import score
from atlas.store.tables import Concept

from .fixtures import make_run
from .test_job import _stored, as_stored


def _direct(tiny, matrix, prop: str, min_count: int) -> dict[tuple[str, int], np.ndarray]:
    """Σ_{z<z'} |q(z) − q(z')| per neuron, from the float16 arrays and the corpus's masks."""
    cols = [i for i, n in enumerate(matrix.names) if n.startswith(prop + ":") or (prop.startswith("feat:") and n.startswith(prop + "="))]
    mask = np.asarray(matrix.mask, bool)[:, cols]
    kept = mask[:, mask.sum(0) >= min_count]
    out = {}
    for key, X in tiny.arrays.items():
        q = np.stack([X[kept[:, j]].astype(np.float64).mean(0) for j in range(kept.shape[1])], axis=1)
        out[key] = sum(np.abs(q[:, i] - q[:, j]) for i in range(q.shape[1]) for j in range(i + 1, q.shape[1]))
    return out


@pytest.mark.parametrize("prop", ["upos", "feat:Number"])
def test_property_set_equals_a_direct_computation(db, tmp_path, prop):
    tiny = make_run(db, tmp_path)
    matrix = load_concept_matrix(db, tiny.corpus_id)
    value = "upos:NOUN" if prop == "upos" else "feat:Number=Plur"
    result = score(db, tiny.run_id, methods="probeless", concepts=value, params={"probeless": {"min_count": 20}}, progress=False)
    stored = _stored(db, result["methods"]["probeless"]["method_id"], prop)
    expected = _direct(tiny, matrix, prop, 20)
    for key, ids in tiny.neuron_ids.items():
        np.testing.assert_allclose([stored[int(i)] for i in ids], as_stored(expected[key]), rtol=1e-4, atol=1e-6)  # float32 sums
    with db.engine.connect() as conn:
        assert conn.execute(select(Concept.kind).where(Concept.name == prop)).scalar_one() == "property"


def test_property_set_does_not_depend_on_the_values_scored(db, tmp_path):
    tiny = make_run(db, tmp_path)
    first = score(db, tiny.run_id, methods="probeless", concepts="upos:NOUN", params={"probeless": {"min_count": 20}}, progress=False)
    a = _stored(db, first["methods"]["probeless"]["method_id"], "upos")
    second = score(db, tiny.run_id, methods="probeless", concepts="upos:VERB,upos:DET,negation",
                   params={"probeless": {"min_count": 20}}, progress=False)
    b = _stored(db, second["methods"]["probeless"]["method_id"], "upos")
    assert a == b and len(a) == 24


def test_query_ranks_neurons_for_a_property(db, tmp_path):
    tiny = make_run(db, tmp_path)  # unit 1 of every layer follows upos:NOUN
    score(db, tiny.run_id, methods="probeless", concepts="upos:NOUN,feat:Number=Sing", progress=False)
    top = db.query("neurons in tiny order by probeless(upos) desc limit 2")
    assert sorted(top["unit"].tolist()) == [1, 1]
    # feat:Number has one value of 100 words here (Sing): no property-level set at the default
    with db.engine.connect() as conn:
        assert conn.execute(select(Concept.id).where(Concept.name == "feat:Number")).first() is None
    score(db, tiny.run_id, methods="probeless", concepts="feat:Number=Sing", params={"probeless": {"min_count": 20}}, progress=False)
    assert db.query("count neurons in tiny where probeless[min_count=20](feat:Number) > 0")["n_matching"].item() == 12
    concepts = db.query('show concepts like "upos"')
    assert concepts["kind"].tolist() == ["property"]
