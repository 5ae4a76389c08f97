"""Tiny models for the cross-model tests: the extraction tests' builders, plus a permuted copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


def permute_bert_mlp(src: Path, dst: Path, seed: int = 7) -> dict[int, np.ndarray]:
    """Save a copy of a BERT-family model whose MLP units are permuted in every block: rows of
    the first MLP matrix and its bias, columns of the second. The function is unchanged; unit
    ``perm[u]`` of the copy is unit ``u``'s... rather, the copy's unit ``j`` is the original's
    unit ``perm[j]``. Returns ``{layer: perm}``."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(src).eval()
    rng = np.random.default_rng(seed)
    perms = {}
    with torch.no_grad():
        for i, layer in enumerate(model.encoder.layer):
            first, second = layer.intermediate.dense, layer.output.dense
            perm = rng.permutation(first.out_features)
            p = torch.as_tensor(perm)
            first.weight.copy_(first.weight[p])
            first.bias.copy_(first.bias[p])
            second.weight.copy_(second.weight[:, p])
            perms[i] = perm
    model.save_pretrained(dst)
    for f in src.iterdir():
        if "token" in f.name or f.name == "vocab.txt":
            shutil.copy(f, dst / f.name)
    return perms


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tiny("bert")`` -> folder of a saved tiny model; ``tiny("bert-permuted")`` its copy with
    permuted MLP units (``tiny.perms`` holds the permutations)."""
    from tests.extract.conftest import build_tiny

    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            folder = tmp_path_factory.mktemp(name)
            if name.endswith("-permuted"):
                get.perms = permute_bert_mlp(get(name.removesuffix("-permuted")), folder)  # type: ignore[attr-defined]
                cache[name] = folder
            else:
                cache[name] = build_tiny(name, folder)
        return cache[name]

    return get
