"""Streaming second moments and the similarity measures built from them (METHODS.md §6).

Everything here is plain numpy over *readers*: a reader is ``read(r0, r1) -> array[r1 - r0,
width]`` (rows = words of one corpus), so the activation arrays of two runs are never in memory
whole. One pass over the rows of two layers accumulates their means and their centred cross
product ``C_AB = Σ (a - ā)(b - b̄)ᵀ`` block by block, merging blocks with Chan et al.'s update
(each block is centred on its own mean first, so a large mean costs no precision); memory is
``O(width_A · width_B)``, whatever the number of words.

From ``C_AA``, ``C_BB`` and ``C_AB``:

* Pearson correlation ``R_AB = C_AB / (σ_A σ_Bᵀ)`` (a unit with zero variance correlates 0);
* **linear CKA** (Kornblith et al.; Wu et al. 2020): ``‖C_AB‖_F² / (‖C_AA‖_F ‖C_BB‖_F)``;
* **SVCCA** (Raghu et al.; Wu et al.'s ``corr_methods.py``): z-score, keep the principal
  components that explain 99 % of the variance, canonical correlations = singular values of
  ``W_Aᵀ R_AB W_B`` with ``W = P_k Λ_k^{-1/2}`` (the whitened components); SVCCA = their mean;
* **PWCCA** (Morcos et al.): the same canonical correlations weighted by
  ``a_k = Σ_i |corr(h_k, z_i)|``, the projection of A's canonical variable ``h_k`` on A's units;
* **linreg** (Bau et al. 2019; Wu's ``pred_power``): the multiple correlation ``R`` of regressing
  one unit of A on every unit of a layer of B, ``R² = r_iᵀ R_BB⁺ r_i`` (pseudo-inverse over the
  eigenvalues above ``1e-10 · λ_max``), equal to ``‖U_Bᵀ y_i‖ / ‖y_i‖`` with ``U_B`` the left
  singular vectors of standardised B.

Example::

    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(500, 4)); b = a[:, ::-1] * 2 + 1
    >>> m = cross_moments(array_reader(a), array_reader(b), 500, block=64)
    >>> r = correlation(m, m.self_a(), m.self_b())
    >>> np.allclose(r, np.corrcoef(a.T, b.T)[:4, 4:]), np.abs(r).argmax(axis=1).tolist()
    (True, [3, 2, 1, 0])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: A block of rows of one layer: ``read(r0, r1) -> [r1 - r0, width]``.
Reader = Callable[[int, int], np.ndarray]

#: Rows per block: 4,096 rows of a 1,536-wide float32 layer are 24 MiB.
BLOCK_ROWS = 4096

#: Share of the variance SVCCA keeps (Wu et al.: ``percent_variance = 0.99``).
SVCCA_VARIANCE = 0.99

#: Eigenvalues below this share of the largest are treated as zero (pseudo-inverses).
EIG_RTOL = 1e-10


def array_reader(x: np.ndarray) -> Reader:
    """A reader over an in-memory array (tests, small cases)."""
    return lambda r0, r1: x[r0:r1]


@dataclass
class Moments:
    """Means and centred cross product of two layers over ``n`` rows (``a`` is ``b`` for a
    layer with itself: then ``cross`` is its scatter matrix)."""

    n: int
    mean_a: np.ndarray
    mean_b: np.ndarray
    cross: np.ndarray  # float64 [width_a, width_b]
    var_a: np.ndarray | None = None  # Σ (a - ā)², filled by cross_moments
    var_b: np.ndarray | None = None

    def self_a(self) -> np.ndarray:
        """Σ (a - ā)² per unit of A."""
        assert self.var_a is not None
        return self.var_a

    def self_b(self) -> np.ndarray:
        assert self.var_b is not None
        return self.var_b


def cross_moments(read_a: Reader, read_b: Reader | None, n_rows: int, *, block: int = BLOCK_ROWS) -> Moments:
    """One pass over rows ``[0, n_rows)`` of two layers (``read_b=None``: A with itself).

    Each block is converted to float32, centred on its own mean, multiplied (float32 GEMM,
    the cost), and merged into float64 totals: ``C += C_blk + n·m/(n+m)·δ_A δ_Bᵀ``.
    """
    same = read_b is None
    n = 0
    mean_a = mean_b = cross = var_a = var_b = None
    for r0 in range(0, n_rows, block):
        r1 = min(n_rows, r0 + block)
        xa = np.asarray(read_a(r0, r1), dtype=np.float32)
        xb = xa if same else np.asarray(read_b(r0, r1), dtype=np.float32)  # type: ignore[misc]
        m = r1 - r0
        ma = xa.mean(axis=0, dtype=np.float64)
        mb = ma if same else xb.mean(axis=0, dtype=np.float64)
        ca = xa - ma.astype(np.float32)
        cb = ca if same else xb - mb.astype(np.float32)
        blk = (ca.T @ cb).astype(np.float64)
        va = np.einsum("ij,ij->j", ca, ca, dtype=np.float64)
        vb = va if same else np.einsum("ij,ij->j", cb, cb, dtype=np.float64)
        del xa, xb, ca, cb  # before the next block is read: the peak stays two blocks' worth
        if mean_a is None:
            n, mean_a, mean_b, cross, var_a, var_b = m, ma, mb, blk, va, vb
            continue
        da, db = ma - mean_a, mb - mean_b
        w = n * m / (n + m)
        blk += np.outer(da * w, db)
        cross += blk
        del blk
        var_a = var_a + va + w * da * da
        var_b = var_a if same else var_b + vb + w * db * db
        mean_a = mean_a + da * (m / (n + m))
        mean_b = mean_a if same else mean_b + db * (m / (n + m))
        n += m
    if mean_a is None:
        raise ValueError("no rows to correlate")
    return Moments(n=n, mean_a=mean_a, mean_b=mean_b, cross=cross, var_a=var_a, var_b=var_b)


def correlation(m: Moments, var_a: np.ndarray, var_b: np.ndarray) -> np.ndarray:
    """Pearson correlations ``[width_a, width_b]`` from the cross product and the two layers'
    Σ (x - x̄)²; a unit with zero variance correlates 0 with everything."""
    sa = np.sqrt(np.maximum(var_a, 0.0))
    sb = np.sqrt(np.maximum(var_b, 0.0))
    ia = np.divide(1.0, sa, out=np.zeros_like(sa), where=sa > 0)
    ib = np.divide(1.0, sb, out=np.zeros_like(sb), where=sb > 0)
    r = m.cross * ia[:, None] * ib[None, :]
    return np.clip(r, -1.0, 1.0)


@dataclass
class Spectrum:
    """One layer's correlation matrix ``R = P Λ Pᵀ`` (eigenvalues descending) and the
    Frobenius norm of its scatter matrix (for CKA)."""

    eigvals: np.ndarray
    eigvecs: np.ndarray
    scatter_norm: float
    var: np.ndarray  # Σ (x - x̄)² per unit

    @classmethod
    def of(cls, m: Moments) -> "Spectrum":
        """From a layer's moments with itself."""
        var = m.self_a()
        r = correlation(m, var, var)
        live = var > 0
        r[np.diag_indices_from(r)] = np.where(live, 1.0, 0.0)
        vals, vecs = np.linalg.eigh(r)
        order = np.argsort(vals)[::-1]
        return cls(np.maximum(vals[order], 0.0), vecs[:, order], float(np.linalg.norm(m.cross)), var)

    def whitener(self, share: float | None = None) -> np.ndarray:
        """``P_k Λ_k^{-1/2}``: every component above the rank cut-off, or (``share``) the fewest
        leading ones that explain that share of the variance."""
        vals = self.eigvals
        if vals.size == 0 or vals[0] <= 0:
            return np.zeros((len(vals), 0))
        k = int((vals > EIG_RTOL * vals[0]).sum())
        if share is not None:
            cum = np.cumsum(vals[:k]) / vals[:k].sum()
            k = min(k, int(np.searchsorted(cum, share - 1e-12)) + 1)
        return self.eigvecs[:, :k] / np.sqrt(vals[:k])[None, :]


def linear_cka(m: Moments, a: Spectrum, b: Spectrum) -> float:
    """Linear CKA of two layers (centred, not standardised)."""
    denom = a.scatter_norm * b.scatter_norm
    return float(np.linalg.norm(m.cross) ** 2 / denom) if denom > 0 else float("nan")


def cca(r_ab: np.ndarray, a: Spectrum, b: Spectrum, share: float = SVCCA_VARIANCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical correlations of the layers' 99 %-variance principal subspaces (one SVD), and
    each side's canonical variables projected on its own units: ``corr(h_k, z_i)`` as
    ``[width, k]`` (A's, B's). With ``W = P_k Λ_k^{-1/2}``, ``R_AA W = P_k Λ_k^{1/2}``, so no
    ``width³`` product is needed."""
    wa, wb = a.whitener(share), b.whitener(share)
    ka, kb = wa.shape[1], wb.shape[1]
    if ka == 0 or kb == 0:
        return np.zeros(0), np.zeros((r_ab.shape[0], 0)), np.zeros((r_ab.shape[1], 0))
    u, s, vt = np.linalg.svd(wa.T @ r_ab @ wb, full_matrices=False)
    proj_a = (a.eigvecs[:, :ka] * np.sqrt(a.eigvals[:ka])[None, :]) @ u
    proj_b = (b.eigvecs[:, :kb] * np.sqrt(b.eigvals[:kb])[None, :]) @ vt.T
    return np.clip(s, 0.0, 1.0), proj_a, proj_b


def _pw(s: np.ndarray, proj: np.ndarray) -> float:
    weights = np.abs(proj).sum(axis=0)
    return float((s * weights).sum() / weights.sum()) if s.size and weights.sum() > 0 else float("nan")


def svcca(r_ab: np.ndarray, a: Spectrum, b: Spectrum) -> float:
    """Mean canonical correlation (SVCCA)."""
    s, _, _ = cca(r_ab, a, b)
    return float(s.mean()) if s.size else float("nan")


def pwcca(r_ab: np.ndarray, a: Spectrum, b: Spectrum) -> float:
    """Projection-weighted CCA, weights from A's side (asymmetric, as Morcos et al.)."""
    s, proj_a, _ = cca(r_ab, a, b)
    return _pw(s, proj_a)


def layer_measures(m: Moments, r_ab: np.ndarray, a: Spectrum, b: Spectrum) -> dict[str, float]:
    """CKA, SVCCA and PWCCA from each side, from one SVD: ``{"cka", "svcca", "pwcca",
    "pwcca_b"}``."""
    s, proj_a, proj_b = cca(r_ab, a, b)
    return {"cka": linear_cka(m, a, b), "svcca": float(s.mean()) if s.size else float("nan"),
            "pwcca": _pw(s, proj_a), "pwcca_b": _pw(s, proj_b)}


def linreg(r_ab: np.ndarray, b: Spectrum) -> np.ndarray:
    """Per unit of A, the multiple correlation of regressing it on every unit of B."""
    g = r_ab @ b.whitener()
    return np.sqrt(np.clip(np.einsum("ij,ij->i", g, g), 0.0, 1.0))


def top_partners(r: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``k`` columns of largest ``|r|`` (best first; ties by column) and their ``r``."""
    k = min(k, r.shape[1])
    absr = np.abs(r)
    if k < r.shape[1]:
        part = np.argpartition(-absr, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(r.shape[1]), (r.shape[0], 1))
    vals = np.take_along_axis(absr, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(r, idx, axis=1)


__all__ = [
    "BLOCK_ROWS",
    "Moments",
    "Reader",
    "Spectrum",
    "array_reader",
    "cca",
    "correlation",
    "layer_measures",
    "cross_moments",
    "linear_cka",
    "linreg",
    "pwcca",
    "svcca",
    "top_partners",
]
