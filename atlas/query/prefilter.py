"""The prefilter: which neurons can match a query's score comparisons, found in numpy before the SQL runs.

A stored score is one float32 inside a packed vector (:mod:`atlas.store.scores`). The SQL reads
it per neuron (an array subscript on PostgreSQL, the ``atlas_value`` function on SQLite); on a
model of many neurons, that is one decoding per neuron and score of the query. So, for a
``neurons`` or ``count`` statement whose top-level conjunction compares stored scores with numbers
(``ap(noun) > 0.8 and selectivity(negation) > 0.4``), the binder first reads the few vector rows
of those score sets, decodes them with numpy and keeps the units that pass every such comparison.
The compiler then restricts the neurons to those units, and the SQL decodes values only for them.
The comparisons are the SQL's own: float32 values against the number rounded to float32
(:func:`atlas.query.bound.as_stored`), a missing value (NaN) passing none. Nothing changes in
the answer; only the work does.

It is used where it pays: models of at least :data:`MIN_NEURONS` neurons, and while the units
that pass are at most :data:`MAX_CANDIDATES` (else the SQL path is as cheap).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import Connection, select

import atlas.query.ast as ast
from atlas.query.bound import OPS, Bound, as_stored, scope_conditions
from atlas.store.tables import SCORE_BLOCK, Layer, Model, ScoreVector

#: Below this many neurons in the models a query names, the SQL path is fast enough alone.
MIN_NEURONS = 20_000
#: Above this many candidate units, restricting the SQL costs more than it saves.
MAX_CANDIDATES = 5_000

_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "!=": "!="}


def _stored(node: ast.Operand) -> bool:
    return (isinstance(node, ast.Call) and not node.composite and not node.every
            and node.method not in ast.SIMILARITY_METHODS)


def _tests(cond: ast.Condition) -> list[tuple[ast.Call, Callable[[np.ndarray], np.ndarray]]]:
    """The ``(call, test on its values)`` pairs of a top-level conjunction that the prefilter can run."""
    items = cond.items if isinstance(cond, ast.And) else (cond,)
    out: list[tuple[ast.Call, Callable[[np.ndarray], np.ndarray]]] = []
    for c in items:
        if isinstance(c, ast.Compare):
            call, num, op = None, None, c.op
            if _stored(c.left) and isinstance(c.right, ast.Number):
                call, num = c.left, c.right
            elif _stored(c.right) and isinstance(c.left, ast.Number):
                call, num, op = c.right, c.left, _FLIP[c.op]
            if call is not None and num is not None:
                t, f = as_stored(num.value), OPS[op]
                out.append((call, lambda v, t=t, f=f: f(v, t)))  # type: ignore[misc]
        elif isinstance(c, ast.Between) and _stored(c.operand):
            if isinstance(c.low, ast.Number) and isinstance(c.high, ast.Number):
                lo, hi = as_stored(c.low.value), as_stored(c.high.value)
                out.append((c.operand, lambda v, lo=lo, hi=hi: (v >= lo) & (v <= hi)))  # type: ignore[misc]
    return out


def _n_neurons(bound: Bound) -> int:
    return sum(m.n_layers * sum(m.widths.values()) for m in bound.models)


def candidates(conn: Connection, st: ast.Statement, bound: Bound) -> dict[int, np.ndarray] | None:
    """``{layer id: units}`` that pass every prefilterable comparison, or ``None`` (no prefilter)."""
    if not isinstance(st, (ast.NeuronQuery, ast.CountQuery)) or st.where is None:
        return None
    if isinstance(st, ast.CountQuery) and st.by == "concept":
        return None
    tests = _tests(st.where)
    if not tests or _n_neurons(bound) < MIN_NEURONS:
        return None
    layers = _layers_in_scope(conn, st, bound)
    passing: dict[int, np.ndarray] | None = None
    for call, test in tests:
        ref = bound.ref(call)
        sets = [m.sets[ref.key].set_id for m in bound.models if ref.key in m.sets]
        here = {layer: test(values) & ~np.isnan(values) for layer, values in _read(conn, sets, layers).items()}
        if passing is None:
            passing = here
        else:
            passing = {layer: mask & here[layer] for layer, mask in passing.items() if layer in here}
    assert passing is not None
    out = {layer: np.flatnonzero(mask) for layer, mask in passing.items() if mask.any()}
    if sum(len(units) for units in out.values()) > MAX_CANDIDATES:
        return None
    return out


def _layers_in_scope(conn: Connection, st: ast.NeuronQuery | ast.CountQuery, bound: Bound) -> list[int]:
    """The ids of the layers the statement's layer, depth and site filters keep (the compiler's
    own filters, evaluated on the ``layer`` rows)."""
    rows = conn.execute(
        select(Layer.id, Layer.site, Layer.index, Model.n_layers)
        .join(Model, Model.id == Layer.model_id)
        .where(Layer.model_id.in_([m.id for m in bound.models]))
    ).all()
    return [
        int(layer_id)
        for layer_id, site, index, n_layers in rows
        if all(scope_conditions(st.filters, bound.site, layer=int(index), site=site, depth=float(index) / float(n_layers)))
    ]


def _read(conn: Connection, set_ids: list[int], layers: list[int]) -> dict[int, np.ndarray]:
    """``{layer id: float32 values by unit}`` of the sets in ``layers`` (one model a set, so layers
    do not clash)."""
    if not set_ids or not layers:
        return {}
    postgresql = conn.dialect.name == "postgresql"
    blocks: dict[int, dict[int, np.ndarray]] = {}
    rows = conn.execute(
        select(ScoreVector.layer_id, ScoreVector.block, ScoreVector.vals)
        .where(ScoreVector.set_id.in_(set_ids), ScoreVector.layer_id.in_(layers))
    )
    for layer_id, block, vals in rows:
        arr = np.asarray(vals, dtype=np.float32) if postgresql else np.frombuffer(vals, dtype="<f4")
        blocks.setdefault(int(layer_id), {})[int(block)] = arr
    out = {}
    for layer_id, parts in blocks.items():
        width = max(b * SCORE_BLOCK + len(a) for b, a in parts.items())
        values = np.full(width, np.nan, dtype=np.float32)
        for b, a in parts.items():
            values[b * SCORE_BLOCK : b * SCORE_BLOCK + len(a)] = a
        out[layer_id] = values
    return out
