"""One method's values for chosen neurons against an arbitrary word mask.

The query language calls :func:`score_mask` for composite concepts (``iou(noun and not
plural)``): the mask comes from area A's ``evaluate_formula``, the neurons from the query, and
only those neurons' columns of the activation files are read.

Example::

    mask = evaluate_formula(db, corpus_id, "noun and not plural")
    values = score_mask(db, run_id, [101, 102, 103], mask, "iou")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sqlalchemy import select

from atlas.errors import MethodError
from atlas.methods import registry
from atlas.store.tables import ActivationFile, Neuron, Run, Sentence


def _sentence_index(db: Any, corpus_id: int, n_words: int) -> np.ndarray:
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(Sentence.first_row, Sentence.n_tokens).where(Sentence.corpus_id == corpus_id).order_by(Sentence.index)
        ).all()
    out = np.full(n_words, -1, np.int64)
    for i, (first, n) in enumerate(rows):
        out[first : first + n] = i
    return out


def score_mask(
    db: Any, run_id: int, neuron_ids: list[int], mask: np.ndarray, method: str, params: Mapping[str, Any] | None = None
) -> np.ndarray:
    """The value of ``method`` for each neuron (``neuron.id``) against the word mask ``mask``.

    Thresholds and statistics come from each neuron's whole column, so the values equal what
    :func:`atlas.methods.job.score` stores for a concept with that mask and the same parameters
    (``params`` overrides the method's defaults, as ``atlas score --param`` does: ``{"alpha":
    0.05}``; ``iou[alpha=0.05](noun and not plural)`` in a query).

    Args:
        db: an :class:`atlas.Atlas`.
        run_id: the run whose activations to read.
        neuron_ids: neuron ids (any order, any layers of the run).
        mask: bool ``[n_words]`` of the run's corpus.
        method: a corpus-based method name (``iou``, ``ap``, ``selectivity``, ...).
        params: parameter overrides (unknown names raise :class:`MethodError`).

    Returns:
        float64 ``[len(neuron_ids)]`` in the order of ``neuron_ids`` (NaN where undefined).

    Raises:
        MethodError: unknown or probing method, wrong mask length, neurons not in the run.

    Example::

        >>> score_mask(db, 1, [5, 9], np.array([True, False, ...]), "iou")  # doctest: +SKIP
        array([0.31, 0.02])
    """
    spec = registry.get(method)
    if spec.family != "corpus" or spec.kind != "concept":
        raise MethodError(
            f"{method!r} cannot be computed for a composite concept at query time",
            hint="probes are trained by 'atlas score --methods probe'; use a corpus method such as iou or selectivity",
        )
    chosen = spec.params(params)  # checked before anything is read
    mask = np.asarray(mask, bool).ravel()
    ids = np.asarray(list(neuron_ids), np.int64)
    with db.engine.connect() as conn:
        run = conn.execute(select(Run.id, Run.corpus_id, Run.n_words).where(Run.id == run_id)).first()
        if run is None:
            raise MethodError(f"there is no run {run_id}")
        rows = conn.execute(select(Neuron.id, Neuron.layer_id, Neuron.unit).where(Neuron.id.in_(ids.tolist()))).all()
        files = dict(
            conn.execute(
                select(ActivationFile.layer_id, ActivationFile.path).where(ActivationFile.run_id == run_id)
            ).all()
        )
    out = np.full(ids.shape[0], np.nan)
    if ids.size == 0:
        return out
    found = {r[0]: (r[1], r[2]) for r in rows}
    missing = [int(i) for i in ids if int(i) not in found or found[int(i)][0] not in files]
    if missing:
        raise MethodError(f"neurons {missing[:5]} are not in run {run_id}", hint="pass neuron ids of the run's model")
    layer_of = np.array([found[int(i)][0] for i in ids])
    unit_of = np.array([found[int(i)][1] for i in ids])
    context: dict[str, Any] = {}
    for layer_id in np.unique(layer_of):
        arr = db.store.open(files[int(layer_id)])
        if arr.shape[0] != mask.shape[0]:
            raise MethodError(
                f"the mask has {mask.shape[0]} words but run {run_id} has {arr.shape[0]}",
                hint="evaluate the concept formula on the run's corpus",
            )
        if "sentence_index" in spec.needs and "sentence_index" not in context:
            context["sentence_index"] = _sentence_index(db, run[1], arr.shape[0])
        where = np.flatnonzero(layer_of == layer_id)
        units = unit_of[where]
        uniq, inverse = np.unique(units, return_inverse=True)
        X = np.asarray(arr[:, uniq])
        est = spec.make(chosen).fit(X, mask[:, None], **context)
        out[where] = np.asarray(est.scores_)[inverse, 0]
    return out
