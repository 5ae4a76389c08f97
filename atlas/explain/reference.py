"""A per-neuron NumPy port of compexp's beam search (``jayelm/compexp``,
``compute_best_sentence_iou`` / vision ``compute_best_iou``; METHODS.md §1.2), the baseline
``bench/bench_explain.py`` measures :func:`atlas.explain.search.beam_search` against, and a
second implementation for the tests.

As compexp does: one neuron at a time, unpacked boolean masks, each candidate's mask computed
from its parent's (cached) mask and scored with a NumPy reduction, the beam kept with
``Counter.most_common``. Two choices make it search the same space as the batched search:
a formula never repeats an atom (compexp would also score ``a and a``), and with ``dedup``
formulas equal up to operand order take one beam place (compexp keeps them apart).

Example::

    >>> import numpy as np
    >>> Y = np.array([[1, 0, 1], [1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]], bool)
    >>> found = compexp_search(np.array([1, 0, 1, 0, 0], bool), Y.T, ["noun", "plural", "verb"], length=2)
    >>> found[2]
    ('noun and not plural', 1.0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from atlas.explain.search import BEAM, LENGTH, Formula


def _metric(mask: np.ndarray, neuron: np.ndarray, metric: str) -> float:
    inter = float((mask & neuron).sum())
    if metric == "iou":
        den = float((mask | neuron).sum())
    elif metric == "precision":
        den = float(mask.sum())
    else:
        den = float(neuron.sum())
    return inter / den if den > 0 else 0.0


def compexp_search(
    neuron: np.ndarray, atoms: np.ndarray, names: Sequence[str], *, length: int = LENGTH, beam: int = BEAM,
    metric: str = "iou", dedup: bool = True,
) -> dict[int, tuple[str, float]]:
    """compexp's beam search for one neuron mask (``bool [n]``) over ``atoms`` (``bool [C, n]``):
    ``{ℓ: (canonical formula text, score)}``, the best formula of at most ``ℓ`` atoms."""
    masks: dict[Formula, np.ndarray] = {}
    formulas: dict[Formula, float] = {}
    for c in range(atoms.shape[0]):
        f = Formula((c,))
        masks[f] = atoms[c]
        formulas[f] = _metric(atoms[c], neuron, metric)
    formulas = dict(Counter(formulas).most_common(beam))
    best = max(formulas.items(), key=lambda kv: kv[1])
    out = {1: (best[0].text(names), best[1])}
    for step in range(2, length + 1):
        new: dict[Formula, float] = {}
        for formula in formulas:
            parent = masks[formula]
            for op in range(3):
                for c in range(atoms.shape[0]):
                    if c in formula.atoms:
                        continue
                    f = formula.extend(op, c)
                    mask = parent & atoms[c] if op == 0 else (parent | atoms[c] if op == 1 else parent & ~atoms[c])
                    masks[f] = mask
                    new[f] = _metric(mask, neuron, metric)
        formulas.update(new)
        ranked = Counter(formulas).most_common()
        kept: dict[Formula, float] = {}
        seen: set[str] = set()
        for f, value in ranked:
            key = f.text(names) if dedup else repr(f)
            if key not in seen:
                seen.add(key)
                kept[f] = value
            if len(kept) == beam:
                break
        formulas = kept
        top = next(iter(formulas.items()))
        out[step] = (top[0].text(names), top[1]) if top[1] > out[step - 1][1] else out[step - 1]
    return out


__all__ = ["compexp_search"]
