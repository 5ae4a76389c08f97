"""The README's queries and commands are real: every query it shows parses, and every command
line of its sessions names an existing command and options (so the README cannot drift)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from atlas.cli import build_parser
from atlas.query.parser import parse

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _blocks() -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)


def _language_block() -> list[str]:
    """The statements of the README's query-language block (continuation lines joined, comments cut)."""
    block = README.split("## The query language", 1)[1].split("```", 2)[1]
    statements: list[str] = []
    for line in block.splitlines()[1:]:
        line = line.split("--", 1)[0].rstrip()
        if not line:
            continue
        if line.startswith(" ") and statements:
            statements[-1] += " " + line.strip()
        else:
            statements.extend(part.strip() for part in line.split(" | "))
    return statements


def _query_arguments() -> list[str]:
    out = []
    for block in _blocks():
        for line in block.splitlines():
            line = line.strip().lstrip("$ ").strip()
            if line.startswith("atlas query ") and "--saved" not in line:  # a saved query's name is no query
                out.append(shlex.split(line.split("#", 1)[0])[2])
    return out


@pytest.mark.parametrize("text", _language_block() + _query_arguments())
def test_every_readme_query_parses(text):
    parse(text)


def _command_lines() -> list[list[str]]:
    out = []
    for block in _blocks():
        for line in block.splitlines():
            line = line.strip().lstrip("$ ").strip()
            if line.startswith("atlas ") and not line.startswith("atlas query \"") or line.startswith("atlas query "):
                words = shlex.split(line.split("  #", 1)[0])
                out.append(words[1:])
    return out


@pytest.mark.parametrize("argv", _command_lines(), ids=lambda a: " ".join(a)[:60])
def test_every_readme_command_line_is_accepted_by_the_parser(argv):
    build_parser().parse_args(argv)  # exits (SystemExit) on an unknown command or option
