"""Canonical names of neurons, in one place.

A neuron's id is ``MODEL/SITE.LAYER/UNIT``, e.g. ``minilm/mlp.4/1234``: the unit 1234 of the
MLP (post-activation FFN) of block 4 of the model the atlas calls ``minilm``. The parser also
accepts TransformerLens hook names (``minilm/blocks.4.mlp.hook_post/1234``,
``minilm/blocks.4.hook_resid_post/7``) and ``MODEL/L4/mlp/1234``.

>>> NeuronId.parse("minilm/mlp.4/1234")
NeuronId(model='minilm', site='mlp', layer=4, unit=1234)
>>> str(NeuronId("minilm", "resid", 2, 7))
'minilm/resid.2/7'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atlas.errors import AtlasError

_CANONICAL = re.compile(r"^(?P<model>[^/\s]+)/(?P<site>mlp|resid|embed)\.(?P<layer>\d+)/(?P<unit>\d+)$")
_LAYER_SITE = re.compile(r"^(?P<model>[^/\s]+)/L(?P<layer>\d+)/(?P<site>mlp|resid|embed)/(?P<unit>\d+)$")
_TL = re.compile(
    r"^(?P<model>[^/\s]+)/blocks\.(?P<layer>\d+)\.(?P<hook>mlp\.hook_post|hook_resid_post)/(?P<unit>\d+)$"
)
_TL_SITES = {"mlp.hook_post": "mlp", "hook_resid_post": "resid"}


@dataclass(frozen=True, order=True)
class NeuronId:
    """The canonical identity of one unit: model short name, site, block index, unit index."""

    model: str
    site: str
    layer: int
    unit: int

    def __str__(self) -> str:
        return f"{self.model}/{self.site}.{self.layer}/{self.unit}"

    @property
    def hook_name(self) -> str:
        """The TransformerLens hook this unit lives on."""
        if self.site == "mlp":
            return f"blocks.{self.layer}.mlp.hook_post"
        if self.site == "resid":
            return f"blocks.{self.layer}.hook_resid_post"
        return "hook_embed"

    @classmethod
    def parse(cls, text: str) -> NeuronId:
        """Parse any accepted spelling of a neuron id (see the module docstring)."""
        text = text.strip()
        for pattern in (_CANONICAL, _LAYER_SITE):
            m = pattern.match(text)
            if m:
                return cls(m["model"], m["site"], int(m["layer"]), int(m["unit"]))
        m = _TL.match(text)
        if m:
            return cls(m["model"], _TL_SITES[m["hook"]], int(m["layer"]), int(m["unit"]))
        raise AtlasError(
            f"{text!r} is not a neuron id",
            hint="write MODEL/SITE.LAYER/UNIT, for example minilm/mlp.4/1234",
        )


def layer_name(site: str, layer: int) -> str:
    """``mlp.4``: the layer part of a neuron id."""
    return f"{site}.{layer}"
