"""A loaded model that runs batches with hooks: capture units at (site, layer) targets, and
intervene on them (set or scale units) during the forward pass.

Extraction captures with it; causal methods (ablation, patching) intervene with it. Hooks are
registered for the duration of a ``with`` block and always removed after it.

* **capture** (:meth:`ModelRunner.capture`): every forward pass hands the ``[batch, seq, width]``
  activations of each target to ``sink(target, tensor)``; with ``stop_after_last`` the pass stops
  once the deepest target is captured (the rest of the model is not needed).
* **intervene** (:meth:`ModelRunner.intervene`): :class:`Intervention` objects set units to a
  value or scale them, at every token position; with ``items`` each (unit, value) applies to one
  batch item only, so a batch can ablate a different unit in each of its rows at once. The
  changed tensor is what later hooks capture and what the model computes on with.
* **fan out** (``intervene(..., copies=G)``): the forward pass is given one copy of the batch;
  the blocks below the first intervened one run on it once, and at that block every
  batch-shaped input (hidden states, attention mask, rotary tables) is tiled ``G`` times, so
  the output is that of the ``G``-times tiled batch, at the cost of the blocks from the
  intervened one up (ablating the units of layer ``L`` of ``N`` costs ``(N − L) / N`` of a
  tiled pass).

Example::

    runner = ModelRunner(load_model("builtin:all-minilm-l6-v2"))
    with runner.intervene([Intervention("mlp", 3, units=[12], value=0.0)]):
        acts = runner.activations(input_ids, attention_mask, [("mlp", 3), ("resid", 5)])
    acts[("mlp", 3)][..., 12]        # all zeros
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from atlas.errors import ExtractionError
from atlas.extract.adapters import first_tensor, attach, hook_input, site_hook
from atlas.naming import site_names

Target = tuple[str, int]
#: ``sink(target, activations)``: activations ``[batch, seq, width]`` of one target.
TargetSink = Callable[[Target, torch.Tensor], None]


class StopForward(Exception):
    """Raised by the hook of the deepest captured target: the rest of the forward pass is not needed."""


@dataclass(frozen=True)
class Intervention:
    """Set or scale units of one (site, layer) during the forward pass.

    Args:
        site, layer: where (``("mlp", 3)``).
        units: unit indices.
        value: set the units to this value (exclusive with ``scale``), or one value per unit
            (a sequence as long as ``units``: mean-ablation clamps each unit to its own mean).
        scale: multiply the units by this factor.
        items: batch items, one per unit: unit ``units[i]`` changes in batch item ``items[i]``
            only (``None``: every item).

    Example::

        Intervention("mlp", 3, units=[5, 9], value=0.0)                   # ablate two units
        Intervention("mlp", 3, units=[5, 9, 11], items=[0, 1, 2], value=0.0)  # one unit per row
        Intervention("mlp", 3, units=[5, 9], value=[0.12, -0.3])          # each unit to its mean
    """

    site: str
    layer: int
    units: Sequence[int]
    value: float | Sequence[float] | None = None
    scale: float | None = None
    items: Sequence[int] | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.scale is None):
            raise ExtractionError("an intervention sets a value or scales, one of the two", hint="pass value= or scale=")
        if self.items is not None and len(self.items) != len(self.units):
            raise ExtractionError(f"{len(self.items)} batch items for {len(self.units)} units", hint="give one item per unit")
        if isinstance(self.value, Sequence) and len(self.value) != len(self.units):
            raise ExtractionError(f"{len(self.value)} values for {len(self.units)} units", hint="give one value per unit, or one value")

    def apply(self, hidden: torch.Tensor) -> torch.Tensor:
        """A copy of ``hidden`` (``[batch, seq, width]``) with the units changed."""
        out = hidden.clone()
        units = torch.as_tensor(list(self.units), dtype=torch.long, device=hidden.device)
        value: float | torch.Tensor | None = self.value  # type: ignore[assignment]
        if isinstance(self.value, Sequence):
            value = torch.as_tensor(list(self.value), dtype=hidden.dtype, device=hidden.device)
        if self.items is None:
            if value is not None:
                out[..., units] = value
            else:
                out[..., units] = out[..., units] * self.scale
            return out
        items = torch.as_tensor(list(self.items), dtype=torch.long, device=hidden.device)
        if isinstance(value, torch.Tensor):
            out[items, :, units] = value.unsqueeze(1)  # [n, seq]: row i is unit i in item i
        elif value is not None:
            out[items, :, units] = value
        else:
            out[items, :, units] = out[items, :, units] * self.scale
        return out


def _replace_first(value: Any, new: torch.Tensor) -> Any:
    """``value`` (a tensor, or a tuple/list whose first item is the tensor) with ``new`` in place of the tensor."""
    if isinstance(value, torch.Tensor):
        return new
    if isinstance(value, (tuple, list)) and value:
        return type(value)([new, *value[1:]])
    if hasattr(value, "last_hidden_state"):
        value.last_hidden_state = new
        return value
    raise ExtractionError(f"cannot intervene on a module that returns {type(value).__name__}")


def _tile_batch(value: Any, batch: int, copies: int) -> Any:
    """``value`` with every tensor of ``batch`` items (``[batch, ...]``, two or more dimensions)
    tiled ``copies`` times along the first dimension, inside tuples, lists and dicts too; tensors
    already tiled, broadcast ones (``[1, ...]``) and anything else unchanged."""
    if isinstance(value, torch.Tensor):
        return value.repeat(copies, *([1] * (value.dim() - 1))) if value.dim() >= 2 and value.shape[0] == batch else value
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_tile_batch(v, batch, copies) for v in value)
    if isinstance(value, list):
        return [_tile_batch(v, batch, copies) for v in value]
    if isinstance(value, dict):
        return {k: _tile_batch(v, batch, copies) for k, v in value.items()}
    return value


class ModelRunner:
    """A loaded model (:class:`atlas.extract.models.LoadedModel`) ready to run batches with hooks.

    Args:
        loaded: the model, its adapter and its tokenizer.
    """

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded
        self.model: nn.Module = loaded.model
        self.adapter = loaded.adapter
        self.module = loaded.adapter.runner(loaded.model)  # what a forward pass calls
        self.device: torch.device = next(self.model.parameters()).device  # where the weights are

    @staticmethod
    def order(targets: Sequence[Target]) -> list[Target]:
        """``targets`` in the order a forward pass reaches them (block, then the site's order)."""
        rank = {name: i for i, name in enumerate(site_names())}
        return sorted(targets, key=lambda t: (t[1], rank[t[0]]))

    @contextmanager
    def capture(self, targets: Sequence[Target], sink: TargetSink, *, stop_after_last: bool = False) -> Iterator[None]:
        """Hooks that hand each target's activations to ``sink`` during the ``with`` block."""
        last = self.order(targets)[-1] if targets else None
        handles = []

        def make(target: Target) -> Callable[[torch.Tensor], None]:
            def _sink(hidden: torch.Tensor) -> None:
                sink(target, hidden)
                if stop_after_last and target == last:
                    raise StopForward

            return _sink

        try:
            for s, i in targets:
                handles.append(attach(self.model, self.adapter, s, i, make((s, i))))
            yield
        finally:
            for h in handles:
                h.remove()

    @contextmanager
    def intervene(self, interventions: Sequence[Intervention], *, copies: int = 1, batch: int | None = None) -> Iterator[None]:
        """Apply ``interventions`` to every forward pass of the ``with`` block (before any
        capture hook of the same module sees the activations); removed afterwards.

        With ``copies > 1`` the passes are given one copy of a ``batch``-item batch and fan out
        (module docstring): item ``g * batch + i`` of the output is item ``i`` of copy ``g``,
        as if the input had been tiled ``copies`` times, which is what ``items`` index.
        """
        handles = []
        try:
            for iv in interventions:
                handles.append(self._intervention_hook(iv))
            if copies > 1 and interventions:
                if batch is None:
                    raise ExtractionError("fanning out needs the batch size", hint="pass batch=")
                handles.extend(self._fan_out_hooks(min(iv.layer for iv in interventions), batch, copies))
            yield
        finally:
            for h in handles:
                h.remove()

    def _intervention_hook(self, iv: Intervention) -> Any:
        module, _ = self.adapter.hook_module(self.model, iv.site, iv.layer)
        if site_hook(iv.site).side == "output":

            def post_hook(_mod: nn.Module, _args: Any, output: Any) -> Any:
                return _replace_first(output, iv.apply(first_tensor(output)))

            return module.register_forward_hook(post_hook, prepend=True)

        def pre_hook(_mod: nn.Module, args: Any, kwargs: Any) -> Any:
            new = iv.apply(first_tensor(hook_input(args, kwargs)))
            if args:
                return (_replace_first(args, new), kwargs)
            key = "hidden_states" if "hidden_states" in kwargs else "input"
            return (args, {**kwargs, key: new})

        return module.register_forward_pre_hook(pre_hook, with_kwargs=True, prepend=True)

    def _fan_out_hooks(self, layer: int, batch: int, copies: int) -> list[Any]:
        """Pre-hooks on blocks ``layer ..`` that tile each ``batch``-item input ``copies`` times
        (registered last with ``prepend``: they run before the interventions' own pre-hooks)."""
        n_layers = self.adapter.dims(self.model.config)[0]

        def pre_hook(_mod: nn.Module, args: Any, kwargs: Any) -> Any:
            return _tile_batch(args, batch, copies), _tile_batch(kwargs, batch, copies)

        return [self.adapter.block(self.model, i).register_forward_pre_hook(pre_hook, with_kwargs=True, prepend=True)
                for i in range(layer, n_layers)]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        """One forward pass (inference mode) on the model's device; its output, or None when a
        capture stopped it early."""
        dev = self.device
        try:
            with torch.inference_mode():
                return self.module(input_ids=input_ids.to(dev), attention_mask=attention_mask.to(dev))
        except StopForward:
            return None

    def activations(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, targets: Sequence[Target]
    ) -> dict[Target, torch.Tensor]:
        """The ``[batch, seq, width]`` activations of ``targets`` for one batch (with whatever
        interventions are active)."""
        out: dict[Target, torch.Tensor] = {}

        def keep(target: Target, hidden: torch.Tensor) -> None:
            out[target] = hidden.detach().clone()

        with self.capture(targets, keep, stop_after_last=True):
            self.forward(input_ids, attention_mask)
        return out
