"""The library entry point: ``atlas.connect(url)`` returns an :class:`Atlas`.

The command line is a thin shell over this module. Each method delegates to the module that
owns the work, imported on first use (function-level imports), so importing this module costs
nothing and ``atlas query`` never imports torch. The defaults of every operation live in the
stage function it calls, and only there; :func:`library_defaults` reads them.

Example::

    import atlas
    db = atlas.connect("sqlite:///atlas.db")
    db.query("neurons in minilm layer>3 where selectivity(negation) > 0.5 limit 5")

>>> describe_query("neurons in bert where iou(noun) > 0.3")
'mlp neurons of bert whose iou with noun is above 0.3 (first 100, by model, layer and unit)'
>>> format_query("NEURONS IN bert WHERE iou(noun)>.3")
'neurons in bert where iou(noun) > 0.3'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    from sqlalchemy import Engine

    from atlas.errors import AtlasError
    from atlas.query.ast import Statement


class Atlas:
    """A connection to one atlas: the relational store plus its activation store.

    Args:
        url: database URL (``sqlite:///atlas.db``, ``postgresql+psycopg://...``); defaults to
            ``$ATLAS_DB`` or ``sqlite:///atlas.db``.
        store_root: folder of the activation arrays; defaults to ``$ATLAS_STORE``, else the
            folder the atlas recorded at ``init`` (:func:`atlas.store.activations.resolve_root`).
        engine: an existing engine to use instead of ``url`` (tests).
    """

    def __init__(
        self, url: str | None = None, *, store_root: str | Path | None = None, engine: Engine | None = None
    ) -> None:
        from atlas.store.activations import ActivationStore, resolve_root
        from atlas.store.engine import database_url, make_engine

        self.url = database_url(url) if engine is None else str(engine.url)
        self.engine = engine if engine is not None else make_engine(url)
        self._explicit_store = bool(store_root) or bool(os.environ.get("ATLAS_STORE"))
        self.store = ActivationStore(resolve_root(self.engine, store_root))
        self._checked = False

    # -- schema ---------------------------------------------------------------------------
    def init(self) -> str:
        """Create the schema or upgrade it to the newest revision; returns the revision."""
        from atlas.store import migrate

        from atlas.store.activations import record_root

        rev = migrate.init(self.engine)
        # the arrays' folder, so that any process (another folder, another machine) finds them
        record_root(self.engine, self.store.root, replace=self._explicit_store)
        self._checked = True
        return rev

    def check(self) -> None:
        """Raise :class:`~atlas.errors.StoreError` unless this is an up-to-date atlas."""
        if not self._checked:
            from atlas.store import migrate

            migrate.check_schema(self.engine)
            self._checked = True

    def schema_revision(self) -> tuple[str | None, str]:
        """``(current, newest)`` schema revisions of an existing atlas (``atlas db current``)."""
        from atlas.store import migrate

        migrate.require_existing(self.engine)
        return migrate.current_revision(self.engine), migrate.head_revision(self.engine)

    def upgrade(self, revision: str | None = None) -> str | None:
        """Migrate the schema up (to the newest revision unless told); returns the new revision."""
        from atlas.store import migrate

        if revision is None:
            migrate.upgrade(self.engine)
        else:
            migrate.upgrade(self.engine, revision)
        return migrate.current_revision(self.engine)

    def downgrade(self, revision: str = "-1", *, force: bool = False) -> str | None:
        """Migrate the schema down (one revision unless told; ``base`` empties it); returns the new one.
        A downgrade that would delete rows refuses unless ``force`` (see :func:`atlas.store.migrate.downgrade`)."""
        from atlas.store import migrate

        migrate.require_existing(self.engine)
        migrate.downgrade(self.engine, revision, force=force)
        return migrate.current_revision(self.engine)

    def write(self) -> Any:
        """A write transaction (``with db.write() as conn:``)."""
        from atlas.store.engine import write

        return write(self.engine)

    # -- corpora and concepts -------------------------------------------------------------
    def add_corpus(self, name: str, path: str | Path | None = None, **kwargs: Any) -> Any:
        """Store a corpus; see :func:`atlas.corpus.ingest.add_corpus`."""
        from atlas.corpus.ingest import add_corpus

        self.check()
        return add_corpus(self, name, path, **kwargs)

    def corpora(self) -> pd.DataFrame:
        """The stored corpora, one row each; see :func:`atlas.corpus.ingest.list_corpora`."""
        from atlas.corpus.ingest import list_corpora

        self.check()
        return list_corpora(self)

    def corpus(self, ref: str | int, **kwargs: Any) -> dict[str, Any]:
        """One corpus: counts, examples, top concepts; see :func:`atlas.corpus.ingest.corpus_info`."""
        from atlas.corpus.ingest import corpus_info

        self.check()
        return corpus_info(self, ref, **kwargs)

    def remove_corpus(self, ref: str | int, *, force: bool = False) -> dict[str, Any]:
        """Delete a corpus with its tokens and annotations (and, with ``force``, the runs and scores
        over it); see :func:`atlas.corpus.ingest.remove_corpus`."""
        from atlas.corpus.ingest import remove_corpus

        self.check()
        return remove_corpus(self, ref, force=force)

    def define_concept(self, name: str, formula: str | None = None, **kwargs: Any) -> Any:
        """Define a named concept; see :func:`atlas.corpus.inventory.define_concept`."""
        from atlas.corpus.inventory import define_concept

        self.check()
        return define_concept(self, name, formula, **kwargs)

    def concepts(self, **kwargs: Any) -> pd.DataFrame:
        """The concept inventory with counts; see :func:`atlas.corpus.inventory.list_concepts`."""
        from atlas.corpus.inventory import list_concepts

        self.check()
        return list_concepts(self, **kwargs)

    def concept(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """One concept with counts and examples per corpus; see :func:`atlas.corpus.inventory.concept_info`."""
        from atlas.corpus.inventory import concept_info

        self.check()
        return concept_info(self, name, **kwargs)

    def remove_concept(self, name: str) -> None:
        """Remove a user-defined concept; see :func:`atlas.corpus.inventory.remove_concept`."""
        from atlas.corpus.inventory import remove_concept

        self.check()
        remove_concept(self, name)

    # -- extraction and scoring ------------------------------------------------------------
    def extract(self, model: str, *, corpus: str, **kwargs: Any) -> int:
        """Run an extraction job; returns the run id. See :func:`atlas.extract.job.extract`."""
        from atlas.extract.job import extract

        self.check()
        return extract(self, model, corpus=corpus, **kwargs)

    def runs(self) -> pd.DataFrame:
        """The extraction runs, one row each; see :func:`atlas.extract.runs.list_runs`."""
        from atlas.extract.runs import list_runs

        self.check()
        return list_runs(self)

    def run(self, ref: int | str) -> dict[str, Any]:
        """One run's configuration, progress and provenance; see :func:`atlas.extract.runs.show_run`."""
        from atlas.extract.runs import show_run

        self.check()
        return show_run(self, ref)

    def score(self, run: int | str, *, agreement: bool = True, **kwargs: Any) -> Any:
        """Score a run's neurons against concepts (see :func:`atlas.methods.job.score`), then,
        unless ``agreement=False`` (or ``write=False``), store the agreement of the methods and
        their NeuronVote for every concept of the run scored by two methods or more
        (:meth:`compute_agreement`, at the top-n sizes already stored for the run and 100);
        its summary is the result's ``"agreement"``."""
        from atlas.methods.agreement import DEFAULT_TOP, compute_agreement, stored_sizes
        from atlas.methods.job import score

        self.check()
        result = score(self, run, **kwargs)
        if agreement and kwargs.get("write", True):
            sizes = sorted(set(stored_sizes(self, result["run_id"])) | {DEFAULT_TOP})
            result["agreement"] = compute_agreement(self, result["run_id"], top=sizes)
        return result

    def compute_agreement(self, run: int | str, **kwargs: Any) -> dict[str, Any]:
        """Compute and store how far the methods scored in a run agree, per concept (top-n
        Jaccard, Spearman) and their NeuronVote (``vote``, ``vote_rank`` score sets); ``top``,
        ``methods``, ``concepts``. See :func:`atlas.methods.agreement.compute_agreement`."""
        from atlas.methods.agreement import compute_agreement

        self.check()
        return compute_agreement(self, run, **kwargs)

    def agreement(self, run: int | str, concept: str, **kwargs: Any) -> pd.DataFrame:
        """The stored agreement of the methods on one concept: ``run`` is a run id or a model
        name (its latest done run); one row per site, pair of methods and top-n size: concept,
        site, method_a, params_a, method_b, params_b, n, n_units, jaccard, spearman. ``methods``,
        ``n`` and ``site`` narrow it. See :func:`atlas.methods.agreement.agreement_frame`.

        Example:
            >>> db.agreement("minilm", "noun", n=100)  # doctest: +SKIP
        """
        from atlas.methods.agreement import agreement_frame

        self.check()
        return agreement_frame(self, run, concept, **kwargs)

    def explain_neurons(self, run: int | str, **kwargs: Any) -> Any:
        """Search and store compositional explanations of a run's neurons (the best formula
        over concepts per length). See :func:`atlas.explain.job.explain`. (:meth:`explain` is the
        query planner's.)

        Example:
            >>> db.explain_neurons("minilm", layers=[3], length=3)["rows"]  # doctest: +SKIP
        """
        from atlas.explain.job import explain

        self.check()
        return explain(self, run, **kwargs)
    # -- cross-model similarity --------------------------------------------------------------
    def correlate(self, a: int | str, b: int | str, **kwargs: Any) -> dict[str, Any]:
        """Correlate every neuron of run ``a`` with every neuron of run ``b`` (same corpus) and
        store partners, maxcorr, linreg and layer similarities; see
        :func:`atlas.similarity.job.correlate` (``sites``, ``layers``, ``top_k``)."""
        from atlas.similarity.job import correlate

        self.check()
        return correlate(self, a, b, **kwargs)

    def correlations(self) -> pd.DataFrame:
        """The stored correlations: id, model, run, other_model, other_run, sites, status,
        top_k, finished_at (``atlas correlate --list``)."""
        from atlas.similarity.read import list_correlations

        self.check()
        return list_correlations(self)

    def similar(self, neuron_id: str, models: str | list[str] | None = None, *, limit: int = 10) -> pd.DataFrame:
        """The neuron's closest partners in other models (``similar to NEURON in MODELS limit
        N``): model, neuron, site, layer, unit, value (Pearson r), abs, rank, run.

        Example:
            >>> db.similar("minilm/mlp.3/318", "gpt2", limit=5)  # doctest: +SKIP
        """
        from atlas.query.canonical import name_text, quote

        if isinstance(models, str):
            models = [models]
        where = f" in {', '.join(name_text(m) for m in models)}" if models else ""
        return self.query(f"similar to {quote(str(neuron_id))}{where} limit {int(limit)}")

    def layer_similarity(self, a: str, b: str, method: str = "cka", *, site: str = "mlp") -> pd.DataFrame:
        """The layer x layer similarity matrix of two models (``layers of A vs B site=SITE by
        METHOD``): a row per layer of ``a`` (column ``layer``), a column per layer of ``b``
        (``B.0``, ``B.1``, ...). ``method``: cka, svcca, pwcca, maxcorr, linreg.

        Example:
            >>> db.layer_similarity("minilm", "bert", "cka")  # doctest: +SKIP
        """
        from atlas.query.canonical import name_text

        return self.query(f"layers of {name_text(a)} vs {name_text(b)} site={site} by {method}")

    # -- causal methods ----------------------------------------------------------------------
    def ablate_neurons(self, run: int | str, **kwargs: Any) -> dict[str, Any]:
        """Clamp each neuron of the chosen layers alone and store the ``ablation``,
        ``ablation_loss`` (LM models) and ``ablation_embedding`` score sets. See
        :func:`atlas.causal.ablation.ablate_neurons`."""
        from atlas.causal.ablation import ablate_neurons

        self.check()
        return ablate_neurons(self, run, **kwargs)

    def ablate(self, run: int | str, *, ranking: str, **kwargs: Any) -> pd.DataFrame:
        """Top/random/bottom-k ablation curve of a stored ranking (``"ap(noun)"``), stored and
        returned (``selection, k, metric, value, std, n``). See :func:`atlas.causal.ablation.ablation_curve`."""
        from atlas.causal.ablation import ablation_curve

        self.check()
        return ablation_curve(self, run, ranking, **kwargs)

    def ablation_curves(self, run: int | str | None = None, ranking: str | None = None) -> pd.DataFrame:
        """The stored ablation curves, one row per (curve, selection, k, metric), for plotting:
        ``model, run, ranking, concept, site, selection, k, metric, value, std, n, params, created_at``."""
        from atlas.causal.ablation import ablation_curves

        self.check()
        return ablation_curves(self, run, ranking)

    def attribute(self, run: int | str, **kwargs: Any) -> dict[str, Any]:
        """Integrated-gradients ``attribution`` score sets per (neuron, concept). See
        :func:`atlas.causal.attribution.attribute`."""
        from atlas.causal.attribution import attribute

        self.check()
        return attribute(self, run, **kwargs)

    def steer(self, neurons: str | list[str], *, text: str, **kwargs: Any) -> pd.DataFrame:
        """The output of ``text`` before and after setting (``value=``) or scaling (``scale=``)
        neurons. See :func:`atlas.causal.steer.steer`."""
        from atlas.causal.steer import steer

        self.check()
        return steer(self, neurons, text=text, **kwargs)

    # -- queries ---------------------------------------------------------------------------
    def query(self, text: str, **kwargs: Any) -> pd.DataFrame:
        """Run a query; see :func:`atlas.query.api.run_query` (``limit``, ``timeout_s``; the
        answer's ``attrs["warnings"]`` says what it silently lacks)."""
        from atlas.query.api import run_query

        self.check()
        return run_query(self, text, **kwargs)

    def why_empty(self, text: str, **kwargs: Any) -> list[str]:
        """Why ``neurons ... where A and B`` found nothing: each condition alone, in the same
        scope (how many neurons meet it; for a threshold no neuron reaches, the score's extreme);
        see :mod:`atlas.query.why`. ``[]`` for other statements."""
        from atlas.query.why import why_empty

        self.check()
        return why_empty(self, text, **kwargs)

    def neuron(self, neuron_id: str, **kwargs: Any) -> dict[str, pd.DataFrame]:
        """Everything the atlas holds on one neuron: the sections of the statement
        ``neuron NEURON`` (see :mod:`atlas.query.views`): ``stats``, ``concepts`` (the best 5
        per method), ``causal`` (its ablation and attribution scores), ``top_words``, ``histogram`` (20 bins of its activations), ``explanations``
        and ``notes``. ``timeout_s`` as :meth:`query`; the warnings are in each section's
        ``attrs["warnings"]``.

        Example:
            >>> db.neuron("minilm/mlp.0/829")["concepts"]  # doctest: +SKIP
        """
        from atlas.query.api import run_query
        from atlas.query.canonical import quote

        self.check()
        frame = run_query(self, f"neuron {quote(str(neuron_id))}", **kwargs)
        sections: dict[str, pd.DataFrame] = dict(frame.attrs["sections"])
        for part in sections.values():
            part.attrs["warnings"] = list(frame.attrs.get("warnings", []))
        return sections

    def sql(self, text: str, **kwargs: Any) -> pd.DataFrame:
        """Run one read-only SQL statement (tables and the named views of ``schema/``); a write is
        refused. See :func:`atlas.report.sql.run_sql` (``limit``, ``timeout_s``).

        Example:
            >>> db.sql("SELECT layer, n_detectors FROM layer_detector_counts WHERE model = 'minilm'")  # doctest: +SKIP
        """
        from atlas.report.sql import run_sql

        self.check()
        return run_sql(self, text, **kwargs)

    def report(self, out: str | Path, **kwargs: Any) -> dict[str, Any]:
        """Write the static HTML report into the folder ``out``: an overview per model, a page per
        concept, a card per neuron it mentions and a comparison; see
        :func:`atlas.report.html.write_report` (``runs``, ``models``, ``concepts``, ``top``)."""
        from atlas.report.html import write_report

        self.check()
        return write_report(self, out, **kwargs)

    def report_data(self, part: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """One of the report's DataFrames (``attrs["source"]`` holds its SQL or query): ``part``
        names a function of :mod:`atlas.report.data` (``detector_counts``, ``top_units``,
        ``probe_curve``, ``compare_depth``, ``model_layers``, ``scored_concepts``, ...).

        Example:
            >>> db.report_data("probe_curve", [1], "negation")  # doctest: +SKIP
        """
        from atlas.report import data

        self.check()
        func = getattr(data, part, None) if part in data.PARTS else None
        if func is None:
            from atlas.errors import AtlasError

            raise AtlasError(f"no report data {part!r}", hint=f"one of: {', '.join(data.PARTS)}")
        return func(self, *args, **kwargs)

    def compile(self, text: str, **kwargs: Any) -> str:
        """The SQL a query compiles to, for this database's dialect."""
        from atlas.query.api import compile_query

        self.check()
        return compile_query(self, text, **kwargs)

    def explain(self, text: str, **kwargs: Any) -> str:
        """The database's plan for a query; see :func:`atlas.query.api.explain_query` (``timeout_s``)."""
        from atlas.query.api import explain_query

        self.check()
        return explain_query(self, text, **kwargs)

    def describe(self, text: str) -> str:
        """The query in one English sentence."""
        return describe_query(text)

    def format(self, text: str) -> str:
        """The query's canonical text (parses back to the same tree)."""
        return format_query(text)

    # -- the shared knowledge base (atlas.kb) --------------------------------------------------
    def kb_init(self, **kwargs: Any) -> dict[str, Any]:
        """Create or check the reader, annotator and writer roles (PostgreSQL); see
        :func:`atlas.kb.roles.init_roles` (``prefix``, ``timeout_s``)."""
        from atlas.kb.roles import init_roles

        self.check()
        return init_roles(self.engine, **kwargs)

    def kb_grant(self, user: str, role: str, **kwargs: Any) -> dict[str, Any]:
        """Make ``user`` a reader, annotator or writer; see :func:`atlas.kb.roles.grant`."""
        from atlas.kb.roles import grant

        self.check()
        return grant(self.engine, user, role, **kwargs)

    def whoami(self) -> dict[str, Any]:
        """The database user of this connection and its atlas role; see :func:`atlas.kb.roles.current_roles`."""
        from atlas.kb.roles import current_roles

        self.check()
        return current_roles(self.engine)

    def add_note(self, target: str, text: str = "", **kwargs: Any) -> int:
        """A note (or, with ``label=``, a label) on a neuron, ``concept:``, ``model:`` or ``run:``
        target; returns its id. See :func:`atlas.kb.notes.add_note` (``private``, ``author``)."""
        from atlas.kb.notes import add_note

        self.check()
        return add_note(self, target, text, **kwargs)

    def label(self, target: str, label: str, **kwargs: Any) -> int:
        """Label a neuron (or another target): ``db.label("minilm/mlp.0/829", "negation detector")``."""
        return self.add_note(target, kwargs.pop("text", ""), label=label, **kwargs)

    def notes(self, **kwargs: Any) -> pd.DataFrame:
        """Notes and labels you may read; see :func:`atlas.kb.notes.list_notes` (``target``,
        ``author``, ``label``, ``model``, ``labels_only``)."""
        from atlas.kb.notes import list_notes

        self.check()
        return list_notes(self, **kwargs)

    def remove_note(self, note_id: int) -> None:
        """Delete one of your notes or labels; see :func:`atlas.kb.notes.remove_note`."""
        from atlas.kb.notes import remove_note

        self.check()
        remove_note(self, note_id)

    def save_query(self, name: str, text: str, **kwargs: Any) -> dict[str, Any]:
        """Keep a parameterised query (``$name`` placeholders) for the lab; see
        :func:`atlas.kb.saved.save_query` (``description``, ``replace``)."""
        from atlas.kb.saved import save_query

        self.check()
        return save_query(self, name, text, **kwargs)

    def saved_queries(self) -> pd.DataFrame:
        """The saved queries with their parameters; see :func:`atlas.kb.saved.saved_queries`."""
        from atlas.kb.saved import saved_queries

        self.check()
        return saved_queries(self)

    def run_saved(self, name: str, params: dict[str, str] | None = None, **kwargs: Any) -> pd.DataFrame:
        """Run a saved query, each parameter going in as one token of the language; see
        :func:`atlas.kb.saved.run_saved` (``limit``, ``timeout_s`` as :meth:`query`)."""
        from atlas.kb.saved import run_saved

        self.check()
        return run_saved(self, name, params, **kwargs)

    def saved_query_text(self, name: str, params: dict[str, str] | None = None) -> str:
        """A saved query's text with its parameters filled in as tokens (what :meth:`run_saved` runs)."""
        from atlas.kb.saved import fill, saved_text

        self.check()
        return fill(saved_text(self, name), dict(params or {}))

    def remove_saved(self, name: str) -> None:
        """Delete a saved query."""
        from atlas.kb.saved import remove_saved

        self.check()
        remove_saved(self, name)

    def load_saved(self, folder: str | Path, **kwargs: Any) -> list[str]:
        """Save every ``NAME.nql`` of a folder (in one transaction); see :func:`atlas.kb.saved.load_folder`."""
        from atlas.kb.saved import load_folder

        self.check()
        return load_folder(self, folder, **kwargs)

    def export(self, out: str | Path, **kwargs: Any) -> dict[str, Any]:
        """Write a model's or a run's part of the atlas to files; see :func:`atlas.kb.transfer.export_atlas`
        (``model``, ``run``, ``fmt``, ``activations``)."""
        from atlas.kb.transfer import export_atlas

        self.check()
        return export_atlas(self, out, **kwargs)

    def import_export(self, folder: str | Path) -> dict[str, int]:
        """Add an export (``atlas export``) to this atlas in one transaction; see :func:`atlas.kb.transfer.import_atlas`."""
        from atlas.kb.transfer import import_atlas

        self.check()
        return import_atlas(self, folder)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Atlas:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Atlas({self.engine.url.render_as_string(hide_password=True)!r})"


def connect(url: str | None = None, **kwargs: Any) -> Atlas:
    """Open an atlas. See :class:`Atlas`."""
    return Atlas(url, **kwargs)


# -- what needs no database ----------------------------------------------------------------
def parse_query(text: str) -> Statement:
    """The query's syntax tree; raises :class:`~atlas.errors.QuerySyntaxError` (no database needed)."""
    from atlas.query.api import parse_query as parse

    return parse(text)


def describe_query(text: str) -> str:
    """The query in one English sentence; see :func:`atlas.query.api.describe_query`."""
    from atlas.query.api import describe_query as describe

    return describe(text)


def format_query(text: str) -> str:
    """The query's canonical text; see :func:`atlas.query.api.format_query`."""
    from atlas.query.api import format_query as fmt

    return fmt(text)


def list_methods() -> list[dict[str, Any]]:
    """The registered scoring methods, each with ``default``: whether ``score()`` runs it unasked.

    >>> [m["name"] for m in list_methods() if m["name"] == "iou"]
    ['iou']
    """
    from atlas.methods.registry import all as all_methods

    return [
        {
            "name": spec.name,
            "family": spec.family,
            "level": spec.level,
            "value_range": spec.value_range,
            "higher_is_more": spec.higher_is_more,
            "default": spec.default,
            "kind": spec.kind,
            "needs_probe": spec.needs_probe,
            "version": spec.version,
            "description": spec.description,
            "reference": spec.reference,
            "parameters": dict(spec.defaults),
        }
        for spec in all_methods()
    ]


def read_word_list(path: str | Path) -> list[str]:
    """A word-list file, one word per line; errors name the file and line."""
    from atlas.corpus.inventory import read_word_list as read

    return read(path)


def sources_text(sources: list[dict[str, Any]]) -> str:
    """Which score sets a query read (``frame.attrs["sources"]``), one line each."""
    from atlas.query.api import sources_text as text

    return text(sources)


def error_text(exc: AtlasError) -> str:
    """What a user sees for an error: a caret diagram for a query error, else ``error: ...`` on one line."""
    from atlas.errors import QueryError

    if isinstance(exc, QueryError):
        from atlas.query.errors import render

        return render(exc)
    return f"error: {exc}"


def _operation(name: str) -> Callable[..., Any]:
    """The stage function of one operation, imported now (only that module)."""
    if name == "add_corpus":
        from atlas.corpus.ingest import add_corpus as func
    elif name == "define_concept":
        from atlas.corpus.inventory import define_concept as func
    elif name == "concepts":
        from atlas.corpus.inventory import list_concepts as func
    elif name == "extract":
        from atlas.extract.job import extract as func
    elif name == "score":
        from atlas.methods.job import score as func
    elif name == "explain_neurons":
        from atlas.explain.job import explain as func
    elif name == "correlate":
        from atlas.similarity.job import correlate as func
    elif name == "agreement":
        from atlas.methods.agreement import compute_agreement as func
    elif name == "query":
        from atlas.query.api import run_query as func
    elif name == "compile":
        from atlas.query.api import compile_query as func
    elif name == "sql":
        from atlas.report.sql import run_sql as func
    elif name == "report":
        from atlas.report.html import write_report as func
    elif name == "ablate":
        from atlas.causal.ablation import ablation_curve as func
    elif name == "ablate_neurons":
        from atlas.causal.ablation import ablate_neurons as func
    elif name == "attribute":
        from atlas.causal.attribution import attribute as func
    elif name == "steer":
        from atlas.causal.steer import steer as func
    else:
        raise KeyError(f"no operation {name!r}; known: add_corpus, define_concept, concepts, extract, score, "
                       "explain_neurons, correlate, agreement, query, compile, sql, report, ablate, ablate_neurons, "
                       "attribute, steer")
    return func


def library_defaults(operation: str) -> dict[str, Any]:
    """The default of each keyword of an operation, read from the stage function that owns it.

    The command line quotes these in its help and passes only the options a user set, so a
    default lives in one place: the function's signature.

    >>> library_defaults("query")["timeout_s"]
    30
    """
    import inspect

    func = _operation(operation)
    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
