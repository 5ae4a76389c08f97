"""Corpora and concepts: parsing (CoNLL-U, plain text, the generated demo corpus), storage, and the
concept inventory with per-corpus membership. Concepts are the properties of words (or of
sentences) that methods score neurons against.

Public entry points::

    from atlas.corpus import add_corpus, load_concept_matrix, evaluate_formula, define_concept

The concept subsystem, one module a part:

* :mod:`atlas.corpus.columns`: :class:`TokenColumns`, the token columns concepts are computed from;
* :mod:`atlas.corpus.named`: the named-concept catalogue (:data:`NAMED`: ``noun``,
  ``negation``, ``past_tense``, ``question``, ``inside_quotes``, ``sentence_start``,
  ``position:0`` .. ``position:9``, ...);
* :mod:`atlas.corpus.auto`: automatic concepts from a corpus' annotations (``upos:NOUN``,
  ``xpos:NNS``, ``feat:Tense=Past``, ``deprel:nsubj``, ``word:the``);
* :mod:`atlas.corpus.materialise`: every concept's membership written for every corpus (table
  ``annotation``, one row per (concept, corpus, token row), and ``concept_count``);
* :mod:`atlas.corpus.matrix`: reading membership back (:class:`ConceptMatrix`,
  :func:`load_concept_matrix`, :func:`evaluate_formula`);
* :mod:`atlas.corpus.inventory`: user-defined concepts (:func:`define_concept`: a formula
  over other concepts, a word list or a regular expression), :func:`remove_concept`,
  :func:`list_concepts`, :func:`concept_info`;
* :mod:`atlas.corpus.dependencies` and :mod:`atlas.corpus.stored`: the formula dependency
  graph and the store reads the others share.

The inventory (table ``concept``) is global; membership is per corpus. Every concept is
materialised for every corpus: when a corpus is added, for all concepts; when a concept is
defined, for all corpora. Sentence-level concepts (``level="sentence"``, e.g. ``question``)
mark **every token** of the sentences that have them, so token-level methods work on them;
sentence-level methods pool by sentence (:attr:`ConceptMatrix.sentence_index`).
``concept_count.n_sentences`` is the number of sentences with at least one token having the
concept (OR-pooling).

Example::

    from atlas.corpus import define_concept, load_concept_matrix
    define_concept(db, "common_singular", "noun and not plural")
    load_concept_matrix(db, corpus_id, concepts=["common_singular"]).mask.sum()
"""

from atlas.corpus.ingest import add_corpus, corpus_info, list_corpora, remove_corpus
from atlas.corpus.inventory import concept_info, define_concept, list_concepts, remove_concept
from atlas.corpus.matrix import ConceptMatrix, evaluate_formula, load_concept_matrix
from atlas.corpus.model import ParsedSentence, ParsedWord
from atlas.corpus.stored import resolve_corpus

__all__ = [
    "ConceptMatrix",
    "ParsedSentence",
    "ParsedWord",
    "add_corpus",
    "concept_info",
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
