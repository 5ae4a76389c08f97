"""Synthetic data for the method tests: planted neurons, concepts, sentences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAMES = ["upos:NOUN", "upos:VERB", "upos:ADJ", "upos:DET", "negation", "question"]


@dataclass
class Planted:
    X: np.ndarray  # [n, d] float16
    Y: np.ndarray  # [n, c] bool
    names: list[str]
    sentence_index: np.ndarray
    word_types: np.ndarray
    planted: dict[int, int]  # concept column -> neuron column


def planted(n_sent: int = 400, sent_len: int = 12, d: int = 24, seed: int = 0, strength: float = 3.0) -> Planted:
    """Words with a UPOS property (4 values), a rare token concept and a sentence concept; neuron
    ``c + 1`` follows concept ``c`` plus unit noise, the others are noise."""
    rng = np.random.default_rng(seed)
    n = n_sent * sent_len
    sentence_index = np.repeat(np.arange(n_sent), sent_len)
    upos = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    Y = np.zeros((n, len(NAMES)), bool)
    Y[np.arange(n), upos] = True
    Y[:, 4] = rng.random(n) < 0.04
    questions = rng.random(n_sent) < 0.15
    Y[:, 5] = questions[sentence_index]
    # Only one word per question sentence is a question cue (what the planted neuron sees).
    cue = np.zeros(n, bool)
    cue[np.flatnonzero(questions) * sent_len + sent_len - 1] = True
    X = rng.normal(size=(n, d))
    for c in range(len(NAMES) - 1):
        X[:, c + 1] += strength * Y[:, c]
    X[:, len(NAMES)] += strength * 2 * cue
    word_types = rng.integers(0, 300, size=n)
    return Planted(X.astype(np.float16), Y, list(NAMES), sentence_index, word_types, {c: c + 1 for c in range(len(NAMES))})
