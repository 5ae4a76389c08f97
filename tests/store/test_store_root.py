"""Where the arrays are: the atlas records its store root, so any process finds the files, or
gets one line that names the run, the expected path and the option to set."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.errors import StoreError
from atlas.store import migrate
from atlas.store.activations import ActivationStore, record_root, recorded_root, resolve_root
from atlas.store.engine import make_engine


def test_the_recorded_root_wins_over_the_working_directory(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("ATLAS_STORE", raising=False)
    engine = make_engine(db_url)
    root = tmp_path / "lab-store"
    root.mkdir()
    record_root(engine, root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert resolve_root(engine) == root
    record_root(engine, tmp_path / "other")  # kept: a root is recorded already
    assert recorded_root(engine) == root
    assert resolve_root(engine, tmp_path / "mounted") == (tmp_path / "mounted").resolve()  # --store wins
    monkeypatch.setenv("ATLAS_STORE", str(tmp_path / "env"))
    assert resolve_root(engine) == (tmp_path / "env").resolve()
    engine.dispose()


def test_a_fresh_database_has_no_recorded_root(empty_db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("ATLAS_STORE", raising=False)
    engine = make_engine(empty_db_url)
    assert recorded_root(engine) is None
    migrate.init(engine)
    assert recorded_root(engine) is None
    engine.dispose()


def test_a_missing_file_names_the_run_the_path_and_the_option(tmp_path):
    store = ActivationStore(tmp_path / "here")
    rel = ActivationStore.layer_path(ActivationStore.run_dir(7, "abcdef0123456789"), layer=3, site="mlp")
    with pytest.raises(StoreError) as info:
        store.open(rel)
    text = str(info.value)
    assert "run 7" in text and str(tmp_path / "here" / rel) in text and "--store" in text and "ATLAS_STORE" in text
    store.allocate(rel, n_rows=4, width=2)
    assert store.open(rel).shape == (4, 2) and np.all(store.open(rel) == 0)


def test_score_and_a_composite_query_from_another_folder(db_url, tmp_path, monkeypatch):
    """A colleague in another folder opens the shared atlas with nothing but its URL."""
    import atlas
    from tests.methods.fixtures import make_run

    monkeypatch.delenv("ATLAS_STORE", raising=False)
    lab = tmp_path / "lab"
    lab.mkdir()
    monkeypatch.chdir(lab)
    owner = atlas.connect(db_url, store_root=tmp_path / "shared-store")
    owner.init()
    tiny = make_run(owner, tmp_path)
    owner.close()

    elsewhere = tmp_path / "colleague"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    colleague = atlas.connect(db_url)
    assert colleague.store.root == (tmp_path / "shared-store").resolve()
    colleague.score(tiny.run_id, methods="iou", concepts="upos:NOUN,upos:VERB", progress=False)
    frame = colleague.query("neurons in tiny where iou(upos:NOUN or upos:VERB) > 0 order by iou(upos:NOUN) desc limit 3")
    assert len(frame) > 0
    assert frame.attrs["sources"][0]["run"] == tiny.run_id
    colleague.close()

    monkeypatch.setenv("ATLAS_STORE", str(tmp_path / "not-mounted"))
    lost = atlas.connect(db_url)
    with pytest.raises(StoreError, match=rf"run {tiny.run_id}: activation file .* not found") as info:
        lost.score(tiny.run_id, methods="iou", concepts="upos:NOUN", progress=False)
    assert "--store" in str(info.value)
    lost.close()
