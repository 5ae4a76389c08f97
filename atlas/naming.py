"""Canonical names of neurons, layers and sites, in one place.

A neuron's id is ``MODEL/SITE.LAYER/UNIT``, e.g. ``minilm/mlp.4/1234``: the unit 1234 of the
MLP (post-activation FFN) of block 4 of the model the atlas calls ``minilm``. The parser also
accepts TransformerLens hook names (``minilm/blocks.4.mlp.hook_post/1234``,
``minilm/blocks.4.hook_resid_post/7``) and ``MODEL/L4/mlp/1234``.

Sites (where in a block a unit lives) are registered here, once: ``mlp``, ``resid`` and
``embed`` today; attention heads (``attn``) and factorisation units (``factor``) are added with
:func:`register_site` and every parser, the extraction and the query language see them.

>>> NeuronId.parse("minilm/mlp.4/1234")
NeuronId(model='minilm', site='mlp', layer=4, unit=1234)
>>> str(NeuronId("minilm", "resid", 2, 7))
'minilm/resid.2/7'
>>> layer_name("mlp", 4)
'mlp.4'
>>> site_names()
('embed', 'mlp', 'resid')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atlas.errors import AtlasError


@dataclass(frozen=True)
class Site:
    """Where in a model a kind of unit lives.

    Args:
        name: the site's name in neuron ids and queries (``mlp``).
        order: position among a block's sites (a block's ``embed`` < ``mlp`` < ``resid``).
        hook: the TransformerLens hook name, with ``{layer}`` for the block index.
        activation: what the stored value is (recorded with each layer).
        units: the query language's noun for this site's units (``neurons``, ``dims``), if any.
    """

    name: str
    order: int
    hook: str
    activation: str
    units: str | None = None


_SITES: dict[str, Site] = {}


def register_site(site: Site) -> Site:
    """Add a site (``attn`` heads, ``factor`` units, ...). Names are unique."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", site.name):
        raise AtlasError(f"site name {site.name!r} is not a lower-case identifier")
    if site.name in _SITES and _SITES[site.name] != site:
        raise AtlasError(f"site {site.name!r} is already registered")
    _SITES[site.name] = site
    return site


register_site(Site("embed", 0, "hook_embed", "residual stream"))
register_site(Site("mlp", 1, "blocks.{layer}.mlp.hook_post", "post-activation (input of the MLP down-projection)", "neurons"))
register_site(Site("resid", 2, "blocks.{layer}.hook_resid_post", "residual stream", "dims"))


def site(name: str) -> Site:
    """The registered site called ``name``."""
    try:
        return _SITES[name]
    except KeyError:
        raise AtlasError(f"unknown site {name!r}", hint=f"sites are {', '.join(site_names())}") from None


def site_names() -> tuple[str, ...]:
    """Every registered site, in block order."""
    return tuple(s.name for s in sorted(_SITES.values(), key=lambda s: s.order))


def unit_site(units: str) -> str:
    """The site whose units the query language calls ``units`` (``neurons`` -> ``mlp``)."""
    for s in _SITES.values():
        if s.units == units:
            return s.name
    raise AtlasError(f"no site has units called {units!r}")


def layer_name(site: str, layer: int) -> str:
    """``mlp.4``: the layer part of a neuron id."""
    return f"{site}.{layer}"


def _site_alternatives() -> str:
    return "|".join(re.escape(s) for s in sorted(_SITES, key=len, reverse=True))


def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    sites = _site_alternatives()
    canonical = re.compile(rf"^(?P<model>[^/\s]+)/(?P<site>{sites})\.(?P<layer>\d+)/(?P<unit>\d+)$")
    layer_site = re.compile(rf"^(?P<model>[^/\s]+)/L(?P<layer>\d+)/(?P<site>{sites})/(?P<unit>\d+)$")
    tl = re.compile(r"^(?P<model>[^/\s]+)/(?P<hook>blocks\.(?P<layer>\d+)\.[\w.]+|hook_\w+)/(?P<unit>\d+)$")
    return canonical, layer_site, tl


def _site_of_hook(hook: str, layer: int) -> str | None:
    for s in _SITES.values():
        if s.hook.format(layer=layer) == hook:
            return s.name
    return None


@dataclass(frozen=True, order=True)
class NeuronId:
    """The canonical identity of one unit: model short name, site, block index, unit index."""

    model: str
    site: str
    layer: int
    unit: int

    def __str__(self) -> str:
        return f"{self.model}/{layer_name(self.site, self.layer)}/{self.unit}"

    @property
    def layer_name(self) -> str:
        """``mlp.4``."""
        return layer_name(self.site, self.layer)

    @property
    def hook_name(self) -> str:
        """The TransformerLens hook this unit lives on."""
        return site(self.site).hook.format(layer=self.layer)

    @classmethod
    def parse(cls, text: str) -> NeuronId:
        """Parse any accepted spelling of a neuron id (see the module docstring)."""
        text = text.strip()
        canonical, layer_site, tl = _patterns()
        for pattern in (canonical, layer_site):
            m = pattern.match(text)
            if m:
                return cls(m["model"], m["site"], int(m["layer"]), int(m["unit"]))
        m = tl.match(text)
        if m:
            layer = int(m["layer"]) if m["layer"] is not None else 0
            name = _site_of_hook(m["hook"], layer)
            if name is not None:
                return cls(m["model"], name, layer, int(m["unit"]))
        raise AtlasError(
            f"{text!r} is not a neuron id",
            hint="write MODEL/SITE.LAYER/UNIT, for example minilm/mlp.4/1234",
        )


# -- Keywords of the query language -----------------------------------------------------------
#
# The grammar (atlas/query/grammar.lark) is their one definition. They are read here as data,
# from the .lark text (no Lark, no import of atlas.query), so that the methods registry (an
# earlier layer) can refuse a method name the query language could not call.

#: A double-quoted literal of the grammar that spells a word: ``"where"i``.
_KEYWORD_LITERAL = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"i?')
#: A regular-expression terminal (``/.../``) or a line comment of the grammar.
_LARK_NOISE = re.compile(r"/(?:[^/\\\n]|\\.)+/|//[^\n]*")


def grammar_text() -> str:
    """The query language's grammar, ``atlas/query/grammar.lark``, read from the package."""
    from importlib.resources import files

    return (files("atlas") / "query" / "grammar.lark").read_text(encoding="utf-8")


def keywords_of(grammar: str) -> frozenset[str]:
    """The words a Lark grammar spells as literals, lower-cased (regexes and comments skipped).

    >>> sorted(keywords_of('_WHERE: "where"i\\nNAME: /[a-z]+/  // "not" a keyword\\nX: "(" "and"'))
    ['and', 'where']
    """
    return frozenset(m.lower() for m in _KEYWORD_LITERAL.findall(_LARK_NOISE.sub(" ", grammar)))


_KEYWORDS: frozenset[str] | None = None


def query_keywords() -> frozenset[str]:
    """Every keyword of the query language (read once from the grammar; case-insensitive there).

    >>> {"where", "has", "and", "not", "neurons"} <= query_keywords()
    True
    """
    global _KEYWORDS
    if _KEYWORDS is None:
        _KEYWORDS = keywords_of(grammar_text())
    return _KEYWORDS


def is_reserved(name: str) -> bool:
    """Whether ``name`` is a keyword of the query language (so it cannot stand as a bare name).

    >>> is_reserved("HAS"), is_reserved("iou")
    (True, False)
    """
    return name.lower() in query_keywords()


# -- user-given names and stored text (issue 12: validation at the edge) -----------------------
#
# ONE rule for every name a user gives: a model's short name (``--as``), a corpus name and a
# user concept name. A name
#
# * starts with an ASCII letter and holds ASCII letters, digits, ``_`` and ``-`` only;
# * is at most :data:`NAME_MAX` (100) characters long;
# * is no keyword of the query or formula grammar (``and``, ``where``, ``show``, ...; any case).
#
# Why these characters: a user name must stand bare everywhere it is used, on both backends:
# as a query-language name (``[A-Za-z_][A-Za-z0-9_-]*``), as the model part of a neuron-id
# literal (``gpt2-small/mlp.4/7``, where ``/`` separates and ``.`` belongs to the layer), and as
# a name in a concept formula. ``:`` and ``=`` are left to the names Neuron Atlas generates
# (``upos:NOUN``, ``feat:Polarity=Neg``, ``position:3``), so a user concept can never shadow
# one; generated names are checked by :func:`check_generated_name` (length and text only).
# ``.`` (``qwen2.5``) is not allowed: :func:`suggest_name` turns such a string into a name.

#: The longest user-given name.
NAME_MAX = 100
#: The longest generated concept name (the ``concept.name`` column holds 200 characters).
GENERATED_NAME_MAX = 200
_NAME_CHAR = re.compile(r"[A-Za-z0-9_\-]")
_NAME_KINDS = {"model": "model short name", "corpus": "corpus name", "concept": "concept name"}
_BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")


def _reserved() -> frozenset[str]:
    """The reserved words names may not be spelled like (lower case): the grammar's keywords."""
    return query_keywords()


def name_problem(kind: str, name: object) -> str | None:
    """What is wrong with a user-given name of ``kind`` (``model``, ``corpus``, ``concept``), or ``None``.

    >>> name_problem("corpus", "pud-en_2") is None
    True
    >>> name_problem("model", "gpt2/small")
    "bad model short name 'gpt2/small': it holds '/'"
    >>> name_problem("concept", "Where")
    "bad concept name 'Where': it is a keyword of the query language"
    """
    label = _NAME_KINDS.get(kind)
    if label is None:
        raise AtlasError(f"unknown kind of name {kind!r}", hint=f"use one of {', '.join(_NAME_KINDS)}")
    if not isinstance(name, str):
        return f"bad {label} {name!r}: it is not a string"
    shown = repr(name) if len(name) <= 60 else repr(name[:57] + "...")
    if not name:
        return f"bad {label} '': it is empty"
    if len(name) > NAME_MAX:
        return f"bad {label} {shown}: it is {len(name)} characters long (at most {NAME_MAX})"
    if not ("a" <= name[0].lower() <= "z"):
        return f"bad {label} {shown}: it does not start with a letter"
    bad = next((ch for ch in name if not _NAME_CHAR.fullmatch(ch)), None)
    if bad is not None:
        return f"bad {label} {shown}: it holds {bad!r}"
    if name.lower() in _reserved():
        return f"bad {label} {shown}: it is a keyword of the query language"
    return None


def check_name(kind: str, name: object, *, error: type[AtlasError] = AtlasError) -> str:
    """Return ``name`` when it follows the one rule for user-given names (see above); else raise.

    Args:
        kind: ``"model"`` (``--as``), ``"corpus"`` or ``"concept"``.
        name: the name the user gave.
        error: the :class:`AtlasError` subclass to raise (``CorpusError``, ``ConceptError``, ...).

    >>> check_name("corpus", "pud")
    'pud'
    >>> check_name("corpus", "a b")
    Traceback (most recent call last):
    ...
    atlas.errors.AtlasError: bad corpus name 'a b': it holds ' ' (a name starts with a letter and holds letters, digits, _ and - (at most 100 characters, no keyword); e.g. 'a_b')
    """
    problem = name_problem(kind, name)
    if problem is not None:
        example = suggest_name(name) if isinstance(name, str) else None
        hint = "a name starts with a letter and holds letters, digits, _ and - (at most 100 characters, no keyword)"
        if example and example != name and name_problem(kind, example) is None:
            hint += f"; e.g. {example!r}"
        raise error(problem, hint=hint)
    assert isinstance(name, str)
    return name


def suggest_name(text: str) -> str:
    """A user-name spelling of ``text``: other characters become ``_``, a letter is put first.

    >>> suggest_name("Qwen2.5-0.5B"), suggest_name("2nd corpus"), suggest_name("where")
    ('Qwen2_5-0_5B', 'n2nd_corpus', 'where_')
    """
    out = re.sub(r"[^A-Za-z0-9_\-]", "_", text)[:NAME_MAX] or "n"
    if not ("a" <= out[0].lower() <= "z"):
        out = ("n" + out)[:NAME_MAX]
    if out.lower() in _reserved():
        out += "_"
    return out


def text_problem(value: str) -> str | None:
    """What in ``value`` no backend can store (a NUL, a lone surrogate), or ``None``.

    >>> text_problem("fine"), text_problem("a\\x00b")
    (None, 'a NUL character at position 2')
    """
    m = _BAD_TEXT.search(value)
    if m is None:
        return None
    if m.group() == "\x00":
        return f"a NUL character at position {m.start() + 1}"
    return f"a lone surrogate {m.group()!r} at position {m.start() + 1}"


def check_text(value: str, what: str, *, error: type[AtlasError] = AtlasError) -> str:
    """Return ``value`` unless it holds what the database cannot store (NUL, lone surrogates).

    ``what`` says what and where the text is (``"the regular expression of concept 'x'"``).

    >>> check_text("ok", "the licence")
    'ok'
    >>> check_text("a\\x00", "the licence")
    Traceback (most recent call last):
    ...
    atlas.errors.AtlasError: the licence holds a NUL character at position 2 (remove the character; PostgreSQL cannot store it in text)
    """
    problem = text_problem(value)
    if problem is not None:
        raise error(f"{what} holds {problem}", hint="remove the character; PostgreSQL cannot store it in text")
    return value


def check_generated_name(name: str) -> bool:
    """Whether a generated concept name (``word:...``, ``feat:...``) fits the store: short enough, clean text."""
    return len(name) <= GENERATED_NAME_MAX and text_problem(name) is None
