"""The built-in demo corpus: annotated English sentences, correct by construction.

A seeded generator writes sentences from templates and word lists, and annotates every word
as UD English (EWT/PUD conventions) does: LEMMA, UPOS, XPOS (Penn Treebank), FEATS, HEAD and
DEPREL. It was written for this project; no text is copied from anywhere.

The templates cover what the named concepts need, each on hundreds of words in 2,000
sentences: negation (``not``, ``n't``, ``never``, ``no``), past and present tense,
singular and plural nouns and agreement, yes/no and wh-questions, quoted speech, brackets,
proper names, numbers in digits and in words, comparatives and superlatives, coordination
and subordination.

Example::

    >>> sentences = generate(3, seed=1)
    >>> all(s.words and s.text for s in sentences)
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from atlas.corpus.model import ParsedSentence, ParsedWord

# -- word lists ------------------------------------------------------------------------------
# nouns: (singular, plural)
ANIMATE = [
    ("dog", "dogs"), ("cat", "cats"), ("teacher", "teachers"), ("student", "students"), ("farmer", "farmers"),
    ("doctor", "doctors"), ("child", "children"), ("neighbor", "neighbors"), ("driver", "drivers"),
    ("artist", "artists"), ("bird", "birds"), ("woman", "women"), ("man", "men"), ("friend", "friends"),
    ("player", "players"), ("nurse", "nurses"), ("writer", "writers"), ("baker", "bakers"),
]
THINGS = [
    ("book", "books"), ("letter", "letters"), ("car", "cars"), ("house", "houses"), ("song", "songs"),
    ("window", "windows"), ("apple", "apples"), ("box", "boxes"), ("picture", "pictures"), ("bridge", "bridges"),
    ("report", "reports"), ("map", "maps"), ("cake", "cakes"), ("bicycle", "bicycles"), ("garden", "gardens"),
    ("story", "stories"), ("ticket", "tickets"), ("chair", "chairs"), ("key", "keys"), ("photo", "photos"),
]
PLACES = [
    ("park", "in"), ("river", "near"), ("station", "at"), ("school", "at"), ("market", "at"), ("library", "in"),
    ("kitchen", "in"), ("village", "in"), ("office", "in"), ("forest", "near"),
]
PEOPLE = [
    ("Mary", "Fem"), ("John", "Masc"), ("Alice", "Fem"), ("Peter", "Masc"), ("Sarah", "Fem"), ("David", "Masc"),
    ("Emma", "Fem"), ("James", "Masc"), ("Laura", "Fem"), ("Thomas", "Masc"), ("Anna", "Fem"), ("Daniel", "Masc"),
]
CITIES = ["London", "Paris", "Berlin", "Chicago", "Tokyo", "Madrid", "Boston", "Toronto"]
DAYS = ["Monday", "Tuesday", "Friday", "Sunday"]
# transitive verbs: base, 3rd person singular, past
TRANSITIVE = [
    ("see", "sees", "saw"), ("find", "finds", "found"), ("like", "likes", "liked"), ("watch", "watches", "watched"),
    ("read", "reads", "read"), ("build", "builds", "built"), ("write", "writes", "wrote"), ("open", "opens", "opened"),
    ("carry", "carries", "carried"), ("paint", "paints", "painted"), ("clean", "cleans", "cleaned"),
    ("buy", "buys", "bought"), ("sell", "sells", "sold"), ("follow", "follows", "followed"), ("keep", "keeps", "kept"),
    ("bring", "brings", "brought"), ("take", "takes", "took"), ("want", "wants", "wanted"),
]
INTRANSITIVE = [
    ("sleep", "sleeps", "slept"), ("run", "runs", "ran"), ("laugh", "laughs", "laughed"), ("wait", "waits", "waited"),
    ("arrive", "arrives", "arrived"), ("smile", "smiles", "smiled"), ("swim", "swims", "swam"),
    ("work", "works", "worked"), ("sing", "sings", "sang"), ("walk", "walks", "walked"),
]
# adjectives: positive, comparative, superlative
ADJECTIVES = [
    ("tall", "taller", "tallest"), ("small", "smaller", "smallest"), ("big", "bigger", "biggest"),
    ("old", "older", "oldest"), ("young", "younger", "youngest"), ("fast", "faster", "fastest"),
    ("quiet", "quieter", "quietest"), ("happy", "happier", "happiest"), ("large", "larger", "largest"),
    ("warm", "warmer", "warmest"), ("cold", "colder", "coldest"), ("long", "longer", "longest"),
    ("bright", "brighter", "brightest"), ("strong", "stronger", "strongest"), ("busy", "busier", "busiest"),
]
ADVERBS = ["quickly", "slowly", "often", "quietly", "carefully", "rarely", "happily"]
NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "ten", "twelve"]
SPEECH = [("said", "say"), ("wrote", "write"), ("replied", "reply"), ("asked", "ask")]

PAST = "Mood=Ind|Tense=Past|VerbForm=Fin"
PRES3 = "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"
PRES = "Mood=Ind|Tense=Pres|VerbForm=Fin"
NEG = "Polarity=Neg"


@dataclass(slots=True)
class _W:
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str | None
    deprel: str
    head: int | None = None  # 0-based index in the sentence; None = root
    space_after: bool = True


@dataclass(slots=True)
class _Subject:
    head: int
    plural: bool
    person: int  # 1, 2 or 3


class _Builder:
    """Words added in order; heads set by index; turned into a :class:`ParsedSentence`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words: list[_W] = []

    def add(self, form: str, lemma: str, upos: str, xpos: str, feats: str | None, deprel: str, head: int | None = None) -> int:
        self.words.append(_W(form, lemma, upos, xpos, feats, deprel, head))
        return len(self.words) - 1

    def attach(self, index: int, head: int | None, deprel: str | None = None) -> None:
        self.words[index].head = head
        if deprel is not None:
            self.words[index].deprel = deprel

    def punct(self, form: str, xpos: str, head: int, *, glue_left: bool = True) -> int:
        if glue_left and self.words:
            self.words[-1].space_after = False
        return self.add(form, form if form not in "“”" else '"', "PUNCT", xpos, None, "punct", head)

    def build(self) -> ParsedSentence:
        words = [
            ParsedWord(
                form=w.form,
                lemma=w.lemma,
                upos=w.upos,
                xpos=w.xpos,
                feats=w.feats,
                head=0 if w.head is None else w.head + 1,
                deprel="root" if w.head is None else w.deprel,
                misc=None if w.space_after else "SpaceAfter=No",
                space_after=w.space_after,
            )
            for w in self.words
        ]
        words[-1].space_after = True
        words[-1].misc = None
        sentence = ParsedSentence(words=words)
        sentence.text = sentence.detokenized()
        return sentence

    # -- phrases ---------------------------------------------------------------------------
    def noun_phrase(self, *, plural: bool, things: bool = False, allow_adj: bool = True, number: bool = False) -> int:
        """``the (old) dog`` / ``three dogs`` / ``these 25 tickets``; returns the noun's index."""
        rng = self.rng
        sing, plur = rng.choice(THINGS if things else ANIMATE)
        deps: list[int] = []
        if number and plural:
            if rng.random() < 0.5:
                deps.append(self.add(rng.choice(NUMBER_WORDS), "", "NUM", "CD", "NumForm=Word|NumType=Card", "nummod"))
                self.words[-1].lemma = self.words[-1].form
            else:
                n = str(rng.randint(2, 99))
                deps.append(self.add(n, n, "NUM", "CD", "NumForm=Digit|NumType=Card", "nummod"))
        elif plural and rng.random() < 0.25:
            form = rng.choice(["these", "those"])
            lemma = "this" if form == "these" else "that"
            deps.append(self.add(form, lemma, "DET", "DT", "Number=Plur|PronType=Dem", "det"))
        elif plural and rng.random() < 0.3:
            pass  # bare plural
        else:
            if not plural and rng.random() < 0.35:
                deps.append(self.add("a", "a", "DET", "DT", "Definite=Ind|PronType=Art", "det"))
            else:
                deps.append(self.add("the", "the", "DET", "DT", "Definite=Def|PronType=Art", "det"))
        if allow_adj and rng.random() < 0.3:
            adj = rng.choice(ADJECTIVES)[0]
            deps.append(self.add(adj, adj, "ADJ", "JJ", "Degree=Pos", "amod"))
        if deps and self.words[deps[0]].form == "a" and self.words[-1].form[0] in "aeiou" and len(deps) == 2:
            self.words[deps[0]].form = "an"
        elif deps and self.words[deps[0]].form == "a" and len(deps) == 1 and (plur if plural else sing)[0] in "aeiou":
            self.words[deps[0]].form = "an"
        form = plur if plural else sing
        noun = self.add(form, sing, "NOUN", "NNS" if plural else "NN", "Number=Plur" if plural else "Number=Sing", "")
        for d in deps:
            self.words[d].head = noun
        return noun

    def name(self) -> tuple[int, str]:
        person, gender = self.rng.choice(PEOPLE)
        return self.add(person, person, "PROPN", "NNP", "Number=Sing", ""), gender

    def subject(self, *, allow_pronoun: bool = True) -> _Subject:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            plural = rng.random() < 0.5
            return _Subject(self.noun_phrase(plural=plural), plural, 3)
        if r < 0.7 or not allow_pronoun:
            return _Subject(self.name()[0], False, 3)
        form, feats, plural, person = rng.choice(
            [
                ("he", "Case=Nom|Gender=Masc|Number=Sing|Person=3|PronType=Prs", False, 3),
                ("she", "Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs", False, 3),
                ("they", "Case=Nom|Number=Plur|Person=3|PronType=Prs", True, 3),
                ("we", "Case=Nom|Number=Plur|Person=1|PronType=Prs", True, 1),
                ("I", "Case=Nom|Number=Sing|Person=1|PronType=Prs", False, 1),
            ]
        )
        return _Subject(self.add(form, form if form != "I" else "I", "PRON", "PRP", feats, ""), plural, person)

    def object(self, verb: int) -> int:
        rng = self.rng
        if rng.random() < 0.15:
            obj = self.name()[0]
        else:
            obj = self.noun_phrase(plural=rng.random() < 0.5, things=True, number=rng.random() < 0.3)
        self.attach(obj, verb, "obj")
        return obj

    def place(self, head: int) -> int:
        rng = self.rng
        if rng.random() < 0.3:
            prep = self.add("in", "in", "ADP", "IN", None, "case")
            city = rng.choice(CITIES)
            noun = self.add(city, city, "PROPN", "NNP", "Number=Sing", "obl", head)
        else:
            place, p = rng.choice(PLACES)
            prep = self.add(p, p, "ADP", "IN", None, "case")
            det = self.add("the", "the", "DET", "DT", "Definite=Def|PronType=Art", "det")
            noun = self.add(place, place, "NOUN", "NN", "Number=Sing", "obl", head)
            self.attach(det, noun)
        self.attach(prep, noun)
        return noun

    def time(self, head: int) -> int:
        rng = self.rng
        if rng.random() < 0.5:
            prep = self.add("on", "on", "ADP", "IN", None, "case")
            day = rng.choice(DAYS)
            noun = self.add(day, day, "PROPN", "NNP", "Number=Sing", "obl", head)
        else:
            prep = self.add("in", "in", "ADP", "IN", None, "case")
            year = str(rng.randint(1950, 2024))
            noun = self.add(year, year, "NUM", "CD", "NumForm=Digit|NumType=Card", "obl", head)
        self.attach(prep, noun)
        return noun

    def negator(self, head: int, *, contracted: bool) -> int:
        if contracted:
            self.words[-1].space_after = False
            return self.add("n't", "not", "PART", "RB", NEG, "advmod", head)
        return self.add("not", "not", "PART", "RB", NEG, "advmod", head)

    def do_aux(self, tense: str, subj: _Subject) -> int:
        if tense == "past":
            return self.add("did", "do", "AUX", "VBD", PAST, "aux")
        if subj.plural or subj.person != 3:
            return self.add("do", "do", "AUX", "VBP", PRES, "aux")
        return self.add("does", "do", "AUX", "VBZ", PRES3, "aux")

    def be(self, tense: str, subj: _Subject, deprel: str) -> int:
        if tense == "past":
            if subj.plural:
                return self.add("were", "be", "AUX", "VBD", PAST, deprel)
            feats = f"Mood=Ind|Number=Sing|Person={subj.person}|Tense=Past|VerbForm=Fin"
            return self.add("was", "be", "AUX", "VBD", feats, deprel)
        if subj.plural:
            return self.add("are", "be", "AUX", "VBP", PRES, deprel)
        if subj.person == 1:
            return self.add("am", "be", "AUX", "VBP", "Mood=Ind|Number=Sing|Person=1|Tense=Pres|VerbForm=Fin", deprel)
        return self.add("is", "be", "AUX", "VBZ", PRES3, deprel)

    def finite_verb(self, lemma_forms: tuple[str, str, str], tense: str, subj: _Subject) -> int:
        base, third, past = lemma_forms
        if tense == "past":
            return self.add(past, base, "VERB", "VBD", PAST, "")
        if subj.plural or subj.person != 3:
            return self.add(base, base, "VERB", "VBP", PRES, "")
        return self.add(third, base, "VERB", "VBZ", PRES3, "")


# -- clauses and templates ---------------------------------------------------------------------
def _verb_clause(b: _Builder, *, tense: str, negated: bool) -> int:
    """Subject, (do + not) verb, object/place/time. Returns the verb (the clause root)."""
    rng = b.rng
    subj = b.subject()
    transitive = rng.random() < 0.65
    lemma_forms = rng.choice(TRANSITIVE if transitive else INTRANSITIVE)
    deps: list[tuple[int, str]] = [(subj.head, "nsubj")]
    if negated and rng.random() < 0.2:
        deps.append((b.add("never", "never", "ADV", "RB", "PronType=Neg", "advmod"), "advmod"))
        verb = b.finite_verb(lemma_forms, tense, subj)
    elif negated:
        aux = b.do_aux(tense, subj)
        neg = b.negator(-1, contracted=rng.random() < 0.4)
        deps += [(aux, "aux"), (neg, "advmod")]
        verb = b.add(lemma_forms[0], lemma_forms[0], "VERB", "VB", "VerbForm=Inf", "")
    else:
        if rng.random() < 0.15:
            adv = rng.choice(ADVERBS)
            deps.append((b.add(adv, adv, "ADV", "RB", None, "advmod"), "advmod"))
        verb = b.finite_verb(lemma_forms, tense, subj)
    for index, rel in deps:
        b.attach(index, verb, rel)
    if transitive:
        b.object(verb)
    r = rng.random()
    if r < 0.35:
        b.place(verb)
    elif r < 0.55:
        b.time(verb)
    return verb


def _copula_clause(b: _Builder, *, tense: str, negated: bool, degree: str = "pos") -> int:
    """``the dog was (not) happy`` / ``... taller than Mary`` / ``... the tallest farmer in the village``."""
    rng = b.rng
    subj = b.subject()
    cop = b.be(tense, subj, "cop")
    deps = [(subj.head, "nsubj"), (cop, "cop")]
    if negated:
        deps.append((b.negator(-1, contracted=rng.random() < 0.3), "advmod"))
    pos, cmp_, sup = rng.choice(ADJECTIVES)
    if degree == "sup":
        det = b.add("the", "the", "DET", "DT", "Definite=Def|PronType=Art", "det")
        b.add(sup, pos, "ADJ", "JJS", "Degree=Sup", "amod")
        adj_index = len(b.words) - 1
        sing, plur = rng.choice(ANIMATE)
        root = b.add(plur if subj.plural else sing, sing, "NOUN", "NNS" if subj.plural else "NN",
                     "Number=Plur" if subj.plural else "Number=Sing", "")
        b.attach(det, root)
        b.attach(adj_index, root)
        b.place(root)
        b.words[-1].deprel = "nmod"
    else:
        form = cmp_ if degree == "cmp" else pos
        root = b.add(form, pos, "ADJ", "JJR" if degree == "cmp" else "JJ",
                     "Degree=Cmp" if degree == "cmp" else "Degree=Pos", "")
        if degree == "cmp":
            than = b.add("than", "than", "ADP", "IN", None, "case")
            if rng.random() < 0.5:
                other = b.name()[0]
            else:
                other = b.noun_phrase(plural=rng.random() < 0.5, allow_adj=False)
            b.attach(other, root, "obl")
            b.attach(than, other)
    for index, rel in deps:
        b.attach(index, root, rel)
    return root


def _declarative(b: _Builder, rng: random.Random) -> None:
    tense = rng.choice(["past", "present"])
    negated = rng.random() < 0.35
    if rng.random() < 0.7:
        root = _verb_clause(b, tense=tense, negated=negated)
    else:
        root = _copula_clause(b, tense=tense, negated=negated)
    b.punct(".", ".", root)


def _degree(b: _Builder, rng: random.Random) -> None:
    tense = rng.choice(["past", "present"])
    root = _copula_clause(b, tense=tense, negated=rng.random() < 0.15, degree=rng.choice(["cmp", "sup"]))
    b.punct(".", ".", root)


def _yes_no_question(b: _Builder, rng: random.Random) -> None:
    tense = rng.choice(["past", "present"])
    if rng.random() < 0.6:
        # Did the dog (not) see the cat?
        subj_probe = _Subject(-1, rng.random() < 0.5, 3)
        aux = b.do_aux(tense, subj_probe)
        b.words[aux].form = b.words[aux].form.capitalize()
        negated = rng.random() < 0.25
        neg = None
        if negated:
            b.words[aux].space_after = False
            neg = b.add("n't", "not", "PART", "RB", NEG, "advmod")
        if subj_probe.plural:
            subj = b.noun_phrase(plural=True)
        else:
            subj = b.noun_phrase(plural=False) if rng.random() < 0.6 else b.name()[0]
        lemma_forms = rng.choice(TRANSITIVE)
        verb = b.add(lemma_forms[0], lemma_forms[0], "VERB", "VB", "VerbForm=Inf", "")
        b.attach(aux, verb, "aux")
        b.attach(subj, verb, "nsubj")
        if neg is not None:
            b.attach(neg, verb)
        b.object(verb)
        if rng.random() < 0.3:
            b.place(verb)
        b.punct("?", ".", verb)
    else:
        # Was the river cold?  Are the students happy?
        plural = rng.random() < 0.5
        probe = _Subject(-1, plural, 3)
        cop = b.be(tense, probe, "cop")
        b.words[cop].form = b.words[cop].form.capitalize()
        subj = b.noun_phrase(plural=plural, allow_adj=False)
        pos = rng.choice(ADJECTIVES)[0]
        root = b.add(pos, pos, "ADJ", "JJ", "Degree=Pos", "")
        b.attach(cop, root)
        b.attach(subj, root, "nsubj")
        b.punct("?", ".", root)


def _wh_question(b: _Builder, rng: random.Random) -> None:
    tense = rng.choice(["past", "present"])
    if rng.random() < 0.35:
        # Who saw the letters?
        who = b.add("Who", "who", "PRON", "WP", "PronType=Int", "nsubj")
        verb = b.finite_verb(rng.choice(TRANSITIVE), tense, _Subject(-1, False, 3))
        b.attach(who, verb)
        b.object(verb)
        b.punct("?", ".", verb)
        return
    wh = rng.choice(["Where", "When", "Why"])
    w = b.add(wh, wh.lower(), "ADV", "WRB", "PronType=Int", "advmod")
    plural = rng.random() < 0.4
    probe = _Subject(-1, plural, 3)
    aux = b.do_aux(tense, probe)
    subj = b.noun_phrase(plural=plural) if plural or rng.random() < 0.5 else b.name()[0]
    lemma_forms = rng.choice(INTRANSITIVE)
    verb = b.add(lemma_forms[0], lemma_forms[0], "VERB", "VB", "VerbForm=Inf", "")
    for index, rel in ((w, "advmod"), (aux, "aux"), (subj, "nsubj")):
        b.attach(index, verb, rel)
    b.punct("?", ".", verb)


def _quote(b: _Builder, rng: random.Random) -> None:
    tense = rng.choice(["past", "present"])
    negated = rng.random() < 0.35
    if rng.random() < 0.5:
        # Mary said, "The dogs are not happy."
        speaker, _ = b.name()
        form, lemma = rng.choice(SPEECH[:3])
        verb = b.add(form, lemma, "VERB", "VBD", PAST, "")
        b.attach(speaker, verb, "nsubj")
        b.punct(",", ",", verb)
        open_q = b.add('"', '"', "PUNCT", "``", None, "punct")
        b.words[open_q].space_after = False
        clause = (_verb_clause if rng.random() < 0.6 else _copula_clause)(b, tense=tense, negated=negated)
        b.words[len(b.words) - 1].space_after = True
        b.attach(clause, verb, "ccomp")
        b.attach(open_q, clause)
        b.punct(".", ".", verb)
        b.punct('"', "''", clause)
    else:
        # "The dogs are not happy," Mary said.
        open_q = b.add('"', '"', "PUNCT", "``", None, "punct")
        b.words[open_q].space_after = False
        clause = (_verb_clause if rng.random() < 0.6 else _copula_clause)(b, tense=tense, negated=negated)
        b.punct(",", ",", clause)
        b.punct('"', "''", clause)
        speaker, _ = b.name()
        form, lemma = rng.choice(SPEECH[:3])
        verb = b.add(form, lemma, "VERB", "VBD", PAST, "")
        b.attach(speaker, verb, "nsubj")
        b.attach(clause, verb, "ccomp")
        b.attach(open_q, clause)
        b.punct(".", ".", verb)


def _brackets(b: _Builder, rng: random.Random) -> None:
    tense = rng.choice(["past", "present"])
    if rng.random() < 0.5:
        # Mary (a young teacher) likes the old books.
        speaker, _ = b.name()
        subj = _Subject(speaker, False, 3)
        lrb = b.add("(", "(", "PUNCT", "-LRB-", None, "punct")
        b.words[lrb].space_after = False
        appos = b.noun_phrase(plural=False)
        b.attach(appos, speaker, "appos")
        b.attach(lrb, appos)
        b.punct(")", "-RRB-", appos)
    else:
        # The students (near the river) ...
        plural = rng.random() < 0.5
        head = b.noun_phrase(plural=plural)
        subj = _Subject(head, plural, 3)
        lrb = b.add("(", "(", "PUNCT", "-LRB-", None, "punct")
        b.words[lrb].space_after = False
        if rng.random() < 0.5:
            inner = b.place(head)
            b.words[inner].deprel = "nmod"
        else:
            inner = b.time(head)
            b.words[inner].deprel = "nmod"
        b.attach(lrb, inner)
        b.punct(")", "-RRB-", inner)
    negated = rng.random() < 0.3
    lemma_forms = rng.choice(TRANSITIVE)
    if negated:
        aux = b.do_aux(tense, subj)
        neg = b.negator(-1, contracted=rng.random() < 0.4)
        verb = b.add(lemma_forms[0], lemma_forms[0], "VERB", "VB", "VerbForm=Inf", "")
        b.attach(aux, verb)
        b.attach(neg, verb)
    else:
        verb = b.finite_verb(lemma_forms, tense, subj)
    b.attach(subj.head, verb, "nsubj")
    b.object(verb)
    b.punct(".", ".", verb)


def _numbers(b: _Builder, rng: random.Random) -> None:
    # The farmer sold 25 apples in 1998.  Three students found no keys.
    tense = rng.choice(["past", "present"])
    if rng.random() < 0.5:
        subj = b.subject()
    else:
        subj = _Subject(b.noun_phrase(plural=True, number=True), True, 3)
    lemma_forms = rng.choice(TRANSITIVE)
    verb = b.finite_verb(lemma_forms, tense, subj)
    b.attach(subj.head, verb, "nsubj")
    if rng.random() < 0.2:
        no = b.add("no", "no", "DET", "DT", "PronType=Neg", "det")
        sing, plur = rng.choice(THINGS)
        obj = b.add(plur, sing, "NOUN", "NNS", "Number=Plur", "obj", verb)
        b.attach(no, obj)
    else:
        obj = b.noun_phrase(plural=True, things=True, number=True)
        b.attach(obj, verb, "obj")
    b.time(verb)
    b.punct(".", ".", verb)


def _coordination(b: _Builder, rng: random.Random) -> None:
    tense = rng.choice(["past", "present"])
    first = _verb_clause(b, tense=tense, negated=rng.random() < 0.3)
    if rng.random() < 0.5:
        b.punct(",", ",", -1)
        comma = len(b.words) - 1
        cc = b.add("but" if rng.random() < 0.5 else "and", "", "CCONJ", "CC", None, "cc")
        b.words[cc].lemma = b.words[cc].form
        second = _verb_clause(b, tense=tense, negated=rng.random() < 0.3)
        b.attach(second, first, "conj")
        b.attach(cc, second)
        b.attach(comma, second)
    else:
        mark = b.add("because", "because", "SCONJ", "IN", None, "mark")
        second = (_verb_clause if rng.random() < 0.5 else _copula_clause)(b, tense=tense, negated=rng.random() < 0.3)
        b.attach(second, first, "advcl")
        b.attach(mark, second)
    b.punct(".", ".", first)


_TEMPLATES = (
    (_declarative, 26),
    (_degree, 22),
    (_yes_no_question, 10),
    (_wh_question, 7),
    (_quote, 12),
    (_brackets, 9),
    (_numbers, 9),
    (_coordination, 13),
)


def _capitalize_first(b: _Builder) -> None:
    """Upper-case the first letter of the sentence and of a quotation's first word."""
    first = b.words[0]
    if first.upos == "NUM" and first.form.isdigit():  # English spells out a number that opens a sentence
        word = NUMBER_WORDS[int(first.form) % len(NUMBER_WORDS)]
        first.form, first.lemma, first.feats = word, word, "NumForm=Word|NumType=Card"
    for i, w in enumerate(b.words):
        if i == 0 or b.words[i - 1].xpos == "``":
            if w.upos != "PUNCT":
                w.form = w.form[:1].upper() + w.form[1:]


def generate(n_sentences: int = 2000, seed: int = 0) -> list[ParsedSentence]:
    """Generate the demo corpus: ``n_sentences`` annotated English sentences.

    Deterministic: the same ``(n_sentences, seed)`` gives the same sentences, and a shorter
    corpus is a prefix of a longer one with the same seed.

    Args:
        n_sentences: how many sentences (the stored demo has 2,000).
        seed: the seed of the generator.

    Example::

        >>> s = generate(1, seed=0)[0]
        >>> s.words[-1].upos
        'PUNCT'
    """
    rng = random.Random(seed)
    templates = [t for t, _ in _TEMPLATES]
    weights = [w for _, w in _TEMPLATES]
    out: list[ParsedSentence] = []
    for i in range(n_sentences):
        b = _Builder(rng)
        template = rng.choices(templates, weights)[0]
        template(b, rng)
        _capitalize_first(b)
        sentence = b.build()
        sentence.sent_id = f"demo-{i + 1:05d}"
        out.append(sentence)
    return out


__all__ = ["generate"]
