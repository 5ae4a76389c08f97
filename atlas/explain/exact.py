"""Exact mode: the provably best formula of at most 1, 2 or 3 atoms by IoU, by branch and bound
(the bounds are derived in :mod:`atlas.explain.search`'s docstring).

The space is the beam search's: left-deep formulas of distinct atoms joined by ``and``, ``or``,
``and not``. The beam's answer is a lower bound the exact search starts from; it is returned
unchanged when nothing beats it, so exact mode is never worse than the beam, and a formula it
returns is optimal.

Example::

    >>> import numpy as np
    >>> from atlas.explain.search import Atoms, beam_search
    >>> rng = np.random.default_rng(0)
    >>> atoms = Atoms.from_matrix([f"c{i}" for i in range(8)], rng.random((300, 8)) < 0.3)
    >>> masks = rng.random((300, 4)) < 0.1
    >>> beam = beam_search(atoms, masks, length=3, beam=2)
    >>> exact, info = exact_search(atoms, masks, length=3, lower=beam)
    >>> all(e[3].score >= b[3].score for e, b in zip(exact, beam))
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atlas.explain import bits
from atlas.explain.search import BLOCK_WORDS, EXACT_MAX_LENGTH, Atoms, Formula, Found, mask_rows, score

#: Prefixes expanded at a time (best bound first; the best score is raised between batches).
BATCH = 256
_EPS = 1e-12


@dataclass
class ExactInfo:
    """What the exact search did (summed over neurons): length-2 prefixes bounded, prefixes
    expanded (some extension passed the bounds), triple counts computed."""

    prefixes: int = 0
    expanded: int = 0
    triples: int = 0


def exact_search(
    atoms: Atoms, masks: np.ndarray, *, length: int = EXACT_MAX_LENGTH, lower: list[dict[int, Found]] | None = None,
) -> tuple[list[dict[int, Found]], ExactInfo]:
    """The best formula of at most ``ℓ`` atoms by IoU for every neuron and ``ℓ = 1 .. length``
    (``length ≤ 3``), from the lower bounds ``lower`` (a beam search's answer) when given."""
    if not 1 <= length <= EXACT_MAX_LENGTH:
        raise ValueError(f"exact mode searches formulas of 1 to {EXACT_MAX_LENGTH} atoms, not {length}")
    info = ExactInfo()
    rows, k = mask_rows(masks)
    out: list[dict[int, Found]] = []
    step = max(1, BLOCK_WORDS // max(1, len(atoms.names) * bits.n_words(rows.shape[1])))
    for start in range(0, rows.shape[0], step):
        S = atoms.restrict(rows[start : start + step])
        for j in range(S.shape[0]):
            i = start + j
            out.append(_exact_neuron(atoms, S[j], int(k[i]), length, lower[i] if lower else {}, info))
    return out, info


def _exact_neuron(
    atoms: Atoms, Si: np.ndarray, k: int, length: int, lower: dict[int, Found], info: ExactInfo
) -> dict[int, Found]:
    """One neuron (``Si``: its restricted atoms ``[C, w]``, ``k`` its mask size)."""
    I1 = bits.count(Si)
    sizes = atoms.sizes
    sc1 = score(I1, sizes, k)
    a = int(np.argmax(sc1))
    best = {1: Found(Formula((a,)), float(sc1[a]), int(I1[a]), int(sizes[a]))}
    P = np.flatnonzero(I1 > 0)
    for ell in range(2, length + 1):
        best[ell] = best[ell - 1]
    if length < 2 or P.size == 0:
        return best
    I, s, sc = _pairs(atoms, Si, I1, P, k)
    flat = int(np.argmax(sc))
    op, ai, b = np.unravel_index(flat, sc.shape)
    if sc.flat[flat] > best[1].score:
        best[2] = Found(Formula((int(P[ai]), int(b)), (int(op),)), float(sc.flat[flat]), int(I.flat[flat]), int(s.flat[flat]))
    for ell in range(3, length + 1):
        best[ell] = best[2]
    if length >= 3:
        given = lower.get(3)
        start = given if given is not None and given.score > best[2].score else best[2]
        best[3] = _length3(atoms, Si, I1, P, k, I, s, start, info)
    return best


def _pairs(atoms: Atoms, Si: np.ndarray, I1: np.ndarray, P: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every length-2 formula ``a op b`` with ``a`` among the atoms ``P`` that meet the neuron:
    ``I``, ``s`` and IoU as ``[3, |P|, C]`` (op, a, b); ``-inf`` where ``b = a``. (A formula
    whose first atom misses the neuron has ``I = 0`` or is ``b or a``, listed.)"""
    C = len(atoms.names)
    SP = Si[P]
    I2 = np.zeros((P.size, C), np.int64)
    I2[:, P] = bits.count(SP[:, None, :] & SP[None, :, :])
    T2 = atoms.pairs[P]
    Ia, sa = I1[P][:, None], atoms.sizes[P][:, None]
    Ib, sb = I1[None, :], atoms.sizes[None, :]
    I = np.stack([I2, Ia + Ib - I2, Ia - I2])
    s = np.stack([T2, sa + sb - T2, sa - T2])
    sc = score(I, s, k)
    sc[:, np.arange(P.size), P] = -np.inf
    return I, s, sc


def _length3(
    atoms: Atoms, Si: np.ndarray, I1: np.ndarray, P: np.ndarray, k: int,
    I2: np.ndarray, s2: np.ndarray, start: Found, info: ExactInfo,
) -> Found:
    """The best formula of at most 3 atoms, by branch and bound over the length-2 prefixes."""
    sizes = atoms.sizes
    q1 = sizes - I1
    op1, ai, b = np.nonzero((I2 > 0) & np.isfinite(score(I2, s2, k)))
    in_p = np.zeros(len(atoms.names), bool)
    in_p[P] = True
    # a op b = b op a for and/or: each such prefix once (b outside P is not a first atom)
    keep = (P[ai] != b) & ~((op1 != 2) & in_p[b] & (P[ai] > b))
    op1, ai, b = op1[keep], ai[keep], b[keep]
    IG, sG = I2[op1, ai, b], s2[op1, ai, b]
    qG = sG - IG
    ub = _prefix_bounds(I1, q1, IG, qG, k)
    info.prefixes += ub.size
    best = start
    live = np.flatnonzero(ub > best.score + _EPS)
    live = live[np.argsort(-ub[live], kind="stable")]
    T2 = atoms.pairs
    for at in range(0, live.size, BATCH):
        sel = live[at : at + BATCH]
        sel = sel[ub[sel] > best.score + _EPS]
        if sel.size == 0:
            break
        o, x, y = op1[sel], P[ai[sel]], b[sel]
        I3, s_lo = _candidate_bounds(atoms, Si, I1, o, x, y, IG[sel], sG[sel])
        bound = score(I3, np.maximum(s_lo, I3), k)
        rows = np.arange(sel.size)
        bound[rows, :, x] = -np.inf
        bound[rows, :, y] = -np.inf
        r, op2, z = np.nonzero(bound > best.score + _EPS)
        info.expanded += int(np.unique(r).size)
        if r.size == 0:
            continue
        info.triples += int(r.size)
        full = atoms.full
        T3 = bits.count(full[x[r]] & full[y[r]] & full[z])
        Txz, Tyz = T2[x[r], z], T2[y[r], z]
        on = o[r]
        GZ = np.where(on == 0, T3, np.where(on == 1, Txz + Tyz - T3, Txz - T3))
        sg = sG[sel][r]
        s3 = np.where(op2 == 0, GZ, np.where(op2 == 1, sg + sizes[z] - GZ, sg - GZ))
        i3 = I3[r, op2, z]
        sc3 = score(i3, s3, k)
        j = int(np.argmax(sc3))
        if sc3[j] > best.score + _EPS:
            g = r[j]
            formula = Formula((int(x[g]), int(y[g]), int(z[j])), (int(o[g]), int(op2[j])))
            best = Found(formula, float(sc3[j]), int(i3[j]), int(s3[j]))
    return best


def _candidate_bounds(
    atoms: Atoms, Si: np.ndarray, I1: np.ndarray, o: np.ndarray, x: np.ndarray, y: np.ndarray, IG: np.ndarray,
    sG: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For prefixes ``G = x op y`` and every atom ``z``: the exact ``I`` of ``G op2 z`` and a lower
    bound on its size ``s``, both ``[n_prefixes, 3, C]`` (op2, z).

    The size needs the triple count ``T = |x ∧ y ∧ z|``, which lies between ``max(0, T_xy + T_xz
    − |x|, T_xy + T_yz − |y|, T_xz + T_yz − |z|, |N ∧ x ∧ y ∧ z|)`` (Bonferroni inside each atom,
    and the neuron's own words) and ``min(T_xy, T_xz, T_yz)``; ``|G ∧ z|`` is ``T``, ``T_xz +
    T_yz − T`` or ``T_xz − T`` for ``and``, ``or``, ``and not``, and the sizes of the three
    extensions are ``|G ∧ z|``, ``|G| + |z| − |G ∧ z|``, ``|G| − |G ∧ z|``."""
    T2, sizes = atoms.pairs, atoms.sizes
    Sx, Sy = Si[x], Si[y]
    Gr = np.where((o == 0)[:, None], Sx & Sy, np.where((o == 1)[:, None], Sx | Sy, Sx & ~Sy))
    inter = bits.count(Gr[:, None, :] & Si[None, :, :])  # I(G and z), [nb, C]
    ig, sg = IG[:, None], sG[:, None]
    I3 = np.stack([inter, ig + I1[None, :] - inter, ig - inter], axis=1)
    both = inter if not (o != 0).any() else bits.count((Sx & Sy)[:, None, :] & Si[None, :, :])
    Txz, Tyz, Txy = T2[x], T2[y], T2[x, y][:, None]
    sx, sy, sz = sizes[x][:, None], sizes[y][:, None], sizes[None, :]
    lo = np.maximum.reduce([both, Txy + Txz - sx, Txy + Tyz - sy, Txz + Tyz - sz, np.zeros_like(Txz)])
    hi = np.minimum(np.minimum(Txz, Tyz), Txy)
    oc = o[:, None]
    gz_lo = np.where(oc == 0, lo, np.where(oc == 1, Txz + Tyz - hi, Txz - hi))
    gz_hi = np.where(oc == 0, hi, np.where(oc == 1, Txz + Tyz - lo, Txz - lo))
    s_lo = np.stack([gz_lo, sg + sz - gz_hi, sg - gz_hi], axis=1)
    return I3, s_lo


def _prefix_bounds(I1: np.ndarray, q1: np.ndarray, IG: np.ndarray, qG: np.ndarray, k: int) -> np.ndarray:
    """For each prefix ``G``, an upper bound on the IoU of ``G op c`` over every atom ``c``:
    ``I(G) / k`` for ``and`` and ``and not``; for ``or``, ``min(k, I(G) + I(c)) / (k + max(q(G),
    q(c)))``, maximised over the atoms with ``q(c) ≤ q(G)`` (a prefix maximum of ``I(c)``) and
    over those with ``q(c) > q(G)`` (bounded by ``I(G) / (k + q(G)) + I(c) / (k + q(c))``, a
    suffix maximum)."""
    order = np.argsort(q1, kind="stable")
    qs, Is = q1[order], I1[order].astype(np.float64)
    pre = np.maximum.accumulate(Is)
    suf = np.maximum.accumulate((Is / (k + qs))[::-1])[::-1]
    idx = np.searchsorted(qs, qG, side="right")
    C = qs.size
    low = np.where(idx > 0, np.minimum(k, IG + pre[np.maximum(idx - 1, 0)]) / (k + qG), 0.0)
    high = np.where(idx < C, IG / (k + qG) + suf[np.minimum(idx, C - 1)], 0.0)
    return np.minimum(1.0, np.maximum.reduce([IG / k, low, high]))


__all__ = ["ExactInfo", "exact_search"]
