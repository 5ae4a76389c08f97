"""Neuron Atlas: which neurons of which model encode what, as a database you can query.

>>> import atlas
>>> db = atlas.connect("sqlite:///atlas.db")          # doctest: +SKIP
>>> db.query("neurons in minilm where iou(noun) > 0.3")  # doctest: +SKIP

The package is lazy (PEP 562): ``import atlas`` loads the errors and the naming module only;
:class:`Atlas` and :func:`connect` (and with them SQLAlchemy) load on first use, so the
command line starts quickly.

>>> str(atlas.NeuronId.parse("minilm/mlp.3/12"))
'minilm/mlp.3/12'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atlas._version import __version__
from atlas.errors import (
    AtlasError,
    ConceptError,
    CorpusError,
    ExtractionError,
    MethodError,
    QueryError,
    QueryLimitError,
    QueryNameError,
    QuerySyntaxError,
    QueryTypeError,
    SchemaVersionError,
    StoreError,
    ConceptLimitError,
    StoreBusyError,
    StoreConnectionError,
    StoreFullError,
    StorePermissionError,
    StoreTimeoutError,
    StoreValueError,
)
from atlas.naming import NeuronId

if TYPE_CHECKING:
    from atlas.api import Atlas, connect

#: Names this package serves on first use, and the module each one lives in.
_LAZY = {"Atlas": "atlas.api", "connect": "atlas.api"}

__all__ = [
    "Atlas",
    "AtlasError",
    "ConceptError",
    "CorpusError",
    "ExtractionError",
    "MethodError",
    "NeuronId",
    "QueryError",
    "QueryLimitError",
    "QueryNameError",
    "QuerySyntaxError",
    "QueryTypeError",
    "SchemaVersionError",
    "StoreError",
    "ConceptLimitError",
    "StoreBusyError",
    "StoreConnectionError",
    "StoreFullError",
    "StorePermissionError",
    "StoreTimeoutError",
    "StoreValueError",
    "__version__",
    "connect",
]


def __getattr__(name: str) -> Any:
    """Import :class:`Atlas` and :func:`connect` (SQLAlchemy and the store) when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'atlas' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
