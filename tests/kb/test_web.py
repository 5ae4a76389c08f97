"""``atlas serve`` (issue 18) through Starlette's test client: the pages, the JSON API, the notes
form; on PostgreSQL a reader's server and an annotator's server side by side."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("starlette", reason="atlas serve needs the [serve] extra (starlette, uvicorn)")
pytest.importorskip("httpx", reason="Starlette's test client needs httpx (the [test] extra)")

from starlette.testclient import TestClient  # noqa: E402

import atlas  # noqa: E402
from atlas.query.views import SECTIONS  # noqa: E402
from atlas.web.app import create_app  # noqa: E402


def test_pages_and_api(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    client = TestClient(create_app(db))
    r = client.get("/", params={"q": "neurons in minilm where ap(noun) > 0.9 order by ap(noun) desc limit 3"})
    assert r.status_code == 200 and "<table>" in r.text
    first = db.query("neurons in minilm where ap(noun) > 0.9 order by ap(noun) desc limit 3")["neuron"].iloc[0]
    assert f"href='/neuron/{first}'" in r.text
    bad = client.get("/", params={"q": "neurons in minilm where ap(nuon) > 0.5"})
    assert bad.status_code == 400 and "unknown concept" in bad.text and "^^^^" in bad.text
    page = client.get("/neuron/minilm/mlp.0/0")
    assert page.status_code == 200
    for name in SECTIONS:
        assert f'<section class="panel" id="{name}">' in page.text  # the report's card, live
    assert "fires on no, not and never" in page.text and "id='note-form'" in page.text
    assert client.get("/neuron/minilm/mlp.99/0").status_code == 404
    assert client.get("/concept/negation").status_code == 200
    concept = client.get("/concept/negation").text
    assert "from UD Polarity=Neg" in concept
    assert "Top 5 units by each method" in concept
    assert 'href="/neuron/' in concept  # the report's concept page, live, linking to the server's cards
    assert client.get("/model/").status_code == 200 and "href='/model/minilm'" in client.get("/model/").text
    model = client.get("/model/minilm").text
    assert "plural marker" in model
    assert "Detectors per layer" in model and "<svg" in model  # the report's overview, live
    run = int(db.runs()["id"].iloc[0])
    assert client.get(f"/run/{run}").status_code == 200
    api = client.get("/api/query", params={"q": "count neurons in minilm where ap(noun) > 0.5 by layer"}).json()
    assert api["columns"] == ["model", "layer", "n_neurons", "n_matching"] and len(api["rows"]) == 6
    err = client.get("/api/query", params={"q": "neurons in"})
    assert err.status_code == 400 and err.json()["span"] is not None
    assert set(client.get("/api/neuron/minilm/mlp.0/0").json()) == set(SECTIONS)
    assert client.post("/api/query", data={"q": "show models"}).status_code == 405  # the API only reads
    # an empty answer says why, on the page and in the API (each condition alone)
    empty = "neurons in minilm where ap(noun) > 0.5 and ablation(noun) > 3"
    page = client.get("/", params={"q": empty}).text
    assert "(no rows)" in page and "why: alone, in this scope" in page and "ablation(noun) &gt; 3: none (the largest" in page
    api = client.get("/api/query", params={"q": empty}).json()
    assert api["rows"] == [] and api["why_empty"][2].startswith("  ablation(noun) > 3: none (the largest")
    assert "why_empty" not in client.get("/api/query", params={"q": "show models"}).json()


def test_notes_form_on_sqlite(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the PostgreSQL servers are tested with roles below")
    client = TestClient(create_app(db))
    r = client.post("/notes", data={"target": "gpt2/mlp.1/2", "text": "from the browser", "label": "web label"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/neuron/gpt2/mlp.1/2"
    assert "from the browser" in client.get("/neuron/gpt2/mlp.1/2").text
    assert db.query('neurons in gpt2 where label = "web label"')["neuron"].tolist() == ["gpt2/mlp.1/2"]
    assert client.post("/notes", data={"target": "gpt2/mlp.1/2", "text": ""}).status_code == 400


@pytest.mark.usefixtures("pg_server")
def test_reader_and_annotator_servers_side_by_side(lab: Any) -> None:
    reader_db, ann_db = atlas.connect(lab.user("reader")), atlas.connect(lab.user("annotator"))
    reader, annotator = TestClient(create_app(reader_db)), TestClient(create_app(ann_db))
    assert "id='notes-readonly'" in reader.get("/neuron/gpt2/mlp.1/2").text
    refused = reader.post("/notes", data={"target": "gpt2/mlp.1/2", "text": "sneaky"})
    assert refused.status_code == 403 and f"{lab.prefix}_reader cannot write notes" in refused.text
    assert annotator.post("/notes", data={"target": "gpt2/mlp.1/2", "text": "by the annotator"}).status_code == 200
    assert "by the annotator" in reader.get("/neuron/gpt2/mlp.1/2").text  # a lab note, visible to the reader
    assert reader.get("/api/whoami").json()["role"] == "reader"
    reader_db.close()
    ann_db.close()
