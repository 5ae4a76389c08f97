"""``atlas corpus add|list|show|remove`` and ``atlas concept define|list|show|remove``."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, add_quiet_option, given, library_option, open_atlas
from atlas.cli._table import render_table, short

CORPUS_EPILOG = """\
examples:
  atlas corpus add pud ../shared/data/ud-english-pud/en_pud-ud-test.conllu --license "CC BY-SA 3.0"
  atlas corpus add mine sentences.txt                  one sentence per line
  atlas corpus add demo --builtin demo                 the built-in demo corpus (2,000 sentences)
  atlas corpus list
  atlas corpus show pud
  atlas corpus remove mine
"""

CONCEPT_EPILOG = """\
examples:
  atlas concept define common_singular "noun and not plural"
  atlas concept define colour --words colours.txt      one word per line
  atlas concept define ing_form --regex "\\w+ing"       matched against the whole word form
  atlas concept define negated_question "question and negative_sentence" --level sentence
  atlas concept list --kind named
  atlas concept list --corpus pud --like "feat:%"
  atlas concept show negation
"""


def register(subparsers: Any) -> None:
    """Add the ``corpus`` and ``concept`` commands to the ``atlas`` parser."""
    _register_corpus(subparsers)
    _register_concept(subparsers)


def _register_corpus(subparsers: Any) -> None:
    corpus = subparsers.add_parser(
        "corpus",
        help="store and inspect annotated corpora (CoNLL-U, plain text, built-in demo)",
        description="Store annotated text; Neuron Atlas turns it into words and concepts.",
        epilog=CORPUS_EPILOG,
        formatter_class=Formatter,
    )
    sub = corpus.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser("add", help="store a corpus and materialise its concepts", epilog=CORPUS_EPILOG,
                       formatter_class=Formatter,
                       description="Store a CoNLL-U or text corpus (or the built-in demo) in one transaction.")
    p.add_argument("name", help="the corpus name (a letter, then letters, digits, _ and -; at most 100 characters)")
    p.add_argument("path", nargs="?", help="a .conllu file, or a text file with one sentence per line")
    library_option(p, "--format", choices=["conllu", "text"], help="the file format (default: from the suffix)")
    library_option(p, "--builtin", choices=["demo"], help="store a built-in corpus instead of a file")
    library_option(p, "--license", help="the corpus licence, e.g. 'CC BY-SA 4.0'")
    library_option(p, "--replace", action="store_true", help="replace a corpus of that name (and its runs)")
    add_quiet_option(p)
    add_db_option(p)
    p.set_defaults(func=_corpus_add)

    p = sub.add_parser("list", help="list the stored corpora", formatter_class=Formatter,
                       description="List the stored corpora.", epilog="examples:\n  atlas corpus list")
    add_db_option(p)
    p.set_defaults(func=_corpus_list)

    p = sub.add_parser("show", help="one corpus: counts, example sentences, top concepts", formatter_class=Formatter,
                       description="Show a corpus.", epilog="examples:\n  atlas corpus show pud")
    p.add_argument("name", help="corpus name or id")
    add_db_option(p)
    p.set_defaults(func=_corpus_show)

    p = sub.add_parser("remove", help="delete a corpus with its tokens, annotations and runs",
                       formatter_class=Formatter, description="Delete a corpus and everything computed over it.",
                       epilog="examples:\n  atlas corpus remove mine            refuses if runs were extracted over it\n"
                              "  atlas corpus remove mine --force    also deletes its runs, scores and arrays")
    p.add_argument("name", help="corpus name or id")
    p.add_argument("--force", action="store_true", help="also delete the runs, scores and activation arrays over it")
    add_db_option(p)
    p.set_defaults(func=_corpus_remove)


def _register_concept(subparsers: Any) -> None:
    concept = subparsers.add_parser(
        "concept",
        help="define and inspect concepts (named, formulas, word lists, regular expressions)",
        description="The concept inventory: built-in concepts from annotations, and your own.",
        epilog=CONCEPT_EPILOG,
        formatter_class=Formatter,
    )
    sub = concept.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser("define", help="define a concept and materialise it for every corpus", epilog=CONCEPT_EPILOG,
                       formatter_class=Formatter,
                       description="Define a concept by a formula over concepts (and, or, not, parentheses), "
                       "a word list file, or a regular expression over word forms.")
    p.add_argument("name", help="the concept name")
    p.add_argument("formula", nargs="?", help="a formula, e.g. 'noun and not plural'")
    p.add_argument("--words", metavar="FILE", help="a file with one word per line (matched lower-cased)")
    library_option(p, "--regex", metavar="PATTERN", help="a regular expression the whole word form must match")
    library_option(p, "--level", choices=["token", "sentence"], default_from=("define_concept", "level"),
                   help="sentence: every word of a sentence that has it (default: {default})")
    library_option(p, "--description", help="what the concept means")
    library_option(p, "--replace", action="store_true", help="redefine an existing user concept")
    add_db_option(p)
    p.set_defaults(func=_concept_define)

    p = sub.add_parser("list", help="the concepts with kind, definition and token count", formatter_class=Formatter,
                       description="List concepts with their kind, definition and token count.",
                       epilog="examples:\n  atlas concept list\n  atlas concept list --kind named --corpus pud")
    library_option(p, "--corpus", help="count in this corpus only")
    library_option(p, "--kind", help="only this kind: named, position, sentence, upos, xpos, feat, deprel, word, "
                   "formula, wordlist, regex")
    p.add_argument("--like", metavar="PATTERN", help="names matching a pattern with %% wildcards, e.g. 'feat:%%'")
    p.add_argument("--all", action="store_true", help="include concepts with no token")
    add_db_option(p)
    p.set_defaults(func=_concept_list)

    p = sub.add_parser("show", help="one concept: definition, counts per corpus, examples", formatter_class=Formatter,
                       description="Show a concept.", epilog="examples:\n  atlas concept show negation")
    p.add_argument("name")
    add_db_option(p)
    p.set_defaults(func=_concept_show)

    p = sub.add_parser("remove", help="remove a user-defined concept", formatter_class=Formatter,
                       description="Remove a user-defined concept.", epilog="examples:\n  atlas concept remove colour")
    p.add_argument("name")
    add_db_option(p)
    p.set_defaults(func=_concept_remove)


def _corpus_add(args: argparse.Namespace) -> int:
    r = open_atlas(args).add_corpus(
        args.name, args.path, **given(args, "format", "builtin", "license", "replace", "progress")
    )
    rate = f", {r['n_tokens'] / r['seconds']:,.0f} words/s" if r.get("seconds") else ""
    print(f"stored corpus {r['name']!r} (id {r['id']}): {r['n_sentences']:,} sentences, {r['n_tokens']:,} words, "
          f"{r['n_concepts']} concepts{rate}")
    return 0


def _corpus_list(args: argparse.Namespace) -> int:
    frame = open_atlas(args).corpora()
    if frame.empty:
        print("no corpora yet (atlas corpus add NAME PATH, or atlas corpus add demo --builtin demo)")
        return 0
    rows = [(r.id, r.name, r.format, r.n_sentences, r.n_tokens, r.n_concepts, r.license) for r in frame.itertuples()]
    print(render_table(rows, ("id", "name", "format", "sentences", "words", "concepts", "license")))
    return 0


def _corpus_show(args: argparse.Namespace) -> int:
    info = open_atlas(args).corpus(args.name)
    print(f"corpus {info['name']!r} (id {info['id']}, {info['format']}): {info['n_sentences']:,} sentences, "
          f"{info['n_tokens']:,} words, {info['n_concepts']} concepts, {info['n_runs']} runs")
    print(f"source: {info['source']}" + (f"  licence: {info['license']}" if info.get("license") else ""))
    print("first sentences:")
    for text in info["examples"]:
        print(f"  {short(text, 100)}")
    print("most frequent named concepts:")
    print(render_table(info["concepts"], ("concept", "kind", "words", "sentences")))
    return 0


def _corpus_remove(args: argparse.Namespace) -> int:
    info = open_atlas(args).remove_corpus(args.name, force=args.force)
    print(f"removed corpus {info['name']!r} ({info['n_tokens']:,} words, {info['n_runs_removed']} runs)")
    return 0


def _concept_define(args: argparse.Namespace) -> int:
    kwargs = given(args, "regex", "description", "level", "replace")
    if args.words:
        from atlas.api import read_word_list

        kwargs["words"] = read_word_list(args.words)
    r = open_atlas(args).define_concept(args.name, args.formula, **kwargs)
    counts = ", ".join(f"{n}: {c:,}" for n, c in r["n_tokens"].items()) or "no corpus stored yet"
    print(f"defined {r['kind']} concept {r['name']!r} (id {r['id']}); words per corpus: {counts}")
    return 0


def _concept_list(args: argparse.Namespace) -> int:
    frame = open_atlas(args).concepts(**given(args, "corpus", "kind"))
    if args.like:
        import re

        pattern = "^" + re.escape(args.like).replace("%", ".*").replace("_", ".") + "$"
        frame = frame[frame["name"].str.match(pattern)]
    if not args.all:
        frame = frame[frame["n_tokens"] > 0]
    rows = [(r.name, r.kind, r.level, short(r.definition, 50), r.n_tokens, r.n_sentences) for r in frame.itertuples()]
    print(render_table(rows, ("concept", "kind", "level", "definition", "words", "sentences")))
    print(f"({len(rows)} concepts)")
    return 0


def _concept_show(args: argparse.Namespace) -> int:
    info = open_atlas(args).concept(args.name)
    print(f"concept {info['name']!r} ({info['kind']}, {info['level']} level{', built-in' if info['builtin'] else ''})")
    print(f"definition: {short(info['definition'], 200)}")
    if info.get("description"):
        print(f"description: {info['description']}")
    print(render_table([(c, n, s, " | ".join(ex)) for c, n, s, ex in info["corpora"]],
                       ("corpus", "words", "sentences", "examples")))
    return 0


def _concept_remove(args: argparse.Namespace) -> int:
    open_atlas(args).remove_concept(args.name)
    print(f"removed concept {args.name!r}")
    return 0
