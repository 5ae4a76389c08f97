"""Word alignment: windows over long sentences, special tokens, subword aggregation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.errors import ExtractionError
from atlas.extract.align import aggregate, plan_batches, plan_windows, special_tokens, subwords
from atlas.extract.models import builtin_model_path


@pytest.fixture(scope="module")
def bert_tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(builtin_model_path())


def test_short_sentence_is_one_window() -> None:
    assert plan_windows([1, 3, 2], budget=6, overlap=3) == [(0, 3, (0, 1, 2))]


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 6), min_size=1, max_size=60),
    budget=st.integers(1, 20),
    overlap_frac=st.floats(0, 0.9),
)
def test_windows_cover_every_word_once(lengths: list[int], budget: int, overlap_frac: float) -> None:
    overlap = int(budget * overlap_frac)
    windows = plan_windows(lengths, budget, overlap)
    kept = [w for _s, _e, keep in windows for w in keep]
    assert sorted(kept) == list(range(len(lengths)))  # every word exactly once
    for s, e, keep in windows:
        assert 0 <= s < e <= len(lengths)
        assert all(s <= w < e for w in keep)
        # a window holds at most `budget` subwords, unless it is a single over-long word
        assert sum(min(x, budget) for x in lengths[s:e]) <= budget or e - s == 1
    starts = [s for s, _e, _k in windows]
    assert starts == sorted(set(starts))  # windows move forward
    assert windows[0][0] == 0 and windows[-1][1] == len(lengths)


def test_words_are_kept_where_most_central() -> None:
    windows = plan_windows([1] * 10, budget=4, overlap=2)
    assert [w[:2] for w in windows] == [(0, 4), (2, 6), (4, 8), (6, 10)]
    # word 2 is at the edge of window 0 (distance 1.5 from the end) and at the start of window 1
    # (distance 0.5): window 0 wins; word 3 sits at distance 0.5 in window 0 and 1.5 in window 1.
    owner = {w: k for k, (_s, _e, keep) in enumerate(windows) for w in keep}
    assert owner[2] == 0 and owner[3] == 1 and owner[9] == 3 and owner[0] == 0


def test_zero_budget_is_an_error() -> None:
    with pytest.raises(ExtractionError):
        plan_windows([1, 2], budget=0, overlap=0)


def test_special_tokens_of_bert(bert_tok) -> None:
    assert special_tokens(bert_tok) == ([bert_tok.cls_token_id], [bert_tok.sep_token_id])


def test_subwords_split_long_words(bert_tok) -> None:
    ids = subwords(bert_tok, [["the", "antidisestablishmentarianism", "cat"]])[0]
    assert len(ids[0]) == 1 and len(ids[2]) == 1 and len(ids[1]) > 2
    assert bert_tok.convert_ids_to_tokens(ids[1])[1].startswith("##")


def test_batches_map_words_to_rows_and_subwords(bert_tok) -> None:
    sentences = [["a", "tokenization"], ["unbelievably", "long", "words"], ["x"]]
    plan = plan_batches(bert_tok, sentences, max_length=512, batch_size=2, aggregations=("mean", "first", "last"))
    assert plan.n_words == 6 and plan.n_split_sentences == 0
    seen = []
    for batch in plan.batches:
        ids = batch.input_ids.numpy()
        for agg in ("mean", "first", "last"):
            pos = batch.sub_pos[agg].numpy()
            word = batch.sub_word[agg].numpy()
            for k, row in enumerate(batch.rows):
                sent = next(i for i in range(3) if sum(map(len, sentences[: i + 1])) > row)
                j = row - sum(map(len, sentences[:sent]))
                expected = bert_tok(sentences[sent][j], add_special_tokens=False)["input_ids"]
                flat = ids.reshape(-1)[pos[word == k]]
                want = {"mean": expected, "first": expected[:1], "last": expected[-1:]}[agg]
                assert flat.tolist() == want
        seen.extend(batch.rows.tolist())
        # special tokens are in place and never selected
        first_tok = batch.input_ids[:, 0]
        assert (first_tok == bert_tok.cls_token_id).all()
    assert sorted(seen) == list(range(6))


def test_aggregate_mean_first_last() -> None:
    torch.manual_seed(0)
    from atlas.extract.align import Batch

    hidden = torch.randn(2, 5, 3)
    # word 0: positions (0,1),(0,2); word 1: (1,1); word 2: no subword
    flat = lambda b, t: b * 5 + t  # noqa: E731
    batch = Batch(
        input_ids=torch.zeros(2, 5, dtype=torch.long),
        attention_mask=torch.ones(2, 5, dtype=torch.long),
        rows=np.array([4, 7, 9]),
        sub_pos={"mean": torch.tensor([flat(0, 1), flat(0, 2), flat(1, 1)]), "first": torch.tensor([flat(0, 1), flat(1, 1)]),
                 "last": torch.tensor([flat(0, 2), flat(1, 1)])},
        sub_word={"mean": torch.tensor([0, 0, 1]), "first": torch.tensor([0, 1]), "last": torch.tensor([0, 1])},
        n_sub={"mean": torch.tensor([2.0, 1.0, 0.0]), "first": torch.tensor([1.0, 1.0, 0.0]),
               "last": torch.tensor([1.0, 1.0, 0.0])},
    )
    mean = aggregate(hidden, batch, "mean")
    torch.testing.assert_close(mean[0], (hidden[0, 1] + hidden[0, 2]) / 2)
    torch.testing.assert_close(mean[1], hidden[1, 1])
    assert torch.equal(mean[2], torch.zeros(3))
    assert torch.equal(aggregate(hidden, batch, "first")[0], hidden[0, 1])
    assert torch.equal(aggregate(hidden, batch, "last")[0], hidden[0, 2])
    with pytest.raises(ExtractionError):
        aggregate(hidden, batch, "max")


def test_long_sentence_is_windowed_not_truncated(bert_tok) -> None:
    words = ["tokenization", "the", "cat"] * 20  # 60 words, ~100 subwords
    plan = plan_batches(bert_tok, [words], max_length=16, batch_size=4)
    assert plan.n_split_sentences == 1 and plan.n_windows > 5 and plan.n_truncated_words == 0
    rows = np.concatenate([b.rows for b in plan.batches])
    assert sorted(rows.tolist()) == list(range(60))
    assert max(b.input_ids.shape[1] for b in plan.batches) <= 16


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 40), min_size=0, max_size=9).map(lambda xs: sorted(xs, reverse=True)),
    batch_size=st.integers(1, 5),
    batch_cost=st.sampled_from([0.0, 3.0, 64.0, 1e9]),
)
def test_split_batches_is_optimal_and_bounded(lengths, batch_size, batch_cost) -> None:
    import itertools

    from atlas.extract.align import split_batches

    def cost(cuts):
        return sum((b - a) * lengths[a] + batch_cost for a, b in cuts)

    cuts = split_batches(lengths, batch_size, batch_cost)
    if not lengths:
        assert cuts == []
        return
    assert [a for a, _ in cuts] == [0] + [b for _, b in cuts[:-1]] and cuts[-1][1] == len(lengths)
    assert all(0 < b - a <= batch_size for a, b in cuts)
    n = len(lengths)
    best = min(
        cost(list(zip((0, *bounds), (*bounds, n))))
        for r in range(n)
        for bounds in itertools.combinations(range(1, n), r)
        if all(0 < b - a <= batch_size for a, b in zip((0, *bounds), (*bounds, n)))
    )
    assert cost(cuts) == pytest.approx(best)
