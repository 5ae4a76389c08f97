"""Every command documents itself: help text, a description and examples; the README names it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from atlas.cli import build_parser, main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub, helps.get(name)
                yield from _commands(sub, f"{prefix}{name} ")


COMMANDS = list(_commands(build_parser()))


def test_the_expected_commands_exist():
    names = {name for name, _, _ in COMMANDS}
    assert {"init", "db", "demo"} <= names


@pytest.mark.parametrize("name, parser, help_text", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_has_help_and_examples(name, parser, help_text):
    assert help_text, f"`atlas {name}` has no one-line help"
    assert parser.description, f"`atlas {name}` has no description"
    if " " not in name or parser.epilog:  # top-level commands always; subcommands when they have an epilog
        assert parser.epilog and "atlas " in parser.epilog, f"`atlas {name} --help` shows no example"


@pytest.mark.parametrize("name", sorted({n.split()[0] for n, _, _ in COMMANDS}))
def test_readme_mentions_every_top_level_command(name):
    assert f"atlas {name}" in README


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "examples:" in capsys.readouterr().out
