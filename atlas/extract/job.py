"""The extraction job: a model over a stored corpus, every unit on every word, resumable.

Flow of :func:`extract`::

    validate options ─► corpus (sentences) ─► load model ─► register model, layers, neurons
        ─► find or create the run by config hash ─► allocate one float16 [n_words, width] file
           per (layer, site) ─► for each chunk, in order:
               done by an earlier process: (writer lanes) read its rows back
               not yet done: (main) tokenize, window, batch by length
                   ─► (compute threads) forward with hooks (inference_mode)
                       ─► word vectors into the chunk's buffers
                   ─► (writer lanes) write the chunk's rows to every file, fdatasync
               ─► (writer lanes) feed the rows to the sha256s and the streamed statistics
                   (see :mod:`atlas.extract.stats`)
               ─► once written: ONE transaction: run_chunk row + run.rows_done
        ─► ONE transaction: neuron_stat, top_activation, file sha256s, run.status = "done"

**Threads.** On a CPU the batches run data-parallel: one compute thread per core torch would
use, each running whole forward passes on one core (torch's intra-op threads are set to 1 for
the job and restored after). On the 2-core reference machine that is about 1.07x faster than
splitting every operation over both cores (same batches: 5,500-5,800 against 5,200-5,400
words/s), and a batch's bytes no longer depend on the core count. The hooks are shared; what a hook writes to is per thread (:class:`_Capture`). The main
thread plans chunk ``k + 1`` and queues its batches behind chunk ``k``'s, so no compute thread
waits at a chunk boundary. On an accelerator there is one compute thread.

**Writer lanes.** Each file belongs to one single-thread lane (as many lanes as compute
threads, files spread by size), which takes its chunks in order: it writes and syncs chunk
``k`` (whole pages with ``O_DIRECT``, see :class:`atlas.store.activations.RowWriter`), hashes
it and adds it to the statistics while later chunks are computed; a chunk is recorded in the
database (main thread) only after every lane has synced it. Statistics and sha256s need no
final pass over the files: they are accumulated from the same bytes the files hold. Chunk
buffers are reused once written (a fresh 45 MB buffer costs a page fault per 4 KiB).

**Resume.** The corpus is cut into chunks of whole sentences (about ``chunk_words`` words),
deterministically from the config. Everything that influences the bytes written is in the
config hash (model source, revision and short name, corpus id, size and sha256, sites, layers,
aggregation, dtype, device type, batch size, window, overlap, seed, random init, chunk size),
so running the same command again finds the run and skips the chunks it recorded. A chunk that
was written but not recorded is recomputed and overwritten with the same bytes. Kill -9 at any
moment and rerun: the files are byte-identical to an uninterrupted run's, and so are the
statistics (the chunks done earlier are read back and fed in chunk order).

Example::

    run_id = extract(db, "builtin:all-minilm-l6-v2", corpus="pud", name="minilm")
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from atlas.errors import AtlasError, ExtractionError, did_you_mean
from atlas.store.bulk import bulk_insert
from atlas.store.runs import find_run
from atlas.store.tables import (
    SITES,
    ActivationFile,
    Corpus,
    Layer,
    Model,
    Neuron,
    NeuronStat,
    Run,
    RunChunk,
    Sentence,
    Token,
    TopActivation,
)

#: Bumped when a change to this module changes the bytes a run writes.
FORMAT_VERSION = "extract/3"  # 3: CPU batches run one per core, single-threaded (compute_threads)
TOP_K = 20
DEFAULT_CHUNK_WORDS = 2048
#: On a CPU, the cost of one more forward pass in padded tokens (see ``split_batches``); on
#: an accelerator batches stay at ``batch_size`` windows.
CPU_BATCH_COST = 64.0
#: Write, hash and add up chunk k in writer threads while later chunks are computed (off: in
#: the main thread, one chunk at a time; the tests compare both).
PIPELINE = True


# -- options -----------------------------------------------------------------------------------
def parse_sites(sites: str | Sequence[str]) -> tuple[str, ...]:
    """``"mlp,resid"`` or ``["mlp", "resid"]`` -> ``("mlp", "resid")`` in canonical order.

    >>> parse_sites("resid,mlp")
    ('mlp', 'resid')
    """
    items = [s.strip() for s in (sites.split(",") if isinstance(sites, str) else sites) if s.strip()]
    if not items:
        raise ExtractionError("no site given", hint="use --sites mlp,resid (also: embed)")
    for s in items:
        if s not in SITES:
            hint = did_you_mean(s, SITES) or f"sites are {', '.join(SITES)}"
            raise ExtractionError(f"unknown site {s!r}", hint=hint)
    return tuple(s for s in SITES if s in items)


def parse_layers(layers: str | Sequence[int] | None, n_layers: int) -> tuple[int, ...]:
    """``None``/``"all"`` -> every block; ``"0-5"``, ``"1,3"``, ``[0, 2]`` as given (sorted).

    >>> parse_layers("0-2,5", 6)
    (0, 1, 2, 5)
    """
    if layers is None or (isinstance(layers, str) and layers.strip().lower() in ("", "all")):
        return tuple(range(n_layers))
    out: set[int] = set()
    if isinstance(layers, str):
        for part in layers.split(","):
            part = part.strip()
            try:
                if "-" in part:
                    a, b = part.split("-", 1)
                    out.update(range(int(a), int(b) + 1))
                else:
                    out.add(int(part))
            except ValueError as exc:
                raise ExtractionError(
                    f"cannot read the layer list {layers!r}", hint="write e.g. --layers 0-5 or --layers 1,3,5"
                ) from exc
    else:
        out.update(int(x) for x in layers)
    bad = sorted(x for x in out if not 0 <= x < n_layers)
    if bad or not out:
        raise ExtractionError(
            f"layer {bad[0] if bad else layers!r} does not exist: the model has blocks 0-{n_layers - 1}",
            hint=f"use --layers 0-{n_layers - 1}",
        )
    return tuple(sorted(out))


def default_name(source: str) -> str:
    """The short name a model gets without ``--as``: ``minilm`` for the built-in model, else
    the last part of the id or folder, lower-cased."""
    from atlas.extract.models import builtin_model_path

    try:
        if Path(source).resolve() == builtin_model_path().resolve():
            return "minilm"
    except (AtlasError, OSError):
        pass
    base = Path(source.rstrip("/")).name or source
    return base.lower()


# -- corpus ------------------------------------------------------------------------------------
@dataclass
class CorpusInfo:
    id: int
    name: str
    n_tokens: int
    sha256: str | None
    first_row: np.ndarray  # [n_sentences]
    n_words: np.ndarray  # [n_sentences]


def load_corpus(db: Any, name: str) -> CorpusInfo:
    """The corpus row and its sentence layout; checks that sentences tile rows 0..n-1."""
    with db.engine.connect() as conn:
        row = conn.execute(select(Corpus.id, Corpus.name, Corpus.n_tokens, Corpus.sha256).where(Corpus.name == name)).first()
        if row is None:
            names = conn.execute(select(Corpus.name)).scalars().all()
            hint = did_you_mean(name, names) or (
                f"stored corpora: {', '.join(names)}" if names else "add one first: atlas corpus add NAME FILE"
            )
            raise ExtractionError(f"no corpus named {name!r}", hint=hint)
        sents = conn.execute(
            select(Sentence.first_row, Sentence.n_tokens).where(Sentence.corpus_id == row.id).order_by(Sentence.index)
        ).all()
        n_rows = conn.execute(select(func.count()).select_from(Token).where(Token.corpus_id == row.id)).scalar_one()
    first = np.array([s[0] for s in sents], dtype=np.int64)
    sizes = np.array([s[1] for s in sents], dtype=np.int64)
    expected = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else first
    if not np.array_equal(first, expected) or int(sizes.sum()) != n_rows:
        raise ExtractionError(
            f"corpus {name!r} is inconsistent: its sentences do not cover token rows 0..{n_rows - 1}",
            hint="store it again with atlas corpus add --replace",
        )
    if n_rows == 0:
        raise ExtractionError(f"corpus {name!r} has no words", hint="store a corpus with at least one sentence")
    return CorpusInfo(row.id, row.name, int(n_rows), row.sha256, first, sizes)


def chunk_bounds(n_words: np.ndarray, chunk_words: int) -> list[tuple[int, int]]:
    """Sentence ranges ``[a, b)`` of about ``chunk_words`` words each (whole sentences).

    >>> chunk_bounds(np.array([3, 3, 3, 3]), 5)
    [(0, 2), (2, 4)]
    """
    out: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i, n in enumerate(n_words.tolist()):
        acc += n
        if acc >= chunk_words:
            out.append((start, i + 1))
            start, acc = i + 1, 0
    if start < len(n_words):
        out.append((start, len(n_words)))
    return out


def _chunk_sentences(conn: Connection, corpus: CorpusInfo, a: int, b: int) -> list[list[str]]:
    r0 = int(corpus.first_row[a])
    r1 = int(corpus.first_row[b - 1] + corpus.n_words[b - 1])
    forms = conn.execute(
        select(Token.form).where(Token.corpus_id == corpus.id, Token.row >= r0, Token.row < r1).order_by(Token.row)
    ).scalars().all()
    if len(forms) != r1 - r0:
        raise ExtractionError(f"corpus {corpus.name!r} is missing token rows in {r0}..{r1 - 1}")
    out: list[list[str]] = []
    for s in range(a, b):
        o = int(corpus.first_row[s]) - r0
        out.append(list(forms[o : o + int(corpus.n_words[s])]))
    return out


# -- registration ------------------------------------------------------------------------------
def _register_model(db: Any, loaded: Any, name: str, random_init: bool, seed: int, targets: list[tuple[str, int]]) -> tuple[int, dict[tuple[str, int], int]]:
    """Get or create the model row and the layer and neuron rows of ``targets``; ``(model id, layer ids)``."""
    config_dict = loaded.config.to_dict()
    config_hash = hashlib.sha256(json.dumps(config_dict, sort_keys=True, default=str).encode()).hexdigest()
    revision = loaded.revision if not random_init else f"random-init:seed={seed}:{loaded.revision}"
    with db.write() as conn:
        row = conn.execute(select(Model.__table__).where(Model.name == name)).first()
        if row is not None:
            if row.source != loaded.source or row.revision != revision or bool(row.random_init) != random_init:
                raise ExtractionError(
                    f"the name {name!r} already belongs to {row.source} (revision {row.revision})",
                    hint="choose another short name with --as",
                )
            model_id = row.id
        else:
            parent_id = None
            if random_init:
                base = name[: -len("-random")] if name.endswith("-random") else name
                parent_id = conn.execute(
                    select(Model.id).where(Model.name == base, Model.random_init.is_(False))
                ).scalar()
            model_id = conn.execute(
                Model.__table__.insert().values(
                    name=name,
                    source=loaded.source,
                    revision=revision,
                    architecture=loaded.architecture,
                    family=loaded.family,
                    n_layers=loaded.n_layers,
                    d_model=loaded.d_model,
                    d_mlp=loaded.d_mlp,
                    random_init=random_init,
                    parent_id=parent_id,
                    config_hash=config_hash,
                    config=json.loads(json.dumps(config_dict, default=str)),
                    created_at=dt.datetime.now(dt.timezone.utc),
                )
            ).inserted_primary_key[0]
        existing = {
            (r.site, r.index): r.id
            for r in conn.execute(select(Layer.id, Layer.site, Layer.index).where(Layer.model_id == model_id))
        }
        from atlas.extract.adapters import SITE_ACTIVATION

        for site, index in targets:
            if (site, index) in existing:
                continue
            width = loaded.adapter.width(loaded.config, site)
            layer_id = conn.execute(
                Layer.__table__.insert().values(
                    model_id=model_id,
                    index=index,
                    site=site,
                    width=width,
                    hook_point=loaded.adapter.hook_point(loaded.model, site, index),
                    activation=SITE_ACTIVATION[site],
                )
            ).inserted_primary_key[0]
            bulk_insert(
                conn,
                Neuron.__table__,
                {
                    "layer_id": np.full(width, layer_id, dtype=np.int64),
                    "model_id": np.full(width, model_id, dtype=np.int64),
                    "site": [site] * width,
                    "layer": np.full(width, index, dtype=np.int64),
                    "unit": np.arange(width, dtype=np.int64),
                },
            )
            existing[(site, index)] = layer_id
    return int(model_id), {t: int(existing[t]) for t in targets}


def _versions() -> dict[str, str]:
    import torch
    import transformers

    import atlas

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "neuron_atlas": atlas.__version__,
    }


def _code_version() -> str:
    import atlas

    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", str(here)], capture_output=True, text=True, timeout=5
        )
        if out.returncode == 0:
            return f"{atlas.__version__}+g{out.stdout.strip()}{'.dirty' if dirty.stdout.strip() else ''}"
    except (OSError, subprocess.SubprocessError):
        pass
    return atlas.__version__


# -- the run -----------------------------------------------------------------------------------
def _get_or_create_run(
    db: Any, model_id: int, corpus: CorpusInfo, config: dict[str, Any], config_hash: str, provenance: dict[str, Any]
) -> Any:
    for _attempt in range(2):
        with db.write() as conn:
            run = conn.execute(select(Run.__table__).where(Run.config_hash == config_hash)).first()
            if run is not None:
                return run
            try:
                with conn.begin_nested():
                    conn.execute(
                        Run.__table__.insert().values(
                            model_id=model_id,
                            corpus_id=corpus.id,
                            config_hash=config_hash,
                            config=config,
                            status="pending",
                            store_path="",
                            n_words=corpus.n_tokens,
                            rows_done=0,
                            provenance=provenance,
                            created_at=dt.datetime.now(dt.timezone.utc),
                        )
                    )
            except IntegrityError:
                continue
            from atlas.store.activations import ActivationStore

            run_id = conn.execute(select(Run.id).where(Run.config_hash == config_hash)).scalar_one()
            path = ActivationStore.run_dir(run_id, config_hash)
            conn.execute(update(Run).where(Run.id == run_id).values(store_path=path))
            return conn.execute(select(Run.__table__).where(Run.id == run_id)).one()
    raise ExtractionError("could not create the run row (a concurrent job keeps creating it)")


def compute_threads(dev: Any) -> int:
    """Forward passes run at once: one per core torch would use on a CPU, one on an accelerator."""
    import torch

    return max(1, torch.get_num_threads()) if dev.type == "cpu" else 1


class _Inline:
    """The writer used when :data:`PIPELINE` is off: runs each job at once, in this thread."""

    def submit(self, fn: Any, *args: Any) -> Any:
        from concurrent.futures import Future

        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class _Stop(Exception):
    """Raised by the deepest hook: the rest of the forward pass is not needed."""


class _Capture:
    """Forward hooks that turn subword activations into word rows of a chunk buffer.

    The hooks are registered once on the shared model; what a hook writes to (the batch being
    run and its chunk's buffers) is per thread, so several compute threads can run batches of
    the same model at once.
    """

    def __init__(self, aggregation: str) -> None:
        import threading

        self.aggregation = aggregation
        self.local = threading.local()
        self.last: tuple[str, int] | None = None

    def run(self, runner: Any, dev: Any, batch: Any, views: dict[tuple[str, int], Any]) -> None:
        """One forward pass of ``batch`` whose word rows land in ``views`` (this thread)."""
        import torch

        self.local.batch, self.local.views = batch, views
        try:
            with torch.inference_mode():
                runner(input_ids=batch.input_ids.to(dev), attention_mask=batch.attention_mask.to(dev))
        except _Stop:
            pass
        finally:
            self.local.batch = self.local.views = None

    def sink(self, key: tuple[str, int]) -> Any:
        import torch

        from atlas.extract.align import aggregate

        def _sink(hidden: torch.Tensor) -> None:
            batch = self.local.batch
            vec = aggregate(hidden, batch, self.aggregation).to(torch.float16).cpu()
            rows = batch.extra.get("rows_t")
            if rows is None:
                rows = batch.extra["rows_t"] = torch.from_numpy(batch.rows)
            # one scatter of the word rows into the chunk buffer (a torch view of its memory)
            self.local.views[key].index_copy_(0, rows, vec)
            if key == self.last:
                raise _Stop

        return _sink


def extract(
    db: Any,
    model: str,
    *,
    corpus: str,
    name: str | None = None,
    sites: str | Sequence[str] = ("mlp", "resid"),
    layers: str | Sequence[int] | None = None,
    aggregation: str = "mean",
    batch_size: int = 32,
    device: str = "cpu",
    dtype: str = "float32",
    random_init: bool = False,
    seed: int = 0,
    progress: bool = True,
    revision: str | None = None,
    max_length: int | None = None,
    overlap: int | None = None,
    chunk_words: int = DEFAULT_CHUNK_WORDS,
    top_k: int = TOP_K,
) -> int:
    """Extract word-level activations of every unit of ``model`` over ``corpus``; returns the run id.

    Args:
        db: an :class:`atlas.Atlas`.
        model: a Hugging Face id, a local folder, or ``builtin:all-minilm-l6-v2``.
        corpus: the stored corpus' name.
        name: the model's short name in queries (default: from the id or folder);
            ``NAME-random`` when ``random_init``.
        sites: ``mlp``, ``resid``, ``embed`` (comma-separated or a list).
        layers: blocks to capture (``"0-5"``, ``[1, 3]``; default all).
        aggregation: subwords to word: ``mean``, ``first`` or ``last``.
        batch_size: windows per forward pass (at most; on a CPU, batches are cut where padding would
            cost more than a forward pass, see :func:`atlas.extract.align.split_batches`).
        device: ``cpu`` or ``cuda``.
        dtype: model dtype: ``float32``, ``bfloat16``, ``float16`` (arrays are float16 always).
        random_init: fresh weights of the same architecture, seeded by ``seed``.
        progress: show a progress bar (stderr).
        revision: a hub revision for hub ids.
        max_length: cap the model window (tokens); longer sentences are windowed.
        overlap: subwords shared by consecutive windows (default: half a window).
        chunk_words: words per resumable chunk.
        top_k: top-activating words kept per neuron.

    Raises:
        ExtractionError: bad options, unknown corpus, a model that will not load, an
            unsupported architecture, a short name taken by another model.

    Example::

        >>> run_id = extract(db, "builtin:all-minilm-l6-v2", corpus="pud", name="minilm")  # doctest: +SKIP
    """
    from atlas.extract.align import AGGREGATIONS
    from atlas.extract.models import DTYPES, check_device, load_model, resolve_source

    site_list = parse_sites(sites)
    if aggregation not in AGGREGATIONS:
        raise ExtractionError(f"unknown aggregation {aggregation!r}", hint="use --aggregation mean, first or last")
    if batch_size < 1:
        raise ExtractionError(f"--batch-size must be at least 1, not {batch_size}")
    if chunk_words < 1:
        raise ExtractionError(f"chunk_words must be at least 1, not {chunk_words}")
    if dtype not in DTYPES:
        raise ExtractionError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    check_device(device)
    resolve_source(model)
    info = load_corpus(db, corpus)

    loaded = load_model(
        model, revision=revision, dtype=dtype, device=device, random_init=random_init, seed=seed, max_length=max_length
    )
    layer_list = parse_layers(layers, loaded.n_layers)
    short = name or default_name(loaded.source)
    if random_init and not short.endswith("-random"):
        short = f"{short}-random"
    targets = [(s, i) for i in layer_list for s in site_list if s != "embed"]
    if "embed" in site_list:
        targets.insert(0, ("embed", 0))
    chunks = chunk_bounds(info.n_words, chunk_words)
    config = {
        "format": FORMAT_VERSION,
        "model": {"name": short, "source": loaded.source, "revision": loaded.revision, "random_init": random_init, "seed": seed},
        "corpus": {"id": info.id, "name": info.name, "n_tokens": info.n_tokens, "sha256": info.sha256},
        "sites": list(site_list),
        "layers": list(layer_list),
        "aggregation": aggregation,
        "dtype": dtype,
        "device": device.split(":", 1)[0],
        "batch_size": batch_size,
        "max_length": loaded.max_length,
        "overlap": overlap,
        "chunk_words": chunk_words,
        "top_k": top_k,
    }
    config_hash = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    model_id, layer_ids = _register_model(db, loaded, short, random_init, seed, targets)
    hook_points = {f"{s}.{i}": loaded.adapter.hook_point(loaded.model, s, i) for s, i in targets}
    provenance: dict[str, Any] = {
        "model_id": loaded.source,
        "revision": loaded.revision,
        "architecture": loaded.architecture,
        "family": loaded.family,
        "sites": list(site_list),
        "layers": list(layer_list),
        "hook_points": hook_points,
        "activation": {s: ("post-activation (input of the MLP down-projection)" if s == "mlp" else "residual stream") for s in site_list},
        "aggregation": aggregation,
        "dtype": dtype,
        "batch_size": batch_size,
        "device": device,
        "max_length": loaded.max_length,
        "versions": _versions(),
        "code_version": _code_version(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "argv": sys.argv,
    }
    run = _get_or_create_run(db, model_id, info, config, config_hash, provenance)
    if run.status == "done":
        return int(run.id)
    return _execute(db, run.id, run.store_path, loaded, info, chunks, targets, layer_ids, aggregation, batch_size, overlap, top_k, progress, provenance)


def _execute(
    db: Any,
    run_id: int,
    store_path: str,
    loaded: Any,
    info: CorpusInfo,
    chunks: list[tuple[int, int]],
    targets: list[tuple[str, int]],
    layer_ids: dict[tuple[str, int], int],
    aggregation: str,
    batch_size: int,
    overlap: int | None,
    top_k: int,
    progress: bool,
    provenance: dict[str, Any],
) -> int:
    import torch
    from tqdm import tqdm

    from atlas.extract.adapters import attach
    from atlas.extract.align import plan_batches

    store = db.store
    files: dict[tuple[str, int], str] = {}
    widths: dict[tuple[str, int], int] = {}
    for site, index in targets:
        rel = store.layer_path(store_path, layer=index, site=site)
        width = loaded.adapter.width(loaded.config, site)
        try:
            store.allocate(rel, n_rows=info.n_tokens, width=width)
        except ValueError as exc:
            raise ExtractionError(str(exc), hint="remove the run's folder and run again") from exc
        files[(site, index)] = rel
        widths[(site, index)] = width
    now = dt.datetime.now(dt.timezone.utc)
    with db.write() as conn:
        present = set(conn.execute(select(ActivationFile.layer_id).where(ActivationFile.run_id == run_id)).scalars())
        for key, rel in files.items():
            if layer_ids[key] not in present:
                conn.execute(
                    ActivationFile.__table__.insert().values(
                        run_id=run_id, layer_id=layer_ids[key], path=rel, n_rows=info.n_tokens, width=widths[key], dtype="float16"
                    )
                )
        done = set(conn.execute(select(RunChunk.chunk).where(RunChunk.run_id == run_id)).scalars())
        rows_done = conn.execute(select(Run.rows_done, Run.started_at).where(Run.id == run_id)).one()
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status="running", error=None, started_at=rows_done.started_at or now, provenance=provenance)
        )
    todo = [k for k in range(len(chunks)) if k not in done]
    capture = _Capture(aggregation)
    order = sorted(targets, key=lambda t: (t[1], {"embed": 0, "mlp": 1, "resid": 2}[t[0]]))
    capture.last = order[-1]
    handles = [attach(loaded.model, loaded.adapter, s, i, capture.sink((s, i))) for s, i in targets]
    runner = loaded.adapter.runner(loaded.model)
    dev = next(loaded.model.parameters()).device
    from concurrent.futures import Future, ThreadPoolExecutor

    from atlas.extract.stats import StreamStats

    from atlas.store.activations import RowWriter, npy_header_size, read_rows

    offsets = {key: npy_header_size(store.path(rel)) for key, rel in files.items()}
    writers = {key: RowWriter(store.path(rel), offset=offsets[key], width=widths[key]) for key, rel in files.items()}
    # Statistics and sha256s accumulate chunk by chunk, in chunk order, from the float16 rows
    # as stored: a chunk computed here from its buffer, a chunk done by an earlier process from
    # its rows read back (same bytes, same partials). No final pass over the files.
    accs = {key: StreamStats(widths[key], info.n_tokens, top_k) for key in targets}
    hashers = {}
    for key, rel in files.items():
        with open(store.path(rel), "rb") as fh:
            hashers[key] = hashlib.sha256(fh.read(offsets[key]))

    results: dict[tuple[str, int], Any] = {}

    def absorb_keys(keys: list[tuple[str, int]], r0: int, r1: int, buffers: dict[tuple[str, int], np.ndarray] | None) -> None:
        """One writer lane, one chunk at a time in chunk order: write + fsync a computed chunk
        (``buffers``) or read a stored one back, then feed the hashes and the statistics of
        the lane's files; after the last rows, the file's statistics are final."""
        for key in keys:
            if buffers is not None:
                block = buffers[key]
                writers[key].write(block, r0)
            else:
                block = read_rows(store.path(files[key]), offsets[key], widths[key], r0, r1)
            hashers[key].update(memoryview(block).cast("B"))
            accs[key].update(block, r0)
            if accs[key].seen == info.n_tokens:
                results[key] = accs[key].result()

    # Writer lanes: each file always goes to the same single-thread lane (so its chunks arrive in
    # order), files spread over the lanes by size; as many lanes as compute threads.
    n_lanes = compute_threads(dev) if PIPELINE else 1
    lane_keys: list[list[tuple[str, int]]] = [[] for _ in range(n_lanes)]
    load = [0] * n_lanes
    for key in sorted(targets, key=lambda t: -widths[t]):
        i = load.index(min(load))
        lane_keys[i].append(key)
        load[i] += widths[key]
    lanes: list[Any] = [
        ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"atlas-extract-io{i}") if PIPELINE else _Inline()
        for i in range(n_lanes)
    ]

    def absorb(r0: int, r1: int, buffers: dict[tuple[str, int], np.ndarray] | None) -> list[Future[None]]:
        return [lane.submit(absorb_keys, keys, r0, r1, buffers) for lane, keys in zip(lanes, lane_keys) if keys]

    # On a CPU, batches run data-parallel: one compute thread per core, each running whole
    # forward passes on one core (intra-op threads = 1), which beats splitting every op across
    # the cores, and makes each batch's bytes independent of the core count.
    n_compute = compute_threads(dev)
    threads_before = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)
    compute: Any = ThreadPoolExecutor(max_workers=n_compute, thread_name_prefix="atlas-extract-compute")
    inflight: list[tuple[int, int, int, dict[tuple[str, int], np.ndarray], list[Future[None]]]] = []
    pending: list[tuple[int, int, int, bool, list[Future[None]]]] = []  # (chunk, r0, r1, computed here, jobs)
    words_now = 0
    # chunk buffers are reused: a fresh one would cost a page fault per 4 KiB
    max_rows = max(int(info.first_row[b - 1] + info.n_words[b - 1] - info.first_row[a]) for a, b in chunks)
    spare: list[dict[tuple[str, int], Any]] = []
    owner: dict[int, dict[tuple[str, int], Any]] = {}

    def settle(keep: int) -> None:
        """Wait for all but the last ``keep`` chunk jobs; record each computed chunk once it is
        on disk (fsynced), in one transaction."""
        nonlocal words_now
        while len(pending) > keep:
            k, r0, r1, computed, jobs = pending.pop(0)
            for job in jobs:
                job.result()
            if k in owner:
                spare.append(owner.pop(k))  # the chunk is written: its memory serves a later one
            if computed:
                _record_chunk(db, run_id, k, r0, r1)
                words_now += r1 - r0
                bar.update(r1 - r0)
                bar.set_postfix_str(f"{words_now / max(time.perf_counter() - t0, 1e-9):,.0f} words/s", refresh=False)

    def computed(keep: int) -> None:
        """Wait for the forward passes of all but the last ``keep`` chunks in flight; hand each
        finished chunk to the writer."""
        while len(inflight) > keep:
            k, r0, r1, buffers, futs = inflight.pop(0)
            for fut in futs:
                fut.result()
            pending.append((k, r0, r1, True, absorb(r0, r1, buffers)))
            settle(keep=1)

    plan_totals = {"n_windows": 0, "n_split_sentences": 0, "n_truncated_words": 0, "n_empty_words": 0, "n_subwords": 0}
    bar = tqdm(
        total=info.n_tokens,
        initial=int(rows_done.rows_done),
        unit="word",
        unit_scale=True,
        desc=f"extract run {run_id}",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    t0 = time.perf_counter()
    try:
        for k in range(len(chunks)):
            a, b = chunks[k]
            r0 = int(info.first_row[a])
            r1 = int(info.first_row[b - 1] + info.n_words[b - 1])
            if k in done:
                computed(keep=0)  # chunks reach the writer in chunk order
                pending.append((k, r0, r1, False, absorb(r0, r1, None)))
                continue
            with db.engine.connect() as conn:
                sentences = _chunk_sentences(conn, info, a, b)
            plan = plan_batches(
                loaded.tokenizer,
                sentences,
                max_length=loaded.max_length,
                batch_size=batch_size,
                overlap=overlap,
                pad_id=loaded.pad_id,
                aggregations=(aggregation,),
                batch_cost=CPU_BATCH_COST if dev.type == "cpu" else None,
            )
            for key in plan_totals:
                plan_totals[key] += getattr(plan, key)
            _check_cover(plan, r0, r1)
            # every row of the buffers is written by the hooks (checked above): no zeroing
            memory = spare.pop() if spare else {key: writers[key].memory(max_rows) for key in targets}
            buffers = {key: writers[key].buffer(r0, r1 - r0, memory[key], zero=False) for key in targets}
            views = {key: torch.from_numpy(buf) for key, buf in buffers.items()}
            # queue this chunk's batches behind the previous chunk's, so no thread waits at the
            # chunk boundary; the previous chunk goes to the writer once its batches are done
            futs = [compute.submit(capture.run, runner, dev, batch, views) for batch in plan.batches]
            inflight.append((k, r0, r1, buffers, futs))
            owner[k] = memory
            del buffers, views, memory
            computed(keep=1)
        computed(keep=0)
        settle(keep=0)
        elapsed = time.perf_counter() - t0
    except BaseException as exc:
        _mark_failed(db, run_id, exc)
        raise
    finally:
        bar.close()
        compute.shutdown(wait=True, cancel_futures=True)
        for lane in lanes:
            lane.shutdown(wait=True, cancel_futures=True)
        if dev.type == "cpu":
            torch.set_num_threads(threads_before)
        inflight.clear()
        spare.clear()
        owner.clear()
        for h in handles:
            h.remove()
        for w in writers.values():
            w.close()
    try:
        words_per_s = words_now / elapsed if words_now and elapsed > 0 else None
        for key, acc in accs.items():
            if key not in results:
                results[key] = acc.result()
        sha = {key: h.hexdigest() for key, h in hashers.items()}
        _finish(db, run_id, info, results, sha, layer_ids, widths, words_per_s, plan_totals, provenance, len(todo), len(chunks))
    except BaseException as exc:
        _mark_failed(db, run_id, exc)
        raise
    return run_id


def _check_cover(plan: Any, r0: int, r1: int) -> None:
    """The batches of a chunk must give every row of ``[r0, r1)`` exactly one word vector."""
    rows = np.concatenate([b.rows for b in plan.batches]) if plan.batches else np.empty(0, np.int64)
    if len(rows) != r1 - r0 or not np.array_equal(np.bincount(rows, minlength=r1 - r0), np.ones(r1 - r0, np.int64)):
        raise ExtractionError(f"internal error: the batches of rows {r0}..{r1 - 1} do not cover each row once")


def _record_chunk(db: Any, run_id: int, chunk: int, r0: int, r1: int) -> None:
    """One transaction: the chunk is complete (unless a concurrent job recorded it first)."""
    with db.write() as conn:
        seen = conn.execute(select(RunChunk.chunk).where(RunChunk.run_id == run_id, RunChunk.chunk == chunk)).first()
        if seen is not None:
            return
        conn.execute(RunChunk.__table__.insert().values(run_id=run_id, chunk=chunk, start_row=r0, end_row=r1, finished_at=dt.datetime.now(dt.timezone.utc)))
        conn.execute(update(Run).where(Run.id == run_id).values(rows_done=Run.rows_done + (r1 - r0)))


def _mark_failed(db: Any, run_id: int, exc: BaseException) -> None:
    message = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
    try:
        with db.write() as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(status="failed", error=message[:2000]))
    except Exception:  # noqa: BLE001 - never hide the original error behind a bookkeeping one
        pass


def _finish(
    db: Any,
    run_id: int,
    info: CorpusInfo,
    results: dict[tuple[str, int], Any],
    sha: dict[tuple[str, int], str],
    layer_ids: dict[tuple[str, int], int],
    widths: dict[tuple[str, int], int],
    words_per_s: float | None,
    plan_totals: dict[str, int],
    provenance: dict[str, Any],
    n_computed: int,
    n_chunks: int,
) -> None:
    """Check completeness, then write the streamed statistics, top-k and sha256s and mark the run
    done, in one transaction."""
    with db.engine.connect() as conn:
        covered = conn.execute(
            select(func.coalesce(func.sum(RunChunk.end_row - RunChunk.start_row), 0)).where(RunChunk.run_id == run_id)
        ).scalar_one()
    if int(covered) != info.n_tokens:
        raise ExtractionError(f"run {run_id} covers {covered} of {info.n_tokens} rows after the last chunk")
    finished = dt.datetime.now(dt.timezone.utc)
    with db.write() as conn:
        prov = dict(provenance)
        old = conn.execute(select(Run.provenance, Run.words_per_s, Run.started_at).where(Run.id == run_id)).one()
        prov["plan"] = plan_totals
        prov["chunks"] = {"total": n_chunks, "computed_by_last_process": n_computed, "resumed": n_computed < n_chunks}
        prov["finished_at"] = finished.isoformat()
        if old.started_at is not None:
            prov["started_at"] = old.started_at.isoformat()
        if words_per_s is None:
            words_per_s = old.words_per_s
        prov["words_per_s"] = words_per_s
        conn.execute(delete(NeuronStat).where(NeuronStat.run_id == run_id))
        conn.execute(delete(TopActivation).where(TopActivation.run_id == run_id))
        for key, st in results.items():
            neuron_ids = np.array(
                conn.execute(select(Neuron.id).where(Neuron.layer_id == layer_ids[key]).order_by(Neuron.unit)).scalars().all(),
                dtype=np.int64,
            )
            width = widths[key]
            bulk_insert(
                conn,
                NeuronStat.__table__,
                {
                    "run_id": np.full(width, run_id, dtype=np.int64),
                    "neuron_id": neuron_ids,
                    "count": np.full(width, st.count, dtype=np.int64),
                    "mean": st.mean,
                    "std": st.std,
                    "min": st.min,
                    "max": st.max,
                    "fire_rate": st.fire_rate,
                },
            )
            k = st.top_rows.shape[1]
            bulk_insert(
                conn,
                TopActivation.__table__,
                {
                    "run_id": np.full(width * k, run_id, dtype=np.int64),
                    "neuron_id": np.repeat(neuron_ids, k),
                    "rank": np.tile(np.arange(k, dtype=np.int64), width),
                    "row": st.top_rows.reshape(-1),
                    "value": st.top_values.reshape(-1),
                },
            )
            conn.execute(
                update(ActivationFile)
                .where(ActivationFile.run_id == run_id, ActivationFile.layer_id == layer_ids[key])
                .values(sha256=sha[key])
            )
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status="done", error=None, finished_at=finished, words_per_s=words_per_s, provenance=prov, rows_done=info.n_tokens)
        )


# -- reading runs ------------------------------------------------------------------------------
def resolve_run(db: Any, ref: int | str) -> Run:
    """A run by id or by model short name (its latest done run); see :func:`atlas.store.runs.find_run`.

    Raises:
        ExtractionError: no such run, or the model has no finished run.
    """
    return find_run(db, ref, error=ExtractionError)


def list_runs(db: Any) -> Any:
    """All runs as a DataFrame: id, model, corpus, status, rows done, words/s, times."""
    import pandas as pd

    q = (
        select(
            Run.id,
            Model.name.label("model"),
            Corpus.name.label("corpus"),
            Run.status,
            Run.rows_done,
            Run.n_words,
            Run.words_per_s,
            Run.started_at,
            Run.finished_at,
        )
        .join(Model, Model.id == Run.model_id)
        .join(Corpus, Corpus.id == Run.corpus_id)
        .order_by(Run.id)
    )
    with db.engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame(rows, columns=["id", "model", "corpus", "status", "rows_done", "n_words", "words_per_s", "started_at", "finished_at"])


def show_run(db: Any, ref: int | str) -> dict[str, Any]:
    """A run's row, config, provenance and files, as a plain dict."""
    run = resolve_run(db, ref)
    with db.engine.connect() as conn:
        model = conn.execute(select(Model.name, Model.source, Model.revision).where(Model.id == run.model_id)).one()
        corpus = conn.execute(select(Corpus.name).where(Corpus.id == run.corpus_id)).scalar_one()
        files = conn.execute(
            select(Layer.site, Layer.index, Layer.hook_point, ActivationFile.path, ActivationFile.width, ActivationFile.sha256)
            .join(Layer, Layer.id == ActivationFile.layer_id)
            .where(ActivationFile.run_id == run.id)
            .order_by(Layer.index, Layer.site)
        ).all()
        n_chunks = conn.execute(select(func.count()).select_from(RunChunk).where(RunChunk.run_id == run.id)).scalar_one()
    return {
        "id": run.id,
        "model": model.name,
        "source": model.source,
        "revision": model.revision,
        "corpus": corpus,
        "status": run.status,
        "rows_done": run.rows_done,
        "n_words": run.n_words,
        "chunks_done": n_chunks,
        "words_per_s": run.words_per_s,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "config_hash": run.config_hash,
        "store_path": run.store_path,
        "config": run.config,
        "provenance": run.provenance,
        "files": [
            {"layer": f"{f.site}.{f.index}", "hook_point": f.hook_point, "path": f.path, "width": f.width, "sha256": f.sha256}
            for f in files
        ],
    }
