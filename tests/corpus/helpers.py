"""Helpers shared by the corpus tests: small CoNLL-U documents and a row counter."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from atlas.store.tables import Annotation, Concept, ConceptCount, Corpus, Sentence, Token


def conllu(*sentences: list[str], comments: list[list[str]] | None = None) -> str:
    """A CoNLL-U document from rows written with spaces between columns (turned into tabs)."""
    blocks = []
    for i, rows in enumerate(sentences):
        head = comments[i] if comments else []
        lines = list(head) + ["\t".join(r.split()) for r in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def row_counts(db) -> dict[str, int]:
    """Rows in every table the corpus area writes (to prove a failure stored nothing)."""
    with db.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Corpus.__table__, Sentence.__table__, Token.__table__, Concept.__table__,
                      Annotation.__table__, ConceptCount.__table__)
        }


#: Two sentences exercising the UD edge cases: a multiword token, an empty node, features,
#: SpaceAfter=No, a subtype deprel, a negation, a question mark, quotes and brackets.
EDGE = conllu(
    [
        "1 I I PRON PRP Case=Nom|Number=Sing|Person=1|PronType=Prs 3 nsubj _ _",
        "2-3 don't _ _ _ _ _ _ _ _",
        "2 do do AUX VBP Mood=Ind|Tense=Pres|VerbForm=Fin 4 aux _ _",
        "3 n't not PART RB Polarity=Neg 4 advmod _ _",
        "4 like like VERB VB VerbForm=Inf 0 root _ _",
        "4.1 liked like VERB VBD _ _ _ 0:root _",
        "5 Mary Mary PROPN NNP Number=Sing 7 nmod:poss _ SpaceAfter=No",
        "6 's 's PART POS _ 5 case _ _",
        "7 dogs dog NOUN NNS Number=Plur 4 obj _ SpaceAfter=No",
        "8 . . PUNCT . _ 4 punct _ _",
    ],
    [
        "1 Did do AUX VBD Mood=Ind|Tense=Past|VerbForm=Fin 3 aux _ _",
        "2 he he PRON PRP Case=Nom|Gender=Masc|Number=Sing|Person=3|PronType=Prs 3 nsubj _ _",
        "3 say say VERB VB VerbForm=Inf 0 root _ _",
        '4 " " PUNCT `` _ 6 punct _ SpaceAfter=No',
        "5 never never ADV RB PronType=Neg 6 advmod _ _",
        "6 older old ADJ JJR Degree=Cmp 3 ccomp _ SpaceAfter=No",
        "7 \" \" PUNCT '' _ 6 punct _ _",
        "8 ( ( PUNCT -LRB- _ 9 punct _ SpaceAfter=No",
        "9 2019 2019 NUM CD NumForm=Digit|NumType=Card 3 obl _ SpaceAfter=No",
        "10 ) ) PUNCT -RRB- _ 9 punct _ SpaceAfter=No",
        "11 ? ? PUNCT . _ 3 punct _ _",
    ],
    comments=[["# sent_id = s1", "# text = I don't like Mary's dogs."], ["# sent_id = s2"]],
)

#: A valid one-sentence document to put before malformed lines.
GOOD_DOC = conllu(
    [
        "1 The the DET DT Definite=Def|PronType=Art 2 det _ _",
        "2 dog dog NOUN NN Number=Sing 3 nsubj _ _",
        "3 barked bark VERB VBD Mood=Ind|Tense=Past|VerbForm=Fin 0 root _ _",
    ]
)
