"""Planted neurons: neuron k follows concept c plus noise; every method ranks k first for c,
and a noise neuron stays near the method's null value."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.methods import registry

from .helpers import planted

P = planted()
ALPHA = 0.005


def _null(name: str, c: int) -> tuple[float, float]:
    """(null value, tolerance) of a noise neuron for concept column ``c``."""
    rate = P.Y[:, c].mean()
    sent_rate = np.logical_or.reduceat(P.Y[:, c], np.flatnonzero(np.r_[True, np.diff(P.sentence_index) != 0])).mean()
    return {
        "iou": (0.0, 0.02),
        "precision": (rate, 0.15),
        "recall": (ALPHA, 0.02),
        "mi": (0.0, 0.02),
        "selectivity": (0.0, 0.02),
        "meandiff": (0.0, 0.15),
        "probeless": (0.0, 0.3),
        "ap": (rate, 0.06),
        "ap_sentence": (sent_rate, 0.12),
        "probe": (0.0, 0.35),
        "control_selectivity": (0.0, 0.35),
    }[name]


@pytest.fixture(scope="module")
def fitted():
    out = {}
    for spec in registry.select(kind="concept"):
        est = spec.make({"max_rows": 3000} if spec.family == "probing" else None)
        out[spec.name] = est.fit(
            P.X, P.Y, names=P.names, sentence_index=P.sentence_index, word_types=P.word_types, stats={}
        ).scores_
    return out


@pytest.mark.parametrize("name", [m.name for m in registry.select(kind="concept")])
def test_planted_neuron_ranks_first(fitted, name):
    scores = fitted[name]
    for c, k in P.planted.items():
        if name == "ap_sentence" and P.names[c].startswith("upos:"):
            continue  # every sentence has every common tag: sentence pooling cannot tell them apart
        if registry.get(name).family == "probing" and P.names[c] == "question":
            continue  # the cue is one word in twelve: a token classifier of "question" needs context
        assert int(np.nanargmax(scores[:, c])) == k, f"{name}: concept {P.names[c]}"


@pytest.mark.parametrize("name", [m.name for m in registry.select(kind="concept")])
def test_noise_neuron_near_null(fitted, name):
    scores = fitted[name]
    noise = scores[-1]  # the last neuron follows nothing
    for c in range(len(P.names)):
        null, tol = _null(name, c)
        assert abs(noise[c] - null) <= tol, f"{name}: concept {P.names[c]}: {noise[c]:.3f} vs null {null:.3f}"
