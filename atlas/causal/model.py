"""A run's model, reloaded for causal methods: its language-model head when it has one, its
sentences encoded word by word, and what one forward pass says about each word and sentence.

**Which model.** :func:`model_for_run` reloads the model a run extracted (source, revision,
random-init seed from the run's config; the revision is checked, so a changed folder is an
error, not a silent mismatch). When the model's config names a language-model head
(``BertForMaskedLM``, ``GPT2LMHeadModel``, ``*ForCausalLM``, ...) it is loaded with it and the
model has an **objective**: ``mlm`` (masked-LM) or ``clm`` (causal-LM); the units hooked are
those of the head model's base model, the very modules the extraction hooked. A sentence
encoder such as all-MiniLM-L6-v2 (``BertModel``) has no objective: its output is the
mean-pooled sentence embedding (sentence-transformers' pooling, special tokens included).

**Words.** :func:`encode` tokenises whole sentences (one window each; longer sentences are left
out by the samplers) and records, for every word, its batch item and its subword positions, so
word vectors are the run's aggregation (``mean``, ``first``, ``last``) of its subwords. For
masked-LM models it also builds the masked input: a seeded 15 % of the words (at least one per
sentence) have every subword replaced by the mask token, and each masked word's loss is the
summed negative log-probability of its gold subwords. For causal-LM models a word's loss is that
of its subwords given the prefix (the first word of a sentence without a BOS token has none).

Example::

    cm = model_for_run(db, "minilm")
    enc = encode(cm, [["The", "cat", "sat", "."]])
    out = cm.outputs(enc, copies=1)   # word vectors, sentence embeddings, word losses (LM models)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from atlas.errors import MethodError
from atlas.extract.models import LoadedModel, load_model
from atlas.extract.runner import ModelRunner

#: Objectives a model may have: masked-LM, causal-LM.
OBJECTIVES = ("mlm", "clm")
#: Fraction of words masked for the masked-LM loss (BERT's 15 %).
MASK_FRACTION = 0.15

_MLM_SUFFIXES = ("ForMaskedLM", "ForPreTraining")
_CLM_SUFFIXES = ("LMHeadModel", "ForCausalLM")


def objective_of(config: Any) -> str | None:
    """``mlm``, ``clm`` or ``None``: the objective the config's architectures name.

    >>> from types import SimpleNamespace as NS
    >>> objective_of(NS(architectures=["GPT2LMHeadModel"])), objective_of(NS(architectures=["BertModel"]))
    ('clm', None)
    """
    for arch in getattr(config, "architectures", None) or []:
        if arch.endswith(_MLM_SUFFIXES):
            return "mlm"
        if arch.endswith(_CLM_SUFFIXES):
            return "clm"
    return None


@dataclass
class CausalModel:
    """A loaded model ready for interventions, with its head (when it has an objective).

    Attributes:
        loaded: the base model as extraction loads it (``loaded.model`` is what hooks attach to).
        runner: the :class:`~atlas.extract.runner.ModelRunner` over it (interventions).
        objective: ``mlm``, ``clm`` or ``None``.
        head: maps last hidden states ``[..., d_model]`` to vocabulary logits (``None`` without
            an objective).
        aggregation: subwords to word (``mean``, ``first``, ``last``), as the run.
        name: the model's short name in the atlas.
    """

    loaded: LoadedModel
    runner: ModelRunner
    objective: str | None
    head: nn.Module | None
    aggregation: str = "mean"
    name: str = ""

    @property
    def device(self) -> torch.device:
        return self.runner.device

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The last hidden states ``[batch, seq, d_model]`` (inference mode, active interventions apply)."""
        out = self.runner.forward(input_ids, attention_mask)
        return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]


def load_causal_model(
    source: str, *, revision: str | None = None, random_init: bool = False, seed: int = 0, device: str = "cpu",
    dtype: str = "float32", max_length: int | None = None, aggregation: str = "mean", name: str = "",
) -> CausalModel:
    """Load ``source`` as :func:`~atlas.extract.models.load_model` does, plus its LM head when
    the config names one (with ``random_init``, the head is fresh and the base weights are the
    seeded ones extraction used)."""
    loaded = load_model(source, revision=revision, dtype=dtype, device=device, random_init=random_init, seed=seed,
                        max_length=max_length)
    objective = objective_of(loaded.config)
    head = None
    if objective is not None:
        full = _with_head(loaded, objective, random_init, dtype, device)
        loaded = replace(loaded, model=full.base_model)
        head = _head_module(full)
    return CausalModel(loaded, ModelRunner(loaded), objective, head, aggregation, name)


def _with_head(loaded: LoadedModel, objective: str, random_init: bool, dtype: str, device: str) -> nn.Module:
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    cls = AutoModelForMaskedLM if objective == "mlm" else AutoModelForCausalLM
    try:
        if random_init:
            full = cls.from_config(loaded.config, dtype=getattr(torch, dtype))
        else:
            full = cls.from_pretrained(loaded.source, dtype=getattr(torch, dtype))
    except (OSError, ValueError, RuntimeError) as exc:
        raise MethodError(f"cannot load the language-model head of {loaded.source}: {exc}") from exc
    # the base weights are exactly the extraction's (for a random-init control, its seeded ones);
    # the AutoModel may hold more (BERT's pooler, which an MLM head model leaves out)
    missing, _extra = full.base_model.load_state_dict(loaded.model.state_dict(), strict=False)
    if missing:
        raise MethodError(f"the language-model model of {loaded.source} lacks {len(missing)} weights of its base model",
                          hint=f"first missing: {missing[0]}")
    return full.eval().to(device)


def _head_module(full: nn.Module) -> nn.Module:
    """The module that maps last hidden states to logits (BERT's ``cls``, GPT-2's ``lm_head``, ...)."""
    for attr in ("cls", "lm_head", "pred_layer"):
        mod = getattr(full, attr, None)
        if isinstance(mod, nn.Module):
            return mod
    if hasattr(full, "vocab_projector"):  # DistilBERT
        return _DistilHead(full)
    raise MethodError(f"{type(full).__name__}: no language-model head found", hint="use a BERT-, GPT-2- or Llama-style model")


class _DistilHead(nn.Module):
    def __init__(self, full: nn.Module) -> None:
        super().__init__()
        self.full = full

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.full
        return f.vocab_projector(f.vocab_layer_norm(f.activation(f.vocab_transform(x))))


def model_for_run(db: Any, run: Any, *, device: str = "cpu") -> CausalModel:
    """Reload the model of ``run`` (a :class:`~atlas.store.tables.Run` row) as its extraction did.

    Raises:
        MethodError: the model's files changed since the run (another revision).
    """
    from sqlalchemy import select

    from atlas.store.tables import Model

    cfg = dict(run.config or {})
    model = dict(cfg.get("model") or {})
    with db.engine.connect() as conn:
        row = conn.execute(select(Model.name, Model.source, Model.revision).where(Model.id == run.model_id)).first()
    source = model.get("source") or row.source
    cm = load_causal_model(
        source, random_init=bool(model.get("random_init", False)), seed=int(model.get("seed", 0)), device=device,
        dtype=str(cfg.get("dtype", "float32")), max_length=cfg.get("max_length"),
        aggregation=str(cfg.get("aggregation", "mean")), name=row.name,
    )
    want = model.get("revision")
    if str(want or "").startswith("sha256:") and cm.loaded.revision != want:
        raise MethodError(
            f"the model files of run {run.id} changed since its extraction ({cm.loaded.revision[:19]} != {str(want)[:19]})",
            hint="extract the model again, or restore its files",
        )
    return cm


@dataclass
class Encoded:
    """Sentences as one padded batch, with where each word is.

    Attributes:
        input_ids, attention_mask: ``[n_items, seq]``.
        word_item: ``[n_words]`` the batch item (sentence) of each word.
        sub_pos: flat positions (``item * seq + t``) of the selected subwords (the run's aggregation).
        sub_word: ``[len(sub_pos)]`` the word of each selected subword.
        n_sub: ``[n_words]`` how many subwords each word selects.
        all_pos, all_word: every subword of every word (for losses).
        masked_ids: masked-LM input (``None`` for other models); ``masked_word``: bool ``[n_words]``.
        lm_word: bool ``[n_words]``: the words that have a loss (masked ones; with a prefix for causal LMs).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    word_item: np.ndarray
    sub_pos: torch.Tensor
    sub_word: torch.Tensor
    n_sub: torch.Tensor
    all_pos: torch.Tensor
    all_word: torch.Tensor
    masked_ids: torch.Tensor | None = None
    lm_word: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def n_words(self) -> int:
        return int(len(self.word_item))


def subword_counts(cm: CausalModel, sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """Tokens each sentence takes (special tokens included), to leave out those over the window."""
    tok = cm.loaded.tokenizer
    enc = tok([list(s) for s in sentences], is_split_into_words=True, add_special_tokens=True, return_attention_mask=False)
    return np.asarray([len(ids) for ids in enc["input_ids"]], dtype=np.int64)


def encode(cm: CausalModel, sentences: Sequence[Sequence[str]], *, mask_seed: int = 0) -> Encoded:
    """One batch of whole sentences (each must fit the model's window)."""
    tok = cm.loaded.tokenizer
    enc = tok([list(s) for s in sentences], is_split_into_words=True, add_special_tokens=True, return_attention_mask=False)
    lengths = [len(ids) for ids in enc["input_ids"]]
    if max(lengths) > cm.loaded.max_length:
        raise MethodError(f"a sentence of {max(lengths)} tokens exceeds the model's window of {cm.loaded.max_length}")
    seq = max(lengths)
    ids = np.full((len(sentences), seq), cm.loaded.pad_id, np.int64)
    mask = np.zeros((len(sentences), seq), np.int64)
    word_item: list[int] = []
    pos: list[int] = []
    word: list[int] = []
    all_pos: list[int] = []
    all_word: list[int] = []
    base = 0
    for i, s in enumerate(sentences):
        ids[i, : lengths[i]] = enc["input_ids"][i]
        mask[i, : lengths[i]] = 1
        per_word: list[list[int]] = [[] for _ in s]
        for t, wid in enumerate(enc.word_ids(i)):
            if wid is not None:
                per_word[wid].append(i * seq + t)
        for j, p in enumerate(per_word):
            word_item.append(i)
            sel = p if cm.aggregation == "mean" else p[:1] if cm.aggregation == "first" else p[-1:]
            pos.extend(sel)
            word.extend([base + j] * len(sel))
            all_pos.extend(p)
            all_word.extend([base + j] * len(p))
        base += len(s)
    counts = np.bincount(np.asarray(word, np.int64), minlength=base).astype(np.float32)
    out = Encoded(
        torch.from_numpy(ids), torch.from_numpy(mask), np.asarray(word_item, np.int64),
        torch.as_tensor(pos, dtype=torch.long), torch.as_tensor(word, dtype=torch.long), torch.from_numpy(counts),
        torch.as_tensor(all_pos, dtype=torch.long), torch.as_tensor(all_word, dtype=torch.long),
    )
    _add_lm_inputs(cm, out, sentences, mask_seed)
    return out


def _add_lm_inputs(cm: CausalModel, enc: Encoded, sentences: Sequence[Sequence[str]], seed: int) -> None:
    """The masked input (masked-LM) and which words have a loss."""
    n = enc.n_words
    if cm.objective is None:
        return
    has_sub = np.bincount(enc.all_word.numpy(), minlength=n) > 0
    if cm.objective == "clm":
        first_pos = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_pos, enc.all_word.numpy(), enc.all_pos.numpy())
        seq = enc.input_ids.shape[1]
        enc.lm_word = has_sub & (first_pos % seq > 0)  # a prefix to predict from
        return
    mask_id = cm.loaded.tokenizer.mask_token_id
    if mask_id is None:
        raise MethodError("the masked-LM model's tokenizer has no mask token")
    rng = np.random.default_rng(seed)
    chosen = np.zeros(n, bool)
    start = 0
    for s in sentences:
        k = max(1, int(round(MASK_FRACTION * len(s))))
        cand = [start + j for j in range(len(s)) if has_sub[start + j]]
        if cand:
            chosen[rng.choice(cand, size=min(k, len(cand)), replace=False)] = True
        start += len(s)
    masked = enc.input_ids.clone().reshape(-1)
    sel = torch.from_numpy(chosen)[enc.all_word]
    masked[enc.all_pos[sel]] = mask_id
    enc.masked_ids = masked.reshape(enc.input_ids.shape)
    enc.lm_word = chosen


def tile(enc: Encoded, copies: int, *, masked: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``copies`` stacked copies of the batch (copy ``g`` is items ``g*n .. g*n+n-1``)."""
    ids = enc.masked_ids if masked and enc.masked_ids is not None else enc.input_ids
    return ids.repeat(copies, 1), enc.attention_mask.repeat(copies, 1)


def word_vectors(hidden: torch.Tensor, enc: Encoded, copies: int) -> torch.Tensor:
    """``[copies * n_words, d]`` word vectors (the run's aggregation) of a tiled batch."""
    d = hidden.shape[-1]
    flat = hidden.reshape(-1, d).float()
    step = enc.n_items * enc.input_ids.shape[1]
    offs = torch.arange(copies, device=flat.device)
    pos = (enc.sub_pos.to(flat.device)[None, :] + offs[:, None] * step).reshape(-1)
    word = (enc.sub_word.to(flat.device)[None, :] + offs[:, None] * enc.n_words).reshape(-1)
    out = torch.zeros(copies * enc.n_words, d, device=flat.device).index_add_(0, word, flat.index_select(0, pos))
    return out / enc.n_sub.to(flat.device).repeat(copies).clamp(min=1.0).unsqueeze(1)


def sentence_embeddings(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean-pooled ``[items, d]`` embeddings over the attended tokens (sentence-transformers' pooling)."""
    m = attention_mask.to(hidden.device).unsqueeze(-1).float()
    return (hidden.float() * m).sum(1) / m.sum(1).clamp(min=1.0)


def word_log_probs(cm: CausalModel, hidden: torch.Tensor, enc: Encoded, copies: int) -> torch.Tensor:
    """``[copies * n_words]`` log-probability of each word's gold subwords (0 for words without
    a loss: see :attr:`Encoded.lm_word`), from the last hidden states of a tiled batch (the
    masked input for a masked-LM model)."""
    assert cm.head is not None and enc.lm_word is not None
    dev = hidden.device
    seq = enc.input_ids.shape[1]
    step = enc.n_items * seq
    keep = torch.from_numpy(enc.lm_word).to(dev)[enc.all_word.to(dev)]
    pos = enc.all_pos.to(dev)[keep]
    word = enc.all_word.to(dev)[keep]
    gold = enc.input_ids.reshape(-1).to(dev)[pos]
    src = pos - 1 if cm.objective == "clm" else pos  # causal: predicted from the previous position
    offs = torch.arange(copies, device=dev)
    src_all = (src[None, :] + offs[:, None] * step).reshape(-1)
    word_all = (word[None, :] + offs[:, None] * enc.n_words).reshape(-1)
    gold_all = gold.repeat(copies)
    flat = hidden.reshape(-1, hidden.shape[-1])
    out = torch.zeros(copies * enc.n_words, device=dev)
    for start in range(0, len(src_all), 4096):  # the vocabulary is wide: logits a block at a time
        sl = slice(start, start + 4096)
        logp = torch.log_softmax(cm.head(flat.index_select(0, src_all[sl])).float(), dim=-1)
        out.index_add_(0, word_all[sl], logp.gather(1, gold_all[sl].unsqueeze(1)).squeeze(1))
    return out
