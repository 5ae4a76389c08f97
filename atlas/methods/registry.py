"""The registry of score methods: the one list of method names, and what each declares.

Consumers (the scoring job, the query binder, the demo, ``atlas method list``) read methods only
from here. The first call loads the built-in methods (:mod:`atlas.methods.corpus`,
:mod:`atlas.methods.probe`, then the causal ones declared in :mod:`atlas.methods.causal`) and then, once, the plug-ins: every entry point of group
``atlas.methods`` (a module whose import registers methods with
:func:`~atlas.methods.base.register_method`, or a registered :class:`ScoreMethod` class).
A third-party package declares one in its ``pyproject.toml``::

    [project.entry-points."atlas.methods"]
    meanact = "my_package.methods"

>>> from atlas.methods import registry
>>> registry.get("selectivity").value_range
(-1.0, 1.0)
>>> "iou" in registry.names()
True
>>> [m.name for m in registry.select(default=False, kind="concept")]
['probe', 'control_selectivity']
"""

from __future__ import annotations

import types
from importlib.metadata import EntryPoint, entry_points

from atlas.errors import MethodError, did_you_mean
from atlas.methods.base import _REGISTRY, MethodSpec, ScoreMethod, register_method

#: The entry-point group third-party score methods are declared in.
ENTRY_POINT_GROUP = "atlas.methods"

_loaded = False


def _load() -> None:
    """Register the built-in methods, then the plug-ins (once; a failed plug-in is retried)."""
    global _loaded
    if _loaded:
        return
    # Importing the modules registers their methods.
    from atlas.methods import corpus, probe  # noqa: F401
    from atlas.methods import causal  # noqa: F401  (declared last: built-in order is corpus, probe, causal)

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _load_plugin(ep)
    _loaded = True


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "an unknown distribution"


def _load_plugin(ep: EntryPoint) -> None:
    where = f"score-method plug-in {ep.name!r} ({ep.value}) of distribution {_distribution(ep)!r}"
    fix = f"fix or uninstall {_distribution(ep)} (pip uninstall {_distribution(ep)})"
    try:
        target = ep.load()
    except MethodError as exc:
        raise MethodError(f"{where} could not register its methods: {exc.message}", hint=exc.hint or fix) from exc
    except Exception as exc:  # noqa: BLE001 - any import failure of third-party code
        raise MethodError(f"{where} failed to load: {type(exc).__name__}: {exc}", hint=fix) from exc
    if isinstance(target, types.ModuleType):
        return
    spec = getattr(target, "spec", None)
    if not (isinstance(target, type) and issubclass(target, ScoreMethod) and isinstance(spec, MethodSpec)):
        raise MethodError(
            f"{where} names {target!r}, which is neither a module nor a registered ScoreMethod class",
            hint="point the entry point at a module, or at a class decorated with @register_method",
        )


def get(name: str) -> MethodSpec:
    """The spec of the method called ``name``.

    Raises:
        MethodError: no such method (with a "did you mean" hint), or a plug-in failed to load.

    >>> get("iou").value_range
    (0.0, 1.0)
    """
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = did_you_mean(name, _REGISTRY) or f"available: {', '.join(sorted(_REGISTRY))}"
        raise MethodError(f"unknown score method {name!r}", hint=hint) from None


def all() -> list[MethodSpec]:  # noqa: A001 - the contract's name; shadows the builtin only here
    """Every registered method, in registration order (built-ins first, then plug-ins)."""
    _load()
    return list(_REGISTRY.values())


def names() -> list[str]:
    """Every registered method name, in registration order."""
    return [spec.name for spec in all()]


def select(
    *,
    default: bool | None = None,
    kind: str | None = None,
    family: str | None = None,
    level: str | None = None,
    needs_probe: bool | None = None,
) -> list[MethodSpec]:
    """The registered methods whose tags match every given filter, in registration order.

    >>> [m.name for m in select(default=True, level="sentence")]
    ['ap_sentence']
    >>> [m.name for m in select(family="probing")] == [m.name for m in select(needs_probe=True)]
    True
    """
    wanted = {"default": default, "kind": kind, "family": family, "level": level, "needs_probe": needs_probe}
    return [spec for spec in all() if _matches(spec, wanted)]


def _matches(spec: MethodSpec, wanted: dict[str, object]) -> bool:
    """Whether ``spec`` has every tag value of ``wanted`` (``None`` values are ignored)."""
    return not [k for k, v in wanted.items() if v is not None and getattr(spec, k) != v]


__all__ = ["ENTRY_POINT_GROUP", "MethodSpec", "ScoreMethod", "all", "get", "names", "register_method", "select"]
