"""The library entry point: ``atlas.connect(url)`` returns an :class:`Atlas`.

The CLI is a thin shell over these methods. Each method delegates to the module that owns
the work, imported on first use, so ``atlas query`` never imports torch.

Example::

    import atlas
    db = atlas.connect("sqlite:///atlas.db")
    db.query("neurons in minilm layer>3 where selectivity(negation) > 0.5 limit 5")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from atlas.store import migrate
from atlas.store.activations import ActivationStore, default_root
from atlas.store.engine import database_url, make_engine, write

if TYPE_CHECKING:
    import pandas as pd


class Atlas:
    """A connection to one atlas: the relational store plus its activation store.

    Args:
        url: database URL (``sqlite:///atlas.db``, ``postgresql+psycopg://...``); defaults to
            ``$ATLAS_DB`` or ``sqlite:///atlas.db``.
        store_root: folder of the activation arrays; defaults to :func:`default_root`.
        engine: an existing engine to use instead of ``url`` (tests).
    """

    def __init__(
        self, url: str | None = None, *, store_root: str | Path | None = None, engine: Engine | None = None
    ) -> None:
        self.url = database_url(url) if engine is None else str(engine.url)
        self.engine = engine if engine is not None else make_engine(url)
        self.store = ActivationStore(Path(store_root) if store_root else default_root(self.engine))
        self._checked = False

    # -- schema ---------------------------------------------------------------------------
    def init(self) -> str:
        """Create the schema or upgrade it to the newest revision; returns the revision."""
        rev = migrate.init(self.engine)
        self._checked = True
        return rev

    def check(self) -> None:
        """Raise :class:`~atlas.errors.StoreError` unless this is an up-to-date atlas."""
        if not self._checked:
            migrate.check_schema(self.engine)
            self._checked = True

    def write(self) -> Any:
        """A write transaction (``with db.write() as conn:``)."""
        return write(self.engine)

    # -- corpora and concepts -------------------------------------------------------------
    def add_corpus(self, name: str, path: str | Path | None = None, **kwargs: Any) -> Any:
        """Store a corpus; see :func:`atlas.corpus.ingest.add_corpus`."""
        from atlas.corpus.ingest import add_corpus

        self.check()
        return add_corpus(self, name, path, **kwargs)

    def define_concept(self, name: str, formula: str | None = None, **kwargs: Any) -> Any:
        """Define a named concept; see :func:`atlas.corpus.concepts.define_concept`."""
        from atlas.corpus.concepts import define_concept

        self.check()
        return define_concept(self, name, formula, **kwargs)

    # -- extraction and scoring ------------------------------------------------------------
    def extract(self, model: str, *, corpus: str, **kwargs: Any) -> int:
        """Run an extraction job; returns the run id. See :func:`atlas.extract.job.extract`."""
        from atlas.extract.job import extract

        self.check()
        return extract(self, model, corpus=corpus, **kwargs)

    def score(self, run: int | str, **kwargs: Any) -> Any:
        """Score a run's neurons against concepts. See :func:`atlas.methods.job.score`."""
        from atlas.methods.job import score

        self.check()
        return score(self, run, **kwargs)

    # -- queries ---------------------------------------------------------------------------
    def query(self, text: str, **kwargs: Any) -> pd.DataFrame:
        """Run a query; see :func:`atlas.query.api.run_query`."""
        from atlas.query.api import run_query

        self.check()
        return run_query(self, text, **kwargs)

    def compile(self, text: str, **kwargs: Any) -> str:
        """The SQL a query compiles to, for this database's dialect."""
        from atlas.query.api import compile_query

        self.check()
        return compile_query(self, text, **kwargs)

    def describe(self, text: str) -> str:
        """The query in one English sentence."""
        from atlas.query.api import describe_query

        return describe_query(text)

    def format(self, text: str) -> str:
        """The query's canonical text (parses back to the same tree)."""
        from atlas.query.api import format_query

        return format_query(text)

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
