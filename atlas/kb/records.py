"""Neuron records in the formats of other interpretability tools (``atlas export --records``).

**OpenAI automated-interpretability** (``neuron_explainer.activations.activations``): one
``NeuronRecord`` JSON per neuron at ``records/openai/<layer>/<unit>.json``, as its
``fast_dataclasses.loads`` reads it (each object carries ``dataclass_name``):

==================================  ==========================================================
``neuron_id.layer_index``           the layer (the block index; one folder per site:
                                    ``records/openai/<site>/<layer>/<unit>.json``)
``neuron_id.neuron_index``          the unit
``most_positive_activation_records``  the neuron's stored top activations (``top_activation``,
                                    strongest first), each the whole sentence around the top
                                    word: ``tokens`` are the corpus's **words** (the atlas
                                    aggregates subwords to words), ``activations`` the neuron's
                                    value on each word, read from the run's activation file. No
                                    activation file: a one-word record (the top word and its value)
``mean``, ``variance``              from ``neuron_stat`` (std squared)
``random_sample``, quantiles,       empty / null: the atlas keeps no random sample
``skewness``, ``kurtosis``
==================================  ==========================================================

**Neuronpedia**: one JSON per neuron at ``records/neuronpedia/<layer>-<site>/<unit>.json`` with
the fields of a Neuronpedia feature that fit: ``modelId`` (the atlas's model name), ``layer``
(``"<layer>-<site>"``, Neuronpedia's ``<layer>-<source set>`` shape), ``index`` (the unit, a
string), ``activations`` (``tokens``, ``values``, ``maxValue``, ``maxValueTokenIndex``, as above)
and ``explanations`` (the lab's labels and the stored compositional explanations, each a
``description`` with a ``typeName``: ``atlas-label`` or ``atlas-explanation``). Uploading to
Neuronpedia still needs a source set registered there under that name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from atlas.errors import AtlasError, KnowledgeBaseError
from atlas.store.tables import (ActivationFile, Explanation, Model, Neuron, NeuronStat, Note, Run, Sentence,
                                Token, TopActivation)

RECORD_FORMATS = ("openai", "neuronpedia")


def write_records(db: Any, model: str, out: str | Path, fmt: str) -> int:
    """Write one record per neuron of ``model`` that has stored top activations (its latest done
    run's); returns the number written."""
    if fmt not in RECORD_FORMATS:
        raise KnowledgeBaseError(f"unknown record format {fmt!r}", hint="use --records openai or neuronpedia")
    root = Path(out) / "records" / fmt
    with db.engine.connect() as conn:
        m = conn.execute(select(Model.id).where(Model.name == model)).scalar()
        if m is None:
            raise KnowledgeBaseError(f"unknown model {model!r}", hint="show models lists them")
        run = conn.execute(select(func.max(Run.id)).where(Run.model_id == m, Run.status == "done")).scalar()
        if run is None:
            return 0
        corpus = conn.execute(select(Run.corpus_id).where(Run.id == run)).scalar_one()
        top = _frame(conn, select(TopActivation.neuron_id, TopActivation.rank, TopActivation.row, TopActivation.value,
                                  Neuron.site, Neuron.layer, Neuron.unit, Neuron.layer_id)
                     .join(Neuron, Neuron.id == TopActivation.neuron_id)
                     .where(TopActivation.run_id == run).order_by(TopActivation.neuron_id, TopActivation.rank))
        tokens = _frame(conn, select(Token.row, Token.form, Token.sentence_id).where(Token.corpus_id == corpus))
        sentences = _frame(conn, select(Sentence.id, Sentence.first_row, Sentence.n_tokens).where(Sentence.corpus_id == corpus))
        stats = _frame(conn, select(NeuronStat.neuron_id, NeuronStat.mean, NeuronStat.std).where(NeuronStat.run_id == run))
        files = dict(conn.execute(select(ActivationFile.layer_id, ActivationFile.path).where(ActivationFile.run_id == run)).all())
        labels = _frame(conn, select(Note.neuron_id, Note.label).where(Note.label.is_not(None), Note.neuron_id.is_not(None)))
        explanations = _frame(conn, select(Explanation.neuron_id, Explanation.formula, Explanation.iou)
                              .where(Explanation.run_id == run))
    form = dict(zip(tokens["row"], tokens["form"]))
    sentence_of = dict(zip(tokens["row"], tokens["sentence_id"]))
    span = {int(s.id): (int(s.first_row), int(s.n_tokens)) for s in sentences.itertuples()}
    stat = {int(s.neuron_id): (s.mean, s.std) for s in stats.itertuples()}
    columns: dict[int, Any] = {}
    count = 0
    for (nid, site, layer, unit, layer_id), rows in top.groupby(["neuron_id", "site", "layer", "unit", "layer_id"], sort=True):
        column = _column(db, files, columns, int(layer_id), int(unit))
        records = []
        for r in rows.itertuples():
            first, n = span.get(int(sentence_of.get(int(r.row), -1)), (int(r.row), 1))
            if column is None:
                first, n = int(r.row), 1
            words = [str(form.get(i, "")) for i in range(first, first + n)]
            values = ([float(v) for v in column[first:first + n]] if column is not None else [float(r.value)])
            records.append((words, values))
        path = root / (f"{site}/{layer}/{unit}.json" if fmt == "openai" else f"{layer}-{site}/{unit}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "openai":
            body = _openai(int(layer), int(unit), records, stat.get(int(nid)))
        else:
            descriptions = [("atlas-label", str(x)) for x in labels.loc[labels["neuron_id"] == nid, "label"]]
            descriptions += [("atlas-explanation", f"{e.formula} (iou {e.iou:.3f})")
                             for e in explanations[explanations["neuron_id"] == nid].itertuples()]
            body = _neuronpedia(model, int(layer), str(site), int(unit), records, descriptions)
        path.write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")
        count += 1
    return count


def _frame(conn: Any, q: Any) -> pd.DataFrame:
    result = conn.execute(q)
    return pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))


def _column(db: Any, files: dict[int, str], cache: dict[int, Any], layer_id: int, unit: int) -> np.ndarray | None:
    """The neuron's activations over the corpus, or None without a readable activation file."""
    if layer_id not in files:
        return None
    if layer_id not in cache:
        try:
            cache[layer_id] = db.store.open(files[layer_id])
        except AtlasError:
            cache[layer_id] = None
    arr = cache[layer_id]
    return None if arr is None else np.asarray(arr[:, unit], dtype=np.float64)


def _openai(layer: int, unit: int, records: list[tuple[list[str], list[float]]], stat: Any) -> dict[str, Any]:
    mean, std = stat if stat is not None else (None, None)
    return {
        "dataclass_name": "NeuronRecord",
        "neuron_id": {"dataclass_name": "NeuronId", "layer_index": layer, "neuron_index": unit},
        "random_sample": [],
        "random_sample_by_quantile": None,
        "quantile_boundaries": None,
        "mean": None if mean is None or pd.isna(mean) else float(mean),
        "variance": None if std is None or pd.isna(std) else float(std) ** 2,
        "skewness": None,
        "kurtosis": None,
        "most_positive_activation_records": [
            {"dataclass_name": "ActivationRecord", "tokens": words, "activations": values} for words, values in records],
    }


def _neuronpedia(model: str, layer: int, site: str, unit: int, records: list[tuple[list[str], list[float]]],
                 descriptions: list[tuple[str, str]]) -> dict[str, Any]:
    acts = []
    for words, values in records:
        best = int(np.argmax(values)) if values else 0
        acts.append({"tokens": words, "values": values, "maxValue": values[best] if values else None,
                     "maxValueTokenIndex": best})
    return {"modelId": model, "layer": f"{layer}-{site}", "index": str(unit), "activations": acts,
            "explanations": [{"description": d, "typeName": t} for t, d in descriptions]}


__all__ = ["RECORD_FORMATS", "write_records"]
