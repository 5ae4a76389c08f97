"""Method parameters reach composite concepts (issue 13): ``iou[alpha=0.05](a and not b)`` is
scored with alpha 0.05 on the formula's mask, equal to what ``atlas score --param`` stores for
a concept with that mask, and different from the default parameterisation."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.errors import MethodError, QueryError
from atlas.methods.compute import score_mask
from atlas.methods.job import score

from .fixtures import make_run
from .test_job import _stored, as_stored


def test_score_mask_applies_parameters(db, tmp_path):
    tiny = make_run(db, tmp_path)
    from atlas.corpus.matrix import load_concept_matrix

    wide = score(db, tiny.run_id, methods="iou", concepts="upos:NOUN", params={"iou": {"alpha": 0.05}}, progress=False)
    default = score(db, tiny.run_id, methods="iou", concepts="upos:NOUN", progress=False)
    mask = load_concept_matrix(db, tiny.corpus_id, concepts=["upos:NOUN"]).mask[:, 0]
    ids = [int(i) for key in sorted(tiny.neuron_ids) for i in tiny.neuron_ids[key]]
    stored_wide = _stored(db, wide["methods"]["iou"]["method_id"], "upos:NOUN")
    stored_default = _stored(db, default["methods"]["iou"]["method_id"], "upos:NOUN")
    got = score_mask(db, tiny.run_id, ids, mask, "iou", {"alpha": 0.05})
    np.testing.assert_array_equal(as_stored(got), [stored_wide[i] for i in ids])
    assert not np.array_equal(as_stored(got), [stored_default[i] for i in ids])
    with pytest.raises(MethodError, match="no parameter 'alfa'"):
        score_mask(db, tiny.run_id, ids, mask, "iou", {"alfa": 0.05})


def test_query_scores_a_composite_with_the_calls_parameters(db, tmp_path):
    tiny = make_run(db, tmp_path)
    score(db, tiny.run_id, methods="iou", concepts="upos:NOUN,upos:VERB", progress=False)
    from atlas.corpus.matrix import evaluate_formula

    frame = db.query("neurons in tiny where has iou[alpha=0.05](upos:NOUN and not upos:VERB) "
                     "and has iou(upos:NOUN and not upos:VERB) order by layer, unit")
    mask = np.asarray(evaluate_formula(db, tiny.corpus_id, "upos:NOUN and not upos:VERB"), bool)
    ids = [int(i) for key in (("mlp", 0), ("mlp", 1)) for i in tiny.neuron_ids[key]]
    expected = as_stored(score_mask(db, tiny.run_id, ids, mask, "iou", {"alpha": 0.05}))
    wide = frame["iou[alpha=0.05](upos:NOUN and not upos:VERB)"].to_numpy()
    np.testing.assert_allclose(wide, expected, rtol=0, atol=1e-6)
    assert not np.allclose(wide, frame["iou(upos:NOUN and not upos:VERB)"].to_numpy())
    with pytest.raises(QueryError, match="has no parameter 'alfa'"):
        db.query("neurons in tiny where iou[alfa=0.05](upos:NOUN and not upos:VERB) > 0")
