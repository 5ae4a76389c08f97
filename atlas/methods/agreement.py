"""Method agreement as data: how far the scoring methods agree on a concept (Fan et al. 2023).

For a run and a concept, every pair of methods with a complete score set of that concept gets
two figures per site (``mlp`` neurons, ``resid`` dims), stored in the ``agreement`` table:

* ``jaccard``: the overlap ``|A ∩ B| / |A ∪ B|`` of the two methods' top-``n`` units;
* ``spearman``: the rank correlation of their values over every unit that has both (ties get
  their average rank, as ``scipy.stats.spearmanr``).

and the **NeuronVote** over the methods, stored as two ordinary score sets per concept, so the
query language reads them like any score (``vote[n=100](noun) >= 3``):

* ``vote``: how many methods put the unit in their top-``n`` (0 to the number of methods);
* ``vote_rank``: the unit's place (1 = first) when units are ranked by votes, ties broken by
  the mean of its places in the methods' rankings (then by layer and unit).

Rules, stated once: a method ranks units by its value, highest first (lowest first for a method
whose ``higher_is_more`` is false); units without a value come last and never enter a top-n;
ties are broken by layer, then unit, so top-n sets are deterministic. Each site is ranked on its
own (a top-100 of MLP neurons, another of residual dims). Which sets vote: for each method
name, one set per concept, that of the method's default parameterisation when one is stored
(else the newest of any, as the query language reads ``method(concept)``); the derived methods
``vote`` and ``vote_rank`` never vote. Fan et al.'s own NeuronVote is a Borda count over full
rankings; this one counts top-n memberships, which a query can threshold.

Example::

    summary = compute_agreement(db, "minilm", top=(10, 100))
    frame = agreement_frame(db, "minilm", "noun")    # method_a, method_b, n, jaccard, spearman
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from atlas.errors import ConceptError, MethodError, did_you_mean
from atlas.methods import registry
from atlas.methods.base import params_hash
from atlas.store import scores
from atlas.store.engine import write as write_transaction
from atlas.store.runs import find_run
from atlas.store.tables import Agreement, Concept, Layer, Method, Run, ScoreSet

#: The default size of the top-n sets (Fan et al. report n in 10..100).
DEFAULT_TOP = 100

#: The methods the vote is stored as: name → what the ``method`` row records. They are not
#: scoring methods of the registry (nothing to fit): :func:`compute_agreement` writes them.
DERIVED: dict[str, dict[str, Any]] = {
    "vote": {
        "description": "NeuronVote: how many methods put the unit in their top-n for the concept (Fan et al. 2023)",
        "higher_is_more": True, "value_min": 0.0, "value_max": None, "defaults": {"n": DEFAULT_TOP},
    },
    "vote_rank": {
        "description": "the unit's place (1 = first) in the NeuronVote ranking: by votes, ties by mean rank",
        "higher_is_more": False, "value_min": 1.0, "value_max": None, "defaults": {"n": DEFAULT_TOP},
    },
}
#: The ``method.family`` of the derived methods.
FAMILY = "agreement"
VERSION = "1"


def derived_defaults(name: str) -> dict[str, Any] | None:
    """The default parameters of a derived method (``vote``), or None for any other name.

    >>> derived_defaults("vote"), derived_defaults("iou")
    ({'n': 100}, None)
    """
    spec = DERIVED.get(name)
    return None if spec is None else dict(spec["defaults"])


# -- the figures, in numpy ------------------------------------------------------------------


def ranking(values: np.ndarray, higher_is_more: bool = True) -> np.ndarray:
    """Unit indices from best to worst: by value (highest first unless ``higher_is_more`` is
    false), units without a value (NaN) last, ties by index.

    >>> ranking(np.array([0.2, np.nan, 0.9, 0.2])).tolist()
    [2, 0, 3, 1]
    """
    v = np.asarray(values, np.float64)
    finite = np.isfinite(v)
    key = np.where(finite, -v if higher_is_more else v, 0.0)
    return np.lexsort((np.arange(v.shape[0]), key, ~finite))


def top_n(values: np.ndarray, n: int, higher_is_more: bool = True) -> np.ndarray:
    """The indices of the ``n`` best units that have a value (:func:`ranking`)."""
    order = ranking(values, higher_is_more)
    return order[: min(int(n), int(np.isfinite(np.asarray(values, np.float64)).sum()))]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """``|a ∩ b| / |a ∪ b|`` of two index sets (NaN when both are empty).

    >>> jaccard(np.array([1, 2, 3]), np.array([2, 3, 4]))
    0.5
    """
    sa, sb = np.unique(np.asarray(a)), np.unique(np.asarray(b))
    inter = np.intersect1d(sa, sb, assume_unique=True).shape[0]
    union = sa.shape[0] + sb.shape[0] - inter
    return inter / union if union else float("nan")


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, tied values sharing their average rank (``scipy.stats.rankdata``'s default,
    in numpy: importing ``scipy.stats`` takes seconds).

    >>> average_ranks(np.array([10., 30, 20, 30])).tolist()
    [1.0, 3.5, 2.0, 3.5]
    """
    x = np.asarray(x)
    order = np.argsort(x, kind="stable")
    srt = x[order]
    new = np.r_[True, srt[1:] != srt[:-1]] if x.shape[0] else np.zeros(0, bool)
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], x.shape[0]]
    ranks = np.empty(x.shape[0])
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(new) - 1]
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Spearman's rank correlation over the units where both have a value (average ranks for
    ties), and that number of units. NaN when fewer than 3 units or a constant side.

    >>> round(spearman(np.array([1., 2, 3, np.nan]), np.array([1., 3, 2, 5]))[0], 3)
    0.5
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    both = np.isfinite(a) & np.isfinite(b)
    n = int(both.sum())
    if n < 3:
        return float("nan"), n
    ra, rb = average_ranks(a[both]), average_ranks(b[both])
    if ra.std() == 0 or rb.std() == 0:
        return float("nan"), n
    return float(np.corrcoef(ra, rb)[0, 1]), n


def neuron_vote(values: Sequence[np.ndarray], n: int, higher_is_more: Sequence[bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The NeuronVote of several methods' values over the same units: ``(votes, place)``.

    ``votes[u]`` is the number of methods with ``u`` in their top-``n``; ``place[u]`` (1 =
    first) ranks units by votes, ties by the mean of their places in the methods' rankings
    (units without a value placed last there), then by index.

    >>> votes, place = neuron_vote([np.array([3., 2, 1, 0]), np.array([0., 2, 3, 1])], n=2)
    >>> votes.tolist(), place.tolist()
    ([1.0, 2.0, 1.0, 0.0], [3.0, 1.0, 2.0, 4.0])
    """
    flags = list(higher_is_more) if higher_is_more is not None else [True] * len(values)
    ranked = [_Ranked.of(v, hi) for v, hi in zip(values, flags)]
    return _vote(ranked, n)


@dataclass
class _Ranked:
    """One method's values over a site's units, ranked once: what the pairs and the vote reuse."""

    order: np.ndarray  # unit indices, best first (:func:`ranking`)
    place: np.ndarray  # each unit's position in ``order``
    finite: np.ndarray  # bool: units with a value
    oriented: np.ndarray  # values, negated for a method whose lower is more
    ranks: np.ndarray  # average ranks of ``oriented[finite]``

    @classmethod
    def of(cls, values: np.ndarray, higher_is_more: bool = True) -> _Ranked:
        v = np.asarray(values, np.float64)
        order = ranking(v, higher_is_more)
        place = np.empty(v.shape[0])
        place[order] = np.arange(v.shape[0])
        finite = np.isfinite(v)
        oriented = v if higher_is_more else -v
        return cls(order, place, finite, oriented, average_ranks(oriented[finite]))

    def top(self, n: int) -> np.ndarray:
        return self.order[: min(int(n), int(self.finite.sum()))]


def _pair_spearman(a: _Ranked, b: _Ranked) -> tuple[float, int]:
    """:func:`spearman` of two ranked methods, reusing their ranks when both have values on the
    same units (the usual case)."""
    if np.array_equal(a.finite, b.finite):
        n = int(a.finite.sum())
        if n < 3 or a.ranks.std() == 0 or b.ranks.std() == 0:
            return float("nan"), n
        return float(np.corrcoef(a.ranks, b.ranks)[0, 1]), n
    return spearman(a.oriented, b.oriented)


def _vote(ranked: Sequence[_Ranked], n: int) -> tuple[np.ndarray, np.ndarray]:
    n_units = ranked[0].order.shape[0]
    votes = np.zeros(n_units)
    mean_place = np.zeros(n_units)
    for r in ranked:
        votes[r.top(n)] += 1
        mean_place += r.place / len(ranked)
    order = np.lexsort((np.arange(n_units), mean_place, -votes))
    final = np.empty(n_units)
    final[order] = np.arange(1, n_units + 1)
    return votes, final


# -- which sets vote ------------------------------------------------------------------------


@dataclass(frozen=True)
class Voter:
    """One method's score set of a concept that takes part in the agreement."""

    name: str
    method_id: int
    set_id: int
    params: dict[str, Any]
    higher_is_more: bool
    fallback: bool  # no set of the default parameterisation: the newest of any


def _is_default(name: str, params: dict[str, Any]) -> bool:
    defaults = dict(registry.get(name).defaults) if name in registry.names() else None
    if defaults is None:
        return not params
    return {**defaults, **params} == defaults


def voters(conn: Connection, run_id: int, methods: Sequence[str] | None = None) -> dict[int, list[Voter]]:
    """``{concept_id: [Voter, ...]}``: per concept, one complete set per method name (the
    default parameterisation's newest, else the newest of any), sorted by method name; only
    the ``methods`` named, when given; never the derived methods."""
    rows = conn.execute(
        select(ScoreSet.id, ScoreSet.concept_id, Method.id, Method.name, Method.params, Method.higher_is_more)
        .join(Method, Method.id == ScoreSet.method_id)
        .where(ScoreSet.run_id == run_id, ScoreSet.status == "complete", Method.name.not_in(list(DERIVED)))
        .order_by(ScoreSet.id)
    ).all()
    picked: dict[tuple[int, str], Voter] = {}
    for set_id, concept_id, method_id, name, params, hi in rows:  # ascending ids: newest last
        if methods is not None and name not in methods:
            continue
        params = dict(params or {})
        voter = Voter(name, int(method_id), int(set_id), params, bool(hi), not _is_default(name, params))
        old = picked.get((concept_id, name))
        if old is None or not (voter.fallback and not old.fallback):
            picked[(concept_id, name)] = voter
    out: dict[int, list[Voter]] = {}
    for (concept_id, _), voter in sorted(picked.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        out.setdefault(int(concept_id), []).append(voter)
    return out


# -- computing and storing ------------------------------------------------------------------


def _site_layout(conn: Connection, model_id: int) -> dict[str, list[tuple[int, int]]]:
    """``{site: [(layer_id, width), ...]}`` in layer order."""
    out: dict[str, list[tuple[int, int]]] = {}
    for layer_id, site, width in conn.execute(
        select(Layer.id, Layer.site, Layer.width).where(Layer.model_id == model_id).order_by(Layer.site, Layer.index)
    ):
        out.setdefault(site, []).append((int(layer_id), int(width)))
    return out


def _site_vectors(stored: dict[int, np.ndarray], layout: dict[str, list[tuple[int, int]]]) -> dict[str, np.ndarray]:
    """One set's values per site, layers in order (NaN where a layer or unit has none)."""
    out = {}
    for site, layers in layout.items():
        parts = []
        for layer_id, width in layers:
            v = np.full(width, np.nan)
            got = stored.get(layer_id)
            if got is not None:
                v[: min(width, got.shape[0])] = got[:width]
            parts.append(v)
        out[site] = np.concatenate(parts) if parts else np.zeros(0)
    return out


def _derived_row(conn: Connection, name: str, n: int) -> int:
    """The ``method`` row of a derived method with ``{"n": n}``, created if needed."""
    params = {"n": int(n)}
    phash = params_hash(params)
    stmt = select(Method.id).where(Method.name == name, Method.version == VERSION, Method.params_hash == phash)
    found = conn.execute(stmt).scalar()
    if found is not None:
        return int(found)
    spec = DERIVED[name]
    try:
        with conn.begin_nested():
            ins = Method.__table__.insert().values(
                name=name, version=VERSION, params=params, params_hash=phash, family=FAMILY,
                higher_is_more=spec["higher_is_more"], value_min=spec["value_min"], value_max=spec["value_max"],
                description=spec["description"],
            )
            return int(conn.execute(ins).inserted_primary_key[0])
    except IntegrityError:  # another writer created it meanwhile
        return int(conn.execute(stmt).scalar_one())


def _check_top(top: int | Iterable[int]) -> list[int]:
    values = [top] if isinstance(top, (int, np.integer)) else list(top)
    out = sorted({int(v) for v in values})
    if not out or out[0] < 1:
        raise MethodError(f"top-n sizes must be whole numbers of at least 1, not {values!r}", hint="e.g. --top 10,100")
    return out


def _concept_filter(conn: Connection, concepts: Sequence[str] | None) -> dict[int, str]:
    """``{concept_id: name}`` of the named concepts (checked), or of every concept."""
    names = dict((int(i), n) for i, n in conn.execute(select(Concept.id, Concept.name)))
    if concepts is None:
        return names
    by_name = {n: i for i, n in names.items()}
    unknown = [c for c in concepts if c not in by_name]
    if unknown:
        raise ConceptError(f"unknown concept {unknown[0]!r}",
                           hint=did_you_mean(unknown[0], by_name) or "list them with: atlas concept list")
    return {by_name[c]: c for c in concepts}


def compute_agreement(
    db: Any,
    run: int | str | Run,
    *,
    top: int | Iterable[int] = DEFAULT_TOP,
    methods: Sequence[str] | str | None = None,
    concepts: Sequence[str] | str | None = None,
) -> dict[str, Any]:
    """Compute and store the agreement of the methods scored in ``run``, per concept and site,
    and their NeuronVote (``vote``, ``vote_rank`` score sets), for each top-n size in ``top``.

    Replaces what was stored for the same (run, concept, n), in one transaction: the agreement
    rows and the vote sets appear together or not at all.

    Args:
        db: an open atlas.
        run: run id or model short name (its latest done run), or a :class:`Run`.
        top: the top-n size, or several (``(10, 100)``).
        methods: method names that vote (default: every method with a set of the concept).
        concepts: concept names (default: every concept with sets of two methods or more).

    Returns:
        ``{"run_id", "top", "n_concepts", "n_pairs", "skipped": {concept: reason}, "seconds"}``.

    Raises:
        MethodError: no such run, bad ``top``, or a named method with no set in the run.
        ConceptError: an unknown concept name.
    """
    t0 = time.perf_counter()
    run_row = run if isinstance(run, Run) else find_run(db, run, error=MethodError)
    sizes = _check_top(top)
    method_list = [m.strip() for m in methods.split(",") if m.strip()] if isinstance(methods, str) else methods
    concept_list = [c.strip() for c in concepts.split(",") if c.strip()] if isinstance(concepts, str) else concepts
    with db.engine.connect() as conn:
        names = _concept_filter(conn, concept_list)
        by_concept = voters(conn, run_row.id, method_list)
        layout = _site_layout(conn, run_row.model_id)
        if method_list is not None:
            found = {v.name for vs in by_concept.values() for v in vs}
            missing = [m for m in method_list if m not in found]
            if missing:
                raise MethodError(f"run {run_row.id} has no complete score set of {missing[0]!r}",
                                  hint=f"score it first: atlas score --run {run_row.id} --methods {missing[0]}")
        skipped: dict[str, str] = {}
        results: dict[int, tuple[list[dict[str, Any]], dict[int, dict[str, tuple[np.ndarray, np.ndarray]]]]] = {}
        for concept_id, name in sorted(names.items()):
            group = by_concept.get(concept_id, [])
            if len(group) < 2:
                if concept_list is not None:
                    skipped[name] = f"{len(group)} method{'s' * (len(group) != 1)} scored it; agreement needs two or more"
                continue
            vectors = [_site_vectors(scores.read_set(conn, v.set_id), layout) for v in group]
            results[concept_id] = _concept_figures(run_row.id, concept_id, group, vectors, sizes)
    n_pairs = _store(db, run_row.id, results, sizes, layout)
    return {"run_id": run_row.id, "top": sizes, "n_concepts": len(results), "n_pairs": n_pairs, "skipped": skipped,
            "seconds": round(time.perf_counter() - t0, 3)}


def _concept_figures(
    run_id: int, concept_id: int, group: list[Voter], vectors: list[dict[str, np.ndarray]], sizes: list[int]
) -> tuple[list[dict[str, Any]], dict[int, dict[str, tuple[np.ndarray, np.ndarray]]]]:
    """The agreement rows of one concept and its votes: ``{n: {site: (votes, place)}}``. Each
    method's values are ranked once per site (:class:`_Ranked`), then every pair and the vote
    reuse the ranks."""
    now = dt.datetime.now(dt.timezone.utc)
    rows: list[dict[str, Any]] = []
    votes: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {n: {} for n in sizes}
    for site in vectors[0]:
        ranked = [_Ranked.of(v[site], g.higher_is_more) for v, g in zip(vectors, group)]
        for i, j in combinations(range(len(group)), 2):
            a, b = (i, j) if group[i].method_id < group[j].method_id else (j, i)
            rho, n_units = _pair_spearman(ranked[a], ranked[b])
            for n in sizes:
                jac = jaccard(ranked[a].top(n), ranked[b].top(n))
                rows.append({"run_id": run_id, "concept_id": concept_id, "site": site, "method_a": group[a].method_id,
                             "method_b": group[b].method_id, "n": n, "n_units": n_units,
                             "jaccard": None if np.isnan(jac) else jac, "spearman": None if np.isnan(rho) else rho,
                             "created_at": now})
        for n in sizes:
            votes[n][site] = _vote(ranked, n)
    return rows, votes


def _store(db: Any, run_id: int, results: dict[int, Any], sizes: list[int], layout: dict[str, list[tuple[int, int]]]) -> int:
    """One transaction: replace the agreement rows of (run, concepts, sizes), write and complete
    the vote sets."""
    if not results:
        return 0
    concept_ids = sorted(results)
    with write_transaction(db.engine) as conn:
        conn.execute(delete(Agreement).where(and_(Agreement.run_id == run_id, Agreement.concept_id.in_(concept_ids),
                                                  Agreement.n.in_(sizes))))
        rows = [r for c in concept_ids for r in results[c][0]]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Agreement), rows[start : start + 5000])
        set_ids: list[int] = []
        for n in sizes:
            for which, name in enumerate(("vote", "vote_rank")):
                mid = _derived_row(conn, name, n)
                ids = scores.open_sets(conn, run_id, mid, concept_ids)
                for site, layers in layout.items():
                    start = 0
                    for layer_id, width in layers:
                        block = np.stack([results[c][1][n][site][which][start : start + width] for c in concept_ids], axis=1)
                        scores.write_layer(conn, ids, layer_id, block)
                        start += width
                set_ids += ids
        scores.complete_sets(conn, set_ids)
        scores.analyze(conn, ("agreement", "score_set", "score_vector"))
    return len(rows)


def stored_sizes(db: Any, run: int) -> list[int]:
    """The top-n sizes the run has agreement rows of (what a rescore recomputes)."""
    with db.engine.connect() as conn:
        return sorted(int(n) for n in conn.execute(select(Agreement.n).where(Agreement.run_id == run).distinct()).scalars())


# -- reading --------------------------------------------------------------------------------


def agreement_frame(
    db: Any, run: int | str | Run, concept: str, *, methods: Sequence[str] | None = None, n: int | None = None,
    site: str | None = None,
) -> pd.DataFrame:
    """The stored agreement of ``concept`` in ``run`` (a run id, or a model name: its latest done
    run): one row per site, pair of methods and top-n size, with columns ``concept, site,
    method_a, params_a, method_b, params_b, n, n_units, jaccard, spearman`` (params as JSON
    text), each pair in name order, sorted by site, n, method_a, method_b. ``methods`` keeps the pairs of those method
    names; ``n`` and ``site`` keep one size and one site. Empty when nothing is stored (compute
    it with :func:`compute_agreement`).

    Raises:
        MethodError: no such run. ConceptError: no such concept.
    """
    import json

    run_row = run if isinstance(run, Run) else find_run(db, run, error=MethodError)
    a, b = Method.__table__.alias("a"), Method.__table__.alias("b")
    ag = Agreement.__table__
    with db.engine.connect() as conn:
        concept_id = _concept_filter(conn, [concept])
        q = (
            select(ag.c.site, a.c.name.label("method_a"), a.c.params.label("params_a"), b.c.name.label("method_b"),
                   b.c.params.label("params_b"), ag.c.n, ag.c.n_units, ag.c.jaccard, ag.c.spearman)
            .select_from(ag.join(a, a.c.id == ag.c.method_a).join(b, b.c.id == ag.c.method_b))
            .where(ag.c.run_id == run_row.id, ag.c.concept_id == next(iter(concept_id)))
        )
        if n is not None:
            q = q.where(ag.c.n == int(n))
        if site is not None:
            q = q.where(ag.c.site == site)
        result = conn.execute(q)
        frame = pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))
    if methods is not None:
        frame = frame[frame["method_a"].isin(methods) & frame["method_b"].isin(methods)]
    for col in ("params_a", "params_b"):
        frame[col] = [json.dumps(p if isinstance(p, dict) else json.loads(p or "{}"), sort_keys=True, separators=(",", ":"))
                      for p in frame[col]]
    swap = (frame["method_a"] + " " + frame["params_a"]) > (frame["method_b"] + " " + frame["params_b"])
    for x, y in (("method_a", "method_b"), ("params_a", "params_b")):  # each pair in name order
        frame.loc[swap, [x, y]] = frame.loc[swap, [y, x]].to_numpy()
    frame.insert(0, "concept", concept)
    for col in ("jaccard", "spearman"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame = frame.astype({"n": "int64", "n_units": "int64"})
    return frame.sort_values(["site", "n", "method_a", "method_b"], kind="stable").reset_index(drop=True)
