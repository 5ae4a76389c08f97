"""What a causal job measures on: a seeded sample of a run's sentences, concept probes on the
model's output, the unablated outputs, and the effects of one batch of interventions.

**The sample.** Sentences of the run's corpus that fit the model's window, shuffled with
``seed``: the first ``probe_sentences`` train the output probes, the next ``sentences`` are the
evaluation set every intervention is measured on (in batches of ``batch_sentences``).

**Output probes.** One logistic-regression probe per concept (binary, balanced class weights,
standardised features) on the model's output word vectors (last hidden state, the run's
subword aggregation) of the training sentences, unablated. A probe's *soft balanced accuracy*
on the evaluation words is ``½·mean_{w∈c} p(w) + ½·mean_{w∉c} (1 − p(w))``: its expected
balanced accuracy when it answers by sampling, a smooth version of the accuracy that one
neuron's ablation moves by measurable amounts (its hard accuracy moves in steps of one word).

**Effects** (:func:`measure`): for each copy of the evaluation batch (one per intervention
set), sums over the batch of

* ``probe_pos``/``probe_neg``: the probes' gold-label probability on concept / other words;
* ``hard_pos``/``hard_neg``: the same with the probes' 0/1 answers (accuracy);
* ``emb``: ``1 − cos`` of the mean-pooled sentence embedding to the unablated one, summed over
  the sentences containing each concept (``emb_all``: over all sentences);
* ``loss``: the increase of each word's LM loss (nats), summed over each concept's words that
  have a loss (``loss_all``: over all of them); LM models only.

Divided by the counts in :class:`Sample` they are the per-concept means the causal methods store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sqlalchemy import select

from atlas.causal.model import CausalModel, Encoded, encode, sentence_embeddings, subword_counts, tile, word_log_probs, word_vectors
from atlas.errors import ConceptError, MethodError, did_you_mean
from atlas.extract.runner import Intervention
from atlas.store.tables import Token

#: Defaults of a causal job's sample.
SAMPLE_DEFAULTS: dict[str, Any] = {"sentences": 64, "probe_sentences": 300, "batch_sentences": 16, "seed": 0, "min_count": 5}


@dataclass
class Probes:
    """Binary output probes, folded into one affine map: ``logit = x @ W + b`` (``[d, C]``, ``[C]``)."""

    W: torch.Tensor
    b: torch.Tensor
    train_accuracy: np.ndarray


@dataclass
class Baseline:
    """Unablated outputs of one evaluation batch."""

    words: torch.Tensor  # [n_words, d]
    emb: torch.Tensor  # [n_items, d]
    logp: torch.Tensor | None  # [n_words]


@dataclass
class Sample:
    """A causal job's evaluation material (see the module docstring)."""

    cm: CausalModel
    concepts: list[str]
    concept_ids: list[int]
    batches: list[Encoded]
    Y: list[torch.Tensor]  # per batch: float [n_words, C]
    has: list[torch.Tensor]  # per batch: float [n_items, C] (sentence contains the concept)
    base: list[Baseline]
    probes: Probes
    n_pos: np.ndarray  # [C] concept words in the evaluation set
    n_neg: np.ndarray  # [C]
    n_sent: np.ndarray  # [C] evaluation sentences with the concept
    n_lm: np.ndarray  # [C] concept words that have an LM loss
    n_items: int = 0  # evaluation sentences (the corpus may hold fewer than asked for)
    n_lm_all: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # the sample's parameters, as asked for

    @property
    def n_concepts(self) -> int:
        return len(self.concepts)


def corpus_sentences(db: Any, corpus_id: int) -> tuple[list[list[str]], np.ndarray]:
    """The words of every sentence of a corpus and each sentence's first row."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(Token.sentence_id, Token.form).where(Token.corpus_id == corpus_id).order_by(Token.row)).all()
    out: list[list[str]] = []
    first: list[int] = []
    last = None
    for i, (sid, form) in enumerate(rows):
        if sid != last:
            out.append([])
            first.append(i)
            last = sid
        out[-1].append(form)
    return out, np.asarray(first, np.int64)


def build_sample(
    db: Any, cm: CausalModel, corpus_id: int, *, concepts: str | Sequence[str] | None = None,
    sentences: int = 64, probe_sentences: int = 300, batch_sentences: int = 16, seed: int = 0, min_count: int = 5,
) -> Sample:
    """Sample the corpus, train the output probes and record the unablated outputs.

    Raises:
        ConceptError: an unknown concept, or none with ``min_count`` words in both parts of the sample.
    """
    from atlas.corpus.matrix import load_concept_matrix

    for name, value in (("sentences", sentences), ("batch_sentences", batch_sentences)):
        if value < 1:
            raise MethodError(f"{name} = {value}: it must be at least 1", hint=f"for example --{name.replace('_', '-')} 32")
    if probe_sentences < 1:
        raise MethodError(f"probe_sentences = {probe_sentences}: the output probes need sentences to train on",
                          hint="for example --probe-sentences 300")
    words, first = corpus_sentences(db, corpus_id)
    matrix = load_concept_matrix(db, corpus_id, min_count=1)
    fits = subword_counts(cm, words) <= cm.loaded.max_length
    order = np.random.default_rng(seed).permutation(len(words))
    order = order[fits[order] & (np.array([len(w) for w in words])[order] >= 2)]
    train, test = order[:probe_sentences], order[probe_sentences : probe_sentences + sentences]
    if len(test) == 0:
        raise MethodError(f"the corpus has no sentence left for evaluation after {probe_sentences} probe sentences",
                          hint="lower probe_sentences")
    mask = np.asarray(matrix.mask, bool)
    rows_of = lambda idx: np.concatenate([np.arange(first[i], first[i] + len(words[i])) for i in idx])  # noqa: E731
    cols = _concept_columns(db, list(matrix.names), mask[rows_of(train)], mask[rows_of(test)], concepts, min_count)
    names = [matrix.names[c] for c in cols]
    ids = [int(matrix.ids[c]) for c in cols]
    probes = _train_probes(cm, [words[i] for i in train], mask[rows_of(train)][:, cols], batch_sentences, seed)
    sample = Sample(cm, names, ids, [], [], [], [], probes, *(np.zeros(len(cols)) for _ in range(4)),
                    params={"sentences": sentences, "probe_sentences": probe_sentences,
                            "batch_sentences": batch_sentences, "seed": seed})
    for start in range(0, len(test), batch_sentences):
        idx = test[start : start + batch_sentences]
        _add_batch(sample, [words[i] for i in idx], mask[rows_of(idx)][:, cols], seed + start)
    return sample


def _concept_columns(db: Any, names: list[str], train: np.ndarray, test: np.ndarray,
                     concepts: str | Sequence[str] | None, min_count: int) -> list[int]:
    """The named concepts (checked), else every concept without ``:`` with ``min_count`` words
    (and ``min_count`` others) in both the probe and the evaluation sentences."""
    if isinstance(concepts, str):
        concepts = [c.strip() for c in concepts.split(",") if c.strip()]
    ok = lambda c: all(min_count <= m[:, c].sum() <= len(m) - min_count for m in (train, test))  # noqa: E731
    if concepts:
        cols = []
        for n in concepts:
            if n not in names:
                raise ConceptError(f"unknown concept {n!r} in this run's corpus",
                                   hint=did_you_mean(n, names) or "list them with: atlas concept list")
            if not ok(names.index(n)):
                raise ConceptError(f"concept {n!r} has fewer than {min_count} words in the sampled sentences",
                                   hint="sample more sentences (--sentences, --probe-sentences)")
            cols.append(names.index(n))
        return cols
    cols = [i for i, n in enumerate(names) if ":" not in n and ok(i)]
    if not cols:
        raise ConceptError("no concept has enough words in the sampled sentences", hint="sample more sentences")
    return cols


def _outputs(cm: CausalModel, enc: Encoded, copies: int = 1, *, fanned: bool = False
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Word vectors, sentence embeddings and word log-probs of ``copies`` tiled copies (active
    interventions apply). ``fanned``: the runner fans the batch out itself (``intervene(...,
    copies=)``), so the model is given one copy."""
    ids, mask = tile(enc, copies)
    run_ids, run_mask = (enc.input_ids, enc.attention_mask) if fanned else (ids, mask)
    hidden = cm.hidden(run_ids, run_mask)
    if hidden.shape[0] != copies * enc.n_items:
        raise MethodError(f"the model returned {hidden.shape[0]} items for {copies} copies of {enc.n_items}",
                          hint="this model family cannot fan out; report it with its name")
    words = word_vectors(hidden, enc, copies)
    emb = sentence_embeddings(hidden, mask)
    logp = None
    if cm.objective == "clm":
        logp = word_log_probs(cm, hidden, enc, copies)
    elif cm.objective == "mlm":
        mids = enc.masked_ids if fanned else tile(enc, copies, masked=True)[0]
        logp = word_log_probs(cm, cm.hidden(mids, run_mask), enc, copies)
    return words, emb, logp


def _train_probes(cm: CausalModel, sentences: list[list[str]], Y: np.ndarray, batch: int, seed: int) -> Probes:
    """One balanced logistic-regression probe per concept on the unablated output word vectors."""
    from sklearn.linear_model import LogisticRegression

    X = np.concatenate([_outputs(cm, encode(cm, sentences[i : i + batch]))[0].cpu().numpy()
                        for i in range(0, len(sentences), batch)])
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Z = (X - mu) / sd
    W = np.zeros((X.shape[1], Y.shape[1]))
    b = np.zeros(Y.shape[1])
    acc = np.zeros(Y.shape[1])
    for c in range(Y.shape[1]):
        clf = LogisticRegression(class_weight="balanced", C=1.0, max_iter=1000, random_state=seed).fit(Z, Y[:, c])
        W[:, c] = clf.coef_[0] / sd
        b[c] = clf.intercept_[0] - float((clf.coef_[0] * mu / sd).sum())
        acc[c] = clf.score(Z, Y[:, c])
    dev = cm.device
    return Probes(torch.as_tensor(W, dtype=torch.float32, device=dev), torch.as_tensor(b, dtype=torch.float32, device=dev), acc)


def _add_batch(sample: Sample, sentences: list[list[str]], Y: np.ndarray, mask_seed: int) -> None:
    cm = sample.cm
    enc = encode(cm, sentences, mask_seed=mask_seed)
    dev = cm.device
    y = torch.as_tensor(Y, dtype=torch.float32, device=dev)
    has = torch.zeros(enc.n_items, Y.shape[1], device=dev).index_add_(0, torch.as_tensor(enc.word_item, device=dev), y).clamp(max=1.0)
    words, emb, logp = _outputs(cm, enc)
    sample.batches.append(enc)
    sample.Y.append(y)
    sample.has.append(has)
    sample.base.append(Baseline(words, emb, logp))
    sample.n_pos += Y.sum(0)
    sample.n_neg += (~Y).sum(0)
    sample.n_sent += has.sum(0).cpu().numpy()
    sample.n_items += enc.n_items
    if enc.lm_word is not None:
        sample.n_lm += Y[enc.lm_word].sum(0)
        sample.n_lm_all += int(enc.lm_word.sum())


EFFECTS = ("probe_pos", "probe_neg", "hard_pos", "hard_neg", "emb", "loss")


def measure(sample: Sample, b: int, copies: int, interventions: Sequence[Intervention], *, fan_out: bool = True
            ) -> dict[str, np.ndarray]:
    """Effect sums of evaluation batch ``b`` under ``interventions`` on ``copies`` tiled copies
    (module docstring): ``{name: [copies, C]}`` for :data:`EFFECTS`, ``emb_all``/``loss_all``: ``[copies]``.

    ``fan_out``: the blocks below the first intervened one run once, on one copy (the runner
    tiles the batch there; the same numbers, :class:`~atlas.extract.runner.ModelRunner`);
    ``False`` runs the whole tiled batch (the baseline ``bench/bench_causal.py`` measures against)."""
    cm, enc, base = sample.cm, sample.batches[b], sample.base[b]
    fanned = fan_out and copies > 1 and len(interventions) > 0
    with cm.runner.intervene(interventions, copies=copies if fanned else 1, batch=enc.n_items):
        words, emb, logp = _outputs(cm, enc, copies, fanned=fanned)
    n_w, C = sample.Y[b].shape
    y = sample.Y[b]
    p = torch.sigmoid(words @ sample.probes.W + sample.probes.b).reshape(copies, n_w, C)
    hard = (p > 0.5).float()
    out = {
        "probe_pos": (p * y).sum(1), "probe_neg": ((1 - p) * (1 - y)).sum(1),
        "hard_pos": (hard * y).sum(1), "hard_neg": ((1 - hard) * (1 - y)).sum(1),
    }
    dist = 1 - torch.nn.functional.cosine_similarity(emb, base.emb.repeat(copies, 1), dim=-1).reshape(copies, enc.n_items)
    out["emb"] = dist @ sample.has[b]
    out["emb_all"] = dist.sum(1)
    if logp is not None and base.logp is not None and enc.lm_word is not None:
        lm = torch.as_tensor(enc.lm_word, dtype=torch.float32, device=cm.device)
        delta = (base.logp.unsqueeze(0) - logp.reshape(copies, n_w)) * lm  # loss increase, nats
        out["loss"] = delta @ y
        out["loss_all"] = delta.sum(1)
    else:
        out["loss"] = torch.full((copies, C), float("nan"))
        out["loss_all"] = torch.full((copies,), float("nan"))
    return {k: v.detach().cpu().numpy().astype(np.float64) for k, v in out.items()}


def baseline_scores(sample: Sample) -> dict[str, np.ndarray]:
    """The unablated probes' soft and hard balanced accuracy per concept (``soft``, ``hard``)."""
    sums = {k: np.zeros(sample.n_concepts) for k in ("probe_pos", "probe_neg", "hard_pos", "hard_neg")}
    for b in range(len(sample.batches)):
        y = sample.Y[b]
        p = torch.sigmoid(sample.base[b].words @ sample.probes.W + sample.probes.b)
        h = (p > 0.5).float()
        for k, v in (("probe_pos", p * y), ("probe_neg", (1 - p) * (1 - y)), ("hard_pos", h * y), ("hard_neg", (1 - h) * (1 - y))):
            sums[k] += v.sum(0).cpu().numpy()
    return {"soft": balanced(sample, sums["probe_pos"], sums["probe_neg"]),
            "hard": balanced(sample, sums["hard_pos"], sums["hard_neg"])}


def balanced(sample: Sample, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """``½ pos / n_pos + ½ neg / n_neg`` per concept (broadcast over leading axes)."""
    return 0.5 * pos / np.maximum(sample.n_pos, 1) + 0.5 * neg / np.maximum(sample.n_neg, 1)
