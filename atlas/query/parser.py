"""Text → syntax tree: the Lark LALR parser and the translation of its errors.

The grammar lives in ``grammar.lark`` beside this module. The transformer only builds
:mod:`atlas.query.ast` nodes (no names are checked, no SQL is built), and every Lark error
becomes a :class:`~atlas.errors.QuerySyntaxError` with a span and an English message.

>>> parse("neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3").models
(ModelRef(name='bert'),)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

import atlas.query.ast as ast
from atlas.errors import AtlasError, QueryError, QueryLimitError, QuerySyntaxError
from atlas.naming import NeuronId, text_problem

#: The longest query text accepted (characters).
MAX_QUERY_LENGTH = 4000
#: The most nested conditions / concept formulas accepted.
MAX_NODES = 400

#: Terminal names → English, for "expected ..." messages.
TERMINALS_EN = {
    "NAME": "a name",
    "NUMBER": "a number",
    "INT": "a whole number",
    "STRING": "a quoted string",
    "CONCEPT": "a concept such as upos:NOUN",
    "NEURON_ID": "a neuron id such as minilm/mlp.4/1234",
    "COMP": "a comparison such as > or <=",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "UNITS": "'neurons' or 'dims'",
    "SHOW_WHAT": "models, concepts, methods or runs",
    "AGGREGATE": "max, min, mean or median",
    "_NEURON": "'neuron'",
    "_WORDS": "'words'",
    "_NOTES": "'notes'",
    "_ON": "'on'",
    "STAR": "'*'",
    "LSQB": "'['",
    "RSQB": "']'",
    "DIRECTION": "asc or desc",
    "MISSING": "'missing'",
    "_RANGE": "'..'",
    "$END": "the end of the query",
    "<END-OF-FILE>": "the end of the query",
}


def _english(terminal: str) -> str:
    if terminal in TERMINALS_EN:
        return TERMINALS_EN[terminal]
    if terminal.startswith("_") and terminal[1:].isalpha():
        return f"'{terminal[1:].lower()}'"
    return terminal.lower()


def _expected_list(names: set[str]) -> str:
    if "NUMBER" in names or "INT" in names:
        # Where a number is possible, it is what users almost always mean to write.
        first = [TERMINALS_EN["NUMBER"]]
        rest = sorted({_english(n) for n in names if n not in ("NUMBER", "INT")} - set(first))
    else:
        first = []
        rest = sorted({_english(n) for n in names})
    words = first + rest
    if not words:
        return "something else"
    if len(words) > 5:
        words = words[:5] + ["..."]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark.open_from_package(
        "atlas.query",
        "grammar.lark",
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=False,
    )


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _span_of(item: Any) -> ast.Span:
    if isinstance(item, Token):
        return (item.start_pos or 0, item.end_pos or 0)
    if isinstance(item, Tree):
        meta = item.meta
        if getattr(meta, "empty", True):
            return (0, 0)
        return (meta.start_pos, meta.end_pos)
    return getattr(item, "span", (0, 0))


def _param_value(tok: Token) -> float | str:
    """A parameter's value: a number, or the text of a name or a quoted string."""
    if tok.type == "NUMBER":
        return float(tok.value)
    return _unquote(tok.value) if tok.type == "STRING" else str(tok.value)


def _tok_span(tok: Token) -> ast.Span:
    return (tok.start_pos or 0, tok.end_pos or 0)


def _norm_op(op: str) -> str:
    return {"==": "=", "<>": "!="}.get(op, op)


@v_args(meta=True)
class _ToAst(Transformer[Token, Any]):
    """Parse tree → :mod:`atlas.query.ast` (no name checks, no SQL)."""

    @staticmethod
    def _s(meta: Any) -> ast.Span:
        return (0, 0) if getattr(meta, "empty", True) else (meta.start_pos, meta.end_pos)

    def start(self, meta: Any, children: list[Any]) -> Any:
        return children[0]

    # -- statements
    def _clauses(self, children: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"filters": []}
        for c in children:
            if isinstance(c, tuple) and c and c[0] == "models":
                out["models"] = c[1]
            elif isinstance(c, (ast.LayerCmp, ast.LayerRange, ast.DepthCmp, ast.SiteIs)):
                out["filters"].append(c)
            elif isinstance(c, tuple) and c and c[0] in ("where", "order", "limit", "by"):
                out[c[0]] = c[1]
                if c[0] in ("limit", "by"):
                    out[c[0] + "_span"] = c[2]
            elif isinstance(c, Token) and c.type == "UNITS":
                out["units"] = c.value.lower()
            elif isinstance(c, Token) and c.type == "AGGREGATE":
                out["func"] = c.value.lower()
            elif isinstance(c, ast.Call):
                out["score"] = c
        out["filters"] = tuple(out["filters"])
        return out

    def neuron_query(self, meta: Any, children: list[Any]) -> ast.NeuronQuery:
        c = self._clauses(children)
        return ast.NeuronQuery(
            units=c["units"],
            models=c["models"],
            filters=c["filters"],
            where=c.get("where"),
            order=c.get("order", ()),
            limit=c.get("limit"),
            limit_span=c.get("limit_span", (0, 0)),
            span=self._s(meta),
        )

    def count_query(self, meta: Any, children: list[Any]) -> ast.CountQuery:
        c = self._clauses(children)
        return ast.CountQuery(
            units=c["units"],
            models=c["models"],
            filters=c["filters"],
            where=c.get("where"),
            by=c.get("by"),
            by_span=c.get("by_span", (0, 0)),
            span=self._s(meta),
        )

    def compare_query(self, meta: Any, children: list[Any]) -> ast.CompareQuery:
        c = self._clauses(children)
        return ast.CompareQuery(
            models=c["models"],
            filters=c["filters"],
            where=c.get("where"),
            by=c.get("by"),
            by_span=c.get("by_span", (0, 0)),
            span=self._s(meta),
        )

    def aggregate_query(self, meta: Any, children: list[Any]) -> ast.AggregateQuery:
        c = self._clauses(children)
        return ast.AggregateQuery(
            func=c["func"],
            score=c["score"],
            models=c["models"],
            filters=c["filters"],
            where=c.get("where"),
            by=c.get("by"),
            by_span=c.get("by_span", (0, 0)),
            span=self._s(meta),
        )

    def probes_query(self, meta: Any, children: list[Any]) -> ast.ProbesQuery:
        c = self._clauses(children)
        return ast.ProbesQuery(
            models=c["models"],
            filters=c["filters"],
            where=c.get("where"),
            by=c.get("by"),
            by_span=c.get("by_span", (0, 0)),
            span=self._s(meta),
        )

    def agreement_query(self, meta: Any, children: list[Any]) -> ast.AgreementQuery:
        methods, concept, models = children[0], children[1], children[2][1]
        where = children[3][1] if len(children) > 3 else None
        return ast.AgreementQuery(methods=methods, concept=concept, models=models, where=where, span=self._s(meta))

    def agreement_methods(self, meta: Any, children: list[Any]) -> tuple[ast.MethodRef, ...]:
        return tuple(c for c in children if isinstance(c, ast.MethodRef))  # '*': none

    def method_ref(self, meta: Any, children: list[Any]) -> ast.MethodRef:
        params = children[1] if len(children) > 1 else ()
        return ast.MethodRef(method=children[0].value, params=params, span=self._s(meta))

    def top_tokens(self, meta: Any, children: list[Any]) -> ast.TopTokens:
        neuron = children[0]
        limit = None
        limit_span: ast.Span = (0, 0)
        if len(children) > 1:
            _, limit, limit_span = children[1]
        return ast.TopTokens(neuron=neuron, limit=limit, limit_span=limit_span, span=self._s(meta))

    def notes_query(self, meta: Any, children: list[Any]) -> ast.NotesQuery:
        limit, limit_span = None, (0, 0)
        if len(children) > 1:
            _, limit, limit_span = children[1]
        return ast.NotesQuery(neuron=children[0], limit=limit, limit_span=limit_span, span=self._s(meta))

    def neuron_view(self, meta: Any, children: list[Any]) -> ast.NeuronView:
        return ast.NeuronView(neuron=children[0], span=self._s(meta))

    def explain_view(self, meta: Any, children: list[Any]) -> ast.ExplainView:
        return ast.ExplainView(neuron=children[0], span=self._s(meta))

    def words_query(self, meta: Any, children: list[Any]) -> ast.WordsQuery:
        out: dict[str, Any] = {}
        for c in children[1:]:
            out[c[0]], out[c[0] + "_span"] = c[1], c[2]
        return ast.WordsQuery(neuron=children[0], span=self._s(meta), **out)

    def words_by(self, meta: Any, children: list[Token]) -> tuple[str, str, ast.Span]:
        return ("by", children[0].value.lower(), _tok_span(children[0]))

    def words_by_count(self, meta: Any, children: list[Token]) -> tuple[str, str, ast.Span]:
        return ("by", "count", self._s(meta))

    def words_min(self, meta: Any, children: list[Token]) -> tuple[str, int, ast.Span]:
        word, value = children
        if word.value.lower() != "min":
            raise QuerySyntaxError(
                f"unexpected {word.value!r}: expected 'min N' (the fewest occurrences of a word), 'limit' or the end",
                span=_tok_span(word),
                hint="write e.g. words of minilm/mlp.0/5 by mean min 5 limit 20",
            )
        return ("min_count", int(value.value), (word.start_pos or 0, value.end_pos or 0))

    def similar_query(self, meta: Any, children: list[Any]) -> ast.SimilarQuery:
        c = self._clauses(children[1:])
        return ast.SimilarQuery(neuron=children[0], models=c.get("models", ()), limit=c.get("limit"),
                                limit_span=c.get("limit_span", (0, 0)), span=self._s(meta))

    def model_name(self, meta: Any, children: list[Token]) -> Token:
        return children[0]

    other_model = model_name

    def layers_query(self, meta: Any, children: list[Any]) -> ast.LayersQuery:
        a, b = (ast.ModelRef(name=_unquote(t.value) if t.type == "STRING" else t.value, span=_tok_span(t)) for t in children[:2])
        c = self._clauses(children[2:])
        return ast.LayersQuery(model=a, other=b, filters=c["filters"], by=c.get("by"), by_span=c.get("by_span", (0, 0)),
                               span=self._s(meta))

    def show(self, meta: Any, children: list[Any]) -> ast.Show:
        what = children[0].value.lower()
        like = _unquote(children[1].value) if len(children) > 1 else None
        like_span = _tok_span(children[1]) if len(children) > 1 else (0, 0)
        return ast.Show(what=what, like=like, like_span=like_span, span=self._s(meta))

    # -- clauses
    def model_list(self, meta: Any, children: list[Token]) -> tuple[str, tuple[ast.ModelRef, ...]]:
        refs = []
        for tok in children:
            name = _unquote(tok.value) if tok.type == "STRING" else tok.value
            refs.append(ast.ModelRef(name=name, span=_tok_span(tok)))
        return ("models", tuple(refs))

    def layer_cmp(self, meta: Any, children: list[Token]) -> ast.LayerCmp:
        op, value = children
        return ast.LayerCmp(op=_norm_op(op.value), value=int(value.value), span=self._s(meta))

    def layer_range(self, meta: Any, children: list[Token]) -> ast.LayerRange:
        low, high = children
        return ast.LayerRange(low=int(low.value), high=int(high.value), span=self._s(meta))

    def depth_cmp(self, meta: Any, children: list[Token]) -> ast.DepthCmp:
        op, value = children
        return ast.DepthCmp(op=_norm_op(op.value), value=float(value.value), span=self._s(meta))

    def site_is(self, meta: Any, children: list[Token]) -> ast.SiteIs:
        op, site = children
        return ast.SiteIs(op=_norm_op(op.value), site=site.value, span=self._s(meta))

    def where_clause(self, meta: Any, children: list[Any]) -> tuple[str, Any]:
        return ("where", children[0])

    def order_clause(self, meta: Any, children: list[Any]) -> tuple[str, Any]:
        return ("order", tuple(children))

    def order_item(self, meta: Any, children: list[Any]) -> ast.OrderItem:
        desc = len(children) > 1 and children[1].value.lower() == "desc"
        return ast.OrderItem(expr=children[0], descending=desc, span=self._s(meta))

    def limit_clause(self, meta: Any, children: list[Token]) -> tuple[str, int, ast.Span]:
        return ("limit", int(children[0].value), _tok_span(children[0]))

    def by_clause(self, meta: Any, children: list[Token]) -> tuple[str, str, ast.Span]:
        return ("by", children[0].value.lower(), _tok_span(children[0]))

    def neuron_ref(self, meta: Any, children: list[Token]) -> ast.NeuronRef:
        tok = children[0]
        text = _unquote(tok.value) if tok.type == "STRING" else tok.value
        try:
            nid = NeuronId.parse(text)
        except AtlasError as exc:
            raise QuerySyntaxError(exc.message, span=_tok_span(tok), hint=exc.hint) from None
        return ast.NeuronRef(nid.model, nid.site, nid.layer, nid.unit, span=_tok_span(tok))

    # -- conditions
    def or_expr(self, meta: Any, children: list[Any]) -> ast.Or:
        return ast.Or(items=tuple(children), span=self._s(meta))

    def and_expr(self, meta: Any, children: list[Any]) -> ast.And:
        return ast.And(items=tuple(children), span=self._s(meta))

    def not_(self, meta: Any, children: list[Any]) -> ast.Not:
        return ast.Not(operand=children[0], span=self._s(meta))

    def compare(self, meta: Any, children: list[Any]) -> ast.Compare:
        left, op, right = children
        return ast.Compare(left=left, op=_norm_op(op.value), right=right, span=self._s(meta))

    def between(self, meta: Any, children: list[Any]) -> ast.Between:
        operand, low, high = children
        return ast.Between(operand=operand, low=low, high=high, span=self._s(meta))

    def is_missing(self, meta: Any, children: list[Any]) -> ast.IsMissing:
        return ast.IsMissing(operand=children[0], negated=False, span=self._s(meta))

    def is_not_missing(self, meta: Any, children: list[Any]) -> ast.IsMissing:
        return ast.IsMissing(operand=children[0], negated=True, span=self._s(meta))

    def has(self, meta: Any, children: list[Any]) -> ast.Has:
        return ast.Has(operand=children[0], span=self._s(meta))

    def explanation_field(self, meta: Any, children: list[Token]) -> ast.Field:
        name = "explanation" + (f" {children[0].value.lower()}" if children else "")
        return ast.Field(name=name, span=self._s(meta))

    def mention_target(self, meta: Any, children: list[Token]) -> ast.ConceptName:
        return self.concept_atom(meta, children)

    def mentions(self, meta: Any, children: list[Any]) -> ast.Compare:
        left, concept = children
        right = ast.String(value=concept.name, span=concept.span)
        return ast.Compare(left=left, op="mentions", right=right, span=self._s(meta))

    def field(self, meta: Any, children: list[Token]) -> ast.Field:
        return ast.Field(name=children[0].value, span=_tok_span(children[0]))

    def number(self, meta: Any, children: list[Token]) -> ast.Number:
        return ast.Number(value=float(children[0].value), span=_tok_span(children[0]))

    def string(self, meta: Any, children: list[Token]) -> ast.String:
        return ast.String(value=_unquote(children[0].value), span=_tok_span(children[0]))

    def call(self, meta: Any, children: list[Any]) -> ast.Call:
        name, arg = children[0], children[-1]
        params = children[1] if len(children) == 3 else ()
        if isinstance(arg, Token):  # STAR
            arg = ast.ConceptAll(span=_tok_span(arg))
        return ast.Call(method=name.value, arg=arg, params=params, span=self._s(meta))

    def method_params(self, meta: Any, children: list[ast.Param]) -> tuple[ast.Param, ...]:
        return tuple(children)

    def param_pair(self, meta: Any, children: list[Token]) -> ast.Param:
        key, op, value = children
        if op.value not in ("=", "=="):
            raise QuerySyntaxError(
                f"a method parameter is given with '=', not {op.value!r}",
                span=_tok_span(op),
                hint=f"write {key.value}=VALUE inside the brackets",
            )
        return ast.Param(key=key.value, value=_param_value(value), span=self._s(meta))

    def param_flag(self, meta: Any, children: list[Token]) -> ast.Param:
        return ast.Param(key=None, value=_param_value(children[0]), span=_tok_span(children[0]))

    # -- concept formulas
    def concept_or(self, meta: Any, children: list[Any]) -> ast.ConceptOr:
        return ast.ConceptOr(items=tuple(children), span=self._s(meta))

    def concept_and(self, meta: Any, children: list[Any]) -> ast.ConceptAnd:
        return ast.ConceptAnd(items=tuple(children), span=self._s(meta))

    def concept_neg(self, meta: Any, children: list[Any]) -> ast.ConceptNot:
        return ast.ConceptNot(operand=children[0], span=self._s(meta))

    def concept_atom(self, meta: Any, children: list[Token]) -> ast.ConceptName:
        tok = children[0]
        name = _unquote(tok.value) if tok.type == "STRING" else tok.value
        return ast.ConceptName(name=name, span=_tok_span(tok))


def _previous_token(text: str, pos: int) -> str:
    before = text[:pos].rstrip()
    m = re.search(r"(>=|<=|!=|<>|==|[<>=(),]|\.\.|[^\s<>=!(),]+)$", before)
    return m.group(1) if m else ""


def _syntax_error(text: str, exc: UnexpectedInput) -> QuerySyntaxError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        char = text[pos : pos + 1]
        allowed = set(exc.allowed or ())
        expected = _expected_list(allowed) if 0 < len(allowed) <= 4 else None
        message = f"unexpected character {char!r}"
        if expected:
            message += f": expected {expected}"
        hint = None
        if char in "&|":
            hint = "write 'and' / 'or' for logic"
        elif char in "'\"":
            hint = "a quoted name or string is not closed"
        elif char == "!" or char == "=":
            hint = "comparisons are > >= < <= = !="
        return QuerySyntaxError(message, span=(pos, pos + 1), hint=hint, query=text)
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        expected_names = set(getattr(exc, "expected", None) or ())
        token = getattr(exc, "token", None)
        at_end = token is None or token.type == "$END"
        if at_end:
            pos = len(text.rstrip())
            prev = _previous_token(text, pos)
            if prev in (">", ">=", "<", "<=", "=", "!=", "<>", "=="):
                expected = "a number"
            else:
                expected = _expected_list(expected_names) if expected_names else "more"
            after = f" after '{prev}'" if prev else ""
            return QuerySyntaxError(
                f"the query ended early: expected {expected}{after}",
                span=(max(pos - len(prev), 0), pos) if prev else (0, 0),
                query=text,
            )
        assert token is not None
        start = token.start_pos or 0
        end = token.end_pos or start + len(str(token))
        expected = _expected_list(expected_names) if expected_names else "something else"
        message = f"unexpected {str(token)!r}: expected {expected}"
        hint = None
        if token.type in ("_AND", "_OR", "_NOT", "_WHERE", "_BY", "_LIMIT", "_ORDER", "_IN", "_HAS", "_IS") and (
            "NAME" in expected_names or "STRING" in expected_names
        ):
            hint = f"'{token.value}' is a keyword; write a name that is a keyword in double quotes: \"{token.value}\""
        elif token.type == "COMP" and expected_names & {"NUMBER", "NAME"}:
            hint = "one comparison at a time: write a > x and a < y, or a between x and y"
        return QuerySyntaxError(message, span=(start, end), hint=hint, query=text)
    return QuerySyntaxError(str(exc), query=text)  # pragma: no cover - lark has no other kinds


def _check_characters(text: str) -> None:
    """Refuse a NUL or a lone surrogate anywhere in the text (no backend can store or compare
    them; a surrogate also comes from undecodable bytes in a command-line argument)."""
    problem = text_problem(text)
    if problem is None:
        return
    at = next(i for i, ch in enumerate(text) if ch == "\x00" or "\ud800" <= ch <= "\udfff")
    raise QuerySyntaxError(
        f"the query holds {problem}",
        span=(at, at + 1),
        hint="remove the character (a query is plain text; write names and strings without control characters)",
        query=text,
    )


def _count_nodes(node: Any) -> int:
    if isinstance(node, tuple):
        return sum(_count_nodes(n) for n in node)
    if hasattr(node, "__dataclass_fields__"):
        return 1 + sum(_count_nodes(getattr(node, f)) for f in node.__dataclass_fields__ if f != "span")
    return 0


def parse(text: str) -> ast.Statement:
    """Parse query text into a syntax tree.

    Args:
        text: one statement of the query language.

    Returns:
        The statement's node (:class:`~atlas.query.ast.NeuronQuery`, ...).

    Raises:
        QuerySyntaxError: the text does not follow the grammar, or holds a NUL character or a
            lone surrogate (with a span and a hint).
        QueryLimitError: the text is longer than :data:`MAX_QUERY_LENGTH` or too deeply nested.

    Example:
        >>> parse("show concepts like 'neg%'")
        Show(what='concepts', like='neg%')
    """
    if not isinstance(text, str):
        raise QuerySyntaxError(f"a query is text, not {type(text).__name__}")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryLimitError(
            f"the query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}",
            hint="split it into smaller queries",
            query=text[:200],
        )
    _check_characters(text)
    if not text.strip():
        raise QuerySyntaxError(
            "the query is empty",
            hint="start with 'neurons in MODEL', 'count', 'compare', 'top tokens of', 'neuron', 'words of', 'agreement of' or 'show'",
            query=text,
        )
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise QueryLimitError("the query is nested too deeply", query=text) from None
    try:
        node: ast.Statement = _ToAst().transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, QueryError):
            inner.query = text
            raise inner from None
        raise  # pragma: no cover - a bug in the transformer
    except RecursionError:
        raise QueryLimitError("the query is nested too deeply", query=text) from None
    if _count_nodes(node) > MAX_NODES:
        raise QueryLimitError(f"the query has more than {MAX_NODES} parts", hint="simplify it", query=text)
    return node
