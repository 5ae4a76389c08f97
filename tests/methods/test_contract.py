"""One contract test run against every registered method (scikit-learn's parametrize_with_checks idea)."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.errors import MethodError
from atlas.methods import registry
from atlas.methods.base import KINDS, METHOD_NAME, ScoreMethod, params_hash, register_method
from atlas.naming import is_reserved

from .helpers import planted

SPECS = registry.select(kind="concept")  # causal methods run the model (tests/causal)
P = planted(n_sent=120, d=10)


def _fit(spec, **params):
    est = spec.make({"max_rows": 2000, **params} if spec.family == "probing" else params or None)
    return est.fit(P.X, P.Y, names=P.names, sentence_index=P.sentence_index, word_types=P.word_types)


def test_registry_holds_the_contract_names():
    names = {s.name for s in SPECS}
    for n in ("iou", "precision", "recall", "ap", "ap_sentence", "selectivity", "meandiff", "probeless", "probe",
              "control_selectivity", "mi"):
        assert n in names
    default = {s.name for s in registry.select(default=True)}
    probes = {s.name for s in registry.select(needs_probe=True)}
    assert default | probes == names and not default & probes
    assert probes == {"probe", "control_selectivity"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_declaration(spec):
    assert METHOD_NAME.match(spec.name) and not is_reserved(spec.name)
    assert spec.description and spec.estimator.__doc__ and "METHODS.md" in (spec.reference + spec.estimator.__doc__)
    assert spec.level in ("token", "sentence") and spec.family in ("corpus", "probing")
    assert spec.kind in KINDS and spec.needs_probe == (spec.family == "probing")
    assert spec.args == ("concept",) and spec.version
    assert issubclass(spec.estimator, ScoreMethod)
    assert spec.make().get_params() == dict(spec.defaults)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_fit_shape_range_determinism(spec):
    a = _fit(spec)
    assert a.scores_.shape == (P.X.shape[1], P.Y.shape[1])
    lo, hi = spec.value_range
    values = a.scores_[~np.isnan(a.scores_)]
    assert values.size > 0
    if lo is not None:
        assert values.min() >= lo - 1e-9
    if hi is not None:
        assert values.max() <= hi + 1e-9
    b = _fit(spec)
    np.testing.assert_array_equal(a.scores_, b.scores_)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_parameters_are_checked_and_hashed(spec):
    with pytest.raises(MethodError):
        spec.params({"no_such_parameter": 1})
    if spec.defaults:
        key, value = next(iter(spec.defaults.items()))
        other = value * 2 if isinstance(value, (int, float)) and not isinstance(value, bool) else "positive"
        assert params_hash(spec.params()) != params_hash(spec.params({key: other}))


def test_unknown_method_suggests():
    with pytest.raises(MethodError, match="did you mean 'selectivity'"):
        registry.get("selectivty")


def test_register_rejects_bad_and_duplicate_names():
    with pytest.raises(MethodError):
        register_method("Bad-Name", description="x")
    with pytest.raises(MethodError):
        register_method("where", description="x")

    with pytest.raises(MethodError, match="already registered"):

        @register_method("iou", description="again")
        class Again(ScoreMethod):
            pass


def test_string_parameters_are_coerced():
    assert registry.get("iou").params({"alpha": "0.01"})["alpha"] == 0.01
    with pytest.raises(MethodError, match="not a float"):
        registry.get("iou").params({"alpha": "lots"})


@pytest.mark.parametrize("word", ["has", "and", "not", "where", "neurons", "between", "missing", "like", "desc"])
def test_register_refuses_query_keywords(word):
    # has(noun) cannot parse: the grammar reads `has` as the start of `has OPERAND`.
    with pytest.raises(MethodError, match="keyword of the query language"):
        register_method(word, description="x")
