"""The whole path on both backends: corpus -> extraction -> scoring -> queries, on a tiny model.

The composite-concept query is checked against the stored score (another code path) and against
an IoU computed here from the raw activation file and the token table.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from atlas.store.tables import ActivationFile, Layer, Run, Token


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    import torch
    import transformers as tf

    from atlas.extract.models import builtin_model_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    tok = tf.AutoTokenizer.from_pretrained(builtin_model_path())
    torch.manual_seed(0)
    cfg = tf.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=48, max_position_embeddings=128)
    tf.BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _independent_iou(db, run_id, layer, mask):
    """IoU of each unit's top-0.5% words with ``mask``, written out from the definition: the
    unit's k = round(0.005 n) largest words, words tied at the k-th value sharing the places left."""
    with db.engine.connect() as conn:
        path = conn.execute(
            select(ActivationFile.path).join(Layer, Layer.id == ActivationFile.layer_id)
            .where(ActivationFile.run_id == run_id, Layer.site == "mlp", Layer.index == layer)
        ).scalar_one()
    acts = np.load(db.store.path(path)).astype(np.float64)
    out = []
    for unit in range(acts.shape[1]):
        col = acts[:, unit]
        k = max(1, int(np.floor(0.005 * len(col) + 0.5)))
        cut = np.sort(col)[::-1][k - 1]
        fires = (col > cut) + (col == cut) * (k - (col > cut).sum()) / (col == cut).sum()
        inter = (fires * mask).sum()
        out.append(inter / (k + mask.sum() - inter))
    return np.array(out)


def test_corpus_extract_score_query(db, tiny_bert):
    db.add_corpus("demo", builtin="demo", n_sentences=150, progress=False)
    run_id = db.extract(str(tiny_bert), corpus="demo", name="tiny", sites=("mlp", "resid"), progress=False)
    db.score(run_id, methods="iou,selectivity", concepts="noun,plural,negation", progress=False)

    stored = db.query("neurons in tiny layer=1 where has iou(noun) order by unit limit 1000")
    assert len(stored) == 48  # every unit of the 48-wide MLP of block 1

    # a composite that means the same concept goes through score_mask: the same values (both at
    # the precision scores are stored and shown, float32)
    same = db.query("neurons in tiny layer=1 where has iou(noun or noun) order by unit limit 1000")
    np.testing.assert_array_equal(same["iou(noun or noun)"], stored["iou(noun)"])

    # a real composite, against the definition computed from the arrays and the token table
    comp = db.query("neurons in tiny layer=1 where has iou(noun and not plural) order by unit limit 1000")
    with db.engine.connect() as conn:
        corpus_id = conn.execute(select(Run.corpus_id).where(Run.id == run_id)).scalar_one()
        upos, feats = zip(*conn.execute(
            select(Token.upos, Token.feats).where(Token.corpus_id == corpus_id).order_by(Token.row)
        ).all())
    mask = np.array([u == "NOUN" and "Number=Plur" not in (f or "") for u, f in zip(upos, feats)])
    assert 0 < mask.sum() < len(mask)
    expected = _independent_iou(db, run_id, 1, mask)
    # float32, shown as its shortest decimal
    np.testing.assert_array_equal(comp["iou(noun and not plural)"].to_numpy(), expected.astype(np.float32).astype(str).astype(float))

    # filters apply to the composite value; the order is by that value
    top = db.query("neurons in tiny where iou(noun and not plural) > 0 order by iou(noun and not plural) desc limit 5")
    values = top["iou(noun and not plural)"].to_numpy()
    assert (values > 0).all() and (np.diff(values) <= 0).all()

    # the user's query shape runs, and a comparison with a random-init control works across models
    db.extract(str(tiny_bert), corpus="demo", name="tiny", sites=("mlp",), random_init=True, progress=False)
    frame = db.query("neurons in tiny layer>0 where selectivity(negation)>0.05 and iou(noun)>0.001")
    assert set(frame.columns) >= {"neuron", "selectivity(negation)", "iou(noun)"}
    assert (frame["selectivity(negation)"] > 0.05).all() and (frame["iou(noun)"] > 0.001).all()
