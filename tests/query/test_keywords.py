"""Keywords are defined once, by the grammar: the reserved-name check and the formatter read them
from grammar.lark (atlas.naming.query_keywords), and every method name the registry accepts parses."""

from __future__ import annotations

import re

import pytest

from atlas.errors import MethodError, QuerySyntaxError
from atlas.methods import registry
from atlas.methods.base import ScoreMethod, register_method
from atlas.naming import is_reserved, query_keywords
from atlas.query import ast
from atlas.query.canonical import name_text
from atlas.query.parser import _lark, parse


def _lark_keywords() -> set[str]:
    """The words Lark's compiled terminals match literally (``"where"i`` or ``"asc"i | "desc"i``)."""
    words: set[str] = set()
    for terminal in _lark().terminals:
        pattern = terminal.pattern
        if pattern.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", pattern.value):
            words.add(pattern.value.lower())
        elif pattern.type == "re":
            words |= {w.lower() for w in re.findall(r"\(\?i:([A-Za-z_]\w*)\)", pattern.value)}
    return words


def test_every_keyword_literal_of_the_grammar_is_reserved():
    assert _lark_keywords() == set(query_keywords())
    assert {"has", "and", "or", "not", "where", "neurons", "dims", "between", "missing"} <= query_keywords()


def test_keywords_are_case_insensitive():
    assert is_reserved("WHERE") and is_reserved("Has") and not is_reserved("iou")


def test_has_cannot_name_a_method_because_it_cannot_parse():
    with pytest.raises(QuerySyntaxError):
        parse("neurons in m where has(noun) > 0")
    with pytest.raises(MethodError, match="keyword of the query language"):

        @register_method("has", description="x")
        class Has(ScoreMethod):
            pass

    assert "has" not in registry.names()


@pytest.mark.parametrize("name", registry.names())
def test_every_registered_method_name_parses_as_a_call(name):
    st = parse(f"neurons in m where {name}(noun) > 0")
    assert isinstance(st, ast.NeuronQuery)
    assert isinstance(st.where, ast.Compare) and isinstance(st.where.left, ast.Call)
    assert st.where.left.method == name


@pytest.mark.parametrize("word", sorted(query_keywords()))
def test_keywords_as_names_are_quoted_by_the_formatter(word):
    assert name_text(word) == f'"{word}"'
    st = parse(f"neurons in {name_text(word)} where iou(noun) > 0")
    assert st.models[0].name == word
