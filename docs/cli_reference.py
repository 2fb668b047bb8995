"""Write docs/cli.md, the command-line reference, from the commands' own --help.

Run it with ``make docs``; tests/test_docs.py fails when docs/cli.md is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from ipgraph.cli import main

OUT = Path(__file__).resolve().parent / "cli.md"


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``group``, depth first in name order."""
    found = []
    for name in sorted(group.commands):
        path = (*prefix, name)
        found.append(path)
        command = group.commands[name]
        if isinstance(command, click.Group):
            found += commands(command, path)
    return found


def reference() -> str:
    """The whole reference, one section per command."""
    runner = CliRunner()
    parts = [
        "# Command-line reference\n\n",
        "Generated from `ipgraph --help` by `make docs` (docs/cli_reference.py); do not edit by hand.\n\n",
    ]
    for path in [(), *commands(main)]:
        name = " ".join(("ipgraph", *path))
        result = runner.invoke(main, [*path, "--help"], prog_name="ipgraph", terminal_width=100)
        parts.append(f"## {name}\n\n```\n{result.output.rstrip()}\n```\n\n")
    return "".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    OUT.write_text(reference(), encoding="utf-8")
    sys.stdout.write(f"Wrote {OUT}.\n")
