"""One canonical neuron id, parsed and printed in one place."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas import AtlasError, NeuronId


@pytest.mark.parametrize(
    "text, expected",
    [
        ("minilm/mlp.4/1234", NeuronId("minilm", "mlp", 4, 1234)),
        ("gpt2-small/resid.0/7", NeuronId("gpt2-small", "resid", 0, 7)),
        ("bert/L9/mlp/1234", NeuronId("bert", "mlp", 9, 1234)),
        ("bert/blocks.9.mlp.hook_post/1234", NeuronId("bert", "mlp", 9, 1234)),
        ("bert/blocks.2.hook_resid_post/5", NeuronId("bert", "resid", 2, 5)),
        ("  minilm/embed.0/3 ", NeuronId("minilm", "embed", 0, 3)),
    ],
)
def test_parse_spellings(text, expected):
    assert NeuronId.parse(text) == expected


@pytest.mark.parametrize("text", ["minilm", "minilm/mlp/3", "minilm/attn.1/2", "minilm/mlp.x/1", "/mlp.1/2", ""])
def test_parse_rejects_with_a_hint(text):
    with pytest.raises(AtlasError, match="not a neuron id") as info:
        NeuronId.parse(text)
    assert "MODEL/SITE.LAYER/UNIT" in str(info.value)


@given(
    model=st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,20}", fullmatch=True),
    site=st.sampled_from(["mlp", "resid", "embed"]),
    layer=st.integers(0, 200),
    unit=st.integers(0, 100_000),
)
def test_print_parse_roundtrip(model, site, layer, unit):
    nid = NeuronId(model, site, layer, unit)
    assert NeuronId.parse(str(nid)) == nid


def test_hook_names_follow_transformerlens():
    assert NeuronId("m", "mlp", 3, 1).hook_name == "blocks.3.mlp.hook_post"
    assert NeuronId("m", "resid", 3, 1).hook_name == "blocks.3.hook_resid_post"
