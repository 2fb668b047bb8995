"""Terminal tables (:mod:`ipgraph.terminal`): they fit the terminal's width
by wrapping, never by cutting, and ``--wide`` prints each row on one line.
Checked on the real CLI (``ipgraph query``, ``ipgraph stats``) at 80 and 200
columns: every character of every quote is in the output, and every line fits."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ipgraph.cli import main
from ipgraph.query import open_graph
from ipgraph.terminal import table, width_of, wrap

FACT = "measure:jilin-ip-favoured-industrial-zones"


def _column(output: str, name: str) -> str:
    """What column ``name`` of a table printed by :func:`table` holds, all
    rows one after the other, spaces left out (a wrapped cell's lines are
    put back together)."""
    lines = output.splitlines()
    rule_at = next(i for i, line in enumerate(lines) if line and set(line) <= {"-", " "})
    spans, start = [], None
    rule = lines[rule_at] + " "
    for position, char in enumerate(rule):
        if char == "-" and start is None:
            start = position
        elif char != "-" and start is not None:
            spans.append((start, position))
            start = None
    names = ["".join(line[a:b].strip() for line in lines[:rule_at]) for a, b in spans]
    column = spans[names.index(name)]
    parts = []
    for line in lines[rule_at + 1 :]:
        if line.startswith("("):
            break
        parts.append(line[column[0] : column[1]])
    return "".join(parts).replace(" ", "")


@pytest.mark.parametrize("columns", [80, 200])
def test_query_tables_fit_the_terminal_and_keep_every_character(three_built, columns):
    expected = [
        row.get("quote", "") for row in open_graph(three_built).query_named("fact-sources", fact=FACT).records()
    ]
    assert expected and max(len(quote) for quote in expected) > 80
    result = CliRunner().invoke(
        main,
        ["query", "fact-sources", "-p", f"fact={FACT}", "--dataset", str(three_built)],
        env={"COLUMNS": str(columns)},
    )
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert all(width_of(line) <= columns for line in result.output.splitlines())
    # the rows in the query's order, each quote whole
    assert _column(result.output, "quote") == "".join(quote.replace(" ", "") for quote in expected)


def test_wide_prints_each_row_on_one_line(three_built):
    result = CliRunner().invoke(
        main,
        ["query", "fact-sources", "-p", f"fact={FACT}", "--dataset", str(three_built), "--wide"],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    rows = open_graph(three_built).query_named("fact-sources", fact=FACT).records()
    lines = result.output.splitlines()
    assert len(lines) == 2 + len(rows) + 1  # header, rule, one line per row, the count
    assert max(width_of(line) for line in lines) > 80
    for row in rows:
        assert any(row["quote"] in line for line in lines)


@pytest.mark.parametrize("columns", [80, 200])
def test_stats_tables_fit_the_terminal(three_built, columns):
    result = CliRunner().invoke(
        main, ["stats", "overview", "--dataset", str(three_built)], env={"COLUMNS": str(columns)}
    )
    assert result.exit_code == 0, result.output
    assert "Degree centrality" in result.output and "Jilin" in result.output
    assert all(width_of(line) <= columns for line in result.output.splitlines())
    assert "…" not in result.output


def test_wrapping_counts_chinese_characters_as_two_columns_and_cuts_nothing():
    text = "吉林省知识产权局 and the China National Intellectual Property Administration"
    lines = wrap(text, 10)
    assert all(width_of(line) <= 10 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    printed = table(
        ["name", "zh"], [["Jilin", "吉林省"], ["a very long English name here", "国家知识产权局"]], width=24
    )
    assert all(width_of(line) <= 24 for line in printed.splitlines())
    assert "国家" in printed and "(2 rows)" in printed


def test_control_characters_are_escaped_in_cells():
    printed = table(["label"], [["Jilin\x1b[31m\u202e"]], width=40)
    assert "\x1b" not in printed and "\u202e" not in printed
    assert "\\x1b[31m" in printed
