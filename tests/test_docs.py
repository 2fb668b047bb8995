"""The documentation tells the truth: its examples run and print what it
says, and every CLI command has help with an example and is documented."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import click
import pytest

from ipgraph.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")


def test_readme_query_example_prints_what_it_says(built, monkeypatch):
    section = README.split("## A query", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    expected = section.split("prints\n\n```\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(built.parent.parent)
    (built.parent.parent / "build").mkdir(exist_ok=True)
    target = built.parent.parent / "build" / "ipgraph.trig"
    if not target.exists():
        os.symlink(built, target)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README
    assert output.getvalue() == expected


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
    return found


@pytest.mark.parametrize(("name", "command"), _commands(main), ids=[n for n, _ in _commands(main)])
def test_every_command_has_help_with_an_example_and_is_documented(name, command):
    assert command.help and len(command.help) > 40, name
    if not isinstance(command, click.Group):
        assert re.search(r"Example", command.help), f"{name} --help has no example"
    assert f"ipgraph {name}" in README, f"'ipgraph {name}' is not in README.md"


def test_the_cli_reference_is_generated_from_the_current_help():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "docs" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.reference()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == expected, "docs/cli.md is stale: run make docs"
    for path in module.commands(main):
        assert f"## ipgraph {' '.join(path)}\n" in expected
