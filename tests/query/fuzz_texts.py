"""Query-like texts for fuzzing: the grammar's tokens, the fixture atlas's names, hostile numbers
and strings, junk. One pool of pieces, two drivers: :data:`texts` (a Hypothesis strategy, for
``test_fuzz.py``) and :func:`random_text` (a seeded ``random.Random``, for ``bench/fuzz_query.py``).

>>> import random
>>> isinstance(random_text(random.Random(1)), str)
True
"""

from __future__ import annotations

import random

from hypothesis import strategies as st

from atlas.naming import query_keywords

KEYWORDS = sorted(query_keywords())
NAMES = [
    "probes", "task", "metric", "accuracy", "upos", "*", "[", "]",
    "bert", "gpt2", "minilm", "noun", "negation", "plural", "past_tense", "question", "upos:NOUN",
    "feat:Tense=Past", "word:not", "iou", "selectivity", "ap", "probe", "precision", "layer", "unit", "depth",
    "vote", "vote_rank", "jaccard", "spearman", "n",
    "mean", "std", "min", "max", "fire_rate", "threshold", "mlp", "resid", "attn", "minilm/mlp.4/3",
    "bert/mlp.11/7", "bert/resid.0/99999999999999999999", "nosuch", "minilm/mlp.0/0", "minilm/mlp.0/8",
]
PUNCT = ["(", ")", ",", "..", ">", ">=", "<", "<=", "=", "!=", "<>", "==", "--", "%", "'", '"', "\\", ";", ":"]
NUMBERS = [
    "0", "1", "-1", "0.3", ".5", "5.", "1e400", "-1e400", "1e-400", "1e308", "2147483647", "2147483648",
    "9223372036854775807", "9223372036854775808", "99999999999999999999999999", "-0", "1E5", "3e", "nan", "inf",
]
STRING_CHARS = "ab%_'\"\\\x00\ud800\udcff é☃\n\t"
TEMPLATES = [
    "neurons in {m} layer {op} {n} where {f}({c}) {op} {n} order by {f}({c}) desc limit {n}",
    "neurons in {m}, {m} layer in {n}..{n} depth {op} {n} site = {s} where {x} {op} {n}",
    "count {u} in {m} where {f}({c}) between {n} and {n} by {b}",
    "compare {m}, {m} where not {f}({c}) {op} {n} or {x} is missing by {b}",
    "neurons in {m} where {f}({c} and not {c}) > {n} and has {x}",
    "top tokens of {r} limit {n}",
    "show concepts like {q}",
    "show {w}",
    "neurons in {q} where {f}({q}) {op} {q}",
    "neurons in {m} where {f}[{p}]({c}) {op} {n} order by {f}[{p}]({c}) desc",
    "count {u} in {m} where {f}[{p}, {p}]({c}) {op} {n} and {f}(*) {op} {n} by {b}",
    "{a} {f}[{p}]({c}) in {m}, {m} layer {op} {n} where {x} {op} {n} by {b}",
    "{a} {f}({c}) in {m} site = {s} where {f}({c} or {c}) > {n}",
    "probes in {m} layer in {n}..{n} where {pf} {op} {pv} and not {pf} {op} {pv} by {b}",
    "probes in {m}, {m} where {pf} between {n} and {n} or {pf} is missing",
    "neuron {r}",
    "words of {r} by {a} min {n} limit {n}",
    "words of {r} by {a} {a} {n}",
    "agreement of {f}, {f}[{p}] on {c} in {m}, {m} where {gf} {op} {pv} and not {gf} is missing",
    "agreement of * on {q} in {m} where {gf} between {n} and {n} or {gf} = {s}",
    "neurons in {m} where vote[{p}]({c}) >= {n} order by vote_rank({c})",
]
#: Method parameters: key=value pairs and bare values, good and bad.
PARAMS = ["alpha=0.01", "alpha=0.005", "threshold=quantile", "quantile", "0.01", "fires", "beta=1", "alpha=fast",
          "alpha>1", "threshold=\"positive\"", "alpha=1e400", "alpha=alpha", '"quantile"', "=", ""]
AGGREGATES = ["max", "min", "mean", "median", "count", "sum"]
PROBE_FIELDS = ["task", "metric", "method", "layer", "value", "concept", "iou(noun)"]
AGREEMENT_FIELDS = ["site", "n", "n_units", "jaccard", "spearman", "layer", "vote(noun)"]
PROBE_VALUES = ["upos", "negation", "accuracy", "majority", "probe", '"upos"', "0.5", "upo", "-1"]


def _quoted(body: str, quote: str = '"') -> str:
    return quote + body + quote


def _fill(template: str, pick: dict[str, str]) -> str:
    return template.format(**pick)


# -- Hypothesis -------------------------------------------------------------------------------

_numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.tuples(st.integers(-9, 9), st.integers(-999, 999)).map(lambda t: f"{t[0]}e{t[1]}"),
)
_strings = st.tuples(st.text(alphabet=STRING_CHARS, max_size=8), st.sampled_from(['"', "'"])).map(lambda t: _quoted(*t))
_junk = st.text(max_size=6)
_token = st.one_of(st.sampled_from(KEYWORDS), st.sampled_from(NAMES), st.sampled_from(PUNCT), _numbers, _strings, _junk)
_token_soup = st.lists(_token, min_size=1, max_size=14).flatmap(
    lambda toks: st.sampled_from([" ", "", "  "]).map(lambda sep: sep.join(toks))
)


@st.composite
def _templated(draw: st.DrawFn) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    fields = {
        "m": st.one_of(st.sampled_from(["bert", "gpt2", "minilm"]), st.sampled_from(NAMES), _strings),
        "op": st.sampled_from([">", ">=", "<", "<=", "=", "!=", "<>", "=="]),
        "n": _numbers,
        "f": st.sampled_from(["iou", "selectivity", "ap", "probe", "nosuch", "layer"]),
        "c": st.one_of(st.sampled_from(NAMES), _strings),
        "x": st.sampled_from(["layer", "unit", "depth", "mean", "fire_rate", "threshold", "iou(noun)", "ap(upos:NOUN)"]),
        "s": st.sampled_from(["mlp", "resid", "attn", "x"]),
        "u": st.sampled_from(["neurons", "dims"]),
        "b": st.sampled_from(["layer", "model", "depth", "unit", "concept"]),
        "r": st.one_of(st.sampled_from(NAMES), _strings),
        "q": _strings,
        "w": st.sampled_from(["models", "concepts", "methods", "runs"]),
        "p": st.one_of(st.sampled_from(PARAMS), _strings, _numbers.map(lambda n: f"alpha={n}")),
        "a": st.sampled_from(AGGREGATES),
        "pf": st.sampled_from(PROBE_FIELDS),
        "gf": st.sampled_from(AGREEMENT_FIELDS),
        "pv": st.one_of(st.sampled_from(PROBE_VALUES), _strings, _numbers),
    }
    return _fill(template, {k: draw(v) for k, v in fields.items()})


#: Query-like texts: mostly shaped like queries (so they reach the binder and the database),
#: some token soup and junk (so they reach every parser error).
texts = st.one_of(_templated(), _templated(), _token_soup, _junk)


# -- plain random (fast, for 100,000 inputs) --------------------------------------------------


def _rand_number(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.choice(NUMBERS)
    if kind == 1:
        return str(rng.randint(-(2**80), 2**80) if rng.random() < 0.3 else rng.randint(-3, 20))
    if kind == 2:
        return repr(rng.uniform(-2, 2) * 10 ** rng.randint(-5, 5))
    return f"{rng.randint(-9, 9)}e{rng.randint(-999, 999)}"


def _rand_string(rng: random.Random) -> str:
    body = "".join(rng.choice(STRING_CHARS) for _ in range(rng.randrange(8)))
    if rng.random() < 0.5:
        body = rng.choice(NAMES) + body[: rng.randrange(3)]
    return _quoted(body, rng.choice(['"', "'"]))


def _rand_junk(rng: random.Random) -> str:
    return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x3000), 0, 0xD800])) for _ in range(rng.randrange(1, 6)))


def _rand_token(rng: random.Random) -> str:
    kind = rng.randrange(6)
    return [
        lambda: rng.choice(KEYWORDS), lambda: rng.choice(NAMES), lambda: rng.choice(PUNCT),
        lambda: _rand_number(rng), lambda: _rand_string(rng), lambda: _rand_junk(rng),
    ][kind]()


def random_text(rng: random.Random) -> str:
    """One query-like text drawn with ``rng`` (the same seed gives the same texts)."""
    r = rng.random()
    if r < 0.6:
        pick = {
            "m": rng.choice(["bert", "gpt2", "minilm", "bert", rng.choice(NAMES), _rand_string(rng)]),
            "op": rng.choice([">", ">=", "<", "<=", "=", "!=", "<>", "=="]),
            "n": _rand_number(rng),
            "f": rng.choice(["iou", "selectivity", "ap", "probe", "nosuch", "layer"]),
            "c": rng.choice(NAMES + [_rand_string(rng)]),
            "x": rng.choice(["layer", "unit", "depth", "mean", "fire_rate", "threshold", "iou(noun)", "ap(upos:NOUN)"]),
            "s": rng.choice(["mlp", "resid", "attn", "x"]),
            "u": rng.choice(["neurons", "dims"]),
            "b": rng.choice(["layer", "model", "depth", "unit", "concept"]),
            "r": rng.choice(NAMES + [_rand_string(rng)]),
            "q": _rand_string(rng),
            "w": rng.choice(["models", "concepts", "methods", "runs"]),
            "p": rng.choice(PARAMS + [f"alpha={_rand_number(rng)}", _rand_string(rng)]),
            "a": rng.choice(AGGREGATES),
            "pf": rng.choice(PROBE_FIELDS),
            "gf": rng.choice(AGREEMENT_FIELDS),
            "pv": rng.choice(PROBE_VALUES + [_rand_string(rng), _rand_number(rng)]),
        }
        # Draw each {field} afresh where a template uses it twice.
        text = rng.choice(TEMPLATES)
        out = []
        for piece in text.split("{")[1:]:
            key, rest = piece.split("}", 1)
            out.append((key, rest))
        result = text.split("{")[0]
        for key, rest in out:
            value = pick[key] if rng.random() < 0.5 else {
                "n": _rand_number(rng), "c": rng.choice(NAMES + [_rand_string(rng)]), "m": rng.choice(["bert", "gpt2", "minilm"]),
            }.get(key, pick[key])
            result += value + rest
        return result
    if r < 0.9:
        sep = rng.choice([" ", "", "  "])
        return sep.join(_rand_token(rng) for _ in range(rng.randrange(1, 15)))
    return _rand_junk(rng)
