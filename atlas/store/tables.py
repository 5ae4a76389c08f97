"""The relational store's data model (SQLAlchemy 2 typed models).

One schema for SQLite and PostgreSQL. The ORM classes describe metadata; the big tables
(``token``, ``annotation``, ``score``, ``top_activation``, ``neuron``) are written through
:func:`atlas.store.bulk.bulk_insert`, never row by row.

Entities (see ``schema/`` for the DDL a SQL user reads)::

    model ─< layer ─< neuron                      what a network is made of
    corpus ─< sentence ─< token                   word-level text, row = row in activation arrays
    concept ─< annotation >─ token                which token has which concept (per corpus)
    concept_count                                 tokens and sentences per (corpus, concept)
    run (model × corpus × config) ─< run_chunk    provenance; completed row ranges of an extraction
                                 ─< activation_file   one float16 array per (layer, site)
    score_set (run × method × concept) ─< score_vector   packed values per (set, layer, block of 256 units)
    score (a view)                                the long form: one row per (set, neuron) of complete sets
    probe_result                                  a probe's accuracies per (run, method, layer, task)
    agreement                                     two methods' top-n overlap and rank correlation per (run, concept, site)
    ablation_curve                                top/random/bottom-k ablation of a stored ranking (causal)
    neuron_stat, top_activation                   per-neuron statistics and top-k words
    explanation, similarity, note                 compositional explanations, cross-model links, lab notes and labels
    saved_query                                   named, parameterised queries kept for the lab
    correlation ─< similarity, neuron_similarity, layer_similarity   a cross-model comparison of two runs

Layer ``index`` is the block index counted from 0 on every site (TransformerLens' convention),
so "layer 3" means the same block whether the site is ``mlp`` or ``resid``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    REAL,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Sites a unit can live on. ``mlp``: post-activation FFN units; ``resid``: residual stream
#: after the block; ``embed``: the embedding output (layer 0 only).
SITES = ("mlp", "resid", "embed")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Model(Base):
    """A network whose units the atlas describes (a pretrained model or its random-init control)."""

    __tablename__ = "model"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # short name queries use: "minilm"
    source: Mapped[str] = mapped_column(Text)  # HF id or local path
    revision: Mapped[str | None] = mapped_column(String(200))  # commit hash, or sha256 of a local path's config+weights
    architecture: Mapped[str] = mapped_column(String(100))  # e.g. "BertModel"
    family: Mapped[str] = mapped_column(String(50))  # adapter name: bert, gpt2, llama, t5
    n_layers: Mapped[int] = mapped_column(Integer)
    d_model: Mapped[int] = mapped_column(Integer)
    d_mlp: Mapped[int] = mapped_column(Integer)
    random_init: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model.id", ondelete="SET NULL"))
    config_hash: Mapped[str | None] = mapped_column(String(64))
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Layer(Base):
    """One (block, site) of a model: ``width`` units captured at ``hook_point``."""

    __tablename__ = "layer"
    __table_args__ = (UniqueConstraint("model_id", "site", "index"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    hook_point: Mapped[str] = mapped_column(String(300))  # module path, e.g. "encoder.layer.3.intermediate"
    activation: Mapped[str] = mapped_column(String(16))  # "post" (after the nonlinearity), "pre", "resid"


class Neuron(Base):
    """One unit. ``model_id``, ``site`` and ``layer`` are copied from its layer so that queries
    filter neurons without a join; the canonical id is ``model/site.layer/unit`` (see
    :mod:`atlas.naming`)."""

    __tablename__ = "neuron"
    __table_args__ = (
        UniqueConstraint("layer_id", "unit"),
        Index(None, "model_id", "site", "layer", "unit"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(16))
    layer: Mapped[int] = mapped_column(Integer)
    unit: Mapped[int] = mapped_column(Integer)


class Corpus(Base):
    """An annotated text collection; its words are numbered ``row`` 0..n_tokens-1."""

    __tablename__ = "corpus"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(Text)  # path, or "builtin:demo"
    format: Mapped[str] = mapped_column(String(20))  # conllu | text | builtin
    license: Mapped[str | None] = mapped_column(String(200))
    n_sentences: Mapped[int] = mapped_column(Integer, default=0)
    n_tokens: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Sentence(Base):
    __tablename__ = "sentence"
    __table_args__ = (UniqueConstraint("corpus_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpus.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)  # 0-based order in the corpus
    sent_id: Mapped[str | None] = mapped_column(String(200))  # "# sent_id =" of CoNLL-U
    text: Mapped[str] = mapped_column(Text)
    first_row: Mapped[int] = mapped_column(Integer)  # row of its first word
    n_tokens: Mapped[int] = mapped_column(Integer)


class Token(Base):
    """A syntactic word. ``row`` is its 0-based position in the corpus and its row in every
    activation array of every run over this corpus."""

    __tablename__ = "token"
    __table_args__ = (UniqueConstraint("corpus_id", "row"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpus.id", ondelete="CASCADE"))
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentence.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # 0-based index of the word in its sentence
    form: Mapped[str] = mapped_column(Text)
    lemma: Mapped[str | None] = mapped_column(Text)
    upos: Mapped[str | None] = mapped_column(String(16))
    xpos: Mapped[str | None] = mapped_column(String(32))
    feats: Mapped[str | None] = mapped_column(Text)  # "Number=Plur|Tense=Past", as in CoNLL-U
    head: Mapped[int | None] = mapped_column(Integer)  # 1-based CoNLL-U head (0 = root)
    deprel: Mapped[str | None] = mapped_column(String(64))
    misc: Mapped[str | None] = mapped_column(Text)
    space_after: Mapped[bool] = mapped_column(Boolean, default=True)


class Concept(Base):
    """A property of words (or of sentences) that methods score neurons against.

    ``kind``: upos, xpos, feat, deprel, word, named, formula, wordlist, regex, position,
    sentence. ``level``: ``token`` or ``sentence`` (a sentence-level concept marks every token
    of the sentences that have it, and methods such as ``ap_sentence`` pool over sentences).
    """

    __tablename__ = "concept"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10), default="token")
    definition: Mapped[str | None] = mapped_column(Text)  # formula, regex or word list
    description: Mapped[str | None] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Annotation(Base):
    """Token ``row`` of ``corpus_id`` has ``concept_id``. Written through the bulk path."""

    __tablename__ = "annotation"
    concept_id: Mapped[int] = mapped_column(ForeignKey("concept.id", ondelete="CASCADE"), primary_key=True)
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpus.id", ondelete="CASCADE"), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)


class ConceptCount(Base):
    """How many tokens and sentences of a corpus have a concept."""

    __tablename__ = "concept_count"
    concept_id: Mapped[int] = mapped_column(ForeignKey("concept.id", ondelete="CASCADE"), primary_key=True)
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpus.id", ondelete="CASCADE"), primary_key=True)
    n_tokens: Mapped[int] = mapped_column(Integer)
    n_sentences: Mapped[int] = mapped_column(Integer)


class Run(Base):
    """One extraction job (model × corpus × config) and the provenance of all it produced."""

    __tablename__ = "run"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpus.id", ondelete="CASCADE"))
    config_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the canonical config JSON
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # sites, layers, aggregation, dtype, batch size, ...
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|running|done|failed
    store_path: Mapped[str] = mapped_column(Text)  # relative to the activation store root
    n_words: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # versions, host, device, hook points, ...
    words_per_s: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class RunChunk(Base):
    """A completed, durable range of corpus rows ``[start_row, end_row)`` of a run."""

    __tablename__ = "run_chunk"
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_row: Mapped[int] = mapped_column(Integer)
    end_row: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ActivationFile(Base):
    """One float16 array ``[n_words, width]`` of a run, for one layer (block × site)."""

    __tablename__ = "activation_file"
    __table_args__ = (UniqueConstraint("run_id", "layer_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)  # relative to the activation store root
    n_rows: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(16), default="float16")
    sha256: Mapped[str | None] = mapped_column(String(64))  # set when the run is done


class Method(Base):
    """A parameterised scoring method. Two parameterisations are two rows, so their scores
    never overwrite each other."""

    __tablename__ = "method"
    __table_args__ = (UniqueConstraint("name", "version", "params_hash"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # name in the query language: "iou"
    version: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    params_hash: Mapped[str] = mapped_column(String(64))
    family: Mapped[str | None] = mapped_column(String(30))  # corpus | probing | causal | unsupervised | multi-model
    higher_is_more: Mapped[bool] = mapped_column(Boolean, default=True)
    value_min: Mapped[float | None] = mapped_column(Float)
    value_max: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


#: Units per ``score_vector`` row: 256 float32 values (1 KiB) stay inline in a PostgreSQL row
#: (no TOAST) and in a SQLite B-tree cell, so reading one neuron's value touches one small row.
SCORE_BLOCK = 256

#: ``score_vector.vals``: little-endian float32 bytes on SQLite, ``real[]`` on PostgreSQL.
FloatVector = LargeBinary().with_variant(postgresql.ARRAY(REAL), "postgresql")


class ScoreSet(Base):
    """The unit of truth of scores: one method parameterisation's values for one concept over
    every neuron of one run, written and replaced atomically.

    ``status`` is ``building`` while a scoring job writes it (invisible to queries; a rerun of
    the job resumes it) and ``complete`` once every layer is written; completing a set deletes
    the older complete set of the same (run, method, concept) in the same transaction. Deleting
    a run, method or concept deletes its sets (foreign keys, ``ON DELETE CASCADE``); ids are
    never reused (``AUTOINCREMENT`` on SQLite, sequences on PostgreSQL).
    """

    __tablename__ = "score_set"
    __table_args__ = (Index(None, "method_id", "concept_id", "status"), Index(None, "run_id"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    method_id: Mapped[int] = mapped_column(ForeignKey("method.id", ondelete="CASCADE"))
    concept_id: Mapped[int] = mapped_column(ForeignKey("concept.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="building")  # building | complete
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ScoreVector(Base):
    """The values of a score set for units ``block * 256 ..`` of one layer, packed (float32;
    NaN = no value). About 4 bytes a score on both backends, against about 47 for a row per
    score. SQL users read the long form through the ``score`` view (``schema/*.sql``)."""

    __tablename__ = "score_vector"
    __table_args__ = ({"sqlite_with_rowid": False},)
    set_id: Mapped[int] = mapped_column(ForeignKey("score_set.id", ondelete="CASCADE"), primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id", ondelete="CASCADE"), primary_key=True)
    block: Mapped[int] = mapped_column(Integer, primary_key=True)
    vals: Mapped[Any] = mapped_column(FloatVector)


class ProbeResult(Base):
    """A probe's evaluation on one layer of a run: accuracy on held-out sentences, the majority
    baseline, accuracy with the top-k / random-k / bottom-k neurons, the control task's accuracy.

    ``task`` is the property or concept the probe predicts (``upos``, ``negation``); ``metric``
    names the figure (``accuracy``, ``majority``, ``top``, ``random``, ``bottom``, ...).
    """

    __tablename__ = "probe_result"
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), primary_key=True)
    method_id: Mapped[int] = mapped_column(ForeignKey("method.id", ondelete="CASCADE"), primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id", ondelete="CASCADE"), primary_key=True)
    task: Mapped[str] = mapped_column(String(200), primary_key=True)
    metric: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)


class Agreement(Base):
    """How far two scoring methods agree on one concept in one run (Fan et al. 2023), per site:
    ``jaccard``, the overlap of their top-``n`` units (highest values first, ties broken by
    layer and unit; units without a value left out), and ``spearman``, the rank correlation of
    their values over every unit that has both. One row per unordered pair (``method_a`` is the
    smaller method id); ``n_units`` is the number of units with both values. Written by
    ``atlas agreement`` (and at the end of ``atlas score``), which also stores the NeuronVote as
    score sets of the methods ``vote`` and ``vote_rank`` (``atlas.methods.agreement``)."""

    __tablename__ = "agreement"
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), primary_key=True)
    concept_id: Mapped[int] = mapped_column(ForeignKey("concept.id", ondelete="CASCADE"), primary_key=True)
    site: Mapped[str] = mapped_column(String(20), primary_key=True)
    method_a: Mapped[int] = mapped_column(ForeignKey("method.id", ondelete="CASCADE"), primary_key=True)
    method_b: Mapped[int] = mapped_column(ForeignKey("method.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    n_units: Mapped[int] = mapped_column(Integer)
    jaccard: Mapped[float | None] = mapped_column(Float)
    spearman: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AblationCurve(Base):
    """One point of a top/random/bottom-k ablation curve (:mod:`atlas.causal.ablation`): the
    ``k`` neurons a stored ranking (``ap(noun)``, read from score set ``set_id``) puts first,
    last or at random, clamped together, and what ``metric`` became (the concept probe's
    ``accuracy``, ``soft_accuracy``, the sentence ``embedding`` change, the LM ``loss`` and
    ``concept_loss`` increase). ``selection = 'none'``, ``k = 0`` is the unablated model;
    ``value`` is the mean and ``std`` the spread over the ``n`` random draws. A curve is
    identified by (run, ranking, params_hash) and replaced as a whole."""

    __tablename__ = "ablation_curve"
    __table_args__ = (UniqueConstraint("run_id", "ranking", "params_hash", "selection", "k", "metric"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    concept_id: Mapped[int] = mapped_column(ForeignKey("concept.id", ondelete="CASCADE"))
    ranking: Mapped[str] = mapped_column(String(200))
    set_id: Mapped[int | None] = mapped_column(Integer)  # the score set read (sets are replaced; no foreign key)
    site: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    params_hash: Mapped[str] = mapped_column(String(64))
    selection: Mapped[str] = mapped_column(String(10))  # none | top | random | bottom
    k: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(50))
    value: Mapped[float | None] = mapped_column(Float)
    std: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class NeuronStat(Base):
    """Per-neuron statistics over a run's words (NetDissect threshold at quantile 1 - alpha)."""

    __tablename__ = "neuron_stat"
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), primary_key=True)
    neuron_id: Mapped[int] = mapped_column(ForeignKey("neuron.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float] = mapped_column(Float)
    std: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)  # top-alpha quantile, alpha = 0.005
    fire_rate: Mapped[float | None] = mapped_column(Float)  # fraction of words with activation > 0


class TopActivation(Base):
    """The k words on which a neuron fires most (rank 0 = highest). A fact table without
    foreign keys (a per-row check slows the bulk COPY)."""

    __tablename__ = "top_activation"
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    neuron_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    row: Mapped[int] = mapped_column(Integer)  # token row in the run's corpus
    value: Mapped[float] = mapped_column(Float)


class Explanation(Base):
    """A logical formula over concepts that explains a neuron (compositional explanations).

    One row per (run, neuron, search parameters, ``max_length``): the best formula of at most
    ``max_length`` atoms the search found (``atlas explain``; :mod:`atlas.explain`). ``formula``
    is canonical text (it parses back as a concept formula), ``length`` its number of atoms,
    ``iou`` its IoU with the neuron's mask whatever the ``metric`` searched for, ``score`` its
    value of that metric; ``mask_size`` = ``|N|``, ``formula_size`` = ``|F|``, ``overlap`` =
    ``|N ∧ F|`` on the run's corpus; ``search`` is ``beam`` or ``exact``; ``params`` holds the
    search's parameters and provenance and ``params_hash`` tells parameter sets apart.
    """

    __tablename__ = "explanation"
    __table_args__ = (Index(None, "run_id", "params_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    neuron_id: Mapped[int] = mapped_column(ForeignKey("neuron.id", ondelete="CASCADE"), index=True)
    formula: Mapped[str] = mapped_column(Text)
    iou: Mapped[float] = mapped_column(Float)
    length: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    metric: Mapped[str] = mapped_column(String(20), server_default="iou")
    score: Mapped[float | None] = mapped_column(Float)
    max_length: Mapped[int | None] = mapped_column(Integer)
    mask_size: Mapped[int | None] = mapped_column(Integer)
    formula_size: Mapped[int | None] = mapped_column(Integer)
    overlap: Mapped[int | None] = mapped_column(Integer)
    search: Mapped[str | None] = mapped_column(String(10))
    params_hash: Mapped[str | None] = mapped_column(String(64))


class Correlation(Base):
    """One ``atlas correlate`` job: two runs over the same corpus, compared unit by unit.

    ``status`` is ``building`` while the job runs (its partial results live in the activation
    store under ``similarity/<id>/``, invisible to queries) and ``complete`` once its
    ``similarity``, ``neuron_similarity`` and ``layer_similarity`` rows are written, in one
    transaction that also deletes the older complete correlations of the same two runs and
    sites. ``params``: sites, layers, top_k; ``provenance``: versions, host, timings.
    """

    __tablename__ = "correlation"
    __table_args__ = (Index(None, "run_id"), Index(None, "other_run_id"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    other_run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    sites: Mapped[str] = mapped_column(String(100))  # "mlp,resid"
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    params_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="building")  # building | complete
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Similarity(Base):
    """A link between two neurons (cross-model correlation and similar).

    Rows of a correlation (``correlation_id``) are each neuron's ``top_k`` partners in the
    other run (``rank`` 0 = largest ``|value|``; ``value`` the signed Pearson correlation,
    ``method`` ``"pearson"``); the correlation row holds the runs' ids, parameters and
    provenance, ``run_id`` / ``other_run_id`` copy them so a reader needs no join."""

    __tablename__ = "similarity"
    __table_args__ = (Index(None, "method", "neuron_id", "value"), Index(None, "correlation_id", "neuron_id", "rank"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    neuron_id: Mapped[int] = mapped_column(ForeignKey("neuron.id", ondelete="CASCADE"))
    other_neuron_id: Mapped[int] = mapped_column(ForeignKey("neuron.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    corpus_id: Mapped[int | None] = mapped_column(ForeignKey("corpus.id", ondelete="CASCADE"))
    correlation_id: Mapped[int | None] = mapped_column(ForeignKey("correlation.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    other_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    rank: Mapped[int | None] = mapped_column(Integer)


class NeuronSimilarity(Base):
    """Per neuron and correlation, its similarity to the other run as a whole: ``maxcorr``
    (largest ``|r|`` with any unit of the other run, same site) and ``linreg`` (the best
    multiple correlation of regressing it on one layer of the other run)."""

    __tablename__ = "neuron_similarity"
    correlation_id: Mapped[int] = mapped_column(ForeignKey("correlation.id", ondelete="CASCADE"), primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    neuron_id: Mapped[int] = mapped_column(ForeignKey("neuron.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)


class LayerSimilarity(Base):
    """The similarity of two layers of a correlation: ``cka``, ``svcca`` (symmetric),
    ``pwcca``, ``maxcorr``, ``linreg`` (from ``layer_id``'s side: the mean over its units)."""

    __tablename__ = "layer_similarity"
    correlation_id: Mapped[int] = mapped_column(ForeignKey("correlation.id", ondelete="CASCADE"), primary_key=True)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id", ondelete="CASCADE"), primary_key=True)
    other_layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)


class Note(Base):
    """A lab member's note or label on a neuron, a concept, a model or a run (the shared
    knowledge base; :mod:`atlas.kb.notes`).

    ``target_kind`` says which of ``neuron_id``, ``concept_id``, ``model_id``, ``run_id`` the
    note is on. ``author`` is the database user on PostgreSQL (row-level security, set up by
    ``atlas kb init``, shows a ``private`` note to its author only), ``$USER`` or ``--author``
    on SQLite. A row with a ``label`` is a label (``atlas label``); ``text`` may then be empty.
    """

    __tablename__ = "note"
    __table_args__ = (Index(None, "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(10), server_default="neuron")
    neuron_id: Mapped[int | None] = mapped_column(ForeignKey("neuron.id", ondelete="CASCADE"), index=True)
    concept_id: Mapped[int | None] = mapped_column(ForeignKey("concept.id", ondelete="CASCADE"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("model.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(200))
    visibility: Mapped[str] = mapped_column(String(10), server_default="lab")
    label: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SavedQuery(Base):
    """A named, parameterised query kept for the lab (``atlas saved``; :mod:`atlas.kb.saved`).
    ``$name`` placeholders in ``text`` are filled as tokens of the language when it runs."""

    __tablename__ = "saved_query"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AtlasInfo(Base):
    """Key/value facts about this atlas (marks the database as an atlas; holds the store root)."""

    __tablename__ = "atlas_info"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


__all__ = [
    "SITES",
    "AblationCurve",
    "ActivationFile",
    "Agreement",
    "Annotation",
    "AtlasInfo",
    "Base",
    "Concept",
    "ConceptCount",
    "Corpus",
    "Correlation",
    "Explanation",
    "Layer",
    "LayerSimilarity",
    "Method",
    "Model",
    "Neuron",
    "NeuronSimilarity",
    "Note",
    "ProbeResult",
    "Run",
    "RunChunk",
    "SCORE_BLOCK",
    "SavedQuery",
    "ScoreSet",
    "ScoreVector",
    "Sentence",
    "Similarity",
    "Token",
    "TopActivation",
]
