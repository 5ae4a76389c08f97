"""Concepts: the properties of words (or of sentences) that methods score neurons against.

This module is the concept subsystem's public surface; each part lives in a module of its own:

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

    from atlas.corpus.concepts import define_concept, load_concept_matrix
    define_concept(db, "common_singular", "noun and not plural")
    load_concept_matrix(db, corpus_id, concepts=["common_singular"]).mask.sum()
"""

from __future__ import annotations

from atlas.corpus.auto import AUTO_KINDS, WORD_MAX, WORD_MIN_COUNT, AutoConcept, auto_concepts, auto_name
from atlas.corpus.columns import TokenColumns
from atlas.corpus.inventory import concept_info, define_concept, list_concepts, remove_concept
from atlas.corpus.materialise import ensure_builtin_concepts, materialise_corpus, write_masks
from atlas.corpus.matrix import ConceptMatrix, evaluate_formula, load_concept_matrix
from atlas.corpus.named import NAMED, NEGATION_WORDS, POSITIONS, NamedConcept
from atlas.corpus.stored import USER_KINDS

__all__ = [
    "AUTO_KINDS",
    "NAMED",
    "NEGATION_WORDS",
    "POSITIONS",
    "USER_KINDS",
    "WORD_MAX",
    "WORD_MIN_COUNT",
    "AutoConcept",
    "ConceptMatrix",
    "NamedConcept",
    "TokenColumns",
    "auto_concepts",
    "auto_name",
    "concept_info",
    "define_concept",
    "ensure_builtin_concepts",
    "evaluate_formula",
    "list_concepts",
    "load_concept_matrix",
    "materialise_corpus",
    "remove_concept",
    "write_masks",
]
