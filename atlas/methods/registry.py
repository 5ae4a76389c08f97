"""The registry of score methods: ``get(name)``, ``all()``, ``register_method``.

>>> from atlas.methods import registry
>>> registry.get("selectivity").value_range
(-1.0, 1.0)
>>> "iou" in [m.name for m in registry.all()]
True
"""

from __future__ import annotations

from atlas.methods.base import MethodSpec, ScoreMethod, all_methods, get, register_method

#: ``registry.all()`` (the contract's name; shadows the builtin only inside this module).
all = all_methods  # noqa: A001

__all__ = ["MethodSpec", "ScoreMethod", "all", "get", "register_method"]
