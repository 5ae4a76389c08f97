"""Neuron-first views: ``neuron NEURON`` and ``words of NEURON`` (statements that read more
than SQL rows: the neuron's stored score sets decoded in numpy, and its column of the run's
activation file).

``neuron minilm/mlp.0/5`` answers with sections (``frame.attrs["sections"]``, a dict of
DataFrames; the frame itself is the ``stats`` section):

* ``stats``: neuron, model, site, layer, unit, depth, run, mean, std, min, max, fire_rate, threshold;
* ``concepts``: for each method with complete score sets of the model (the sets a query
  reads: :func:`atlas.query.binder.load_sets` over ``method(*)``), its :data:`BEST_CONCEPTS`
  best concepts by this neuron's value (highest first; lowest first for a method whose
  ``higher_is_more`` is false): method, rank, concept, value, run, params. One statement reads
  the neuron's (layer, block) row of every such set; numpy decodes it;
* ``causal``: every causal score of the neuron (methods of kind ``causal``: ``ablation``,
  ``ablation_loss``, ``ablation_embedding``, ``attribution``; :mod:`atlas.causal`), one row per
  (method, concept), strongest first per method: method, rank, concept, value, run, params
  (the ``concepts`` section leaves them out: it says what the neuron encodes, this what the
  model uses it for);
* ``top_words``: the stored top activations with their sentences (as ``top tokens``);
* ``histogram``: its activations over the run's corpus in :data:`HISTOGRAM_BINS` bins
  (low, high, count), read from the activation file of its layer in the model's latest done
  run that has one;
* ``similar``: its :data:`SIMILAR_PER_MODEL` closest partners in each model correlated with
  its own (``atlas correlate``; the correlations ``similar to NEURON`` reads): model, neuron,
  value (Pearson r), abs, rank, correlation;
* ``explanations``: its stored compositional explanations (``atlas explain``), as ``explain N``
  shows them: max_length, formula, length, iou, score, metric, search, run, mask;
* ``notes``: the lab's notes and labels on the neuron (``atlas note``, ``atlas label``).

``words of NEURON [by mean | max | count] [min N] [limit N]`` groups the same activation column by
lower-cased word form: word, n (occurrences), mean, max.

What a view lacks (no statistics, no activation file, a file missing from the store) is a
warning, not an error. The query's one deadline holds between the steps.

Example::

    frame = run_query(db, "neuron minilm/mlp.0/5")
    frame.attrs["sections"]["concepts"]
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

import atlas.query.ast as ast
from atlas.errors import AtlasError
from atlas.query import similar
from atlas.methods import registry
from atlas.query.binder import load_sets
from atlas.query.bound import ModelInfo, ScoreRef
from atlas.query.compiler import Plan, as_stored_array
from atlas.query.execute import Clock, arm, fetch, shape_explanations, utc_times
from atlas.store.scores import unpack
from atlas.store.tables import SCORE_BLOCK, Concept, Method, Run, ScoreSet, ScoreVector, Token

#: Concepts per method the neuron view lists.
BEST_CONCEPTS = 5
#: Bins of the neuron view's activation histogram.
HISTOGRAM_BINS = 20
#: The order of the neuron view's sections.
SECTIONS = ("stats", "concepts", "causal", "top_words", "histogram", "similar", "explanations", "notes")
#: Partners per other model the neuron view's ``similar`` section lists.
SIMILAR_PER_MODEL = 3
#: Most rows of the ``causal`` section per method.
CAUSAL_ROWS = 50


def run_view(db: Any, conn: Connection, plan: Plan, clock: Clock) -> pd.DataFrame:
    """Run a ``neuron`` or ``words`` plan in ``conn`` (inside the query's deadline).

    Returns the ``stats`` section (``neuron``) or the words (``words``); warnings go to
    ``frame.attrs["view_warnings"]``, the sections of ``neuron`` to ``frame.attrs["sections"]``.
    """
    warnings: list[str] = []
    if plan.kind == "words":
        frame = _words(db, conn, plan, clock, warnings)
    else:
        sections = _neuron_sections(db, conn, plan, clock, warnings)
        frame = sections["stats"].copy()
        frame.attrs["sections"] = sections
    frame.attrs["view_warnings"] = warnings
    return frame


def _ref(plan: Plan) -> tuple[ast.NeuronRef, ModelInfo]:
    assert plan.bound is not None and plan.bound.neuron is not None
    st = plan.bound.statement
    assert isinstance(st, (ast.NeuronView, ast.WordsQuery))
    return st.neuron, plan.bound.neuron


def _neuron_sections(db: Any, conn: Connection, plan: Plan, clock: Clock, warnings: list[str]) -> dict[str, pd.DataFrame]:
    ref, model = _ref(plan)
    arm(conn, clock)
    row = conn.execute(plan.select).mappings().first()
    assert row is not None  # the binder checked the neuron exists
    stats = {"neuron": str(ref), "model": model.name, "site": ref.site, "layer": ref.layer, "unit": ref.unit,
             "depth": ref.layer / model.n_layers, "run": row["run"]}
    stats |= {c: row[c] for c in ("mean", "std", "min", "max", "fire_rate", "threshold")}
    if row["run"] is None:
        warnings.append(f"{model.name} has no neuron statistics: extract a run of it")
    out: dict[str, pd.DataFrame] = {"stats": pd.DataFrame([stats]).astype({"run": "Int64"})}
    for name in ("mean", "std", "min", "max", "fire_rate", "threshold"):
        out["stats"][name] = pd.to_numeric(out["stats"][name], errors="coerce").astype("float64")
    causal = set(m.name for m in registry.select(kind="causal"))
    out["concepts"] = best_concepts(conn, model, int(row["layer_id"]), ref.unit, clock, keep=lambda m: m not in causal)
    out["causal"] = best_concepts(conn, model, int(row["layer_id"]), ref.unit, clock, per_method=CAUSAL_ROWS,
                                  keep=lambda m: m in causal)
    clock.check()
    out["top_words"] = fetch(conn, plan.parts["top"], clock=clock).drop(columns=["run"])
    column, run = _activations(db, conn, plan, clock, warnings)
    out["histogram"] = histogram(column)
    out["histogram"].attrs["run"] = run
    out["similar"] = similar_partners(conn, model, ref, clock)
    for name in ("explanations", "notes"):
        arm(conn, clock)
        result = conn.execute(plan.parts[name])
        frame = pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))
        out[name] = utc_times(frame, "created_at") if name == "notes" else frame
    out["explanations"] = shape_explanations(out["explanations"])
    return out


def similar_partners(conn: Connection, model: ModelInfo, ref: ast.NeuronRef, clock: Clock,
                     per_model: int = SIMILAR_PER_MODEL) -> pd.DataFrame:
    """The neuron's closest partners in each other model correlated with its own (the latest
    complete correlation per model that covers its site): model, neuron, value, abs, rank,
    correlation; the most similar model first."""
    columns = ["model", "neuron", "value", "abs", "rank", "correlation"]
    arm(conn, clock)
    picked = similar.chosen([x for x in similar.links(conn, [model.id]) if x.site == ref.site], model.id, None)
    parts = []
    for link in picked:
        arm(conn, clock)
        rows = conn.execute(similar.similar_select(model.id, ref.site, ref.layer, ref.unit, [link], per_model - 1)).mappings().all()
        parts += [{"model": r["model"], "neuron": f"{r['model']}/{r['site']}.{r['layer']}/{r['unit']}", "value": r["value"],
                   "abs": r["abs"], "rank": r["rank"], "correlation": r["correlation"]} for r in rows]
    frame = pd.DataFrame(parts, columns=columns)
    if not frame.empty:
        best = frame.groupby("model")["abs"].transform("max")
        frame = frame.assign(_best=best).sort_values(["_best", "model", "abs"], ascending=[False, True, False], kind="stable")
        frame = frame.drop(columns="_best").reset_index(drop=True)
    return frame.astype({"value": "float64", "abs": "float64", "rank": "int64", "correlation": "int64"})


def best_concepts(conn: Connection, model: ModelInfo, layer_id: int, unit: int, clock: Clock,
                  per_method: int = BEST_CONCEPTS, keep: Callable[[str], bool] | None = None) -> pd.DataFrame:
    """For each method with complete sets of ``model`` (those ``keep`` accepts, by name), the
    ``per_method`` concepts on which the neuron (``layer_id``, ``unit``) scores best: method,
    rank, concept, value, run, params."""
    columns = ["method", "rank", "concept", "value", "run", "params"]
    arm(conn, clock)
    names = sorted(conn.execute(
        select(Method.name).distinct().join(ScoreSet, ScoreSet.method_id == Method.id).join(Run, Run.id == ScoreSet.run_id)
        .where(Run.model_id == model.id, Run.status == "done", ScoreSet.status == "complete")
    ).scalars())
    names = [n for n in names if keep is None or keep(n)]
    refs = [ScoreRef(n, f"{n}(*)", None, None, ast.Call(method=n, arg=ast.ConceptAll()), None, every=True) for n in names]
    info = replace(model, sets={})
    load_sets(conn, [info], refs)
    picks = {src.set_id: (key[0], key[1], src) for key, src in info.sets.items() if len(key) == 2}
    if not picks:
        return pd.DataFrame(columns=columns)
    block, offset = divmod(unit, SCORE_BLOCK)
    values: dict[int, float] = {}
    ids = sorted(picks)
    for start in range(0, len(ids), 500):
        arm(conn, clock)
        for set_id, vals in conn.execute(
            select(ScoreVector.set_id, ScoreVector.vals).where(
                ScoreVector.set_id.in_(ids[start : start + 500]), ScoreVector.layer_id == layer_id, ScoreVector.block == block)
        ):
            arr = unpack(vals, conn.dialect.name)
            values[int(set_id)] = float(arr[offset]) if offset < len(arr) else float("nan")
    method_ids = sorted({src.method_id for _, _, src in picks.values()})
    higher = dict(conn.execute(select(Method.id, Method.higher_is_more).where(Method.id.in_(method_ids))).all())
    concept_ids = sorted({c for _, c, _ in picks.values()})
    concepts = dict(conn.execute(select(Concept.id, Concept.name).where(Concept.id.in_(concept_ids))).all())
    rows = [(m, concepts[c], values.get(sid, float("nan")), src.run_id, src.params, higher.get(src.method_id, True) is not False)
            for sid, (m, c, src) in picks.items()]
    frame = pd.DataFrame(rows, columns=["method", "concept", "value", "run", "params", "higher"])
    frame = frame[frame["value"].notna()]
    frame["key"] = np.where(frame["higher"], -frame["value"], frame["value"])
    frame = frame.sort_values(["method", "key", "concept"], kind="mergesort").groupby("method", sort=True).head(per_method)
    frame["rank"] = frame.groupby("method").cumcount() + 1
    frame["value"] = as_stored_array(frame["value"].to_numpy(dtype=np.float64))
    return frame[columns].astype({"rank": "int64", "run": "int64"}).reset_index(drop=True)


def _activations(db: Any, conn: Connection, plan: Plan, clock: Clock, warnings: list[str]) -> tuple[np.ndarray | None, int | None]:
    """The neuron's activations over its run's corpus (float64, one per word), and the run; None
    with a warning when no done run has an activation file of its layer or the file is missing."""
    ref, model = _ref(plan)
    file_select = plan.select if plan.kind == "words" else plan.parts["file"]
    arm(conn, clock)
    row = conn.execute(file_select).mappings().first()
    if row is None:
        warnings.append(f"no done run of {model.name} has an activation file of {ref.site}.{ref.layer}: "
                        f"extract a run of {model.name} ('atlas extract {model.name} --corpus CORPUS')")
        return None, None
    store = getattr(db, "store", None)
    if store is None:
        warnings.append("the activations are read through an open atlas (atlas.connect), not an engine")
        return None, int(row["run"])
    try:
        column = np.asarray(store.open(row["path"])[:, ref.unit], dtype=np.float64)
    except AtlasError as exc:
        warnings.append(f"the activations of {ref} cannot be read: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
        return None, int(row["run"])
    clock.check()
    return column, int(row["run"])


def histogram(column: np.ndarray | None, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """``bins`` equal-width bins of the finite values of ``column``: low, high, count.

    >>> histogram(np.array([0.0, 1.0, 1.0]), bins=2)["count"].tolist()
    [1, 2]
    """
    if column is None:
        return pd.DataFrame({"low": pd.Series(dtype="float64"), "high": pd.Series(dtype="float64"), "count": pd.Series(dtype="int64")})
    finite = column[np.isfinite(column)]
    counts, edges = np.histogram(finite, bins=bins)
    return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "count": counts.astype(np.int64)})


def _words(db: Any, conn: Connection, plan: Plan, clock: Clock, warnings: list[str]) -> pd.DataFrame:
    """``words of N``: word, n, mean, max per lower-cased form, ordered, filtered and cut."""
    empty = pd.DataFrame({"word": pd.Series(dtype=object), "n": pd.Series(dtype="int64"),
                          "mean": pd.Series(dtype="float64"), "max": pd.Series(dtype="float64")})
    column, _run = _activations(db, conn, plan, clock, warnings)
    if column is None:
        return empty
    arm(conn, clock)
    corpus_id = conn.execute(plan.select).mappings().first()["corpus_id"]  # type: ignore[index]
    arm(conn, clock)
    rows = conn.execute(select(Token.row, Token.form).where(Token.corpus_id == corpus_id).order_by(Token.row)).all()
    forms = np.full(len(column), None, dtype=object)
    for r, form in rows:
        if 0 <= r < len(forms):
            forms[r] = form.lower()
    keep = np.array([f is not None for f in forms]) & np.isfinite(column)
    words, inverse = np.unique(forms[keep].astype(str), return_inverse=True)
    values = column[keep]
    n = np.bincount(inverse, minlength=len(words))
    mean = np.bincount(inverse, weights=values, minlength=len(words)) / np.maximum(n, 1)
    top = np.full(len(words), -np.inf)
    np.maximum.at(top, inverse, values)
    clock.check()
    st = plan.bound.statement if plan.bound is not None else None
    frame = pd.DataFrame({"word": words.astype(object), "n": n.astype("int64"), "mean": mean, "max": top})
    if isinstance(st, ast.WordsQuery) and st.min_count is not None:
        frame = frame[frame["n"] >= st.min_count]
    key = {"mean": ["mean", "n", "word"], "max": ["max", "mean", "word"], "count": ["n", "mean", "word"]}[plan.by or "mean"]
    frame = frame.sort_values(key, ascending=[False, False, True], kind="mergesort")
    cut = len(frame) > plan.limit
    frame = frame.head(plan.limit).reset_index(drop=True)
    frame.attrs["cut"] = cut
    return frame


def sections_csv(frame: pd.DataFrame) -> str:
    """An answer as CSV text: the frame, or for a view with sections each one after a
    ``# name`` line (a blank line between them)."""
    sections = frame.attrs.get("sections")
    if not sections:
        return str(frame.to_csv(index=False))
    out = io.StringIO()
    for i, name in enumerate(SECTIONS):
        if i:
            out.write("\n")
        out.write(f"# {name}\n")
        out.write(sections[name].to_csv(index=False))
    return out.getvalue()
