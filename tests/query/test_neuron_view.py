"""``neuron NEURON`` and ``words of NEURON`` (issue 13): the sections against independent
references from the fixture's own data, the facade, the CLI's three renderings, the deadline."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from atlas.cli import main
from atlas.errors import QueryLimitError
from atlas.explain.search import canonical_text
from atlas.query import views
from atlas.query.api import run_query
from atlas.query.execute import Clock
from fixture_atlas import CAUSAL_DRAWS, EXPLANATIONS

NEURON = "minilm/mlp.0/0"


def _column(db: Any) -> np.ndarray:
    frame = db.query("show runs")
    assert not frame.empty
    from atlas.store.tables import ActivationFile
    from sqlalchemy import select

    with db.engine.connect() as conn:
        path = conn.execute(select(ActivationFile.path)).scalar_one()
    return np.asarray(db.store.open(path)[:, 0], dtype=np.float64)


def test_best_concepts_are_the_fixture_scores(fx: tuple[Any, Any]) -> None:
    db, data = fx
    sections = db.neuron(NEURON)
    assert list(sections) == list(views.SECTIONS)
    nid = int(data.neurons.query("model == 'minilm' and site == 'mlp' and layer == 0 and unit == 0")["id"].iloc[0])
    mine = data.scores[(data.scores["neuron_id"] == nid) & data.scores["value"].notna()]
    got = sections["concepts"]
    assert sorted(got["method"].unique()) == sorted(set(data.method_ids) - set(CAUSAL_DRAWS))
    for method, part in got.groupby("method"):
        ref = mine[mine["method"] == method].sort_values(["value", "concept"], ascending=[False, True]).head(5)
        assert part["concept"].tolist() == ref["concept"].tolist()
        assert np.allclose(part["value"].to_numpy(), ref["value"].to_numpy(), atol=1e-6)
        assert part["rank"].tolist() == list(range(1, len(part) + 1))
    stats = sections["stats"].iloc[0]
    ref_stats = data.stats[data.stats["neuron_id"] == nid].iloc[0]
    assert stats["mean"] == pytest.approx(ref_stats["mean"]) and stats["run"] == data.runs["minilm"]
    explanations = sections["explanations"]  # the fixture's: a beam and an exact search, lengths 1-3
    assert explanations["max_length"].tolist() == [1, 2, 3, 1, 2, 3]
    assert explanations["formula"].tolist()[:3] == [canonical_text(f) for f in EXPLANATIONS[0]]
    assert explanations["search"].tolist() == ["beam 10"] * 3 + ["exact"] * 3
    from fixture_atlas import NOTES

    assert sections["notes"]["text"].tolist() == [t for n, _, _, _, t in NOTES if n == NEURON]
    assert len(sections["top_words"]) == 5


def test_histogram_and_words_match_numpy(fx: tuple[Any, Any]) -> None:
    db, data = fx
    column = _column(db)
    hist = db.neuron(NEURON)["histogram"]
    counts, edges = np.histogram(column, bins=20)
    assert hist["count"].tolist() == counts.tolist() and hist["low"].tolist() == edges[:-1].tolist()
    assert int(hist["count"].sum()) == data.extra["n_tokens"]
    forms = [t[5].lower() for t in sorted(data.extra["tokens"], key=lambda t: t[3])]
    ref = pd.DataFrame({"word": forms, "v": column}).groupby("word")["v"].agg(["count", "mean", "max"])
    words = run_query(db, f"words of {NEURON} limit 100")
    assert set(words["word"]) == set(ref.index)
    for row in words.itertuples(index=False):
        assert row.n == ref.loc[row.word, "count"]
        assert row.mean == pytest.approx(ref.loc[row.word, "mean"]) and row.max == pytest.approx(ref.loc[row.word, "max"])
    assert words["mean"].is_monotonic_decreasing
    assert words["word"].iloc[0] == "night"  # the planted noun unit: 5.0 + 0.25 * position
    frequent = run_query(db, f"words of {NEURON} by count min 2")
    assert frequent["word"].tolist() == ["."] and frequent["n"].tolist() == [3]
    cut = run_query(db, f"words of {NEURON}")
    assert len(cut) == 18 and cut.attrs["warnings"] == []  # 18 word types, under the default 20


def test_no_activation_file_is_a_warning(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    frame = run_query(db, "neuron bert/mlp.3/1")
    assert frame.attrs["sections"]["histogram"].empty
    assert any("activation file" in w for w in frame.attrs["warnings"])
    words = run_query(db, "words of bert/mlp.3/1")
    assert words.empty and list(words.columns) == ["word", "n", "mean", "max"]


def test_words_honour_the_deadline(fx: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = fx
    real = views._activations

    def slow(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        import time

        time.sleep(0.4)
        return out

    monkeypatch.setattr(views, "_activations", slow)
    with pytest.raises(QueryLimitError):
        run_query(db, f"words of {NEURON}", timeout_s=0.2)
    assert isinstance(Clock(1), Clock)


def test_cli_prints_sections(fx: tuple[Any, Any], capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    db, _ = fx
    store = ["--db", db.url, "--store", str(db.store.root)]
    assert main(["query", f"neuron {NEURON}", *store]) == 0
    out = capsys.readouterr().out
    for title in ("== statistics", "== best concepts by each method", "== top words in context", "== activations (run",
                  "== explanations", "== notes"):
        assert title in out
    assert "| ####" in out
    assert main(["query", f"neuron {NEURON}", *store, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == list(views.SECTIONS) and len(doc["histogram"]) == 20
    assert main(["query", f"neuron {NEURON}", *store, "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("# stats\nneuron,model,")
