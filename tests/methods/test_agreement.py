"""Method agreement and NeuronVote (issue 13), on both backends: planted neurons are in every
method's top-n (Jaccard > 0, vote = number of methods, vote rank first); the stored figures equal
a direct scipy/numpy computation from the stored score sets; recomputing replaces; the query
language reads the same rows as the Python API."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sqlalchemy import func, select

from atlas.errors import ConceptError, MethodError
from atlas.methods.agreement import agreement_frame, compute_agreement, jaccard, neuron_vote, ranking, spearman
from atlas.methods.job import score
from atlas.store.scores import read_set
from atlas.store.tables import Agreement, Concept, Layer, Method, ScoreSet

from .fixtures import make_run

METHODS = ("iou", "ap", "selectivity", "meandiff", "probeless")


@pytest.fixture
def scored(db, tmp_path):
    tiny = make_run(db, tmp_path, planted="upos:NOUN")
    score(db, tiny.run_id, methods=",".join(METHODS), concepts="upos:NOUN,upos:VERB,negation", progress=False)
    return db, tiny


def _site_values(db, run_id, method, concept):
    """A method's stored values of a concept, per site, layers in order (read independently)."""
    with db.engine.connect() as conn:
        set_id = conn.execute(
            select(func.max(ScoreSet.id)).join(Method, Method.id == ScoreSet.method_id).join(Concept, Concept.id == ScoreSet.concept_id)
            .where(ScoreSet.run_id == run_id, Method.name == method, Concept.name == concept, ScoreSet.status == "complete")
        ).scalar_one()
        stored = read_set(conn, set_id)
        layers = conn.execute(select(Layer.id, Layer.site).order_by(Layer.site, Layer.index)).all()
    out: dict[str, list[np.ndarray]] = {}
    for layer_id, site in layers:
        out.setdefault(site, []).append(stored[layer_id].astype(np.float64))
    return {site: np.concatenate(v) for site, v in out.items()}


def test_planted_neurons_are_in_every_top_n_and_get_every_vote(scored):
    db, tiny = scored
    summary = compute_agreement(db, tiny.run_id, top=2)
    assert summary["n_concepts"] == 3 and summary["skipped"] == {}
    frame = agreement_frame(db, tiny.run_id, "upos:NOUN", n=2)
    assert len(frame) == 2 * len(METHODS) * (len(METHODS) - 1) // 2  # every pair, both sites
    assert (frame["jaccard"] > 0).all(), frame
    # units 1 of layers 0 and 1 are planted (the 2nd and 8th unit of each site, width 6)
    votes = db.query("neurons in tiny where vote[n=2](upos:NOUN) = 5 order by vote_rank[n=2](upos:NOUN)")
    assert votes["neuron"].tolist() == ["tiny/mlp.0/1", "tiny/mlp.1/1"] or votes["neuron"].tolist() == ["tiny/mlp.1/1", "tiny/mlp.0/1"]
    assert sorted(votes["vote_rank[n=2](upos:NOUN)"].tolist()) == [1.0, 2.0]
    dims = db.query("dims in tiny where vote[n=2](upos:NOUN) = 5")
    assert sorted(dims["unit"].tolist()) == [1, 1]


def test_stored_figures_equal_a_direct_computation(scored):
    db, tiny = scored
    compute_agreement(db, "tiny", top=(3, 5))
    frame = agreement_frame(db, "tiny", "negation")
    assert set(frame["n"]) == {3, 5} and set(frame["site"]) == {"mlp", "resid"}
    for row in frame.itertuples():
        a = _site_values(db, tiny.run_id, row.method_a, "negation")[row.site]
        b = _site_values(db, tiny.run_id, row.method_b, "negation")[row.site]
        both = np.isfinite(a) & np.isfinite(b)
        assert row.n_units == both.sum()
        assert row.spearman == pytest.approx(spearmanr(a[both], b[both]).statistic, abs=1e-12)
        # top-n by a plain sort (highest first, ties by index)
        top_a = set(sorted(np.flatnonzero(np.isfinite(a)), key=lambda i: (-a[i], i))[: row.n])
        top_b = set(sorted(np.flatnonzero(np.isfinite(b)), key=lambda i: (-b[i], i))[: row.n])
        assert row.jaccard == pytest.approx(len(top_a & top_b) / len(top_a | top_b), abs=1e-12)


def test_vote_equals_counting_top_n_memberships(scored):
    db, tiny = scored
    compute_agreement(db, tiny.run_id, top=4)
    per_method = {m: _site_values(db, tiny.run_id, m, "upos:VERB")["mlp"] for m in METHODS}
    expected = np.zeros(12)
    for v in per_method.values():
        top = sorted(np.flatnonzero(np.isfinite(v)), key=lambda i: (-v[i], i))[:4]
        expected[top] += 1
    frame = db.query("neurons in tiny where has vote[n=4](upos:VERB) order by layer, unit")
    assert frame["vote[n=4](upos:VERB)"].tolist() == expected.tolist()
    ranks = frame["vote_rank[n=4](upos:VERB)"] if "vote_rank[n=4](upos:VERB)" in frame else None
    assert ranks is None  # only what was asked
    placed = db.query("neurons in tiny order by vote_rank[n=4](upos:VERB) limit 12")
    got = placed["vote_rank[n=4](upos:VERB)"].tolist()
    assert got == sorted(got) and got[0] == 1.0 and sorted(got) == list(map(float, range(1, 13)))


def test_recomputing_replaces_and_scoring_again_keeps_one_set(scored):
    db, tiny = scored
    compute_agreement(db, tiny.run_id, top=2)
    compute_agreement(db, tiny.run_id, top=2, concepts="negation")
    with db.engine.connect() as conn:
        n_rows = conn.execute(select(func.count()).select_from(Agreement)).scalar_one()
        vote_sets = conn.execute(
            select(func.count()).select_from(ScoreSet).join(Method, Method.id == ScoreSet.method_id)
            .where(Method.name == "vote", ScoreSet.status == "complete")
        ).scalar_one()
    assert n_rows == 3 * 2 * 10 and vote_sets == 3


def test_errors_name_what_is_wrong(scored):
    db, tiny = scored
    with pytest.raises(MethodError, match="no complete score set of 'probe'"):
        compute_agreement(db, tiny.run_id, methods="ap,probe")
    with pytest.raises(ConceptError, match="unknown concept 'nuon'"):
        compute_agreement(db, tiny.run_id, concepts="nuon")
    with pytest.raises(MethodError, match="at least 1"):
        compute_agreement(db, tiny.run_id, top=0)
    only_one = compute_agreement(db, tiny.run_id, methods="ap", concepts="negation")
    assert only_one["n_concepts"] == 0 and "agreement needs two or more" in only_one["skipped"]["negation"]


def test_query_reads_what_the_api_returns(scored):
    db, tiny = scored
    compute_agreement(db, tiny.run_id, top=3)
    api = agreement_frame(db, tiny.run_id, "upos:NOUN", methods=["ap", "iou", "selectivity"])
    q = db.query("agreement of ap, iou, selectivity on upos:NOUN in tiny")
    assert len(q) == len(api) == 6
    for row in q.itertuples():
        pair = api[(api["site"] == row.site) & (api["method_a"].isin([row.method_a, row.method_b]))
                   & (api["method_b"].isin([row.method_a, row.method_b]))]
        assert len(pair) == 1 and pair["jaccard"].item() == row.jaccard and pair["spearman"].item() == row.spearman
    assert q["method_a"].tolist()[:3] == ["ap", "ap", "iou"]  # the query's order


def test_numpy_helpers_on_ties_and_gaps():
    v = np.array([1.0, np.nan, 1.0, 3.0])
    assert ranking(v).tolist() == [3, 0, 2, 1] and ranking(v, higher_is_more=False).tolist() == [0, 2, 3, 1]
    assert np.isnan(jaccard(np.array([], int), np.array([], int)))
    rho, n = spearman(np.array([1.0, 2, 2, 4, np.nan]), np.array([1.0, 3, 2, 4, 0]))
    assert n == 4 and rho == pytest.approx(spearmanr([1, 2, 2, 4], [1, 3, 2, 4]).statistic)
    votes, place = neuron_vote([np.array([5.0, 4, 3, 2]), np.array([5.0, 4, 3, 2])], n=2)
    assert votes.tolist() == [2, 2, 0, 0] and place.tolist() == [1, 2, 3, 4]


def test_average_ranks_equal_scipys():
    from scipy.stats import rankdata

    from atlas.methods.agreement import average_ranks

    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 4, rng.integers(1, 30)).astype(float)
        assert average_ranks(x).tolist() == rankdata(x).tolist()


def test_atlas_score_stores_agreement_and_the_cli_recomputes_it(db, tmp_path, capsys):
    from atlas.cli import main

    tiny = make_run(db, tmp_path)
    result = db.score(tiny.run_id, methods="ap,selectivity", concepts="upos:NOUN", progress=False)
    assert result["agreement"]["top"] == [100] and result["agreement"]["n_concepts"] == 1
    assert set(db.agreement("tiny", "upos:NOUN")["n"]) == {100}
    assert main(["agreement", "--run", "tiny", "--top", "3,5", "--db", db.url, "--store", str(tmp_path / "store")]) == 0
    assert "1 concepts, 4 rows (top-3, 5)" in capsys.readouterr().out
    # scoring again recomputes every stored size
    again = db.score(tiny.run_id, methods="iou", concepts="upos:NOUN", progress=False)
    assert again["agreement"]["top"] == [3, 5, 100]
    frame = db.agreement(tiny.run_id, "upos:NOUN", n=5, site="mlp")
    assert sorted(zip(frame["method_a"], frame["method_b"])) == [("ap", "iou"), ("ap", "selectivity"), ("iou", "selectivity")]
    assert main(["agreement", "--run", "tiny", "--top", "0", "--db", db.url]) == 1
    assert "at least 1" in capsys.readouterr().err
