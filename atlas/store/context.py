"""What a stage needs from an open atlas, as a protocol: the engine and the activation store.

Stages (corpus, extract, methods, query, ...) take any object with these attributes, usually
an :class:`atlas.Atlas`, without importing the facade, which sits in the last layer: imports
run one way, from the facade down to the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from atlas.store.activations import ActivationStore


class AtlasContext(Protocol):
    """An open atlas as the stages see it (:class:`atlas.Atlas` is one)."""

    engine: Engine
    store: ActivationStore
