"""The options of an extraction, read and checked without torch or transformers.

The command line imports this module to parse ``--sites`` and ``--layers`` and to name a model;
nothing here loads a model. Sites come from the registry in :mod:`atlas.naming`.

Example::

    >>> parse_sites("resid,mlp")
    ('mlp', 'resid')
    >>> parse_layers("0-2,5", 6)
    (0, 1, 2, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from atlas.errors import AtlasError, ExtractionError, did_you_mean
from atlas.extract.models import DTYPES, builtin_model_path
from atlas.naming import NAME_MAX, check_name, site_names, suggest_name

#: Top-activating words kept per neuron.
TOP_K = 20
#: Words per resumable chunk (whole sentences, so about this many).
DEFAULT_CHUNK_WORDS = 2048
#: How subword activations become one word's: the mean, the first or the last subword.
AGGREGATIONS = ("mean", "first", "last")
#: The site captured once per model, before block 0, rather than once per block.
EMBED_SITE = "embed"


def parse_sites(sites: str | Sequence[str]) -> tuple[str, ...]:
    """``"mlp,resid"`` or ``["mlp", "resid"]`` -> ``("mlp", "resid")`` in block order.

    >>> parse_sites("resid,mlp")
    ('mlp', 'resid')
    """
    known = site_names()
    items = [s.strip() for s in (sites.split(",") if isinstance(sites, str) else sites) if s.strip()]
    if not items:
        raise ExtractionError("no site given", hint=f"use --sites mlp,resid (sites: {', '.join(known)})")
    for s in items:
        if s not in known:
            hint = did_you_mean(s, known) or f"sites are {', '.join(known)}"
            raise ExtractionError(f"unknown site {s!r}", hint=hint)
    return tuple(s for s in known if s in items)


def _layer_set(layers: str) -> set[int]:
    out: set[int] = set()
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
    return out


def parse_layers(layers: str | Sequence[int] | None, n_layers: int) -> tuple[int, ...]:
    """``None``/``"all"`` -> every block; ``"0-5"``, ``"1,3"``, ``[0, 2]`` as given (sorted).

    >>> parse_layers("0-2,5", 6)
    (0, 1, 2, 5)
    """
    if layers is None or (isinstance(layers, str) and layers.strip().lower() in ("", "all")):
        return tuple(range(n_layers))
    out = _layer_set(layers) if isinstance(layers, str) else {int(x) for x in layers}
    bad = sorted(x for x in out if not 0 <= x < n_layers)
    if bad or not out:
        raise ExtractionError(
            f"layer {bad[0] if bad else layers!r} does not exist: the model has blocks 0-{n_layers - 1}",
            hint=f"use --layers 0-{n_layers - 1}",
        )
    return tuple(sorted(out))


def default_name(source: str) -> str:
    """The short name a model gets without ``--as``: ``minilm`` for the built-in model, else
    the last part of the id or folder, lower-cased, spelled as a name (:func:`atlas.naming.suggest_name`).

    >>> default_name("/models/Bert-Base/"), default_name("Qwen/Qwen2.5-0.5B")
    ('bert-base', 'qwen2_5-0_5b')
    """
    try:
        if Path(source).resolve() == builtin_model_path().resolve():
            return "minilm"
    except (AtlasError, OSError):
        pass
    base = Path(source.rstrip("/")).name or source
    return suggest_name(base.lower())[:NAME_MAX - len("-random")]


def targets_of(sites: Sequence[str], layers: Sequence[int]) -> list[tuple[str, int]]:
    """The ``(site, layer)`` pairs captured: every site of every block, ``embed`` once (layer 0)
    and first.

    >>> targets_of(("embed", "mlp"), (0, 1))
    [('embed', 0), ('mlp', 0), ('mlp', 1)]
    """
    out = [(s, i) for i in layers for s in sites if s != EMBED_SITE]
    if EMBED_SITE in sites:
        out.insert(0, (EMBED_SITE, 0))
    return out


@dataclass(frozen=True)
class ExtractOptions:
    """Everything :func:`atlas.extract.job.extract` takes besides the atlas, checked by
    :meth:`check` (see that function for what each option means)."""

    model: str
    corpus: str
    name: str | None = None
    sites: tuple[str, ...] = ("mlp", "resid")
    layers: str | Sequence[int] | None = None
    aggregation: str = "mean"
    batch_size: int = 32
    device: str = "cpu"
    dtype: str = "float32"
    random_init: bool = False
    seed: int = 0
    revision: str | None = None
    max_length: int | None = None
    overlap: int | None = None
    chunk_words: int = DEFAULT_CHUNK_WORDS
    top_k: int = TOP_K

    def check(self) -> None:
        """Raise :class:`ExtractionError` for an option that cannot work (before any model loads)."""
        if self.aggregation not in AGGREGATIONS:
            raise ExtractionError(f"unknown aggregation {self.aggregation!r}", hint="use --aggregation mean, first or last")
        if self.batch_size < 1:
            raise ExtractionError(f"--batch-size must be at least 1, not {self.batch_size}")
        if self.chunk_words < 1:
            raise ExtractionError(f"chunk_words must be at least 1, not {self.chunk_words}")
        if self.dtype not in DTYPES:
            raise ExtractionError(f"unknown dtype {self.dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
        if self.top_k < 1:
            raise ExtractionError(f"top_k must be at least 1, not {self.top_k}")
        if self.name is not None:
            check_name("model", self.name, error=ExtractionError)  # --as: the one rule for names

    def short_name(self, source: str) -> str:
        """The model's short name: ``--as``, else :func:`default_name`; ``-random`` appended for a
        random initialisation."""
        short = self.name or default_name(source)
        if self.random_init and not short.endswith("-random"):
            short = f"{short}-random"
        return check_name("model", short, error=ExtractionError)
