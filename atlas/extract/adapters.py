"""Architecture adapters: where each family keeps its blocks and its MLP units, in one place.

An adapter names, for one model family, the module paths of

* the **blocks** (the list of transformer layers, block ``i`` = layer ``i`` on every site),
* the **MLP down-projection** inside a block: its *input* is the post-activation FFN vector,
  the unit the survey calls a neuron (for a gated MLP such as Llama's, ``act(gate) * up``),
* the **runner**: the module the extractor calls (the encoder stack of a T5 model).

Sites are captured with forward hooks:

=====  =================================================  ============
site   hook                                               activation
=====  =================================================  ============
mlp    forward *pre*-hook on the block's down-projection  ``post``
resid  forward hook on block ``i`` (its output)           ``resid``
embed  forward *pre*-hook on block 0 (its input)          ``resid``
=====  =================================================  ============

A layer's ``hook_point`` is recorded as ``<module path>:input`` or ``<module path>:output``,
relative to the model ``AutoModel`` returns (``encoder.layer.3.output.dense:input``).

Adding a family means adding one :class:`Adapter` to :data:`ADAPTERS`.

Example::

    adapter = adapter_for(model)             # model = AutoModel.from_pretrained(...)
    adapter.hook_point(model, "mlp", 3)      # 'encoder.layer.3.output.dense:input'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from atlas.errors import ExtractionError

#: The activation kind recorded in ``layer.activation`` for each site.
SITE_ACTIVATION = {"mlp": "post", "resid": "resid", "embed": "resid"}


@dataclass(frozen=True)
class Adapter:
    """How to find the units of one model family.

    Args:
        family: the adapter's name (stored in ``model.family``): ``bert``, ``gpt2``, ...
        model_types: the ``config.model_type`` values it handles.
        blocks: dotted path, from the runner, of the ``nn.ModuleList`` of blocks.
        down_proj: dotted path, inside a block, of the MLP's output projection.
        runner_path: dotted path of the module to call, from the loaded model ("" = the model).
        d_mlp_keys: config attributes holding the MLP width, first found wins.
        d_model_keys: config attributes holding the residual width.
        n_layers_keys: config attributes holding the number of blocks.
    """

    family: str
    model_types: tuple[str, ...]
    blocks: str
    down_proj: str
    runner_path: str = ""
    d_mlp_keys: tuple[str, ...] = ("intermediate_size",)
    d_model_keys: tuple[str, ...] = ("hidden_size",)
    n_layers_keys: tuple[str, ...] = ("num_hidden_layers",)
    notes: str = field(default="", compare=False)

    # -- config -------------------------------------------------------------------------------
    def dims(self, config: Any) -> tuple[int, int, int]:
        """``(n_layers, d_model, d_mlp)`` from a transformers config."""
        n_layers = _first_attr(config, self.n_layers_keys)
        d_model = _first_attr(config, self.d_model_keys)
        d_mlp = _first_attr(config, self.d_mlp_keys, default=None)
        if d_mlp is None:  # GPT-2 leaves n_inner None: 4 x d_model
            d_mlp = 4 * d_model
        return int(n_layers), int(d_model), int(d_mlp)

    def width(self, config: Any, site: str) -> int:
        _, d_model, d_mlp = self.dims(config)
        return d_mlp if site == "mlp" else d_model

    # -- modules ------------------------------------------------------------------------------
    def runner(self, model: nn.Module) -> nn.Module:
        """The module the extractor calls with ``input_ids`` and ``attention_mask``."""
        return _get(model, self.runner_path, self) if self.runner_path else model

    def block(self, model: nn.Module, index: int) -> nn.Module:
        blocks = _get(model, self._blocks_path(), self)
        return blocks[index]  # type: ignore[index,no-any-return]

    def _blocks_path(self) -> str:
        return f"{self.runner_path}.{self.blocks}" if self.runner_path else self.blocks

    def hook_module(self, model: nn.Module, site: str, index: int) -> tuple[nn.Module, str]:
        """The module to hook for ``site`` of block ``index`` and its hook point string."""
        block_path = f"{self._blocks_path()}.{index}"
        if site == "mlp":
            path = f"{block_path}.{self.down_proj}"
            return _get(model, path, self), f"{path}:input"
        if site == "resid":
            return _get(model, block_path, self), f"{block_path}:output"
        if site == "embed":
            return _get(model, block_path, self), f"{block_path}:input"
        raise ExtractionError(f"unknown site {site!r}", hint="sites are mlp, resid and embed")

    def hook_point(self, model: nn.Module, site: str, index: int) -> str:
        return self.hook_module(model, site, index)[1]

    def check(self, model: nn.Module) -> None:
        """Fail with a clear message when the model's modules are not where the adapter says."""
        n_layers, _, _ = self.dims(model.config)
        for site in ("mlp", "resid"):
            self.hook_module(model, site, 0)
            self.hook_module(model, site, n_layers - 1)


def _first_attr(config: Any, keys: tuple[str, ...], default: Any = ...) -> Any:
    for key in keys:
        value = getattr(config, key, None)
        if value is not None:
            return value
    if default is ...:
        raise ExtractionError(
            f"the {type(config).__name__} has none of the attributes {', '.join(keys)}",
            hint="this config does not look like the architecture its adapter expects",
        )
    return default


def _get(model: nn.Module, path: str, adapter: Adapter) -> nn.Module:
    try:
        return model.get_submodule(path)
    except AttributeError as exc:
        raise ExtractionError(
            f"{type(model).__name__} has no module {path!r}, which the {adapter.family!r} adapter expects",
            hint="this transformers version lays the model out differently: fix the adapter in "
            "atlas/extract/adapters.py",
        ) from exc


#: One adapter per family. Paths are relative to the model ``AutoModel`` returns.
ADAPTERS: tuple[Adapter, ...] = (
    Adapter(
        "bert",
        ("bert", "roberta", "xlm-roberta", "camembert", "electra"),
        blocks="encoder.layer",
        down_proj="output.dense",
        notes="BertIntermediate -> act -> BertOutput.dense: the input of output.dense is the post-activation FFN",
    ),
    Adapter(
        "distilbert",
        ("distilbert",),
        blocks="transformer.layer",
        down_proj="ffn.lin2",
        d_mlp_keys=("hidden_dim",),
        d_model_keys=("dim",),
        n_layers_keys=("n_layers",),
    ),
    Adapter(
        "gpt2",
        ("gpt2",),
        blocks="h",
        down_proj="mlp.c_proj",
        d_mlp_keys=("n_inner",),
        d_model_keys=("n_embd",),
        n_layers_keys=("n_layer",),
    ),
    Adapter(
        "llama",
        ("llama", "mistral", "qwen2", "qwen3"),
        blocks="layers",
        down_proj="mlp.down_proj",
        notes="gated MLP: the unit is act(gate_proj(x)) * up_proj(x), the input of down_proj",
    ),
    Adapter(
        "t5",
        ("t5", "mt5", "umt5"),
        blocks="block",
        down_proj="layer.1.DenseReluDense.wo",
        runner_path="encoder",
        d_mlp_keys=("d_ff",),
        d_model_keys=("d_model",),
        n_layers_keys=("num_layers",),
        notes="encoder only: the decoder is never run",
    ),
)


def families() -> list[str]:
    """The names of the supported families."""
    return [a.family for a in ADAPTERS]


def adapter_for(model_or_config: Any) -> Adapter:
    """The adapter for a model (or its config), by ``config.model_type``.

    Raises:
        ExtractionError: the architecture has no adapter; the message names the adapter to add.

    Example::

        >>> from transformers import BertConfig
        >>> adapter_for(BertConfig()).family
        'bert'
    """
    config = getattr(model_or_config, "config", model_or_config)
    model_type = getattr(config, "model_type", None)
    for adapter in ADAPTERS:
        if model_type in adapter.model_types:
            return adapter
    archs = ", ".join(getattr(config, "architectures", None) or [type(config).__name__])
    supported = ", ".join(t for a in ADAPTERS for t in a.model_types)
    raise ExtractionError(
        f"no extraction adapter for model type {model_type!r} ({archs})",
        hint=f"add an Adapter for {model_type!r} to ADAPTERS in atlas/extract/adapters.py "
        f"(blocks path and MLP down-projection); supported: {supported}",
    )


# -- hooks ---------------------------------------------------------------------------------------
Sink = Callable[[torch.Tensor], None]


def _first_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return value[0]
    hidden = getattr(value, "last_hidden_state", None)
    if isinstance(hidden, torch.Tensor):
        return hidden
    raise ExtractionError(f"a hooked module returned {type(value).__name__}, not a tensor")


def attach(model: nn.Module, adapter: Adapter, site: str, index: int, sink: Sink) -> Any:
    """Register the hook that feeds ``site`` of block ``index`` to ``sink``; returns the handle.

    ``sink`` receives the ``[batch, seq, width]`` tensor of subword activations.
    """
    module, _ = adapter.hook_module(model, site, index)
    if site == "resid":

        def post_hook(_mod: nn.Module, _args: Any, output: Any) -> None:
            sink(_first_tensor(output))

        return module.register_forward_hook(post_hook)

    def pre_hook(_mod: nn.Module, args: Any, kwargs: Any) -> None:
        hidden = args[0] if args else kwargs.get("hidden_states", kwargs.get("input"))
        sink(_first_tensor(hidden))

    return module.register_forward_pre_hook(pre_hook, with_kwargs=True)
