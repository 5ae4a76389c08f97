"""Attribution: integrated gradients of a layer's neurons to a target (Dai et al. 2022, METHODS.md §5).

For one layer (site, block) with activations ``h`` (every token position of a sentence), the
target ``F`` is computed with ``h`` replaced by ``α·h``; neuron ``i``'s attribution is

    ``Attr_i = Σ_t h_{t,i} · (1/m) Σ_k ∂F/∂h_{t,i} (α_k · h)``,  ``α_k = (k + ½) / m``

(baseline 0 as Dai et al., the midpoint rule rather than their left sum: its error falls as
``1/m²``). **Completeness**: ``Σ_i Attr_i ≈ F(h) − F(0)``; :func:`integrated_gradients`
returns both sides so callers (and the tests) can check it.

Targets (``target``): ``logprob``, the summed log-probability of the concept's gold words
(masked-LM: the masked words of the seeded 15 % mask; causal-LM: each word given its prefix),
for models with an LM head; ``probe``, the summed logit of the concept's output probe
(:mod:`atlas.causal.sample`) on the concept's words, for every model; ``auto`` picks
``logprob`` where there is an objective. IG is linear in the target, so the attribution summed
over a concept's words is one IG per sentence batch and layer; the stored
``attribution(c)`` is that sum divided by the number of the concept's target words: the mean
attribution per word. Steps, baseline, rule and target are stored with the scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from atlas.causal.model import CausalModel, Encoded, model_for_run, tile, word_log_probs, word_vectors
from atlas.causal.sample import Sample, build_sample
from atlas.errors import MethodError
from atlas.extract.runner import Intervention
from atlas.methods import registry
from atlas.methods.job import _activation_files, _done_run, method_row
from atlas.store import scores
from atlas.store.engine import write as write_transaction

#: A target: last hidden states ``[copies * items, seq, d]`` -> one value per batch item.
Target = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class _ScaleLeaf(Intervention):
    """Replace the site's activations ``h`` by ``α·h`` as a leaf tensor whose gradient is kept."""

    alpha: float = 1.0
    box: dict[str, torch.Tensor] = field(default_factory=dict, compare=False, hash=False)

    def apply(self, hidden: torch.Tensor) -> torch.Tensor:
        h = hidden.detach()
        x = (h * self.alpha).requires_grad_(True)
        self.box["h"], self.box["x"] = h, x
        return x


def _run(cm: CausalModel, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    out = cm.runner.module(input_ids=ids.to(cm.device), attention_mask=mask.to(cm.device))
    return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]


def integrated_gradients(
    cm: CausalModel, ids: torch.Tensor, mask: torch.Tensor, site: str, layer: int, target: Target, steps: int = 20,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """IG of ``target`` with respect to the units of (``site``, ``layer``) over every position.

    Returns:
        ``(attr [items, width], F(h) [items], F(0) [items])``; completeness: ``attr.sum(1) ≈ F(h) − F(0)``.
    """
    if steps < 1:
        raise MethodError(f"integrated gradients need at least one step, not {steps}")
    for p in list(cm.loaded.model.parameters()) + (list(cm.head.parameters()) if cm.head is not None else []):
        p.requires_grad_(False)
    grad_sum: torch.Tensor | None = None
    h: torch.Tensor | None = None
    with torch.enable_grad():
        for k in range(steps):
            iv = _ScaleLeaf(site, layer, units=[], scale=1.0, alpha=(k + 0.5) / steps)
            with cm.runner.intervene([iv]):
                value = target(_run(cm, ids, mask)).sum()
            (grad,) = torch.autograd.grad(value, iv.box["x"])
            grad_sum = grad if grad_sum is None else grad_sum + grad
            h = iv.box["h"]
    assert grad_sum is not None and h is not None
    with torch.no_grad():
        attr = (h * grad_sum / steps).sum(1)  # padded positions too: a target that reads none gets 0 there
        full = target(_run(cm, ids, mask))
        with cm.runner.intervene([Intervention(site, layer, units=list(range(h.shape[-1])), value=0.0)]):
            base = target(_run(cm, ids, mask))
    return attr.detach(), full.detach(), base.detach()


def _target(sample: Sample, b: int, kind: str) -> tuple[Target, bool, np.ndarray]:
    """The per-item target of evaluation batch ``b`` tiled once per concept (copy ``c``: concept
    ``c``'s words), whether it reads the masked input, and the target words per concept."""
    cm, enc = sample.cm, sample.batches[b]
    C = sample.n_concepts
    y = sample.Y[b]  # [n_words, C]
    item = torch.as_tensor(enc.word_item, device=cm.device)
    word_item = torch.cat([item + c * enc.n_items for c in range(C)])
    sel = y.T.reshape(-1)  # copy c's words weighted by concept c
    if kind == "probe":
        W, bias = sample.probes.W, sample.probes.b
        concept_of = torch.arange(C, device=cm.device).repeat_interleave(enc.n_words)

        def probe_target(hidden: torch.Tensor) -> torch.Tensor:
            v = word_vectors(hidden, enc, C)
            logit = (v * W.T[concept_of]).sum(1) + bias[concept_of]
            return torch.zeros(C * enc.n_items, device=hidden.device).index_add(0, word_item, logit * sel)

        return probe_target, False, y.sum(0).cpu().numpy()
    assert enc.lm_word is not None
    lm = torch.as_tensor(enc.lm_word, dtype=torch.float32, device=cm.device).repeat(C)

    def logprob_target(hidden: torch.Tensor) -> torch.Tensor:
        lp = word_log_probs(cm, hidden, enc, C)
        return torch.zeros(C * enc.n_items, device=hidden.device).index_add(0, word_item, lp * sel * lm)

    return logprob_target, cm.objective == "mlm", (y.cpu().numpy() * enc.lm_word[:, None]).sum(0)


def layer_attribution(sample: Sample, site: str, layer: int, target: str, steps: int) -> tuple[np.ndarray, dict[str, float]]:
    """``[width, C]`` mean attribution per target word, and the completeness check
    (``sum_attr``, ``delta``: ``Σ Attr`` and ``Σ F(h) − F(0)`` over all items, ``max_gap``)."""
    C = sample.n_concepts
    total: np.ndarray | None = None
    words = np.zeros(C)
    sums = {"sum_attr": 0.0, "delta": 0.0, "max_gap": 0.0}
    for b, enc in enumerate(sample.batches):
        fn, masked, n = _target(sample, b, target)
        ids, mask = tile(enc, C, masked=masked)
        attr, full, base = integrated_gradients(sample.cm, ids, mask, site, layer, fn, steps)
        per = attr.reshape(C, enc.n_items, -1).sum(1).T.cpu().numpy().astype(np.float64)  # [width, C]
        total = per if total is None else total + per
        words += n
        gap = (attr.sum(1) - (full - base)).abs()
        sums["sum_attr"] += float(attr.sum())
        sums["delta"] += float((full - base).sum())
        sums["max_gap"] = max(sums["max_gap"], float(gap.max()))
    assert total is not None
    return np.where(words > 0, total / np.maximum(words, 1), np.nan), sums


def attribute(
    db: Any, run: int | str, *, concepts: str | Sequence[str] | None = None, sites: str | Sequence[str] = "mlp",
    layers: Sequence[int] | None = None, steps: int = 20, target: str = "auto", sentences: int = 64,
    probe_sentences: int = 300, batch_sentences: int = 16, seed: int = 0, min_count: int = 5, device: str = "cpu",
    progress: bool = True, write: bool = True, model: CausalModel | None = None,
) -> dict[str, Any]:
    """Store ``attribution(c)`` score sets: integrated gradients per (neuron, concept) (module docstring).

    Returns:
        ``{"run_id", "concepts", "method_id", "target", "layers", "seconds", "completeness":
        {layer: {...}}, "scores": {(site, layer): [width, C]}}``.

    Raises:
        MethodError: run not done, bad target or steps. ConceptError: bad concepts.
    """
    run_row = _done_run(db, run)
    files = [f for f in _activation_files(db, run_row.id)
             if f["site"] in ([s.strip() for s in sites.split(",")] if isinstance(sites, str) else list(sites))
             and (layers is None or f["index"] in set(layers))]
    if not files:
        raise MethodError(f"run {run_row.id} has no such layer", hint="see the run's layers with: atlas run show RUN")
    cm = model or model_for_run(db, run_row, device=device)
    kind = ("logprob" if cm.objective else "probe") if target == "auto" else target
    if kind not in ("logprob", "probe") or (kind == "logprob" and cm.objective is None):
        raise MethodError(f"target {target!r} does not apply to {cm.name or 'this model'} (objective: {cm.objective})",
                          hint="use --target probe for models without a language-model head")
    sample = build_sample(db, cm, run_row.corpus_id, concepts=concepts, sentences=sentences,
                          probe_sentences=probe_sentences, batch_sentences=batch_sentences, seed=seed, min_count=min_count)
    params = {"steps": steps, "baseline": "zero", "rule": "midpoint", "target": target, **sample.params}
    mid, set_ids, done = None, [], set()
    if write:
        with write_transaction(db.engine) as conn:
            mid = method_row(conn, registry.get("attribution"), params)
            set_ids = scores.open_sets(conn, run_row.id, mid, sample.concept_ids)
            written = scores.layers_written(conn, set_ids)
        done = set.intersection(*written.values()) if written else set()
    out: dict[tuple[str, int], np.ndarray] = {}
    checks: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    for f in tqdm(files, desc=f"attribute run {run_row.id}", unit="layer", disable=not progress):
        if f["layer_id"] in done:
            continue
        vals, check = layer_attribution(sample, f["site"], f["index"], kind, steps)
        out[(f["site"], f["index"])] = vals
        checks[f"{f['site']}.{f['index']}"] = check
        if write:
            with write_transaction(db.engine) as conn:
                scores.write_layer(conn, set_ids, f["layer_id"], vals)
    if write:
        with write_transaction(db.engine) as conn:
            scores.complete_sets(conn, set_ids)
    return {"run_id": run_row.id, "concepts": sample.concepts, "method_id": mid, "target": kind, "params": params,
            "evaluated": sample.n_items,
            "layers": [f"{f['site']}.{f['index']}" for f in files], "seconds": round(time.perf_counter() - t0, 3),
            "completeness": checks, "scores": out}
