"""Bound statement → SQLAlchemy Core ``Select`` (dialect-agnostic, every user value bound).

Scores are stored packed, 256 units a row (:mod:`atlas.store.scores`), and the binder has
already picked, per model, the score set each ``method(concept)`` reads (the newest complete
one). So each distinct ``method(concept)`` becomes one aliased join of ``score_vector`` on
(set, the neuron's layer, the neuron's block of 256 units) and one value taken out of it: an
inner ``JOIN`` when a top-level condition needs the value (a comparison is false on NULL
anyway), else a ``LEFT JOIN``. Set ids are bound values from the catalog, never identifiers.
Output labels are fixed (``v0``, ``v1``, ...) and renamed in pandas, so no user text reaches
the SQL at all. Sorting adds a total order (model, site, layer, unit) after the user's, with
``NULLS LAST`` and the byte order of names (``COLLATE "C"`` on PostgreSQL), so both backends
return the same rows in the same order.

Example::

    plan = compile_bound(bind(engine, parse(text)), dialect="sqlite")
    rows = conn.execute(plan.select)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sqlalchemy import (
    REAL,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    collate,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

import atlas.query.ast as ast
from atlas.query import similar
from atlas.query.bound import EXPLANATION_TEXT, FIELDS, OPS, Bound, ModelInfo, ScoreRef, as_stored, scope_conditions
from atlas.store.tables import (
    SCORE_BLOCK,
    ActivationFile,
    Agreement,
    Concept,
    ConceptCount,
    Corpus,
    Explanation,
    Layer,
    Method,
    Model,
    Neuron,
    NeuronStat,
    Note,
    ProbeResult,
    Run,
    ScoreSet,
    ScoreVector,
    Sentence,
    Token,
    TopActivation,
)

#: Depth buckets of ``by depth`` (quarters: 0-0.25, 0.25-0.5, ...).
DEPTH_BUCKETS = 4
#: The most neurons a composite-concept query evaluates after its SQL filters.
MAX_COMPOSITE_NEURONS = 20_000



@dataclass
class Plan:
    """What to run and how to shape its rows into the answer."""

    kind: str  # neurons | count | compare | aggregate | probes | agreement | top_tokens | notes | neuron | words | explanations | similar | layers | show
    select: Select[Any]
    rename: dict[str, str] = field(default_factory=dict)  # SQL label → output column
    residual: ast.Condition | None = None  # conditions evaluated in pandas (composite concepts)
    order: tuple[ast.OrderItem, ...] = ()  # applied in pandas when composite
    limit: int = 100
    composite_refs: list[ScoreRef] = field(default_factory=list)
    by: str | None = None
    bound: Bound | None = None
    totals: Select[Any] | None = None  # count: every neuron per group (zero-match groups, n_neurons)
    median: Select[Any] | None = None  # aggregate median: the median per group (a second statement)
    parts: dict[str, Any] = field(default_factory=dict)  # neuron / words: the other statements (atlas.query.views)


def as_stored_array(values: Any) -> np.ndarray:
    """Scores at the precision they are stored and shown: each value's float32, as the shortest
    decimal that reads back as that float32 (0.834, not 0.8339999914169312); NaN stays NaN."""
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        return arr.astype(np.float32).astype(str).astype(np.float64)


def explanation_value(neuron_id: Any, column: str) -> Any:
    """A column of a neuron's best stored explanation (highest IoU, then the shortest formula,
    then the oldest row), as a scalar subquery; NULL without explanations."""
    e = Explanation.__table__.alias("ex")
    best = select(e.c[column]).where(e.c.neuron_id == neuron_id).order_by(e.c.iou.desc(), e.c.length, e.c.id).limit(1)
    return best.scalar_subquery()


def mentions_pattern(concept: str) -> str:
    """The LIKE pattern (escape ``\\``) of a formula that mentions ``concept``: the name between
    spaces, once the formula's parentheses are spaces and it is padded with spaces.

    >>> print(mentions_pattern("word:n't"), mentions_pattern("past_tense"))
    % word:n't % % past\\_tense %
    """
    escaped = concept.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"% {escaped} %"


def padded_formula(formula: Any) -> Any:
    """`` formula `` with its parentheses as spaces: every concept name stands between spaces."""
    return literal(" ") + func.replace(func.replace(formula, "(", " "), ")", " ") + literal(" ")


def _is_stored(node: ast.Operand) -> bool:
    return isinstance(node, ast.Call) and not node.composite


def _unpacked(vals: Any, index: Any, dialect: str) -> ColumnElement[Any]:
    """One value of a packed score vector, NULL for NaN (``atlas.store.views``): an array
    subscript on PostgreSQL, the ``atlas_value`` function every SQLite connection has."""
    if dialect == "postgresql":
        item = type_coerce(vals, postgresql.ARRAY(REAL))[index + 1]
        return cast(func.nullif(item, literal("NaN").cast(REAL)), Float)
    return func.atlas_value(vals, index, type_=Float)


def _sortable(col: Any, dialect: str) -> Any:
    return collate(col, "C") if dialect == "postgresql" else col


def _conjuncts(cond: ast.Condition | None) -> list[ast.Condition]:
    if cond is None:
        return []
    if isinstance(cond, ast.And):
        return list(cond.items)
    return [cond]


def _has_composite(node: object) -> bool:
    return any(c.composite for c in ast.iter_calls(node))


class _Scope:
    """The FROM clause of a neuron query: neuron ⋈ model, score aliases, neuron_stat."""

    def __init__(self, bound: Bound, required: set[str], dialect: str, *, stored_only: bool = True) -> None:
        self.bound = bound
        self.n = Neuron.__table__
        self.m = Model.__table__
        self.from_ = self.n.join(self.m, self.m.c.id == self.n.c.model_id)
        self.values: dict[str, ColumnElement[Any]] = {}
        self.concept: Any = None
        for i, ref in enumerate(r for r in bound.refs if r.formula is None):
            if ref.similar is not None:  # maxcorr(M) and kin: atlas.query.similar
                star = isinstance(ref.call.arg, ast.ConceptAll)
                self.values[ref.label] = similar.neuron_value(ref.method, star, list(ref.similar), self.n)
                continue
            if ref.every:
                self._join_every(ref, i, dialect)
                continue
            sets = [m.sets[ref.key].set_id for m in bound.models if ref.key in m.sets]
            if not sets:
                self.values[ref.label] = cast(null(), Float)
                continue
            v = ScoreVector.__table__.alias(f"s{i}")
            on = and_(
                v.c.set_id == sets[0] if len(sets) == 1 else v.c.set_id.in_(sets),
                v.c.layer_id == self.n.c.layer_id,
                v.c.block == self.n.c.unit // SCORE_BLOCK,
            )
            self.from_ = self.from_.join(v, on, isouter=ref.label not in required)
            self.values[ref.label] = _unpacked(v.c.vals, self.n.c.unit % SCORE_BLOCK, dialect)
        self.stat = None
        if bound.stats:
            runs = [m.stat_run for m in bound.models if m.stat_run is not None]
            st = NeuronStat.__table__.alias("ns")
            self.stat = st
            on = and_(st.c.neuron_id == self.n.c.id, st.c.run_id.in_(runs) if runs else false())
            self.from_ = self.from_.join(st, on, isouter=True)
        self.depth = cast(self.n.c.layer, Float) / cast(self.m.c.n_layers, Float)

    def _join_every(self, ref: ScoreRef, i: int, dialect: str) -> None:
        """``method(*)``: an inner join of the vectors of every set it reads (a row per neuron
        and concept), then ``score_set`` and ``concept`` for the concept's name."""
        sets = sorted(src.set_id for m in self.bound.models for src in self.bound.every_sets(m).values())
        v = ScoreVector.__table__.alias(f"s{i}")
        ss = ScoreSet.__table__.alias("every_set")
        c = Concept.__table__.alias("every_concept")
        on = and_(v.c.set_id.in_(sets) if sets else false(), v.c.layer_id == self.n.c.layer_id,
                  v.c.block == self.n.c.unit // SCORE_BLOCK)
        self.from_ = self.from_.join(v, on).join(ss, ss.c.id == v.c.set_id).join(c, c.c.id == ss.c.concept_id)
        self.values[ref.label] = _unpacked(v.c.vals, self.n.c.unit % SCORE_BLOCK, dialect)
        self.concept = c.c.name

    def operand(self, node: ast.Operand, stored: bool = False) -> Any:
        """The SQL of an operand; with ``stored``, a number compared with a stored score is
        rounded to float32 as the score was, so ``iou(noun) > 0.3`` means what it says for a
        stored 0.3."""
        if isinstance(node, ast.Call):
            return self.values[self.bound.ref(node).label]
        if isinstance(node, ast.Field):
            source, column = FIELDS[node.name]
            if source == "neuron":
                return self.n.c[column]
            if source == "explanation":
                return explanation_value(self.n.c.id, column)
            if source == "depth":
                return self.depth
            assert self.stat is not None
            return self.stat.c[column]
        if isinstance(node, ast.Number):
            return literal(as_stored(node.value) if stored else node.value, Float)
        raise AssertionError("strings are rejected by the binder")  # pragma: no cover

    def label_condition(self, node: ast.Compare) -> ColumnElement[bool]:
        """``label = "..."``: the neuron has a note with that label (``!=``: has none); on
        PostgreSQL row-level security decides whose private labels count."""
        text_node = node.right if isinstance(node.right, ast.String) else node.left
        assert isinstance(text_node, ast.String)
        note = Note.__table__.alias("lb")
        found = exists(select(note.c.id).where(note.c.neuron_id == self.n.c.id,
                                               note.c.label == literal(text_node.value, String)))
        return found if node.op == "=" else not_(found)

    def condition(self, node: ast.Condition) -> ColumnElement[bool]:
        if isinstance(node, ast.Compare) and (node.op == "mentions" or _text_compare(node)):
            return self._explanation_text(node)
        if isinstance(node, ast.Compare) and any(isinstance(o, ast.Field) and o.name == "label"
                                                 for o in (node.left, node.right)):
            return self.label_condition(node)
        if isinstance(node, ast.Compare):
            stored = _is_stored(node.left) or _is_stored(node.right)
            return OPS[node.op](self.operand(node.left, stored), self.operand(node.right, stored))  # type: ignore[no-any-return]
        if isinstance(node, ast.Between):
            stored = _is_stored(node.operand)
            low, high = self.operand(node.low, stored), self.operand(node.high, stored)
            return self.operand(node.operand).between(low, high)  # type: ignore[no-any-return]
        if isinstance(node, ast.IsMissing):
            value = self.operand(node.operand)
            return value.is_not(None) if node.negated else value.is_(None)  # type: ignore[no-any-return]
        if isinstance(node, ast.Has):
            return self.operand(node.operand).is_not(None)  # type: ignore[no-any-return]
        if isinstance(node, ast.Not):
            return not_(self.condition(node.operand))
        if isinstance(node, ast.And):
            return and_(*(self.condition(i) for i in node.items))
        return or_(*(self.condition(i) for i in node.items))

    def _explanation_text(self, node: ast.Compare) -> ColumnElement[bool]:
        """``explanation = "FORMULA"`` (its canonical text) and ``explanation mentions CONCEPT``."""
        from atlas.explain.search import canonical_text

        formula = explanation_value(self.n.c.id, "formula")
        text = node.right if isinstance(node.right, ast.String) else node.left
        assert isinstance(text, ast.String)
        if node.op == "mentions":
            return padded_formula(formula).like(mentions_pattern(text.value), escape="\\")  # type: ignore[no-any-return]
        return OPS[node.op](formula, canonical_text(text.value))  # type: ignore[no-any-return]

    def candidate_filter(self) -> list[ColumnElement[bool]]:
        """The prefilter's restriction (:mod:`atlas.query.prefilter`): only the units that can
        match the score comparisons, per layer; nothing when there is no prefilter."""
        found = self.bound.candidates
        if found is None:
            return []
        n = self.n
        if not found:
            return [false()]
        parts = [and_(n.c.layer_id == layer, n.c.unit.in_(units.tolist())) for layer, units in sorted(found.items())]
        return [parts[0] if len(parts) == 1 else or_(*parts)]

    def base_filters(self, filters: tuple[ast.Filter, ...]) -> list[ColumnElement[bool]]:
        n = self.n
        ids = [m.id for m in self.bound.models]
        out: list[ColumnElement[bool]] = [n.c.model_id == ids[0] if len(ids) == 1 else n.c.model_id.in_(ids)]
        out += scope_conditions(filters, self.bound.site, layer=n.c.layer, site=n.c.site, depth=self.depth,
                                number=lambda v: literal(v, Float))
        return out


def _text_compare(node: ast.Compare) -> bool:
    return any(isinstance(o, ast.Field) and o.name == EXPLANATION_TEXT for o in (node.left, node.right))


def _required(conjuncts: list[ast.Condition], bound: Bound) -> set[str]:
    """Score references that a top-level condition needs to be non-NULL (inner joins)."""
    out: set[str] = set()
    for c in conjuncts:
        if isinstance(c, (ast.Compare, ast.Between, ast.Has)):
            for call in ast.iter_calls(c):
                if not call.composite:
                    out.add(bound.ref(call).label)
    return out


def compile_bound(bound: Bound, *, dialect: str = "sqlite") -> Plan:
    """Compile a bound statement for ``dialect`` ("sqlite" or "postgresql").

    Example:
        >>> plan = compile_bound(bind(engine, parse("show models")))  # doctest: +SKIP
        >>> plan.kind  # doctest: +SKIP
        'show'
    """
    st = bound.statement
    if isinstance(st, ast.NeuronQuery):
        return _neurons(bound, st, dialect)
    if isinstance(st, (ast.CountQuery, ast.CompareQuery)):
        return _grouped(bound, st, dialect)
    if isinstance(st, ast.AggregateQuery):
        return _aggregate(bound, st, dialect)
    if isinstance(st, ast.ProbesQuery):
        return _probes(bound, st, dialect)
    if isinstance(st, ast.AgreementQuery):
        return _agreement(bound, st, dialect)
    if isinstance(st, ast.TopTokens):
        return _top_tokens(bound, st)
    if isinstance(st, ast.NotesQuery):
        return _notes(bound, st)
    if isinstance(st, (ast.NeuronView, ast.WordsQuery)):
        return _neuron_plan(bound, st)
    if isinstance(st, ast.ExplainView):
        assert bound.neuron is not None
        return Plan(kind="explanations", select=explanations_select(_neuron_id(bound.neuron, st.neuron)),
                    limit=bound.limit, bound=bound)
    if isinstance(st, ast.SimilarQuery):
        assert bound.neuron is not None
        ref = st.neuron
        q = similar.similar_select(bound.neuron.id, ref.site, ref.layer, ref.unit, bound.links, bound.limit)
        return Plan(kind="similar", select=q, limit=bound.limit, bound=bound)
    if isinstance(st, ast.LayersQuery):
        a, b = bound.models
        tests: list[Callable[[Any], Any]] = []
        for f in st.filters:
            if isinstance(f, ast.LayerCmp):
                tests.append(lambda col, f=f: OPS[f.op](col, f.value))
            elif isinstance(f, ast.LayerRange):
                tests.append(lambda col, f=f: col.between(f.low, f.high))
        cid = bound.links[0].correlation_id if bound.links else None
        q = similar.layers_select(a.id, b.id, bound.site or "mlp", bound.layer_method or "cka", cid, tests)
        return Plan(kind="layers", select=q, limit=bound.limit, bound=bound)
    assert isinstance(st, ast.Show)
    return _show(bound, st, dialect)


def _neurons(bound: Bound, st: ast.NeuronQuery, dialect: str) -> Plan:
    conjuncts = _conjuncts(st.where)
    sql_part = [c for c in conjuncts if not _has_composite(c)]
    residual_items = [c for c in conjuncts if _has_composite(c)]
    order_composite = any(_has_composite(o) for o in st.order)
    scope = _Scope(bound, _required(sql_part, bound), dialect)
    n, m = scope.n, scope.m
    cols: list[Any] = [
        n.c.id.label("neuron_id"),
        m.c.name.label("model"),
        n.c.site.label("site"),
        n.c.layer.label("layer"),
        n.c.unit.label("unit"),
    ]
    rename: dict[str, str] = {}
    for i, ref in enumerate(r for r in bound.refs if r.formula is None):
        cols.append(scope.values[ref.label].label(f"v{i}"))
        rename[f"v{i}"] = ref.label
    if scope.stat is not None:
        for name in bound.stats:
            cols.append(scope.stat.c[FIELDS[name][1]].label(f"st_{name}"))
            rename[f"st_{name}"] = name
    if bound.uses_depth:
        cols.append(scope.depth.label("depth"))
    for i, name in enumerate(bound.explained):
        value = scope.operand(ast.Field(name=name))
        if name == EXPLANATION_TEXT:
            cols.append(value.label(name))
        else:
            cols.append(value.label(f"ex{i}"))
            rename[f"ex{i}"] = name
    where = scope.base_filters(st.filters) + scope.candidate_filter() + [scope.condition(c) for c in sql_part]
    tail = [_sortable(m.c.name, dialect), _sortable(n.c.site, dialect), n.c.layer, n.c.unit]
    composite = bool(residual_items) or order_composite
    if composite:
        order_by = tail
        limit = MAX_COMPOSITE_NEURONS + 1
    else:
        order_by = []
        for item in st.order:
            expr = scope.operand(item.expr)
            order_by.append((expr.desc() if item.descending else expr.asc()).nulls_last())
        order_by += tail
        limit = bound.limit + 1  # one more row than shown: says whether the limit cut the answer
    q = select(*cols).select_from(scope.from_).where(*where).order_by(*order_by).limit(limit)
    residual = None
    if residual_items:
        residual = residual_items[0] if len(residual_items) == 1 else ast.And(items=tuple(residual_items))
    return Plan(
        kind="neurons",
        select=q,
        rename=rename,
        residual=residual,
        order=st.order if composite else (),
        limit=bound.limit,
        composite_refs=[r for r in bound.refs if r.formula is not None],
        bound=bound,
    )


def _grouped(bound: Bound, st: ast.CountQuery | ast.CompareQuery, dialect: str) -> Plan:
    conjuncts = _conjuncts(st.where)
    is_compare = isinstance(st, ast.CompareQuery)
    scope = _Scope(bound, set() if is_compare else _required(conjuncts, bound), dialect)
    n, m = scope.n, scope.m
    by = st.by or ("depth" if is_compare else "model")
    keys, order, group = _group_keys(scope, by, dialect)
    where = scope.base_filters(st.filters)
    totals = None
    if is_compare or by == "concept":
        # by concept: every (neuron, concept) row is there (complete sets), so every group is
        # listed without a second statement
        cond = scope.condition(st.where) if st.where is not None else true()
        aggs = [func.count().label("n_neurons"), func.sum(case((cond, 1), else_=0)).label("n_matching")]
    else:
        totals = _totals(bound, st, by, dialect)
        where = where + scope.candidate_filter() + [scope.condition(c) for c in conjuncts]
        aggs = [func.count().label("n_matching")]
    q = select(*keys, *aggs).select_from(scope.from_).where(*where).group_by(*group).order_by(*order)
    return Plan(kind="compare" if is_compare else "count", select=q, by=by, limit=bound.limit, bound=bound, totals=totals)


class _LayerScope:
    """Neurons counted from the ``layer`` table: a layer of width w holds w neurons, so the
    totals of ``count ... by`` need no scan of the neuron table (the filters are the same ones)."""

    def __init__(self, bound: Bound) -> None:
        lay = Layer.__table__
        self.bound = bound
        self.n = select(lay.c.model_id, lay.c.index.label("layer"), lay.c.site, lay.c.width).subquery("lay")
        self.m = Model.__table__
        self.depth = cast(self.n.c.layer, Float) / cast(self.m.c.n_layers, Float)

    base_filters = _Scope.base_filters


def _totals(bound: Bound, st: ast.CountQuery | ast.CompareQuery, by: str, dialect: str) -> Select[Any]:
    """Every group of the named models (after the layer, depth and site filters) with its number of
    neurons, so groups where nothing matches are listed with n_matching 0."""
    scope = _LayerScope(bound)
    keys, order, group = _group_keys(scope, by, dialect)  # type: ignore[arg-type]
    total = cast(func.sum(scope.n.c.width), Integer).label("n_neurons")
    q = select(*keys, total).select_from(scope.n.join(scope.m, scope.m.c.id == scope.n.c.model_id))
    return q.where(*scope.base_filters(st.filters)).group_by(*group).order_by(*order)


def _group_keys(scope: _Scope, by: str, dialect: str) -> tuple[list[Any], list[Any], list[Any]]:
    """The labelled group keys of ``by`` (model, then layer or depth bucket), their sort order
    and their GROUP BY expressions."""
    n, m = scope.n, scope.m
    keys: list[Any] = [m.c.name.label("model")]
    order: list[Any] = [_sortable(m.c.name, dialect)]
    if by == "layer":
        keys.append(n.c.layer.label("layer"))
        order.append(n.c.layer)
    elif by == "depth":
        bucket = (n.c.layer * DEPTH_BUCKETS) // m.c.n_layers
        keys.append(bucket.label("bucket"))
        order.append(bucket)
    elif by == "concept":
        keys.append(scope.concept.label("concept"))
        order.append(_sortable(scope.concept, dialect))
    return keys, order, [k.element if hasattr(k, "element") else k for k in keys]


#: The aggregates of an aggregate statement, as SQL functions (``median`` is a window query).
AGGREGATES: dict[str, Callable[[Any], Any]] = {"max": func.max, "min": func.min, "mean": func.avg}


def _aggregate(bound: Bound, st: ast.AggregateQuery, dialect: str) -> Plan:
    """``max ap(noun) in m where COND by layer``: per group (every group of the named models,
    after the filters) the neurons, how many have a value and match, and the aggregate of those
    values. Every score is a LEFT JOIN and the condition a CASE, so empty groups stay listed.
    The median is a second statement: per group, the average of the middle one or two values by
    ``row_number()`` and ``count()`` windows (the same SQL on SQLite and PostgreSQL)."""
    scope = _Scope(bound, set(), dialect)
    by = st.by or "model"
    keys, order, group = _group_keys(scope, by, dialect)
    where = scope.base_filters(st.filters)
    value = scope.operand(st.score)
    if st.where is not None:
        value = case((scope.condition(st.where), value), else_=null())
    label = f"{st.func} {bound.ref(st.score).label}"
    aggs = [func.count().label("n_neurons"), func.count(value).label("n_values")]
    if st.func in AGGREGATES:
        aggs.append(AGGREGATES[st.func](value).label("value"))
    q = select(*keys, *aggs).select_from(scope.from_).where(*where).group_by(*group).order_by(*order)
    median = None
    if st.func == "median":
        window = {"partition_by": group}
        ranked = (
            select(*keys, value.label("v"), func.row_number().over(order_by=value, **window).label("rn"),
                   func.count().over(**window).label("cnt"))
            .select_from(scope.from_).where(*where, value.is_not(None))
        ).subquery("ranked")
        names = [k.name for k in keys]
        cols = [ranked.c[name] for name in names]
        median = (
            select(*cols, func.avg(ranked.c.v).label("value"))
            .where(or_(ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.rn == (ranked.c.cnt + 2) // 2))
            .group_by(*cols).order_by(*[_sortable(c, dialect) if c.name == "model" else c for c in cols])
        )
    return Plan(kind="aggregate", select=q, by=by, limit=bound.limit, bound=bound, median=median, rename={"value": label})


def _probes(bound: Bound, st: ast.ProbesQuery, dialect: str) -> Plan:
    """The stored probe figures of each model's latest done run with any (``probe_result``), a
    row per (model, method row, site, layer, task, metric); ``by layer`` pivots the metrics into
    columns in pandas. Runs come from the binder; every name compared is a bound value."""
    pr, ly, me, run, m = (t.__table__ for t in (ProbeResult, Layer, Method, Run, Model))
    runs = [info.probe_run for info in bound.models if info.probe_run is not None]
    depth = cast(ly.c.index, Float) / cast(m.c.n_layers, Float)
    cols = {"task": pr.c.task, "metric": pr.c.metric, "method": me.c.name, "layer": ly.c.index, "value": pr.c.value}
    where: list[Any] = [pr.c.run_id.in_(runs) if runs else false()]
    for f in st.filters:
        if isinstance(f, ast.LayerCmp):
            where.append(OPS[f.op](ly.c.index, f.value))
        elif isinstance(f, ast.LayerRange):
            where.append(ly.c.index.between(f.low, f.high))
        elif isinstance(f, ast.DepthCmp):
            where.append(OPS[f.op](depth, literal(f.value, Float)))
        elif isinstance(f, ast.SiteIs):
            where.append(ly.c.site == f.site if f.op == "=" else ly.c.site != f.site)
    if st.where is not None:
        where.append(_probe_condition(st.where, cols))
    q = (
        select(m.c.name.label("model"), me.c.name.label("method"), me.c.params.label("params"), ly.c.site.label("site"),
               ly.c.index.label("layer"), pr.c.task.label("task"), pr.c.metric.label("metric"), pr.c.value.label("value"))
        .select_from(pr.join(run, run.c.id == pr.c.run_id).join(m, m.c.id == run.c.model_id)
                     .join(ly, ly.c.id == pr.c.layer_id).join(me, me.c.id == pr.c.method_id))
        .where(*where)
        .order_by(_sortable(m.c.name, dialect), _sortable(me.c.name, dialect), me.c.id, _sortable(ly.c.site, dialect),
                  ly.c.index, _sortable(pr.c.task, dialect), _sortable(pr.c.metric, dialect))
        .limit(bound.limit + 1)
    )
    return Plan(kind="probes", select=q, by=st.by, limit=bound.limit, bound=bound)


def _agreement(bound: Bound, st: ast.AgreementQuery, dialect: str) -> Plan:
    """The stored agreement rows of the concept, per model: its agreement run and the method
    rows the binder picked (both ends of a pair among them), with the statement's conditions.
    Labels and the pairs' orientation (the query's order) are applied in pandas
    (``plan.parts["methods"]``: model name → {method id: :class:`AgreementMethod`})."""
    ag, m, run = Agreement.__table__, Model.__table__, Run.__table__
    per_model = []
    for info in bound.models:
        ids = sorted({a.method_id for a in info.agreement_methods})
        if info.agreement_run is not None and len(ids) > 1:
            per_model.append(and_(ag.c.run_id == info.agreement_run, ag.c.method_a.in_(ids), ag.c.method_b.in_(ids)))
    cols = {"site": ag.c.site, "n": ag.c.n, "n_units": ag.c.n_units, "jaccard": ag.c.jaccard, "spearman": ag.c.spearman}
    where: list[Any] = [ag.c.concept_id == bound.concept_id, or_(*per_model) if per_model else false()]
    if st.where is not None:
        where.append(_probe_condition(st.where, cols))
    q = (
        select(m.c.name.label("model"), ag.c.site.label("site"), ag.c.method_a.label("method_a"), ag.c.method_b.label("method_b"),
               ag.c.n.label("n"), ag.c.n_units.label("n_units"), ag.c.jaccard.label("jaccard"), ag.c.spearman.label("spearman"))
        .select_from(ag.join(run, run.c.id == ag.c.run_id).join(m, m.c.id == run.c.model_id))
        .where(*where)
        .order_by(_sortable(m.c.name, dialect), _sortable(ag.c.site, dialect), ag.c.n, ag.c.method_a, ag.c.method_b)
        .limit(bound.limit + 1)
    )
    methods = {info.name: {a.method_id: a for a in info.agreement_methods} for info in bound.models}
    return Plan(kind="agreement", select=q, limit=bound.limit, bound=bound, parts={"methods": methods})


def _probe_condition(node: ast.Condition, cols: dict[str, Any]) -> Any:
    """A probe (or agreement) condition in SQL: text fields against bound names, number fields
    against numbers."""
    if isinstance(node, ast.Compare):
        assert isinstance(node.left, ast.Field)
        right = node.right
        if isinstance(right, ast.Number):
            value: Any = literal(right.value, Float)
        else:
            value = literal(right.name if isinstance(right, ast.Field) else right.value)  # type: ignore[union-attr]
        return OPS[node.op](cols[node.left.name], value)
    if isinstance(node, ast.Between):
        assert isinstance(node.operand, ast.Field) and isinstance(node.low, ast.Number) and isinstance(node.high, ast.Number)
        return cols[node.operand.name].between(literal(node.low.value, Float), literal(node.high.value, Float))
    if isinstance(node, (ast.IsMissing, ast.Has)):
        assert isinstance(node.operand, ast.Field)
        col = cols[node.operand.name]
        present = isinstance(node, ast.Has) or node.negated
        return col.is_not(None) if present else col.is_(None)
    if isinstance(node, ast.Not):
        return not_(_probe_condition(node.operand, cols))
    parts = [_probe_condition(i, cols) for i in node.items]
    return and_(*parts) if isinstance(node, ast.And) else or_(*parts)


def explanations_select(neuron_id: Any) -> Select[Any]:
    """A neuron's stored explanations (``explain N`` and the neuron view's ``explanations``):
    per run and parameter set (newest run first), the best formula of at most ``max_length``
    concepts, shortest bound first."""
    e = Explanation.__table__
    return (
        select(e.c.max_length, e.c.formula, e.c.length, e.c.iou, e.c.score, e.c.metric, e.c.search,
               e.c.run_id.label("run"), e.c.params)
        .where(e.c.neuron_id == neuron_id)
        .order_by(e.c.run_id.desc(), e.c.search, e.c.metric, e.c.params_hash, e.c.max_length, e.c.id)
    )


def _neuron_id(model: ModelInfo, ref: ast.NeuronRef) -> Any:
    """The id of the neuron ``ref`` names, as a scalar subquery."""
    n = Neuron.__table__
    return (
        select(n.c.id)
        .where(n.c.model_id == model.id, n.c.site == ref.site, n.c.layer == ref.layer, n.c.unit == ref.unit)
        .scalar_subquery()
    )


def activation_file_select(model: ModelInfo, ref: ast.NeuronRef) -> Select[Any]:
    """The activation file of the neuron's layer in the model's latest done run that has one:
    run, path (under the store root), n_rows, corpus_id."""
    af, run, layer = ActivationFile.__table__, Run.__table__, Layer.__table__
    return (
        select(af.c.run_id.label("run"), af.c.path.label("path"), af.c.n_rows.label("n_rows"), run.c.corpus_id.label("corpus_id"))
        .select_from(af.join(run, run.c.id == af.c.run_id).join(layer, layer.c.id == af.c.layer_id))
        .where(run.c.model_id == model.id, run.c.status == "done", layer.c.site == ref.site, layer.c.index == ref.layer)
        .order_by(af.c.run_id.desc())
        .limit(1)
    )


def _neuron_plan(bound: Bound, st: ast.NeuronView | ast.WordsQuery) -> Plan:
    """``neuron N`` (select: its statistics; ``parts``: top words, activation file,
    explanations, notes) and ``words of N`` (select: its activation file; ``parts``: the tokens)."""
    ref, model = st.neuron, bound.neuron
    assert model is not None
    file = activation_file_select(model, ref)
    if isinstance(st, ast.WordsQuery):
        return Plan(kind="words", select=file, limit=bound.limit, bound=bound, by=st.by or "mean")
    n, ns = Neuron.__table__, NeuronStat.__table__
    stats = (
        select(n.c.id.label("neuron_id"), n.c.layer_id.label("layer_id"), ns.c.run_id.label("run"),
               *(ns.c[c].label(c) for c in ("mean", "std", "min", "max", "fire_rate", "threshold")))
        .select_from(n.outerjoin(ns, and_(ns.c.neuron_id == n.c.id, ns.c.run_id == model.stat_run)))
        .where(n.c.model_id == model.id, n.c.site == ref.site, n.c.layer == ref.layer, n.c.unit == ref.unit)
    )
    top_bound = Bound(statement=ast.TopTokens(neuron=ref), neuron=model, limit=NEURON_TOP_WORDS)
    ex, note = Explanation.__table__, Note.__table__
    explanations = explanations_select(_neuron_id(model, ref))
    notes = notes_select(_neuron_id(model, ref))
    parts = {"top": _top_tokens(top_bound, top_bound.statement), "file": file,  # type: ignore[arg-type]
             "explanations": explanations, "notes": notes}
    return Plan(kind="neuron", select=stats, limit=bound.limit, bound=bound, parts=parts)


def notes_select(neuron_id: Any) -> Select[Any]:
    """The notes and labels on one neuron, oldest first (``notes of N`` and the neuron view)."""
    note = Note.__table__
    return (
        select(note.c.id.label("note"), note.c.author, note.c.visibility, note.c.label, note.c.text,
               note.c.created_at)
        .where(note.c.neuron_id == neuron_id).order_by(note.c.created_at, note.c.id)
    )


def _notes(bound: Bound, st: ast.NotesQuery) -> Plan:
    assert bound.neuron is not None
    q = notes_select(_neuron_id(bound.neuron, st.neuron)).limit(bound.limit + 1)
    return Plan(kind="notes", select=q, limit=bound.limit, bound=bound)


#: Top words the neuron view shows.
NEURON_TOP_WORDS = 10


def _top_tokens(bound: Bound, st: ast.TopTokens) -> Plan:
    ref = st.neuron
    model = bound.neuron
    assert model is not None
    ta, tok, sen, run, n = (
        TopActivation.__table__,
        Token.__table__,
        Sentence.__table__,
        Run.__table__,
        Neuron.__table__,
    )
    neuron_id = (
        select(n.c.id)
        .where(n.c.model_id == model.id, n.c.site == ref.site, n.c.layer == ref.layer, n.c.unit == ref.unit)
        .scalar_subquery()
    )
    ta2 = TopActivation.__table__.alias("ta2")
    run2 = Run.__table__.alias("r2")
    latest = (
        select(func.max(ta2.c.run_id))
        .select_from(ta2.join(run2, run2.c.id == ta2.c.run_id))
        .where(ta2.c.neuron_id == neuron_id, run2.c.status == "done")
        .scalar_subquery()
    )
    q = (
        select(
            ta.c.rank.label("rank"),
            tok.c.form.label("token"),
            ta.c.value.label("value"),
            sen.c.index.label("sentence"),
            tok.c.position.label("position"),
            tok.c.sentence_id.label("sentence_id"),
            ta.c.run_id.label("run"),
        )
        .select_from(
            ta.join(run, run.c.id == ta.c.run_id)
            .join(tok, and_(tok.c.corpus_id == run.c.corpus_id, tok.c.row == ta.c.row))
            .join(sen, sen.c.id == tok.c.sentence_id)
        )
        .where(ta.c.neuron_id == neuron_id, ta.c.run_id == latest)
        .order_by(ta.c.rank)
        .limit(bound.limit + 1)
    )
    return Plan(kind="top_tokens", select=q, limit=bound.limit, bound=bound)


def _show(bound: Bound, st: ast.Show, dialect: str) -> Plan:
    if st.what == "models":
        n_neurons = select(func.count()).where(Neuron.model_id == Model.id).scalar_subquery()
        q = select(
            Model.name.label("name"),
            Model.family.label("family"),
            Model.n_layers.label("n_layers"),
            Model.d_model.label("d_model"),
            Model.d_mlp.label("d_mlp"),
            Model.random_init.label("random_init"),
            n_neurons.label("n_neurons"),
        ).order_by(_sortable(Model.name, dialect))
    elif st.what == "concepts":
        n_tokens = (
            select(func.coalesce(func.sum(ConceptCount.n_tokens), 0))
            .where(ConceptCount.concept_id == Concept.id)
            .scalar_subquery()
        )
        q = select(
            Concept.name.label("name"),
            Concept.kind.label("kind"),
            Concept.level.label("level"),
            n_tokens.label("n_tokens"),
            Concept.description.label("description"),
        ).order_by(_sortable(Concept.name, dialect))
        if st.like is not None:
            q = q.where(func.lower(Concept.name).like(func.lower(literal(st.like)), escape="\\"))
    elif st.what == "methods":
        q = select(
            Method.name.label("name"),
            Method.version.label("version"),
            Method.family.label("family"),
            Method.value_min.label("value_min"),
            Method.value_max.label("value_max"),
            Method.higher_is_more.label("higher_is_more"),
            Method.description.label("description"),
            Method.id.label("id"),
        ).order_by(_sortable(Method.name, dialect), Method.id)
    else:
        has_scores = exists().where(ScoreSet.run_id == Run.id, ScoreSet.status == "complete")
        q = (
            select(
                Run.id.label("id"),
                Model.name.label("model"),
                Corpus.name.label("corpus"),
                Run.status.label("status"),
                Run.n_words.label("n_words"),
                has_scores.label("has_scores"),
            )
            .select_from(Run.__table__.join(Model.__table__, Model.id == Run.model_id).join(Corpus.__table__, Corpus.id == Run.corpus_id))
            .order_by(Run.id)
        )
    return Plan(kind="show", select=q.limit(bound.limit + 1), limit=bound.limit, bound=bound)


def models_of(bound: Bound) -> dict[int, ModelInfo]:
    """model id → info, for the composite step."""
    return {m.id: m for m in bound.models}
