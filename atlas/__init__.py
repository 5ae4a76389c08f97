"""Neuron Atlas: which neurons of which model encode what, as a database you can query.

>>> import atlas
>>> db = atlas.connect("sqlite:///atlas.db")          # doctest: +SKIP
>>> db.query("neurons in minilm where iou(noun) > 0.3")  # doctest: +SKIP
"""

from atlas.api import Atlas, connect
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
)
from atlas.naming import NeuronId

__version__ = "0.1.0"

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
    "connect",
]
