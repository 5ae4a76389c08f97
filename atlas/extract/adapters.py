"""Architecture adapters: where each family keeps its blocks and its MLP units, in one place.

An adapter names, for one model family, the module paths of

* the **blocks** (the list of transformer layers, block ``i`` = layer ``i`` on every site),
* the **MLP down-projection** inside a block: its *input* is the post-activation FFN vector,
  the unit the survey calls a neuron (for a gated MLP such as Llama's, ``act(gate) * up``),
* the **runner**: the module the extractor calls (the encoder stack of a T5 model).

Sites (registered in :mod:`atlas.naming`) are captured with forward hooks; how each site is
hooked is a :class:`SiteHook`, registered here once per site:

=====  =================================================  ============
site   hook                                               activation
=====  =================================================  ============
mlp    forward *pre*-hook on the block's down-projection  ``post``
resid  forward hook on block ``i`` (its output)           ``resid``
embed  forward *pre*-hook on block 0 (its input)          ``resid``
=====  =================================================  ============

A layer's ``hook_point`` is recorded as ``<module path>:input`` or ``<module path>:output``,
relative to the model ``AutoModel`` returns (``encoder.layer.3.output.dense:input``).

**Adding a family.** The built-in families are registered below. Another package adds one
without touching this file, through the entry point group ``atlas.adapters`` (loaded the first
time an adapter is looked up)::

    # its pyproject.toml
    [project.entry-points."atlas.adapters"]
    mpnet = "my_package.atlas_adapters:MPNET"     # an Adapter, a list of them, or a function returning either

or at run time with :func:`register_adapter`.

Example::

    adapter = adapter_for(model)             # model = AutoModel.from_pretrained(...)
    adapter.hook_point(model, "mlp", 3)      # 'encoder.layer.3.output.dense:input'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import torch
from torch import nn

from atlas.errors import ExtractionError
from atlas.naming import site, site_names

#: The entry point group third-party adapters are registered under.
ENTRY_POINT_GROUP = "atlas.adapters"


@dataclass(frozen=True)
class SiteHook:
    """How a registered site of block ``i`` is captured.

    Args:
        site: the site's name in :mod:`atlas.naming`.
        module: ``"down_proj"`` (the block's MLP output projection) or ``"block"``.
        side: ``"input"`` (a forward pre-hook) or ``"output"`` (a forward hook).
        stored: the short code recorded in ``layer.activation`` (``post``, ``resid``).
        first_block_only: the site exists once per model, at block 0 (``embed``).
    """

    site: str
    module: str
    side: str
    stored: str
    first_block_only: bool = False


_SITE_HOOKS: dict[str, SiteHook] = {}


def register_site_hook(hook: SiteHook) -> SiteHook:
    """Say how a site registered in :mod:`atlas.naming` is hooked (one hook per site)."""
    site(hook.site)  # must be a registered site
    if hook.module not in ("down_proj", "block") or hook.side not in ("input", "output"):
        raise ExtractionError(f"bad hook for site {hook.site!r}: {hook.module}:{hook.side}")
    if _SITE_HOOKS.get(hook.site, hook) != hook:
        raise ExtractionError(f"site {hook.site!r} already has a hook")
    _SITE_HOOKS[hook.site] = hook
    return hook


register_site_hook(SiteHook("embed", "block", "input", "resid", first_block_only=True))
register_site_hook(SiteHook("mlp", "down_proj", "input", "post"))
register_site_hook(SiteHook("resid", "block", "output", "resid"))


def site_hook(name: str) -> SiteHook:
    """The hook of site ``name``.

    Raises:
        ExtractionError: the site is unknown, or registered but not extractable.
    """
    hook = _SITE_HOOKS.get(name)
    if hook is None:
        hookable = [s for s in site_names() if s in _SITE_HOOKS]
        raise ExtractionError(f"site {name!r} cannot be extracted", hint=f"extractable sites: {', '.join(hookable)}")
    return hook


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
        hook = site_hook(site)
        path = f"{self._blocks_path()}.{index}"
        if hook.module == "down_proj":
            path = f"{path}.{self.down_proj}"
        return _get(model, path, self), f"{path}:{hook.side}"

    def hook_point(self, model: nn.Module, site: str, index: int) -> str:
        return self.hook_module(model, site, index)[1]

    def check(self, model: nn.Module) -> None:
        """Fail with a clear message when the model's modules are not where the adapter says."""
        n_layers, _, _ = self.dims(model.config)
        for name in site_names():
            if name in _SITE_HOOKS:
                self.hook_module(model, name, 0)
                self.hook_module(model, name, n_layers - 1)


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


#: The built-in families. Paths are relative to the model ``AutoModel`` returns.
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


_REGISTRY: dict[str, Adapter] = {}
_LOCK = threading.Lock()
_entry_points_loaded = False


def register_adapter(adapter: Adapter, *, replace: bool = False) -> Adapter:
    """Add a family; returns ``adapter``. With ``replace``, it takes over its family name and
    its model types from the adapters registered before it.

    Raises:
        ExtractionError: the family, or one of its model types, is taken by another adapter.

    Example::

        >>> register_adapter(Adapter("mpnet", ("mpnet",), blocks="encoder.layer", down_proj="output.dense"))  # doctest: +SKIP
    """
    if not isinstance(adapter, Adapter):
        raise ExtractionError(f"{adapter!r} is not an atlas.extract.adapters.Adapter")
    with _LOCK:
        if not replace:
            old = _REGISTRY.get(adapter.family)
            if old is not None and old != adapter:
                raise ExtractionError(f"an adapter for {adapter.family!r} is already registered", hint="pass replace=True")
            for other in _REGISTRY.values():
                taken = set(other.model_types) & set(adapter.model_types) if other.family != adapter.family else set()
                if taken:
                    raise ExtractionError(
                        f"model type {sorted(taken)[0]!r} already belongs to the {other.family!r} adapter",
                        hint="pass replace=True to take it over",
                    )
        _REGISTRY.pop(adapter.family, None)
        _REGISTRY[adapter.family] = adapter  # the latest registration comes last and wins
    return adapter


def _adapters_of(value: Any, ep: EntryPoint) -> list[Adapter]:
    """What an entry point gives: an Adapter, an iterable of them, or a function returning either."""
    if callable(value) and not isinstance(value, Adapter):
        value = value()
    items = [value] if isinstance(value, Adapter) else list(value) if isinstance(value, Iterable) else [value]
    bad = [x for x in items if not isinstance(x, Adapter)]
    if bad:
        raise ExtractionError(
            f"the {ENTRY_POINT_GROUP} entry point {ep.name!r} ({ep.value}) gave {type(bad[0]).__name__}, not an Adapter",
            hint="point it at an Adapter, a list of Adapters, or a function returning them",
        )
    return items


def load_entry_points(*, force: bool = False) -> list[str]:
    """Register the adapters of every installed ``atlas.adapters`` entry point (once, unless
    ``force``); returns the families added.

    Raises:
        ExtractionError: an entry point cannot be imported or gives something else than adapters.
    """
    global _entry_points_loaded
    if _entry_points_loaded and not force:
        return []
    _entry_points_loaded = True
    added: list[str] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            value = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a plugin, told with its name
            raise ExtractionError(
                f"cannot load the {ENTRY_POINT_GROUP} entry point {ep.name!r} ({ep.value}): {exc}",
                hint="fix or uninstall the package that declares it",
            ) from exc
        for adapter in _adapters_of(value, ep):
            register_adapter(adapter)
            added.append(adapter.family)
    return added


def adapters() -> tuple[Adapter, ...]:
    """Every registered adapter: the built-in ones, then those of entry points and
    :func:`register_adapter`."""
    load_entry_points()
    return tuple(_REGISTRY.values())


for _adapter in ADAPTERS:
    register_adapter(_adapter)


def families() -> list[str]:
    """The names of the supported families."""
    return [a.family for a in adapters()]


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
    known = adapters()
    for adapter in reversed(known):  # the latest registration wins
        if model_type in adapter.model_types:
            return adapter
    archs = ", ".join(getattr(config, "architectures", None) or [type(config).__name__])
    supported = ", ".join(t for a in known for t in a.model_types)
    raise ExtractionError(
        f"no extraction adapter for model type {model_type!r} ({archs})",
        hint=f"add an Adapter for {model_type!r} to ADAPTERS in atlas/extract/adapters.py, or register one "
        f"(register_adapter, or the {ENTRY_POINT_GROUP!r} entry point group); supported: {supported}",
    )


# -- hooks ---------------------------------------------------------------------------------------
Sink = Callable[[torch.Tensor], None]


def first_tensor(value: Any) -> torch.Tensor:
    """The hidden-state tensor in what a hooked module takes or returns."""
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
    if site_hook(site).side == "output":

        def post_hook(_mod: nn.Module, _args: Any, output: Any) -> None:
            sink(first_tensor(output))

        return module.register_forward_hook(post_hook)

    def pre_hook(_mod: nn.Module, args: Any, kwargs: Any) -> None:
        sink(first_tensor(hook_input(args, kwargs)))

    return module.register_forward_pre_hook(pre_hook, with_kwargs=True)


def hook_input(args: Any, kwargs: Any) -> Any:
    """The hidden states a module is called with (first positional argument or keyword)."""
    return args[0] if args else kwargs.get("hidden_states", kwargs.get("input"))
