"""The scoring job: a run's activations × its corpus's concepts → score sets.

``score(db, run)`` reads the run's activation files (one float16 array per layer × site) and
the concept matrix of the run's corpus, and fits every requested method layer by layer (the
corpus-based ones share one set of sufficient statistics per layer). Scores are stored as
**score sets** (:mod:`atlas.store.scores`): one per (run, method row, concept), invisible to
queries while the job writes them. Each layer's values of every set, its thresholds and its
probe results are committed in one transaction; when every layer is written, one last
transaction completes the sets, replacing the older complete sets of the same (run, method
row, concept) and nothing else. So a killed job leaves the previous scores in place and its
finished layers on disk: run it again and it computes only the layers that are missing, and the
result equals an uninterrupted run's. Scoring a subset of concepts adds or replaces just those
sets.

Which concepts: every concept of the corpus with at least ``min_count`` words (default 5;
fewer makes ranks and rates meaningless) and not on every word; ``concepts=`` restricts the
set (names are checked). Which methods: the ones named, else the registry's default set. The job
reads only what methods declare (:class:`~atlas.methods.base.MethodSpec`): a method that
``needs_probe`` (``probe``, ``control_selectivity``) is opt-in and, unless ``concepts`` is given,
runs only on the named concepts (names without ``:``) and ``upos:*`` (one multi-class probe);
``needs`` says which costly context inputs to load; ``stats`` which shared statistics to
compute in one pass.

Example::

    db = atlas.connect("sqlite:///lab.db")
    result = score(db, "minilm", methods=["iou", "selectivity"], concepts=["noun", "negation"])
    result["methods"]["iou"]["rows"]
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from tqdm.auto import tqdm

from atlas.errors import ConceptError, MethodError, did_you_mean
from atlas.methods import registry
from atlas.methods.base import MethodSpec, params_hash, property_groups, property_of
from atlas.methods.causal import compute_command
from atlas.methods.corpus import shared_stats
from atlas.methods.stats import ALPHA
from atlas.store import scores
from atlas.store.engine import write as write_transaction
from atlas.store.failures import database_label, translating
from atlas.store.runs import find_run
from atlas.store.tables import ActivationFile, Concept, Layer, Method, Neuron, NeuronStat, ProbeResult, Run, Token

#: Concepts need at least this many words to be scored (``--min-count``).
MIN_COUNT = 5

#: A method with its parameters, as the job runs it.
Chosen = list[tuple[MethodSpec, dict[str, Any]]]


def resolve_run(db: Any, ref: int | str | Run) -> Run:
    """The run ``ref`` names: a :class:`Run`, an id, or a model short name (its latest done run).

    Raises:
        MethodError: no such run.
    """
    return ref if isinstance(ref, Run) else find_run(db, ref, error=MethodError)


def _load_matrix(db: Any, corpus_id: int) -> Any:
    """Area A's concept matrix of the corpus (every concept, ``min_count=1``)."""
    from atlas.corpus.matrix import load_concept_matrix

    return load_concept_matrix(db, corpus_id, min_count=1)


def _split(values: str | Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = values.split(",")
    out = [v.strip() for v in values if v and v.strip()]
    return out or None


def _resolve_methods(methods: str | Iterable[str] | None, params: Mapping[str, Mapping[str, Any]] | None) -> Chosen:
    """The methods to run, from the registry: the named ones, the default set, or ``all``."""
    names = _split(methods) or [m.name for m in registry.select(default=True, kind="concept")]
    if "all" in names:
        names = [m.name for m in registry.select(kind="concept")]
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    specs = [registry.get(n) for n in seen]
    for spec in specs:
        if spec.kind != "concept":
            concept = f"concept methods: {', '.join(m.name for m in registry.select(kind='concept'))}"
            raise MethodError(
                f"{spec.name!r} is a {spec.kind} method; the scoring job fits concept methods",
                hint=f"compute it with: {compute_command(spec.name)}; {concept}" if spec.kind == "causal" else concept,
            )
    params = dict(params or {})
    for name in params:
        if name not in seen:
            raise MethodError(f"parameters given for {name!r}, which is not among the methods run", hint=f"methods: {', '.join(seen)}")
    return [(spec, spec.params(params.get(spec.name))) for spec in specs]


@dataclass
class _Concepts:
    """The concept columns one job scores (a subset of the corpus's concept matrix)."""

    names: list[str]  # scored concept names, column order of Y
    ids: np.ndarray  # their concept ids
    Y: np.ndarray  # bool [n_words, n_scored]
    probe_pos: list[int]  # the columns methods that train probes fit
    skipped: list[str]  # concepts left out (too few words, or on every word)
    sentence_index: np.ndarray  # the sentence of each word
    n_words: int


def _choose_concepts(db: Any, matrix: Any, concepts: str | Sequence[str] | None, min_count: int) -> _Concepts:
    """The columns to score: the named concepts (checked) or every one with ``min_count`` words."""
    names_all = list(matrix.names)
    counts = np.asarray(matrix.mask, bool).sum(0)
    n_words = int(matrix.mask.shape[0])
    wanted = _split(concepts)
    if wanted is not None:
        _check_concepts(db, wanted, names_all)
        pool = [names_all.index(n) for n in wanted]
    else:
        pool = list(range(len(names_all)))
    skipped = [names_all[i] for i in pool if not (min_count <= counts[i] < n_words)]
    cols = [i for i in pool if min_count <= counts[i] < n_words]
    if not cols:
        raise ConceptError(
            "no concept left to score",
            hint=f"concepts need at least {min_count} words and may not cover every word (lower --min-count?)",
        )
    probe_cols = cols
    if wanted is None:  # probes: the named concepts and one multi-class upos probe
        probe_cols = [i for i in cols if ":" not in names_all[i] or names_all[i].startswith("upos:")]
    return _Concepts(
        names=[names_all[i] for i in cols],
        ids=np.asarray(matrix.ids)[cols].astype(np.int64),
        Y=np.ascontiguousarray(np.asarray(matrix.mask, bool)[:, cols]),
        probe_pos=[cols.index(i) for i in probe_cols],
        skipped=skipped,
        sentence_index=np.asarray(matrix.sentence_index),
        n_words=n_words,
    )


def _done_run(db: Any, run: int | str | Run) -> Run:
    run_row = resolve_run(db, run)
    if run_row.status != "done":
        raise MethodError(
            f"run {run_row.id} is {run_row.status!r}, not done",
            hint="finish the extraction first (atlas extract resumes a run)",
        )
    return run_row


def score(
    db: Any,
    run: int | str | Run,
    *,
    methods: str | Sequence[str] | None = None,
    concepts: str | Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    min_count: int = MIN_COUNT,
    progress: bool = True,
    write: bool = True,
    device: str | None = None,
) -> dict[str, Any]:
    """Score every neuron of a run against every concept of its corpus; store the score sets.

    Args:
        db: an open atlas (:class:`atlas.store.context.AtlasContext`).
        run: run id, or model short name (its latest done run).
        methods: method names (list or comma-separated); default: the registry's default set
            (``registry.select(default=True)``); ``"all"`` adds the probes.
        concepts: concept names to score (default: every concept with ``min_count`` words).
            Only these concepts' sets are added or replaced.
        params: per-method parameter overrides, ``{"iou": {"alpha": 0.01}}``; they make a
            different ``method`` row (stored with the scores).
        min_count: concepts with fewer words are skipped (reported in ``skipped_concepts``).
        progress: show a progress bar on stderr (computing and writing, layer by layer).
        write: ``False`` computes and discards (the benchmarks' baseline); nothing is stored.
        device: ``cuda`` runs the matrix products and the AP sorts on the GPU with torch
            (:mod:`atlas.methods.device`; the same scores within float rounding); default: numpy.

    Returns:
        ``{"run_id", "n_neurons", "n_concepts", "skipped_concepts", "resumed_layers",
        "methods": {name: {"method_id", "rows", "compute_s", "write_s"[, "values_used"]}}, "probe_results":
        {name: {layer: ...}}}`` (probe results of the layers computed by this call);
        ``values_used`` (probeless): per property, the values its sums used (``min_count``).

    Raises:
        MethodError: unknown method or parameter, run not done, missing activations.
        ConceptError: unknown concept name.

    Example::

        >>> score(db, 1, methods="iou,selectivity", concepts="noun,negation")  # doctest: +SKIP
    """
    from atlas.methods.device import use_device

    with translating(f"scoring run {run}", where=database_label(db.engine)), use_device(device):
        return _score(db, run, methods, concepts, params, min_count, progress, write)


def _score(
    db: Any, run: int | str | Run, methods: str | Sequence[str] | None, concepts: str | Sequence[str] | None,
    params: Mapping[str, Mapping[str, Any]] | None, min_count: int, progress: bool, write: bool,
) -> dict[str, Any]:
    chosen = _resolve_methods(methods, params)
    run_row = _done_run(db, run)
    files = _activation_files(db, run_row.id)
    matrix = _load_matrix(db, run_row.corpus_id)
    sel = _choose_concepts(db, matrix, concepts, min_count)
    context = _context_inputs(db, run_row, chosen, sel, matrix)
    neuron_ids = _neuron_ids(db, files)
    job = _open_sets(db, run_row.id, chosen, sel, context) if write else None
    done = _run_layers(db, run_row, files, neuron_ids, chosen, sel, context, job, progress)
    if job is not None:
        t0 = time.perf_counter()
        with write_transaction(db.engine) as conn:
            scores.complete_sets(conn, [i for ids in job.set_ids.values() for i in ids])
            scores.analyze(conn, ("score_set", "score_vector", "neuron_stat", "probe_result"))
        done.write_s["_complete"] = time.perf_counter() - t0
    n_units = int(sum(len(ids) for ids in neuron_ids))
    out_methods = {
        spec.name: {
            "method_id": job.method_ids[spec.name] if job else None,
            "rows": n_units * (len(_columns(spec, sel)) + len(job.properties.get(spec.name, []))) if job else 0,
            "compute_s": round(done.compute_s[spec.name], 3),
            "write_s": round(done.write_s.get(spec.name, 0.0), 3),
            **({"values_used": done.values_used[spec.name]} if spec.name in done.values_used else {}),
        }
        for spec, _ in chosen
    }
    return {
        "run_id": run_row.id,
        "n_neurons": n_units,
        "n_concepts": len(sel.names),
        "skipped_concepts": sel.skipped,
        "resumed_layers": done.resumed,
        "methods": out_methods,
        "probe_results": done.probe_results,
    }


def _context_inputs(db: Any, run: Run, chosen: Chosen, sel: _Concepts, matrix: Any) -> dict[str, Any]:
    """What ``fit`` gets besides ``X`` and ``Y``; the costly inputs only when a method needs them."""
    needed = {n for spec, _ in chosen for n in spec.needs}
    return {
        "names": sel.names,
        "sentence_index": sel.sentence_index,
        "word_types": _word_types(db, run.corpus_id) if "word_types" in needed else None,
        "property_columns": _property_columns(matrix, sel.names) if "property_columns" in needed else None,
    }


def _property_columns(matrix: Any, names: list[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    """For each property among the scored ``names``, every value of it in the corpus's concept
    matrix: ``{property: (value names, bool [n_words, n_values])}`` (so a property-wide method
    does not depend on which values are scored)."""
    wanted = {p for p in (property_of(n) for n in names) if p is not None}
    groups = {p: cols for p, cols in property_groups(list(matrix.names)).items() if p in wanted}
    mask = np.asarray(matrix.mask, bool)
    return {p: ([matrix.names[i] for i in cols], mask[:, cols]) for p, cols in groups.items()}


def _columns(spec: MethodSpec, sel: _Concepts) -> list[int]:
    """The concept columns a method scores: all, or the probe subset for methods that train probes."""
    return sel.probe_pos if spec.needs_probe else list(range(len(sel.names)))


@dataclass
class _Job:
    """The score sets one job writes: per method, its method row and one set per scored column
    (then, for a property-level method, one per property: ``properties``)."""

    method_ids: dict[str, int]
    set_ids: dict[str, list[int]]
    done_layers: set[int]  # layers every set of the job already holds (a resumed job skips them)
    properties: dict[str, list[str]] = field(default_factory=dict)  # method → properties with a set


#: The ``concept.kind`` of a whole property (``upos``, ``feat:Number``), scored by property-level methods.
PROPERTY_KIND = "property"


def property_sets(spec: MethodSpec, params: Mapping[str, Any], context: dict[str, Any]) -> list[str]:
    """The properties a property-level method (``probeless``: its estimator has
    ``property_level``) stores a set for: those among the scored concepts with two values or
    more of at least ``min_count`` words in the corpus (the estimator's ``property_scores_``)."""
    if not getattr(spec.estimator, "property_level", False):
        return []
    min_count = int(params.get("min_count", 1))
    full = context.get("property_columns") or {}
    return sorted(p for p, (_, Yp) in full.items() if int((np.asarray(Yp, bool).sum(0) >= min_count).sum()) >= 2)


def _property_concepts(conn: Connection, names: list[str]) -> list[int]:
    """The ids of the ``property`` concepts named ``names``, created where missing.

    Raises:
        ConceptError: a concept of that name exists with another kind (a user's own).
    """
    found = dict(conn.execute(select(Concept.name, Concept.id).where(Concept.name.in_(names))).all())
    kinds = dict(conn.execute(select(Concept.name, Concept.kind).where(Concept.name.in_(names))).all())
    clash = [n for n in names if n in kinds and kinds[n] != PROPERTY_KIND]
    if clash:
        raise ConceptError(f"the concept {clash[0]!r} is a {kinds[clash[0]]} concept, so the property {clash[0]} "
                           "cannot be stored under its name",
                           hint="rename that concept, or score without probeless (--methods ...)")
    for name in names:
        if name not in found:
            found[name] = conn.execute(insert(Concept).values(
                name=name, kind=PROPERTY_KIND, level="token", builtin=True,
                description=f"the property {name} as a whole (all its values): property-level rankings such as probeless",
            )).inserted_primary_key[0]
    return [int(found[n]) for n in names]


def _open_sets(db: Any, run_id: int, chosen: Chosen, sel: _Concepts, context: dict[str, Any]) -> _Job:
    """Create (or, after an interruption, find again) the job's building sets."""
    method_ids: dict[str, int] = {}
    set_ids: dict[str, list[int]] = {}
    properties: dict[str, list[str]] = {}
    with write_transaction(db.engine) as conn:
        for spec, p in chosen:
            mid = method_row(conn, spec, p)
            method_ids[spec.name] = mid
            concept_ids = sel.ids[_columns(spec, sel)].tolist()
            props = property_sets(spec, p, context)
            if props:
                properties[spec.name] = props
                concept_ids += _property_concepts(conn, props)
            set_ids[spec.name] = scores.open_sets(conn, run_id, mid, concept_ids)
        written = scores.layers_written(conn, [i for ids in set_ids.values() for i in ids])
    layer_sets = list(written.values())
    done = set.intersection(*layer_sets) if layer_sets else set()
    return _Job(method_ids, set_ids, done, properties)


@dataclass
class _Done:
    """What running the layers produced (timings, and probe results for the caller)."""

    compute_s: dict[str, float]
    write_s: dict[str, float] = field(default_factory=dict)
    probe_results: dict[str, dict[str, Any]] = field(default_factory=dict)  # method → layer → results_
    values_used: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # method → property → values
    resumed: int = 0  # layers found written by an earlier, interrupted job


def _run_layers(
    db: Any, run: Run, files: list[dict[str, Any]], neuron_ids: list[np.ndarray], chosen: Chosen,
    sel: _Concepts, context: dict[str, Any], job: _Job | None, progress: bool,
) -> _Done:
    """Fit every chosen method on every activation file (one in memory at a time) and commit
    each layer's values, thresholds and probe results in one transaction."""
    done = _Done(compute_s={s.name: 0.0 for s, _ in chosen})
    steps = len(chosen) + (1 if job is not None else 0)
    bar = tqdm(total=len(files) * steps, desc=f"score run {run.id}", unit="step", disable=not progress)
    try:
        for f, ids in zip(files, neuron_ids):
            layer = f"{f['site']}.{f['index']}"
            if job is not None and f["layer_id"] in job.done_layers:
                done.resumed += 1
                bar.update(steps)
                continue
            values, threshold, probes = _fit_layer(db, f, chosen, sel, context, done, bar, job)
            if job is not None:
                bar.set_postfix_str(f"{layer} write")
                _write_layer(db, run, f["layer_id"], ids, job, chosen, values, threshold, probes, done)
                bar.update(1)
            for name, results in probes.items():
                done.probe_results.setdefault(name, {})[layer] = results
    finally:
        bar.close()
    return done


def _fit_layer(
    db: Any, f: dict[str, Any], chosen: Chosen, sel: _Concepts, context: dict[str, Any], done: _Done, bar: Any,
    job: _Job | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray | None, dict[str, Any]]:
    """Every chosen method on one layer: ``{method: values[unit, column]}`` (a property-level
    method's property scores as columns after its concepts', in ``job.properties`` order), the
    layer's NetDissect thresholds (when computed) and the probes' results."""
    X = db.store.open(f["path"])
    if X.shape[0] != sel.n_words:
        raise MethodError(
            f"activation file {f['path']} has {X.shape[0]} rows but the corpus has {sel.n_words} words",
            hint="the run and its corpus disagree; re-run the extraction",
        )
    cache: dict[Any, Any] = {}
    _warm_shared_stats(X, sel.Y, cache, chosen)
    values: dict[str, np.ndarray] = {}
    probes: dict[str, Any] = {}
    for spec, p in chosen:
        bar.set_postfix_str(f"{f['site']}.{f['index']} {spec.name}")
        t0 = time.perf_counter()
        est = spec.make(p)
        cols = _columns(spec, sel)
        ctx = {**context, "stats": cache}
        if spec.needs_probe:
            est.fit(X, sel.Y[:, cols], **{**ctx, "names": [sel.names[i] for i in cols]})
            probes[spec.name] = getattr(est, "results_", {})
        else:
            est.fit(X, sel.Y, **ctx)
        values[spec.name] = np.asarray(est.scores_, dtype=np.float64)
        props = job.properties.get(spec.name, []) if job is not None else []
        if props:
            extra = [np.asarray(est.property_scores_[p], dtype=np.float64) for p in props]
            values[spec.name] = np.column_stack([values[spec.name], *extra])
        if getattr(est, "values_", None):
            done.values_used[spec.name] = dict(est.values_)
        done.compute_s[spec.name] += time.perf_counter() - t0
        bar.update(1)
    neurons = cache.get(("neurons", ALPHA))
    return values, None if neurons is None else np.asarray(neurons.threshold, np.float64), probes


def _write_layer(
    db: Any, run: Run, layer_id: int, neuron_ids: np.ndarray, job: _Job, chosen: Chosen,
    values: dict[str, np.ndarray], threshold: np.ndarray | None, probes: dict[str, Any], done: _Done,
) -> None:
    """One transaction: the layer's values of every set of the job, its thresholds, its probe results."""
    with write_transaction(db.engine) as conn:
        for spec, _ in chosen:
            t0 = time.perf_counter()
            scores.write_layer(conn, job.set_ids[spec.name], layer_id, values[spec.name])
            if spec.name in probes:
                _save_probe_results(conn, run.id, job.method_ids[spec.name], layer_id, probes[spec.name])
            done.write_s[spec.name] = done.write_s.get(spec.name, 0.0) + time.perf_counter() - t0
        if threshold is not None:
            _record_thresholds(conn, run.id, neuron_ids, threshold)


def _warm_shared_stats(X: Any, Y: np.ndarray, cache: dict[Any, Any], chosen: Chosen) -> None:
    """When methods read the shared class sums, compute them in the same pass as the first mask
    method's intersections (one read of the layer for both)."""
    if not any("sums" in spec.stats for spec, _ in chosen):
        return
    for spec, p in chosen:
        if "intersections" in spec.stats:
            if p["mask"] == "size":
                continue
            shared_stats(X, Y, {"stats": cache}, alpha=p["alpha"], mask=p["mask"], sums=True, intersections=True)
            return


def _record_thresholds(conn: Connection, run_id: int, neuron_ids: np.ndarray, thresholds: np.ndarray) -> None:
    """Fill ``neuron_stat.threshold`` (the NetDissect ``1 - alpha`` quantile, alpha = 0.005)
    of one layer. The extraction leaves it empty: an exact quantile needs ``alpha * n`` values
    per neuron, memory that grows with the corpus, while here it is computed one layer at a time
    anyway."""
    rows = [
        {"r": run_id, "n": int(n), "t": float(t)}
        for n, t in zip(neuron_ids.tolist(), thresholds.tolist())
        if np.isfinite(t)
    ]
    if not rows:
        return
    stmt = (
        update(NeuronStat)
        .where(NeuronStat.run_id == bindparam("r"), NeuronStat.neuron_id == bindparam("n"))
        .values(threshold=bindparam("t"))
    )
    conn.execute(stmt, rows)


def _check_concepts(db: Any, wanted: list[str], names_all: list[str]) -> None:
    known = set(names_all)
    for n in wanted:
        if n not in known:
            with db.engine.connect() as conn:
                exists = conn.execute(select(Concept.id).where(Concept.name == n)).first() is not None
            if exists:
                raise ConceptError(f"concept {n!r} has no words in this run's corpus")
            raise ConceptError(f"unknown concept {n!r}", hint=did_you_mean(n, names_all) or "list them with: atlas concept list")


def _activation_files(db: Any, run_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(ActivationFile.path, ActivationFile.layer_id, ActivationFile.width, Layer.site, Layer.index)
        .join(Layer, Layer.id == ActivationFile.layer_id)
        .where(ActivationFile.run_id == run_id)
        .order_by(Layer.site, Layer.index)
    )
    with db.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    if not rows:
        raise MethodError(f"run {run_id} has no activation files", hint="was it extracted into this atlas?")
    return rows


def _neuron_ids(db: Any, files: list[dict[str, Any]]) -> list[np.ndarray]:
    """For each file, the neuron id of each column (unit)."""
    layer_ids = [f["layer_id"] for f in files]
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(Neuron.layer_id, Neuron.unit, Neuron.id).where(Neuron.layer_id.in_(layer_ids))
        ).all()
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    out = []
    for f in files:
        sub = arr[arr[:, 0] == f["layer_id"]]
        ids = np.full(f["width"], -1, np.int64)
        ids[sub[:, 1]] = sub[:, 2]
        if (ids < 0).any():
            raise MethodError(
                f"layer {f['site']}.{f['index']} lacks neuron rows for {int((ids < 0).sum())} units",
                hint="the extraction did not register its neurons",
            )
        out.append(ids)
    return out


def _word_types(db: Any, corpus_id: int) -> np.ndarray:
    with db.engine.connect() as conn:
        forms = conn.execute(select(Token.form).where(Token.corpus_id == corpus_id).order_by(Token.row)).scalars().all()
    return np.array([f.lower() for f in forms], dtype=object)


def method_row(conn: Any, spec: MethodSpec, params: Mapping[str, Any]) -> int:
    """The id of the ``method`` row for ``(spec.name, spec.version, params)``, created if needed."""
    phash = params_hash(params)
    stmt = select(Method.id).where(Method.name == spec.name, Method.version == spec.version, Method.params_hash == phash)
    found = conn.execute(stmt).scalar()
    if found is not None:
        return int(found)
    lo, hi = spec.value_range
    try:
        with conn.begin_nested():
            ins = Method.__table__.insert().values(
                name=spec.name,
                version=spec.version,
                params=dict(params),
                params_hash=phash,
                family=spec.family,
                higher_is_more=spec.higher_is_more,
                value_min=lo,
                value_max=hi,
                description=spec.description,
            )
            return int(conn.execute(ins).inserted_primary_key[0])
    except IntegrityError:  # another scorer created it meanwhile
        return int(conn.execute(stmt).scalar_one())


def _save_probe_results(conn: Connection, run_id: int, method_id: int, layer_id: int, results: dict[str, Any]) -> None:
    """Replace the ``probe_result`` rows of (run, method row, layer): one per (task, metric).

    ``results`` maps a task to ``{metric: value}``; skipped tasks (a reason instead of numbers)
    are left out.
    """
    conn.execute(
        delete(ProbeResult).where(
            ProbeResult.run_id == run_id, ProbeResult.method_id == method_id, ProbeResult.layer_id == layer_id
        )
    )
    rows = [
        {"run_id": run_id, "method_id": method_id, "layer_id": layer_id, "task": task, "metric": metric,
         "value": float(value)}
        for task, metrics in results.items()
        for metric, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]
    if rows:
        conn.execute(insert(ProbeResult), rows)
