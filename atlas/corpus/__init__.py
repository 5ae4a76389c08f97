"""Corpora and concepts: parsing (CoNLL-U, plain text, the generated demo corpus), storage, and the
concept inventory with per-corpus membership.

Public entry points::

    from atlas.corpus import add_corpus, load_concept_matrix, evaluate_formula, define_concept
"""

from atlas.corpus.ingest import add_corpus, corpus_info, list_corpora, remove_corpus
from atlas.corpus.inventory import define_concept, list_concepts, remove_concept
from atlas.corpus.matrix import ConceptMatrix, evaluate_formula, load_concept_matrix
from atlas.corpus.model import ParsedSentence, ParsedWord
from atlas.corpus.stored import resolve_corpus

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
