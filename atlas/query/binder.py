"""Names → catalog objects: the binder checks a syntax tree against the atlas and collects errors.

The catalog is loaded in a few small queries: the models the query names (with their layer
count, sites and the run whose scores it reads), the concepts it names, and the method names
known to the atlas. Every problem is collected, then one :class:`~atlas.errors.QueryError`
is raised carrying all of them in ``errors`` (the renderer draws each one).

Which scores a query reads: for each model, the latest run with status ``done`` that has
scores; for each method name, the latest ``method`` row of that name with scores in that run.
``agreement of ...`` reads the ``agreement`` rows of each model's latest done run that has some
for the concept (:func:`_bind_agreement`).

Example::

    bound = bind(db.engine, parse("neurons in bert where iou(noun) > 0.3"))
    bound.refs[0].label   # 'iou(noun)'
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, func, select, true

import atlas.query.ast as ast
from atlas.errors import AtlasError, QueryError, QueryLimitError, QueryNameError, QueryTypeError, did_you_mean
from atlas.methods import registry
from atlas.methods.causal import compute_command
from atlas.methods.agreement import derived_defaults
from atlas.naming import site_names, unit_site
from atlas.query import prefilter, similar
from atlas.query.bound import (
    AGREEMENT_FIELDS,
    DEFAULT_LIMIT,
    EXPLANATION_TEXT,
    FIELDS,
    GROUPS,
    INT_MAX,
    MAX_LIMIT,
    MAX_REFS,
    PROBE_FIELDS,
    AgreementMethod,
    Bound,
    ModelInfo,
    ScoreRef,
    ScoreSource,
    params_json,
)
from atlas.query.canonical import concept_text, formula_text, operand_text, param_text, params_text
from atlas.store.tables import Agreement, Concept, Layer, Method, Model, NeuronStat, ProbeResult, Run, ScoreSet

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_REFS", "Bound", "ModelInfo", "ScoreRef", "bind", "load_models", "method_names"]

#: The longest name each catalog column holds (a longer name cannot exist, so it is not looked up).
NAME_COLUMN_MAX = {"model": 200, "concept": 200, "method": 100}


def shown(name: str) -> str:
    """A name as an error message quotes it: at most 60 characters.

    >>> shown("noun"), shown("x" * 100)[-5:]
    ('noun', 'xx...')
    """
    return name if len(name) <= 60 else name[:57] + "..."


class _Errors:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[QueryError] = []

    def add(self, cls: type[QueryError], message: str, span: ast.Span, hint: str | None = None) -> None:
        self.items.append(cls(message, span=span, hint=hint, query=self.text))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]
        if len(self.items) > 1:
            first.message = f"{first.message} (and {len(self.items) - 1} more problem{'s' * (len(self.items) > 2)})"
            first.args = (first.message,)
        first.errors = list(self.items)  # type: ignore[attr-defined]
        raise first


def _choices_hint(word: str, choices: Iterable[str], what: str) -> str | None:
    choices = sorted(set(choices))
    hint = did_you_mean(word, choices, what=what)
    if hint:
        return hint
    if choices and len(choices) <= 12:
        return f"known {what}s: {', '.join(choices)}"
    if not choices:
        return f"this atlas has no {what}s yet"
    return None


def method_names(conn: Connection) -> set[str]:
    """Every method name a query may call: the registry's (built-ins and plug-ins) and the
    ones stored in the atlas (scored by a plug-in not installed here)."""
    names = set(registry.names())
    names |= set(conn.execute(select(Method.name).distinct()).scalars())
    return names


def load_models(conn: Connection, names: list[str]) -> dict[str, ModelInfo]:
    """The named models (those that exist) with layer counts, sites and the runs queries read."""
    names = [n for n in names if len(n) <= NAME_COLUMN_MAX["model"]]
    if not names:
        return {}
    rows = conn.execute(select(Model.id, Model.name, Model.n_layers).where(Model.name.in_(names))).all()
    out: dict[str, ModelInfo] = {}
    for mid, name, n_layers in rows:
        out[name] = ModelInfo(id=mid, name=name, n_layers=n_layers, widths={}, score_run=None, stat_run=None, corpus_id=None)
    if not out:
        return out
    by_id = {m.id: m for m in out.values()}
    ids = list(by_id)
    for model_id, site, width in conn.execute(
        select(Layer.model_id, Layer.site, func.max(Layer.width)).where(Layer.model_id.in_(ids)).group_by(Layer.model_id, Layer.site)
    ):
        by_id[model_id].widths[site] = width
    # "Has rows" is asked as min(next primary-key column) per run: both backends answer that
    # from an index in one probe (an EXISTS may be planned as a semi-join and a LIMIT 1 as a
    # sequential scan).
    def probe(column: Any, *conds: Any) -> Any:
        return select(func.min(column)).where(*conds).scalar_subquery()

    runs_of = conn.execute(
        select(
            Run.id,
            Run.model_id,
            Run.corpus_id,
            probe(ScoreSet.id, ScoreSet.run_id == Run.id, ScoreSet.status == "complete").label("scored"),
            probe(NeuronStat.neuron_id, NeuronStat.run_id == Run.id).label("stats"),
        ).where(Run.model_id.in_(ids), Run.status == "done")
    ).all()
    for run_id, model_id, corpus_id, scored, stats in sorted(runs_of):
        info = by_id[model_id]
        if scored is not None:
            info.score_run, info.corpus_id = run_id, corpus_id  # ascending ids: the latest wins
        if stats is not None:
            info.stat_run = run_id
    return out


def _spec_defaults(method: str) -> dict[str, Any] | None:
    """The registry's default parameters of ``method``, or a derived method's (``vote``:
    :mod:`atlas.methods.agreement`); None for a method not installed here."""
    return dict(registry.get(method).defaults) if method in registry.names() else derived_defaults(method)


def _same_params(stored: dict[str, Any], wanted: dict[str, Any], defaults: dict[str, Any] | None) -> bool:
    """Whether a method row's parameters are ``wanted``, both filled with the method's defaults
    (only the keys of ``wanted`` count for a method the registry does not know)."""
    if defaults is None:
        return all(k in stored and stored[k] == v for k, v in wanted.items())
    return {**defaults, **stored} == {**defaults, **wanted}


def load_sets(conn: Connection, models: list[ModelInfo], refs: list[ScoreRef]) -> None:
    """Fill each model's ``sets``: for every stored ``method(concept)`` of the query, the score
    set it reads, keyed by :attr:`ScoreRef.key`: of the model's done runs, the latest that has a
    complete set of that method, parameterisation and concept, and of its sets the newest.

    Which parameterisation: a call with parameters (``iou[alpha=0.01](noun)``) reads only method
    rows whose parameters, filled with the method's registered defaults, equal the call's, filled
    the same way. A call without parameters reads the default parameterisation (the registry's
    defaults) when one is stored, else the newest set of any parameterisation (``fallback``: the
    binder warns). A run being scored, or one whose job was killed, holds no complete set yet,
    so it hides nothing."""
    stored = [r for r in refs if r.concept_id is not None or r.every]
    if not stored or not models:
        return
    by_id = {m.id: m for m in models}
    defaults = {r.method: _spec_defaults(r.method) for r in stored}
    rows = conn.execute(
        select(ScoreSet.id, ScoreSet.run_id, ScoreSet.method_id, ScoreSet.concept_id, Run.model_id, Method.name, Method.params)
        .join(Run, Run.id == ScoreSet.run_id)
        .join(Method, Method.id == ScoreSet.method_id)
        .where(
            ScoreSet.status == "complete",
            Run.status == "done",
            Run.model_id.in_(list(by_id)),
            Method.name.in_(sorted({r.method for r in stored})),
            true() if any(r.every for r in stored) else ScoreSet.concept_id.in_(sorted({r.concept_id for r in stored if r.concept_id is not None})),
        )
        .order_by(ScoreSet.run_id, ScoreSet.id)
    )
    default_pick: dict[tuple[int, tuple[Any, ...]], ScoreSource] = {}
    any_pick: dict[tuple[int, tuple[Any, ...]], ScoreSource] = {}
    for set_id, run_id, method_id, concept_id, model_id, name, params in rows:
        params = params or {}
        source = ScoreSource(set_id, run_id, method_id, params_json(params))
        for ref in stored:  # ascending (run, set): the latest run's newest set wins
            if ref.method != name or not (ref.every or ref.concept_id == concept_id):
                continue
            spec, key = defaults[name], ref.key_for(concept_id)
            if ref.params is not None:
                if _same_params(params, ref.params, spec):
                    default_pick[(model_id, key)] = source
                continue
            any_pick[(model_id, key)] = replace(source, fallback=True)
            if spec is None and not params or spec is not None and _same_params(params, {}, spec):
                default_pick[(model_id, key)] = source
    for (model_id, key), source in any_pick.items():
        by_id[model_id].sets[key] = source
    for (model_id, key), source in default_pick.items():
        by_id[model_id].sets[key] = source


def _param_values(method: str, conn: Connection) -> dict[str, set[Any]]:
    """Every value each parameter of ``method`` is known to take: the registry's declared values
    (``MethodSpec.values`` or ``extra["values"]``), its default, and every stored method row's."""
    out: dict[str, set[Any]] = {}
    if method in registry.names():
        spec = registry.get(method)
        declared = getattr(spec, "values", None) or spec.extra.get("values", {}) or {}
        for key, default in spec.defaults.items():
            out.setdefault(key, set()).add(_hashable(default))
            out[key] |= {_hashable(v) for v in declared.get(key, ())}
    for key, default in (derived_defaults(method) or {}).items():
        out.setdefault(key, set()).add(_hashable(default))
    for params in conn.execute(select(Method.params).where(Method.name == method)).scalars():
        for key, value in (params or {}).items():
            out.setdefault(key, set()).add(_hashable(value))
    return out


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else json.dumps(value, sort_keys=True, default=str)


def _coerce_param(key: str, value: float | str, known: set[Any]) -> Any:
    """``value`` as the type the parameter's known values have (a whole float → int, a name →
    bool for a flag); None when the types cannot meet."""
    kinds = {type(v) for v in known if v is not None}
    if kinds <= {str} or not kinds:
        return value if isinstance(value, str) or not kinds else None
    if bool in kinds:
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        return None
    if isinstance(value, str):
        return None
    return int(value) if kinds <= {int} and float(value).is_integer() else value


def resolve_params(conn: Connection, call: ast.Call, errors: _Errors) -> dict[str, Any] | None:
    """The parameters of a call, resolved: ``key=value`` as given, and a bare value (``fires``)
    for the one parameter whose known values include it (:func:`_param_values`). Unknown keys,
    values of the wrong type, and a bare value no parameter (or several) takes are errors under
    the parameter. None when the call has no parameters."""
    if not call.params:
        return None
    values = _param_values(call.method, conn)
    out: dict[str, Any] = {}
    for p in call.params:
        if p.key is None:
            keys = sorted(k for k, vs in values.items() if p.value in vs and not isinstance(p.value, bool))
            if len(keys) != 1:
                known = "; ".join(f"{k}: {', '.join(sorted(map(str, vs)))}" for k, vs in sorted(values.items())) or "none"
                what = "no parameter" if not keys else f"more than one parameter ({', '.join(keys)})"
                errors.add(QueryNameError, f"{what} of {call.method} takes the value {param_text(p)}", p.span,
                           hint=f"write KEY=VALUE; known values of {call.method}'s parameters: {known}" if not keys
                           else f"write {keys[0]}={param_text(p)}")
                continue
            key, value = keys[0], p.value
        else:
            key = p.key
            if key not in values:
                errors.add(QueryNameError, f"{call.method} has no parameter '{shown(key)}'", p.span,
                           hint=_choices_hint(key, values, "parameter"))
                continue
            value = _coerce_param(key, p.value, values[key])
            if value is None:
                sample = ", ".join(sorted(map(str, values[key]))[:5])
                errors.add(QueryTypeError, f"{call.method}'s parameter {key} takes values like {sample}, not {param_text(p)}", p.span)
                continue
        if key in out:
            errors.add(QueryTypeError, f"the parameter {key} of {call.method} is given twice", p.span)
        out[key] = value
    return out


def load_concepts(conn: Connection, names: list[str]) -> dict[str, int]:
    """name → concept.id for the named concepts that exist."""
    names = [n for n in names if len(n) <= NAME_COLUMN_MAX["concept"]]
    if not names:
        return {}
    return {n: i for i, n in conn.execute(select(Concept.id, Concept.name).where(Concept.name.in_(sorted(set(names)))))}


def all_concept_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(Concept.name)).scalars())


def _concept_atoms(expr: ast.ConceptExpr | ast.ConceptAll) -> list[ast.ConceptName]:
    if isinstance(expr, ast.ConceptAll):
        return []
    if isinstance(expr, ast.ConceptName):
        return [expr]
    if isinstance(expr, ast.ConceptNot):
        return _concept_atoms(expr.operand)
    out: list[ast.ConceptName] = []
    for item in expr.items:
        out.extend(_concept_atoms(item))
    return out


def _check_types(cond: ast.Condition | None, errors: _Errors) -> None:
    def number_like(o: ast.Operand) -> bool:
        return not isinstance(o, ast.String)

    for n in ast.iter_predicates(cond):
        if isinstance(n, ast.Compare) and (n.op == "mentions" or _is_text(n.left, n.right)):
            continue  # explanation = "FORMULA", explanation mentions CONCEPT: _check_explanations
        if isinstance(n, ast.Compare) and (_is_label(n.left) or _is_label(n.right)):
            _check_label(n, errors)
        elif isinstance(n, ast.Compare):
            for side, other in ((n.left, n.right), (n.right, n.left)):
                if isinstance(side, ast.String):
                    errors.add(
                        QueryTypeError,
                        f"{operand_text(other)} is a number; it can't be compared to {operand_text(side)}",
                        side.span,
                        hint="compare scores and statistics to numbers, e.g. iou(noun) > 0.3",
                    )
                    break
            if isinstance(n.left, ast.Number) and isinstance(n.right, ast.Number):
                errors.add(QueryTypeError, "a comparison needs a score or a field on one side", n.span)
        elif isinstance(n, ast.Between):
            for o in (n.operand, n.low, n.high):
                if not number_like(o) or _is_label(o):
                    errors.add(QueryTypeError, f"between needs numbers, not {operand_text(o)}", o.span)
        elif isinstance(n, (ast.IsMissing, ast.Has)):
            o = n.operand
            is_stat = isinstance(o, ast.Field) and FIELDS.get(o.name, ("", ""))[0] in ("stat", "explanation")
            if not (isinstance(o, ast.Call) or is_stat):
                errors.add(
                    QueryTypeError,
                    f"only a score or a statistic can be missing, not {operand_text(o)}",
                    o.span,
                    hint="write has iou(noun) or iou(noun) is missing",
                )


def _is_text(*operands: ast.Operand) -> bool:
    """Whether a comparison involves the explanation's text (``explanation = "..."``)."""
    return any(isinstance(o, ast.Field) and o.name == EXPLANATION_TEXT for o in operands)


def _check_explanations(conn: Connection, cond: ast.Condition | None, errors: _Errors) -> None:
    """``explanation`` is text: ``= "FORMULA"`` / ``!= "FORMULA"`` (a concept formula, whose
    concepts must exist) and ``mentions CONCEPT`` (an existing concept); the numbers are
    ``explanation iou``, ``score`` and ``length``. ``mentions`` reads only ``explanation``."""
    import atlas.corpus.formula as fm

    for p in ast.iter_predicates(cond):
        if isinstance(p, ast.Between) and _is_text(p.operand):
            errors.add(QueryTypeError, "explanation is a formula, not a number", p.operand.span,
                       hint="compare explanation iou, score or length with numbers")
        if not isinstance(p, ast.Compare):
            continue
        if p.op == "mentions":
            if not (isinstance(p.left, ast.Field) and p.left.name == EXPLANATION_TEXT):
                errors.add(QueryTypeError, f"only explanation mentions a concept, not {operand_text(p.left)}", p.left.span,
                           hint="write: explanation mentions negation")
            names = [p.right.value] if isinstance(p.right, ast.String) else []
        elif _is_text(p.left, p.right):
            text, other = (p.right, p.left) if isinstance(p.left, ast.Field) and p.left.name == EXPLANATION_TEXT else (p.left, p.right)
            if not isinstance(text, ast.String) or p.op not in ("=", "!="):
                errors.add(QueryTypeError, "explanation is a formula: compare it with = or != and a quoted formula",
                           p.span, hint='write explanation = "noun and not plural", or compare explanation iou with a number')
                continue
            try:
                names = sorted(fm.names(fm.parse_formula(text.value)))
            except AtlasError as exc:
                errors.add(QueryTypeError, exc.message, text.span, hint=exc.hint)
                continue
        else:
            continue
        known = load_concepts(conn, names)
        for name in names:
            if name not in known:
                errors.add(QueryNameError, f"unknown concept '{shown(name)}'", p.right.span,
                           hint=_choices_hint(name, all_concept_names(conn), "concept"))


def _is_label(o: ast.Operand) -> bool:
    return isinstance(o, ast.Field) and o.name == "label"


def _check_label(n: ast.Compare, errors: _Errors) -> None:
    """``label = "negation detector"`` (or ``!=``): a label is equal or not to a quoted text."""
    other = n.right if _is_label(n.left) else n.left
    hint = 'write label = "negation detector" (or !=)'
    if not isinstance(other, ast.String):
        errors.add(QueryTypeError, f"a label is compared with a quoted text, not {operand_text(other)}", other.span,
                   hint=hint)
    elif n.op not in ("=", "!="):
        errors.add(QueryTypeError, f"a label is equal (=) or not (!=) to a text; '{n.op}' does not apply", n.span,
                   hint=hint)


def _literal(errors: _Errors, node: ast.Number) -> str:
    written = errors.text[node.span[0] : node.span[1]]
    return written if written.strip() else f"{node.value:g}"


def _whole_field(o: ast.Operand) -> str | None:
    return o.name if isinstance(o, ast.Field) and FIELDS.get(o.name, ("", ""))[0] == "neuron" else None


def _check_numbers(st: ast.Statement, errors: _Errors) -> None:
    """Numbers every backend can bind: layers within ``integer``, finite numbers, and no number
    beyond ``integer`` compared with ``layer`` or ``unit`` (SQLite and PostgreSQL would each
    fail differently, or not at all)."""
    for f in getattr(st, "filters", ()):
        values = [f.value] if isinstance(f, ast.LayerCmp) else [f.low, f.high] if isinstance(f, ast.LayerRange) else []
        for v in values:
            if v > INT_MAX:
                errors.add(QueryTypeError, f"layer {v} is out of range: a layer number is at most {INT_MAX}", f.span,
                           hint="write a layer of the model (show models lists n_layers)")
                break
    for p in ast.iter_predicates(getattr(st, "where", None)):
        if isinstance(p, ast.Compare):
            pairs = [(p.left, p.right), (p.right, p.left)]
        elif isinstance(p, ast.Between):
            pairs = [(p.operand, p.low), (p.operand, p.high)]
        else:
            continue
        for subject, o in pairs:
            if not isinstance(o, ast.Number):
                continue
            if not math.isfinite(o.value):
                errors.add(QueryTypeError, f"the number {_literal(errors, o)} is too large", o.span,
                           hint="numbers in a query are at most about 1.8e308")
            elif _whole_field(subject) and abs(o.value) > INT_MAX:
                errors.add(QueryTypeError, f"{_whole_field(subject)} is compared with {_literal(errors, o)}, beyond any "
                           f"{_whole_field(subject)} (at most {INT_MAX})", o.span)


def _check_like(st: ast.Show, errors: _Errors) -> None:
    """A ``like`` pattern may not end in its escape character ``\\`` (PostgreSQL refuses it,
    SQLite matches nothing): refused on both backends."""
    if st.like is None:
        return
    trailing = len(st.like) - len(st.like.rstrip("\\"))
    if trailing % 2 == 1:
        errors.add(QueryTypeError, "the like pattern ends in its escape character '\\'", st.like_span,
                   hint="in a like pattern \\ escapes % and _; to match a backslash write it twice in the "
                   "pattern (\"\\\\\\\\\" inside double quotes)")


def _check_layer_filters(filters: tuple[ast.Filter, ...], models: list[ModelInfo], errors: _Errors) -> None:
    if not models:
        return
    for f in filters:
        if isinstance(f, (ast.LayerCmp, ast.LayerRange)) and max(getattr(f, "value", 0), getattr(f, "high", 0)) > INT_MAX:
            continue  # _check_numbers said so
        if isinstance(f, ast.LayerCmp):
            ok = [m for m in models if _layers_matching(f, m.n_layers)]
            if not ok:
                for m in models:
                    if f.op == "=" or f.value >= m.n_layers or f.value < 0:
                        msg = f"layer {f.value} is out of range for {m.name} (0-{m.n_layers - 1})"
                    else:
                        msg = f"layer {f.op} {f.value} selects no layer of {m.name} (0-{m.n_layers - 1})"
                    errors.add(QueryTypeError, msg, f.span)
        elif isinstance(f, ast.LayerRange):
            if f.low > f.high:
                errors.add(QueryTypeError, f"the layer range {f.low}..{f.high} is empty", f.span, hint=f"write {f.high}..{f.low}")
                continue
            top = max(m.n_layers for m in models) - 1
            if f.low > top:
                for m in models:
                    errors.add(QueryTypeError, f"layer {f.low} is out of range for {m.name} (0-{m.n_layers - 1})", f.span)
        elif isinstance(f, ast.DepthCmp):
            if not 0.0 <= f.value <= 1.0:
                errors.add(QueryTypeError, f"depth is between 0 and 1 (layer / number of layers), not {f.value:g}", f.span)
        elif isinstance(f, ast.SiteIs):
            if f.site not in site_names():
                errors.add(
                    QueryNameError, f"unknown site '{shown(f.site)}'", f.span, hint=_choices_hint(f.site, site_names(), "site")
                )
            elif f.op not in ("=", "!="):
                errors.add(QueryTypeError, f"a site is compared with = or !=, not {f.op}", f.span)


def _layers_matching(f: ast.LayerCmp, n_layers: int) -> bool:
    import operator

    ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "=": operator.eq, "!=": operator.ne}
    return any(ops[f.op](layer, f.value) for layer in range(n_layers))


def _bind_models(conn: Connection, refs: tuple[ast.ModelRef, ...], errors: _Errors) -> list[ModelInfo]:
    found = load_models(conn, [r.name for r in refs])
    out: list[ModelInfo] = []
    missing = [r for r in refs if r.name not in found]
    if missing:
        known = list(conn.execute(select(Model.name)).scalars())
        for r in missing:
            errors.add(QueryNameError, f"unknown model '{shown(r.name)}'", r.span, hint=_choices_hint(r.name, known, "model"))
    seen: set[str] = set()
    for r in refs:
        if r.name in found and r.name not in seen:
            seen.add(r.name)
            out.append(found[r.name])
    return out


def _bind_calls(
    conn: Connection, calls: list[ast.Call], errors: _Errors, *, allow_composite: bool, allow_every: bool = False
) -> list[ScoreRef]:
    if not calls:
        return []
    methods = method_names(conn)
    atoms = [a for c in calls for a in _concept_atoms(c.arg)]
    concepts = load_concepts(conn, [a.name for a in atoms])
    all_names: list[str] | None = None
    refs: dict[str, ScoreRef] = {}
    for call in calls:
        if call.method not in methods:
            start = call.span[0]
            errors.add(
                QueryNameError,
                f"unknown method '{shown(call.method)}'",
                (start, start + len(call.method)),
                hint=_choices_hint(call.method, methods, "method"),
            )
        ok = True
        if call.every and not allow_every:
            errors.add(QueryTypeError, f"{call.method}(*) (every scored concept) works in 'count ... by concept' and "
                       "aggregates 'by concept' only", call.arg.span, hint=f"name one concept: {call.method}(noun)")
            ok = False
        for atom in _concept_atoms(call.arg):
            if atom.name not in concepts:
                ok = False
                if all_names is None:
                    all_names = all_concept_names(conn)
                errors.add(
                    QueryNameError,
                    f"unknown concept '{shown(atom.name)}'",
                    atom.span,
                    hint=_choices_hint(atom.name, all_names, "concept"),
                )
        if call.composite and not allow_composite:
            errors.add(
                QueryTypeError,
                "a composite concept (a formula inside a call) works in 'neurons' queries only",
                call.arg.span,
                hint="define it as a named concept (atlas concept define) and score it, then count or compare",
            )
            ok = False
        params = resolve_params(conn, call, errors) if call.method in methods else None
        label = operand_text(call)
        if ok and label not in refs:
            if call.every:
                refs[label] = ScoreRef(call.method, label, None, None, call, params, every=True)
            elif call.composite:
                refs[label] = ScoreRef(call.method, label, None, formula_text(call.arg), call, params)  # type: ignore[arg-type]
            else:
                assert isinstance(call.arg, ast.ConceptName)
                refs[label] = ScoreRef(call.method, label, concepts[call.arg.name], None, call, params)
    if len(refs) > MAX_REFS:
        errors.add(QueryLimitError, f"the query reads {len(refs)} different scores; the limit is {MAX_REFS}", calls[0].span)
    return list(refs.values())


def _bind_similarity(conn: Connection, calls: list[ast.Call], models: list[ModelInfo], errors: _Errors) -> list[ScoreRef]:
    """``maxcorr(M)``, ``mincorr(*)``, ``linreg(M)``: the argument is a model (or ``*``, every
    model correlated with the query's); each resolves to the correlations it reads
    (:func:`atlas.query.similar.links`). None stored for any of the query's models is an error
    naming the command that computes one."""
    if not calls:
        return []
    found = similar.links(conn, [m.id for m in models])
    refs: dict[str, ScoreRef] = {}
    for call in calls:
        if call.params:
            errors.add(QueryTypeError, f"{call.method} takes no parameters", (call.params[0].span[0], call.params[-1].span[1]),
                       hint=f"write {call.method}(MODEL)")
            continue
        if not isinstance(call.arg, (ast.ConceptName, ast.ConceptAll)):
            errors.add(QueryTypeError, f"{call.method}(...) takes one model name (or * for every correlated model)",
                       call.arg.span, hint=f"write e.g. {call.method}(gpt2)")
            continue
        other_id = None
        if isinstance(call.arg, ast.ConceptName):
            others = _bind_models(conn, (ast.ModelRef(call.arg.name, span=call.arg.span),), errors)
            if not others:
                continue
            other_id = others[0].id
        picked = [x for m in models for x in similar.chosen(found, m.id, other_id)]
        if not picked and models:
            target = "any other model" if other_id is None else shown(call.arg.name)  # type: ignore[union-attr]
            other = "OTHER_MODEL" if other_id is None else call.arg.name  # type: ignore[union-attr]
            errors.add(QueryNameError, f"no correlation of {', '.join(m.name for m in models)} with {target} is stored",
                       call.arg.span, hint=f"compute it with: atlas correlate {models[0].name} {other}")
            continue
        label = operand_text(call)
        refs.setdefault(label, ScoreRef(call.method, label, None, None, call, similar=tuple(picked)))
    return list(refs.values())


def _bind_similar_query(conn: Connection, st: ast.SimilarQuery, bound: Bound, errors: _Errors, limit: int | None) -> None:
    """``similar to NEURON [in MODELS] [limit N]``: the correlations of the neuron's model (with
    the named models, or every one) that cover its site."""
    _bind_neuron_ref(conn, st.neuron, bound, errors)
    others = _bind_models(conn, st.models, errors) if st.models else []
    bound.models = others
    bound.limit = _bind_limit(st.limit, st.limit_span, errors, limit) if (st.limit or limit) else similar.SIMILAR_LIMIT
    bound.limit_given = bool(st.limit or limit)
    me = bound.neuron
    if errors.items or me is None:
        return
    found = [x for x in similar.links(conn, [me.id]) if x.site == st.neuron.site]
    spans = {r.name: r.span for r in st.models}
    for other in others:
        got = similar.chosen(found, me.id, other.id)
        if not got:
            errors.add(QueryNameError, f"no correlation of {me.name} with {other.name} covers {st.neuron.site} units",
                       spans[other.name], hint=f"compute it with: atlas correlate {me.name} {other.name} --sites {st.neuron.site}")
        bound.links += got
    if not others:
        bound.links = similar.chosen(found, me.id, None)
        if not bound.links:
            errors.add(QueryNameError, f"no correlation of {me.name} with another model covers {st.neuron.site} units",
                       st.neuron.span, hint=f"compute one with: atlas correlate {me.name} OTHER_MODEL")


def _bind_layers_query(conn: Connection, st: ast.LayersQuery, bound: Bound, errors: _Errors) -> None:
    """``layers of A vs B [site=S] [layer filters] [by METHOD]``: the latest complete
    correlation of the two models that covers the site (default mlp)."""
    models = _bind_models(conn, (st.model, st.other), errors)
    method = st.by or similar.LAYER_METHODS[0]
    if method not in similar.LAYER_METHODS:
        errors.add(QueryNameError, f"no layer measure '{shown(method)}'", st.by_span,
                   hint=_choices_hint(method, similar.LAYER_METHODS, "measure"))
    site = "mlp"
    for f in st.filters:
        if isinstance(f, ast.SiteIs) and f.op == "=":
            site = f.site
        elif not isinstance(f, (ast.LayerCmp, ast.LayerRange)):
            errors.add(QueryTypeError, "layers of ... takes site=SITE and layer filters only", f.span,
                       hint="write e.g. layers of minilm vs bert site=mlp layer < 4 by cka")
    if len(models) == 1 and st.model.name == st.other.name:
        models = models * 2
    bound.models, bound.site, bound.layer_method, bound.limit = models, site, method, MAX_LIMIT
    if errors.items or len(models) != 2:
        return
    a, b = models
    found = [x for x in similar.links(conn, [a.id]) if x.site == site and x.other_model_id == b.id]
    if not found:
        errors.add(QueryNameError, f"no correlation of {a.name} with {b.name} covers their {site} layers",
                   (st.model.span[0], st.other.span[1]), hint=f"compute it with: atlas correlate {a.name} {b.name} --sites {site}")
    bound.links = found


def _bind_fields(operands: list[ast.Operand], errors: _Errors) -> tuple[list[str], bool]:
    stats: list[str] = []
    depth = False
    for o in operands:
        if isinstance(o, ast.Field):
            if o.name not in FIELDS:
                fields = [f for f in FIELDS if (FIELDS[f][0] == "explanation") == o.name.startswith("explanation")]
                hint = _choices_hint(o.name, fields, "field")
                if o.name in registry.names():
                    hint = f"{o.name} is a method: write {o.name}(CONCEPT)"
                errors.add(QueryNameError, f"unknown field '{shown(o.name)}'", o.span, hint=hint)
            elif FIELDS[o.name][0] == "stat" and o.name not in stats:
                stats.append(o.name)
            elif o.name == "depth":
                depth = True
    return stats, depth


def how_to_score(method: str, model: str) -> str:
    """The command that stores ``method``'s scores for ``model``: causal scores come from
    ``atlas ablate``/``atlas attribute`` (:func:`~atlas.methods.causal.compute_command`), the
    others from ``atlas score``.

    >>> how_to_score("ablation", "minilm"), how_to_score("ap", "bert")
    ("compute them with 'atlas ablate --run minilm --neurons'", "score them with 'atlas score --run bert --methods ap'")
    """
    if method in {m.name for m in registry.select(kind="causal")}:  # (vote, maxcorr, ... are not in the registry)
        return f"compute them with '{compute_command(method, model)}'"
    return f"score them with 'atlas score --run {model} --methods {method}'"


def _missing_scores(bound: Bound) -> list[str]:
    """Warnings for what a query reads that some model lacks: a ``method(concept)`` without a
    complete score set, neuron statistics without a run (those values are missing there, so
    conditions on them match no neuron of that model)."""
    out: list[str] = []
    for ref in bound.refs:
        if ref.similar is not None:
            lacking = [m.name for m in bound.models if not any(x.model_id == m.id for x in ref.similar)]
            if lacking:
                out.append(f"{ref.label} has no correlation for {', '.join(lacking)}: its values there are missing, so "
                           f"conditions on it match none of those neurons (compute it with 'atlas correlate "
                           f"{lacking[0]} {ref.call.arg.name if isinstance(ref.call.arg, ast.ConceptName) else 'OTHER_MODEL'}')")
            continue
        if ref.every:
            lacking = [m.name for m in bound.models if not bound.every_sets(m)]
            what = "no complete score set of any concept"
        elif ref.formula is None:
            lacking = [m.name for m in bound.models if ref.key not in m.sets]
            what = "no complete score set"
        else:
            lacking = [m.name for m in bound.models if (m.score_run or m.stat_run) is None]
            what = "no done run to evaluate it on"
        if lacking:
            out.append(f"{ref.label} has {what} for {', '.join(lacking)}: its values there are missing, so conditions "
                       f"on it match none of those neurons ({how_to_score(ref.method, lacking[0])})")
        for m in bound.models:
            src = next((s for s in bound.every_sets(m).values() if s.fallback), None) if ref.every else m.sets.get(ref.key)
            if src is not None and src.fallback:
                out.append(f"{ref.label} of {m.name} read the parameterisation {src.params} (method row {src.method_id}): "
                           f"no set with {ref.method}'s default parameters is stored; name the parameters in brackets "
                           f"to choose one, e.g. {ref.method}[KEY=VALUE](...)")
    if bound.stats:
        lacking = [m.name for m in bound.models if m.stat_run is None]
        if lacking:
            out.append(f"{', '.join(lacking)} {'has' if len(lacking) == 1 else 'have'} no neuron statistics "
                       f"({', '.join(bound.stats)} are missing there): extract a run of {'it' if len(lacking) == 1 else 'them'}")
    return out


def _bind_limit(limit: int | None, span: ast.Span, errors: _Errors, override: int | None) -> int:
    value = override if override is not None else limit
    if value is None:
        return DEFAULT_LIMIT
    if value > MAX_LIMIT:
        errors.add(QueryLimitError, f"limit {value} is above the maximum of {MAX_LIMIT} rows", span, hint="narrow the query, or export in parts")
    return min(value, MAX_LIMIT)


def bind(engine: Engine | Connection, statement: ast.Statement, *, text: str = "", limit: int | None = None) -> Bound:
    """Check a statement against the atlas and resolve its names.

    Args:
        engine: the atlas database (an engine, or an open connection).
        statement: the parsed statement.
        text: the query text (for error diagrams).
        limit: a row limit that overrides the query's own ``limit``.

    Returns:
        The :class:`Bound` statement.

    Raises:
        QueryError: one or more names or values are wrong; ``errors`` lists every problem.

    Example:
        >>> bind(db.engine, parse("neurons in bert where iou(noun) > 0.3")).refs[0].label  # doctest: +SKIP
        'iou(noun)'
    """
    if isinstance(engine, Connection):
        return _bind(engine, statement, text, limit)
    with engine.connect() as conn:
        return _bind(conn, statement, text, limit)


def _bind(conn: Connection, st: ast.Statement, text: str, limit: int | None) -> Bound:
    errors = _Errors(text)
    bound = Bound(statement=st)
    _check_numbers(st, errors)
    if isinstance(st, (ast.NeuronQuery, ast.CountQuery, ast.CompareQuery, ast.AggregateQuery)):
        _bind_neurons(conn, st, bound, errors, limit)
    elif isinstance(st, ast.ProbesQuery):
        _bind_probes(conn, st, bound, errors)
    elif isinstance(st, ast.AgreementQuery):
        _bind_agreement(conn, st, bound, errors)
    elif isinstance(st, (ast.TopTokens, ast.NotesQuery)):
        _bind_top_tokens(conn, st, bound, errors, limit)
    elif isinstance(st, (ast.NeuronView, ast.ExplainView)):
        _bind_neuron_ref(conn, st.neuron, bound, errors)
        bound.limit = MAX_LIMIT
    elif isinstance(st, ast.WordsQuery):
        _bind_words(conn, st, bound, errors, limit)
    elif isinstance(st, ast.SimilarQuery):
        _bind_similar_query(conn, st, bound, errors, limit)
    elif isinstance(st, ast.LayersQuery):
        _bind_layers_query(conn, st, bound, errors)
    else:
        assert isinstance(st, ast.Show)
        _check_like(st, errors)
        bound.limit = _bind_limit(None, st.span, errors, limit) if limit is not None else MAX_LIMIT
        bound.limit_given = limit is not None
    errors.raise_if_any()
    return bound


def _bind_neurons(
    conn: Connection,
    st: ast.NeuronQuery | ast.CountQuery | ast.CompareQuery | ast.AggregateQuery,
    bound: Bound,
    errors: _Errors,
    limit: int | None,
) -> None:
    """Statements over neurons: ``neurons``, ``count``, ``compare`` and the aggregates."""
    bound.models = _bind_models(conn, st.models, errors)
    _check_layer_filters(st.filters, bound.models, errors)
    units = st.units if isinstance(st, (ast.NeuronQuery, ast.CountQuery)) else "neurons"
    bound.site = unit_site(units)
    operands = ast.iter_operands(st.where)
    if isinstance(st, ast.NeuronQuery):
        operands += [o.expr for o in st.order]
    _check_types(st.where, errors)
    _check_explanations(conn, st.where, errors)
    calls = [o for o in operands if isinstance(o, ast.Call)]
    if isinstance(st, ast.AggregateQuery):
        calls.insert(0, st.score)
    grouped = not isinstance(st, ast.NeuronQuery)
    sims = [c for c in calls if c.method in ast.SIMILARITY_METHODS]
    calls = [c for c in calls if c.method not in ast.SIMILARITY_METHODS]
    bound.refs = _bind_calls(conn, calls, errors, allow_composite=not grouped, allow_every=grouped)
    bound.refs += _bind_similarity(conn, sims, bound.models, errors)
    if grouped:
        _check_every(st, calls, errors)  # type: ignore[arg-type]
    load_sets(conn, bound.models, bound.refs)
    bound.stats, bound.uses_depth = _bind_fields(operands, errors)
    bound.explained = list(dict.fromkeys(
        o.name for o in operands if isinstance(o, ast.Field) and FIELDS.get(o.name, ("", ""))[0] == "explanation"))
    if not errors.items:
        bound.candidates = prefilter.candidates(conn, st, bound)
    bound.warnings = _missing_scores(bound)
    if isinstance(st, ast.NeuronQuery):
        for o in st.order:
            if isinstance(o.expr, (ast.Number, ast.String)):
                errors.add(QueryTypeError, "order by needs a score or a field, not a constant", o.expr.span)
            elif _is_label(o.expr):
                errors.add(QueryTypeError, "order by needs a score or a number field; a neuron may have many labels",
                           o.expr.span, hint="filter on it instead: where label = \"...\"")
        if any(_is_label(o) for o in operands) and any(r.formula is not None for r in bound.refs):
            span = next(o.span for o in operands if _is_label(o))
            errors.add(QueryTypeError, "a label condition cannot be combined with a composite concept yet", span,
                       hint="query the label and the composite concept separately")
        bound.limit = _bind_limit(st.limit, st.limit_span, errors, limit)
        bound.limit_given = st.limit is not None or limit is not None
        return
    if st.by is not None and st.by not in GROUPS:
        errors.add(
            QueryNameError,
            f"cannot group by '{shown(st.by)}'",
            st.by_span,
            hint=did_you_mean(st.by, GROUPS) or "group by layer, model, depth or concept",
        )
    bound.limit = MAX_LIMIT
    if isinstance(st, ast.CompareQuery) and len(st.models) < 1:
        errors.add(QueryTypeError, "compare needs at least one model", st.span)


def _check_every(st: ast.CountQuery | ast.CompareQuery | ast.AggregateQuery, calls: list[ast.Call], errors: _Errors) -> None:
    """``method(*)`` and ``by concept`` go together, with one ``*`` method (and parameters) a query."""
    stars = {operand_text(c): c for c in calls if c.every}
    if st.by == "concept" and not stars:
        errors.add(QueryTypeError, "by concept needs a score over every concept, such as ap(*)", st.by_span,
                   hint="write e.g. count neurons in minilm where ap(*) > 0.8 by concept")
    elif stars and st.by != "concept":
        first = next(iter(stars.values()))
        errors.add(QueryTypeError, f"{operand_text(first)} is one score per concept: group the answer by concept",
                   first.arg.span, hint="end the query with 'by concept'")
    if len(stars) > 1:
        second = list(stars.values())[1]
        errors.add(QueryTypeError, "a query reads one method over every concept (one '(*)')", second.span,
                   hint=f"keep {list(stars)[0]} and name the concepts of the others")


def _bind_neuron_ref(conn: Connection, ref: ast.NeuronRef, bound: Bound, errors: _Errors) -> None:
    """A neuron id: its model exists (``bound.neuron``), and its site, layer and unit are in range."""
    models = _bind_models(conn, (ast.ModelRef(ref.model, span=ref.span),), errors)
    if not models:
        return
    m = models[0]
    bound.neuron = m
    if ref.site not in m.widths:
        errors.add(
            QueryNameError,
            f"{m.name} has no site '{ref.site}'",
            ref.span,
            hint=_choices_hint(ref.site, m.widths, "site"),
        )
    elif not 0 <= ref.layer < m.n_layers:
        errors.add(QueryTypeError, f"layer {ref.layer} is out of range for {m.name} (0-{m.n_layers - 1})", ref.span)
    elif not 0 <= ref.unit < m.widths[ref.site]:
        errors.add(
            QueryTypeError,
            f"unit {ref.unit} is out of range for {m.name} {ref.site} (0-{m.widths[ref.site] - 1})",
            ref.span,
        )


def _bind_top_tokens(conn: Connection, st: ast.TopTokens | ast.NotesQuery, bound: Bound, errors: _Errors,
                     limit: int | None) -> None:
    """``top tokens of N`` (default limit 20) and ``notes of N`` (default 100)."""
    _bind_neuron_ref(conn, st.neuron, bound, errors)
    default = 20 if isinstance(st, ast.TopTokens) else DEFAULT_LIMIT
    bound.limit = _bind_limit(st.limit, st.limit_span, errors, limit) if (st.limit or limit) else default
    bound.limit_given = bool(st.limit or limit)


#: What ``words of NEURON by ...`` may order by.
WORDS_ORDERS = ("mean", "max", "count")


def _bind_words(conn: Connection, st: ast.WordsQuery, bound: Bound, errors: _Errors, limit: int | None) -> None:
    """``words of NEURON [by mean | max | count] [min N] [limit N]``."""
    _bind_neuron_ref(conn, st.neuron, bound, errors)
    if st.by is not None and st.by not in WORDS_ORDERS:
        errors.add(QueryNameError, f"words are ordered by mean, max or count, not '{st.by}'", st.by_span,
                   hint="write by mean (the default), by max or by count")
    if st.min_count is not None and st.min_count < 1:
        errors.add(QueryTypeError, f"min {st.min_count} keeps every word: give a count of at least 1", st.min_count_span)
    bound.limit = _bind_limit(st.limit, st.limit_span, errors, limit) if (st.limit or limit) else 20
    bound.limit_given = bool(st.limit or limit)


def load_probe_runs(conn: Connection, models: list[ModelInfo]) -> None:
    """Fill each model's ``probe_run``: its latest done run that has ``probe_result`` rows."""
    if not models:
        return
    by_id = {m.id: m for m in models}
    rows = conn.execute(
        select(Run.model_id, func.max(Run.id))
        .where(Run.model_id.in_(list(by_id)), Run.status == "done",
               select(func.min(ProbeResult.layer_id)).where(ProbeResult.run_id == Run.id).scalar_subquery().is_not(None))
        .group_by(Run.model_id)
    )
    for model_id, run_id in rows:
        by_id[model_id].probe_run = run_id


def _probe_names(conn: Connection, runs: list[int]) -> dict[str, set[str]]:
    """The tasks, metrics and method names stored in ``runs``' probe results."""
    out: dict[str, set[str]] = {"task": set(), "metric": set(), "method": set()}
    if runs:
        q = (select(ProbeResult.task, ProbeResult.metric, Method.name).join(Method, Method.id == ProbeResult.method_id)
             .where(ProbeResult.run_id.in_(runs)).distinct())
        for task, metric, method in conn.execute(q):
            out["task"].add(task)
            out["metric"].add(metric)
            out["method"].add(method)
    return out


def _bind_probes(conn: Connection, st: ast.ProbesQuery, bound: Bound, errors: _Errors) -> None:
    """``probes in MODELS [filters] [where ...] [by layer]``: the probe figures of each model's
    latest done run with any; conditions on ``task``, ``metric``, ``method`` (= or != a name or
    string that is stored), ``layer`` and ``value`` (numbers)."""
    bound.models = _bind_models(conn, st.models, errors)
    _check_layer_filters(st.filters, bound.models, errors)
    load_probe_runs(conn, bound.models)
    names = _probe_names(conn, [m.probe_run for m in bound.models if m.probe_run is not None])
    for p in ast.iter_predicates(st.where):
        operands = [p.left, p.right] if isinstance(p, ast.Compare) else list(ast.iter_operands(p))
        for o in operands:
            if isinstance(o, ast.Call):
                errors.add(QueryTypeError, "probes are filtered on task, metric, method, layer and value, not on scores",
                           o.span, hint="write e.g. probes in minilm where task = upos and metric = accuracy")
        left = operands[0]
        if not isinstance(left, ast.Field) or left.name not in PROBE_FIELDS:
            if isinstance(left, ast.Field):
                errors.add(QueryNameError, f"probes have no field '{shown(left.name)}'", left.span,
                           hint=_choices_hint(left.name, PROBE_FIELDS, "field"))
            elif not isinstance(left, ast.Call):
                errors.add(QueryTypeError, "a probe condition starts with a field: task, metric, method, layer or value", p.span)
            continue
        if PROBE_FIELDS[left.name] == "text":
            _check_probe_text(p, left.name, names, errors)
        else:
            for o in operands[1:]:
                if not isinstance(o, ast.Number):
                    errors.add(QueryTypeError, f"{left.name} is a number; compare it with a number, not {operand_text(o)}", o.span)
            if isinstance(p, ast.IsMissing | ast.Has) and left.name != "value":
                errors.add(QueryTypeError, f"only value can be missing, not {left.name}", left.span)
    lacking = [m.name for m in bound.models if m.probe_run is None]
    if lacking:
        bound.warnings.append(f"{', '.join(lacking)} {'has' if len(lacking) == 1 else 'have'} no probe results in a done run "
                              "(train probes with 'atlas score --run RUN --methods probe')")
    if st.by is not None and st.by != "layer":
        errors.add(QueryNameError, f"probes are grouped by layer only, not '{shown(st.by)}'", st.by_span,
                   hint="write 'by layer' (a column per metric), or leave 'by' out (a row per metric)")
    bound.limit = MAX_LIMIT


def _check_probe_text(p: ast.Compare | ast.Between | ast.IsMissing | ast.Has, field_name: str, names: dict[str, set[str]],
                      errors: _Errors) -> None:
    """``task = upos``: = or != with a stored name (bare or quoted)."""
    if not isinstance(p, ast.Compare) or p.op not in ("=", "!="):
        errors.add(QueryTypeError, f"{field_name} is a name: compare it with = or !=", p.span,
                   hint=f"write e.g. {field_name} = {sorted(names[field_name])[0] if names[field_name] else 'NAME'}")
        return
    value = probe_text_value(p.right)
    if value is None:
        errors.add(QueryTypeError, f"{field_name} is a name; it can't be compared to {operand_text(p.right)}", p.right.span)
    elif value not in names[field_name]:
        errors.add(QueryNameError, f"no probe result has the {field_name} '{shown(value)}'", p.right.span,
                   hint=_choices_hint(value, names[field_name], field_name))


def probe_text_value(node: ast.Operand) -> str | None:
    """The name a probe condition compares a text field with (``task = upos``, ``task = "upos"``)."""
    if isinstance(node, ast.Field):
        return node.name
    if isinstance(node, ast.String):
        return node.value
    return None


def _method_label(name: str, params: dict[str, Any]) -> str:
    """A stored method row as ``agreement of *`` labels it: the name, then in brackets the
    parameters that differ from the method's defaults (``iou[alpha=0.01]``)."""
    defaults = _spec_defaults(name) or {}
    differ = {k: v for k, v in sorted(params.items()) if defaults.get(k, object()) != v}
    return name + (f"[{', '.join(f'{k}={v}' for k, v in differ.items())}]" if differ else "")


def _agreement_rows(conn: Connection, models: list[ModelInfo], concept_id: int) -> dict[int, list[tuple[int, str, dict[str, Any]]]]:
    """Fill each model's ``agreement_run`` (its latest done run with agreement rows of the
    concept); ``{model_id: [(method_id, name, params), ...]}`` of the method rows stored there,
    oldest first."""
    by_id = {m.id: m for m in models}
    if not by_id:
        return {}
    ag = Agreement.__table__
    runs = conn.execute(
        select(Run.model_id, func.max(Run.id))
        .where(Run.model_id.in_(list(by_id)), Run.status == "done",
               select(func.min(ag.c.n)).where(ag.c.run_id == Run.id, ag.c.concept_id == concept_id).scalar_subquery().is_not(None))
        .group_by(Run.model_id)
    ).all()
    out: dict[int, list[tuple[int, str, dict[str, Any]]]] = {}
    for model_id, run_id in runs:
        by_id[model_id].agreement_run = run_id
        ids = set()
        pairs = select(ag.c.method_a, ag.c.method_b).where(ag.c.run_id == run_id, ag.c.concept_id == concept_id).distinct()
        for a, b in conn.execute(pairs):
            ids |= {a, b}
        rows = conn.execute(select(Method.id, Method.name, Method.params).where(Method.id.in_(sorted(ids))).order_by(Method.id))
        out[model_id] = [(int(i), n, dict(p or {})) for i, n, p in rows]
    return out


def _bind_agreement(conn: Connection, st: ast.AgreementQuery, bound: Bound, errors: _Errors) -> None:
    """``agreement of METHODS on CONCEPT in MODELS [where ...]``: per model, the latest done run
    with agreement rows of the concept, and in it the method row each named method reads (as
    ``method(concept)`` would: its parameters, else the defaults, else the newest, with a
    warning); ``*`` reads every stored pair. Conditions on site, n, n_units, jaccard, spearman."""
    bound.models = _bind_models(conn, st.models, errors)
    bound.limit = MAX_LIMIT
    concept = st.concept
    bound.concept_id = load_concepts(conn, [concept.name]).get(concept.name)
    if bound.concept_id is None:
        errors.add(QueryNameError, f"unknown concept '{shown(concept.name)}'", concept.span,
                   hint=_choices_hint(concept.name, all_concept_names(conn), "concept"))
    known = method_names(conn)
    wanted: list[tuple[ast.MethodRef, dict[str, Any] | None]] = []
    labels: set[str] = set()
    for ref in st.methods:
        label = ref.method + params_text(ref.params)
        if ref.method not in known:
            errors.add(QueryNameError, f"unknown method '{shown(ref.method)}'", (ref.span[0], ref.span[0] + len(ref.method)),
                       hint=_choices_hint(ref.method, known, "method"))
            continue
        if label in labels:
            errors.add(QueryTypeError, f"{label} is named twice", ref.span, hint="name each method once")
        labels.add(label)
        wanted.append((ref, resolve_params(conn, ast.Call(ref.method, concept, ref.params, span=ref.span), errors)))
    if len(st.methods) == 1:
        errors.add(QueryTypeError, "agreement compares two methods or more", st.methods[0].span,
                   hint=f"name another, e.g. agreement of {st.methods[0].method}, {'iou' if st.methods[0].method == 'ap' else 'ap'} "
                        f"on {concept_text(concept.name)} in ..., "
                        "or every stored pair: agreement of * on ...")
    _check_agreement_where(st.where, bound.models, errors)
    if bound.concept_id is None or errors.items:
        return
    stored = _agreement_rows(conn, bound.models, bound.concept_id)
    for m in bound.models:
        rows = stored.get(m.id, [])
        if not st.methods:
            named = sorted(rows, key=lambda r: (_method_label(r[1], r[2]), r[0]))
            m.agreement_methods = [AgreementMethod(_method_label(n, p), i, params_json(p), k) for k, (i, n, p) in enumerate(named)]
            continue
        for k, (ref, params) in enumerate(wanted):
            pick = _pick_method_row(ref.method, params, rows)
            if pick is None:
                continue
            mid, p, fallback = pick
            m.agreement_methods.append(AgreementMethod(ref.method + params_text(ref.params), mid, params_json(p), k, fallback))
    bound.warnings += _agreement_warnings(st, bound)


def _pick_method_row(
    name: str, params: dict[str, Any] | None, rows: list[tuple[int, str, dict[str, Any]]]
) -> tuple[int, dict[str, Any], bool] | None:
    """The newest stored row of ``name`` with ``params`` (filled with the defaults), else, for a
    call without parameters, the newest of any (``fallback``)."""
    defaults = _spec_defaults(name)
    mine = [(i, p) for i, n, p in rows if n == name]
    exact = [(i, p) for i, p in mine if _same_params(p, params or {}, defaults)]
    if exact:
        return exact[-1][0], exact[-1][1], False
    if params is None and mine:
        return mine[-1][0], mine[-1][1], True
    return None


def _agreement_warnings(st: ast.AgreementQuery, bound: Bound) -> list[str]:
    """What the answer lacks: models without agreement rows of the concept, methods without rows."""
    out = []
    concept = concept_text(st.concept.name)
    for m in bound.models:
        if m.agreement_run is None:
            out.append(f"{m.name} has no stored agreement on {concept} (compute it with 'atlas agreement --run {m.name}', "
                       "after scoring two methods or more)")
            continue
        found = {a.label for a in m.agreement_methods}
        for ref in st.methods:
            label = ref.method + params_text(ref.params)
            if label not in found:
                out.append(f"{label} has no stored agreement on {concept} in {m.name} (run {m.agreement_run}): its pairs are "
                           f"missing (score it, then run 'atlas agreement --run {m.agreement_run}')")
        for a in m.agreement_methods:
            if a.fallback:
                out.append(f"{a.label} of {m.name} read the parameterisation {a.params} (method row {a.method_id}): no "
                           f"agreement with its default parameters is stored")
    return out


def _check_agreement_where(where: ast.Condition | None, models: list[ModelInfo], errors: _Errors) -> None:
    """Agreement conditions: ``site`` (= or != a site of the models) and numbers on n,
    n_units, jaccard, spearman."""
    sites = {s for m in models for s in m.widths} or set(site_names())
    for p in ast.iter_predicates(where):
        operands = [p.left, p.right] if isinstance(p, ast.Compare) else list(ast.iter_operands(p))
        left = operands[0]
        if any(isinstance(o, ast.Call) for o in operands):
            errors.add(QueryTypeError, "agreement is filtered on site, n, n_units, jaccard and spearman, not on scores",
                       next(o for o in operands if isinstance(o, ast.Call)).span, hint="write e.g. where n = 100 and jaccard > 0.2")
            continue
        if not isinstance(left, ast.Field) or left.name not in AGREEMENT_FIELDS:
            if isinstance(left, ast.Field):
                errors.add(QueryNameError, f"agreement has no field '{shown(left.name)}'", left.span,
                           hint=_choices_hint(left.name, AGREEMENT_FIELDS, "field"))
            else:
                errors.add(QueryTypeError, "an agreement condition starts with a field: site, n, n_units, jaccard or spearman", p.span)
            continue
        if AGREEMENT_FIELDS[left.name] == "text":
            value = probe_text_value(p.right) if isinstance(p, ast.Compare) and p.op in ("=", "!=") else None
            if value is None:
                errors.add(QueryTypeError, "site is a name: compare it with = or != and a site such as mlp", p.span)
            elif value not in sites:
                errors.add(QueryNameError, f"no model named has the site '{shown(value)}'", p.right.span,
                           hint=_choices_hint(value, sites, "site"))
            continue
        for o in operands[1:]:
            if not isinstance(o, ast.Number):
                errors.add(QueryTypeError, f"{left.name} is a number; compare it with a number, not {operand_text(o)}", o.span)
        if isinstance(p, ast.IsMissing | ast.Has) and left.name not in ("jaccard", "spearman"):
            errors.add(QueryTypeError, f"only jaccard and spearman can be missing, not {left.name}", left.span)
