"""What a run records about how it was made: its config (whose hash identifies the run) and
its provenance (versions, code version, host, hook points).

Everything that influences the bytes a run writes is in the config: running the same command
again finds the run by the config's hash and resumes it.

Example::

    config = run_config(options, loaded, info, site_list, layer_list)
    run_hash = config_hash(config)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from atlas._version import __version__
from atlas.naming import layer_name, site

#: Bumped when a change to the extraction changes the bytes or the values a run records.
#: 3: CPU batches run one per core, single-threaded (compute_threads).
#: 4: statistics merge per-chunk partial sums in chunk order; a file's recorded checksum is the
#:    chunked sha256 of :mod:`atlas.extract.checksum` (not the sha256 of the whole file).
FORMAT_VERSION = "extract/4"


def versions() -> dict[str, str]:
    """The versions of what produced the bytes: python, torch, transformers, numpy, atlas."""
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "neuron_atlas": __version__,
    }


def code_version() -> str:
    """``0.1.0+g1a2b3c4`` (``.dirty`` when the extraction code has local changes), or the
    package version outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", str(here)], capture_output=True, text=True, timeout=5
        )
        if out.returncode == 0:
            return f"{__version__}+g{out.stdout.strip()}{'.dirty' if dirty.stdout.strip() else ''}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def run_config(options: Any, loaded: Any, corpus: Any, short: str, sites: Sequence[str], layers: Sequence[int]) -> dict[str, Any]:
    """The run's config: everything that influences the bytes written (and nothing else)."""
    return {
        "format": FORMAT_VERSION,
        "model": {
            "name": short,
            "source": loaded.source,
            "revision": loaded.revision,
            "random_init": options.random_init,
            "seed": options.seed,
        },
        "corpus": {"id": corpus.id, "name": corpus.name, "n_tokens": corpus.n_tokens, "sha256": corpus.sha256},
        "sites": list(sites),
        "layers": list(layers),
        "aggregation": options.aggregation,
        "dtype": options.dtype,
        "device": options.device.split(":", 1)[0],
        "batch_size": options.batch_size,
        "max_length": loaded.max_length,
        "overlap": options.overlap,
        "chunk_words": options.chunk_words,
        "top_k": options.top_k,
    }


def config_hash(config: dict[str, Any]) -> str:
    """The sha256 of the canonical JSON of ``config``: the run's identity."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def run_provenance(
    options: Any, loaded: Any, sites: Sequence[str], layers: Sequence[int], targets: Sequence[tuple[str, int]]
) -> dict[str, Any]:
    """How the run was made (recorded, not hashed): hook points, versions, host, command line."""
    return {
        "model_id": loaded.source,
        "revision": loaded.revision,
        "architecture": loaded.architecture,
        "family": loaded.family,
        "sites": list(sites),
        "layers": list(layers),
        "hook_points": {layer_name(s, i): loaded.adapter.hook_point(loaded.model, s, i) for s, i in targets},
        "activation": {s: site(s).activation for s in sites},
        "aggregation": options.aggregation,
        "dtype": options.dtype,
        "batch_size": options.batch_size,
        "device": options.device,
        "max_length": loaded.max_length,
        "versions": versions(),
        "code_version": code_version(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "argv": sys.argv,
    }
