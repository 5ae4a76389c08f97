"""The CoNLL-U reader: UD edge cases and malformed input (file, line, what is wrong)."""

from __future__ import annotations

import pytest

from atlas.corpus.conllu import parse_conllu_text, read_conllu
from atlas.errors import CorpusError
from .helpers import EDGE, conllu, write


def test_syntactic_words_multiword_tokens_and_empty_nodes() -> None:
    s1, s2 = parse_conllu_text(EDGE)
    # the range 2-3 is not a word; its parts are; the empty node 4.1 is skipped
    assert [w.form for w in s1.words] == ["I", "do", "n't", "like", "Mary", "'s", "dogs", "."]
    assert len(s2.words) == 11
    assert s1.sent_id == "s1" and s2.sent_id == "s2"
    assert s1.text == "I don't like Mary's dogs."


def test_space_after_from_misc_and_ranges() -> None:
    s1, s2 = parse_conllu_text(EDGE)
    spaces = [w.space_after for w in s1.words]
    # do|n't are glued (inside the range 2-3), n't takes the range's spacing (a space)
    assert spaces == [True, False, True, True, False, True, False, True]
    # no "# text": the text is rebuilt from forms and SpaceAfter
    assert s2.text == 'Did he say "never older" (2019)?'


def test_columns_feats_head_deprel() -> None:
    s1, _ = parse_conllu_text(EDGE)
    mary, dogs = s1.words[4], s1.words[6]
    assert (mary.upos, mary.xpos, mary.head, mary.deprel, mary.misc) == ("PROPN", "NNP", 7, "nmod:poss", "SpaceAfter=No")
    assert dogs.feature_pairs() == [("Number", "Plur")]
    assert s1.words[2].lemma == "not" and s1.words[2].feats == "Polarity=Neg"
    assert s1.words[3].head == 0 and s1.words[3].deprel == "root"
    assert s1.words[5].feats is None  # "_" is no value


def test_multi_valued_feature_gives_one_pair_per_value() -> None:
    (s,) = parse_conllu_text(conllu(["1 what what PRON WP PronType=Int,Rel 0 root _ _"]))
    assert s.words[0].feature_pairs() == [("PronType", "Int"), ("PronType", "Rel")]


def test_bom_crlf_and_missing_final_blank_line() -> None:
    text = "\ufeff# text = Hi\r\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\r\n"
    (s,) = parse_conllu_text(text)
    assert s.text == "Hi" and s.words[0].form == "Hi"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


GOOD = "1 The the DET DT Definite=Def|PronType=Art 2 det _ _"


@pytest.mark.parametrize(
    ("bad_row", "what"),
    [
        ("2 dog dog NOUN NN Number=Sing 0 root _", "expected 10 tab-separated columns, found 9"),
        ("two dog dog NOUN NN Number=Sing 0 root _ _", "ID 'two' is not an integer"),
        ("3 dog dog NOUN NN Number=Sing 0 root _ _", "word ID 3 is out of sequence (expected 2)"),
        ("2 dog dog NOUN NN Number=Sing 7 root _ _", "HEAD 7 is out of range: the sentence has 2 words"),
        ("2 dog dog NOUN NN Number=Sing x root _ _", "HEAD 'x' is not an integer"),
        ("2 dog dog NOUN NN Number:Sing 0 root _ _", "bad FEATS 'Number:Sing'"),
        ("2 dog dog NOUN NN Number=Sing|Case 0 root _ _", "bad FEATS 'Number=Sing|Case'"),
        ("2 dog dog NOUN NN Number=Sing 2 root _ _", "HEAD of word 2 points to the word itself"),
    ],
)
def test_malformed_word_lines_name_file_and_line(tmp_path, bad_row: str, what: str) -> None:
    text = conllu([GOOD, bad_row], [GOOD, "2 cat cat NOUN NN Number=Sing 0 root _ _"])
    path = write(tmp_path, "bad.conllu", text)
    with pytest.raises(CorpusError) as info:
        read_conllu(path)
    line = _line_of(text, "\t".join(bad_row.split()[:3]))
    assert info.value.line == line
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert what in str(info.value)


def test_sentence_without_words(tmp_path) -> None:
    text = conllu([GOOD.replace(" 2 det", " 0 root")]) + "# sent_id = empty\n# text = nothing here\n\n"
    path = write(tmp_path, "empty.conllu", text)
    with pytest.raises(CorpusError, match="sentence without words") as info:
        read_conllu(path)
    assert info.value.line == _line_of(text, "sent_id = empty")


def test_range_past_the_last_word(tmp_path) -> None:
    text = conllu(["1-2 cannot _ _ _ _ _ _ _ _", "1 can can AUX MD VerbForm=Fin 0 root _ _"])
    with pytest.raises(CorpusError, match="goes past the last word") as info:
        read_conllu(write(tmp_path, "r.conllu", text))
    assert info.value.line == 1


def test_bad_utf8_names_the_line(tmp_path) -> None:
    text = conllu([GOOD.replace(" 2 det", " 0 root")]).encode() + b"# text = caf\xe9\n1\tx\tx\tX\tX\t_\t0\troot\t_\t_\n"
    with pytest.raises(CorpusError, match="not valid UTF-8") as info:
        read_conllu(write(tmp_path, "latin1.conllu", text))
    assert info.value.line == 3


def test_empty_file_and_missing_file(tmp_path) -> None:
    with pytest.raises(CorpusError, match="no sentences"):
        read_conllu(write(tmp_path, "blank.conllu", "\n\n"))
    with pytest.raises(CorpusError, match="cannot read"):
        read_conllu(tmp_path / "absent.conllu")
