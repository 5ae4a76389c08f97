"""Corpora and concepts: parsing (CoNLL-U, plain text, the built-in demo), storage, and the
concept inventory with per-corpus membership.

Public entry points::

    from atlas.corpus import add_corpus, load_concept_matrix, evaluate_formula, define_concept
"""

from atlas.corpus.concepts import (
    ConceptMatrix,
    define_concept,
    evaluate_formula,
    list_concepts,
    load_concept_matrix,
    remove_concept,
)
from atlas.corpus.ingest import add_corpus, corpus_info, list_corpora, remove_corpus, resolve_corpus
from atlas.corpus.model import ParsedSentence, ParsedWord

__all__ = [
    "ConceptMatrix",
    "ParsedSentence",
    "ParsedWord",
    "add_corpus",
    "corpus_info",
    "define_concept",
    "evaluate_formula",
    "list_concepts",
    "list_corpora",
    "load_concept_matrix",
    "remove_concept",
    "remove_corpus",
    "resolve_corpus",
]
