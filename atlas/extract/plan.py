"""A run's plan: everything a worker needs to compute any chunk, as plain data.

:func:`plan_run` registers the model's rows, finds or creates the run (by its config hash),
allocates one float16 ``[n_words, width]`` file per target and returns a :class:`RunPlan`,
which :meth:`RunPlan.to_json` serialises: a worker in another process (or on another machine
with the same store and database) rebuilds the model from ``plan.model`` and computes chunks.

Example::

    plan = plan_run(db, ExtractOptions("builtin:all-minilm-l6-v2", corpus="pud"), loaded)
    plan.chunks[0], plan.files[0].path, plan.done
    RunPlan.from_json(plan.to_json()) == plan
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from atlas.extract.layout import CorpusInfo, chunk_bounds
from atlas.naming import layer_name
from atlas.store.context import AtlasContext


@dataclass(frozen=True)
class ModelSpec:
    """How to load the run's model again (:func:`atlas.extract.models.load_model`'s arguments)."""

    source: str
    revision: str | None
    dtype: str
    device: str
    random_init: bool
    seed: int
    max_length: int | None


@dataclass(frozen=True)
class FileSpec:
    """One activation file of the run: a (site, layer) target."""

    site: str
    layer: int
    layer_id: int
    path: str  # relative to the store root
    width: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.site, self.layer)

    @property
    def name(self) -> str:
        """``mlp.3``."""
        return layer_name(self.site, self.layer)


@dataclass(frozen=True)
class ChunkSpec:
    """Chunk ``index``: sentences ``[a, b)``, token rows ``[r0, r1)``."""

    index: int
    a: int
    b: int
    r0: int
    r1: int


@dataclass
class RunPlan:
    """A run's plan (see the module docstring); plain data, serialisable with :meth:`to_json`."""

    run_id: int
    status: str
    store_path: str
    corpus_id: int
    corpus_name: str
    n_words: int
    model: ModelSpec
    files: list[FileSpec]
    chunks: list[ChunkSpec]
    aggregation: str
    batch_size: int
    overlap: int | None
    max_length: int
    top_k: int
    done: list[int] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def targets(self) -> list[tuple[str, int]]:
        return [f.key for f in self.files]

    @property
    def todo(self) -> list[int]:
        """The chunks not recorded as done when the plan was made."""
        done = set(self.done)
        return [c.index for c in self.chunks if c.index not in done]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> RunPlan:
        d = json.loads(text)
        d["model"] = ModelSpec(**d["model"])
        d["files"] = [FileSpec(**f) for f in d["files"]]
        d["chunks"] = [ChunkSpec(**c) for c in d["chunks"]]
        return cls(**d)


def chunk_specs(info: CorpusInfo, chunk_words: int) -> list[ChunkSpec]:
    """The chunks of the corpus, each with its sentence and row range."""
    return [ChunkSpec(k, a, b, *info.rows(a, b)) for k, (a, b) in enumerate(chunk_bounds(info.n_words, chunk_words))]


def plan_run(db: AtlasContext, options: Any, loaded: Any, info: CorpusInfo) -> RunPlan:
    """Register the model, find or create the run, allocate its files: the run's :class:`RunPlan`.

    Args:
        db: an open atlas.
        options: the checked :class:`atlas.extract.options.ExtractOptions`.
        loaded: the loaded model (:func:`atlas.extract.models.load_model`).
        info: the corpus (:func:`atlas.extract.layout.load_corpus`).

    Raises:
        ExtractionError: bad layers, a short name taken by another model, a file that cannot
            be allocated.
    """
    from atlas.extract import bookkeeping
    from atlas.extract.catalog import register_model
    from atlas.extract.options import parse_layers, parse_sites, targets_of
    from atlas.extract.provenance import config_hash, run_config, run_provenance

    sites = parse_sites(options.sites)
    layers = parse_layers(options.layers, loaded.n_layers)
    short = options.short_name(loaded.source)
    targets = targets_of(sites, layers)
    config = run_config(options, loaded, info, short, sites, layers)
    provenance = run_provenance(options, loaded, sites, layers, targets)
    _model_id, layer_ids = register_model(db, loaded, short, options.random_init, options.seed, targets)
    run = bookkeeping.get_or_create_run(db, _model_id, info, config, config_hash(config), provenance)
    files = [
        FileSpec(s, i, layer_ids[(s, i)], db.store.layer_path(run.store_path, layer=i, site=s), loaded.adapter.width(loaded.config, s))
        for s, i in targets
    ]
    plan = RunPlan(
        run_id=int(run.id),
        status=str(run.status),
        store_path=str(run.store_path),
        corpus_id=info.id,
        corpus_name=info.name,
        n_words=info.n_tokens,
        model=ModelSpec(
            options.model, options.revision, options.dtype, options.device, options.random_init, options.seed, options.max_length
        ),
        files=files,
        chunks=chunk_specs(info, options.chunk_words),
        aggregation=options.aggregation,
        batch_size=options.batch_size,
        overlap=options.overlap,
        max_length=int(loaded.max_length),
        top_k=options.top_k,
        provenance=provenance,
    )
    if plan.status != "done":
        plan.done = bookkeeping.open_files(db, plan)
    return plan
