"""The streaming measures equal their dense definitions (np.corrcoef, SVD-based SVCCA, ...)."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.similarity import core


def _pair(n: int = 300, wa: int = 7, wb: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    a = z @ rng.normal(size=(4, wa)) + 0.5 * rng.normal(size=(n, wa)) + 100.0  # a large mean
    b = np.tanh(z @ rng.normal(size=(4, wb))) + 0.3 * rng.normal(size=(n, wb)) - 3.0
    return a, b


def _stats(a: np.ndarray, b: np.ndarray, block: int):
    n = len(a)
    m = core.cross_moments(core.array_reader(a), core.array_reader(b), n, block=block)
    sa = core.Spectrum.of(core.cross_moments(core.array_reader(a), None, n, block=block))
    sb = core.Spectrum.of(core.cross_moments(core.array_reader(b), None, n, block=block))
    return m, sa, sb, core.correlation(m, sa.var, sb.var)


@pytest.mark.parametrize("block", [1, 17, 64, 1000])
def test_correlation_equals_corrcoef(block: int) -> None:
    a, b = _pair()
    _m, _sa, _sb, r = _stats(a, b, block)
    ref = np.corrcoef(a.T, b.T)[: a.shape[1], a.shape[1]:]
    np.testing.assert_allclose(r, ref, atol=1e-5)


def test_constant_unit_correlates_zero() -> None:
    a, b = _pair()
    a[:, 2] = 4.0
    _m, _sa, _sb, r = _stats(a, b, 50)
    assert np.all(r[2] == 0) and np.isfinite(r).all()


def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / x.std(0)


def _svd_basis(x: np.ndarray, share: float | None) -> np.ndarray:
    u, s, _ = np.linalg.svd(_zscore(x), full_matrices=False)
    keep = s > 1e-8 * s[0]
    u, s = u[:, keep], s[keep]
    if share is not None:
        cum = np.cumsum(s**2) / (s**2).sum()
        u = u[:, : int(np.searchsorted(cum, share - 1e-12)) + 1]
    return u


def test_layer_measures_equal_dense_definitions() -> None:
    a, b = _pair(n=400, wa=9, wb=6)
    m, sa, sb, r = _stats(a, b, 33)
    ca, cb = a - a.mean(0), b - b.mean(0)
    cka = np.linalg.norm(cb.T @ ca) ** 2 / (np.linalg.norm(ca.T @ ca) * np.linalg.norm(cb.T @ cb))
    assert core.linear_cka(m, sa, sb) == pytest.approx(cka, rel=1e-6)
    ua, ub = _svd_basis(a, 0.99), _svd_basis(b, 0.99)
    u, s, _ = np.linalg.svd(ua.T @ ub, full_matrices=False)
    assert core.svcca(r, sa, sb) == pytest.approx(s.mean(), rel=1e-5)
    h = ua @ u  # canonical variables of A, unit norm columns
    weights = np.abs(_zscore(a).T @ h / np.sqrt(len(a))).sum(0)
    assert core.pwcca(r, sa, sb) == pytest.approx((s * weights).sum() / weights.sum(), rel=1e-5)
    full_b = _svd_basis(b, None)
    y = _zscore(a)
    pred = np.linalg.norm(full_b.T @ y, axis=0) / np.linalg.norm(y, axis=0)
    np.testing.assert_allclose(core.linreg(r, sb), pred, atol=1e-6)


def test_self_similarity_is_one() -> None:
    a, _ = _pair(wa=8)
    m, sa, sb, r = _stats(a, a.copy(), 40)
    assert core.linear_cka(m, sa, sb) == pytest.approx(1.0, abs=1e-9)
    assert core.svcca(r, sa, sb) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(core.linreg(r, sb), 1.0, atol=1e-6)


def test_top_partners_of_a_permutation() -> None:
    a, _ = _pair(wa=8)
    perm = np.random.default_rng(3).permutation(8)
    _m, _sa, _sb, r = _stats(a, a[:, perm], 64)
    idx, vals = core.top_partners(r, 3)
    np.testing.assert_array_equal(idx[:, 0], np.argsort(perm))
    np.testing.assert_allclose(vals[:, 0], 1.0, atol=1e-6)
    assert (np.abs(vals[:, 0]) >= np.abs(vals[:, 1])).all() and (np.abs(vals[:, 1]) >= np.abs(vals[:, 2])).all()


def test_layer_measures_in_one_svd() -> None:
    a, b = _pair(n=300, wa=9, wb=6, seed=2)
    m, sa, sb, r = _stats(a, b, 50)
    got = core.layer_measures(m, r, sa, sb)
    _, sb2, sa2, r2 = _stats(b, a, 50)[0], _stats(b, a, 50)[1], _stats(b, a, 50)[2], _stats(b, a, 50)[3]
    assert got["svcca"] == pytest.approx(core.svcca(r, sa, sb))
    assert got["pwcca"] == pytest.approx(core.pwcca(r, sa, sb))
    assert got["pwcca_b"] == pytest.approx(core.pwcca(r2, sb2, sa2))
    assert got["cka"] == pytest.approx(core.linear_cka(m, sa, sb))
