"""The scoring-method contract and the registry of methods.

A method follows the scikit-learn estimator contract (STYLE.md §4):

* ``__init__(**params)`` only stores keyword parameters (no validation);
* ``fit(X, Y, **context) -> self`` reads activations ``X`` (float, ``[n_words, n_neurons]``, an
  array or a memory map read in blocks) and concept labels ``Y`` (bool, ``[n_words, n_concepts]``);
* results live in attributes ending in ``_``; every method sets ``scores_`` of shape
  ``[n_neurons, n_concepts]`` (float64, NaN = no value).

``context`` carries what some methods need besides ``X`` and ``Y``: ``sentence_index`` (the
0-based sentence of each row), ``names`` (concept names, for methods that group concepts into
properties such as ``upos``), ``word_types`` (an integer id per row, for control tasks) and
``stats`` (a cache of sufficient statistics shared between methods of one layer) and
``property_columns`` (for each property among ``names``, ``(value names, bool [n_words,
n_values])`` of *every* value of the property in the corpus, whichever are scored). Methods
ignore what they do not use.

Each method is declared with :func:`register_method`, which records its name in the query
language, its argument kinds, value range, direction, defaults and version, and the tags the
scoring job, the binder, the demo and ``atlas method list`` read (whether it is in the default
set, its family and kind, whether it trains a probe, which context inputs and shared statistics
it uses). Parameters and version are stored with every score (a ``method`` row per
``(name, version, params_hash)``), so two parameterisations never overwrite each other.

This module holds the contract and the table :func:`register_method` fills; it imports no
method. Consumers read the table through :mod:`atlas.methods.registry`, which loads the
built-in methods and the plug-ins (entry points of group ``atlas.methods``) first.

Example::

    from atlas.methods.base import ScoreMethod, register_method

    @register_method("meanact", description="mean activation on the concept", family="corpus",
                     kind="concept", value_range=(None, None), defaults={})
    class MeanAct(ScoreMethod):
        def fit(self, X, Y, **context):
            Yf = Y.astype("float32")
            self.scores_ = (X.T @ Yf) / Yf.sum(0)
            return self
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from atlas.errors import MethodError, did_you_mean
from atlas.naming import is_reserved

#: A name the query language accepts for a score method (and not one of its keywords,
#: :func:`atlas.naming.is_reserved`, which reads them from the grammar).
METHOD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: What a method scores: ``concept`` (a neuron against a concept), ``pair`` (two neurons),
#: ``causal`` (a neuron against a concept by running the model).
KINDS = ("concept", "pair", "causal")

#: Families of methods (METHODS.md): from corpus statistics and ranks, from trained probes,
#: from interventions, without labels, across models.
FAMILIES = ("corpus", "probing", "causal", "unsupervised", "multi-model")

#: Context inputs the scoring job can hand to ``fit`` besides the cached statistics.
CONTEXT_INPUTS = ("names", "sentence_index", "word_types", "property_columns")

#: Shared sufficient statistics a method reads from ``context["stats"]`` (the job computes them
#: in one pass for every method of a layer): class ``sums`` (means), mask ``intersections``.
SHARED_STATS = ("sums", "intersections")

#: Property prefixes whose values form one multi-valued property (``upos:NOUN``, ``upos:VERB``, ...).
#: ``feat:Key=Value`` concepts group by ``feat:Key``.
PROPERTY_PREFIXES = ("upos", "xpos", "deprel")


class ScoreMethod:
    """Base class of scoring methods (scikit-learn style; see the module docstring).

    Subclasses list their parameters as keyword arguments of ``__init__`` (or rely on the
    registered ``defaults``) and implement :meth:`fit`.
    """

    #: Filled in by :func:`register_method`.
    spec: MethodSpec

    def __init__(self, **params: Any) -> None:
        defaults = dict(getattr(type(self), "spec", None).defaults) if hasattr(type(self), "spec") else {}
        defaults.update(params)
        self._params = defaults

    def get_params(self) -> dict[str, Any]:
        """The method's parameters (defaults merged with the ones given)."""
        return dict(self._params)

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self._params.items()))
        return f"{type(self).__name__}({args})"


@dataclass(frozen=True)
class MethodSpec:
    """What the registry knows about a method.

    Attributes:
        name: name in the query language (``iou``).
        description: one line for ``atlas method list`` and ``show methods``.
        family: one of :data:`FAMILIES` (``corpus``: from sufficient statistics and ranks;
            ``probing``: from trained probes; ...).
        value_range: ``(min, max)``; ``None`` for an open end.
        higher_is_more: whether a higher value means "more of the concept".
        defaults: default parameters (stored, with the version, on each ``method`` row).
        version: bumped when the computation changes.
        level: ``token`` or ``sentence`` (the unit of analysis).
        args: argument kinds in the query language, e.g. ``("concept",)``.
        estimator: the :class:`ScoreMethod` subclass.
        reference: the METHODS.md section it follows.
        kind: one of :data:`KINDS` (``concept`` for every built-in method).
        default: whether ``score()`` runs it when no method is named (the default set).
        needs_probe: it trains a probe per layer: opt-in, by default fitted on the named
            concepts and ``upos:*`` only, and its per-layer ``results_`` are stored as
            ``probe_result`` rows.
        needs: context inputs of :data:`CONTEXT_INPUTS` that ``fit`` cannot do without.
        stats: shared statistics of :data:`SHARED_STATS` it reads from ``context["stats"]``;
            a method reading ``intersections`` has ``alpha`` and ``mask`` parameters.
        param_docs: one line per parameter (what it means, its values), for ``atlas method
            list``, ``show methods`` and the query language's ``method[param=value](...)``.
        values: the values a parameter takes, where they are a closed set (``{"mask": ("top",
            "fires", "size")}``): the query language resolves a bare value (``iou[fires](noun)``)
            to the one parameter that takes it.
        preposition: how English joins the method to its concept (``iou with noun``).
    """

    name: str
    description: str
    family: str
    value_range: tuple[float | None, float | None]
    higher_is_more: bool
    defaults: Mapping[str, Any]
    version: str
    level: str
    args: tuple[str, ...]
    estimator: type[ScoreMethod]
    reference: str = ""
    kind: str = "concept"
    default: bool = False
    needs_probe: bool = False
    needs: tuple[str, ...] = ()
    stats: tuple[str, ...] = ()
    preposition: str = "for"
    extra: Mapping[str, Any] = field(default_factory=dict)
    param_docs: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults merged with ``overrides``; unknown parameter names raise :class:`MethodError`.

        >>> from atlas.methods import registry
        >>> registry.get("iou").params({"alpha": 0.01})["alpha"]
        0.01
        """
        merged = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if key not in self.defaults:
                hint = did_you_mean(key, self.defaults) or f"parameters of {self.name}: {', '.join(self.defaults) or 'none'}"
                raise MethodError(f"method {self.name!r} has no parameter {key!r}", hint=hint)
            default = self.defaults[key]
            if default is not None and not isinstance(default, str) and isinstance(value, str):
                value = _coerce(self.name, key, value, default)
            merged[key] = value
        return merged

    def make(self, overrides: Mapping[str, Any] | None = None) -> ScoreMethod:
        """A new estimator with these parameters."""
        return self.estimator(**self.params(overrides))


def _coerce(method: str, key: str, value: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
        return type(default)(value)
    except ValueError:
        raise MethodError(
            f"parameter {key}={value!r} of method {method!r} is not a {type(default).__name__}",
            hint=f"the default is {default!r}",
        ) from None


def params_hash(params: Mapping[str, Any]) -> str:
    """The sha256 of the canonical JSON of ``params`` (what tells two parameterisations apart).

    >>> params_hash({"b": 1, "a": 2}) == params_hash({"a": 2, "b": 1})
    True
    """
    text = json.dumps(dict(params), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


#: Every registered method by name, in registration order (read it through
#: :mod:`atlas.methods.registry`, which loads the built-ins and plug-ins first).
_REGISTRY: dict[str, MethodSpec] = {}

T = TypeVar("T", bound=type[ScoreMethod])


def register_method(
    name: str,
    *,
    description: str,
    family: str = "corpus",
    kind: str = "concept",
    value_range: tuple[float | None, float | None] = (None, None),
    higher_is_more: bool = True,
    defaults: Mapping[str, Any] | None = None,
    version: str = "1",
    level: str = "token",
    args: tuple[str, ...] = ("concept",),
    reference: str = "",
    default: bool = False,
    needs_probe: bool = False,
    needs: tuple[str, ...] = (),
    stats: tuple[str, ...] = (),
    preposition: str = "for",
    param_docs: Mapping[str, str] | None = None,
    values: Mapping[str, tuple[Any, ...]] | None = None,
    replace: bool = False,
) -> Callable[[T], T]:
    """Class decorator that registers a :class:`ScoreMethod` under ``name``.

    The keyword arguments are the :class:`MethodSpec` fields (see there).

    Raises:
        MethodError: the name is not a valid query-language identifier or is one of its
            keywords, a tag has an unknown value, or the name is already registered (unless
            ``replace``).

    Example::

        @register_method("meandiff", description="mean on the concept minus mean elsewhere", default=True)
        class MeanDiff(ScoreMethod): ...
    """
    _check_name(name)
    merged = dict(defaults or {})
    _check_tags(name, family=family, kind=kind, needs=needs, stats=stats, defaults=merged)

    def wrap(cls: T) -> T:
        if name in _REGISTRY and not replace and _REGISTRY[name].estimator is not cls:
            raise MethodError(f"a score method named {name!r} is already registered", hint="pass replace=True")
        spec = MethodSpec(
            name=name,
            description=description,
            family=family,
            value_range=value_range,
            higher_is_more=higher_is_more,
            defaults=merged,
            version=version,
            level=level,
            args=tuple(args),
            estimator=cls,
            reference=reference,
            kind=kind,
            default=default,
            needs_probe=needs_probe,
            needs=tuple(needs),
            stats=tuple(stats),
            preposition=preposition,
            param_docs=dict(param_docs or {}),
            values={k: tuple(v) for k, v in (values or {}).items()},
        )
        cls.spec = spec
        _REGISTRY[name] = spec
        return cls

    return wrap


def _check_name(name: str) -> None:
    if not METHOD_NAME.match(name):
        raise MethodError(f"{name!r} cannot name a score method", hint="use lower-case letters, digits and _")
    if is_reserved(name):
        raise MethodError(
            f"{name!r} cannot name a score method: it is a keyword of the query language",
            hint=f"{name}(CONCEPT) would not parse; choose another name (the keywords are in atlas/query/grammar.lark)",
        )


def _check_tags(
    name: str, *, family: str, kind: str, needs: tuple[str, ...], stats: tuple[str, ...], defaults: Mapping[str, Any]
) -> None:
    for tag, value, allowed in (("kind", kind, KINDS), ("family", family, FAMILIES)):
        if value not in allowed:
            raise MethodError(f"method {name!r} has an unknown {tag} {value!r}", hint=f"{tag}s: {', '.join(allowed)}")
    for tag, values, allowed in (("needs", needs, CONTEXT_INPUTS), ("stats", stats, SHARED_STATS)):
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise MethodError(f"method {name!r} declares unknown {tag} {unknown}", hint=f"known: {', '.join(allowed)}")
    if "intersections" in stats and not {"alpha", "mask"} <= set(defaults):
        raise MethodError(
            f"method {name!r} reads the shared mask intersections but has no alpha and mask parameters",
            hint="the shared statistics are keyed by (alpha, mask); declare both in defaults",
        )


def property_of(name: str) -> str | None:
    """The multi-valued property a concept is a value of, or ``None`` for a binary concept.

    >>> property_of("upos:NOUN"), property_of("feat:Number=Plur"), property_of("negation")
    ('upos', 'feat:Number', None)
    """
    prefix, sep, value = name.partition(":")
    if not sep:
        return None
    if prefix in PROPERTY_PREFIXES:
        return prefix
    if prefix == "feat" and "=" in value:
        return "feat:" + value.split("=", 1)[0]
    return None


def property_groups(names: list[str]) -> dict[str, list[int]]:
    """Column indices of ``names`` grouped by :func:`property_of` (binary concepts left out).

    >>> property_groups(["upos:NOUN", "negation", "upos:VERB"])
    {'upos': [0, 2]}
    """
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        prop = property_of(n)
        if prop is not None:
            groups.setdefault(prop, []).append(i)
    return groups
