"""The registry: declared tags, selection by tag, and third-party methods through entry points.

The plug-in tests install real distributions: a ``*.dist-info`` directory with an
``entry_points.txt`` on ``sys.path``, found by ``importlib.metadata`` like any installed package.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from atlas.errors import MethodError
from atlas.methods import base, registry
from atlas.methods.base import ScoreMethod, register_method


def test_select_by_tags():
    default = [s.name for s in registry.select(default=True)]
    assert default == ["iou", "precision", "recall", "mi", "selectivity", "meandiff", "probeless", "ap", "ap_sentence"]
    assert [s.name for s in registry.select(needs_probe=True)] == ["probe", "control_selectivity"]
    assert [s.name for s in registry.select(family="probing")] == ["probe", "control_selectivity"]
    assert registry.select(kind="pair") == []
    causal = ["ablation", "ablation_loss", "ablation_embedding", "attribution"]
    assert [s.name for s in registry.select(kind="causal")] == causal == [s.name for s in registry.select(family="causal")]
    assert len(registry.select(kind="concept")) + len(causal) == len(registry.all())
    assert [s.name for s in registry.select(default=True, level="sentence")] == ["ap_sentence"]
    assert registry.names() == [s.name for s in registry.all()]


def test_declared_capabilities():
    assert registry.get("control_selectivity").needs == ("word_types",)
    assert registry.get("ap_sentence").needs == ("sentence_index",)
    assert {s.name for s in registry.all() if "sums" in s.stats} == {"selectivity", "meandiff", "probeless"}
    assert {s.name for s in registry.all() if "intersections" in s.stats} == {"iou", "precision", "recall", "mi"}
    assert registry.get("iou").preposition == "with" and registry.get("ap").preposition == "for"


@pytest.mark.parametrize(
    "tags, match",
    [
        ({"kind": "neuron"}, "unknown kind"),
        ({"family": "magic"}, "unknown family"),
        ({"needs": ("labels",)}, "unknown needs"),
        ({"stats": ("medians",)}, "unknown stats"),
        ({"stats": ("intersections",)}, "no alpha and mask"),
    ],
)
def test_unknown_tags_are_refused(tags, match):
    with pytest.raises(MethodError, match=match):
        register_method("tagged_badly", description="x", **tags)
    assert "tagged_badly" not in base._REGISTRY


@pytest.fixture
def site_packages(tmp_path, monkeypatch):
    """A directory on ``sys.path`` to install fake distributions in; the registry is reloaded
    after the test without them."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = dict(base._REGISTRY)
    modules = set(sys.modules)
    monkeypatch.setattr(registry, "_loaded", False)
    yield tmp_path
    base._REGISTRY.clear()
    base._REGISTRY.update(before)
    for name in set(sys.modules) - modules:
        if name.startswith("fake_atlas_"):
            del sys.modules[name]


def install(root, dist: str, entry_points: str, modules: dict[str, str]) -> None:
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


PLUGIN = """
    import numpy as np
    from atlas.methods.base import ScoreMethod, register_method

    @register_method("fake_meanact", description="mean activation on the concept (a plug-in)",
                     value_range=(None, None), reference="METHODS.md §4.1")
    class MeanAct(ScoreMethod):
        \"\"\"Mean activation on the concept's words.\"\"\"

        def fit(self, X, Y, **context):
            Yf = np.asarray(Y, "float64")
            self.scores_ = (np.asarray(X, "float64").T @ Yf) / Yf.sum(0)
            return self
"""


def test_plugin_methods_load_through_entry_points(site_packages):
    install(site_packages, "fake-atlas-methods", "[atlas.methods]\nmeanact = fake_atlas_plugin\n", {"fake_atlas_plugin": PLUGIN})
    spec = registry.get("fake_meanact")
    assert spec.family == "corpus" and spec.kind == "concept" and not spec.default
    names = registry.names()
    assert names.index("fake_meanact") > names.index("control_selectivity")  # after the built-ins
    import numpy as np

    X = np.array([[1.0, 0.0], [3.0, 1.0], [0.0, 5.0]])
    Y = np.array([[True], [True], [False]])
    np.testing.assert_allclose(spec.make().fit(X, Y).scores_[:, 0], [2.0, 0.5])


def test_plugin_entry_point_may_name_the_class(site_packages):
    install(
        site_packages, "fake-atlas-class", "[atlas.methods]\nmeanact = fake_atlas_plugin_cls:MeanAct\n",
        {"fake_atlas_plugin_cls": PLUGIN},
    )
    assert registry.get("fake_meanact").estimator.__name__ == "MeanAct"


def test_a_plugin_that_fails_to_import_names_its_distribution(site_packages):
    install(
        site_packages, "fake-atlas-broken", "[atlas.methods]\nbroken = fake_atlas_broken\n",
        {"fake_atlas_broken": "import no_such_module_anywhere\n"},
    )
    with pytest.raises(MethodError, match="fake-atlas-broken") as info:
        registry.get("iou")
    assert "ModuleNotFoundError" in info.value.message and "pip uninstall fake-atlas-broken" in (info.value.hint or "")


def test_a_plugin_with_a_keyword_name_names_its_distribution(site_packages):
    source = """
        from atlas.methods.base import ScoreMethod, register_method

        @register_method("has", description="x")
        class Has(ScoreMethod):
            pass
    """
    install(site_packages, "fake-atlas-keyword", "[atlas.methods]\nhas = fake_atlas_keyword\n", {"fake_atlas_keyword": source})
    with pytest.raises(MethodError, match="fake-atlas-keyword.*keyword of the query language"):
        registry.all()


def test_a_plugin_that_names_something_else_is_refused(site_packages):
    install(
        site_packages, "fake-atlas-other", "[atlas.methods]\nother = fake_atlas_other:VALUE\n",
        {"fake_atlas_other": "VALUE = 3\n"},
    )
    with pytest.raises(MethodError, match="neither a module nor a registered ScoreMethod"):
        registry.all()


def test_plugins_load_once(site_packages, monkeypatch):
    install(site_packages, "fake-atlas-once", "[atlas.methods]\nmeanact = fake_atlas_once\n", {"fake_atlas_once": PLUGIN})
    calls = []
    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda **kw: calls.append(kw) or real(**kw))
    registry.all()
    registry.get("fake_meanact")
    registry.select(default=True)
    assert calls == [{"group": "atlas.methods"}]


def test_builtins_are_not_imported_by_the_contract():
    # base holds the contract and the table only; the registry module loads the methods.
    import ast

    tree = ast.parse(open(base.__file__).read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported & {"atlas.methods", "atlas.methods.corpus", "atlas.methods.probe", "atlas.methods.registry"} == set()
    assert issubclass(registry.get("iou").estimator, ScoreMethod)
