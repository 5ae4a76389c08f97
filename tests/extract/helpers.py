"""Shared helpers of the extraction tests: tiny models, corpora, references."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from atlas.store.bulk import bulk_insert
from atlas.store.tables import Corpus, Sentence, Token

WORDS = (
    "the cat sat on a mat while unbelievably tokenization happened and antidisestablishmentarianism "
    "dogs were running quickly through extraordinary internationalization of neurons"
).split()


def make_sentences(n: int, seed: int = 0, min_len: int = 2, max_len: int = 14) -> list[list[str]]:
    """Deterministic sentences of plain lower-case words (whitespace-tokenised identically everywhere)."""
    rng = np.random.default_rng(seed)
    return [list(rng.choice(WORDS, size=int(rng.integers(min_len, max_len + 1)))) for _ in range(n)]


def store_corpus(db: Any, name: str, sentences: list[list[str]], tmp_path: Path) -> int:
    """Store ``sentences`` as corpus ``name``; returns its id.

    Uses area A's ``add_corpus(db, name, path, format="text")`` when it exists; otherwise a
    private stand-in writes the corpus, sentence and token rows directly (same layout).
    """
    try:
        from atlas.corpus.ingest import add_corpus
    except ImportError:
        add_corpus = None
    if add_corpus is not None:
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
        return int(add_corpus(db, name, path, format="text", progress=False)["id"])
    with db.write() as conn:
        cid = conn.execute(
            Corpus.__table__.insert().values(
                name=name, source=f"test:{name}", format="text", n_sentences=len(sentences),
                n_tokens=sum(map(len, sentences)), created_at=dt.datetime.now(dt.timezone.utc),
            )
        ).inserted_primary_key[0]
        row = 0
        sids = []
        for i, words in enumerate(sentences):
            sid = conn.execute(
                Sentence.__table__.insert().values(
                    corpus_id=cid, index=i, text=" ".join(words), first_row=row, n_tokens=len(words)
                )
            ).inserted_primary_key[0]
            sids.extend([sid] * len(words))
            row += len(words)
        forms = [w for s in sentences for w in s]
        bulk_insert(conn, Token.__table__, {
            "corpus_id": np.full(row, cid, dtype=np.int64),
            "sentence_id": np.asarray(sids, dtype=np.int64),
            "row": np.arange(row, dtype=np.int64),
            "position": np.asarray([j for s in sentences for j in range(len(s))], dtype=np.int64),
            "form": forms,
            "space_after": [True] * row,
        })
    return int(cid)


def corpus_words(db: Any, corpus_id: int) -> list[list[str]]:
    """The stored words of each sentence, read back from the token table."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(Token.sentence_id, Token.position, Token.form).where(Token.corpus_id == corpus_id).order_by(Token.row)
        ).all()
    out: list[list[str]] = []
    last = None
    for sid, _pos, form in rows:
        if sid != last:
            out.append([])
            last = sid
        out[-1].append(form)
    return out


# -- an independent reference: plain transformers, one sentence at a time ----------------------
def _mlp_reference_module(model: Any, family: str, layer: int) -> tuple[Any, Any]:
    """(module, how to turn its output into post-activation units), chosen independently of the
    adapters (they hook the down-projection's input; this hooks the activation's output)."""
    if family in ("bert", "roberta"):
        return model.encoder.layer[layer].intermediate, None
    if family == "distilbert":
        return model.transformer.layer[layer].ffn.activation, None
    if family == "gpt2":
        return model.h[layer].mlp.act, None
    if family == "t5":
        return model.encoder.block[layer].layer[1].DenseReluDense.act, None
    if family == "llama":
        return model.layers[layer].mlp, "llama"
    raise ValueError(family)


def reference_vectors(
    folder: Path, family: str, sentences: list[list[str]], *, site: str, layer: int, aggregation: str = "mean",
    windows: list[list[tuple[int, int, tuple[int, ...]]]] | None = None,
) -> np.ndarray:
    """Word vectors ``[n_words, width]`` from plain ``transformers`` forward passes, unbatched.

    ``windows`` (per sentence, as :func:`atlas.extract.align.plan_windows` returns) feeds the
    given word spans separately; by default each sentence is one window.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    kwargs = {"add_prefix_space": True} if family in ("gpt2", "roberta") else {}
    tok = AutoTokenizer.from_pretrained(folder, **kwargs)
    model = AutoModel.from_pretrained(folder).eval()
    captured: dict[str, Any] = {}
    if site == "mlp":
        module, special = _mlp_reference_module(model, family, layer)
        if special == "llama":
            def hook(mod: Any, args: Any, _out: Any) -> None:
                x = args[0]
                captured["h"] = mod.act_fn(mod.gate_proj(x)) * mod.up_proj(x)
        else:
            def hook(_mod: Any, _args: Any, out: Any) -> None:
                captured["h"] = out
        handle = module.register_forward_hook(hook)
    else:
        handle = None
    out_rows: list[np.ndarray] = []
    try:
        for i, words in enumerate(sentences):
            spans = windows[i] if windows is not None else [(0, len(words), tuple(range(len(words))))]
            vecs: dict[int, np.ndarray] = {}
            for s, e, keep in spans:
                enc = tok(words[s:e], is_split_into_words=True, return_tensors="pt")
                with torch.no_grad():
                    if family == "t5":
                        res = model.encoder(input_ids=enc["input_ids"], output_hidden_states=True)
                    else:
                        res = model(input_ids=enc["input_ids"], output_hidden_states=True)
                hidden = captured["h"] if site == "mlp" else res.hidden_states[layer + 1 if site == "resid" else 0]
                hidden = hidden[0].float().numpy()
                wids = enc.word_ids(0)
                for w in keep:
                    pos = [t for t, wid in enumerate(wids) if wid == w - s]
                    if aggregation == "first":
                        pos = pos[:1]
                    elif aggregation == "last":
                        pos = pos[-1:]
                    vecs[w] = hidden[pos].mean(axis=0)
            out_rows.extend(vecs[w] for w in range(len(words)))
    finally:
        if handle is not None:
            handle.remove()
    return np.stack(out_rows)


def stored_checksum(db: Any, run_id: int, file: dict[str, Any]) -> str:
    """A file's checksum recomputed from its bytes and the run's chunk rows (what the run records,
    see :mod:`atlas.extract.checksum`)."""
    from atlas.extract.checksum import file_checksum
    from atlas.store.tables import RunChunk

    with db.engine.connect() as conn:
        bounds = conn.execute(
            select(RunChunk.start_row, RunChunk.end_row).where(RunChunk.run_id == run_id).order_by(RunChunk.start_row)
        ).all()
    return file_checksum(db.store.path(file["path"]), file["width"], [(int(a), int(b)) for a, b in bounds])
