"""The bound statement: a syntax tree whose names resolved against the catalog.

The binder (:mod:`atlas.query.binder`) makes these; the compiler and the composite step read
them. They live here, before both, so that the compiler needs the types and not the binder.

Example::

    bound = bind(db.engine, parse("neurons in bert where iou(noun) > 0.3"))
    bound.ref(call).concept_id
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import atlas.query.ast as ast
from atlas.query.canonical import operand_text

def params_json(params: dict[str, Any] | None) -> str:
    """Parameters as canonical JSON text (sorted keys, no spaces), as sources show them.

    >>> params_json({"threshold": "quantile", "alpha": 0.005})
    '{"alpha":0.005,"threshold":"quantile"}'
    """
    return json.dumps(params or {}, sort_keys=True, separators=(",", ":"), default=str)


#: Rows a query returns when it says no ``limit``; the most it may ask for.
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: The largest whole number a query may compare with an integer column (PostgreSQL ``integer``).
INT_MAX = 2**31 - 1
#: The most distinct score references (joins) one query may make.
MAX_REFS = 16
#: Neuron fields usable in conditions and ``order by``: name → (source, column).
FIELDS = {
    "layer": ("neuron", "layer"),
    "unit": ("neuron", "unit"),
    "depth": ("depth", "depth"),
    "mean": ("stat", "mean"),
    "std": ("stat", "std"),
    "min": ("stat", "min"),
    "max": ("stat", "max"),
    "fire_rate": ("stat", "fire_rate"),
    "threshold": ("stat", "threshold"),
    # the neuron's best stored compositional explanation (highest IoU; atlas explain)
    "explanation": ("explanation", "formula"),
    "explanation iou": ("explanation", "iou"),
    "explanation score": ("explanation", "score"),
    "explanation length": ("explanation", "length"),
    # a lab's label on the neuron (a ``note`` row with a label): ``label = "negation detector"``
    "label": ("note", "label"),
}
#: The text field of explanations (compared with = / != "FORMULA", or: mentions CONCEPT).
EXPLANATION_TEXT = "explanation"
#: Fields of a ``probes`` condition: name → "text" (= or != a name) or "number".
PROBE_FIELDS = {"task": "text", "metric": "text", "method": "text", "layer": "number", "value": "number"}
#: Fields of an ``agreement`` condition (the ``agreement`` table's figures).
AGREEMENT_FIELDS = {"site": "text", "n": "number", "n_units": "number", "jaccard": "number", "spearman": "number"}
#: What ``count``, ``compare`` and the aggregates may group by (``concept`` with a ``method(*)``).
GROUPS = ("model", "layer", "depth", "concept")


@dataclass
class ModelInfo:
    """One model as a query sees it."""

    id: int
    name: str
    n_layers: int
    widths: dict[str, int]  # site → units per layer
    score_run: int | None  # latest done run with complete score sets (composite concepts read its corpus)
    stat_run: int | None  # latest done run with neuron statistics
    corpus_id: int | None  # corpus of score_run
    probe_run: int | None = None  # probes: latest done run with probe results
    agreement_run: int | None = None  # agreement: latest done run with agreement rows of the concept
    agreement_methods: list[AgreementMethod] = field(default_factory=list)  # agreement: the method rows it reads
    sets: dict[tuple[Any, ...], ScoreSource] = field(default_factory=dict)  # ScoreRef.key → the set it reads


@dataclass(frozen=True)
class AgreementMethod:
    """One method row an ``agreement`` statement reads for a model: the label its column shows
    (the query's own text, ``iou[fires]``; for ``*`` the name, with the parameters that differ
    from the defaults), the row, its parameters (JSON text) and its place in the query."""

    label: str
    method_id: int
    params: str
    order: int
    fallback: bool = False  # named without parameters, and no row with the defaults was stored


@dataclass(frozen=True)
class ScoreSource:
    """The score set a query reads for one model's ``method(concept)`` (see
    :func:`atlas.query.binder.load_sets`)."""

    set_id: int
    run_id: int
    method_id: int
    params: str  # the method row's parameters, as JSON text
    fallback: bool = False  # an unparameterised call found no set with the method's defaults: the newest of any


@dataclass(frozen=True)
class ScoreRef:
    """A distinct ``method(concept)`` the query reads (stored, or composite when ``formula``)."""

    method: str
    label: str  # canonical text, the output column name
    concept_id: int | None  # stored concept; None for a composite
    formula: str | None  # canonical concept formula of a composite
    call: ast.Call
    params: dict[str, Any] | None = None  # the call's parameters, resolved (None: the default parameterisation)

    every: bool = False  # method(*): every concept the method has a stored set of
    similar: tuple[Any, ...] | None = None  # maxcorr/mincorr/linreg: the correlations read (atlas.query.similar.Link)

    @property
    def key(self) -> tuple[Any, ...]:
        """What ``ModelInfo.sets`` is keyed by: ``(method, concept id)``, plus the canonical
        parameter text for a parameterised call."""
        return self.key_for(self.concept_id)

    def key_for(self, concept_id: int | None) -> tuple[Any, ...]:
        """The ``sets`` key of this call's method and parameters with ``concept_id`` (for ``*``)."""
        if self.params is None:
            return (self.method, concept_id)
        return (self.method, concept_id, params_json(self.params))


#: Comparison operators of the grammar, as Python callables (SQLAlchemy columns and pandas
#: series both overload them).
OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}


def scope_conditions(
    filters: tuple[ast.Filter, ...] | list[ast.Filter],
    default_site: str | None,
    *,
    layer: Any,
    site: Any,
    depth: Any,
    number: Callable[[float], Any] = float,
) -> list[Any]:
    """The conditions a statement's layer, depth and site filters put on a neuron.

    One definition for two evaluators: the compiler passes SQL columns (and gets SQL
    conditions), the prefilter passes one ``layer`` row's Python values (and gets booleans).
    ``number`` wraps the depth bound (the compiler makes it a typed literal). Without an
    explicit ``site`` filter, ``default_site`` (``neurons`` = mlp, ``dims`` = resid) applies.

    >>> scope_conditions([ast.LayerRange(2, 4)], "mlp", layer=3, site="mlp", depth=0.5)
    [True, True]
    """
    out: list[Any] = []
    site_given = False
    for f in filters:
        if isinstance(f, ast.LayerCmp):
            out.append(OPS[f.op](layer, f.value))
        elif isinstance(f, ast.LayerRange):
            out.append(layer.between(f.low, f.high) if hasattr(layer, "between") else f.low <= layer <= f.high)
        elif isinstance(f, ast.DepthCmp):
            out.append(OPS[f.op](depth, number(f.value)))
        elif isinstance(f, ast.SiteIs):
            site_given = True
            out.append(site == f.site if f.op == "=" else site != f.site)
    if not site_given and default_site:
        out.append(site == default_site)
    return out


def as_stored(value: float) -> float:
    """``value`` rounded to float32, the precision scores are stored at (±inf beyond its range)."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


@dataclass
class Bound:
    """A statement whose names all resolved."""

    statement: ast.Statement
    models: list[ModelInfo] = field(default_factory=list)
    refs: list[ScoreRef] = field(default_factory=list)
    stats: list[str] = field(default_factory=list)  # neuron_stat columns read
    explained: list[str] = field(default_factory=list)  # explanation fields read (FIELDS source "explanation")
    uses_depth: bool = False
    limit: int = DEFAULT_LIMIT
    limit_given: bool = False  # the user chose the limit (the query's ``limit``, or ``limit=``)
    site: str | None = None  # the site the units default to
    neuron: ModelInfo | None = None  # top tokens: the neuron's model
    warnings: list[str] = field(default_factory=list)  # what the answer silently lacks (unscored models)
    concept_id: int | None = None  # agreement: the concept
    candidates: dict[int, np.ndarray] | None = None  # layer id → the only units that can match (atlas.query.prefilter)
    links: list[Any] = field(default_factory=list)  # similar to / layers of: the correlations read (atlas.query.similar.Link)
    layer_method: str | None = None  # layers of: the layer measure

    def ref(self, call: ast.Call) -> ScoreRef:
        """The reference a call resolved to."""
        label = operand_text(call)
        for r in self.refs:
            if r.label == label:
                return r
        raise KeyError(label)

    @property
    def composite(self) -> bool:
        return any(r.formula is not None for r in self.refs)

    @property
    def every(self) -> ScoreRef | None:
        """The query's ``method(*)`` reference, if any (at most one)."""
        return next((r for r in self.refs if r.every), None)

    def every_sets(self, model: ModelInfo) -> dict[int, ScoreSource]:
        """concept id → the set ``method(*)`` reads of ``model``."""
        ref = self.every
        if ref is None:
            return {}
        return {key[1]: src for key, src in model.sets.items() if key[0] == ref.method and key == ref.key_for(key[1])}
