"""Composite concepts in calls: ``iou(noun and not plural) > 0.25``.

The SQL part of the query (every top-level condition without a composite) picks the
surviving neurons; for them, the concept formula is evaluated on the run's corpus
(:func:`atlas.corpus.matrix.evaluate_formula`) and the method scores the survivors against
that token mask (:func:`atlas.methods.compute.score_mask`). The remaining conditions, the
order and the limit are then applied here in pandas, with SQL's three-valued logic: a
missing value (NaN) makes a comparison unknown, and unknown rows are dropped.

The query's one deadline (a :class:`~atlas.query.execute.Clock`) holds here too: the
survivors are scored in chunks of :data:`CHUNK` neurons (in layer order), and the clock is read
before and after each formula and each chunk. A failure of the formula or of the method (the
run's activations were deleted, a method that cannot score at query time) becomes a
:class:`~atlas.errors.QueryError` under the call.

Example::

    frame, cut = apply_composite(db, plan, frame, clock=Clock(30))   # frame: the SQL survivors
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import atlas.query.ast as ast
from atlas.errors import AtlasError, QueryError, QueryLimitError, QueryTypeError
from atlas.query.bound import FIELDS, OPS, ScoreRef, as_stored
from atlas.query.canonical import operand_text
from atlas.query.compiler import MAX_COMPOSITE_NEURONS, Plan, as_stored_array
from atlas.query.execute import Clock

#: Neurons scored per call of the method (one layer at a time), between reads of the clock.
CHUNK = 512


def _evaluate_formula(db: Any, corpus_id: int, formula: str) -> np.ndarray:
    from atlas.corpus.matrix import evaluate_formula

    return np.asarray(evaluate_formula(db, corpus_id, formula), dtype=bool)


def _score_mask(db: Any, run_id: int, neuron_ids: list[int], mask: np.ndarray, method: str,
                params: dict[str, Any] | None = None) -> np.ndarray:
    from atlas.methods.compute import score_mask

    return np.asarray(score_mask(db, run_id, neuron_ids, mask, method, params), dtype=np.float64)


def _chunks(rows: np.ndarray) -> list[np.ndarray]:
    """``rows`` (positions in ``frame``, in layer order) in pieces of :data:`CHUNK`: each piece
    reads one or two layers' activations."""
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def _failed(ref: ScoreRef, exc: AtlasError) -> QueryError:
    if isinstance(exc, QueryError):
        return exc
    return QueryTypeError(f"{ref.label} cannot be computed: {exc.message}", span=ref.call.span, hint=exc.hint)


def composite_values(db: Any, plan: Plan, frame: pd.DataFrame, *, clock: Clock | None = None) -> pd.DataFrame:
    """Add one column per composite reference (``iou(noun and not plural)``) to ``frame``.

    Raises:
        QueryLimitError: the clock ran out.
        QueryTypeError: the formula or the method failed for this atlas (under the call).
    """
    bound = plan.bound
    assert bound is not None
    clock = clock if clock is not None else Clock(30)
    by_name = {m.name: m for m in bound.models}
    masks: dict[tuple[int, str], np.ndarray] = {}
    for ref in plan.composite_refs:
        assert ref.formula is not None
        values = np.full(len(frame), np.nan)
        for model_name, rows in frame.groupby("model", sort=True).indices.items():
            info = by_name[model_name]
            run_id = info.score_run or info.stat_run
            if run_id is None or info.corpus_id is None:
                continue
            key = (info.corpus_id, ref.formula)
            try:
                if key not in masks:
                    clock.check()
                    masks[key] = _evaluate_formula(db, info.corpus_id, ref.formula)
                for part in _chunks(np.asarray(rows)):
                    clock.check()
                    ids = [int(i) for i in frame["neuron_id"].to_numpy()[part]]
                    values[part] = _score_mask(db, run_id, ids, masks[key], ref.method, ref.params)
            except AtlasError as exc:
                raise _failed(ref, exc) from exc
            clock.check()
        frame[ref.label] = as_stored_array(values)  # every score has the stored scores' precision
    return frame


def _operand(frame: pd.DataFrame, node: ast.Operand, score: bool = False) -> Any:
    """A column or a number; with ``score``, a number compared with a score is rounded to float32
    as the scores are (the SQL side does the same: :func:`atlas.query.compiler.as_stored`)."""
    if isinstance(node, ast.Number):
        return as_stored(node.value) if score else node.value
    if isinstance(node, ast.Field):
        return frame[node.name if FIELDS[node.name][0] != "neuron" else FIELDS[node.name][1]].astype("float64")
    if isinstance(node, ast.Call):
        return frame[operand_text(node)].astype("float64")
    raise AssertionError("strings are rejected by the binder")  # pragma: no cover


def _known(frame: pd.DataFrame, *values: Any) -> np.ndarray:
    ok = np.ones(len(frame), dtype=bool)
    for v in values:
        if isinstance(v, pd.Series):
            ok &= v.notna().to_numpy()
    return ok


def _truth(frame: pd.DataFrame, result: Any, known: np.ndarray) -> pd.Series:
    arr = pd.array(np.asarray(result, dtype=bool) & known, dtype="boolean")
    arr[~known] = pd.NA
    return pd.Series(arr, index=frame.index)


def _explanation_text(frame: pd.DataFrame, node: ast.Compare) -> pd.Series:
    """``explanation = "FORMULA"`` and ``explanation mentions CONCEPT`` on the fetched column
    (the same meaning as the SQL of :mod:`atlas.query.compiler`)."""
    from atlas.explain.search import canonical_text

    assert isinstance(node.right, ast.String)
    text = frame["explanation"]
    known = text.notna().to_numpy()
    if node.op == "mentions":
        padded = " " + text.fillna("").str.replace("(", " ", regex=False).str.replace(")", " ", regex=False) + " "
        result = padded.str.contains(f" {node.right.value} ", regex=False).to_numpy()
    else:
        result = OPS[node.op](text.fillna(""), canonical_text(node.right.value)).to_numpy()
    return _truth(frame, result, known)


def evaluate(frame: pd.DataFrame, node: ast.Condition) -> pd.Series:
    """A condition over ``frame``'s columns with SQL's three-valued logic (NA = unknown)."""
    if isinstance(node, ast.Compare) and isinstance(node.right, ast.String) and "explanation" in frame.columns:
        return _explanation_text(frame, node)
    if isinstance(node, ast.Compare):
        score = isinstance(node.left, ast.Call) or isinstance(node.right, ast.Call)
        a, b = _operand(frame, node.left, score), _operand(frame, node.right, score)
        with np.errstate(invalid="ignore"):
            return _truth(frame, OPS[node.op](a, b), _known(frame, a, b))
    if isinstance(node, ast.Between):
        score = isinstance(node.operand, ast.Call)
        x, lo, hi = (_operand(frame, o, score) for o in (node.operand, node.low, node.high))
        with np.errstate(invalid="ignore"):
            return _truth(frame, (x >= lo) & (x <= hi), _known(frame, x, lo, hi))
    if isinstance(node, (ast.IsMissing, ast.Has)):
        v = _operand(frame, node.operand)
        present = v.notna() if isinstance(v, pd.Series) else pd.Series(True, index=frame.index)
        wanted = present if isinstance(node, ast.Has) or node.negated else ~present
        return wanted.astype("boolean")
    if isinstance(node, ast.Not):
        return ~evaluate(frame, node.operand)
    parts = [evaluate(frame, i) for i in node.items]
    out = parts[0]
    for p in parts[1:]:
        out = (out & p) if isinstance(node, ast.And) else (out | p)
    return out


def apply_composite(db: Any, plan: Plan, frame: pd.DataFrame, *, clock: Clock | None = None) -> tuple[pd.DataFrame, bool]:
    """Composite values, the remaining conditions, the order and the limit of ``plan``.

    Returns:
        The answer, and whether the limit cut it.
    """
    if len(frame) > MAX_COMPOSITE_NEURONS:
        raise QueryLimitError(
            f"a composite concept is evaluated for at most {MAX_COMPOSITE_NEURONS} neurons, "
            "and the other conditions leave more",
            hint="add conditions on stored scores or layers to narrow the neurons first",
        )
    frame = composite_values(db, plan, frame.reset_index(drop=True), clock=clock)
    if plan.residual is not None and len(frame):
        keep = evaluate(frame, plan.residual).fillna(False).to_numpy(dtype=bool)
        frame = frame[keep]
    keys: list[str] = []
    ascending: list[bool] = []
    tmp: list[str] = []
    for i, item in enumerate(plan.order):
        name = f"__k{i}"
        value = _operand(frame, item.expr)
        frame = frame.assign(**{name: value})
        keys.append(name)
        ascending.append(not item.descending)
        tmp.append(name)
    keys += ["model", "site", "layer", "unit"]
    ascending += [True, True, True, True]
    frame = frame.sort_values(keys, ascending=ascending, na_position="last", kind="stable").drop(columns=tmp)
    return frame.head(plan.limit).reset_index(drop=True), len(frame) > plan.limit
