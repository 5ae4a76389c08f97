"""Steering: set or scale chosen neurons on a text and show how the output changes (the
switch-neuron experiments of Bau et al. 2019 and Dai et al. 2022, METHODS.md §5.1, §6.1).

For LM models the top predictions before and after: a masked-LM model predicts at each mask
token of the text (or, with none, at the last word, masked), a causal-LM model the next token.
For a sentence encoder, the cosine similarity of the mean-pooled embedding before and after,
and with ``compare`` texts the similarity of the text to each of them before and after (the
shift the intervention causes).

Example::

    steer(db, ["minilm/mlp.0/829"], value=0.0, text="He does not like it .")
"""

from __future__ import annotations

import math

from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
from sqlalchemy import select

from atlas.causal.model import CausalModel, model_for_run, sentence_embeddings
from atlas.errors import AtlasError, MethodError
from atlas.extract.runner import Intervention
from atlas.naming import NeuronId
from atlas.store.runs import find_run
from atlas.store.tables import Layer, Model


def parse_neurons(db: Any, neurons: str | Sequence[str]) -> tuple[str, list[tuple[str, int, int]]]:
    """``(model name, [(site, layer, unit)])`` of neuron ids of one model (comma-separated or a list).

    Raises:
        MethodError: a malformed id, neurons of several models, or a unit the model lacks.
    """
    items = [n.strip() for n in (neurons.split(",") if isinstance(neurons, str) else neurons) if n.strip()]
    if not items:
        raise MethodError("no neuron given", hint="for example: atlas steer minilm/mlp.0/829 --set 0 --text '...'")
    parsed = []
    for text in items:
        try:
            nid = NeuronId.parse(text)
        except AtlasError as exc:
            raise MethodError(exc.message, hint=exc.hint) from None
        parsed.append(nid)
    models = {n.model for n in parsed}
    if len(models) > 1:
        raise MethodError(f"neurons of several models ({', '.join(sorted(models))})", hint="steer one model at a time")
    model = models.pop()
    with db.engine.connect() as conn:
        mid = conn.execute(select(Model.id).where(Model.name == model)).scalar()
        if mid is None:
            raise MethodError(f"no model named {model!r}", hint="list runs with: atlas run list")
        widths = {(r.site, int(r.index)): int(r.width) for r in conn.execute(
            select(Layer.site, Layer.index, Layer.width).where(Layer.model_id == mid))}
    out = []
    for n in parsed:
        width = widths.get((n.site, n.layer))
        if width is None or not 0 <= n.unit < width:
            raise MethodError(f"{model} has no neuron {n.site}.{n.layer}/{n.unit}", hint="see its layers with: atlas run show " + model)
        out.append((n.site, n.layer, n.unit))
    return model, out


def _interventions(targets: list[tuple[str, int, int]], value: float | None, scale: float | None) -> list[Intervention]:
    by_layer: dict[tuple[str, int], list[int]] = {}
    for s, layer, u in targets:
        by_layer.setdefault((s, layer), []).append(u)
    return [Intervention(s, layer, units=us, value=value, scale=scale) for (s, layer), us in sorted(by_layer.items())]


def steer(
    db: Any, neurons: str | Sequence[str], *, text: str, value: float | None = None, scale: float | None = None,
    top: int = 10, compare: Sequence[str] = (), device: str = "cpu", model: CausalModel | None = None,
) -> pd.DataFrame:
    """The output of ``text`` before and after setting (``value``) or scaling (``scale``) the neurons.

    Returns:
        LM models: ``position, rank, before, p_before, after, p_after`` (the top predictions);
        encoders: ``compared, before, after, shift`` (cosine similarities; the first row is the
        text's embedding against its unsteered self). ``attrs["kind"]`` says which.

    Raises:
        MethodError: neither or both of value and scale, bad neurons, an empty text.
    """
    if (value is None) == (scale is None):
        raise MethodError("steer sets or scales the neurons: give --set VALUE or --scale F, one of the two")
    if not text.strip():
        raise MethodError("--text is empty", hint='give a text, for example --text "He does not like it ."')
    for flag, number in (("--set", value), ("--scale", scale)):
        if number is not None and not math.isfinite(number):
            raise MethodError(f"{flag} {number}: give a finite number", hint=f"for example {flag} 0")
    name, targets = parse_neurons(db, neurons)
    cm = model or model_for_run(db, find_run(db, name, error=MethodError), device=device)
    ivs = _interventions(targets, value, scale)
    if cm.objective is None:
        frame = _embedding_shift(cm, text, list(compare), ivs)
    else:
        frame = _predictions(cm, text, ivs, top)
    frame.attrs["neurons"] = [f"{name}/{s}.{layer}/{u}" for s, layer, u in targets]
    frame.attrs["warnings"] = [f"{label} is {n:,} tokens: only the model's first {cm.loaded.max_length} were read"
                               for label, n in _lengths(cm, [text, *compare]) if n > cm.loaded.max_length]
    return frame


def _lengths(cm: CausalModel, texts: list[str]) -> list[tuple[str, int]]:
    """``(label, tokens)`` of each text (special tokens included): the text, then each compared one."""
    counts = [len(ids) for ids in cm.loaded.tokenizer(texts, add_special_tokens=True)["input_ids"]]
    return [("--text" if i == 0 else f"--compare #{i}", n) for i, n in enumerate(counts)]


def _encode_text(cm: CausalModel, text: str) -> dict[str, torch.Tensor]:
    return cm.loaded.tokenizer(text, return_tensors="pt", truncation=True, max_length=cm.loaded.max_length)


def _embedding_shift(cm: CausalModel, text: str, compare: list[str], ivs: list[Intervention]) -> pd.DataFrame:
    def emb(t: str) -> torch.Tensor:
        enc = _encode_text(cm, t)
        return sentence_embeddings(cm.hidden(enc["input_ids"], enc["attention_mask"]), enc["attention_mask"])[0]

    cos = torch.nn.functional.cosine_similarity
    before = emb(text)
    with cm.runner.intervene(ivs):
        after = emb(text)
    rows = [{"compared": "(itself)", "before": 1.0, "after": float(cos(before, after, dim=0))}]
    for other in compare:
        o = emb(other)
        rows.append({"compared": other, "before": float(cos(before, o, dim=0)), "after": float(cos(after, o, dim=0))})
    frame = pd.DataFrame(rows)
    frame["shift"] = frame["after"] - frame["before"]
    frame.attrs["kind"] = "embedding"
    return frame


def _predictions(cm: CausalModel, text: str, ivs: list[Intervention], top: int) -> pd.DataFrame:
    tok = cm.loaded.tokenizer
    enc = _encode_text(cm, text)
    ids = enc["input_ids"].clone()
    if cm.objective == "mlm":
        positions = (ids[0] == tok.mask_token_id).nonzero().flatten().tolist()
        if not positions:  # mask the last word-piece before the closing special token
            specials = set(tok.all_special_ids)
            positions = [max(i for i, t in enumerate(ids[0].tolist()) if t not in specials)]
            ids[0, positions[0]] = tok.mask_token_id
    else:
        positions = [ids.shape[1] - 1]

    def probs() -> torch.Tensor:
        hidden = cm.hidden(ids, enc["attention_mask"])
        with torch.no_grad():
            return torch.softmax(cm.head(hidden[0, positions]).float(), dim=-1)  # type: ignore[misc]

    before = probs()
    with cm.runner.intervene(ivs):
        after = probs()
    rows = []
    for i, pos in enumerate(positions):
        pb, ib = before[i].topk(top)
        pa, ia = after[i].topk(top)
        for r in range(top):
            rows.append({"position": pos, "rank": r + 1, "before": tok.decode([int(ib[r])]).strip(), "p_before": float(pb[r]),
                         "after": tok.decode([int(ia[r])]).strip(), "p_after": float(pa[r])})
    frame = pd.DataFrame(rows)
    frame.attrs["kind"] = "predictions"
    return frame
