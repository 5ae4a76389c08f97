"""Text → syntax tree (no database)."""

from __future__ import annotations

import pytest

from atlas.errors import QueryLimitError, QuerySyntaxError
from atlas.query import ast
from atlas.query.parser import parse


def C(method: str, concept: str) -> ast.Call:  # noqa: N802 - reads like the language
    return ast.Call(method, ast.ConceptName(concept))


def test_user_example_exactly_as_written() -> None:
    q = parse("neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3")
    assert q == ast.NeuronQuery(
        units="neurons",
        models=(ast.ModelRef("bert"),),
        filters=(ast.LayerCmp(">", 8),),
        where=ast.And(
            (
                ast.Compare(C("selectivity", "negation"), ">", ast.Number(0.5)),
                ast.Compare(C("iou", "noun"), ">", ast.Number(0.3)),
            )
        ),
    )


def test_precedence_not_and_or() -> None:
    q = parse("neurons in m where a > 1 or not b < 2 and c = 3")
    assert isinstance(q, ast.NeuronQuery)
    assert q.where == ast.Or(
        (
            ast.Compare(ast.Field("a"), ">", ast.Number(1)),
            ast.And(
                (
                    ast.Not(ast.Compare(ast.Field("b"), "<", ast.Number(2))),
                    ast.Compare(ast.Field("c"), "=", ast.Number(3)),
                )
            ),
        )
    )


def test_parentheses_override_precedence() -> None:
    q = parse("neurons in m where (a > 1 or b > 1) and c > 1")
    assert isinstance(q, ast.NeuronQuery) and isinstance(q.where, ast.And)
    assert isinstance(q.where.items[0], ast.Or)


def test_layer_range_is_not_read_as_decimals() -> None:
    q = parse("neurons in m layer in 8..11")
    assert isinstance(q, ast.NeuronQuery)
    assert q.filters == (ast.LayerRange(8, 11),)


@pytest.mark.parametrize(
    ("text", "concept"),
    [("iou(upos:NOUN)", "upos:NOUN"), ("iou(feat:Tense=Past)", "feat:Tense=Past"), ("iou(word:don't)", "word:don't"), ('iou("it\'s here")', "it's here")],
)
def test_concept_names_in_calls(text: str, concept: str) -> None:
    q = parse(f"neurons in m where {text} > 0")
    assert isinstance(q, ast.NeuronQuery) and isinstance(q.where, ast.Compare)
    assert q.where.left == C("iou", concept)


def test_composite_concept_formula() -> None:
    q = parse("neurons in bert where iou(noun and not plural) > 0.25")
    assert isinstance(q, ast.NeuronQuery) and isinstance(q.where, ast.Compare)
    call = q.where.left
    assert isinstance(call, ast.Call) and call.composite
    assert call.arg == ast.ConceptAnd((ast.ConceptName("noun"), ast.ConceptNot(ast.ConceptName("plural"))))


def test_other_statements() -> None:
    assert parse("count dims in a, b where has iou(x) by depth") == ast.CountQuery(
        "dims", (ast.ModelRef("a"), ast.ModelRef("b")), (), ast.Has(C("iou", "x")), "depth"
    )
    assert parse("compare a, b where iou(x) > 0.3") == ast.CompareQuery(
        (ast.ModelRef("a"), ast.ModelRef("b")), (), ast.Compare(C("iou", "x"), ">", ast.Number(0.3)), None
    )
    assert parse("top tokens of minilm/mlp.4/1234 limit 20") == ast.TopTokens(ast.NeuronRef("minilm", "mlp", 4, 1234), 20)
    assert parse("show concepts like 'neg%'") == ast.Show("concepts", "neg%")
    assert parse("SHOW MODELS") == ast.Show("models")


def test_neuron_id_spellings_parse_to_one_canonical_id() -> None:
    ids = {
        parse(f"top tokens of {text}").neuron  # type: ignore[union-attr]
        for text in ("minilm/mlp.4/12", "minilm/L4/mlp/12", '"minilm/blocks.4.mlp.hook_post/12"')
    }
    assert ids == {ast.NeuronRef("minilm", "mlp", 4, 12)}


def test_keywords_case_insensitive_and_comments() -> None:
    a = parse("NEURONS In bert WHERE iou(noun) > 0.3 -- trailing comment")
    b = parse("neurons in bert where iou(noun) > 0.3")
    assert a == b


def test_spans_point_into_the_text() -> None:
    text = "neurons in bert where selectivity(negaton) > 0.5"
    q = parse(text)
    assert isinstance(q, ast.NeuronQuery) and isinstance(q.where, ast.Compare) and isinstance(q.where.left, ast.Call)
    start, end = q.where.left.arg.span
    assert text[start:end] == "negaton"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("neurons in bert where iou(noun) >", "the query ended early: expected a number after '>'"),
        ("neurons in bert layer>", "the query ended early: expected a number after '>'"),
        ("neurons in bert where", "the query ended early"),
        ("neurons bert", "unexpected 'bert'"),
        ("neurons in bert where iou(noun) && 1", "unexpected character '&'"),
        ("", "the query is empty"),
    ],
)
def test_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    assert info.value.message.startswith(message)


def test_length_limit() -> None:
    with pytest.raises(QueryLimitError):
        parse("neurons in bert where " + " or ".join(["iou(noun) > 0.5"] * 400))
