"""Words, not subwords: tokenisation, windows over long sentences, and subword aggregation.

The corpus is a list of words per sentence. The fast tokenizer splits each word into subwords
(``is_split_into_words=True``; ``word_ids()`` says which subword belongs to which word). The
model sees ``prefix + subwords + suffix`` where prefix/suffix are the tokenizer's special tokens
(``[CLS]``/``[SEP]``, ``<s>``/``</s>``, nothing for GPT-2), found by tokenising one word.

**Windows.** A sentence whose subwords do not fit in the model's window is split into
overlapping windows of whole words; each word's activation is taken from the window in which it
is most central (largest distance, in subwords, to the window's nearer edge; ties go to the
earlier window). Nothing is truncated silently: a single word longer than a whole window keeps
its first subwords only, and :attr:`Plan.n_truncated_words` counts such words.

**Aggregation.** A word's vector is the ``mean`` of its subwords' vectors (default), the
``first`` or the ``last`` one; special tokens never count. A word with no subword at all (the
tokenizer dropped it, e.g. a lone control character) gets a zero vector and is counted in
:attr:`Plan.n_empty_words`.

Example::

    plan = plan_batches(tokenizer, sentences=[["Hello", "world"]], max_length=512, batch_size=32)
    for batch in plan.batches:
        model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        vectors = aggregate(hidden, batch, "mean")   # [batch.n_words, width], rows = batch.rows
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from atlas.errors import ExtractionError

from atlas.extract.options import AGGREGATIONS  # noqa: E402 - one list, read without torch by the options


@dataclass(frozen=True)
class Window:
    """Words ``[start, end)`` of sentence ``sentence`` fed together; ``keep`` are the words
    (sentence-relative indices) whose activation comes from this window."""

    sentence: int
    start: int
    end: int
    keep: tuple[int, ...]


@dataclass
class Batch:
    """One forward pass: padded ids, mask, and where each kept word's subwords are.

    Attributes:
        input_ids, attention_mask: ``[batch, seq]`` int64 tensors.
        rows: ``[n_words]`` destination row of each kept word (relative to the plan's first row).
        sub_pos: flat index (``b * seq + t``) of every selected subword, for every aggregation.
        sub_word: ``[n_sub]`` the kept word (0..n_words-1) each entry of ``sub_pos`` belongs to.
        n_sub: ``[n_words]`` number of subwords of each kept word.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    rows: np.ndarray
    sub_pos: dict[str, torch.Tensor]
    sub_word: dict[str, torch.Tensor]
    n_sub: dict[str, torch.Tensor]
    n_subwords: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return int(len(self.rows))


@dataclass
class Plan:
    """The batches of a list of sentences, ready to run."""

    batches: list[Batch]
    n_words: int
    n_windows: int = 0
    n_split_sentences: int = 0
    n_truncated_words: int = 0
    n_empty_words: int = 0
    n_subwords: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single sequence of words.

    >>> special_tokens(bert_tokenizer)         # doctest: +SKIP
    ([101], [102])
    """
    enc = tokenizer([["x"]], is_split_into_words=True, add_special_tokens=True)
    ids = list(enc["input_ids"][0])
    wids = enc.word_ids(0)
    first = next(i for i, w in enumerate(wids) if w is not None)
    last = max(i for i, w in enumerate(wids) if w is not None)
    return ids[:first], ids[last + 1 :]


def subwords(tokenizer: Any, sentences: Sequence[Sequence[str]]) -> list[list[list[int]]]:
    """Subword ids of every word of every sentence (``[sentence][word] -> ids``)."""
    if not sentences:
        return []
    enc = tokenizer(
        [list(s) for s in sentences], is_split_into_words=True, add_special_tokens=False, return_attention_mask=False
    )
    out: list[list[list[int]]] = []
    for i, words in enumerate(sentences):
        per_word: list[list[int]] = [[] for _ in words]
        for tok, wid in zip(enc["input_ids"][i], enc.word_ids(i)):
            if wid is not None:
                per_word[wid].append(tok)
        out.append(per_word)
    return out


def plan_windows(lengths: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int, tuple[int, ...]]]:
    """Split words of subword ``lengths`` into windows of at most ``budget`` subwords.

    Consecutive windows share about ``overlap`` subwords of whole words. Returns
    ``(start, end, keep)`` per window; every word is kept by exactly one window, the one where
    it is most central.

    >>> plan_windows([1, 1, 1], budget=8, overlap=4)
    [(0, 3, (0, 1, 2))]
    >>> [w[:2] for w in plan_windows([1] * 10, budget=4, overlap=2)]
    [(0, 4), (2, 6), (4, 8), (6, 10)]
    """
    n = len(lengths)
    if budget < 1:
        raise ExtractionError("the model window is too small to hold any word", hint="raise --max-length")
    clipped = [min(max(int(x), 0), budget) for x in lengths]
    if sum(clipped) <= budget:
        return [(0, n, tuple(range(n)))]
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end, used = start, 0
        while end < n and used + clipped[end] <= budget:
            used += clipped[end]
            end += 1
        end = max(end, start + 1)
        spans.append((start, end))
        if end >= n:
            break
        # next window starts so that it re-reads about `overlap` subwords, always moving on
        nxt, back = end, 0
        while nxt - 1 > start and back + clipped[nxt - 1] <= overlap:
            nxt -= 1
            back += clipped[nxt]
        start = max(nxt, start + 1)
    offsets = np.concatenate([[0], np.cumsum(clipped)])
    best: list[int] = []
    for w in range(n):
        choice, score = -1, -1.0
        for k, (s, e) in enumerate(spans):
            if s <= w < e:
                centre = (offsets[w] + offsets[w + 1]) / 2.0
                margin = min(centre - offsets[s], offsets[e] - centre)
                if margin > score:
                    choice, score = k, margin
        best.append(choice)
    return [(s, e, tuple(w for w in range(s, e) if best[w] == k)) for k, (s, e) in enumerate(spans)]


def plan_batches(
    tokenizer: Any,
    sentences: Sequence[Sequence[str]],
    *,
    max_length: int,
    batch_size: int,
    overlap: int | None = None,
    pad_id: int = 0,
    aggregations: Sequence[str] = ("mean",),
    batch_cost: float | None = None,
) -> Plan:
    """Tokenise ``sentences`` and group their windows into length-sorted batches.

    Args:
        tokenizer: a fast tokenizer (``word_ids()`` is needed).
        sentences: words per sentence; kept word ``j`` of sentence ``i`` goes to row
            ``sum(len(s) for s in sentences[:i]) + j``.
        max_length: the model window in tokens, special tokens included.
        batch_size: windows per forward pass.
        overlap: subwords shared by consecutive windows (default: half the window).
        pad_id: the id put in padded positions (masked out).
        aggregations: the aggregations the batches must support.
        batch_cost: ``None``: consecutive runs of ``batch_size`` windows. A number: the cost of
            one more forward pass, in padded tokens; the length-sorted windows are then cut
            into batches of at most ``batch_size`` that minimise ``padded tokens + batch_cost
            x batches`` (on a CPU the time goes with the padded tokens; padding is waste).

    Returns:
        A :class:`Plan`; batches hold windows of similar length (longest first), deterministic
        for given inputs.
    """
    prefix, suffix = special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if overlap is None:
        overlap = budget // 2
    ids = subwords(tokenizer, sentences)
    windows: list[Window] = []
    first_row = np.zeros(len(sentences) + 1, dtype=np.int64)
    plan = Plan(batches=[], n_words=0)
    for i, words in enumerate(ids):
        first_row[i + 1] = first_row[i] + len(words)
        lengths = [len(w) for w in words]
        plan.n_truncated_words += sum(1 for x in lengths if x > budget)
        plan.n_empty_words += sum(1 for x in lengths if x == 0)
        plan.n_subwords += sum(lengths)
        spans = plan_windows(lengths, budget, overlap) if words else []
        if len(spans) > 1:
            plan.n_split_sentences += 1
        windows.extend(Window(i, s, e, keep) for s, e, keep in spans)
    plan.n_words = int(first_row[-1])
    plan.n_windows = len(windows)

    def n_tokens(w: Window) -> int:
        return len(prefix) + len(suffix) + sum(min(len(ids[w.sentence][j]), budget) for j in range(w.start, w.end))

    lengths_tok = [n_tokens(w) for w in windows]
    order = sorted(range(len(windows)), key=lambda k: (-lengths_tok[k], k))
    if batch_cost is None:
        cuts = [(b0, min(b0 + batch_size, len(order))) for b0 in range(0, len(order), batch_size)]
    else:
        cuts = split_batches([lengths_tok[k] for k in order], batch_size, batch_cost)
    for b0, b1 in cuts:
        chosen = [windows[k] for k in order[b0:b1]]
        seq = max(lengths_tok[k] for k in order[b0:b1])
        plan.batches.append(_build_batch(chosen, ids, first_row, prefix, suffix, budget, seq, pad_id, aggregations))
    return plan


def split_batches(lengths: Sequence[int], batch_size: int, batch_cost: float) -> list[tuple[int, int]]:
    """Cut windows sorted by decreasing length into ``[a, b)`` batches of at most ``batch_size``
    minimising ``sum(batch rows x its longest window) + batch_cost x number of batches``
    (dynamic programming; deterministic, ties go to the earlier cut).

    >>> split_batches([9, 9, 2, 2], batch_size=4, batch_cost=3)
    [(0, 2), (2, 4)]
    >>> split_batches([9, 9, 2, 2], batch_size=4, batch_cost=100)
    [(0, 4)]
    """
    n = len(lengths)
    best = [0.0] + [math.inf] * n
    cut = [0] * (n + 1)
    for i in range(1, n + 1):
        for j in range(max(0, i - batch_size), i):
            cost = best[j] + (i - j) * lengths[j] + batch_cost
            if cost < best[i]:
                best[i], cut[i] = cost, j
    out: list[tuple[int, int]] = []
    i = n
    while i > 0:
        out.append((cut[i], i))
        i = cut[i]
    return out[::-1]


def _build_batch(
    windows: list[Window],
    ids: list[list[list[int]]],
    first_row: np.ndarray,
    prefix: list[int],
    suffix: list[int],
    budget: int,
    seq: int,
    pad_id: int,
    aggregations: Sequence[str],
) -> Batch:
    input_ids = np.full((len(windows), seq), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), seq), dtype=np.int64)
    rows: list[int] = []
    pos: dict[str, list[int]] = {a: [] for a in aggregations}
    word: dict[str, list[int]] = {a: [] for a in aggregations}
    count: dict[str, list[int]] = {a: [] for a in aggregations}
    n_sub = 0
    for b, w in enumerate(windows):
        toks = list(prefix)
        keep = set(w.keep)
        spans: list[tuple[int, int, int]] = []  # (word, first position, n subwords)
        for j in range(w.start, w.end):
            piece = ids[w.sentence][j][:budget]
            if j in keep:
                spans.append((j, len(toks), len(piece)))
            toks.extend(piece)
        toks.extend(suffix)
        n_sub += len(toks)
        input_ids[b, : len(toks)] = toks
        mask[b, : len(toks)] = 1
        for j, p0, n in spans:
            k = len(rows)
            rows.append(int(first_row[w.sentence] + j))
            flat0 = b * seq + p0
            for agg in aggregations:
                if n == 0:
                    sel: list[int] = []
                elif agg == "mean":
                    sel = list(range(flat0, flat0 + n))
                elif agg == "first":
                    sel = [flat0]
                else:
                    sel = [flat0 + n - 1]
                pos[agg].extend(sel)
                word[agg].extend([k] * len(sel))
                count[agg].append(len(sel))
    return Batch(
        input_ids=torch.from_numpy(input_ids),
        attention_mask=torch.from_numpy(mask),
        rows=np.asarray(rows, dtype=np.int64),
        sub_pos={a: torch.tensor(pos[a], dtype=torch.long) for a in aggregations},
        sub_word={a: torch.tensor(word[a], dtype=torch.long) for a in aggregations},
        n_sub={a: torch.tensor(count[a], dtype=torch.float32) for a in aggregations},
        n_subwords=n_sub,
    )


def aggregate(hidden: torch.Tensor, batch: Batch, aggregation: str) -> torch.Tensor:
    """Word vectors ``[batch.n_words, width]`` (float32) from subword activations ``[B, T, width]``.

    Words without subwords get zeros. The sum runs in float32 whatever the model dtype, left to
    right over a word's subwords, then ``mean`` divides by the count. On CPU that is one gather
    of every word's first subword, one ``index_add_`` of the later ones (sequential per row,
    deterministic) and a division of the words that have several; on other devices, where
    ``index_add_`` uses atomics, one vectorised step per subword ordinal (every word's first
    subword, then every second subword, ...). Both give the same bits.
    """
    if aggregation not in AGGREGATIONS:
        raise ExtractionError(f"unknown aggregation {aggregation!r}", hint="use mean, first or last")
    width = hidden.shape[-1]
    flat = hidden.reshape(-1, width)
    dev = hidden.device
    if dev.type == "cpu":
        if _one_each(batch, aggregation):
            # every word has exactly one selected subword, in word order: a plain gather
            return flat.index_select(0, batch.sub_pos[aggregation]).float()
        # every word's first subword in one gather, then the few later subwords added in order
        # (index_add_ is sequential per row on a CPU), then the few sums divided
        first, empty, rest_word, rest_pos, multi, n_multi = _split(batch, aggregation)
        out = flat.index_select(0, first).float()
        if len(empty):
            out[empty] = 0.0
        if len(rest_pos):
            out.index_add_(0, rest_word, flat.index_select(0, rest_pos).float())
            if aggregation == "mean":
                out[multi] = out.index_select(0, multi) / n_multi
        return out
    steps = _ordinals(batch, aggregation)
    if not steps:
        return torch.zeros((batch.n_words, width), dtype=torch.float32, device=dev)
    words0, pos0 = steps[0]
    if len(words0) == batch.n_words:
        # every word has a subword and step 0 lists them in order: a plain gather
        out = flat.index_select(0, pos0.to(dev)).float()
    else:
        out = torch.zeros((batch.n_words, width), dtype=torch.float32, device=dev)
        out[words0.to(dev)] = flat.index_select(0, pos0.to(dev)).float()
    for words, pos in steps[1:]:
        idx = words.to(dev)
        out[idx] = out.index_select(0, idx) + flat.index_select(0, pos.to(dev)).float()
    if aggregation == "mean" and len(steps) > 1:
        out /= batch.n_sub[aggregation].to(dev).clamp(min=1.0).unsqueeze(1)
    return out


def _split(batch: Batch, aggregation: str) -> tuple[torch.Tensor, ...]:
    """For the CPU path: each word's first selected subword (position 0 for a word with none),
    the words with none, the later subwords (word, position, in order), the words with several
    and their counts as a column. Cached on the batch."""
    cache = batch.extra.setdefault("split", {})
    if aggregation not in cache:
        word, pos = batch.sub_word[aggregation], batch.sub_pos[aggregation]
        n_sub = batch.n_sub[aggregation]
        starts = torch.ones(len(word), dtype=torch.bool)
        if len(word):
            starts[1:] = word[1:] != word[:-1]
        first = torch.zeros(batch.n_words, dtype=torch.long)
        first[word[starts]] = pos[starts]
        empty = torch.nonzero(n_sub == 0).flatten()
        multi = torch.nonzero(n_sub > 1).flatten()
        cache[aggregation] = (first, empty, word[~starts], pos[~starts], multi, n_sub[multi].unsqueeze(1))
    return cache[aggregation]  # type: ignore[no-any-return]


def _one_each(batch: Batch, aggregation: str) -> bool:
    """Whether every kept word has exactly one selected subword (cached on the batch)."""
    cache = batch.extra.setdefault("one_each", {})
    if aggregation not in cache:
        n_sub = batch.n_sub[aggregation]
        cache[aggregation] = bool(len(n_sub) == batch.n_words and bool((n_sub == 1).all()))
    return cache[aggregation]  # type: ignore[no-any-return]


def _ordinals(batch: Batch, aggregation: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``[(word indices, flat positions)]`` of every word's j-th selected subword, j = 0, 1, ...

    Within one step every word appears at most once, so ``out[words] += ...`` never collides.
    Cached on the batch.
    """
    cache = batch.extra.setdefault("ordinals", {})
    if aggregation not in cache:
        word = batch.sub_word[aggregation]
        pos = batch.sub_pos[aggregation]
        steps: list[tuple[torch.Tensor, torch.Tensor]] = []
        if len(word):
            # entries are grouped by word in order: the ordinal is the index within the group
            starts = torch.ones(len(word), dtype=torch.bool)
            starts[1:] = word[1:] != word[:-1]
            group_start = torch.cummax(torch.where(starts, torch.arange(len(word)), torch.zeros(len(word), dtype=torch.long)), 0).values
            ordinal = torch.arange(len(word)) - group_start
            for j in range(int(ordinal.max()) + 1):
                sel = ordinal == j
                steps.append((word[sel], pos[sel]))
        cache[aggregation] = steps
    return cache[aggregation]  # type: ignore[no-any-return]
