"""Ablation: clamp neurons during the forward pass and measure what the model loses.

**Per neuron** (:func:`ablate_neurons`, ``atlas ablate --run R --neurons``): every unit of the
chosen layers is clamped (``value``: ``zero``, its corpus ``mean`` from the run's neuron
statistics, or a number) on its own, at every token position of the evaluation sentences
(:mod:`atlas.causal.sample`), and three causal scores per (neuron, concept) are stored as score
sets, queryable like any method:

* ``ablation(c)``: the drop of concept ``c``'s output probe's soft balanced accuracy (in
  ``[-1, 1]``; > 0: the model's output says less about ``c`` without the neuron);
* ``ablation_loss(c)``: the increase of the model's own loss on ``c``'s words, nats per word
  (masked-LM loss on a seeded 15 % of the words for BERT-style models with an MLM head,
  causal-LM loss for GPT-2-style models; no sets for models without an LM head);
* ``ablation_embedding(c)``: the mean ``1 − cos`` between the mean-pooled sentence embedding
  with and without the ablation, over the sentences containing ``c`` (sentence encoders such as
  all-MiniLM-L6-v2: the change of their output).

**Batched.** One forward pass ablates ``group`` neurons at once: the evaluation batch is tiled
``group`` times and each copy gets its own neuron (an :class:`~atlas.extract.runner.Intervention`
with ``items``); a copy's effect depends only on its own neuron, so the scores equal
one-neuron-at-a-time passes (``group=1``; a test checks it). The blocks below the ablated layer
are the same for every copy, so they run once, on one copy (the runner fans the batch out at the
ablated block): ablating layer ``L`` of ``N`` costs about ``(N − L) / N`` of the tiled pass.
``bench/bench_causal.py`` states the cost per neuron.

**Curves** (:func:`ablation_curve`, ``atlas ablate --run R --ranking "ap(noun)" --k 10,50,200``):
for a stored ranking, the top-k, bottom-k and random-k neurons (``repeats`` seeded draws) of a
site are clamped together, for each k, and the concept probe's accuracy, the embedding change
and the LM losses are stored in ``ablation_curve`` (one row per selection, k and metric; a rerun
with the same parameters replaces them), read back with :func:`ablation_curves`. "Bottom" is the
ranking's last k (ties in a seeded order): for a magnitude ranking (``probe``: ``|W|``) the
neurons the concept uses least; for a signed one (``meandiff``, ``selectivity``) or ``ap`` the
neurons most *against* the concept, which may well matter to it; random-k is the control that
fits every ranking.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from tqdm.auto import tqdm

from atlas.causal.model import CausalModel, model_for_run
from atlas.causal.sample import SAMPLE_DEFAULTS, Sample, balanced, baseline_scores, build_sample, measure
from atlas.errors import ConceptError, MethodError, did_you_mean
from atlas.extract.runner import Intervention
from atlas.methods import registry
from atlas.methods.base import params_hash
from atlas.methods.job import _activation_files, _done_run, _neuron_ids, method_row
from atlas.store import scores
from atlas.store.engine import write as write_transaction
from atlas.store.tables import AblationCurve, Concept, Layer, Method, Model, NeuronStat, Run, ScoreSet

#: The per-neuron ablation scores, in the order they are computed.
ABLATION_METHODS = ("ablation", "ablation_loss", "ablation_embedding")
#: Metrics of an ablation curve row.
CURVE_METRICS = ("accuracy", "soft_accuracy", "embedding", "loss", "concept_loss")
#: Selections of an ablation curve, in the order tables show them (``none``: nothing clamped).
SELECTIONS = ("none", "top", "random", "bottom")
#: Defaults of the per-neuron job (``group``: neurons per forward pass).
NEURON_DEFAULTS: dict[str, Any] = {"value": "zero", "group": 32, **SAMPLE_DEFAULTS}
#: Defaults of the curves.
CURVE_DEFAULTS: dict[str, Any] = {"k": (10, 50, 200), "site": "mlp", "value": "zero", "repeats": 3,
                                  **{**SAMPLE_DEFAULTS, "sentences": 128}}


def _clamp_values(db: Any, run_id: int, neuron_ids: np.ndarray, value: str | float) -> np.ndarray:
    """The value each unit is clamped to: 0, the unit's mean over the run's words, or a number."""
    if isinstance(value, (int, float)) or str(value).lower() not in ("zero", "mean"):
        try:
            return np.full(len(neuron_ids), float(value))
        except ValueError:
            raise MethodError(f"ablation value {value!r} is not zero, mean or a number", hint="--value zero|mean|FLOAT") from None
    if str(value).lower() == "zero":
        return np.zeros(len(neuron_ids))
    with db.engine.connect() as conn:
        rows = dict(conn.execute(select(NeuronStat.neuron_id, NeuronStat.mean).where(
            NeuronStat.run_id == run_id, NeuronStat.neuron_id.in_([int(i) for i in neuron_ids]))).all())
    missing = [int(i) for i in neuron_ids if rows.get(int(i)) is None]
    if missing:
        raise MethodError(f"run {run_id} has no mean for {len(missing)} neurons", hint="use --value zero")
    return np.asarray([rows[int(i)] for i in neuron_ids], np.float64)


def _layer_effects(sample: Sample, site: str, layer: int, units: Sequence[int], values: np.ndarray, group: int,
                   bar: Any = None, fan_out: bool = True) -> dict[str, np.ndarray]:
    """Effect sums ``{name: [len(units), C]}`` of clamping each unit alone (``group`` per pass)."""
    C = sample.n_concepts
    sums: dict[str, np.ndarray] = {}
    for g0 in range(0, len(units), group):
        chunk = list(units[g0 : g0 + group])
        vals = values[g0 : g0 + group]
        for b, enc in enumerate(sample.batches):
            n = enc.n_items
            if len(chunk) == 1:
                iv = Intervention(site, layer, units=chunk, value=float(vals[0]))
            else:
                iv = Intervention(site, layer, units=[u for u in chunk for _ in range(n)],
                                  items=list(range(len(chunk) * n)), value=[float(v) for v in vals for _ in range(n)])
            got = measure(sample, b, len(chunk), [iv], fan_out=fan_out)
            for k, v in got.items():
                acc = sums.setdefault(k, np.zeros((len(units),) + v.shape[1:]))
                acc[g0 : g0 + len(chunk)] += v
        if bar is not None:
            bar.update(len(chunk))
    sums.setdefault("emb", np.zeros((len(units), C)))
    return sums


def neuron_scores(sample: Sample, sums: dict[str, np.ndarray], soft_base: np.ndarray) -> dict[str, np.ndarray]:
    """The stored scores ``{method: [units, C]}`` from :func:`_layer_effects`' sums."""
    out = {
        "ablation": soft_base[None, :] - balanced(sample, sums["probe_pos"], sums["probe_neg"]),
        "ablation_embedding": sums["emb"] / np.maximum(sample.n_sent, 1),
    }
    if sample.cm.objective is not None:
        out["ablation_loss"] = np.where(sample.n_lm > 0, sums["loss"] / np.maximum(sample.n_lm, 1), np.nan)
    return out


def ablate_neurons(
    db: Any, run: int | str, *, concepts: str | Sequence[str] | None = None, sites: str | Sequence[str] = "mlp",
    layers: Sequence[int] | None = None, units: Sequence[int] | None = None, value: str | float = "zero",
    group: int = 32, sentences: int = 64, probe_sentences: int = 300, batch_sentences: int = 16, seed: int = 0,
    min_count: int = 5, device: str = "cpu", progress: bool = True, write: bool = True,
    model: CausalModel | None = None, fan_out: bool = True,
) -> dict[str, Any]:
    """Clamp every neuron of the chosen layers alone; store ``ablation``, ``ablation_loss`` (LM
    models) and ``ablation_embedding`` score sets per concept (module docstring).

    Args:
        run: run id or model short name (its latest done run).
        concepts: concept names (default: every concept without ``:`` with ``min_count`` words
            in both parts of the sample).
        sites, layers: which layers (default: every ``mlp`` layer of the run).
        units: only these unit indices of each layer (a partial map: the other units' scores
            are missing); default all.
        value: ``zero``, ``mean`` (the unit's mean over the run's words) or a number.
        group: neurons per forward pass (1: one neuron at a time).
        sentences, probe_sentences, batch_sentences, seed, min_count: the sample
            (:func:`atlas.causal.sample.build_sample`).
        write: ``False`` computes and returns the scores without storing them.
        fan_out: run the blocks below the ablated layer once per batch, not once per neuron
            (the same scores; ``False`` is the baseline the benchmark measures against).

    Returns:
        ``{"run_id", "concepts", "methods": {name: method_id}, "layers": [...], "n_neurons",
        "seconds", "per_neuron_s", "scores": {method: {(site, layer): [units, C]}}, "sample": {...}}``.

    Raises:
        MethodError: run not done, no such layer, bad value. ConceptError: bad concepts.
    """
    run_row = _done_run(db, run)
    files = [f for f in _activation_files(db, run_row.id) if f["site"] in _split(sites)
             and (layers is None or f["index"] in set(layers))]
    if not files:
        raise MethodError(f"run {run_row.id} has no layer of site {sites} among {list(layers or [])}",
                          hint="see the run's layers with: atlas run show RUN")
    cm = model or model_for_run(db, run_row, device=device)
    sample = build_sample(db, cm, run_row.corpus_id, concepts=concepts, sentences=sentences,
                          probe_sentences=probe_sentences, batch_sentences=batch_sentences, seed=seed, min_count=min_count)
    soft_base = baseline_scores(sample)["soft"]
    names = [m for m in ABLATION_METHODS if m != "ablation_loss" or cm.objective is not None]
    params = {"value": str(value), **sample.params}
    job = _open(db, run_row.id, names, params, sample.concept_ids) if write else None
    neuron_ids = _neuron_ids(db, files)
    total = sum(len(units) if units is not None else f["width"] for f in files)
    bar = tqdm(total=total, desc=f"ablate run {run_row.id}", unit="neuron", disable=not progress)
    out: dict[str, dict[tuple[str, int], np.ndarray]] = {m: {} for m in names}
    t0 = time.perf_counter()
    try:
        for f, ids in zip(files, neuron_ids):
            if job is not None and f["layer_id"] in job[2]:
                bar.update(len(units) if units is not None else f["width"])
                continue
            chosen = list(range(f["width"])) if units is None else [u for u in units if u < f["width"]]
            vals = _clamp_values(db, run_row.id, ids[chosen], value)
            sums = _layer_effects(sample, f["site"], f["index"], chosen, vals, max(1, group), bar, fan_out)
            got = neuron_scores(sample, sums, soft_base)
            for m in names:
                full = np.full((f["width"], sample.n_concepts), np.nan)
                full[chosen] = got[m]
                out[m][(f["site"], f["index"])] = full
            if job is not None:
                with write_transaction(db.engine) as conn:
                    for m in names:
                        scores.write_layer(conn, job[1][m], f["layer_id"], out[m][(f["site"], f["index"])])
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    if job is not None:
        with write_transaction(db.engine) as conn:
            scores.complete_sets(conn, [i for ids_ in job[1].values() for i in ids_])
    n = sum(len(units) if units is not None else f["width"] for f in files)
    return {"run_id": run_row.id, "concepts": sample.concepts, "methods": job[0] if job else {},
            "layers": [f"{f['site']}.{f['index']}" for f in files], "n_neurons": n, "seconds": round(seconds, 3),
            "per_neuron_s": seconds / max(n, 1), "scores": out, "sample": {**sample.params, "evaluated": sample.n_items},
            "objective": cm.objective}


def _split(values: str | Sequence[str]) -> list[str]:
    return [v.strip() for v in values.split(",")] if isinstance(values, str) else list(values)


def _open(db: Any, run_id: int, names: list[str], params: dict[str, Any], concept_ids: list[int]
          ) -> tuple[dict[str, int], dict[str, list[int]], set[int]]:
    """Method rows, building sets (reused after an interruption) and the layers all of them hold."""
    with write_transaction(db.engine) as conn:
        mids = {m: method_row(conn, registry.get(m), params) for m in names}
        sets = {m: scores.open_sets(conn, run_id, mids[m], concept_ids) for m in names}
        written = scores.layers_written(conn, [i for ids in sets.values() for i in ids])
    done = set.intersection(*written.values()) if written else set()
    return mids, sets, done


# -- curves ---------------------------------------------------------------------------------
_RANKING = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(?:\[([^\]]*)\])?\s*\(\s*([^()]+?)\s*\)\s*$")


def parse_ranking(text: str) -> tuple[str, dict[str, Any] | None, str]:
    """``(method, params or None, concept)`` of ``"ap(noun)"``, ``"iou[fires](noun)"``, ``"iou[alpha=0.01](noun)"``.

    >>> parse_ranking("iou[mask=fires](noun)")
    ('iou', {'mask': 'fires'}, 'noun')
    """
    m = _RANKING.match(text)
    if m is None:
        raise MethodError(f"ranking {text!r} is not METHOD(CONCEPT)", hint='for example --ranking "ap(noun)"')
    method, raw, concept = m.group(1), m.group(2), m.group(3)
    spec = registry.get(method)
    if raw is None:
        return method, None, concept
    params: dict[str, Any] = {}
    for part in [p.strip() for p in raw.split(",") if p.strip()]:
        key, sep, val = part.partition("=")
        if not sep:
            owners = [k for k, vals in spec.values.items() if part in [str(v) for v in vals]]
            if len(owners) != 1:
                raise MethodError(f"{part!r} is not a value of one parameter of {method}", hint="write PARAM=VALUE")
            key, val = owners[0], part
        params[key.strip()] = val.strip()
    return method, params, concept


def ranking_values(db: Any, run_id: int, ranking: str, site: str, seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The stored ranking's values over the site's neurons of the run: a frame of ``layer,
    unit, neuron_id, value`` (ranked best first) and what was read (set, method, concept).

    Ties are broken in a seeded random order, not by layer: a probe gives most neurons the
    weight 0, and "the last k" of a tie broken by layer would all be the last layer's units,
    whose ablation moves the output most."""
    method, params, concept = parse_ranking(ranking)
    spec = registry.get(method)
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(ScoreSet.id, Method.params_hash, Method.higher_is_more, Concept.id)
            .join(Method, Method.id == ScoreSet.method_id).join(Concept, Concept.id == ScoreSet.concept_id)
            .where(ScoreSet.run_id == run_id, ScoreSet.status == "complete", Method.name == method, Concept.name == concept)
            .order_by(ScoreSet.id.desc())
        ).all()
        want = params_hash(spec.params(params)) if params is not None else params_hash(spec.params())
        pick = [r for r in rows if r[1] == want] or ([] if params is not None else rows[:1])
        if not pick:
            known = [n for (n,) in conn.execute(select(Concept.name))]
            if concept not in known:
                raise ConceptError(f"unknown concept {concept!r} in ranking {ranking}",
                                   hint=did_you_mean(concept, known) or "list them with: atlas concept list")
            raise MethodError(f"run {run_id} has no complete score set of {ranking}",
                              hint=f"score it first: atlas score --run {run_id} --methods {method} --concepts {concept}")
        set_id, _h, higher, concept_id = pick[0]
        layers = {int(r.id): (r.site, int(r.index)) for r in conn.execute(select(Layer.id, Layer.site, Layer.index))}
        values = scores.read_set(conn, int(set_id))
    files = {f["layer_id"]: f for f in _activation_files(db, run_id)}
    parts = []
    for layer_id, vals in values.items():
        s, idx = layers[layer_id]
        if s != site or layer_id not in files:
            continue
        parts.append(pd.DataFrame({"layer_id": layer_id, "layer": idx, "unit": np.arange(len(vals)), "value": vals.astype(np.float64)}))
    if not parts:
        raise MethodError(f"{ranking} has no values on site {site} in run {run_id}", hint="try --site resid")
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[np.isfinite(frame["value"])]
    frame = frame.assign(_tie=np.random.default_rng(seed).permutation(len(frame)))
    frame = frame.sort_values(["value", "_tie"], ascending=[higher is False, True], kind="mergesort").drop(columns="_tie")
    return frame.reset_index(drop=True), {"set_id": int(set_id), "method": method, "concept": concept,
                                          "concept_id": int(concept_id), "higher_is_more": bool(higher)}


def _selections(frame: pd.DataFrame, k: int, repeats: int, seed: int) -> list[tuple[str, int, pd.DataFrame]]:
    """``(selection, repeat, rows)``: the top k, the bottom k and ``repeats`` random k."""
    k = min(k, len(frame))
    out = [("top", 0, frame.iloc[:k]), ("bottom", 0, frame.iloc[len(frame) - k :])]
    rng = np.random.default_rng(seed + k)
    for r in range(repeats):
        out.append(("random", r, frame.iloc[np.sort(rng.choice(len(frame), size=k, replace=False))]))
    return out


def _set_interventions(site: str, chosen: list[pd.DataFrame], values: dict[int, float], n_items: int) -> list[Intervention]:
    """One intervention per layer clamping, in copy ``g`` of a tiled batch of ``n_items``
    sentences (items ``g*n_items .. (g+1)*n_items - 1``), the neurons of ``chosen[g]``."""
    per_layer: dict[int, tuple[list[int], list[int], list[float]]] = {}
    for g, rows in enumerate(chosen):
        for layer, unit, nid in zip(rows["layer"], rows["unit"], rows["neuron_id"]):
            u, it, v = per_layer.setdefault(int(layer), ([], [], []))
            u.extend([int(unit)] * n_items)
            it.extend(range(g * n_items, (g + 1) * n_items))
            v.extend([values[int(nid)]] * n_items)
    return [Intervention(site, layer, units=u, items=it, value=v) for layer, (u, it, v) in sorted(per_layer.items())]


def ablation_curve(
    db: Any, run: int | str, ranking: str, *, k: Sequence[int] | str = (10, 50, 200), site: str = "mlp",
    value: str | float = "zero", repeats: int = 3, sentences: int = 128, probe_sentences: int = 300,
    batch_sentences: int = 16, seed: int = 0, min_count: int = 5, device: str = "cpu", write: bool = True,
    model: CausalModel | None = None, progress: bool = False,
) -> pd.DataFrame:
    """Top-k / random-k / bottom-k ablation curves of a stored ranking (module docstring).

    Returns:
        The curve rows: ``ranking, concept, site, selection, k, metric, value, std, n`` (``k = 0``:
        nothing ablated; ``std`` over the random draws).

    Raises:
        MethodError: no such ranking in the run, bad k. ConceptError: too few concept words.
    """
    try:
        ks = sorted({int(x) for x in (k.split(",") if isinstance(k, str) else k)})
    except ValueError:
        raise MethodError(f"--k {k!r} is not a comma-separated list of neuron counts", hint="for example --k 10,50,200") from None
    if not ks or ks[0] <= 0:
        raise MethodError(f"--k {k!r}: give positive neuron counts", hint="for example --k 10,50,200")
    run_row = _done_run(db, run)
    frame, read = ranking_values(db, run_row.id, ranking, site, seed)
    nid_of = _neuron_map(db, frame)
    frame = frame.assign(neuron_id=[nid_of[(a, b)] for a, b in zip(frame["layer_id"], frame["unit"])])
    values = dict(zip(frame["neuron_id"].tolist(), _clamp_values(db, run_row.id, frame["neuron_id"].to_numpy(), value).tolist()))
    cm = model or model_for_run(db, run_row, device=device)
    sample = build_sample(db, cm, run_row.corpus_id, concepts=[read["concept"]], sentences=sentences,
                          probe_sentences=probe_sentences, batch_sentences=batch_sentences, seed=seed, min_count=min_count)
    base = baseline_scores(sample)
    rows = [_curve_row("none", 0, 0, {"accuracy": base["hard"][0], "soft_accuracy": base["soft"][0], "embedding": 0.0,
                                        "loss": 0.0 if cm.objective else np.nan, "concept_loss": 0.0 if cm.objective else np.nan})]
    for kk in tqdm(ks, desc="ablation curve", disable=not progress):
        sel = _selections(frame, kk, repeats, seed)
        sums: dict[str, np.ndarray] = {}
        for b, enc in enumerate(sample.batches):
            ivs = _set_interventions(site, [s[2] for s in sel], values, enc.n_items)
            for key, v in measure(sample, b, len(sel), ivs).items():
                sums[key] = sums.get(key, 0) + v
        for g, (name, rep, chosen) in enumerate(sel):
            rows.append(_curve_row(name, rep, len(chosen), _curve_metrics(sample, sums, g)))
    out = _summarise(pd.DataFrame(rows))
    params = {"site": site, "value": str(value), "repeats": repeats, **sample.params, "evaluated": sample.n_items}
    out.insert(0, "ranking", ranking.strip())
    out.insert(1, "concept", read["concept"])
    out.insert(2, "site", site)
    if write:
        _store_curve(db, run_row.id, ranking.strip(), read, params, out)
    out.attrs["params"] = params
    out.attrs["set_id"] = read["set_id"]
    return out


def _neuron_map(db: Any, frame: pd.DataFrame) -> dict[tuple[int, int], int]:
    from atlas.store.tables import Neuron

    with db.engine.connect() as conn:
        rows = conn.execute(select(Neuron.layer_id, Neuron.unit, Neuron.id).where(
            Neuron.layer_id.in_(sorted({int(x) for x in frame["layer_id"]})))).all()
    return {(int(a), int(b)): int(c) for a, b, c in rows}


def _curve_metrics(sample: Sample, sums: dict[str, np.ndarray], g: int) -> dict[str, float]:
    lm = sample.cm.objective is not None
    return {
        "accuracy": float(balanced(sample, sums["hard_pos"][g], sums["hard_neg"][g])[0]),
        "soft_accuracy": float(balanced(sample, sums["probe_pos"][g], sums["probe_neg"][g])[0]),
        "embedding": float(sums["emb_all"][g] / max(sample.n_items, 1)),
        "loss": float(sums["loss_all"][g] / max(sample.n_lm_all, 1)) if lm else float("nan"),
        "concept_loss": float(sums["loss"][g][0] / max(sample.n_lm[0], 1)) if lm else float("nan"),
    }


def _curve_row(selection: str, repeat: int, k: int, metrics: dict[str, float]) -> dict[str, Any]:
    return {"selection": selection, "repeat": repeat, "k": k, **metrics}


def _summarise(raw: pd.DataFrame) -> pd.DataFrame:
    """Long rows ``selection, k, metric, value, std, n`` (mean and std over random draws)."""
    long = raw.melt(id_vars=["selection", "repeat", "k"], value_vars=list(CURVE_METRICS), var_name="metric")
    g = long.groupby(["selection", "k", "metric"], sort=False)["value"]
    out = g.agg(value="mean", std=lambda s: float(s.std(ddof=0)) if len(s) > 1 else np.nan, n="count").reset_index()
    out["_o"] = out["selection"].map({name: i for i, name in enumerate(SELECTIONS)})
    out["_m"] = out["metric"].map({m: i for i, m in enumerate(CURVE_METRICS)})
    return out.sort_values(["_m", "k", "_o"]).drop(columns=["_o", "_m"]).reset_index(drop=True)


def curve_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """A curve's rows (:func:`ablation_curve`, :func:`ablation_curves`) as one row per
    (metric, k) and a column per selection in :data:`SELECTIONS` order, the random draws'
    ``random_std`` beside ``random``; metrics without any value (an encoder's LM losses) are
    left out."""
    part = frame[frame.groupby("metric")["value"].transform(lambda v: v.notna().any())]
    if part.empty:
        return part
    wide = part.pivot_table(index=["metric", "k"], columns="selection", values="value", sort=False, dropna=False)
    std = part[part["selection"] == "random"].set_index(["metric", "k"])["std"]
    out = wide.reindex(columns=[c for c in SELECTIONS if c in wide.columns])
    if "random" in out:
        out.insert(out.columns.get_loc("random") + 1, "random_std", std.reindex(out.index))
    return out.reset_index().rename_axis(columns=None)


def _store_curve(db: Any, run_id: int, ranking: str, read: dict[str, Any], params: dict[str, Any], frame: pd.DataFrame) -> None:
    """Replace the curve of (run, ranking, parameters) in one transaction."""
    phash = params_hash(params)
    now = dt.datetime.now(dt.timezone.utc)
    rows = [{"run_id": run_id, "concept_id": read["concept_id"], "ranking": ranking, "set_id": read["set_id"],
             "site": params["site"], "params": params, "params_hash": phash, "selection": r.selection, "k": int(r.k),
             "metric": r.metric, "value": None if not np.isfinite(r.value) else float(r.value),
             "std": None if r.std is None or not np.isfinite(r.std) else float(r.std), "n": int(r.n), "created_at": now}
            for r in frame.itertuples()]
    with write_transaction(db.engine) as conn:
        conn.execute(delete(AblationCurve).where(AblationCurve.run_id == run_id, AblationCurve.ranking == ranking,
                                                 AblationCurve.params_hash == phash))
        conn.execute(insert(AblationCurve), rows)


def ablation_curves(db: Any, run: int | str | None = None, ranking: str | None = None) -> pd.DataFrame:
    """The stored curves (every run's, or one run's, or one ranking's): ``model, run, ranking,
    concept, site, selection, k, metric, value, std, n, params, created_at``, ordered for plotting."""
    from atlas.store.runs import find_run

    a = AblationCurve.__table__
    stmt = (select(Model.name.label("model"), a.c.run_id.label("run"), a.c.ranking, Concept.name.label("concept"), a.c.site,
                   a.c.selection, a.c.k, a.c.metric, a.c.value, a.c.std, a.c.n, a.c.params, a.c.created_at)
            .join(Run, Run.id == a.c.run_id).join(Model, Model.id == Run.model_id).join(Concept, Concept.id == a.c.concept_id))
    if run is not None:
        stmt = stmt.where(a.c.run_id == find_run(db, run, error=MethodError).id)
    if ranking is not None:
        stmt = stmt.where(a.c.ranking == ranking.strip())
    with db.engine.connect() as conn:
        res = conn.execute(stmt.order_by(a.c.run_id, a.c.ranking, a.c.params_hash, a.c.metric, a.c.k, a.c.selection))
        frame = pd.DataFrame([tuple(r) for r in res.all()], columns=list(res.keys()))
    for col in ("value", "std"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame
