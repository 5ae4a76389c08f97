"""``atlas report`` on the fixture atlas (both backends): the pages, the links between them, the
figures, the neuron card's generic sections, and the SQL each page shows giving its rows again."""

from __future__ import annotations

import html as htmlmod
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from atlas.cli import main
from atlas.errors import AtlasError
from atlas.report import data
from atlas.report.html import slug, write_report
from tests.report.helpers import add_probe_curve


def test_detector_counts_are_the_view_rows(fx):
    db, data_ = fx
    runs = sorted(data_.runs.values())
    fast = data.detector_counts(db, runs)
    slow = db.sql(fast.attrs["source"]["text"], limit=100_000)
    assert len(fast) > 0 and list(fast.columns) == list(slow.columns)
    key = ["model", "method_id", "site", "layer"]
    fast, slow = fast.sort_values(key).reset_index(drop=True), slow.sort_values(key).reset_index(drop=True)
    assert fast[key + ["run_id", "method", "n_units", "n_detectors"]].equals(
        slow[key + ["run_id", "method", "n_units", "n_detectors"]].astype(fast[key + ["run_id", "method", "n_units", "n_detectors"]].dtypes))
    assert np.allclose(fast["fraction"], slow["fraction"].astype(float)) and np.allclose(fast["depth"], slow["depth"].astype(float))


def test_report_pages_link_and_show_their_sources(fx, tmp_path):
    db, _ = fx
    add_probe_curve(db)
    out = tmp_path / "report"
    summary = write_report(db, out, models=["minilm"], concepts=["negation"], top=2)
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "model-minilm.html", "concept-negation.html", "compare.html"} <= names
    assert summary["pages"] == len(names) and Path(summary["index"]).is_file()
    concept = (out / "concept-negation.html").read_text()
    # every unit a concept page names has a card, and every link resolves
    tops = data.top_units(db, "minilm", "ap", "negation", 2)
    for neuron in tops["neuron"]:
        assert slug("neuron", neuron) in names and f'href="{slug("neuron", neuron)}"' in concept
    for page in out.iterdir():
        for href in re.findall(r'<a href="([^"]+)"', page.read_text()):
            assert (out / htmlmod.unescape(href)).is_file(), (page.name, href)
    # the figures: probe per layer, accuracy against k, agreement, layer distribution, compare bars
    assert concept.count("<svg") == 5  # agreement, layer distribution, compare, probe per layer, accuracy vs k
    assert "no accuracy-vs-k points stored" not in concept and "k (neurons kept, log scale)" in concept
    # the SQL a page shows gives the page's rows again
    model_page = (out / "model-minilm.html").read_text()
    shown = re.search(r"atlas sql (&quot;|&#x27;)(SELECT model, run_id.*?)\1</pre>", model_page)
    assert shown is not None
    sql = htmlmod.unescape(shown.group(2)).replace('\\"', '"')
    assert len(db.sql(sql)) == len(data.detector_counts(db, [int(r) for r in re.findall(r"IN \(([0-9, ]+)\)", sql)[0].split(",")]))
    assert "atlas query &#x27;neurons in minilm where has ap(negation) order by ap(negation) desc limit 2&#x27;" in concept


def test_neuron_card_renders_every_section(fx, tmp_path, monkeypatch):
    db, _ = fx
    real = db.neuron

    def with_more(neuron, **kwargs):
        sections = real(neuron, **kwargs)
        sections["similar"] = pd.DataFrame({"neuron": ["gpt2/mlp.1/2"], "value": [0.93]})
        sections["causal"] = pd.DataFrame({"effect": pd.Series(dtype=float)})
        return sections

    monkeypatch.setattr(db, "neuron", with_more)
    out = tmp_path / "r"
    write_report(db, out, models=["minilm"], concepts=["noun"], neurons=["minilm/mlp.0/0"], top=1)
    page = (out / slug("neuron", "minilm/mlp.0/0")).read_text()
    for title in ("statistics", "best concepts by each method", "top-activating words in context", "activation histogram",
                  "explanations", "notes", "similar", "causal"):
        assert f"<h2>{title}</h2>" in page, title
    assert "gpt2/mlp.1/2" in page and "0.93" in page  # an unknown section: a table
    assert "none yet (how to get it: atlas ablate --run" in page  # an empty section says how to fill it
    assert "noun and not plural" in page  # the fixture's stored explanations
    assert "<mark>" in page  # the top word highlighted in its sentence


def test_report_errors_and_cli(fx, tmp_path, capsys):
    db, _ = fx
    with pytest.raises(AtlasError, match="no complete score sets"):
        write_report(db, tmp_path / "x", models=["minilm"], concepts=["no_such_concept"])
    with pytest.raises(AtlasError, match="no model"):
        write_report(db, tmp_path / "x", models=["nope"])
    url = db.engine.url.render_as_string(hide_password=False)
    assert main(["report", "--db", url, "--store", str(db.store.root), "--model", "gpt2", "--concept", "plural",
                 "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote ") and "index.html" in out
    frame = db.report_data("probe_curve", [2], "negation")
    assert frame.attrs["source"]["kind"] == "sql" and "probe_curve" in frame.attrs["source"]["text"]


def test_describe_neuron_prints_its_histogram(fx, capsys):
    db, _ = fx
    url = db.engine.url.render_as_string(hide_password=False)
    assert main(["describe", "neuron minilm/mlp.0/0", "--db", url, "--store", str(db.store.root)]) == 0
    out = capsys.readouterr().out
    hist = db.neuron("minilm/mlp.0/0")["histogram"]
    assert out.splitlines()[0].startswith("what the atlas holds on minilm/mlp.0/0")
    assert f"activations (run {hist.attrs['run']}, 20 bins; bars on a log scale):" in out
    bars = [line for line in out.splitlines() if " | " in line]
    assert [int(line.split()[-1]) for line in bars] == hist["count"].tolist()


def test_report_reads_agreement_ablation_and_layer_similarity(fx, tmp_path):
    """The later issues' results reach the pages: the agreement atlas score stored (bert, gpt2 in
    the fixture), the layer-similarity heat map of correlated models, the ablation curves once
    stored, and a how-to line while they are not."""
    db, data_ = fx
    out = tmp_path / "r"
    write_report(db, out, models=["bert", "gpt2"], concepts=["noun"], top=2)
    concept = (out / "concept-noun.html").read_text()
    assert "stored by atlas score: top-n Jaccard" in concept
    assert "agreement of * on noun in bert" in concept  # its query, beside the figure
    assert "none yet (how to get it: atlas ablate --run" in concept
    compare = (out / "compare.html").read_text()
    assert "Layer similarity of bert and gpt2 (linear CKA, mlp)" in compare
    assert "layers of bert vs gpt2 site=mlp by cka" in compare
    matrix = data.layer_similarity(db, "bert", "gpt2")
    assert compare.count("<svg") >= 2 and len(matrix) > 0

    run = data_.runs["bert"]
    with db.engine.begin() as conn:
        concept_id = conn.execute(text("SELECT id FROM concept WHERE name = 'noun'")).scalar_one()
        for selection, k, value in (("none", 0, 0.9), ("top", 2, 0.5), ("random", 2, 0.85), ("bottom", 2, 0.88)):
            for metric, v in (("accuracy", value), ("loss", None)):  # a sentence encoder has no LM loss: NULL
                conn.execute(text("INSERT INTO ablation_curve (run_id, concept_id, ranking, site, params, params_hash, selection,"
                                  " k, metric, value, n, created_at) VALUES (:r, :c, 'ap(noun)', 'mlp', '{}', 'h', :s, :k, :m,"
                                  " :v, 1, CURRENT_TIMESTAMP)"), dict(r=run, c=concept_id, s=selection, k=k, m=metric, v=v))
    curves = data.ablation_curves(db, run, "noun")
    assert sorted(set(curves["selection"])) == ["bottom", "none", "random", "top"] and len(curves) == 8
    write_report(db, out, models=["bert"], concepts=["noun"], top=2)
    concept = (out / "concept-noun.html").read_text()
    assert "none yet (how to get it: atlas ablate" not in concept and "FROM ablation_curve" in concept
    assert "ap(noun): accuracy" in concept and "ap(noun): loss" not in concept  # no empty panel for the NULL metric
