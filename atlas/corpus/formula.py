"""Concept formulas: ``and``, ``or``, ``not`` and parentheses over concept names.

Grammar (keywords are case-insensitive; ``not`` binds tightest, then ``and``, then ``or``)::

    formula  := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | atom
    atom     := NAME | "(" formula ")"
    NAME     := [A-Za-z_][A-Za-z0-9_-]* ( ":" [A-Za-z0-9_=.,\\-']+ )?

Examples: ``noun and not plural``, ``(past_tense or present_tense) and verb``,
``feat:Tense=Past and not upos:AUX``, ``word:not or word:n't``.

A formula is parsed into a small tree (:class:`Name`, :class:`Not`, :class:`And`, :class:`Or`)
and evaluated on boolean masks by :func:`evaluate` with any name → mask function.

Example::

    >>> import numpy as np
    >>> tree = parse_formula("noun and not plural")
    >>> sorted(names(tree))
    ['noun', 'plural']
    >>> masks = {"noun": np.array([1, 1, 0], bool), "plural": np.array([0, 1, 0], bool)}
    >>> evaluate(tree, masks.__getitem__).tolist()
    [True, False, False]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from atlas.errors import ConceptError

#: A concept name: an identifier, optionally ``:`` and a value (``upos:NOUN``, ``feat:Tense=Past``).
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z0-9_=.,\-']+)?"
NAME_RE = re.compile(NAME_PATTERN)
KEYWORDS = frozenset({"and", "or", "not"})
MAX_LENGTH = 2000
MAX_DEPTH = 100

_TOKEN_RE = re.compile(rf"\s*(?:(?P<paren>[()])|(?P<name>{NAME_PATTERN})|(?P<bad>\S))")


@dataclass(frozen=True, slots=True)
class Name:
    """A concept name, with its ``(start, end)`` offsets in the formula text."""

    name: str
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Name | Not | And | Or


def is_concept_name(text: str) -> bool:
    """Whether ``text`` is a well-formed concept name (and not a keyword).

    >>> is_concept_name("feat:Tense=Past"), is_concept_name("not"), is_concept_name("a b")
    (True, False, False)
    """
    return bool(NAME_RE.fullmatch(text)) and text.lower() not in KEYWORDS


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int, int]] = []  # (kind, value, start, end)
        for m in _TOKEN_RE.finditer(text):
            kind = m.lastgroup or "bad"
            value = m.group(kind)
            start, end = m.start(kind), m.end(kind)
            if kind == "bad":
                raise self.error(f"unexpected character {value!r}", start)
            if kind == "name" and value.lower() in KEYWORDS:
                kind = value.lower()
            self.tokens.append((kind, value, start, end))
        self.pos = 0
        self.depth = 0

    def error(self, message: str, offset: int) -> ConceptError:
        return ConceptError(
            f"bad concept formula {self.text!r}: {message} at column {offset + 1}",
            hint="combine concept names with and, or, not and parentheses, e.g. 'noun and not plural'",
        )

    def peek(self) -> tuple[str, str, int, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expect_operand(self) -> tuple[str, str, int, int]:
        tok = self.peek()
        if tok is None:
            raise self.error("a concept name is missing", len(self.text))
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            raise ConceptError("empty concept formula", hint="write a formula such as 'noun and not plural'")
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:
            what = "')'" if tok[1] == ")" else repr(tok[1])
            raise self.error(f"unexpected {what} (an 'and' or 'or' is missing?)", tok[2])
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (tok := self.peek()) is not None and tok[0] == "or":
            self.pos += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while (tok := self.peek()) is not None and tok[0] == "and":
            self.pos += 1
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self) -> Node:
        tok = self.expect_operand()
        if tok[0] == "not":
            self.pos += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error("the formula is nested too deeply", tok[2])
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_atom()

    def parse_atom(self) -> Node:
        kind, value, start, end = self.expect_operand()
        if kind == "name":
            self.pos += 1
            return Name(value, (start, end))
        if value == "(":
            self.pos += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error("the formula is nested too deeply", start)
            node = self.parse_or()
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise self.error("'(' is never closed", start)
            self.pos += 1
            self.depth -= 1
            return node
        raise self.error(f"expected a concept name, found {value!r}", start)


def parse_formula(text: str) -> Node:
    """Parse a concept formula (see the module docstring for the grammar).

    Raises:
        ConceptError: the formula is empty, too long or malformed (with the column).

    Example::

        >>> parse_formula("noun and not plural")
        And(operands=(Name(name='noun', span=(0, 4)), Not(operand=Name(name='plural', span=(13, 19)))))
    """
    if len(text) > MAX_LENGTH:
        raise ConceptError(f"the concept formula is too long ({len(text)} characters, at most {MAX_LENGTH})")
    return _Parser(text).parse()


def names(node: Node) -> set[str]:
    """The concept names a formula uses."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Not):
        return names(node.operand)
    out: set[str] = set()
    for item in node.operands:
        out |= names(item)
    return out


def name_nodes(node: Node) -> list[Name]:
    """Every :class:`Name` of a formula in text order (with spans, for error messages)."""
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Not):
        return name_nodes(node.operand)
    return [n for item in node.operands for n in name_nodes(item)]


def evaluate(node: Node, mask_of: Callable[[str], np.ndarray]) -> np.ndarray:
    """Evaluate a formula on boolean masks; ``mask_of(name)`` gives each name's mask."""
    if isinstance(node, Name):
        return np.asarray(mask_of(node.name), dtype=bool)
    if isinstance(node, Not):
        return ~evaluate(node.operand, mask_of)
    masks = [evaluate(item, mask_of) for item in node.operands]
    out = masks[0].copy()
    for m in masks[1:]:
        if isinstance(node, And):
            out &= m
        else:
            out |= m
    return out


def to_text(node: Node) -> str:
    """The canonical text of a formula (parses back to the same tree).

    >>> to_text(parse_formula("(noun) AND (NOT plural or  verb)"))
    'noun and (not plural or verb)'
    """
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Not):
        inner = to_text(node.operand)
        return f"not {inner}" if isinstance(node.operand, (Name, Not)) else f"not ({inner})"
    if isinstance(node, And):
        return " and ".join(to_text(i) if not isinstance(i, Or) else f"({to_text(i)})" for i in node.operands)
    return " or ".join(to_text(i) for i in node.operands)


__all__ = [
    "And",
    "KEYWORDS",
    "NAME_PATTERN",
    "Name",
    "Node",
    "Not",
    "Or",
    "evaluate",
    "is_concept_name",
    "name_nodes",
    "names",
    "parse_formula",
    "to_text",
]
