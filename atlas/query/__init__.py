"""The Neuron Atlas query language: text → Lark LALR parse → AST → binder → SQLAlchemy Core → pandas.

Stages (each a module, each importing only earlier ones): :mod:`~atlas.query.errors` (caret
diagrams), :mod:`~atlas.query.ast`, :mod:`~atlas.query.canonical` (``format``: the canonical
text of trees), :mod:`~atlas.query.parser` (grammar.lark, the one definition of the keywords),
:mod:`~atlas.query.bound` (the bound tree's types), :mod:`~atlas.query.binder` (catalog checks,
all errors at once), :mod:`~atlas.query.compiler`, :mod:`~atlas.query.execute` (deadline, row
cap), :mod:`~atlas.query.composite` (composite concepts), :mod:`~atlas.query.describe`
(English). The public functions live in :mod:`atlas.query.api`.

>>> from atlas.query import format_query
>>> format_query("neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3")
'neurons in bert layer > 8 where selectivity(negation) > 0.5 and iou(noun) > 0.3'
"""

from __future__ import annotations

from atlas.query.api import compile_query, describe_query, explain_query, format_query, run_query
from atlas.query.errors import render

__all__ = ["compile_query", "describe_query", "explain_query", "format_query", "render", "run_query"]
