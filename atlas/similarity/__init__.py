"""Cross-model neuron search (METHODS.md §6): which neurons of one model behave like neurons of
another, and which layers are alike.

* :mod:`atlas.similarity.core`: streaming second moments of two layers and the measures built on
  them (Pearson, linear CKA, SVCCA, PWCCA, linreg, top partners), plain numpy;
* :mod:`atlas.similarity.job`: ``correlate(db, a, b)``, the resumable, atomic job that stores
  them (``correlation``, ``similarity``, ``neuron_similarity``, ``layer_similarity``);
* :mod:`atlas.similarity.read`: reading them back as DataFrames (the facade's and the views').
"""
