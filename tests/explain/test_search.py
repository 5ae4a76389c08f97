"""The search for compositional explanations: beam search, exact mode, packed bits, against a
brute-force enumeration, the compexp port and planted neurons."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import atlas.corpus.formula as fm
from atlas.explain import bits
from atlas.explain.exact import exact_search
from atlas.explain.reference import compexp_search
from atlas.explain.search import Atoms, Formula, beam_search, mask_rows, score
from atlas.methods.stats import binary_masks


def brute_force(atoms: np.ndarray, neuron: np.ndarray, length: int) -> dict[int, float]:
    """The best IoU of every left-deep formula of at most ``length`` distinct atoms, by enumeration."""
    C = atoms.shape[0]
    best = {ell: 0.0 for ell in range(1, length + 1)}

    def iou(mask: np.ndarray) -> float:
        union = (mask | neuron).sum()
        return float((mask & neuron).sum() / union) if union else 0.0

    def walk(mask: np.ndarray, used: tuple[int, ...]) -> None:
        value = iou(mask)
        for ell in range(len(used), length + 1):
            best[ell] = max(best[ell], value)
        if len(used) == length:
            return
        for c in range(C):
            if c in used:
                continue
            for new in (mask & atoms[c], mask | atoms[c], mask & ~atoms[c]):
                walk(new, used + (c,))

    for c in range(C):
        walk(atoms[c], (c,))
    return best


def random_case(seed: int, n: int = 120, C: int = 7, m: int = 6) -> tuple[Atoms, np.ndarray]:
    rng = np.random.default_rng(seed)
    Y = rng.random((n, C)) < rng.uniform(0.05, 0.5, size=C)
    Y[:, 0] |= Y[:, 1]  # nested and overlapping concepts, as upos and feats are
    masks = np.zeros((n, m), bool)
    masks[:, 0] = Y[:, 0] & ~Y[:, 2]
    masks[:, 1] = (Y[:, 3] | Y[:, 4]) & (rng.random(n) < 0.8)
    masks[:, 2:] = rng.random((n, m - 2)) < rng.uniform(0.02, 0.3, size=m - 2)
    return Atoms.from_matrix([f"c{i}" for i in range(C)], Y), masks


def test_bits_roundtrip_and_counts() -> None:
    rng = np.random.default_rng(1)
    m = rng.random((5, 130)) < 0.3
    packed = bits.pack(m)
    assert packed.shape == (5, 3) and packed.dtype == np.uint64
    assert np.array_equal(bits.unpack(packed, 130), m)
    assert bits.count(packed).tolist() == m.sum(1).tolist()
    assert bits.count(packed[0] & packed[1]) == (m[0] & m[1]).sum()


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_brute_force_and_beam_is_never_better(seed: int) -> None:
    atoms, masks = random_case(seed)
    beam = beam_search(atoms, masks, length=3, beam=2)
    exact, info = exact_search(atoms, masks, length=3, lower=beam)
    alone, _ = exact_search(atoms, masks, length=3)  # without the beam's lower bound
    for j in range(masks.shape[1]):
        truth = brute_force(atoms.dense[:-1].T, masks[:, j], 3)
        for ell in (1, 2, 3):
            assert exact[j][ell].score == pytest.approx(truth[ell], abs=1e-12), (j, ell)
            assert alone[j][ell].score == pytest.approx(truth[ell], abs=1e-12), (j, ell)
            assert beam[j][ell].score <= exact[j][ell].score + 1e-12
            # the formula returned has the score claimed
            f = exact[j][ell]
            mask = fm.evaluate(fm.parse_formula(f.text(atoms.names)), lambda n: atoms.dense[:-1, atoms.names.index(n)])
            assert score(np.array([(mask & masks[:, j]).sum()]), np.array([mask.sum()]), np.array([masks[:, j].sum()]))[0] == pytest.approx(f.score)
    assert info.prefixes > 0


def test_beam_equals_the_compexp_port() -> None:
    rng = np.random.default_rng(7)
    n, C = 3000, 14
    Y = rng.random((n, C)) < rng.uniform(0.02, 0.4, size=C)
    atoms = Atoms.from_matrix([f"c{i}" for i in range(C)], Y)
    X = rng.normal(size=(n, 5)).astype(np.float32) + 2.0 * Y[:, :5]
    masks = binary_masks(X, alpha=0.05)
    for metric in ("iou", "precision", "recall"):
        ours = beam_search(atoms, masks, length=3, beam=4, metric=metric)
        for j in range(masks.shape[1]):
            ref = compexp_search(masks[:, j], Y.T, atoms.names, length=3, beam=4, metric=metric)
            for ell in (1, 2, 3):
                assert ours[j][ell].score == pytest.approx(ref[ell][1], abs=1e-12), (metric, j, ell)


def _planted_corpus(n: int = 4000, seed: int = 3) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    upos = rng.choice(["NOUN", "VERB", "ADJ", "DET", "ADP"], size=n, p=[0.3, 0.2, 0.15, 0.2, 0.15])
    plural = (upos == "NOUN") & (rng.random(n) < 0.4)
    past = (upos == "VERB") & (rng.random(n) < 0.5)
    names = ["noun", "verb", "adjective", "determiner", "adposition", "plural", "past_tense"]
    cols = [upos == "NOUN", upos == "VERB", upos == "ADJ", upos == "DET", upos == "ADP", plural, past]
    return names, np.stack(cols, axis=1)


@pytest.mark.parametrize("planted", ["noun and not plural", "verb or adjective", "adjective or noun and not plural"])
def test_planted_formulas_are_found(planted: str) -> None:
    names, Y = _planted_corpus()
    atoms = Atoms.from_matrix(names, Y)
    target = fm.evaluate(fm.parse_formula(planted), lambda n: Y[:, names.index(n)])
    rng = np.random.default_rng(0)
    X = (target - 0.5 + 0.1 * rng.random(target.size)).astype(np.float32)[:, None]
    masks = binary_masks(X, mask="fires")
    assert np.array_equal(masks[:, 0], target)
    found = beam_search(atoms, masks, length=3, beam=10)[0]
    ell = fm.parse_formula(planted)
    ell = len(fm.name_nodes(ell))
    best = found[ell]
    assert best.score == 1.0 and best.formula.length == ell
    assert found[ell - 1].score < 1.0
    got = fm.evaluate(fm.parse_formula(best.text(names)), lambda n: Y[:, names.index(n)])
    assert np.array_equal(got, target)
    exact, _ = exact_search(atoms, masks, length=ell)
    assert exact[0][ell].score == 1.0 and exact[0][ell].formula.length == ell


def test_canonical_text_parses_back_and_sorts_operands() -> None:
    names = ["noun", "plural", "verb", "feat:Number=Plur", "word:n't"]
    f = Formula((1, 0, 2), (2, 1))  # (plural and not noun) or verb
    assert f.text(names) == "verb or plural and not noun"
    g = Formula((0, 1, 3), (0, 0))
    assert g.text(names) == Formula((3, 0, 1), (0, 0)).text(names) == "feat:Number=Plur and noun and plural"
    h = Formula((0, 2, 4), (1, 0))  # (noun or verb) and word:n't
    text = h.text(names)
    assert text == "word:n't and (noun or verb)"
    assert fm.to_text(fm.parse_formula(text)) == text


def test_mask_rows_pads_with_the_extra_row() -> None:
    masks = np.array([[1, 0], [0, 0], [1, 1]], bool)
    rows, k = mask_rows(masks)
    assert k.tolist() == [2, 1]
    assert rows.tolist() == [[0, 2], [2, 3]]


def test_top_mask_length1_equals_the_iou_score() -> None:
    """Without ties, the best single atom's IoU is the ``iou`` method's score."""
    from atlas.methods.registry import get

    rng = np.random.default_rng(5)
    n, C = 2000, 6
    Y = rng.random((n, C)) < 0.1
    X = rng.normal(size=(n, 4)).astype(np.float32) + 3 * Y[:, :4]
    est = get("iou").make().fit(X, Y)
    found = beam_search(Atoms.from_matrix([f"c{i}" for i in range(C)], Y), binary_masks(X), length=1)
    for j in range(4):
        assert found[j][1].score == pytest.approx(np.nanmax(est.scores_[j]))


def test_brute_force_enumerates_the_whole_space() -> None:
    """The enumeration itself: with 3 atoms it scores 3 + 3·2·3 + 3·2·1·9 formulas' masks."""
    atoms = np.eye(3, dtype=bool)
    neuron = np.array([1, 1, 0], bool)
    assert brute_force(atoms, neuron, 2)[2] == 1.0  # c0 or c1
    assert brute_force(atoms, neuron, 1)[1] == 0.5
    assert len(list(itertools.permutations(range(3), 3))) * 9 == 54
