"""ModelRunner: capture hooks, batched forward passes and interventions (set or scale units)."""

from __future__ import annotations

import pytest
import torch

from atlas.errors import ExtractionError
from atlas.extract.models import load_model
from atlas.extract.runner import Intervention, ModelRunner

from .helpers import make_sentences


@pytest.fixture(params=["bert", "gpt2"])
def runner_and_batch(request, tiny_model):
    family = request.param
    loaded = load_model(str(tiny_model(family)))
    tok = loaded.tokenizer
    words = [" ".join(s) for s in make_sentences(3, seed=30, min_len=4, max_len=6)]
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    enc = tok(words, return_tensors="pt", padding=True)
    return ModelRunner(loaded), enc["input_ids"], enc["attention_mask"]


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _out(runner: ModelRunner, ids, mask) -> torch.Tensor:
    out = runner.forward(ids, mask)
    return out.last_hidden_state


def test_scale_one_is_the_identity_bit_for_bit(runner_and_batch) -> None:
    runner, ids, mask = runner_and_batch
    targets = [("mlp", 0), ("resid", 1)]
    plain = _out(runner, ids, mask)
    acts = runner.activations(ids, mask, targets)
    with runner.intervene([Intervention("mlp", 0, units=range(8), scale=1.0), Intervention("resid", 1, units=[0, 3], scale=1.0)]):
        scaled = _out(runner, ids, mask)
        scaled_acts = runner.activations(ids, mask, targets)
    assert torch.equal(plain.view(torch.int32), scaled.view(torch.int32))
    for t in targets:
        assert torch.equal(acts[t], scaled_acts[t])


def test_set_is_captured_changes_the_output_and_is_removed(runner_and_batch) -> None:
    runner, ids, mask = runner_and_batch
    base_hooks = _hooks(runner.model)
    plain = _out(runner, ids, mask)
    before = runner.activations(ids, mask, [("mlp", 0), ("mlp", 1)])
    with runner.intervene([Intervention("mlp", 0, units=[1, 4], value=7.5)]):
        assert _hooks(runner.model) == base_hooks + 1
        acts = runner.activations(ids, mask, [("mlp", 0), ("mlp", 1)])
        changed = _out(runner, ids, mask)
    assert torch.all(acts[("mlp", 0)][..., [1, 4]] == 7.5)
    others = [u for u in range(acts[("mlp", 0)].shape[-1]) if u not in (1, 4)]
    assert torch.equal(acts[("mlp", 0)][..., others], before[("mlp", 0)][..., others])
    assert not torch.equal(acts[("mlp", 1)], before[("mlp", 1)])  # downstream
    assert not torch.allclose(changed, plain)
    # removed after the block: the same outputs as before, no hook left behind
    assert _hooks(runner.model) == base_hooks
    assert torch.equal(_out(runner, ids, mask), plain)


def test_residual_and_per_item_interventions(runner_and_batch) -> None:
    runner, ids, mask = runner_and_batch
    before = runner.activations(ids, mask, [("resid", 0)])[("resid", 0)]
    with runner.intervene([Intervention("resid", 0, units=[2, 5], items=[0, 2], value=0.0)]):
        after = runner.activations(ids, mask, [("resid", 0)])[("resid", 0)]
    assert torch.all(after[0, :, 2] == 0) and torch.all(after[2, :, 5] == 0)
    expected = before.clone()
    expected[0, :, 2] = 0
    expected[2, :, 5] = 0
    assert torch.equal(after, expected)  # item 1 and every other unit untouched
    with runner.intervene([Intervention("resid", 0, units=[2], scale=2.0)]):
        doubled = runner.activations(ids, mask, [("resid", 0)])[("resid", 0)]
    assert torch.equal(doubled[..., 2], before[..., 2] * 2.0)


def test_hooks_are_removed_after_an_error(runner_and_batch) -> None:
    runner, ids, mask = runner_and_batch
    base = _hooks(runner.model)
    with pytest.raises(RuntimeError, match="boom"):
        with runner.intervene([Intervention("mlp", 1, units=[0], value=1.0)]):
            with runner.capture([("mlp", 1)], lambda t, h: None):
                raise RuntimeError("boom")
    assert _hooks(runner.model) == base


def test_intervention_arguments_are_checked() -> None:
    with pytest.raises(ExtractionError, match="one of the two"):
        Intervention("mlp", 0, units=[1])
    with pytest.raises(ExtractionError, match="one of the two"):
        Intervention("mlp", 0, units=[1], value=0.0, scale=2.0)
    with pytest.raises(ExtractionError, match="one item per unit"):
        Intervention("mlp", 0, units=[1, 2], items=[0], value=0.0)


def test_one_value_per_unit(runner_and_batch) -> None:
    runner, ids, mask = runner_and_batch
    with runner.intervene([Intervention("mlp", 0, units=[1, 4], value=[2.5, -1.0])]):
        acts = runner.activations(ids, mask, [("mlp", 0)])[("mlp", 0)]
    assert torch.all(acts[..., 1] == 2.5) and torch.all(acts[..., 4] == -1.0)
    with runner.intervene([Intervention("mlp", 0, units=[1, 4], items=[0, 2], value=[2.5, -1.0])]):
        per_item = runner.activations(ids, mask, [("mlp", 0)])[("mlp", 0)]
    assert torch.all(per_item[0, :, 1] == 2.5) and torch.all(per_item[2, :, 4] == -1.0)
    assert not torch.all(per_item[1, :, 1] == 2.5)
    with pytest.raises(ExtractionError, match="one value per unit"):
        Intervention("mlp", 0, units=[1, 2], value=[0.0])


@pytest.mark.parametrize("family", ["bert", "roberta", "distilbert", "gpt2", "llama", "t5"])
@pytest.mark.parametrize("site,layer", [("mlp", 1), ("resid", 0), ("embed", 0)])
def test_fanning_out_equals_the_tiled_batch(tiny_model, family, site, layer) -> None:
    """``intervene(..., copies=G)`` given one copy of a padded batch returns what the G-times
    tiled batch returns under the same per-item interventions (each copy its own unit)."""
    loaded = load_model(str(tiny_model(family)))
    tok = loaded.tokenizer
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    enc = tok([" ".join(s) for s in make_sentences(3, seed=31, min_len=3, max_len=7)], return_tensors="pt", padding=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    runner, n, copies = ModelRunner(loaded), ids.shape[0], 4
    ivs = [Intervention(site, layer, units=[u for u in (1, 3, 5, 7) for _ in range(n)], items=list(range(copies * n)),
                        value=[float(v) for v in (0.0, 2.0, -1.0, 0.5) for _ in range(n)])]
    base_hooks = _hooks(runner.model)
    with runner.intervene(ivs):
        tiled = _out(runner, ids.repeat(copies, 1), mask.repeat(copies, 1))
    with runner.intervene(ivs, copies=copies, batch=n):
        fanned = _out(runner, ids, mask)
    assert fanned.shape == tiled.shape
    torch.testing.assert_close(fanned, tiled, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(tiled[:n], tiled[n : 2 * n])  # the copies differ: each had its own unit
    assert _hooks(runner.model) == base_hooks
    with pytest.raises(ExtractionError, match="batch size"):
        with runner.intervene(ivs, copies=copies):
            pass
