"""Queries on causal scores (``ablation``, ``ablation_embedding``, ``attribution``) against
references computed in pandas from the fixture's own values (``FixtureData.scores``), on SQLite
and PostgreSQL: the causal sets are ordinary score sets, read like any method's."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from atlas.methods import registry
from atlas.query.api import run_query
from fixture_atlas import CAUSAL_DRAWS


def _canon(rows: pd.DataFrame) -> list[str]:
    rows = rows.sort_values(["model", "site", "layer", "unit"], kind="stable")
    return [f"{m}/{s}.{layer}/{u}" for m, s, layer, u in zip(rows["model"], rows["site"], rows["layer"], rows["unit"])]


@pytest.mark.parametrize("encoded, used", [(0.8, 0.01), (0.5, 0.1)])
def test_encoded_and_used_matches_pandas(fx: tuple[Any, Any], encoded: float, used: float) -> None:
    """The issue's query: neurons that encode the concept (ap) and that the model uses (ablation)."""
    db, data = fx
    s = data.scores
    ap = s[(s["method"] == "ap") & (s["concept"] == "noun")].set_index("neuron_id")["value"]
    ablation = s[(s["method"] == "ablation") & (s["concept"] == "noun")].set_index("neuron_id")["value"]
    both = pd.DataFrame({"ap": ap, "ablation": ablation})  # NaN where a score is missing: never matches
    keep = both[(both["ap"] > encoded) & (both["ablation"] > used)].index
    minilm = data.neurons[(data.neurons["model"] == "minilm") & (data.neurons["site"] == "mlp")]
    ref = minilm[minilm["id"].isin(keep)].merge(both, left_on="id", right_index=True)
    got = run_query(db, f"neurons in minilm where ap(noun) > {encoded} and ablation(noun) > {used}")
    assert len(ref) > 0
    assert list(got["neuron"]) == _canon(ref)
    ref = ref.sort_values(["layer", "unit"], kind="stable")
    assert list(got["ablation(noun)"]) == pytest.approx(list(ref["ablation"]))
    assert list(got["ap(noun)"]) == pytest.approx(list(ref["ap"]))


def test_negative_attribution_by_layer_matches_pandas(fx: tuple[Any, Any]) -> None:
    """A signed causal score: counting the units below a negative threshold, with a corpus condition."""
    db, data = fx
    w = data.wide()
    sub = w[(w["model"] == "gpt2") & (w["site"] == "mlp")]
    hit = (sub["attribution(negation)"] < -0.3) & (sub["selectivity(negation)"] > 0.2)
    ref = hit.groupby(sub["layer"]).sum()
    got = run_query(db, "count neurons in gpt2 where attribution(negation) < -0.3 and selectivity(negation) > 0.2 by layer")
    assert ref.sum() > 0
    assert list(got["layer"]) == list(ref.index)
    assert list(got["n_matching"]) == list(ref)
    assert list(got["n_neurons"]) == list(sub.groupby("layer").size())


def test_neuron_view_lists_the_causal_scores_apart(fx: tuple[Any, Any]) -> None:
    """The neuron view's ``causal`` section holds exactly the causal methods, each concept ranked
    by the neuron's value (highest first: every causal method's ``higher_is_more``)."""
    db, data = fx
    sections = db.neuron("gpt2/mlp.2/3")
    nid = int(data.neurons.query("model == 'gpt2' and site == 'mlp' and layer == 2 and unit == 3")["id"].iloc[0])
    mine = data.scores[(data.scores["neuron_id"] == nid) & data.scores["value"].notna()]
    causal = sections["causal"]
    assert sorted(causal["method"].unique()) == sorted(CAUSAL_DRAWS)
    assert not set(sections["concepts"]["method"]) & set(CAUSAL_DRAWS)
    for method, part in causal.groupby("method"):
        assert registry.get(method).higher_is_more
        ref = mine[mine["method"] == method].sort_values(["value", "concept"], ascending=[False, True])
        assert part["concept"].tolist() == ref["concept"].tolist()
        assert part["value"].to_numpy() == pytest.approx(ref["value"].to_numpy(), abs=1e-6)
