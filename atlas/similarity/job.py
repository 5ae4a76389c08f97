"""The correlation job: two runs over the same corpus, compared unit by unit and layer by layer.

``correlate(db, "minilm", "gpt2")`` streams the activation files of both runs (rows are the
corpus's words, the one thing two architectures share) and, for every pair of layers of the
same site, accumulates the centred cross product block by block (:mod:`atlas.similarity.core`;
memory ``O(width²)``, flat in the number of words). From it come, per neuron, its ``top_k``
partners in the other run (``similarity``), its ``maxcorr`` and ``linreg`` against the other
run (``neuron_similarity``), and per layer pair ``cka``, ``svcca``, ``pwcca`` and the mean
``maxcorr`` / ``linreg`` (``layer_similarity``).

**Resumable and atomic, like scoring.** The job's row in ``correlation`` is ``building`` until
the end; each layer's spectrum and each layer pair's partial results are written to the
activation store (``similarity/<id>/``, one ``.npz`` each, by rename) as soon as they are
computed. A killed job, run again with the same runs and options, finds its building row and
its files and computes only what is missing. The last transaction writes every row, completes
the correlation and deletes the older complete correlations of the same two runs and sites;
queries see either the old rows or the new ones, never a mixture. Then the folder goes.

``mincorr`` (Bau et al.) is an aggregate over several correlations, read at query time: the
minimum over the other models of the neuron's ``maxcorr``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select, update
from tqdm.auto import tqdm

from atlas._version import __version__
from atlas.errors import MethodError
from atlas.extract.options import parse_layers, parse_sites
from atlas.methods.base import params_hash
from atlas.similarity import core
from atlas.store.activations import npy_header_size, read_rows
from atlas.store.bulk import bulk_insert
from atlas.store.engine import write as write_transaction
from atlas.store.failures import database_label, translating
from atlas.store.runs import find_run
from atlas.store.tables import (
    ActivationFile, Corpus, Correlation, Layer, LayerSimilarity, Model, Neuron, NeuronSimilarity, Run, Similarity,
)

#: Partners stored per neuron (``--top``).
TOP_K = 10
#: Sites compared when none are named (those both runs have).
DEFAULT_SITES = ("mlp", "resid")
#: Layer-level measures stored per layer pair.
LAYER_METHODS = ("cka", "svcca", "pwcca", "maxcorr", "linreg")


@dataclass
class _Side:
    """One run of the pair: its activation files (site, layer order) and their neuron ids."""

    run: Run
    model: str
    files: list[dict[str, Any]]
    neuron_ids: list[np.ndarray]


def correlate(
    db: Any, a: int | str, b: int | str, *, sites: str | list[str] | None = None,
    layers: str | list[int] | None = None, top_k: int = TOP_K, block: int = core.BLOCK_ROWS,
    progress: bool = True,
) -> dict[str, Any]:
    """Correlate every neuron of run ``a`` with every neuron of run ``b``; store the results.

    Args:
        db: an open atlas.
        a, b: run ids or model short names (their latest done run); the same corpus.
        sites: sites to compare (list or comma-separated); default: ``mlp`` and ``resid``,
            those both runs have. Units are compared with units of the same site.
        layers: block indices of both runs (``"0-3"``, ``"1,3"``); default: every layer.
        top_k: partners stored per neuron.
        block: rows per streamed block.
        progress: a progress bar on stderr.

    Returns:
        ``{"correlation_id", "runs", "sites", "layer_pairs", "resumed_pairs", "n_neurons",
        "rows", "seconds"}``.

    Raises:
        MethodError: unknown run, run not done, different corpora or word counts, a site or
            layer one run lacks.

    Example::

        >>> correlate(db, "minilm", "minilm-random", sites="mlp")  # doctest: +SKIP
    """
    with translating(f"correlating {a} with {b}", where=database_label(db.engine)):
        return _correlate(db, a, b, sites, layers, top_k, block, progress)


def _correlate(db: Any, a: Any, b: Any, sites: Any, layers: Any, top_k: int, block: int, progress: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    if top_k < 1:
        raise MethodError(f"--top must be at least 1, not {top_k}")
    run_a, run_b = _done_run(db, a), _done_run(db, b)
    _check_same_words(db, run_a, run_b)
    chosen = _choose_sites(db, run_a, run_b, sites)
    side_a = _side(db, run_a, chosen, layers)
    side_b = side_a if run_b.id == run_a.id else _side(db, run_b, chosen, layers)
    params = {"sites": list(chosen), "layers": sorted({f["index"] for f in side_a.files + side_b.files}) if layers else None,
              "top_k": int(top_k)}
    cid = _open_job(db, run_a.id, run_b.id, params)
    folder = db.store.path(f"similarity/{cid}")
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(i, j) for i, fa in enumerate(side_a.files) for j, fb in enumerate(side_b.files) if fa["site"] == fb["site"]]
    n_rows = int(side_a.files[0]["n_rows"])
    resumed = 0
    bar = tqdm(total=len(side_a.files) + len(side_b.files) + len(pairs), desc=f"correlate {side_a.model} x {side_b.model}",
               unit="step", disable=not progress)
    try:
        for f in side_a.files + (side_b.files if side_b is not side_a else []):
            _spectrum(db, folder, f, n_rows, block)
            bar.update(1)
        for i, j in pairs:
            resumed += _pair(db, folder, side_a.files[i], side_b.files[j], n_rows, block, top_k)
            bar.update(1)
    finally:
        bar.close()
    rows = _finish(db, cid, folder, side_a, side_b, pairs, top_k, run_a, t0)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "correlation_id": cid, "runs": [run_a.id, run_b.id], "models": [side_a.model, side_b.model], "sites": list(chosen),
        "layer_pairs": len(pairs), "resumed_pairs": resumed,
        "n_neurons": int(sum(len(x) for x in side_a.neuron_ids) + (0 if side_b is side_a else sum(len(x) for x in side_b.neuron_ids))),
        "rows": rows, "seconds": round(time.perf_counter() - t0, 3),
    }


def _done_run(db: Any, ref: Any) -> Run:
    run = find_run(db, ref, error=MethodError)
    if run.status != "done":
        raise MethodError(f"run {run.id} is {run.status!r}, not done", hint="finish the extraction first (atlas extract resumes a run)")
    return run


def _check_same_words(db: Any, a: Run, b: Run) -> None:
    """Both runs must be over one corpus (its words are the rows the correlations pair up)."""
    if a.corpus_id != b.corpus_id:
        with db.engine.connect() as conn:
            names = dict(conn.execute(select(Corpus.id, Corpus.name).where(Corpus.id.in_([a.corpus_id, b.corpus_id]))).all())
        raise MethodError(
            f"runs {a.id} and {b.id} are over different corpora ({names.get(a.corpus_id)!r}, {names.get(b.corpus_id)!r}): "
            "correlations pair the same words",
            hint=f"extract both models over one corpus, e.g. atlas extract MODEL --corpus {names.get(a.corpus_id)}",
        )
    if a.n_words != b.n_words:
        raise MethodError(f"runs {a.id} and {b.id} have {a.n_words} and {b.n_words} words over the same corpus",
                          hint="re-run the extraction of the older run")


def _choose_sites(db: Any, a: Run, b: Run, sites: Any) -> tuple[str, ...]:
    have = [_sites_of(db, r.id) for r in (a, b)]
    if sites is None:
        chosen = tuple(s for s in DEFAULT_SITES if s in have[0] and s in have[1])
        if not chosen:
            raise MethodError(f"runs {a.id} and {b.id} share no mlp or resid layers", hint="name the sites with --sites")
        return chosen
    try:
        chosen = parse_sites(sites)
    except Exception as exc:  # ExtractionError: reworded for this command
        raise MethodError(str(getattr(exc, "message", exc)), hint=getattr(exc, "hint", None)) from None
    for run, got in zip((a, b), have):
        missing = [s for s in chosen if s not in got]
        if missing:
            raise MethodError(f"run {run.id} has no {missing[0]} layers (it has {', '.join(sorted(got)) or 'none'})",
                              hint="leave the site out with --sites")
    return chosen


def _sites_of(db: Any, run_id: int) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(select(Layer.site).join(ActivationFile, ActivationFile.layer_id == Layer.id)
                                .where(ActivationFile.run_id == run_id)).scalars())


def _side(db: Any, run: Run, sites: tuple[str, ...], layers: Any) -> _Side:
    """The run's activation files of ``sites`` (and ``layers``), with each unit's neuron id."""
    stmt = (
        select(ActivationFile.path, ActivationFile.layer_id, ActivationFile.width, ActivationFile.n_rows, Layer.site,
               Layer.index, Model.name, Model.n_layers)
        .join(Layer, Layer.id == ActivationFile.layer_id).join(Model, Model.id == Layer.model_id)
        .where(ActivationFile.run_id == run.id, Layer.site.in_(sites)).order_by(Layer.site, Layer.index)
    )
    with db.engine.connect() as conn:
        files = [dict(r._mapping) for r in conn.execute(stmt)]
        if layers is not None:
            try:
                keep = set(parse_layers(layers, int(files[0]["n_layers"])))
            except Exception as exc:  # ExtractionError
                raise MethodError(f"run {run.id}: {getattr(exc, 'message', exc)}", hint=getattr(exc, "hint", None)) from None
            files = [f for f in files if f["index"] in keep]
        ids = []
        for f in files:
            got = conn.execute(select(Neuron.unit, Neuron.id).where(Neuron.layer_id == f["layer_id"])).all()
            arr = np.full(int(f["width"]), -1, np.int64)
            for unit, nid in got:
                arr[unit] = nid
            if (arr < 0).any():
                raise MethodError(f"layer {f['site']}.{f['index']} of run {run.id} lacks neuron rows",
                                  hint="the extraction did not register its neurons")
            ids.append(arr)
    for f in files:
        if f["n_rows"] != run.n_words:
            raise MethodError(f"activation file {f['path']} has {f['n_rows']} rows, run {run.id} has {run.n_words} words",
                              hint="re-run the extraction")
    return _Side(run, str(files[0]["name"]), files, ids)


def _open_job(db: Any, run_a: int, run_b: int, params: dict[str, Any]) -> int:
    """The building correlation of these runs and options (a resumed job), or a new one."""
    phash = params_hash(params)
    with write_transaction(db.engine) as conn:
        found = conn.execute(
            select(Correlation.id).where(Correlation.run_id == run_a, Correlation.other_run_id == run_b,
                                         Correlation.params_hash == phash, Correlation.status == "building")
            .order_by(Correlation.id.desc())
        ).scalar()
        if found is not None:
            return int(found)
        ins = Correlation.__table__.insert().values(
            run_id=run_a, other_run_id=run_b, sites=",".join(params["sites"]), params=params, params_hash=phash,
            status="building", created_at=dt.datetime.now(dt.timezone.utc),
        )
        return int(conn.execute(ins).inserted_primary_key[0])


def _reader(db: Any, f: dict[str, Any]) -> core.Reader:
    path = db.store.path(f["path"])
    if not path.is_file():
        db.store.open(f["path"])  # raises the store's one-line error naming the run and the fix
    offset, width = npy_header_size(path), int(f["width"])
    return lambda r0, r1: read_rows(path, offset, width, r0, r1)


def _save(path: Path, **arrays: Any) -> None:
    """Write an ``.npz`` by rename, so a file that exists is whole."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_spectrum(folder: Path, layer_id: int) -> core.Spectrum:
    with np.load(folder / f"spec-{layer_id}.npz") as z:
        return core.Spectrum(z["eigvals"], z["eigvecs"], float(z["scatter_norm"]), z["var"])


def _spectrum(db: Any, folder: Path, f: dict[str, Any], n_rows: int, block: int) -> None:
    """A layer's spectrum, computed once per job (kept on disk for the pairs and a resume)."""
    path = folder / f"spec-{f['layer_id']}.npz"
    if path.is_file():
        return
    s = core.Spectrum.of(core.cross_moments(_reader(db, f), None, n_rows, block=block))
    _save(path, eigvals=s.eigvals, eigvecs=s.eigvecs, scatter_norm=np.float64(s.scatter_norm), var=s.var)


def _pair(db: Any, folder: Path, fa: dict[str, Any], fb: dict[str, Any], n_rows: int, block: int, top_k: int) -> int:
    """One layer pair's partial results; 1 when a resumed job finds them already on disk."""
    path = folder / f"pair-{fa['layer_id']}-{fb['layer_id']}.npz"
    if path.is_file():
        return 1
    sa, sb = _load_spectrum(folder, fa["layer_id"]), _load_spectrum(folder, fb["layer_id"])
    m = core.cross_moments(_reader(db, fa), _reader(db, fb), n_rows, block=block)
    r = core.correlation(m, sa.var, sb.var)
    ia, va = core.top_partners(r, top_k)
    ib, vb = core.top_partners(r.T, top_k)
    la, lb = core.linreg(r, sb), core.linreg(r.T, sa)
    layer = {
        **core.layer_measures(m, r, sa, sb),
        "maxcorr": float(np.abs(va[:, 0]).mean()), "maxcorr_b": float(np.abs(vb[:, 0]).mean()),
        "linreg": float(la.mean()), "linreg_b": float(lb.mean()),
    }
    _save(path, ia=ia, va=va, ib=ib, vb=vb, la=la, lb=lb, layer=np.array(json.dumps(layer)))
    return 0


def _best(cand_ids: list[np.ndarray], cand_vals: list[np.ndarray], top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``top_k`` candidates of largest ``|value|`` (ties: smaller neuron id)."""
    ids, vals = np.concatenate(cand_ids, axis=1), np.concatenate(cand_vals, axis=1)
    order = np.lexsort((ids, -np.abs(vals)), axis=1)[:, :top_k]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _collect(folder: Path, a: _Side, b: _Side, pairs: list[tuple[int, int]], top_k: int, first: bool) -> dict[str, list[np.ndarray]]:
    """Merge the pair files into per-neuron rows of one side (``first``: side A, else B)."""
    side, other = (a, b) if first else (b, a)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("unit", "nid", "oid", "val", "rank", "maxcorr", "linreg")}
    for i, ids in enumerate(side.neuron_ids):
        cand_ids, cand_vals, lin = [], [], []
        for ia, ib in pairs:
            mine, theirs = (ia, ib) if first else (ib, ia)
            if mine != i:
                continue
            with np.load(folder / f"pair-{a.files[ia]['layer_id']}-{b.files[ib]['layer_id']}.npz") as z:
                idx, val, lr = (z["ia"], z["va"], z["la"]) if first else (z["ib"], z["vb"], z["lb"])
            cand_ids.append(other.neuron_ids[theirs][idx])
            cand_vals.append(val)
            lin.append(lr)
        if not cand_ids:
            continue
        best_ids, best_vals = _best(cand_ids, cand_vals, top_k)
        k = best_ids.shape[1]
        out["unit"].append(ids)
        out["nid"].append(np.repeat(ids, k))
        out["oid"].append(best_ids.ravel())
        out["val"].append(best_vals.ravel())
        out["rank"].append(np.tile(np.arange(k), len(ids)))
        out["maxcorr"].append(np.abs(best_vals[:, 0]))
        out["linreg"].append(np.max(np.stack(lin), axis=0))
    return out


def _finish(db: Any, cid: int, folder: Path, a: _Side, b: _Side, pairs: list[tuple[int, int]], top_k: int, run_a: Run, t0: float) -> int:
    """One transaction: every row of the correlation, its completion, the older ones' removal."""
    sides = [_collect(folder, a, b, pairs, top_k, True)]
    if b.model != a.model:  # the same neurons on both sides would be written twice
        sides.append(_collect(folder, a, b, pairs, top_k, False))
    layer_rows: list[dict[str, Any]] = []
    for i, j in pairs:
        la, lb = a.files[i]["layer_id"], b.files[j]["layer_id"]
        with np.load(folder / f"pair-{la}-{lb}.npz") as z:
            vals = json.loads(str(z["layer"]))
        for method in LAYER_METHODS:
            v = vals[method]
            layer_rows.append({"correlation_id": cid, "method": method, "layer_id": la, "other_layer_id": lb, "value": _f(v)})
            if b.model != a.model:  # else the pair (lb, la) gives that row
                back = vals.get(f"{method}_b", v)
                layer_rows.append({"correlation_id": cid, "method": method, "layer_id": lb, "other_layer_id": la, "value": _f(back)})
    rows = 0
    with write_transaction(db.engine) as conn:
        for k, cols in enumerate(sides):
            if not cols["nid"]:
                continue
            mine, theirs = (a.run.id, b.run.id) if k == 0 else (b.run.id, a.run.id)
            nid = np.concatenate(cols["nid"])
            rows += bulk_insert(conn, Similarity.__table__, {
                "neuron_id": nid, "other_neuron_id": np.concatenate(cols["oid"]), "method": ["pearson"] * len(nid),
                "value": _f32(np.concatenate(cols["val"])), "corpus_id": np.full(len(nid), run_a.corpus_id, np.int64),
                "correlation_id": np.full(len(nid), cid, np.int64), "run_id": np.full(len(nid), mine, np.int64),
                "other_run_id": np.full(len(nid), theirs, np.int64), "rank": np.concatenate(cols["rank"]).astype(np.int64),
            })
            units = np.concatenate(cols["unit"])
            for method in ("maxcorr", "linreg"):
                vals = _f32(np.concatenate(cols[method]))
                rows += bulk_insert(conn, NeuronSimilarity.__table__, {
                    "correlation_id": np.full(len(vals), cid, np.int64), "method": [method] * len(vals),
                    "neuron_id": units, "value": vals,
                })
        if layer_rows:
            conn.execute(LayerSimilarity.__table__.insert(), layer_rows)
            rows += len(layer_rows)
        _replace_older(conn, cid, a.run.id, b.run.id)
        conn.execute(update(Correlation).where(Correlation.id == cid).values(
            status="complete", finished_at=dt.datetime.now(dt.timezone.utc), provenance=_provenance(t0, pairs)))
    return rows


def _f(v: Any) -> float | None:
    return None if v is None or not np.isfinite(v) else float(np.float32(v))


def _f32(values: np.ndarray) -> np.ndarray:
    """Values as the float32 they are compared at (scores are float32: a query's ``> 0.8``
    rounds 0.8 the same way)."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def _replace_older(conn: Any, cid: int, run_a: int, run_b: int) -> None:
    """Delete the older complete correlations of the same two runs (either order) and sites."""
    sites = conn.execute(select(Correlation.sites).where(Correlation.id == cid)).scalar_one()
    older = conn.execute(select(Correlation.id).where(
        Correlation.id != cid, Correlation.status == "complete", Correlation.sites == sites,
        ((Correlation.run_id == run_a) & (Correlation.other_run_id == run_b))
        | ((Correlation.run_id == run_b) & (Correlation.other_run_id == run_a)),
    )).scalars().all()
    for table in (Similarity, NeuronSimilarity, LayerSimilarity):
        conn.execute(delete(table).where(table.correlation_id.in_(older)))
    conn.execute(delete(Correlation).where(Correlation.id.in_(older)))


def _provenance(t0: float, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "neuron_atlas": __version__, "numpy": np.__version__, "python": platform.python_version(),
        "host": socket.gethostname(), "layer_pairs": len(pairs), "seconds": round(time.perf_counter() - t0, 3),
        "method": "pearson over words, blockwise centred float32 products merged in float64",
    }


__all__ = ["DEFAULT_SITES", "LAYER_METHODS", "TOP_K", "correlate"]
