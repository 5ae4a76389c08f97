"""What corpus parsers produce: sentences of syntactic words with their annotations.

The CoNLL-U reader, the plain-text tokenizer and the demo generator all return
:class:`ParsedSentence` objects; :func:`atlas.corpus.ingest.add_corpus` stores them.

Example::

    >>> w = ParsedWord("dogs", lemma="dog", upos="NOUN", xpos="NNS", feats="Number=Plur")
    >>> s = ParsedSentence(words=[w], text="dogs")
    >>> s.words[0].feature_pairs()
    [('Number', 'Plur')]
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ParsedWord:
    """One syntactic word (a CoNLL-U word line; a multiword token's parts are separate words).

    Args:
        form: the word as written.
        lemma: its lemma, or ``None``.
        upos: universal POS tag (``NOUN``), or ``None``.
        xpos: language-specific POS tag (Penn Treebank ``NNS`` for English), or ``None``.
        feats: morphological features as in CoNLL-U (``"Number=Plur|Tense=Past"``), or ``None``.
        head: 1-based index of the head word in its sentence (0 = root), or ``None``.
        deprel: dependency relation to the head (``nsubj``, ``nmod:poss``), or ``None``.
        misc: the MISC column as written (``"SpaceAfter=No"``), or ``None``.
        space_after: whether a space follows the word in the sentence text.
    """

    form: str
    lemma: str | None = None
    upos: str | None = None
    xpos: str | None = None
    feats: str | None = None
    head: int | None = None
    deprel: str | None = None
    misc: str | None = None
    space_after: bool = True

    def feature_pairs(self) -> list[tuple[str, str]]:
        """``[(name, value), ...]`` of :attr:`feats`, one pair per value (``PronType=Int,Rel`` gives two)."""
        if not self.feats:
            return []
        out: list[tuple[str, str]] = []
        for item in self.feats.split("|"):
            name, _, values = item.partition("=")
            out.extend((name, value) for value in values.split(","))
        return out


@dataclass(slots=True)
class ParsedSentence:
    """One sentence: its words, its text for display and where it came from.

    Args:
        words: the syntactic words, in order (never empty once stored).
        text: the sentence text (``# text =`` of CoNLL-U, the line of a text file).
        sent_id: the CoNLL-U ``# sent_id``, or ``None``.
        line: 1-based line of the source file where the sentence starts, or ``None``.
    """

    words: list[ParsedWord] = field(default_factory=list)
    text: str = ""
    sent_id: str | None = None
    line: int | None = None

    def detokenized(self) -> str:
        """The words joined with the spaces their ``space_after`` flags say."""
        parts: list[str] = []
        for i, w in enumerate(self.words):
            parts.append(w.form)
            if w.space_after and i < len(self.words) - 1:
                parts.append(" ")
        return "".join(parts)


__all__ = ["ParsedSentence", "ParsedWord"]
