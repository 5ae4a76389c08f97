"""Packed bit masks: many boolean masks as rows of ``uint64`` words, and their popcounts.

A mask over ``n`` words of a corpus becomes ``ceil(n / 64)`` words of 64 bits
(:func:`pack`); the size of an intersection is then ``popcount(a & b)`` summed over the
words (:func:`count`), 64 words of the corpus per machine operation. ``np.bitwise_count``
(NumPy >= 2) counts the bits; older NumPy falls back to a 256-entry lookup table.

Example::

    >>> import numpy as np
    >>> m = pack(np.array([[1, 0, 1], [1, 1, 0]], bool))
    >>> m.shape, count(m).tolist(), count(m[0] & m[1]).tolist()
    ((2, 1), [2, 2], 1)
"""

from __future__ import annotations

import numpy as np

_HAS_BITWISE_COUNT = hasattr(np, "bitwise_count")
_TABLE = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def n_words(n_bits: int) -> int:
    """How many 64-bit words hold ``n_bits`` bits.

    >>> n_words(0), n_words(64), n_words(65)
    (0, 1, 2)
    """
    return (n_bits + 63) // 64


def pack(masks: np.ndarray) -> np.ndarray:
    """``bool [..., n]`` → ``uint64 [..., ceil(n / 64)]`` (bit ``i`` of the mask is bit
    ``i % 64`` of word ``i // 64``, little-endian; the padding bits are 0)."""
    masks = np.asarray(masks, dtype=bool)
    n = masks.shape[-1]
    w = n_words(n)
    packed = np.packbits(masks, axis=-1, bitorder="little")
    pad = w * 8 - packed.shape[-1]
    if pad:
        packed = np.concatenate([packed, np.zeros(packed.shape[:-1] + (pad,), np.uint8)], axis=-1)
    return np.ascontiguousarray(packed).view(np.uint64).reshape(masks.shape[:-1] + (w,))


def unpack(words: np.ndarray, n: int) -> np.ndarray:
    """The inverse of :func:`pack`: ``uint64 [..., w]`` → ``bool [..., n]``."""
    as_bytes = np.ascontiguousarray(words).view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, count=n, bitorder="little").astype(bool)


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits of each word (same shape, small integers)."""
    if _HAS_BITWISE_COUNT:
        return np.bitwise_count(words)
    as_bytes = np.ascontiguousarray(words).view(np.uint8)
    return _TABLE[as_bytes].reshape(words.shape + (8,)).sum(-1, dtype=np.uint8)


def count(words: np.ndarray) -> np.ndarray:
    """Set bits of each packed mask: ``uint64 [..., w]`` → ``int64 [...]``."""
    return popcount(words).sum(-1, dtype=np.int64)


__all__ = ["count", "n_words", "pack", "popcount", "unpack"]
