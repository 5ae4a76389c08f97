"""Plain-text corpora: one sentence per line, split into words by one documented rule.

The tokenization rule (Penn Treebank / UD-like, no model needed), applied left to right:

1. English negation clitic ``n't`` is its own word: ``don't`` → ``do`` ``n't``,
   ``can't`` → ``ca`` ``n't`` (as UD English writes it);
2. the clitics ``'s 're 've 'll 'd 'm`` are their own words: ``John's`` → ``John`` ``'s``;
3. a number is digits with inner ``.`` ``,`` or ``:`` groups: ``3.14``, ``1,000``, ``10:30``;
4. a word is a run of letters/digits/underscore, which may contain inner hyphens and
   apostrophes: ``well-known``, ``O'Brien``;
5. any other non-space character is a word on its own (punctuation, quotes, brackets).

Blank lines are skipped; leading/trailing spaces are dropped. Curly apostrophes (``’``) count
as apostrophes. The only annotations a text corpus gets are ``upos`` = ``PUNCT`` for words
without a letter or digit and ``NUM`` for numbers; the named concepts built from word lists
and positions (negation, question, inside_quotes, capitalized, ...) work as on any corpus.

Example::

    >>> [w.form for w in tokenize("I don't like 3.5 apples.")]
    ['I', 'do', "n't", 'like', '3.5', 'apples', '.']
"""

from __future__ import annotations

import re
from pathlib import Path

from tqdm import tqdm

from atlas.corpus.model import ParsedSentence, ParsedWord
from atlas.errors import CorpusError
from atlas.naming import text_problem

_TOKEN = re.compile(
    r"""
      \w+(?=n['’]t\b)                                   # do | n't
    | n['’]t\b                                          # n't
    | ['’](?:s|re|ve|ll|d|m)\b                          # 's 're 've 'll 'd 'm
    | \d+(?:[.,:]\d+)*(?!\w)                            # 3.14  1,000  10:30
    | \w+(?:(?:-|['’](?!(?:s|re|ve|ll|d|m|t)\b))\w+)*   # words, well-known, O'Brien
    | \S                                                # anything else, one character
    """,
    re.VERBOSE | re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_HAS_WORD_CHAR = re.compile(r"\w")


def _rule_upos(form: str) -> str | None:
    if _NUMBER.fullmatch(form):
        return "NUM"
    if not _HAS_WORD_CHAR.search(form):
        return "PUNCT"
    return None


def tokenize(text: str) -> list[ParsedWord]:
    """Split one sentence into words by the module's rule (see the module docstring).

    Example::

        >>> [(w.form, w.space_after) for w in tokenize('He said "no".')]
        [('He', True), ('said', True), ('"', False), ('no', False), ('"', False), ('.', True)]
    """
    matches = list(_TOKEN.finditer(text))
    words: list[ParsedWord] = []
    for i, m in enumerate(matches):
        end = m.end()
        space = i == len(matches) - 1 or matches[i + 1].start() > end
        words.append(ParsedWord(form=m.group(), upos=_rule_upos(m.group()), space_after=space))
    return words


def parse_text(text: str, *, path: str = "<string>", first_line: int = 1) -> list[ParsedSentence]:
    """Turn text with one sentence per line into sentences (blank lines are skipped).

    Raises:
        CorpusError: a line holds a NUL or a lone surrogate (no database stores them in text).
    """
    out: list[ParsedSentence] = []
    for number, line in enumerate(text.splitlines(), start=first_line):
        problem = text_problem(line)
        if problem is not None:
            raise CorpusError(f"the line holds {problem}", path=path, line=number,
                              hint="remove the character: no database can store it in text")
        line = line.strip().lstrip("\ufeff")
        if not line:
            continue
        out.append(ParsedSentence(words=tokenize(line), text=line, line=number))
    return out


def read_text(path: str | Path, *, progress: bool = False) -> list[ParsedSentence]:
    """Read a UTF-8 text file, one sentence per line (see :func:`tokenize`).

    Raises:
        CorpusError: the file cannot be read, is not UTF-8 (with the line), or has no sentence.

    Example::

        sentences = read_text("my_sentences.txt")
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    out: list[ParsedSentence] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(tqdm(lines, desc=f"parse {path.name}", unit=" line", disable=not progress, leave=False), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusError(
                f"the line is not valid UTF-8 ({exc.reason} at byte {exc.start})",
                path=str(path),
                line=number,
                hint="text corpora are UTF-8; convert the file with iconv",
            ) from None
        out.extend(parse_text(line, path=str(path), first_line=number))
    if not out:
        raise CorpusError("the file holds no sentences (every line is blank)", path=str(path))
    return out


__all__ = ["parse_text", "read_text", "tokenize"]
