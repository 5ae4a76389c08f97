"""Causal methods: does the model *use* what its neurons encode? (METHODS.md §5, §6.1, §7.2)

Stored activations say what a neuron encodes; these methods run the model again with neurons
clamped, scaled or integrated along a path, and measure what changes:

* :mod:`atlas.causal.model` — a run's model reloaded (with its LM head when it has one), its
  sentences encoded word by word, word vectors, sentence embeddings and word log-probabilities;
* :mod:`atlas.causal.sample` — the evaluation sample, the output probes, the effect sums of one
  batch of interventions;
* :mod:`atlas.causal.ablation` — per-neuron ablation scores (``ablation``, ``ablation_loss``,
  ``ablation_embedding`` score sets, batched: one neuron per tiled copy of the batch) and
  top/random/bottom-k curves of a stored ranking (``ablation_curve`` rows);
* :mod:`atlas.causal.attribution` — integrated gradients per (neuron, concept) (``attribution``);
* :mod:`atlas.causal.steer` — set or scale neurons on a text and show the output before/after.

The scores are score sets of the methods declared in :mod:`atlas.methods.causal`, so the query
language reads them like any other: ``neurons in minilm where ap(noun) > 0.8 and ablation(noun) > 0.01``
(encoded *and* used). The package re-exports nothing; import the module you need.
"""
