"""The command line starts light: building the parser and ``atlas --help`` import none of the heavy
libraries (a command imports the facade when it runs). Speed itself is measured in bench/bench_cli.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "sqlalchemy", "torch", "transformers", "lark", "numpy")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)


def _loaded(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = _python(probe)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import atlas",
        "from atlas import AtlasError, NeuronId, __version__",
        "from atlas.cli import build_parser; build_parser()",
        "from atlas.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "from atlas.cli import main\nfor c in ('extract', 'query', 'corpus'):\n    try:\n        main([c, '--help'])\n"
        "    except SystemExit:\n        pass",
    ],
    ids=["import-atlas", "public-names", "build-parser", "atlas-help", "command-help"],
)
def test_startup_imports_nothing_heavy(code: str) -> None:
    heavy = _loaded(code)
    if "main([c," in code:  # a command's help reads its {default}s from the stage module, never torch
        heavy = [m for m in heavy if m in ("torch", "transformers")]
    assert heavy == [], f"{code!r} imported {heavy}"


def test_the_facade_loads_on_first_use() -> None:
    heavy = _loaded("import atlas\nassert atlas.Atlas is atlas.connect('sqlite://').__class__")
    assert "sqlalchemy" in heavy and "torch" not in heavy


def test_python_dash_m_atlas_help() -> None:
    done = subprocess.run([sys.executable, "-m", "atlas", "--help"], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert done.returncode == 0 and "examples:" in done.stdout


def test_public_surface() -> None:
    import atlas

    assert set(atlas.__all__) <= set(dir(atlas))
    assert atlas.__version__ == __import__("atlas._version", fromlist=["x"]).__version__
    with pytest.raises(AttributeError):
        atlas.no_such_name  # noqa: B018
