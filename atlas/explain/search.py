"""The search for compositional explanations: for each neuron, the logical formula over concepts
whose mask best matches the neuron's mask (Mu & Andreas, NeurIPS 2020; METHODS.md §1.2).

A formula is *left-deep*, as compexp builds them: an atom, then ``op atom`` repeated, with
``op`` one of ``and``, ``or``, ``and not`` and distinct atoms (:class:`Formula`). Its *length* is
its number of atoms. Its score against a neuron mask ``N`` (``k = |N|`` words) is, with
``I = |N ∧ F|`` and ``s = |F|``: ``iou = I / (k + s − I)``, ``precision = I / s``,
``recall = I / k`` (0 when the denominator is 0).

**Beam search** (:func:`beam_search`, compexp's procedure): score every atom, keep the best
``beam``; then ``length − 1`` times extend every beam formula by every atom with each operator,
merge the candidates with the beam and keep the best ``beam`` distinct formulas (formulas are
told apart by their canonical text, so ``a and b`` and ``b and a`` take one place). The result
for each ``ℓ ≤ length`` is the best formula of at most ``ℓ`` atoms the search has scored, which
is what compexp answers with ``MAX_FORMULA_LENGTH = ℓ``.

**Fast, for all neurons of a layer at once.** The counts are all a search needs, and most are
shared between neurons:

* ``I``: a neuron's mask holds few words (``top``: 0.5 % of the corpus), so every atom is
  restricted to the neuron's words and packed (:mod:`atlas.explain.bits`): ``I`` of
  ``F op c`` is a popcount over ``ceil(k / 64)`` words. One ``and`` popcount gives all three
  operators: ``I(F or c) = I(F) + I(c) − I(F and c)``, ``I(F and not c) = I(F) − I(F and c)``.
* ``s``: a formula's corpus-wide counts ``|F ∧ c|`` for every atom ``c`` are computed once per
  formula and kept in a :class:`FormulaCache` shared by every neuron whose beam holds it (the
  atoms' own row is the pair table ``|a ∧ b|``); the sizes of the three extensions follow
  by the same identities.

**Exact mode** (:func:`exact_search`, IoU, length ≤ 3): the provably best formula of at most
``ℓ`` atoms, by branch and bound from the beam's answer (a lower bound). Length 2 is enumerated
completely from the pair tables. For length 3, every length-2 prefix ``G`` with ``I(G) > 0`` is
bounded before its extensions are counted (``G`` with ``I(G) = 0`` only yields formulas no
better than a single atom or ``I = 0``): with ``q = s − I`` the false positives,

* ``G and c``, ``G and not c``: ``I ≤ I(G)`` and ``q ≥ 0``, so ``IoU ≤ I(G) / k``;
* ``G or c``: ``I ≤ I(G) + I(c)``, ``q ≥ max(q(G), q(c))``, so ``IoU ≤ max_c min(k, I(G) +
  I(c)) / (k + max(q(G), q(c)))`` (evaluated for all ``G`` at once from the atoms sorted by
  ``q``).

Prefixes whose bound beats the best score so far are expanded, best bound first, with their
exact ``I`` (restricted popcounts) and a second, per-candidate bound (``and``: ``q ≥ 0``;
``or``: ``q ≥ max(q(G), q(c))``; ``and not``: ``q ≥ q(G) − q(c)``); only the survivors need
the corpus-wide triple counts ``|a ∧ b ∧ c|`` (a row per atom pair, cached across neurons).

Example::

    >>> import numpy as np
    >>> Y = np.array([[1, 0, 1], [1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]], bool)
    >>> atoms = Atoms.from_matrix(["noun", "plural", "verb"], Y)
    >>> N = np.array([1, 0, 1, 0, 0], bool)          # the neuron fires on the singular nouns
    >>> found = beam_search(atoms, N[:, None], length=2, beam=5)[0]
    >>> found[2].text(atoms.names), round(found[2].score, 3), round(found[1].score, 3)
    ('noun and not plural', 1.0, 0.667)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

import atlas.corpus.formula as fm
from atlas.explain import bits

#: Operators, by code: ``F and c``, ``F or c``, ``F and not c``.
OPS = ("and", "or", "and not")
#: Scores of a formula against a neuron mask.
METRICS = ("iou", "precision", "recall")
#: compexp's defaults (NLI: beam 10; vision: length 3).
BEAM = 10
LENGTH = 3
#: Exact mode searches formulas of at most this many atoms.
EXACT_MAX_LENGTH = 3
#: Words of packed restricted masks one block of neurons may hold (memory of the search).
BLOCK_WORDS = 4 << 20
#: Formulas the shared cache keeps before it forgets the non-atoms (between blocks).
CACHE_MAX = 50_000


@dataclass(frozen=True)
class Formula:
    """A left-deep formula: ``atoms[0] ops[0] atoms[1] ops[1] ...`` (op codes index :data:`OPS`)."""

    atoms: tuple[int, ...]
    ops: tuple[int, ...] = ()

    @property
    def length(self) -> int:
        return len(self.atoms)

    def extend(self, op: int, atom: int) -> Formula:
        return Formula(self.atoms + (atom,), self.ops + (op,))

    def tree(self, names: Sequence[str]) -> fm.Node:
        """The canonical formula tree: ``and``/``or`` flattened; operands sorted (names, then
        groups, then negations, each by text), as compexp sorts them."""
        node: fm.Node = fm.Name(names[self.atoms[0]])
        for op, atom in zip(self.ops, self.atoms[1:]):
            leaf: fm.Node = fm.Name(names[atom]) if op != 2 else fm.Not(fm.Name(names[atom]))
            cls = fm.Or if op == 1 else fm.And
            parts = list(node.operands) if isinstance(node, cls) else [node]
            node = cls(tuple(sorted(parts + [leaf], key=_operand_order)))
        return node

    def text(self, names: Sequence[str]) -> str:
        """The canonical text (parses back with :func:`atlas.corpus.formula.parse_formula`)."""
        return fm.to_text(self.tree(names))


def _operand_order(node: fm.Node) -> tuple[int, str]:
    """Canonical operand order: names, then groups, then negations; by text within each."""
    rank = 2 if isinstance(node, fm.Not) else (0 if isinstance(node, fm.Name) else 1)
    return rank, fm.to_text(node)


def canonical(node: fm.Node) -> fm.Node:
    """A formula tree in the canonical form explanations are stored in: ``and``/``or`` flattened,
    operands sorted (:meth:`Formula.tree`)."""
    if isinstance(node, fm.Name):
        return fm.Name(node.name)
    if isinstance(node, fm.Not):
        return fm.Not(canonical(node.operand))
    cls = type(node)
    parts: list[fm.Node] = []
    for item in node.operands:
        c = canonical(item)
        parts.extend(c.operands if isinstance(c, cls) else [c])  # type: ignore[union-attr]
    return cls(tuple(sorted(parts, key=_operand_order)))


def canonical_text(text: str) -> str:
    """The canonical text of a formula, as explanations are stored (so a query's
    ``explanation = "not plural and noun"`` finds ``noun and not plural``).

    >>> canonical_text("not plural AND noun"), canonical_text("(a or b) or (c and d)")
    ('noun and not plural', 'a or b or c and d')
    """
    return fm.to_text(canonical(fm.parse_formula(text)))


@dataclass
class Found:
    """A formula with its counts and score against one neuron."""

    formula: Formula
    score: float
    inter: int  # |N ∧ F|
    size: int  # |F|

    def text(self, names: Sequence[str]) -> str:
        return self.formula.text(names)


def score(inter: np.ndarray, size: np.ndarray, k: np.ndarray, metric: str = "iou") -> np.ndarray:
    """The metric from the counts (float64, broadcast; 0 where the denominator is 0).

    >>> score(np.array([2]), np.array([3]), np.array([4])).tolist()
    [0.4]
    """
    inter = np.asarray(inter, np.float64)
    if metric == "iou":
        den = np.asarray(k, np.float64) + size - inter
    elif metric == "precision":
        den = np.asarray(size, np.float64) + 0 * inter
    elif metric == "recall":
        den = np.asarray(k, np.float64) + 0 * inter
    else:
        raise ValueError(f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, inter / np.where(den > 0, den, 1), 0.0)


@dataclass
class Atoms:
    """The atoms (concepts) formulas are made of, on one corpus.

    Attributes:
        names: concept names.
        dense: ``bool [n_words + 1, n_atoms]``; the extra last row is all false (the padding row
            of neurons' word lists).
        full: packed masks over the corpus, ``uint64 [n_atoms, ceil(n_words / 64)]``.
        sizes: ``|c|`` per atom.
    """

    names: list[str]
    dense: np.ndarray
    full: np.ndarray
    sizes: np.ndarray
    _pairs: np.ndarray | None = None

    @classmethod
    def from_matrix(cls, names: Sequence[str], Y: np.ndarray) -> Atoms:
        """Atoms from a ``bool [n_words, n_atoms]`` matrix."""
        Y = np.asarray(Y, bool)
        dense = np.zeros((Y.shape[0] + 1, Y.shape[1]), bool)
        dense[:-1] = Y
        return cls(list(names), dense, bits.pack(Y.T), Y.sum(0).astype(np.int64))

    @property
    def n_words(self) -> int:
        return int(self.dense.shape[0] - 1)

    @property
    def pairs(self) -> np.ndarray:
        """``|a ∧ b|`` for every pair of atoms, ``int64 [n_atoms, n_atoms]`` (computed once)."""
        if self._pairs is None:
            Yf = self.dense[:-1].astype(np.float32 if self.n_words < (1 << 24) else np.float64)
            self._pairs = np.rint(Yf.T @ Yf).astype(np.int64)
        return self._pairs

    def restrict(self, rows: np.ndarray) -> np.ndarray:
        """Each neuron's atoms on its own words: ``rows`` ``int [m, r]`` (word rows of each
        neuron's mask, padded with ``n_words``) → packed ``uint64 [m, n_atoms, ceil(r / 64)]``."""
        sub = self.dense[rows]  # [m, r, C]
        return bits.pack(np.swapaxes(sub, 1, 2))


@dataclass
class FormulaCache:
    """Corpus-wide masks of formulas and their counts with every atom, shared across neurons.

    Formula ``i`` has a packed mask, a size, and (computed on demand, :meth:`rows`) the row
    ``|F_i ∧ c|`` over all atoms ``c``. Atoms are formulas ``0 .. n_atoms − 1``, their rows the
    pair table.
    """

    atoms: Atoms
    index: dict[str, int] = field(default_factory=dict)
    masks: list[np.ndarray] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    _rows: dict[int, None] = field(default_factory=dict)  # formulas whose row is in the table
    _table: np.ndarray | None = None
    _done: int = 0

    def __post_init__(self) -> None:
        if not self.masks:
            self.reset()

    def reset(self) -> None:
        """Forget every formula but the atoms."""
        a = self.atoms
        self.index = {name: i for i, name in enumerate(a.names)}
        self.masks = list(a.full)
        self.sizes = a.sizes.tolist()
        self._rows = {}
        self._table = None

    def __len__(self) -> int:
        return len(self.masks)

    def add(self, key: str, parent: int, op: int, atom: int) -> int:
        """The id of formula ``key`` (= formula ``parent`` ``op`` ``atom``), added when new."""
        found = self.index.get(key)
        if found is not None:
            return found
        p, c = self.masks[parent], self.atoms.full[atom]
        mask = p & c if op == 0 else (p | c if op == 1 else p & ~c)
        self.index[key] = len(self.masks)
        self.masks.append(mask)
        self.sizes.append(int(bits.count(mask)))
        return len(self.masks) - 1

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """``|F_i ∧ c|`` for the formulas ``ids`` (any shape) and every atom: ``ids.shape + (C,)``."""
        ids = np.asarray(ids, np.int64)
        n_atoms = len(self.atoms.names)
        if self._table is None or self._table.shape[0] < len(self.masks):
            grown = np.zeros((max(2 * len(self.masks), n_atoms + 1024), n_atoms), np.int64)
            if self._table is None:
                grown[:n_atoms] = self.atoms.pairs
                self._done = n_atoms
            else:
                grown[: self._table.shape[0]] = self._table
            self._table = grown
        wanted = np.unique(ids[ids >= self._done]) if ids.size else ids
        missing = [int(i) for i in wanted if int(i) not in self._rows]
        chunk = max(1, BLOCK_WORDS // max(1, self.atoms.full.size))
        for start in range(0, len(missing), chunk):
            part = missing[start : start + chunk]
            stacked = np.stack([self.masks[i] for i in part])
            self._table[part] = bits.count(stacked[:, None, :] & self.atoms.full[None, :, :])
            self._rows.update(dict.fromkeys(part))
        return self._table[ids]


def mask_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Neuron masks ``bool [n_words, m]`` → each neuron's word rows padded with ``n_words``
    (``int64 [m, r]``, ``r`` = the largest mask) and the mask sizes ``k`` (``int64 [m]``)."""
    masks = np.asarray(masks, bool)
    n, m = masks.shape
    k = masks.sum(0).astype(np.int64)
    r = max(1, int(k.max()) if m else 1)
    rows = np.full((m, r), n, np.int64)
    cols, words = np.nonzero(masks.T)
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    rows[cols, np.arange(cols.size) - starts[cols]] = words
    return rows, k


def beam_search(
    atoms: Atoms, masks: np.ndarray, *, length: int = LENGTH, beam: int = BEAM, metric: str = "iou",
    cache: FormulaCache | None = None,
) -> list[dict[int, Found]]:
    """compexp's beam search for every neuron of ``masks`` (``bool [n_words, m]``).

    Returns, per neuron, ``{ℓ: Found}`` for ``ℓ = 1 .. length``: the best formula of at most
    ``ℓ`` atoms scored by the search (``ℓ = 1``: the best single atom). Neurons are searched in
    blocks sized to :data:`BLOCK_WORDS`; ``cache`` (shared between calls: between layers) keeps
    formula masks and their counts.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}")
    cache = cache if cache is not None else FormulaCache(atoms)
    rows, k = mask_rows(masks)
    out: list[dict[int, Found]] = []
    per_neuron = len(atoms.names) * bits.n_words(rows.shape[1]) * max(1, beam)
    step = max(1, BLOCK_WORDS // max(1, per_neuron))
    for start in range(0, rows.shape[0], step):
        if len(cache) > CACHE_MAX:
            cache.reset()
        S = atoms.restrict(rows[start : start + step])
        out.extend(_beam_block(atoms, cache, S, k[start : start + step], length, beam, metric))
    return out


@dataclass
class _Entry:
    """A beam formula of one neuron."""

    formula: Formula
    key: str
    fid: int  # its id in the cache
    restricted: np.ndarray  # packed, on the neuron's words
    inter: int
    size: int
    score: float


def _beam_block(
    atoms: Atoms, cache: FormulaCache, S: np.ndarray, k: np.ndarray, length: int, beam: int, metric: str
) -> list[dict[int, Found]]:
    """The beam search for one block of neurons (``S``: their restricted atoms ``[m, C, w]``)."""
    m, C, w = S.shape
    I1 = bits.count(S)  # [m, C]
    sc1 = score(I1, atoms.sizes[None, :], k[:, None], metric)
    order = np.argsort(-sc1, axis=1, kind="stable")[:, :beam]
    best: list[dict[int, Found]] = []
    beams: list[list[_Entry]] = []
    for i in range(m):
        entries = [
            _Entry(Formula((int(a),)), atoms.names[a], int(a), S[i, a], int(I1[i, a]), int(atoms.sizes[a]), float(sc1[i, a]))
            for a in order[i]
        ]
        beams.append(entries)
        e = entries[0]
        best.append({1: Found(e.formula, e.score, e.inter, e.size)})
    keys: dict[tuple[str, int, int], str] = {}
    for step in range(2, length + 1):
        cands = _extend(atoms, cache, S, k, I1, beams, metric)
        for i in range(m):
            beams[i] = _next_beam(atoms, cache, keys, S[i], beams[i], cands, i, beam, best[i], step)
    return best


def _extend(
    atoms: Atoms, cache: FormulaCache, S: np.ndarray, k: np.ndarray, I1: np.ndarray, beams: list[list[_Entry]], metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts and scores of every extension ``F op c`` of every beam formula: arrays
    ``[m, B, 3, C]`` of ``I``, ``s`` and score (``-inf`` where ``c`` is already in ``F`` or the
    beam slot is empty)."""
    m, C, w = S.shape
    B = max(len(b) for b in beams)
    Fb = np.zeros((m, B, w), np.uint64)
    fid = np.zeros((m, B), np.int64)
    If = np.zeros((m, B), np.int64)
    sf = np.zeros((m, B), np.int64)
    invalid = np.ones((m, B, C), bool)
    for i, entries in enumerate(beams):
        for j, e in enumerate(entries):
            Fb[i, j], fid[i, j], If[i, j], sf[i, j] = e.restricted, e.fid, e.inter, e.size
            invalid[i, j] = False
            invalid[i, j, list(e.formula.atoms)] = True
    inter = bits.count(Fb[:, :, None, :] & S[:, None, :, :])  # [m, B, C]
    G = cache.rows(fid)  # [m, B, C]
    sizes = atoms.sizes[None, None, :]
    I = np.stack([inter, If[..., None] + I1[:, None, :] - inter, If[..., None] - inter], axis=2)
    s = np.stack([G, sf[..., None] + sizes - G, sf[..., None] - G], axis=2)
    sc = score(I, s, k[:, None, None, None], metric)
    sc[np.broadcast_to(invalid[:, :, None, :], sc.shape)] = -np.inf
    return I, s, sc


def _next_beam(
    atoms: Atoms, cache: FormulaCache, keys: dict[tuple[str, int, int], str], Si: np.ndarray, entries: list[_Entry],
    cands: tuple[np.ndarray, np.ndarray, np.ndarray], i: int, beam: int, best: dict[int, Found], step: int,
) -> list[_Entry]:
    """One neuron's next beam: its best candidates merged with its beam (distinct formulas), and
    its best formula of at most ``step`` atoms."""
    I, s, sc = (a[i] for a in cands)  # [B, 3, C]
    flat = sc.reshape(-1)
    n_take = min(flat.size, 3 * beam + 8)
    top = np.argpartition(-flat, n_take - 1)[:n_take] if n_take < flat.size else np.arange(flat.size)
    top = top[np.lexsort((top, -flat[top]))]
    pool: list[tuple[float, int, _Entry | tuple[int, int, int]]] = [(e.score, -1, e) for e in entries]
    top = top[np.isfinite(flat[top])]
    where = np.unravel_index(top, sc.shape)
    pool += list(zip(flat[top].tolist(), top.tolist(), zip(*(w.tolist() for w in where))))
    pool.sort(key=lambda p: (-p[0], p[1]))
    chosen: list[_Entry] = []
    seen: set[str] = set()
    for value, _, item in pool:
        if isinstance(item, _Entry):
            entry = item
        else:
            j, op, c = item
            parent = entries[j]
            key = keys.get((parent.key, op, c))
            formula = parent.formula.extend(op, c)
            if key is None:
                key = keys[(parent.key, op, c)] = formula.text(atoms.names)
            if key in seen:
                continue
            r = parent.restricted
            restricted = r & Si[c] if op == 0 else (r | Si[c] if op == 1 else r & ~Si[c])
            entry = _Entry(formula, key, cache.add(key, parent.fid, op, c), restricted, int(I[j, op, c]), int(s[j, op, c]), value)
        if entry.key in seen:
            continue
        seen.add(entry.key)
        chosen.append(entry)
        if len(chosen) == beam:
            break
    top_entry = chosen[0]
    previous = best[step - 1]
    best[step] = (Found(top_entry.formula, top_entry.score, top_entry.inter, top_entry.size)
                  if top_entry.score > previous.score else previous)
    return chosen


__all__ = ["Atoms", "BEAM", "canonical", "canonical_text", "Formula", "FormulaCache", "Found", "LENGTH", "METRICS", "OPS", "beam_search", "mask_rows", "score"]
