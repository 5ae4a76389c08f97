"""Scoring methods: every neuron against every concept (METHODS.md).

* :mod:`atlas.methods.base` — the :class:`~atlas.methods.base.ScoreMethod` contract,
  :class:`~atlas.methods.base.MethodSpec` and ``register_method`` (imports no method);
* :mod:`atlas.methods.registry` — the one list of methods: ``get``, ``all``, ``select`` (by tag),
  built-ins and ``atlas.methods`` entry-point plug-ins;
* :mod:`atlas.methods.stats` — per-neuron statistics, quantile thresholds, sufficient statistics;
* :mod:`atlas.methods.ranking` — vectorised average precision;
* :mod:`atlas.methods.device` — ``score(..., device="cuda")``: the matrix products and AP sorts in torch;
* :mod:`atlas.methods.corpus` — iou, precision, recall, mi, selectivity, meandiff, probeless, ap, ap_sentence;
* :mod:`atlas.methods.probe` — probe, control_selectivity;
* :mod:`atlas.methods.causal` — ablation, ablation_loss, ablation_embedding, attribution
  (declared here, computed by :mod:`atlas.causal`);
* :mod:`atlas.methods.causal` — ablation, ablation_loss, ablation_embedding, attribution
  (declared here, computed by :mod:`atlas.causal`);
* :mod:`atlas.methods.job` — ``score(db, run)``: reads the store, writes ``method`` + ``score`` rows;
* :mod:`atlas.methods.compute` — ``score_mask`` for composite concepts.

The package itself re-exports nothing (import the module you need), so importing one of its
modules never runs another.

Example::

    >>> from atlas.methods import registry
    >>> sorted(m.name for m in registry.select(kind="concept"))[:3]
    ['ap', 'ap_sentence', 'control_selectivity']
    >>> [m.name for m in registry.select(default=True)][:3]
    ['iou', 'precision', 'recall']
"""
