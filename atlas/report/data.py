"""The report's data, as DataFrames: each one says where it came from.

Every function returns a DataFrame whose ``attrs["source"]`` is ``{"kind": "sql" | "query",
"text": ...}``: the SQL (over the named views of ``schema/``, rerun with ``atlas sql``) or the
query of the language (``atlas query``) that produced it. The frame *is* that statement's
answer (the SQL is run through :func:`atlas.report.sql.run_sql`, read-only), except for
:func:`agreement`, which is computed from the top-units frames it is given (its source says so).

``db`` is an open :class:`~atlas.api.Atlas` (this layer calls its ``query``, ``sql`` and
``neuron`` methods; it imports no facade).

Example::

    subjects = report_subjects(db, models=["minilm"])
    counts = detector_counts(db, [s.run_id for s in subjects])
    counts.attrs["source"]["text"]   # the SQL to rerun
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from atlas.errors import AtlasError
from atlas.methods.base import property_of
from atlas.query.canonical import name_text
from atlas.report.sql import run_sql
from atlas.store.scores import unpack
from atlas.store.tables import SCORE_BLOCK, Layer, Method, Model, ScoreSet, ScoreVector
from atlas.store.views import DETECTOR_THRESHOLDS

#: Units per method in a concept page's top-units table (each gets a neuron card).
TOP_UNITS = 5
#: Concepts a report pages when none are named: scored ``named`` concepts, in this order first.
PREFERRED_CONCEPTS = ("negation", "noun", "past_tense", "plural", "question", "proper_noun")
#: At most this many concept pages when none are named.
DEFAULT_CONCEPTS = 6


#: The functions :meth:`atlas.api.Atlas.report_data` exposes (each takes ``db`` first).
PARTS = ("model_layers", "detector_counts", "scored_concepts", "top_units", "concept_layer_counts", "probe_curve",
         "compare_depth")


@dataclass(frozen=True)
class Subject:
    """A model the report covers: its run, and its random-init control's run when there is one."""

    model: str
    run_id: int
    n_layers: int
    control: str | None = None
    control_run_id: int | None = None


def _sql(db: Any, text: str, *, limit: int = 100_000) -> pd.DataFrame:
    frame = run_sql(db, text, limit=limit, timeout_s=600)
    frame.attrs["source"] = {"kind": "sql", "text": text}
    return frame


def _query(db: Any, text: str) -> pd.DataFrame:
    frame = db.query(text, timeout_s=600)
    frame.attrs["source"] = {"kind": "query", "text": text}
    return frame


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def report_subjects(db: Any, *, runs: list[Any] | None = None, models: list[str] | None = None) -> list[Subject]:
    """The models a report covers: those of ``runs`` (ids), or ``models`` (their latest done run),
    or every model with a done run that is no random-init control of another; each with its
    control (``NAME-random``, or the model whose ``parent_id`` it is) and that control's latest
    done run.

    Raises:
        AtlasError: a named run or model does not exist or has no done run.
    """
    frame = _sql(db, "SELECT r.id AS run_id, r.status, mo.name AS model, mo.id AS model_id, mo.n_layers, "
                     "mo.random_init, mo.parent_id FROM run AS r JOIN model AS mo ON mo.id = r.model_id ORDER BY r.id")
    done = frame[frame["status"] == "done"]
    latest = done.groupby("model")["run_id"].max().to_dict()
    info = frame.drop_duplicates("model").set_index("model")
    chosen: list[tuple[str, int]] = []
    if runs:
        for ref in runs:
            row = frame[frame["run_id"].astype(str) == str(ref)]
            if row.empty:
                raise AtlasError(f"there is no run {ref!r}", hint="list the runs with `atlas run list`")
            chosen.append((str(row["model"].iloc[0]), int(row["run_id"].iloc[0])))
    elif models:
        for name in models:
            if name not in info.index:
                raise AtlasError(f"there is no model {name!r}", hint="list the models with `atlas query \"show models\"`")
            if name not in latest:
                raise AtlasError(f"model {name!r} has no done run", hint=f"extract it: atlas extract ... --as {name}")
            chosen.append((name, int(latest[name])))
    else:
        controls = {m for m in latest if bool(info.loc[m, "random_init"]) and _parent(info, m) in latest}
        chosen = [(m, int(r)) for m, r in sorted(latest.items()) if m not in controls]
    out = []
    for name, run_id in chosen:
        control = _control(info, name)
        out.append(Subject(name, run_id, int(info.loc[name, "n_layers"]), control,
                           int(latest[control]) if control in latest else None))
    return out


def _parent(info: pd.DataFrame, model: str) -> str | None:
    parent_id = info.loc[model, "parent_id"]
    names = info.index[info["model_id"] == parent_id]
    if len(names):
        return str(names[0])
    return model[: -len("-random")] if model.endswith("-random") else None


def _control(info: pd.DataFrame, model: str) -> str | None:
    """The random-init control of ``model``: a random-init model whose parent it is, else ``MODEL-random``."""
    if bool(info.loc[model, "random_init"]):
        return None
    for name in info.index:
        if bool(info.loc[name, "random_init"]) and _parent(info, str(name)) == model:
            return str(name)
    return None


def model_layers(db: Any, model: str) -> pd.DataFrame:
    """The model's layers × sites: site, layer, width, hook point, activation."""
    return _sql(db, 'SELECT l.site, l."index" AS layer, l.width, l.hook_point, l.activation FROM layer AS l '
                    f'JOIN model AS mo ON mo.id = l.model_id WHERE mo.name = {_literal(model)} ORDER BY l.site, l."index"')


def detector_counts(db: Any, run_ids: list[int]) -> pd.DataFrame:
    """Per (run, method row, site, layer): units, detectors (units at or above the method's
    threshold for at least one concept) and their fraction: the rows of ``layer_detector_counts``
    (its SQL is the frame's source).

    The view decodes every score through the ``score`` view (on SQLite a Python function call
    per value: minutes for the demo's 10 M scores), so the numbers are computed the same way in
    numpy from the packed ``score_vector`` rows (float32 values compared as float64, as the view
    compares them); ``tests/report`` checks that both give the same rows on both backends.
    """
    ids = ", ".join(str(int(r)) for r in sorted(set(run_ids))) or "NULL"
    sql = ("SELECT model, run_id, method, method_id, site, layer, depth, n_units, threshold, n_detectors, "
           "CAST(n_detectors AS FLOAT) / n_units AS fraction "
           f"FROM layer_detector_counts WHERE run_id IN ({ids}) ORDER BY model, method, method_id, site, layer")
    frame = _detector_counts_numpy(db, sorted({int(r) for r in run_ids}))
    frame.attrs["source"] = {"kind": "sql", "text": sql,
                             "note": "computed in numpy from score_vector; the same rows as this SQL"}
    return frame


def _detector_counts_numpy(db: Any, run_ids: list[int]) -> pd.DataFrame:
    """:func:`detector_counts` without the view: one pass over the runs' complete score vectors."""
    ss, sv, me, ly, mo = (t.__table__ for t in (ScoreSet, ScoreVector, Method, Layer, Model))
    columns = ["model", "run_id", "method", "method_id", "site", "layer", "depth", "n_units", "threshold", "n_detectors",
               "fraction"]
    hits: dict[tuple[int, int, int], np.ndarray] = {}
    names: dict[int, str] = {}
    with db.engine.connect() as conn:
        dialect = conn.dialect.name
        layers = {int(r.id): r for r in conn.execute(
            select(ly.c.id, ly.c.site, ly.c.index, ly.c.width, mo.c.name, mo.c.n_layers).join(mo, mo.c.id == ly.c.model_id))}
        rows = conn.execute(
            select(ss.c.run_id, ss.c.method_id, me.c.name, sv.c.layer_id, sv.c.block, sv.c.vals)
            .join(sv, sv.c.set_id == ss.c.id).join(me, me.c.id == ss.c.method_id)
            .where(ss.c.status == "complete", ss.c.run_id.in_(run_ids), me.c.name.in_(list(DETECTOR_THRESHOLDS)))
        )
        for run_id, method_id, name, layer_id, block, vals in rows:
            width = int(layers[int(layer_id)].width)
            key = (int(run_id), int(method_id), int(layer_id))
            mask = hits.get(key)
            if mask is None:
                mask = hits[key] = np.zeros(width, dtype=bool)
            names[int(method_id)] = str(name)
            values = unpack(vals, dialect).astype(np.float64)
            start = int(block) * SCORE_BLOCK
            end = min(start + len(values), width)
            if end > start:
                mask[start:end] |= values[: end - start] >= DETECTOR_THRESHOLDS[str(name)][0]
    out = []
    for (run_id, method_id, layer_id), mask in hits.items():
        layer = layers[layer_id]
        method = names[method_id]
        out.append((layer.name, run_id, method, method_id, layer.site, int(layer.index), layer.index / layer.n_layers,
                    int(layer.width), DETECTOR_THRESHOLDS[method][0], int(mask.sum()), mask.sum() / layer.width))
    frame = pd.DataFrame(out, columns=columns)
    return frame.sort_values(["model", "method", "method_id", "site", "layer"], kind="mergesort").reset_index(drop=True)


def scored_concepts(db: Any, run_ids: list[int]) -> pd.DataFrame:
    """The concepts with complete score sets in ``run_ids``: concept, kind, n_methods."""
    ids = ", ".join(str(int(r)) for r in sorted(set(run_ids))) or "NULL"
    return _sql(db, "SELECT co.name AS concept, co.kind, COUNT(DISTINCT ss.method_id) AS n_methods "
                    "FROM score_set AS ss JOIN concept AS co ON co.id = ss.concept_id "
                    f"WHERE ss.status = 'complete' AND ss.run_id IN ({ids}) GROUP BY co.name, co.kind ORDER BY co.name")


def default_concepts(scored: pd.DataFrame, n: int = DEFAULT_CONCEPTS) -> list[str]:
    """The concepts a report pages when none are named: of the scored ``named`` concepts, the
    :data:`PREFERRED_CONCEPTS` first, then the others by name; at most ``n``.

    >>> default_concepts(pd.DataFrame({"concept": ["zeta", "noun", "upos:NOUN"], "kind": ["named", "named", "upos"]}))
    ['noun', 'zeta']
    """
    named = [c for c, k in zip(scored["concept"], scored["kind"]) if k == "named"] or list(scored["concept"])
    first = [c for c in PREFERRED_CONCEPTS if c in named]
    return (first + sorted(c for c in named if c not in first))[:n]


def scored_methods(db: Any, run_id: int, concept: str) -> list[str]:
    """The method names with a complete set of ``concept`` in the run."""
    frame = _sql(db, "SELECT DISTINCT me.name AS method FROM score_set AS ss JOIN method AS me ON me.id = ss.method_id "
                     f"JOIN concept AS co ON co.id = ss.concept_id WHERE ss.run_id = {int(run_id)} "
                     f"AND ss.status = 'complete' AND co.name = {_literal(concept)} ORDER BY me.name")
    return [str(m) for m in frame["method"]]


def top_units(db: Any, model: str, method: str, concept: str, n: int = TOP_UNITS) -> pd.DataFrame:
    """The ``n`` units of ``model`` with the highest ``method(concept)`` (a query of the language)."""
    ref = f"{method}({name_text(concept)})"
    return _query(db, f"neurons in {name_text(model)} where has {ref} order by {ref} desc limit {int(n)}")


def agreement(tops: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How far the methods agree on a concept's top units: the Jaccard index of each pair of
    methods' top-unit sets (1 = the same units), as a square frame indexed by method.

    >>> a = pd.DataFrame({"neuron": ["m/mlp.0/1", "m/mlp.0/2"]}); b = pd.DataFrame({"neuron": ["m/mlp.0/2"]})
    >>> float(agreement({"ap": a, "iou": b}).loc["ap", "iou"])
    0.5
    """
    names = sorted(tops)
    sets = {m: set(tops[m]["neuron"]) for m in names}
    grid = [[len(sets[a] & sets[b]) / len(sets[a] | sets[b]) if sets[a] | sets[b] else float("nan") for b in names]
            for a in names]
    frame = pd.DataFrame(grid, index=names, columns=names)
    frame.attrs["source"] = {"kind": "computed", "text": "Jaccard index |A ∩ B| / |A ∪ B| of the top-unit sets above"}
    return frame


def stored_agreement(db: Any, model: str, concept: str) -> pd.DataFrame:
    """The agreement ``atlas score`` stored for ``concept`` in ``model``'s run (top-n Jaccard and
    Spearman of each pair of methods; the language's ``agreement of * on C in M``); empty when
    none is stored."""
    from atlas.errors import QueryError

    text = f"agreement of * on {name_text(concept)} in {name_text(model)}"
    try:
        return _query(db, text)
    except QueryError:  # no agreement stored for this model or concept
        frame = pd.DataFrame()
        frame.attrs["source"] = {"kind": "query", "text": text}
        return frame


def agreement_square(stored: pd.DataFrame, site: str = "mlp") -> pd.DataFrame:
    """The stored pairs of one site and the largest top-n as a square Jaccard frame (method x
    method, 1 on the diagonal), the shape :func:`atlas.report.plots.agreement_matrix` draws.

    >>> rows = pd.DataFrame({"site": ["mlp"], "n": [10], "method_a": ["ap"], "method_b": ["iou"], "jaccard": [0.25]})
    >>> float(agreement_square(rows).loc["iou", "ap"])
    0.25
    """
    part = stored[stored["site"] == site] if not stored.empty else stored
    if part.empty:
        return pd.DataFrame()
    part = part[part["n"] == part["n"].max()]
    names = sorted(set(part["method_a"]) | set(part["method_b"]))
    frame = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for a, b, value in part[["method_a", "method_b", "jaccard"]].itertuples(index=False):
        frame.loc[a, b] = frame.loc[b, a] = float(value) if value is not None else float("nan")
    frame.attrs["source"] = dict(stored.attrs.get("source") or {}, note=f"site {site}, top {int(part['n'].max())} units")
    return frame


def ablation_curves(db: Any, run_id: int, concept: str) -> pd.DataFrame:
    """The top/random/bottom-k ablation curves ``atlas ablate`` stored for ``concept`` in run
    ``run_id``: ranking, selection, k, metric, value, std (empty when none is stored)."""
    text = ("SELECT c.ranking, c.site, c.selection, c.k, c.metric, c.value, c.std, c.n FROM ablation_curve c "
            f"JOIN concept ON concept.id = c.concept_id WHERE c.run_id = {int(run_id)} AND concept.name = {_literal(concept)} "
            "ORDER BY c.ranking, c.metric, c.k, c.selection")
    return _sql(db, text)


def layer_similarity(db: Any, model: str, other: str, method: str = "cka", site: str = "mlp") -> pd.DataFrame:
    """The layer x layer similarity of two correlated models (``layers of A vs B by METHOD``)."""
    return _query(db, f"layers of {name_text(model)} vs {name_text(other)} site={site} by {method}")


def concept_layer_counts(db: Any, models: list[str], method: str, concept: str) -> pd.DataFrame:
    """How many units of each model reach ``method``'s detector threshold for ``concept``, per
    layer (the language's ``compare ... by layer``; models with a control compare with it)."""
    threshold = DETECTOR_THRESHOLDS[method][0]
    names = ", ".join(name_text(m) for m in models)
    return _query(db, f"compare {names} where {method}({name_text(concept)}) >= {threshold} by layer")


def probe_tasks(concept: str) -> list[str]:
    """The probe tasks that speak of ``concept``: itself, and its property for a property value.

    >>> probe_tasks("upos:NOUN"), probe_tasks("negation")
    (['upos:NOUN', 'upos'], ['negation'])
    """
    prop = property_of(concept)
    return [concept] + ([prop] if prop else [])


def probe_curve(db: Any, run_ids: list[int], concept: str) -> pd.DataFrame:
    """The probe figures of ``concept`` (and its property) in the runs: model, method, site,
    layer, depth, task, metric, k, value (from ``probe_curve``)."""
    ids = ", ".join(str(int(r)) for r in sorted(set(run_ids))) or "NULL"
    tasks = ", ".join(_literal(t) for t in probe_tasks(concept))
    return _sql(db, "SELECT model, method, site, layer, depth, task, metric, k, value FROM probe_curve "
                    f"WHERE run_id IN ({ids}) AND task IN ({tasks}) ORDER BY model, task, method, site, layer, metric")


def compare_depth(db: Any, models: list[str], method: str, concept: str) -> pd.DataFrame:
    """The language's ``compare`` across models by relative depth, at the method's detector threshold."""
    threshold = DETECTOR_THRESHOLDS[method][0]
    names = ", ".join(name_text(m) for m in models)
    return _query(db, f"compare {names} where {method}({name_text(concept)}) >= {threshold} by depth")


def neuron_sections(db: Any, neuron: str) -> dict[str, pd.DataFrame]:
    """Every section of ``neuron NEURON`` (:meth:`atlas.api.Atlas.neuron`), each with its source:
    the language's statement, and for the sections a named view holds, that view's SQL."""
    sections: dict[str, pd.DataFrame] = dict(db.neuron(neuron, timeout_s=600))
    statement = f"neuron {neuron}"
    for name, frame in sections.items():
        frame.attrs["source"] = {"kind": "query", "text": statement}
    return sections


def neuron_view_sql(neuron: str, run: Any) -> dict[str, str]:
    """For the neuron card: the SQL over the named views that gives the ``stats`` and
    ``top_words`` sections again (run ``run``)."""
    model, site_layer, unit = neuron.split("/")
    site, _, layer = site_layer.partition(".")
    where = (f"model = {_literal(model)} AND site = {_literal(site)} AND layer = {int(layer)} AND unit = {int(unit)}")
    run_filter = f" AND run_id = {int(run)}" if run is not None and run == run else ""
    return {
        "stats": f"SELECT * FROM neuron_card WHERE {where}{run_filter}",
        "top_words": ("SELECT rank, value, word, sentence FROM top_words_in_context WHERE neuron_id = "
                      f"(SELECT neuron_id FROM neuron_card WHERE {where}{run_filter}){run_filter} ORDER BY rank"),
    }
