"""Extraction: run a transformers model over a stored corpus and record every unit on every word.

The only package (with causal methods) that imports torch and transformers; importing it (or
:mod:`atlas.extract.options`, :mod:`atlas.extract.runs`) does not.

* :mod:`atlas.extract.options` — options: sites, layers, short names (no torch)
* :mod:`atlas.extract.adapters` — one adapter per architecture family (where the units are);
  more through the ``atlas.adapters`` entry point group
* :mod:`atlas.extract.models` — loading models and tokenizers, random init, revisions
* :mod:`atlas.extract.runner` — :class:`ModelRunner`: hooks, batched forward, interventions
* :mod:`atlas.extract.align` — words vs subwords, windows over long sentences, aggregation
* :mod:`atlas.extract.layout` — the corpus' sentences and chunks
* :mod:`atlas.extract.catalog` — model, layer and neuron rows
* :mod:`atlas.extract.provenance` — the run's config (its identity) and provenance
* :mod:`atlas.extract.plan` — :func:`plan_run`: the run's serialisable plan
* :mod:`atlas.extract.pipeline` — one chunk: compute, write, digest, summarise (:func:`run_chunk`)
* :mod:`atlas.extract.executor` — who runs the chunks (:class:`LocalExecutor`, ...)
* :mod:`atlas.extract.ray_executor` — :class:`RayExecutor`: chunks as Ray Data blocks on model actors
* :mod:`atlas.extract.device` — the GPU path: rows and statistics on the device, pinned copies
* :mod:`atlas.extract.stats` — per-neuron statistics and top-k, per chunk, merged exactly
* :mod:`atlas.extract.checksum` — file checksums that merge chunk by chunk
* :mod:`atlas.extract.merge` — :func:`finalize_run`
* :mod:`atlas.extract.bookkeeping` — the run's rows
* :mod:`atlas.extract.runs` — :func:`resolve_run`, :func:`list_runs`, :func:`show_run` (no torch)
* :mod:`atlas.extract.job` — :func:`extract`: the resumable job

Example::

    import atlas
    db = atlas.connect("sqlite:///lab.db")
    run_id = db.extract("builtin:all-minilm-l6-v2", corpus="pud", name="minilm")
"""

from __future__ import annotations

import importlib

#: public name -> the module that defines it (imported on first use: no torch here)
_EXPORTS = {
    "extract": "atlas.extract.job",
    "execute": "atlas.extract.job",
    "resolve_run": "atlas.extract.runs",
    "list_runs": "atlas.extract.runs",
    "show_run": "atlas.extract.runs",
    "parse_sites": "atlas.extract.options",
    "parse_layers": "atlas.extract.options",
    "default_name": "atlas.extract.options",
    "ExtractOptions": "atlas.extract.options",
    "DEFAULT_CHUNK_WORDS": "atlas.extract.options",
    "TOP_K": "atlas.extract.options",
    "plan_run": "atlas.extract.plan",
    "RunPlan": "atlas.extract.plan",
    "run_chunk": "atlas.extract.pipeline",
    "ChunkResult": "atlas.extract.pipeline",
    "finalize_run": "atlas.extract.merge",
    "Executor": "atlas.extract.executor",
    "LocalExecutor": "atlas.extract.executor",
    "SerialExecutor": "atlas.extract.executor",
    "RayExecutor": "atlas.extract.ray_executor",
    "make_executor": "atlas.extract.executor",
    "ModelRunner": "atlas.extract.runner",
    "Intervention": "atlas.extract.runner",
    "register_adapter": "atlas.extract.adapters",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    # Lazy: importing atlas.extract must not import torch.
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'atlas.extract' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
