"""The explanation job: a run's activations × its corpus's concepts → the ``explanation`` table.

``explain(db, run)`` reads the run's activation files (one layer at a time), turns every
selected neuron's activations into a boolean mask (:func:`atlas.methods.stats.binary_masks`:
its top ``alpha`` words, or ``a > 0``), searches every neuron of the layer at once
(:mod:`atlas.explain.search`; with ``exact``, also :mod:`atlas.explain.exact`) and stores, for
every neuron and every ``ℓ = 1 .. length``, the best formula of at most ``ℓ`` atoms with its
scores, counts, parameters and provenance.

Atoms are the corpus's concepts of the chosen kinds (``upos``, ``xpos``, ``feat``, ``deprel``,
``word``, ``named`` for the built-in named concepts, ``user`` for concepts defined with
``atlas concept define``) that have at least ``min_count`` words and are not on every word.

**Atomic and resumable like scoring.** The rows of one parameter set (``params_hash``: the
search's parameters and the atom list) are written one layer per transaction, replacing that
layer's older rows of the same set; a layer whose selected neurons all have their rows is
skipped (``force`` recomputes it). A killed job leaves whole layers: run it again and it
computes only the missing ones. Neurons whose mask is empty (``fires`` on a dead unit) get no
rows.

Example::

    result = explain(db, "minilm", layers=[3], length=3, beam=10)
    result["rows"], result["seconds"]
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from tqdm.auto import tqdm

from atlas._version import __version__
from atlas.errors import ExplainError
from atlas.explain.exact import exact_search
from atlas.explain.search import BEAM, EXACT_MAX_LENGTH, LENGTH, METRICS, Atoms, FormulaCache, Found, beam_search, score
from atlas.methods.base import params_hash
from atlas.methods.job import resolve_run
from atlas.methods.stats import ALPHA, binary_masks
from atlas.store.engine import write as write_transaction
from atlas.store.failures import database_label, translating
from atlas.store.tables import ActivationFile, Explanation, Layer, Neuron, Run

#: Concept kinds atoms can be drawn from, and the default set.
ATOM_KINDS = ("upos", "xpos", "feat", "deprel", "word", "named", "user")
DEFAULT_ATOMS = ("upos", "feat", "deprel", "word", "named")
#: Atoms need at least this many words.
MIN_COUNT = 5
#: Bumped when the search's results change.
VERSION = "1"
#: The default neuron mask: NetDissect's top 0.5 % (compexp's vision setting).
DEFAULT_MASK = f"alpha={ALPHA}"


@dataclass(frozen=True)
class MaskSpec:
    """A neuron-mask rule: ``top`` with ``alpha``, or ``fires`` (``a > 0``)."""

    rule: str
    alpha: float = ALPHA

    @classmethod
    def parse(cls, text: str) -> MaskSpec:
        """``alpha=0.005`` (or ``top``, ``top:0.01``) or ``fires``.

        >>> MaskSpec.parse("alpha=0.01"), MaskSpec.parse("fires").rule
        (MaskSpec(rule='top', alpha=0.01), 'fires')
        """
        t = text.strip().lower()
        if t in ("fires", "fire", ">0"):
            return cls("fires")
        if t == "top":
            return cls("top")
        for prefix in ("alpha=", "top:", "top="):
            if t.startswith(prefix):
                try:
                    alpha = float(t[len(prefix):])
                except ValueError:
                    break
                if 0 < alpha < 1:
                    return cls("top", alpha)
                break
        raise ExplainError(f"unknown neuron mask {text!r}",
                           hint="use alpha=0.005 (the top 0.5% of words, NetDissect), alpha=A with 0 < A < 1, or fires (a > 0)")

    def text(self) -> str:
        return "fires" if self.rule == "fires" else f"alpha={self.alpha:g}"


def atom_kind(kind: str, builtin_named: bool) -> str:
    """The atom kind of a concept of ``kind`` (``named`` for the built-in named concepts)."""
    if kind in ("upos", "xpos", "feat", "deprel", "word"):
        return kind
    return "named" if builtin_named else "user"


def select_atoms(matrix: Any, kinds: Iterable[str], min_count: int = MIN_COUNT) -> Atoms:
    """The atoms of a concept matrix (:class:`atlas.corpus.matrix.ConceptMatrix`): concepts of
    ``kinds`` with at least ``min_count`` words and not on every word."""
    from atlas.corpus.named import NAMED

    kinds = list(kinds)
    unknown = [k for k in kinds if k not in ATOM_KINDS]
    if unknown:
        raise ExplainError(f"unknown atom kind {unknown[0]!r}", hint=f"atom kinds: {', '.join(ATOM_KINDS)}")
    counts = np.asarray(matrix.mask, bool).sum(0)
    n = int(matrix.mask.shape[0])
    cols = [
        i for i, (name, kind) in enumerate(zip(matrix.names, matrix.kinds))
        if atom_kind(kind, name in NAMED and kind not in ("formula", "wordlist", "regex")) in kinds
        and min_count <= counts[i] < n
    ]
    if not cols:
        raise ExplainError(f"no concept of kinds {', '.join(kinds)} has {min_count} words or more in the run's corpus",
                           hint="choose other --atoms kinds")
    return Atoms.from_matrix([matrix.names[i] for i in cols], np.asarray(matrix.mask, bool)[:, cols])


def _split(values: str | Iterable[Any] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = values.split(",")
    out = [str(v).strip() for v in values if str(v).strip()]
    return out or None


def _layer_files(db: Any, run_id: int, layers: Sequence[int] | None, sites: Sequence[str] | None) -> list[dict[str, Any]]:
    stmt = (
        select(ActivationFile.path, ActivationFile.layer_id, ActivationFile.width, Layer.site, Layer.index)
        .join(Layer, Layer.id == ActivationFile.layer_id)
        .where(ActivationFile.run_id == run_id)
        .order_by(Layer.site, Layer.index)
    )
    with db.engine.connect() as conn:
        files = [dict(r._mapping) for r in conn.execute(stmt)]
    if not files:
        raise ExplainError(f"run {run_id} has no activation files", hint="was it extracted into this atlas?")
    chosen = [f for f in files if (layers is None or f["index"] in layers) and (sites is None or f["site"] in sites)]
    if not chosen:
        have = sorted({f"{f['site']}.{f['index']}" for f in files})
        raise ExplainError("no layer of the run matches --layers/--sites", hint=f"the run has {', '.join(have)}")
    return chosen


def _neuron_ids(conn: Any, layer_id: int, units: np.ndarray) -> np.ndarray:
    found = dict(conn.execute(select(Neuron.unit, Neuron.id).where(Neuron.layer_id == layer_id)).all())
    missing = [int(u) for u in units if int(u) not in found]
    if missing:
        raise ExplainError(f"layer {layer_id} has no neuron rows for units {missing[:5]}", hint="the extraction did not register them")
    return np.array([found[int(u)] for u in units], np.int64)


@dataclass
class _Job:
    run: Run
    atoms: Atoms
    mask: MaskSpec
    length: int
    beam: int
    metric: str
    exact: bool
    params: dict[str, Any]
    phash: str


def _prepare(db: Any, run: int | str | Run, *, length: int, beam: int, metric: str, mask: str, atoms: str | Iterable[str] | None,
             exact: bool, min_count: int) -> _Job:
    from atlas.corpus.matrix import load_concept_matrix

    if metric not in METRICS:
        raise ExplainError(f"unknown metric {metric!r}", hint=f"metrics: {', '.join(METRICS)}")
    if length < 1 or beam < 1:
        raise ExplainError("--length and --beam must be at least 1", hint=f"compexp's defaults: --length {LENGTH} --beam {BEAM}")
    if exact and (metric != "iou" or length > EXACT_MAX_LENGTH):
        raise ExplainError(f"exact mode searches IoU for formulas of at most {EXACT_MAX_LENGTH} atoms",
                           hint=f"use --metric iou and --length {EXACT_MAX_LENGTH} or less, or leave out --exact")
    spec = MaskSpec.parse(mask)
    run_row = resolve_run(db, run)
    if run_row.status != "done":
        raise ExplainError(f"run {run_row.id} is {run_row.status!r}, not done", hint="finish the extraction first (atlas extract resumes a run)")
    kinds = _split(atoms) or list(DEFAULT_ATOMS)
    chosen = select_atoms(load_concept_matrix(db, run_row.corpus_id, min_count=1), kinds, min_count)
    names_hash = hashlib.sha256("\n".join(chosen.names).encode()).hexdigest()[:16]
    params = {"length": length, "beam": beam, "metric": metric, "mask": spec.text(), "atoms": kinds, "min_count": min_count,
              "search": "exact" if exact else "beam", "n_atoms": len(chosen.names), "atoms_hash": names_hash,
              "version": VERSION}
    return _Job(run_row, chosen, spec, length, beam, metric, exact, params, params_hash(params))


def explain(
    db: Any, run: int | str | Run, *, layers: Iterable[int] | str | None = None, sites: Iterable[str] | str | None = None,
    units: Iterable[int] | str | None = None, length: int = LENGTH, beam: int = BEAM, metric: str = "iou",
    mask: str = DEFAULT_MASK, atoms: str | Iterable[str] | None = None, exact: bool = False, min_count: int = MIN_COUNT,
    force: bool = False, progress: bool = True, write: bool = True,
) -> dict[str, Any]:
    """Search and store the best formula of every length for every selected neuron of a run.

    Args:
        db: an open atlas.
        run: run id, or model short name (its latest done run).
        layers, sites, units: restrict to these layer indices, sites (``mlp``, ``resid``) and units.
        length: the longest formulas, in atoms (compexp: 3 in vision, 5 in NLI).
        beam: formulas kept per step (compexp NLI: 10).
        metric: ``iou``, ``precision`` or ``recall``.
        mask: the neuron mask (``alpha=0.005``: top 0.5 % of words; ``fires``: ``a > 0``).
        atoms: concept kinds formulas are made of (default ``upos,feat,deprel,word,named``).
        exact: also run the exact search (IoU, ``length ≤ 3``), store its formulas, and count
            how often the beam missed the best one.
        force: recompute layers whose rows exist.
        write: store the rows (``False``: search only, for benchmarks).

    Returns:
        ``run_id``, ``n_neurons``, ``n_atoms``, ``params`` and ``params_hash``, ``rows`` written,
        ``resumed_layers``, ``empty_masks``, ``seconds`` (search, per layer), ``mean_score``
        (by ``ℓ``), and with ``exact`` ``beam_missed`` (by ``ℓ``: neurons whose best formula the
        beam did not find) and ``beam_gap`` (by ``ℓ``: mean and max score difference).

    Raises:
        ExplainError: unknown mask, metric or atom kind; a run not done; no layer selected.
    """
    with translating(f"explaining run {run}", where=database_label(db.engine)):
        job = _prepare(db, run, length=length, beam=beam, metric=metric, mask=mask, atoms=atoms, exact=exact,
                       min_count=min_count)
        files = _layer_files(db, job.run.id, [int(x) for x in _split(layers) or []] or None, _split(sites))
        wanted = [int(u) for u in _split(units) or []] or None
        return _run(db, job, files, wanted, force, progress, write)


def _run(db: Any, job: _Job, files: list[dict[str, Any]], wanted: list[int] | None, force: bool, progress: bool,
         write: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"run_id": job.run.id, "n_neurons": 0, "n_atoms": len(job.atoms.names), "params": job.params,
                           "params_hash": job.phash, "rows": 0, "resumed_layers": 0, "empty_masks": 0, "seconds": {}}
    sums = {ell: [0.0, 0] for ell in range(1, job.length + 1)}
    missed = {ell: 0 for ell in range(1, job.length + 1)}
    gaps: dict[int, list[float]] = {ell: [] for ell in range(1, job.length + 1)}
    cache = FormulaCache(job.atoms)
    _ = job.atoms.pairs
    total = sum(len([u for u in (wanted or range(f["width"])) if u < f["width"]]) for f in files)
    bar = tqdm(total=total, desc=f"explain run {job.run.id}", unit=" neuron", disable=not progress)
    try:
        for f in files:
            units = np.array([u for u in (wanted or range(f["width"])) if u < f["width"]], np.int64)
            if units.size == 0:
                continue
            with db.engine.connect() as conn:
                ids = _neuron_ids(conn, f["layer_id"], units)
                have = _with_rows(conn, job, ids) if write and not force else set()
            if len(have) == ids.size:
                out["resumed_layers"] += 1
                out["n_neurons"] += int(units.size)
                bar.update(units.size)
                continue
            bar.set_postfix_str(f"{f['site']}.{f['index']}")
            t0 = time.perf_counter()
            X = db.store.open(f["path"])
            cols = X if wanted is None else np.asarray(X[:, units])
            masks = binary_masks(cols, mask=job.mask.rule, alpha=job.mask.alpha)
            if have and all(int(n) in have or not masks[:, j].any() for j, n in enumerate(ids.tolist())):
                out["resumed_layers"] += 1  # written: the neurons without rows have empty masks
                out["n_neurons"] += int(units.size)
                bar.update(units.size)
                continue
            live = np.flatnonzero(masks.any(0))
            out["empty_masks"] += int(units.size - live.size)
            found = beam_search(job.atoms, masks[:, live], length=job.length, beam=job.beam, metric=job.metric, cache=cache)
            if job.exact:
                best, _ = exact_search(job.atoms, masks[:, live], length=job.length, lower=found)
                for e, b in zip(best, found):
                    for ell in e:
                        missed[ell] += e[ell].score > b[ell].score + 1e-12
                        gaps[ell].append(e[ell].score - b[ell].score)
                found = best
            out["seconds"][f"{f['site']}.{f['index']}"] = round(time.perf_counter() - t0, 3)
            k = masks[:, live].sum(0)
            for res in found:
                for ell, hit in res.items():
                    sums[ell][0] += hit.score
                    sums[ell][1] += 1
            if write:
                out["rows"] += _write_layer(db, job, ids, ids[live], k, found)
            out["n_neurons"] += int(units.size)
            bar.update(units.size)
    finally:
        bar.close()
    out["mean_score"] = {ell: (s / n if n else None) for ell, (s, n) in sums.items()}
    if job.exact:
        out["beam_missed"] = missed
        out["beam_gap"] = {ell: {"mean": float(np.mean(g)) if g else 0.0, "max": float(np.max(g)) if g else 0.0}
                           for ell, g in gaps.items()}
    return out


def _with_rows(conn: Any, job: _Job, ids: np.ndarray) -> set[int]:
    """The neurons of ``ids`` that have all their rows of this parameter set."""
    e = Explanation.__table__
    have: set[int] = set()
    for start in range(0, ids.size, 500):
        part = ids[start : start + 500].tolist()
        have |= {int(n) for n, c in conn.execute(
            select(e.c.neuron_id, func.count()).where(e.c.run_id == job.run.id, e.c.params_hash == job.phash,
                                                     e.c.neuron_id.in_(part)).group_by(e.c.neuron_id)
        ).all() if c >= job.length}
    return have


def _write_layer(db: Any, job: _Job, all_ids: np.ndarray, ids: np.ndarray, k: np.ndarray, found: list[dict[int, Found]]) -> int:
    """One transaction: replace the layer's rows of this parameter set."""
    rows = []
    search = "exact" if job.exact else "beam"
    for nid, kn, res in zip(ids.tolist(), k.tolist(), found):
        for ell, hit in res.items():
            iou = float(score(np.array([hit.inter]), np.array([hit.size]), np.array([kn]), "iou")[0])
            rows.append({"run_id": job.run.id, "neuron_id": nid, "formula": hit.text(job.atoms.names), "iou": iou,
                         "length": hit.formula.length, "params": job.params, "metric": job.metric, "score": hit.score,
                         "max_length": ell, "mask_size": kn, "formula_size": hit.size, "overlap": hit.inter,
                         "search": search, "params_hash": job.phash})
    e = Explanation.__table__
    with write_transaction(db.engine) as conn:
        for start in range(0, all_ids.size, 500):
            conn.execute(delete(e).where(e.c.run_id == job.run.id, e.c.params_hash == job.phash,
                                         e.c.neuron_id.in_(all_ids[start : start + 500].tolist())))
        if rows:
            conn.execute(insert(e), rows)
    return len(rows)


__all__ = ["ATOM_KINDS", "DEFAULT_ATOMS", "DEFAULT_MASK", "MaskSpec", "explain", "select_atoms"]
