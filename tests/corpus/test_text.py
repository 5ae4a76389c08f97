"""Plain-text corpora: the tokenization rule and the line handling."""

from __future__ import annotations

import pytest

from atlas.corpus.text import parse_text, read_text, tokenize
from atlas.errors import CorpusError
from .helpers import write


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The dogs barked.", ["The", "dogs", "barked", "."]),
        ("I don't know, can't you?", ["I", "do", "n't", "know", ",", "ca", "n't", "you", "?"]),
        ("John's friend isn’t here", ["John", "'s", "friend", "is", "n’t", "here"]),
        ("A well-known O'Brien", ["A", "well-known", "O'Brien"]),
        ("It cost 1,000.50 at 10:30 (roughly)", ["It", "cost", "1,000.50", "at", "10:30", "(", "roughly", ")"]),
        ('She said "hi"!', ["She", "said", '"', "hi", '"', "!"]),
        ("the 3rd time", ["the", "3rd", "time"]),
    ],
)
def test_tokenize(text: str, words: list[str]) -> None:
    assert [w.form for w in tokenize(text)] == words


def test_space_after_rebuilds_the_text() -> None:
    for text in ["I don't know, can't you?", 'She said "hi"!', "It cost 1,000.50 at 10:30 (roughly)"]:
        (sentence,) = parse_text(text)
        assert sentence.detokenized() == text


def test_rule_annotations_only_punct_and_num() -> None:
    words = tokenize("We saw 12 birds, really.")
    assert [w.upos for w in words] == [None, None, "NUM", None, "PUNCT", None, "PUNCT"]
    assert all(w.xpos is None and w.feats is None and w.head is None for w in words)


def test_lines_blank_lines_and_numbers(tmp_path) -> None:
    path = write(tmp_path, "s.txt", "First line.\n\n   \n  Second one here  \nThird?\n")
    sentences = read_text(path)
    assert [s.text for s in sentences] == ["First line.", "Second one here", "Third?"]
    assert [s.line for s in sentences] == [1, 4, 5]


def test_errors(tmp_path) -> None:
    with pytest.raises(CorpusError, match="no sentences"):
        read_text(write(tmp_path, "blank.txt", "\n  \n"))
    with pytest.raises(CorpusError) as info:
        read_text(write(tmp_path, "bad.txt", b"fine\nalso fine\nbad \xff byte\n"))
    assert info.value.line == 3 and "UTF-8" in str(info.value)
