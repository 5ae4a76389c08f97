"""Property tests: random trees survive format → parse; arbitrary text fails only as a QueryError."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.errors import QueryError
from atlas.query import ast
from atlas.naming import is_reserved
from atlas.query.canonical import format_statement
from atlas.query.parser import parse

_ident = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(lambda s: not is_reserved(s))
_any_name = st.text(alphabet=string.ascii_letters + string.digits + " '\";-:=.,%()é☃", min_size=1, max_size=10)
_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)

_concept_leaf = st.builds(ast.ConceptName, st.one_of(_ident, _any_name, st.just("upos:NOUN"), st.just("feat:Tense=Past")))
_concepts = st.recursive(
    _concept_leaf,
    lambda inner: st.one_of(
        st.builds(ast.ConceptNot, inner),
        st.builds(ast.ConceptAnd, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(ast.ConceptOr, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=5,
)
_calls = st.builds(ast.Call, _ident, _concepts)
_operands = st.one_of(_calls, st.builds(ast.Field, _ident), st.builds(ast.Number, _numbers), st.builds(ast.String, _any_name))
_ops = st.sampled_from([">", ">=", "<", "<=", "=", "!="])
_leaf_conditions = st.one_of(
    st.builds(ast.Compare, _operands, _ops, _operands),
    st.builds(ast.Between, _operands, _operands, _operands),
    st.builds(ast.IsMissing, _operands, st.booleans()),
    st.builds(ast.Has, _operands),
)
_conditions = st.recursive(
    _leaf_conditions,
    lambda inner: st.one_of(
        st.builds(ast.Not, inner),
        st.builds(ast.And, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(ast.Or, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=6,
)
_models = st.lists(st.builds(ast.ModelRef, st.one_of(_ident, _any_name)), min_size=1, max_size=3).map(tuple)
_filters = st.lists(
    st.one_of(
        st.builds(ast.LayerCmp, _ops, st.integers(0, 99)),
        st.builds(ast.LayerRange, st.integers(0, 99), st.integers(0, 99)),
        st.builds(ast.DepthCmp, _ops, _numbers),
        st.builds(ast.SiteIs, st.sampled_from(["=", "!="]), st.sampled_from(["mlp", "resid", "attn"])),
    ),
    max_size=3,
).map(tuple)
_order = st.lists(st.builds(ast.OrderItem, _operands, st.booleans()), max_size=2).map(tuple)
_limit = st.one_of(st.none(), st.integers(0, 99999))
_statements = st.one_of(
    st.builds(ast.NeuronQuery, st.sampled_from(["neurons", "dims"]), _models, _filters, st.one_of(st.none(), _conditions), _order, _limit),
    st.builds(ast.CountQuery, st.sampled_from(["neurons", "dims"]), _models, _filters, st.one_of(st.none(), _conditions), st.one_of(st.none(), _ident.map(str.lower))),
    st.builds(ast.CompareQuery, _models, _filters, _conditions, st.one_of(st.none(), st.sampled_from(["depth", "layer", "model"]))),
    st.builds(
        ast.TopTokens,
        st.builds(ast.NeuronRef, _ident, st.sampled_from(["mlp", "resid"]), st.integers(0, 50), st.integers(0, 5000)),
        _limit,
    ),
    st.builds(
        ast.AgreementQuery,
        st.one_of(st.just(()), st.lists(st.builds(ast.MethodRef, _ident), min_size=2, max_size=3).map(tuple)),
        _concept_leaf,
        _models,
        st.one_of(st.none(), _conditions),
    ),
    st.builds(ast.Show, st.sampled_from(["models", "methods", "runs"])),
    st.builds(ast.Show, st.just("concepts"), st.one_of(st.none(), _any_name)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_statements)
def test_format_then_parse_gives_the_same_tree(tree: ast.Statement) -> None:
    text = format_statement(tree)
    assert parse(text) == tree
    assert format_statement(parse(text)) == text


_fragments = st.sampled_from(
    ["neurons", "in", "bert", "where", "iou(", "noun", ")", ">", "0.5", "and", "or", "not", "layer", "8..11", ",", "'", '"', "--", ";",
     "by", "order", "limit", "count", "compare", "top", "tokens", "of", "bert/mlp.1/2", "has", "is", "missing", "between", "(", "=", "1e9", "é"]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_fragments, max_size=14).map(" ".join)))
def test_arbitrary_text_parses_or_raises_a_query_error(text: str) -> None:
    try:
        parse(text)
    except QueryError:
        pass
