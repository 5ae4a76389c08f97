"""A deterministic fixture atlas for query tests and the query benchmark.

Rows are written directly (``bulk_insert`` for the big tables), so the query language is
tested without the corpus, extraction and scoring areas. The same builder, at larger sizes,
makes the benchmark atlas.

Contents (default sizes): models ``bert`` (12 layers), ``gpt2`` and ``minilm`` (6 layers),
each with an ``mlp`` site of ``mlp_width`` units and a ``resid`` site of ``resid_width``
units per layer; concepts incl. ``negation``, ``noun``, ``plural``, ``upos:NOUN``; five
methods; scores drawn from a seeded RNG with some rows absent and some values NULL;
``neuron_stat``; a tiny corpus with annotations and ``top_activation`` rows; the causal scores
``ablation``, ``ablation_embedding`` and ``attribution`` of every current run (``causal=True``,
written last from their own RNG).

Traps for "which scores a query reads" (``traps=True``): ``bert`` also has an older done run
and a newer *failed* run, both with different scores, and ``iou`` has an older method row
with scores in the current runs. A query must read only the latest done run's latest rows.

:class:`FixtureData` keeps the values that queries should see, for references computed
independently of the compiler (in pandas).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sqlalchemy import insert, text
from tqdm import tqdm

from atlas.store import scores as score_sets
from atlas.store.bulk import bulk_insert
from atlas.store.tables import (
    ActivationFile,
    Annotation,
    Concept,
    ConceptCount,
    Corpus,
    Correlation,
    Layer,
    LayerSimilarity,
    Method,
    Model,
    Neuron,
    NeuronSimilarity,
    NeuronStat,
    Note,
    ProbeResult,
    Run,
    Sentence,
    Similarity,
    Token,
    TopActivation,
)

MODELS: tuple[tuple[str, int], ...] = (("bert", 12), ("gpt2", 6), ("minilm", 6))
CONCEPTS: tuple[tuple[str, str, str], ...] = (
    ("negation", "named", "sentence"),
    ("noun", "named", "token"),
    ("plural", "named", "token"),
    ("past_tense", "named", "token"),
    ("question", "named", "sentence"),
    ("proper_noun", "named", "token"),
    ("upos:NOUN", "upos", "token"),
    ("feat:Tense=Past", "feat", "token"),
    ("word:not", "word", "token"),
)
METHODS: tuple[str, ...] = ("iou", "selectivity", "ap", "probe", "precision")
SENTENCES = (
    ("The cats did not sleep .", ["DET", "NOUN", "AUX", "PART", "VERB", "PUNCT"]),
    ("Is it raining ?", ["AUX", "PRON", "VERB", "PUNCT"]),
    ("She walked home .", ["PRON", "VERB", "ADV", "PUNCT"]),
    ("Dogs don't bark at night .", ["NOUN", "AUX", "VERB", "ADP", "NOUN", "PUNCT"]),
)
FIXED_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
#: A second parameterisation of ``iou`` (a newer method row, with its own scores in the current
#: runs): ``iou[alpha=0.01](c)`` reads it; ``iou(c)`` still reads the default parameterisation.
IOU_VARIANT = {"alpha": 0.01}
#: Probe figures written to ``probe_result`` for each current run's mlp layers (and, as traps,
#: for bert's stale and failed runs): task → metrics.
PROBE_TASKS = {"upos": ("accuracy", "majority", "top", "random", "bottom"), "negation": ("accuracy", "majority", "control_accuracy")}


@dataclass
class FixtureData:
    """What the fixture wrote, as the queries should see it."""

    neurons: pd.DataFrame  # id, model, site, layer, unit, n_layers
    scores: pd.DataFrame  # neuron_id, method, concept, value (NaN = NULL); current runs, latest rows
    stats: pd.DataFrame  # neuron_id, mean, std, min, max, threshold, fire_rate
    runs: dict[str, int]  # model → current run id
    concept_ids: dict[str, int]
    method_ids: dict[str, int]  # name → current method id
    n_score_rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def wide(self) -> pd.DataFrame:
        """One row per neuron, one column per ``method(concept)`` (NaN where missing)."""
        s = self.scores.assign(label=self.scores["method"] + "(" + self.scores["concept"] + ")")
        table = s.pivot(index="neuron_id", columns="label", values="value")
        out = self.neurons.set_index("id").join(table).join(self.stats.set_index("neuron_id"))
        return out.reset_index().rename(columns={"index": "id"})


#: Draws ``n`` values of a score from a generator.
Draw = Callable[[np.random.Generator, int], np.ndarray]
#: The causal scores of every current run (``atlas ablate`` / ``atlas attribute`` would store them;
#: :mod:`atlas.methods.causal` declares them), each drawn like a real one, rounded to 3 decimals:
#: ``ablation`` in [-0.05, 0.5], mostly small (the probe's accuracy drop; a few units matter);
#: ``ablation_embedding`` in [0, 0.2] (1 - cos); ``attribution`` signed, in [-1, 1].
CAUSAL_DRAWS: dict[str, Draw] = {
    "ablation": lambda g, n: np.round(-0.05 + 0.55 * g.random(n) ** 2, 3),
    "ablation_embedding": lambda g, n: np.round(0.2 * g.random(n) ** 2, 3),
    "attribution": lambda g, n: np.round(g.uniform(-1.0, 1.0, n), 3),
}


def _causal_methods(conn: Any) -> dict[str, int]:
    """The causal methods' rows as :mod:`atlas.causal` writes them (``method_row``: the registry's
    family, range and description, the defaults as parameters): name → id."""
    from atlas.methods import registry
    from atlas.methods.job import method_row

    return {m: method_row(conn, registry.get(m), registry.get(m).params()) for m in CAUSAL_DRAWS}


def _values(rng: np.random.Generator, n: int, distribution: str) -> np.ndarray:
    if distribution == "uniform":
        # Rounded to 3 decimals so that references never hinge on the last bit of a float.
        return np.round(rng.random(n), 3)
    return np.round(rng.beta(1.0, 4.0, n), 4)


def build_fixture_atlas(
    db: Any,
    *,
    models: tuple[tuple[str, int], ...] = MODELS,
    mlp_width: int = 8,
    resid_width: int = 4,
    n_extra_concepts: int = 0,
    methods: tuple[str, ...] = METHODS,
    seed: int = 0,
    missing: float = 0.05,
    distribution: str = "uniform",
    traps: bool = True,
    chunk: int = 200_000,
    progress: bool = False,
    agreement: bool | None = None,
    causal: bool = True,
) -> FixtureData:
    """Write the fixture atlas into the empty, initialised atlas ``db``.

    Args:
        db: an :class:`atlas.Atlas` (fresh).
        models: (name, n_layers) pairs.
        mlp_width / resid_width: units per layer on each site.
        n_extra_concepts: synthetic concepts ``c0001``... added to the named ones.
        methods: method names (one method row each).
        seed: the RNG seed; the same seed writes the same atlas on every backend.
        missing: the fraction of score rows left out (missing scores).
        distribution: ``uniform`` (tests) or ``beta`` (skewed low, like real scores; bench).
        traps: add a stale run, a failed run and an older method row (see module docstring).
        chunk: rows per bulk insert.
        progress: show a progress bar on stderr.
        agreement: store the method agreement (top-10 and top-5) and the NeuronVote of bert's
            current and stale runs and of gpt2's (:data:`AGREEMENT_MODELS`); default: with ``traps``.
        causal: store the causal scores of :data:`CAUSAL_DRAWS` in every current run, written
            last from the RNG ``seed + 17`` (without them the atlas is exactly what it was before).

    Returns:
        The :class:`FixtureData` describing what queries should see.
    """
    rng = np.random.default_rng(seed)
    concepts = list(CONCEPTS) + [(f"c{i:04d}", "named", "token") for i in range(1, n_extra_concepts + 1)]
    concept_ids = {name: i + 1 for i, (name, _, _) in enumerate(concepts)}
    n_sites = {"mlp": mlp_width, "resid": resid_width}

    # -- neurons
    rows = []
    layer_rows = []
    nid = 0
    lid = 0
    for mi, (name, n_layers) in enumerate(models, start=1):
        for layer in range(n_layers):
            for site, width in n_sites.items():
                lid += 1
                layer_rows.append(dict(id=lid, model_id=mi, index=layer, site=site, width=width, hook_point=f"blocks.{layer}.{site}", activation="post"))
                for unit in range(width):
                    nid += 1
                    rows.append((nid, lid, mi, site, layer, unit, name, n_layers))
    neurons = pd.DataFrame(rows, columns=["id", "layer_id", "model_id", "site", "layer", "unit", "model", "n_layers"])
    n_neurons = len(neurons)

    # -- runs and methods
    runs: dict[str, int] = {}
    run_rows = []
    rid = 0
    stale_run = failed_run = None
    for mi, (name, _) in enumerate(models, start=1):
        if traps and name == "bert":
            rid += 1
            stale_run = rid
            run_rows.append(dict(id=rid, model_id=mi, status="done", tag="stale"))
        rid += 1
        runs[name] = rid
        run_rows.append(dict(id=rid, model_id=mi, status="done", tag="current"))
        if traps and name == "bert":
            rid += 1
            failed_run = rid
            run_rows.append(dict(id=rid, model_id=mi, status="failed", tag="failed"))
    method_rows = []
    method_ids: dict[str, int] = {}
    old_iou = None
    mid = 0
    if traps and "iou" in methods:
        mid += 1
        old_iou = mid
        method_rows.append(dict(id=mid, name="iou", version="0"))
    for m in methods:
        mid += 1
        method_ids[m] = mid
        method_rows.append(dict(id=mid, name=m, version="1"))

    n_sets = len(methods) + (len(CAUSAL_DRAWS) if causal else 0)
    bar = tqdm(total=n_neurons * len(concepts) * n_sets, desc="fixture scores", unit="row", disable=not progress, file=None)
    current_frames = []
    n_score_rows = 0
    with db.write() as conn:
        conn.execute(
            insert(Corpus),
            [dict(id=1, name="tiny", source="fixture", format="conllu", license="CC0", n_sentences=len(SENTENCES), n_tokens=sum(len(s[1]) for s in SENTENCES), created_at=FIXED_TIME)],
        )
        sent_rows, tok_rows = [], []
        row = 0
        tid = 0
        for si, (sentence, upos) in enumerate(SENTENCES):
            words = sentence.split()
            sent_rows.append(dict(id=si + 1, corpus_id=1, index=si, sent_id=f"s{si + 1}", text=sentence, first_row=row, n_tokens=len(words)))
            for pos, (word, tag) in enumerate(zip(words, upos)):
                tid += 1
                tok_rows.append((tid, 1, si + 1, row, pos, word, word.lower(), tag))
                row += 1
        n_tokens = row
        conn.execute(insert(Sentence), sent_rows)
        t = list(zip(*tok_rows))
        bulk_insert(conn, Token.__table__, dict(id=t[0], corpus_id=t[1], sentence_id=t[2], row=t[3], position=t[4], form=t[5], lemma=t[6], upos=t[7], space_after=[True] * len(t[0])))
        conn.execute(
            insert(Concept),
            [dict(id=concept_ids[n], name=n, kind=k, level=lv, builtin=True, description=f"fixture concept {n}", created_at=FIXED_TIME) for n, k, lv in concepts],
        )
        # Annotations: a simple, documented rule per concept over the tiny corpus.
        ann = []
        upos_of = [r[7] for r in tok_rows]
        form_of = [r[6] for r in tok_rows]
        sent_of = [r[2] - 1 for r in tok_rows]
        rules = {
            "noun": lambda r: upos_of[r] == "NOUN",
            "upos:NOUN": lambda r: upos_of[r] == "NOUN",
            "plural": lambda r: upos_of[r] == "NOUN" and form_of[r].endswith("s"),
            "negation": lambda r: sent_of[r] in (0, 3),
            "question": lambda r: sent_of[r] == 1,
            "word:not": lambda r: form_of[r] == "not",
            "past_tense": lambda r: form_of[r] in ("did", "walked"),
            "feat:Tense=Past": lambda r: form_of[r] in ("did", "walked"),
        }
        counts = []
        for cname, rule in rules.items():
            hits = [r for r in range(n_tokens) if rule(r)]
            ann += [(concept_ids[cname], 1, r) for r in hits]
            counts.append(dict(concept_id=concept_ids[cname], corpus_id=1, n_tokens=len(hits), n_sentences=len({sent_of[r] for r in hits})))
        a = list(zip(*ann))
        bulk_insert(conn, Annotation.__table__, dict(concept_id=a[0], corpus_id=a[1], row=a[2]))
        conn.execute(insert(ConceptCount), counts)

        conn.execute(
            insert(Model),
            [
                dict(id=mi, name=name, source=f"fixture/{name}", architecture="FixtureModel", family="fixture", n_layers=n_layers, d_model=resid_width, d_mlp=mlp_width, random_init=False, created_at=FIXED_TIME)
                for mi, (name, n_layers) in enumerate(models, start=1)
            ],
        )
        conn.execute(insert(Layer), layer_rows)
        bulk_insert(
            conn,
            Neuron.__table__,
            {c: neurons[c].to_numpy() for c in ("id", "layer_id", "model_id", "site", "layer", "unit")} | {"site": neurons["site"].tolist()},
        )
        conn.execute(
            insert(Run),
            [
                dict(id=r["id"], model_id=r["model_id"], corpus_id=1, config_hash=f"fixture-run-{r['id']}", config={"tag": r["tag"]}, status=r["status"], store_path=f"runs/{r['id']}", n_words=n_tokens, rows_done=n_tokens, created_at=FIXED_TIME)
                for r in run_rows
            ],
        )
        conn.execute(
            insert(Method),
            [dict(id=m["id"], name=m["name"], version=m["version"], params={}, params_hash=f"h{m['id']}", family="corpus", higher_is_more=True, value_min=0.0, value_max=1.0, description=f"fixture method {m['name']}", created_at=FIXED_TIME) for m in method_rows],
        )

        by_model = {name: neurons.index[neurons["model"] == name].to_numpy() for name, _ in models}
        concept_arr = np.array([concept_ids[c[0]] for c in concepts])

        def write_scores(conn: Any, run_id: int, method_id: int, idx: np.ndarray, keep_frame: str | None, *,
                         gen: np.random.Generator = rng, draw: Draw | None = None) -> None:
            """One complete score set per concept: the values drawn for (neuron, concept), NaN where
            a value is missing (absent or NULL: the query language reads both as missing). ``gen``
            draws them (by ``draw``, default the ``distribution``) and which are missing."""
            nonlocal n_score_rows
            nids = neurons["id"].to_numpy()[idx]
            dense = np.full((len(nids), len(concept_arr)), np.nan)
            step = max(1, chunk // max(1, len(nids)))
            for start in range(0, len(concept_arr), step):
                cids = concept_arr[start : start + step]
                grid_n = np.tile(nids, len(cids))
                grid_c = np.repeat(cids, len(nids))
                rows_, cols_ = np.tile(np.arange(len(nids)), len(cids)), np.repeat(np.arange(start, start + len(cids)), len(nids))
                values = draw(gen, len(grid_n)) if draw is not None else _values(gen, len(grid_n), distribution)
                present = gen.random(len(grid_n)) >= missing
                null = gen.random(len(grid_n)) < missing / 4
                values = np.where(null, np.nan, values)
                grid_n, grid_c, values = grid_n[present], grid_c[present], values[present]
                dense[rows_[present], cols_[present]] = values
                n_score_rows += len(grid_n)
                bar.update(len(grid_n))
                if keep_frame is not None:
                    current_frames.append(pd.DataFrame({"neuron_id": grid_n, "concept_id": grid_c, "method": keep_frame, "value": values}))
            set_ids = score_sets.open_sets(conn, run_id, method_id, concept_arr.tolist())
            sub = neurons.iloc[idx]
            for layer_id in sorted(set(sub["layer_id"])):
                in_layer = (sub["layer_id"] == layer_id).to_numpy()
                units = sub["unit"].to_numpy()[in_layer]
                block = np.full((int(units.max()) + 1, len(concept_arr)), np.nan)
                block[units] = dense[in_layer]
                score_sets.write_layer(conn, set_ids, int(layer_id), block)
            score_sets.complete_sets(conn, set_ids)

        for name, _ in models:
            idx = by_model[name]
            if old_iou is not None:
                write_scores(conn, runs[name], old_iou, idx, None)
            for m in methods:
                write_scores(conn, runs[name], method_ids[m], idx, m)
            if name == "bert" and stale_run is not None and failed_run is not None:
                for m in methods:
                    write_scores(conn, stale_run, method_ids[m], idx, None)
                    write_scores(conn, failed_run, method_ids[m], idx, None)

        # neuron_stat for current runs (and the stale bert run, which a query must not read).
        stat_frames = []
        for name, _ in models:
            idx = by_model[name]
            run_ids = [runs[name]] + ([stale_run] if name == "bert" and stale_run else [])
            for run_id in run_ids:
                k = len(idx)
                mean = np.round(rng.normal(0, 1, k), 3)
                std = np.round(rng.random(k) + 0.1, 3)
                st = dict(
                    run_id=np.full(k, run_id),
                    neuron_id=neurons["id"].to_numpy()[idx],
                    count=np.full(k, n_tokens),
                    mean=mean,
                    std=std,
                    min=np.round(mean - 2 * std, 3),
                    max=np.round(mean + 2 * std, 3),
                    threshold=np.round(mean + std, 3),
                    fire_rate=np.round(rng.random(k), 3),
                )
                bulk_insert(conn, NeuronStat.__table__, st)
                if run_id == runs[name]:
                    stat_frames.append(pd.DataFrame({c: v for c, v in st.items() if c not in ("run_id", "count")}))
        # top activations: k=5 for the first 3 units of each mlp layer of each current run.
        ta = []
        for name, _ in models:
            sub = neurons[(neurons["model"] == name) & (neurons["site"] == "mlp") & (neurons["unit"] < 3)]
            for neuron_id in sub["id"]:
                picks = rng.choice(n_tokens, size=5, replace=False)
                vals = np.sort(np.round(rng.random(5) * 10, 3))[::-1]
                for rank, (r, v) in enumerate(zip(picks, vals)):
                    ta.append((runs[name], int(neuron_id), rank, int(r), float(v)))
        t = list(zip(*ta))
        bulk_insert(conn, TopActivation.__table__, dict(run_id=t[0], neuron_id=t[1], rank=t[2], row=t[3], value=t[4]))
        _write_explanations(conn, neurons, runs)
        if traps:
            extra_rng = np.random.default_rng(seed + 1)
            variant_id = _write_variant(conn, method_rows, runs, by_model, models, lambda run, mid, idx: write_scores(conn, run, mid, idx, None), extra_rng)
            _write_probe_results(conn, layer_rows, models, runs, stale_run, failed_run, method_ids, extra_rng)
            _write_activations(db, conn, layer_rows, models, runs, n_tokens, mlp_width)
            _write_notes(conn, neurons, concept_ids)
            _write_correlations(conn, neurons, layer_rows, models, runs, stale_run)
        if conn.dialect.name == "postgresql":
            for table in ("corpus", "sentence", "token", "concept", "model", "layer", "neuron", "run", "method"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM \"{table}\"))"))

    if traps if agreement is None else agreement:
        _write_agreement(db, runs, stale_run)
    if causal:  # last, from their own RNG: every other table stays as it was without them
        causal_rng = np.random.default_rng(seed + 17)
        with db.write() as conn:
            for m, mid in _causal_methods(conn).items():
                method_ids[m] = mid
                for name, _ in models:
                    write_scores(conn, runs[name], mid, by_model[name], m, gen=causal_rng, draw=CAUSAL_DRAWS[m])
    bar.close()
    names = {v: k for k, v in concept_ids.items()}
    scores = pd.concat(current_frames, ignore_index=True) if current_frames else pd.DataFrame(columns=["neuron_id", "concept_id", "method", "value"])
    scores["concept"] = scores["concept_id"].map(names)
    stats = pd.concat(stat_frames, ignore_index=True)
    return FixtureData(
        neurons=neurons[["id", "model", "site", "layer", "unit", "n_layers"]].copy(),
        scores=scores[["neuron_id", "method", "concept", "value"]],
        stats=stats,
        runs=runs,
        concept_ids=concept_ids,
        method_ids=method_ids,
        n_score_rows=n_score_rows,
        extra={"tokens": tok_rows, "n_tokens": n_tokens, "top": ta, "iou_variant": variant_id if traps else None},
    )


#: Compositional explanations of the fixture (``atlas explain``'s rows, written by hand): for
#: minilm's mlp units 0-3 of layers 0 and 1, the best formula of at most 1, 2, 3 concepts.
EXPLANATIONS = (
    ("noun", "noun and not plural", "noun and not plural or proper_noun"),
    ("negation", "negation and not question", "negation and not question or word:not"),
    ("plural", "noun and plural", "feat:Tense=Past or noun and plural"),
    ("upos:NOUN", "proper_noun or upos:NOUN", "proper_noun or question or upos:NOUN"),
)


def _write_explanations(conn: Any, neurons: pd.DataFrame, runs: dict[str, int]) -> None:
    """Explanation rows for minilm (no RNG: the other tables stay as they were). Unit ``u`` of
    layer ``l`` gets ``EXPLANATIONS[(u + l) % 4]`` with IoU ``0.1 + 0.1 * u + 0.02 * l + 0.05 * length``;
    minilm/mlp.0/0 also has an exact search whose length-3 formula beats the beam's."""
    from atlas.explain.search import canonical_text
    from atlas.store.tables import Explanation

    if "minilm" not in runs:
        return
    sub = neurons[(neurons["model"] == "minilm") & (neurons["site"] == "mlp") & (neurons["layer"] < 2) & (neurons["unit"] < 4)]
    rows = []
    for nid, layer, unit in sub[["id", "layer", "unit"]].itertuples(index=False):
        formulas = EXPLANATIONS[(int(unit) + int(layer)) % len(EXPLANATIONS)]
        searches = [("beam", {"beam": 10, "length": 3, "mask": "alpha=0.005", "metric": "iou", "search": "beam"})]
        if unit == 0 and layer == 0:
            searches.append(("exact", {"beam": 10, "length": 3, "mask": "alpha=0.005", "metric": "iou", "search": "exact"}))
        for search, params in searches:
            for ell, formula in enumerate(formulas, start=1):
                iou = round(0.1 + 0.1 * int(unit) + 0.02 * int(layer) + 0.05 * ell + (0.01 if search == "exact" and ell == 3 else 0), 4)
                rows.append(dict(run_id=runs["minilm"], neuron_id=int(nid), formula=canonical_text(formula), iou=iou,
                                 length=ell, params=params, created_at=FIXED_TIME, metric="iou", score=iou, max_length=ell,
                                 mask_size=100, formula_size=200, overlap=50, search=search, params_hash=search * 8))
    if rows:
        conn.execute(insert(Explanation), rows)


#: The fixture's notes and labels: (neuron, author, visibility, label, text), written oldest first.
NOTES = (
    ("minilm/mlp.0/0", "alice", "lab", None, "fires on no, not and never"),
    ("minilm/mlp.0/0", "alice", "lab", "negation detector", ""),
    ("minilm/mlp.0/0", "bob", "private", None, "maybe a position artefact"),
    ("bert/mlp.9/1", "bob", "lab", "negation detector", "weaker than minilm's"),
    ("bert/mlp.3/1", "alice", "private", "noun detector", ""),
    ("minilm/mlp.2/3", "carol", "lab", "plural marker", "-s endings"),
)


def _write_notes(conn: Any, neurons: pd.DataFrame, concept_ids: dict[str, int]) -> None:
    """:data:`NOTES` on their neurons, and one note on a concept, at fixed times."""
    ids = {f"{r.model}/{r.site}.{r.layer}/{r.unit}": int(r.id) for r in neurons.itertuples()}
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
    rows = [dict(target_kind="neuron", neuron_id=ids[n], concept_id=None, author=a, visibility=v, label=lb, text=t,
                 created_at=start + dt.timedelta(minutes=i)) for i, (n, a, v, lb, t) in enumerate(NOTES) if n in ids]
    rows.append(dict(target_kind="concept", neuron_id=None, concept_id=concept_ids["negation"], author="alice",
                     visibility="lab", label=None, text="from UD Polarity=Neg", created_at=start + dt.timedelta(hours=1)))
    conn.execute(insert(Note.__table__), rows)


#: The models whose current runs get agreement rows and vote sets (bert's stale run too, as a
#: trap); minilm has none, so its neuron view and the other goldens read no vote sets.
AGREEMENT_MODELS = ("bert", "gpt2")
#: The top-n sizes of the fixture's agreement (the fixture has 8 mlp units a layer).
AGREEMENT_TOP = (5, 10)


def _write_agreement(db: Any, runs: dict[str, int], stale_run: int | None) -> None:
    """Agreement and vote of :data:`AGREEMENT_MODELS`, computed by the library from the sets
    written above (the stale run first, so the current run's rows are the newest)."""
    from atlas.methods.agreement import compute_agreement

    targets = ([stale_run] if stale_run is not None and "bert" in runs else []) + [runs[m] for m in AGREEMENT_MODELS if m in runs]
    for run_id in targets:
        compute_agreement(db, run_id, top=AGREEMENT_TOP)


def _write_variant(conn: Any, method_rows: list[dict[str, Any]], runs: dict[str, int], by_model: dict[str, np.ndarray],
                   models: tuple[tuple[str, int], ...], write: Any, rng: np.random.Generator) -> int | None:
    """The ``iou`` row with :data:`IOU_VARIANT` and its sets in every current run (newest ids)."""
    if not any(m["name"] == "iou" for m in method_rows):
        return None
    mid = max(m["id"] for m in method_rows) + 1
    conn.execute(insert(Method), [dict(id=mid, name="iou", version="1", params=IOU_VARIANT, params_hash=f"h{mid}", family="corpus",
                                       higher_is_more=True, value_min=0.0, value_max=1.0, description="fixture method iou, alpha 0.01",
                                       created_at=FIXED_TIME)])
    for name, _ in models:
        write(runs[name], mid, by_model[name])
    return mid


def _write_probe_results(conn: Any, layer_rows: list[dict[str, Any]], models: tuple[tuple[str, int], ...], runs: dict[str, int],
                         stale_run: int | None, failed_run: int | None, method_ids: dict[str, int], rng: np.random.Generator) -> None:
    """``probe_result`` rows of the ``probe`` method: every mlp layer of every current run (and of
    bert's stale and failed runs, which a query must not read)."""
    if "probe" not in method_ids:
        return
    rows = []
    for mi, (name, _) in enumerate(models, start=1):
        run_ids = [runs[name]] + [r for r in (stale_run, failed_run) if name == "bert" and r is not None]
        for run_id in run_ids:
            for layer in (r for r in layer_rows if r["model_id"] == mi and r["site"] == "mlp"):
                for task, metrics in PROBE_TASKS.items():
                    for metric in metrics:
                        rows.append(dict(run_id=run_id, method_id=method_ids["probe"], layer_id=layer["id"], task=task,
                                         metric=metric, value=float(np.round(rng.random(), 3))))
    conn.execute(insert(ProbeResult), rows)


#: The one layer with an activation file (written through the store): ``neuron`` and ``words of``
#: read it; no other query does (composite concepts are only asked of bert in the tests).
ACTIVATION_LAYER = ("minilm", "mlp", 0)


def _write_activations(db: Any, conn: Any, layer_rows: list[dict[str, Any]], models: tuple[tuple[str, int], ...],
                       runs: dict[str, int], n_tokens: int, width: int) -> None:
    """The float16 activations ``[n_tokens, width]`` of :data:`ACTIVATION_LAYER` in its model's
    current run (its own seeded RNG, so nothing else drawn changes). Unit 0 is planted to fire
    on the nouns' forms: 5.0 + 0.25 * position, the rest a seeded normal."""
    store = getattr(db, "store", None)
    names = [m[0] for m in models]
    model, site, layer = ACTIVATION_LAYER
    if store is None or model not in names:
        return
    mi = names.index(model) + 1
    [layer_row] = [r for r in layer_rows if r["model_id"] == mi and r["site"] == site and r["index"] == layer]
    rng = np.random.default_rng(1234)
    values = np.round(rng.normal(0.0, 1.0, (n_tokens, width)), 2)
    row = 0
    for sentence, upos in SENTENCES:
        for pos, tag in enumerate(upos):
            if tag == "NOUN":
                values[row, 0] = 5.0 + 0.25 * pos
            row += 1
    run_id = runs[model]
    rel = store.layer_path(store.run_dir(run_id, f"fixture-run-{run_id}"), layer=layer, site=site)
    store.allocate(rel, n_rows=n_tokens, width=width)
    arr = store.open(rel, mode="r+")
    arr[:] = values.astype(np.float16)
    store.flush(arr)
    conn.execute(insert(ActivationFile), [dict(run_id=run_id, layer_id=layer_row["id"], path=rel, n_rows=n_tokens,
                                               width=width, dtype="float16")])


#: Partners per neuron in the fixture's correlations.
FIXTURE_TOP_K = 3


def _write_correlations(conn: Any, neurons: pd.DataFrame, layer_rows: list[dict[str, Any]], models: tuple[tuple[str, int], ...],
                        runs: dict[str, int], stale_run: int | None) -> None:
    """What ``atlas correlate`` stores, drawn from its own seeded RNG (nothing else drawn changes):
    ``minilm x gpt2`` (mlp, resid) and ``bert x gpt2`` (mlp), plus two traps a query must not
    read: an older complete ``bert x gpt2`` over bert's stale run, and a newer one still building."""
    names = [m[0] for m in models]
    if not {"bert", "gpt2", "minilm"} <= set(names):
        return
    rng = np.random.default_rng(4321)
    plan = [("bert", "gpt2", ("mlp",), "complete", stale_run), ("minilm", "gpt2", ("mlp", "resid"), "complete", None),
            ("bert", "gpt2", ("mlp",), "complete", None), ("bert", "gpt2", ("mlp",), "building", None)]
    for a, b, sites, status, run_a in plan:
        cid = conn.execute(insert(Correlation).values(
            run_id=run_a or runs[a], other_run_id=runs[b], sites=",".join(sites), params={"sites": list(sites), "top_k": FIXTURE_TOP_K},
            params_hash=f"fixture-{a}-{b}-{run_a}-{status}", status=status, provenance={"fixture": True}, created_at=FIXED_TIME,
            finished_at=FIXED_TIME if status == "complete" else None)).inserted_primary_key[0]
        for site in sites:
            for mine, theirs in ((a, b), (b, a)):
                _fixture_partners(conn, rng, int(cid), neurons, site, mine, theirs, run_a if mine == a and run_a else runs[mine], runs[theirs])
            ids = {m: [r["id"] for r in layer_rows if r["model_id"] == names.index(m) + 1 and r["site"] == site] for m in (a, b)}
            rows = []
            for la in ids[a]:
                for lb in ids[b]:
                    for method in ("cka", "svcca", "pwcca", "maxcorr", "linreg"):
                        for x, y in ((la, lb), (lb, la)):
                            rows.append(dict(correlation_id=int(cid), method=method, layer_id=x, other_layer_id=y,
                                             value=float(np.round(rng.random(), 3))))
            conn.execute(insert(LayerSimilarity), rows)


def _fixture_partners(conn: Any, rng: np.random.Generator, cid: int, neurons: pd.DataFrame, site: str, mine: str, theirs: str,
                      run_mine: int, run_other: int) -> None:
    """For each ``site`` unit of ``mine``: FIXTURE_TOP_K partners in ``theirs`` (|value| descending),
    its maxcorr (the first partner's |value|) and a linreg at least as large."""
    me = neurons[(neurons["model"] == mine) & (neurons["site"] == site)]["id"].to_numpy()
    other = neurons[(neurons["model"] == theirs) & (neurons["site"] == site)]["id"].to_numpy()
    k = FIXTURE_TOP_K
    picks = np.argsort(rng.random((len(me), len(other))), axis=1)[:, :k]
    vals = np.round(rng.uniform(-1, 1, (len(me), k)), 3)
    vals = np.take_along_axis(vals, np.argsort(-np.abs(vals), axis=1, kind="stable"), axis=1)
    bulk_insert(conn, Similarity.__table__, dict(
        neuron_id=np.repeat(me, k), other_neuron_id=other[picks].ravel(), method=["pearson"] * (len(me) * k),
        value=vals.ravel().astype(np.float64), corpus_id=np.full(len(me) * k, 1), correlation_id=np.full(len(me) * k, cid),
        run_id=np.full(len(me) * k, run_mine), other_run_id=np.full(len(me) * k, run_other), rank=np.tile(np.arange(k), len(me))))
    maxcorr = np.abs(vals[:, 0])
    linreg = np.round(maxcorr + (1 - maxcorr) * rng.random(len(me)), 3)
    for method, values in (("maxcorr", maxcorr), ("linreg", linreg)):
        bulk_insert(conn, NeuronSimilarity.__table__, dict(correlation_id=np.full(len(me), cid), method=[method] * len(me),
                                                           neuron_id=me, value=values.astype(np.float64)))
