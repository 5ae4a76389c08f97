"""The query language's syntax tree: frozen dataclasses, each with a source span.

The parser builds these; the binder checks them against the catalog; :mod:`atlas.query.canonical`
turns them back into canonical text and :mod:`atlas.query.describe` into English. No SQL lives here.

Spans are ``(start, end)`` character offsets into the query text. They take no part in
equality, so ``parse(format(tree)) == tree`` holds although the text moved.

>>> from atlas.query.parser import parse
>>> q = parse("neurons in bert where iou(noun) > 0.3")
>>> q.where
Compare(left=Call(method='iou', arg=ConceptName(name='noun'), params=()), op='>', right=Number(value=0.3))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Union

Span = tuple[int, int]


def _span() -> Span:
    return field(default=(0, 0), compare=False, repr=False, kw_only=True)  # type: ignore[return-value]


# -- concepts (the argument of a method call) ---------------------------------------------


@dataclass(frozen=True)
class ConceptName:
    """A stored concept: ``noun``, ``upos:NOUN``, ``"it's"``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class ConceptNot:
    operand: ConceptExpr
    span: Span = _span()


@dataclass(frozen=True)
class ConceptAnd:
    items: tuple[ConceptExpr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ConceptOr:
    items: tuple[ConceptExpr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ConceptAll:
    """``*``: every concept the method has a stored score set of (``ap(*)``)."""

    span: Span = _span()


ConceptExpr = Union[ConceptName, ConceptNot, ConceptAnd, ConceptOr]


@dataclass(frozen=True)
class Param:
    """One parameter of a method call: ``alpha=0.01`` (``key`` given) or a bare value ``fires``
    (``key`` None: the binder finds the parameter that takes it)."""

    key: str | None
    value: float | str
    span: Span = _span()

# -- operands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """``method(concept)``: a stored score, or a composite score when ``arg`` is a formula;
    ``method[params](concept)`` reads one parameterisation; ``method(*)`` every stored concept."""

    method: str
    arg: ConceptExpr | ConceptAll
    params: tuple[Param, ...] = ()
    span: Span = _span()

    @property
    def composite(self) -> bool:
        """True when the argument is a formula rather than one stored concept (or ``*``)."""
        return not isinstance(self.arg, (ConceptName, ConceptAll))

    @property
    def every(self) -> bool:
        """True for ``method(*)``."""
        return isinstance(self.arg, ConceptAll)


@dataclass(frozen=True)
class Field:
    """A neuron property: ``layer``, ``unit``, ``depth``, a statistic (``mean``, ``fire_rate``), or
    its stored compositional explanation: ``explanation`` (the best formula's text),
    ``explanation iou``, ``explanation score``, ``explanation length``."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Number:
    value: float
    span: Span = _span()


@dataclass(frozen=True)
class String:
    value: str
    span: Span = _span()


Operand = Union[Call, Field, Number, String]

# -- conditions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    """``left op right``; ``op`` ``mentions`` is ``explanation mentions CONCEPT`` (``right`` a
    :class:`String` holding the concept name)."""

    left: Operand
    op: str  # one of > >= < <= = != mentions
    right: Operand
    span: Span = _span()


@dataclass(frozen=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand
    span: Span = _span()


@dataclass(frozen=True)
class IsMissing:
    """``m(c) is missing`` (``negated``: ``is not missing``)."""

    operand: Operand
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Has:
    """``has m(c)``: the score exists (is not NULL)."""

    operand: Operand
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: Condition
    span: Span = _span()


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]
    span: Span = _span()


Condition = Union[Compare, Between, IsMissing, Has, Not, And, Or]

# -- clauses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRef:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class LayerCmp:
    """``layer > 8``."""

    op: str
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class LayerRange:
    """``layer in 4..8`` (both ends included)."""

    low: int
    high: int
    span: Span = _span()


@dataclass(frozen=True)
class DepthCmp:
    """``depth >= 0.5``: layer / number of layers."""

    op: str
    value: float
    span: Span = _span()


@dataclass(frozen=True)
class SiteIs:
    """``site = mlp``."""

    op: str
    site: str
    span: Span = _span()


Filter = Union[LayerCmp, LayerRange, DepthCmp, SiteIs]


@dataclass(frozen=True)
class OrderItem:
    expr: Operand
    descending: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class NeuronRef:
    """A neuron named by its canonical id ``model/site.layer/unit``."""

    model: str
    site: str
    layer: int
    unit: int
    span: Span = _span()

    def __str__(self) -> str:
        return f"{self.model}/{self.site}.{self.layer}/{self.unit}"


#: Calls whose argument is a model, not a concept: a neuron's similarity to another model,
#: stored by ``atlas correlate`` (``maxcorr(gpt2)``; ``(*)``: over every correlated model).
SIMILARITY_METHODS = ("maxcorr", "mincorr", "linreg")


# -- statements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NeuronQuery:
    """``neurons in bert layer>8 where ... order by ... limit N`` (``units``: neurons | dims)."""

    units: str
    models: tuple[ModelRef, ...]
    filters: tuple[Filter, ...] = ()
    where: Condition | None = None
    order: tuple[OrderItem, ...] = ()
    limit: int | None = None
    limit_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class CountQuery:
    """``count neurons in bert, gpt2 where ... by layer``."""

    units: str
    models: tuple[ModelRef, ...]
    filters: tuple[Filter, ...] = ()
    where: Condition | None = None
    by: str | None = None
    by_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class CompareQuery:
    """``compare bert, gpt2 where COND by depth``: per model and group, how many neurons match."""

    models: tuple[ModelRef, ...]
    filters: tuple[Filter, ...] = ()
    where: Condition | None = None
    by: str | None = None
    by_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class TopTokens:
    """``top tokens of minilm/mlp.4/1234 limit 20``."""

    neuron: NeuronRef
    limit: int | None = None
    limit_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class NeuronView:
    """``neuron minilm/mlp.0/829``: everything the atlas holds on one neuron (statistics, best
    concepts per method, top words, a histogram of its activations, explanations, notes)."""

    neuron: NeuronRef
    span: Span = _span()


@dataclass(frozen=True)
class ExplainView:
    """``explain minilm/mlp.3/318``: the neuron's stored compositional explanations (``atlas
    explain``): per search, the best formula of at most 1, 2, ... concepts with its scores."""

    neuron: NeuronRef
    span: Span = _span()


@dataclass(frozen=True)
class WordsQuery:
    """``words of minilm/mlp.0/829 by mean min 5 limit 20``: the neuron's activation per word
    type (lower-cased form) over the run's whole corpus, read from its activation file."""

    neuron: NeuronRef
    by: str | None = None  # mean (default) | max | count
    by_span: Span = field(default=(0, 0), compare=False, repr=False)
    min_count: int | None = None  # keep words seen at least this many times
    min_count_span: Span = field(default=(0, 0), compare=False, repr=False)
    limit: int | None = None
    limit_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class NotesQuery:
    """``notes of minilm/mlp.0/829 limit 20``: the lab's notes and labels on one neuron, oldest
    first (on PostgreSQL, row-level security hides others' private notes)."""

    neuron: NeuronRef
    limit: int | None = None
    limit_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class SimilarQuery:
    """``similar to minilm/mlp.3/318 in gpt2 limit 10``: the neuron's closest partners in other
    models (stored by ``atlas correlate``), by |Pearson r|."""

    neuron: NeuronRef
    models: tuple[ModelRef, ...] = ()  # () = every model correlated with the neuron's
    limit: int | None = None
    limit_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class LayersQuery:
    """``layers of minilm vs bert site=mlp by cka``: a layer x layer similarity matrix."""

    model: ModelRef
    other: ModelRef
    filters: tuple[Filter, ...] = ()
    by: str | None = None  # cka (default) | svcca | pwcca | maxcorr | linreg
    by_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class Show:
    """``show models | concepts [like PATTERN] | methods | runs``."""

    what: str
    like: str | None = None
    like_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class AggregateQuery:
    """``max ap(noun) in minilm where ... by layer``: one aggregate (max, min, mean, median) of
    one stored score over the matching neurons, per group."""

    func: str
    score: Call
    models: tuple[ModelRef, ...]
    filters: tuple[Filter, ...] = ()
    where: Condition | None = None
    by: str | None = None
    by_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class ProbesQuery:
    """``probes in minilm layer > 2 where task = upos and metric = accuracy by layer``: the stored
    probe figures (``probe_result``); ``by layer`` puts each metric in its own column."""

    models: tuple[ModelRef, ...]
    filters: tuple[Filter, ...] = ()
    where: Condition | None = None
    by: str | None = None
    by_span: Span = field(default=(0, 0), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True)
class MethodRef:
    """A method named without a concept, optionally with a parameterisation: ``iou[fires]``."""

    method: str
    params: tuple[Param, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class AgreementQuery:
    """``agreement of ap, iou, probe on noun in minilm where n = 100``: the stored agreement of
    each pair of the methods on the concept (top-n Jaccard, Spearman); ``methods`` empty for
    ``*`` (every stored pair)."""

    methods: tuple[MethodRef, ...]
    concept: ConceptName
    models: tuple[ModelRef, ...]
    where: Condition | None = None
    span: Span = _span()


Statement = Union[NeuronQuery, CountQuery, CompareQuery, AggregateQuery, ProbesQuery, AgreementQuery, TopTokens, NeuronView,
                  WordsQuery, NotesQuery, SimilarQuery, LayersQuery, Show, ExplainView]


def iter_calls(node: object) -> list[Call]:
    """Every :class:`Call` in a condition or operand, in source order (duplicates kept).

    >>> from atlas.query.parser import parse
    >>> [c.method for c in iter_calls(parse("neurons in b where iou(x) > 1 or ap(y) < 2").where)]
    ['iou', 'ap']
    """
    return [o for o in iter_operands(node) if isinstance(o, Call)]


def iter_predicates(cond: object) -> Iterator[Compare | Between | IsMissing | Has]:
    """The predicates of a condition (its leaves under ``and``, ``or``, ``not``), in source order."""
    if isinstance(cond, (And, Or)):
        for item in cond.items:
            yield from iter_predicates(item)
    elif isinstance(cond, Not):
        yield from iter_predicates(cond.operand)
    elif isinstance(cond, (Compare, Between, IsMissing, Has)):
        yield cond


def iter_operands(node: object) -> list[Operand]:
    """Every operand of a condition, an order item or an operand itself, in source order."""
    if isinstance(node, OrderItem):
        node = node.expr
    if isinstance(node, (Call, Field, Number, String)):
        return [node]
    out: list[Operand] = []
    for p in iter_predicates(node):
        if isinstance(p, Compare):
            out.extend((p.left, p.right))
        elif isinstance(p, Between):
            out.extend((p.operand, p.low, p.high))
        else:
            out.append(p.operand)
    return out
