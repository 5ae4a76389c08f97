"""Scoring methods: every neuron against every concept (METHODS.md).

* :mod:`atlas.methods.base` — the :class:`ScoreMethod` contract, :class:`MethodSpec`, the registry;
* :mod:`atlas.methods.stats` — per-neuron statistics, quantile thresholds, sufficient statistics;
* :mod:`atlas.methods.ranking` — vectorised average precision;
* :mod:`atlas.methods.corpus` — iou, precision, recall, mi, selectivity, meandiff, probeless, ap, ap_sentence;
* :mod:`atlas.methods.probe` — probe, control_selectivity;
* :mod:`atlas.methods.job` — ``score(db, run)``: reads the store, writes ``method`` + ``score`` rows;
* :mod:`atlas.methods.compute` — ``score_mask`` for composite concepts.

Example::

    >>> from atlas.methods import registry
    >>> sorted(m.name for m in registry.all())[:3]
    ['ap', 'ap_sentence', 'control_selectivity']
"""

from __future__ import annotations

from atlas.methods.base import MethodSpec, ScoreMethod, register_method

#: Methods ``score()`` runs when none are named: the corpus-based ones (probes are opt-in).
DEFAULT_METHODS = ("iou", "precision", "recall", "mi", "selectivity", "meandiff", "probeless", "ap", "ap_sentence")

#: The probing methods (expensive; restricted to named concepts and upos by default).
PROBE_METHODS = ("probe", "control_selectivity")

__all__ = ["DEFAULT_METHODS", "PROBE_METHODS", "MethodSpec", "ScoreMethod", "register_method"]
