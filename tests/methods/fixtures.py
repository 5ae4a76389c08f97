"""A tiny atlas for the job tests: a CoNLL-U corpus stored by area A, and a run written by hand
(model, layers, neurons, run, activation files) with planted neurons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atlas.store.bulk import bulk_insert
from atlas.store.tables import ActivationFile, Layer, Model, Neuron, Run

_WORDS = {
    "NOUN": ["dog", "cat", "bird", "house", "tree", "car"],
    "VERB": ["runs", "sees", "likes", "eats", "finds"],
    "DET": ["the", "a"],
    "ADJ": ["red", "big", "old"],
}


def conllu_text(n_sentences: int = 60, seed: int = 0) -> str:
    """Sentences like ``the big dog does not see a cat .`` with UPOS, FEATS, DEPREL."""
    rng = np.random.default_rng(seed)
    blocks = []
    for s in range(n_sentences):
        rows = []
        words: list[tuple[str, str, str, str]] = []
        words.append((rng.choice(_WORDS["DET"]), "DET", "_", "det"))
        if rng.random() < 0.5:
            words.append((rng.choice(_WORDS["ADJ"]), "ADJ", "Degree=Pos", "amod"))
        plural = rng.random() < 0.4
        words.append((rng.choice(_WORDS["NOUN"]) + ("s" if plural else ""), "NOUN", "Number=Plur" if plural else "Number=Sing", "nsubj"))
        if rng.random() < 0.3:
            words.append(("not", "PART", "Polarity=Neg", "advmod"))
        words.append((rng.choice(_WORDS["VERB"]), "VERB", "Tense=Pres", "root"))
        words.append((rng.choice(_WORDS["DET"]), "DET", "_", "det"))
        words.append((rng.choice(_WORDS["NOUN"]), "NOUN", "Number=Sing", "obj"))
        words.append((".", "PUNCT", "_", "punct"))
        text = " ".join(w[0] for w in words)
        rows.append(f"# sent_id = s{s}")
        rows.append(f"# text = {text}")
        for i, (form, upos, feats, rel) in enumerate(words, start=1):
            root = 1 + next(j for j, w in enumerate(words) if w[3] == "root")
            head = 0 if rel == "root" else root
            rows.append("\t".join([str(i), form, form, upos, "_", feats, str(head), rel, "_", "_"]))
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n\n"


@dataclass
class TinyRun:
    run_id: int
    corpus_id: int
    layers: dict[tuple[str, int], int]  # (site, index) -> layer id
    arrays: dict[tuple[str, int], np.ndarray]  # (site, index) -> [n_words, width] float16
    neuron_ids: dict[tuple[str, int], np.ndarray]


def make_run(db, tmp_path: Path, *, n_sentences: int = 60, width: int = 6, planted: str = "upos:NOUN") -> TinyRun:
    """Store the corpus through area A, then a 2-layer × 2-site run by hand whose unit 1 of every
    layer follows ``planted``."""
    from atlas.corpus.matrix import load_concept_matrix
    from atlas.corpus.ingest import add_corpus

    path = tmp_path / "tiny.conllu"
    path.write_text(conllu_text(n_sentences), encoding="utf-8")
    info = add_corpus(db, "tiny", path, progress=False)
    corpus_id = int(info["id"])
    matrix = load_concept_matrix(db, corpus_id)
    n_words = matrix.mask.shape[0]
    target = matrix.mask[:, matrix.names.index(planted)]
    rng = np.random.default_rng(1)
    layers, arrays, nids = {}, {}, {}
    with db.write() as conn:
        model_id = conn.execute(
            Model.__table__.insert().values(
                name="tiny", source="test", architecture="BertModel", family="bert", n_layers=2, d_model=width,
                d_mlp=width, random_init=False,
            )
        ).inserted_primary_key[0]
        run_id = conn.execute(
            Run.__table__.insert().values(
                model_id=model_id, corpus_id=corpus_id, config_hash="tiny-run", config={}, status="done",
                store_path="runs/1-tiny", n_words=n_words, rows_done=n_words,
            )
        ).inserted_primary_key[0]
        for site in ("mlp", "resid"):
            for index in range(2):
                layer_id = conn.execute(
                    Layer.__table__.insert().values(
                        model_id=model_id, index=index, site=site, width=width, hook_point=f"{site}.{index}", activation="post"
                    )
                ).inserted_primary_key[0]
                bulk_insert(conn, Neuron.__table__, {
                    "layer_id": [layer_id] * width, "model_id": [model_id] * width, "site": [site] * width,
                    "layer": [index] * width, "unit": list(range(width)),
                })
                X = rng.normal(size=(n_words, width))
                X[:, 1] += 3 * target
                arr = X.astype(np.float16)
                rel = f"runs/1-tiny/L{index:02d}.{site}.npy"
                db.store.allocate(rel, n_rows=n_words, width=width)
                out = db.store.open(rel, mode="r+")
                out[:] = arr
                db.store.flush(out)
                conn.execute(ActivationFile.__table__.insert().values(
                    run_id=run_id, layer_id=layer_id, path=rel, n_rows=n_words, width=width))
                layers[(site, index)] = layer_id
                arrays[(site, index)] = arr
        rows = conn.execute(Neuron.__table__.select()).all()
    for key, layer_id in layers.items():
        ids = np.zeros(width, np.int64)
        for r in rows:
            if r.layer_id == layer_id:
                ids[r.unit] = r.id
        nids[key] = ids
    return TinyRun(int(run_id), corpus_id, layers, arrays, nids)
