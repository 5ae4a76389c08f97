"""A strict reader for CoNLL-U (Universal Dependencies) files.

What it reads (https://universaldependencies.org/format.html):

* comment lines (``#``), of which ``# text = ...`` and ``# sent_id = ...`` are kept;
* word lines ``ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC`` (10 tab-separated columns);
* multiword token ranges (``3-4  don't``): their parts are the words; the range gives the
  sentence text its spacing (``SpaceAfter=No`` on the range applies to its last word, and the
  parts are glued together);
* empty nodes (``5.1``, enhanced dependencies): checked and skipped, they are not words;
* ``_`` means "no value" in LEMMA, UPOS, XPOS, FEATS, HEAD, DEPREL and MISC.

The words of a sentence are its syntactic words. Anything malformed (wrong column count,
a non-integer ID, IDs out of sequence, a HEAD out of range, a bad FEATS string, an empty
FORM, a sentence without words, bytes that are not UTF-8) raises
:class:`~atlas.errors.CorpusError` naming the file, the line and what is wrong.

Example::

    >>> sents = parse_conllu_text("1\\tHi\\thi\\tINTJ\\tUH\\t_\\t0\\troot\\t_\\tSpaceAfter=No\\n"
    ...                           "2\\t!\\t!\\tPUNCT\\t.\\t_\\t1\\tpunct\\t_\\t_\\n")
    >>> [w.form for w in sents[0].words], sents[0].text
    (['Hi', '!'], 'Hi!')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from tqdm import tqdm

from atlas.corpus.model import ParsedSentence, ParsedWord
from atlas.errors import CorpusError
from atlas.naming import text_problem
from atlas.store.tables import Sentence, Token

_FEATURE = re.compile(r"[A-Za-z0-9]+(?:\[[A-Za-z0-9]+\])?=[A-Za-z0-9]+(?:,[A-Za-z0-9]+)*")
_INT = re.compile(r"\d+")
_RANGE = re.compile(r"(\d+)-(\d+)")
_EMPTY = re.compile(r"(\d+)\.(\d+)")
_FEATS_HINT = "FEATS is '_' or Name=Value pairs separated by '|', e.g. Number=Plur|Tense=Past"
#: The longest value each length-limited column stores (the same limit on both backends).
_LIMITS = {col: Token.__table__.c[col].type.length for col in ("upos", "xpos", "deprel")}
_SENT_ID_MAX = Sentence.__table__.c.sent_id.type.length


def _none(value: str) -> str | None:
    return None if value == "_" else value


def _space_after(misc: str | None) -> bool:
    if not misc:
        return True
    return "SpaceAfter=No" not in misc.split("|")


class _SentenceBuilder:
    """Collects the lines of one sentence and checks it when it ends."""

    def __init__(self, path: str, line: int) -> None:
        self.path = path
        self.line = line
        self.text: str | None = None
        self.sent_id: str | None = None
        self.words: list[ParsedWord] = []
        self.word_lines: list[int] = []
        self.ranges: list[tuple[int, int, str | None, int]] = []  # (start, end, misc, line)
        self.pending_range_end = 0

    def error(self, message: str, line: int, hint: str | None = None) -> CorpusError:
        return CorpusError(message, path=self.path, line=line, hint=hint)

    def comment(self, body: str, line: int) -> None:
        key, sep, value = body.partition("=")
        if not sep:
            return
        key = key.strip()
        if key == "text":
            self.text = value.strip()
        elif key == "sent_id":
            self.sent_id = value.strip()
            if len(self.sent_id) > _SENT_ID_MAX:
                raise self.error(f"sent_id is {len(self.sent_id)} characters long (at most {_SENT_ID_MAX})", line,
                                 hint="shorten the sent_id")

    def check_lengths(self, values: dict[str, str], line: int) -> None:
        for column, value in values.items():
            if len(value) > _LIMITS[column]:
                raise self.error(
                    f"{column.upper()} {value[:40]!r}... is {len(value)} characters long (at most {_LIMITS[column]})",
                    line,
                    hint=f"{column.upper()} holds a short tag; is a column shifted?",
                )

    def word_line(self, raw: str, line: int) -> None:
        cols = raw.split("\t")
        if len(cols) != 10:
            raise self.error(
                f"expected 10 tab-separated columns, found {len(cols)}",
                line,
                hint="CoNLL-U word lines are ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC, separated by tabs",
            )
        ident, form, lemma, upos, xpos, feats, head, deprel, _deps, misc = cols
        expected = len(self.words) + 1
        if _INT.fullmatch(ident):
            number = int(ident)
            if number != expected:
                raise self.error(f"word ID {number} is out of sequence (expected {expected})", line)
        elif m := _RANGE.fullmatch(ident):
            start, end = int(m.group(1)), int(m.group(2))
            if start != expected or end <= start:
                raise self.error(
                    f"multiword token range {ident!r} is invalid here (expected a range starting at {expected})",
                    line,
                )
            self.ranges.append((start, end, _none(misc), line))
            return
        elif m := _EMPTY.fullmatch(ident):
            if int(m.group(1)) != expected - 1 or int(m.group(2)) == 0:
                raise self.error(f"empty node {ident!r} is out of sequence (it must follow word {expected - 1})", line)
            return  # empty nodes belong to enhanced dependencies, they are not words
        else:
            raise self.error(
                f"ID {ident!r} is not an integer, a range (3-4) or an empty node (5.1)",
                line,
            )
        if form == "":
            raise self.error(f"word {ident} has an empty FORM", line)
        self.check_lengths({"upos": upos, "xpos": xpos, "deprel": deprel}, line)
        if feats != "_":
            for item in feats.split("|"):
                if not _FEATURE.fullmatch(item):
                    raise self.error(f"bad FEATS {feats!r} (item {item!r})", line, hint=_FEATS_HINT)
        head_value: int | None
        if head == "_":
            head_value = None
        elif _INT.fullmatch(head):
            head_value = int(head)
            if head_value == number:
                raise self.error(f"HEAD of word {number} points to the word itself", line)
        else:
            raise self.error(f"HEAD {head!r} is not an integer", line, hint="HEAD is 0 (root), a word ID, or '_'")
        misc_value = _none(misc)
        self.words.append(
            ParsedWord(
                form=form,
                lemma=None if lemma == "_" and form != "_" else lemma,
                upos=_none(upos),
                xpos=_none(xpos),
                feats=_none(feats),
                head=head_value,
                deprel=_none(deprel),
                misc=misc_value,
                space_after=_space_after(misc_value),
            )
        )
        self.word_lines.append(line)

    def finish(self) -> ParsedSentence:
        n = len(self.words)
        if n == 0:
            raise self.error("sentence without words (only comments or ranges)", self.line)
        for word, line in zip(self.words, self.word_lines):
            if word.head is not None and word.head > n:
                raise self.error(f"HEAD {word.head} is out of range: the sentence has {n} words", line)
        for start, end, misc, line in self.ranges:
            if end > n:
                raise self.error(f"multiword token range {start}-{end} goes past the last word ({n})", line)
            for i in range(start - 1, end - 1):
                self.words[i].space_after = False
            self.words[end - 1].space_after = _space_after(misc)
        sentence = ParsedSentence(words=self.words, text="", sent_id=self.sent_id, line=self.line)
        sentence.text = self.text if self.text is not None else sentence.detokenized()
        return sentence


def iter_conllu(lines: Iterable[str | bytes], *, path: str = "<string>") -> Iterator[ParsedSentence]:
    """Parse CoNLL-U lines into sentences, one at a time.

    Args:
        lines: the file's lines (``str``, or ``bytes`` decoded as UTF-8 here).
        path: the name used in error messages.

    Raises:
        CorpusError: a malformed line, with ``path`` and the 1-based line number.

    Example::

        for sentence in iter_conllu(open("en_pud-ud-test.conllu", "rb"), path="en_pud-ud-test.conllu"):
            print(sentence.sent_id, len(sentence.words))
    """
    builder: _SentenceBuilder | None = None
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorpusError(
                    f"the line is not valid UTF-8 ({exc.reason} at byte {exc.start})",
                    path=path,
                    line=number,
                    hint="CoNLL-U files are UTF-8; convert the file with iconv",
                ) from None
        if number == 1:
            raw = raw.lstrip("\ufeff")
        raw = raw.rstrip("\r\n")
        problem = text_problem(raw)
        if problem is not None:
            raise CorpusError(f"the line holds {problem}", path=path, line=number,
                              hint="remove the character: no database can store it in text")
        if not raw.strip():
            if builder is not None:
                yield builder.finish()
                builder = None
            continue
        if builder is None:
            builder = _SentenceBuilder(path, number)
        if raw.startswith("#"):
            builder.comment(raw[1:], number)
        else:
            builder.word_line(raw, number)
    if builder is not None:
        yield builder.finish()


def read_conllu(path: str | Path, *, progress: bool = False) -> list[ParsedSentence]:
    """Read a CoNLL-U file into a list of sentences (see :func:`iter_conllu`).

    Example::

        sentences = read_conllu("../shared/data/ud-english-pud/en_pud-ud-test.conllu")
        assert len(sentences) == 1000
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise CorpusError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    with handle:
        bar = tqdm(desc=f"parse {path.name}", unit=" sent", disable=not progress, leave=False, file=None)
        out: list[ParsedSentence] = []
        for sentence in iter_conllu(handle, path=str(path)):
            out.append(sentence)
            bar.update(1)
        bar.close()
    if not out:
        raise CorpusError("the file holds no sentences", path=str(path), hint="is it a CoNLL-U file?")
    return out


def parse_conllu_text(text: str, *, path: str = "<string>") -> list[ParsedSentence]:
    """Parse CoNLL-U given as a string (tests, small examples)."""
    return list(iter_conllu(text.splitlines(), path=path))


__all__ = ["iter_conllu", "parse_conllu_text", "read_conllu"]
