"""Extraction: run a transformers model over a stored corpus and record every unit on every word.

The only package (with causal methods) that imports torch and transformers.

* :mod:`atlas.extract.adapters` — one adapter per architecture family (where the units are)
* :mod:`atlas.extract.align` — words vs subwords, windows over long sentences, aggregation
* :mod:`atlas.extract.models` — loading models and tokenizers, random init, revisions
* :mod:`atlas.extract.stats` — per-neuron statistics and top-k, streamed chunk by chunk
* :mod:`atlas.extract.job` — the resumable job, provenance, :func:`resolve_run`
* :mod:`atlas.extract.cli` — ``atlas extract`` and ``atlas run list|show``

Example::

    import atlas
    db = atlas.connect("sqlite:///lab.db")
    run_id = db.extract("builtin:all-minilm-l6-v2", corpus="pud", name="minilm")
"""

from __future__ import annotations

__all__ = ["extract", "resolve_run"]


def __getattr__(name: str) -> object:
    # Lazy: importing atlas.extract must not import torch.
    if name in __all__:
        from atlas.extract import job

        return getattr(job, name)
    raise AttributeError(name)
