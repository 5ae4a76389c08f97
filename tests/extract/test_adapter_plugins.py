"""Adapters from other packages: the ``atlas.adapters`` entry point group and register_adapter."""

from __future__ import annotations

import sys
import textwrap

import pytest

from atlas.errors import ExtractionError
from atlas.extract import adapters
from atlas.extract.adapters import Adapter, adapter_for, families, load_entry_points, register_adapter


@pytest.fixture
def registry(monkeypatch):
    """The adapter registry as it is, restored after the test."""
    monkeypatch.setattr(adapters, "_REGISTRY", dict(adapters._REGISTRY))
    monkeypatch.setattr(adapters, "_entry_points_loaded", False)
    return adapters._REGISTRY


def _install_plugin(tmp_path, monkeypatch, name: str, module: str, body: str, target: str) -> None:
    """A real distribution on sys.path: ``NAME.dist-info`` with METADATA and entry_points.txt."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = tmp_path / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[atlas.adapters]\n{target}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)


def test_an_installed_entry_point_adds_a_family(registry, tmp_path, monkeypatch) -> None:
    from transformers import MPNetConfig

    with pytest.raises(ExtractionError, match="no extraction adapter"):
        adapter_for(MPNetConfig())
    monkeypatch.setattr(adapters, "_entry_points_loaded", False)
    _install_plugin(tmp_path, monkeypatch, "atlas-mpnet-plugin", "atlas_mpnet_plugin", """
        from atlas.extract.adapters import Adapter

        def adapters():
            return [Adapter("mpnet", ("mpnet",), blocks="encoder.layer", down_proj="output.dense")]
    """, "mpnet = atlas_mpnet_plugin:adapters")
    assert adapter_for(MPNetConfig()).family == "mpnet"  # loaded on first lookup
    assert "mpnet" in families() and families()[:2] == ["bert", "distilbert"]
    assert load_entry_points() == []  # once


def test_a_broken_entry_point_is_named(registry, tmp_path, monkeypatch) -> None:
    _install_plugin(tmp_path, monkeypatch, "atlas-broken-plugin", "atlas_broken_plugin", """
        NOT_AN_ADAPTER = 42
    """, "broken = atlas_broken_plugin:NOT_AN_ADAPTER")
    with pytest.raises(ExtractionError, match="'broken'.*gave int, not an Adapter"):
        load_entry_points(force=True)


def test_register_adapter_refuses_taken_names_unless_replacing(registry) -> None:
    from transformers import BertConfig

    mine = Adapter("mybert", ("bert",), blocks="encoder.layer", down_proj="output.dense")
    with pytest.raises(ExtractionError, match="already belongs to the 'bert' adapter"):
        register_adapter(mine)
    with pytest.raises(ExtractionError, match="already registered"):
        register_adapter(Adapter("bert", ("bert",), blocks="x", down_proj="y"))
    register_adapter(mine, replace=True)
    assert adapter_for(BertConfig()).family == "mybert"
    with pytest.raises(ExtractionError, match="not an atlas.extract.adapters.Adapter"):
        register_adapter("bert")  # type: ignore[arg-type]
