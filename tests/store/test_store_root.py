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
