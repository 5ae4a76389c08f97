"""Compositional explanations (Mu & Andreas, NeurIPS 2020): for every neuron, the logical
formula over concepts whose mask best matches the neuron's mask (METHODS.md §1.2).

* :mod:`atlas.explain.bits` — packed bit masks and popcounts;
* :mod:`atlas.explain.search` — the beam search for all neurons of a layer at once, and the
  exact mode (branch and bound on IoU) for formulas of up to 3 atoms;
* :mod:`atlas.explain.reference` — a per-neuron NumPy port of compexp's search (the baseline of
  ``bench/bench_explain.py`` and of the tests).
"""
