"""Bad input: each mistake gets one clear message naming file, line and field,
exits with 2 through the CLI, and changes nothing on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipgraph.cli import main
from ipgraph.errors import FactsError, QuoteError, SourceError
from ipgraph.facts import load_facts, parse_stated_number

SOURCE = "xinhua-2025-05-31-northeast-ip-protection"
FACTS = f"data/facts/{SOURCE}.yaml"


def edit(root: Path, relative: str, old: str, new: str, count: int = 1) -> int:
    """Replace ``old`` by ``new`` in a file of the copy; return the 1-based line of the change."""
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def run_build(root: Path):
    out = root / "build" / "ipgraph.trig"
    args = ["build", "--data", root / "data", "--ontology", root / "ontology", "--out", out]
    return CliRunner().invoke(main, [str(a) for a in args]), out


CASES = [
    # (id, file, old, new, expected message, line offset from the edit or None for no line)
    ("malformed-yaml", FACTS, "region_groups:\n", "region_groups: [\n", "malformed YAML", 1),
    ("unknown-field", FACTS, "    value: 46000\n", "    value: 46000\n    colour: red\n", "unknown field 'colour'", 1),
    ("quote-not-in-source", FACTS, "had reached 46,000,", "had reached 47,000,", "quote not found verbatim", 0),
    ("value-is-text", FACTS, "value: 195000", "value: a lot", "expected a number, got 'a lot'", 0),
    ("value-is-negative", FACTS, "value: 195000", "value: -195000", "expected a number of zero or more", 0),
    ("value-not-as-stated", FACTS, "value: 2160000", "value: 2160", "does not match the stated value", 0),
    (
        "unknown-region",
        FACTS,
        "implemented_in: jilin",
        "implemented_in: atlantis",
        "unknown region or region group or city or country 'atlantis'",
        0,
    ),
    ("unknown-unit", FACTS, "unit: trademarks", "unit: trademark", "unknown unit 'trademark' (closest: trademarks", 0),
    (
        "unknown-indicator",
        FACTS,
        "indicator: valid-registered-trademarks\n",
        "indicator: registered-trademarks\n",
        "data/vocab/indicators.yaml",
        0,
    ),
    (
        "unknown-mentioned-entity",
        FACTS,
        "of: city/shenyang",
        "of: city/shenyng",
        "unknown city 'shenyng' (closest: shenyang",
        0,
    ),
    ("unknown-entity-kind", FACTS, "of: city/shenyang", "of: town/shenyang", "expected 'kind/id' with kind one of", 0),
    (
        "registry-record-without-provenance",
        "data/registry/agencies.yaml",
        "    jurisdiction: jilin\n    provenance: [xinhua-2025-05-31-northeast-ip-protection]\n",
        "    jurisdiction: jilin\n",
        "a registry record needs its provenance",
        -2,
    ),
    (
        "unknown-provenance",
        "data/registry/agencies.yaml",
        "    jurisdiction: jilin\n    provenance: [xinhua-2025-05-31-northeast-ip-protection]\n",
        "    jurisdiction: jilin\n    provenance: [some-book]\n",
        "unknown provenance 'some-book'",
        -2,
    ),
    (
        "redeclared-registry-id",
        FACTS,
        "organizations:\n",
        "cities:\n  - id: harbin\n    label: Harbin\n    in: heilongjiang\n    quote: Harbin, capital\n"
        "organizations:\n",
        "is already declared at",
        1,
    ),
    (
        "flow-without-start",
        FACTS,
        'figure: stock\n    period: "2025-04"',
        "figure: flow\n    period: {end: 2025-04}",
        "a flow figure needs a start",
        1,
    ),
    (
        "period-start-after-end",
        FACTS,
        'period: "2025-04"',
        "period: {start: 2025-06, end: 2025-04}",
        "the period starts (2025-06-01) after it ends (2025-04-30)",
        0,
    ),
    (
        "same-key-twice-in-one-source",
        FACTS,
        "indicator: valid-registered-trademarks\n    value: 2160000\n    stated_value: 2.16 million\n",
        "indicator: valid-invention-patents\n    value: 2160000\n    stated_value: 2.16 million\n",
        "this source already states the figure valid-invention-patents/region-group/",
        None,
    ),
    (
        "alias-names-two-entities",
        FACTS,
        "    of: region/liaoning\n",
        "    of: region/liaoning\n    alt_labels: [Jilin Province]\n",
        "the name 'Jilin Province' names two entities: region/jilin",
        None,
    ),
    (
        "qualifier-not-in-quote",
        FACTS,
        "    stated_value: 195,000\n",
        "    stated_value: 195,000\n    qualifier: more-than\n",
        "none of the words of 'more-than'",
        1,
    ),
    ("unknown-industry", FACTS, "industries: [biology,", "industries: [biologie,", "unknown industry 'biologie'", 0),
    ("duplicate-id", FACTS, "  - id: shenyang\n", "  - id: harbin\n", "duplicate id 'harbin'", 0),
    ("date-not-a-date", FACTS, "occurring_on: 2025-05-19", "occurring_on: 2025-05-32", "not a valid date", 0),
    ("date-is-text", FACTS, "occurring_on: 2025-05-19", "occurring_on: May 19", "expected a date (YYYY-MM-DD)", 0),
    ("period-not-a-period", FACTS, 'period: "2025-04"', 'period: "April 2025"', "expected a period", 0),
    ("missing-quote", FACTS, "    quote: the four provincial-level regions\n", "", "missing field 'quote'", None),
    (
        "missing-source",
        FACTS,
        f"source: {SOURCE}",
        "source: no-such-article",
        "source text of 'no-such-article' not found",
        None,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "message", "offset", "relative"), [c[2:] + c[1:2] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_facts_give_one_clear_message_and_write_nothing(data_copy, relative, old, new, message, offset):
    line = edit(data_copy, relative, old, new)
    result, out = run_build(data_copy)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    if offset is not None:
        assert f"{relative.rsplit('/', 1)[1]}:{line + offset}: " in result.output
    assert not out.exists()
    assert not out.parent.exists()


def test_source_text_not_utf8(data_copy):
    path = data_copy / "data" / "sources" / f"{SOURCE}.txt"
    path.write_bytes(path.read_bytes().replace(b"Jilin", "J\xefl\xefn".encode("latin-1"), 1))
    result, out = run_build(data_copy)
    assert result.exit_code == 2
    assert f"{SOURCE}.txt: not UTF-8 text (byte " in result.output
    assert not out.exists()


def test_metadata_with_bad_date(data_copy):
    edit(data_copy, f"data/sources/{SOURCE}.yaml", "date_published: 2025-05-31", "date_published: yesterday")
    with pytest.raises(SourceError, match="expected a date") as caught:
        load_facts(data_copy / "data")
    assert caught.value.line == 5
    assert caught.value.field == "date_published"


def test_ambiguous_quote_asks_for_more_words(data_copy):
    edit(data_copy, FACTS, "quote: patent applications in biology", "quote: new materials")
    with pytest.raises(QuoteError, match="appears 2 times"):
        load_facts(data_copy / "data")


def test_quote_with_other_white_space_gets_a_hint(data_copy):
    edit(data_copy, FACTS, "quote: the four provincial-level regions", "quote: the four  provincial-level regions")
    with pytest.raises(QuoteError, match="different white space"):
        load_facts(data_copy / "data")


def test_a_quote_not_found_names_the_closest_passage_and_the_first_difference(data_copy):
    edit(data_copy, FACTS, "quote: the four provincial-level regions\n", "quote: the four provincial level regions\n")
    with pytest.raises(QuoteError) as caught:
        load_facts(data_copy / "data")
    message = str(caught.value)
    assert "the closest passage is 'the four provincial-level regions'" in message
    assert "differs at character 20 of the quote (' ' in the quote, '-' in the source)" in message


def test_errors_name_file_line_and_field(data_copy):
    line = edit(data_copy, FACTS, "value: 195000", "value: '195000'")
    with pytest.raises(FactsError) as caught:
        load_facts(data_copy / "data")
    error = caught.value
    assert (error.path.name, error.line, error.field) == (f"{SOURCE}.yaml", line, "observations.value")
    assert str(error).endswith("observations.value: expected a number, got '195000'")


def test_a_failed_build_through_the_cli_keeps_the_old_file(data_copy):
    result, out = run_build(data_copy)
    assert result.exit_code == 0, result.output
    before = out.read_bytes()
    edit(data_copy, FACTS, "value: 195000", "value: 195001")
    result, _ = run_build(data_copy)
    assert result.exit_code == 2
    assert out.read_bytes() == before


def test_no_traceback_from_the_installed_command(data_copy):
    edit(data_copy, FACTS, "region_groups:\n", "region_groups: [\n")
    process = subprocess.run(
        [sys.executable, "-m", "ipgraph", "build", "--data", data_copy / "data", "--out", data_copy / "x.trig"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.returncode == 2
    assert process.stderr.startswith("Error: ")
    assert "Traceback" not in process.stderr


@pytest.mark.parametrize(
    ("text", "number"),
    [("46,000", 46000), ("195,000", 195000), ("2.16 million", 2160000), ("7", 7), ("1.5 billion", 1500000000)],
)
def test_stated_numbers_read_exactly(text, number):
    assert parse_stated_number(text) == number


@pytest.mark.parametrize("text", ["46.000,0", "about 5", "2.16 millions", "-3", "1,00"])
def test_unreadable_stated_numbers(text):
    assert parse_stated_number(text) is None
