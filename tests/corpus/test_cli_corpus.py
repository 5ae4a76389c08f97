"""``atlas corpus`` and ``atlas concept`` through the CLI entry point, on both backends."""

from __future__ import annotations

import pytest

from atlas.cli import build_parser, main

from .helpers import EDGE, write


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_corpus_commands(db_url, tmp_path, capsys) -> None:
    path = write(tmp_path, "edge.conllu", EDGE)
    code, out, _ = run(capsys, "corpus", "add", "edge", str(path), "--license", "CC0", "--quiet", "--db", db_url)
    assert code == 0 and "stored corpus 'edge'" in out and "2 sentences, 19 words" in out
    code, out, _ = run(capsys, "corpus", "add", "demo", "--builtin", "demo", "--quiet", "--db", db_url)
    assert code == 0 and "2,000 sentences" in out
    code, out, _ = run(capsys, "corpus", "list", "--db", db_url)
    lines = out.splitlines()
    assert lines[0].split() == ["id", "name", "format", "sentences", "words", "concepts", "license"]
    assert lines[1].split()[1:5] == ["edge", "conllu", "2", "19"] and lines[1].split()[-1] == "CC0"
    assert lines[2].split()[1:4] == ["demo", "builtin", "2000"]
    code, out, _ = run(capsys, "corpus", "show", "edge", "--db", db_url)
    assert code == 0 and "I don't like Mary's dogs." in out and "question" in out
    code, out, _ = run(capsys, "corpus", "remove", "demo", "--db", db_url)
    assert code == 0 and "removed corpus 'demo'" in out
    code, out, _ = run(capsys, "corpus", "list", "--db", db_url)
    assert "demo" not in out


def test_concept_commands(db_url, tmp_path, capsys) -> None:
    run(capsys, "corpus", "add", "edge", str(write(tmp_path, "edge.conllu", EDGE)), "--quiet", "--db", db_url)
    code, out, _ = run(capsys, "concept", "define", "sing_noun", "noun and not plural", "--db", db_url)
    assert code == 0 and "edge: 0" in out
    words = write(tmp_path, "w.txt", "dogs\nNever\n")
    code, out, _ = run(capsys, "concept", "define", "picked", "--words", str(words), "--db", db_url)
    assert code == 0 and "edge: 2" in out
    code, out, _ = run(capsys, "concept", "list", "--kind", "wordlist", "--db", db_url)
    assert "picked" in out and "dogs, never" in out and "(1 concepts)" in out
    code, out, _ = run(capsys, "concept", "list", "--like", "feat:Polarity%", "--db", db_url)
    assert "feat:Polarity=Neg" in out
    code, out, _ = run(capsys, "concept", "show", "negation", "--db", db_url)
    assert code == 0 and "n't | never" in out
    code, out, _ = run(capsys, "concept", "remove", "picked", "--db", db_url)
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["concept", "define", "x", "noun and not plurl"], "error: unknown concept 'plurl' (did you mean 'plural'?)"),
        (["corpus", "add", "edge", "EDGE"], "error: a corpus named 'edge' exists (choose another name, or use --replace)"),
        (["corpus", "show", "edgy"], "error: no corpus named 'edgy' (did you mean 'edge'?)"),
    ],
)
def test_errors_are_one_line(db_url, tmp_path, capsys, argv: list[str], message: str) -> None:
    path = write(tmp_path, "edge.conllu", EDGE)
    run(capsys, "corpus", "add", "edge", str(path), "--quiet", "--db", db_url)
    argv = [str(path) if a == "EDGE" else a for a in argv]
    code, out, err = run(capsys, *argv, "--db", db_url)
    assert code == 1 and err.strip() == message and "Traceback" not in err


def test_malformed_file_message(db_url, tmp_path, capsys) -> None:
    path = write(tmp_path, "bad.conllu", "1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n2\tB\tb\tX\tX\t_\t9\tdep\t_\t_\n")
    code, _, err = run(capsys, "corpus", "add", "bad", str(path), "--quiet", "--db", db_url)
    assert code == 1
    assert err.strip() == f"error: {path}:2: HEAD 9 is out of range: the sentence has 2 words"


def test_every_command_has_help_and_examples() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for top in ("corpus", "concept"):
        cmd = sub.choices[top]
        assert cmd.epilog and "examples:" in cmd.epilog
        actions = next(a for a in cmd._actions if a.dest == "action")
        for name, p in actions.choices.items():
            assert p.description and p.epilog and "examples:" in p.epilog, f"{top} {name}"
