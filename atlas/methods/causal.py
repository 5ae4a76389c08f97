"""Causal methods (METHODS.md §5, §6.1, §7.2): scores computed by running the model with
neurons clamped or scaled, not from stored activations.

They are registered here (``kind="causal"``, ``family="causal"``) so their scores are score
sets like every method's: the query language reads ``ablation(noun)`` as it reads
``ap(noun)``, ``atlas method list`` documents them, and the neuron view shows them. They are
computed by :mod:`atlas.causal` (``atlas ablate --neurons``, ``atlas attribute``), never by
``atlas score``, whose job fits concept methods only; ``fit`` says so.

=====================  ==============================================================  ===========
name                   per (neuron, concept)                                           range
=====================  ==============================================================  ===========
``ablation``           drop of the concept's output probe's soft balanced accuracy      [-1, 1]
                       when the neuron is clamped (> 0: the output says less about c)
``ablation_loss``      increase of the model's own loss on the concept's words (nats;    open
                       masked-LM or causal-LM loss; models with an LM head only)
``ablation_embedding`` mean 1 − cos of the mean-pooled sentence embedding, with and      [0, 2]
                       without the clamp, over sentences containing the concept
``attribution``        integrated gradients (Dai et al. 2022) of the neuron's            open
                       activation to the target (gold word log-prob for LM models; the
                       concept probe's logit otherwise), mean over the concept's words
=====================  ==============================================================  ===========

>>> from atlas.methods import registry
>>> [m.name for m in registry.select(kind="causal")]
['ablation', 'ablation_loss', 'ablation_embedding', 'attribution']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from atlas.errors import MethodError
from atlas.methods.base import ScoreMethod, register_method

#: Parameters shared by the ablation scores (what the stored ``method`` row records).
ABLATION_PARAMS = {
    "value": "what a neuron is clamped to: zero, mean (its mean over the run's words) or a number",
    "sentences": "evaluation sentences (a seeded sample of the run's corpus)",
    "probe_sentences": "sentences the output probes are trained on",
    "batch_sentences": "sentences per forward pass (each tiled once per neuron of the group)",
    "seed": "the sample's seed (and the masked-LM mask's)",
}
_ABLATION_DEFAULTS: dict[str, Any] = {"value": "zero", "sentences": 64, "probe_sentences": 300,
                                      "batch_sentences": 16, "seed": 0}


def compute_command(method: str, run: str = "RUN") -> str:
    """The command that computes causal score ``method`` for ``run`` (``atlas score`` cannot).

    >>> compute_command("attribution", "minilm"), compute_command("ablation_loss")
    ('atlas attribute --run minilm', 'atlas ablate --run RUN --neurons')
    """
    return f"atlas attribute --run {run}" if method == "attribution" else f"atlas ablate --run {run} --neurons"


class CausalMethod(ScoreMethod):
    """A method computed by intervening on the model (:mod:`atlas.causal`), not from activations."""

    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:
        raise MethodError(
            f"{self.spec.name} is a causal method: it runs the model with neurons clamped",
            hint=f"compute it with: {compute_command(self.spec.name)}",
        )


@register_method(
    "ablation", description="drop of the concept's output-probe soft balanced accuracy when the neuron is clamped",
    family="causal", kind="causal", value_range=(-1.0, 1.0), defaults=_ABLATION_DEFAULTS, reference="§7.2, §6.1",
    param_docs=ABLATION_PARAMS,
)
class Ablation(CausalMethod):
    """Soft balanced accuracy of a logistic probe of the concept on the output word vectors,
    unablated minus ablated (:mod:`atlas.causal.ablation`)."""


@register_method(
    "ablation_loss", description="increase of the model's own LM loss on the concept's words when the neuron is clamped (nats)",
    family="causal", kind="causal", value_range=(None, None), defaults=_ABLATION_DEFAULTS, reference="§5.1, §6.1",
    param_docs=ABLATION_PARAMS,
)
class AblationLoss(CausalMethod):
    """Masked-LM (15 % of the words, seeded) or causal-LM loss increase, nats per word."""


@register_method(
    "ablation_embedding", description="mean 1 - cos of the sentence embedding when the neuron is clamped, over sentences with the concept",
    family="causal", kind="causal", value_range=(0.0, 2.0), defaults=_ABLATION_DEFAULTS, level="sentence",
    reference="§6.1", param_docs=ABLATION_PARAMS, preposition="on",
)
class AblationEmbedding(CausalMethod):
    """Change of the mean-pooled sentence embedding (a sentence encoder's output)."""


@register_method(
    "attribution", description="integrated gradients of the neuron's activation to the target, mean over the concept's words",
    family="causal", kind="causal", value_range=(None, None),
    defaults={"steps": 20, "baseline": "zero", "rule": "midpoint", "target": "auto", "sentences": 64,
              "probe_sentences": 300, "batch_sentences": 16, "seed": 0},
    reference="§5.1, §5.2",
    param_docs={
        "steps": "integration steps m (Dai et al.: 20)",
        "baseline": "the layer's activations at alpha = 0 (zero, as Dai et al.)",
        "rule": "Riemann rule over alpha in [0, 1]: midpoint ((k + 0.5) / m)",
        "target": "logprob (gold word log-probability, LM models) or probe (the concept probe's logit); auto picks",
        "sentences": "evaluation sentences", "probe_sentences": "probe training sentences",
        "batch_sentences": "sentences per pass", "seed": "the sample's seed",
    },
)
class Attribution(CausalMethod):
    """Dai et al.'s knowledge attribution, per (neuron, concept) (:mod:`atlas.causal.attribution`)."""
