"""The analyst tables (ipgraph.tables) and ipgraph export --format xlsx|csv, on three sources that share entities."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner

from ipgraph import tables
from ipgraph.cli import main
from ipgraph.errors import ExportError
from ipgraph.store import execute, open_store

FIGURES_QUERY = """
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX ipg: <https://w3id.org/ipgraph/ontology#>
SELECT ?observation ?value ?quote WHERE {
  ?observation a qb:Observation ; sdmx-measure:obsValue ?value ; ipg:evidence/oa:hasTarget/oa:hasSelector ?s .
  ?s a oa:TextQuoteSelector ; oa:exact ?quote .
}"""


@pytest.fixture(scope="module")
def stores(three_built):
    return {kind: open_store(three_built, kind) for kind in ("memory", "oxigraph")}


@pytest.fixture(scope="module")
def figures(stores):
    return tables.rows(stores["oxigraph"], "figures")


def test_every_table_is_the_same_from_rdflib_and_oxigraph(stores):
    for name in tables.TABLES:
        memory, oxigraph = (tables.rows(stores[kind], name) for kind in ("memory", "oxigraph"))
        assert memory == oxigraph, name
        assert memory and all(list(row) == list(tables.TABLES[name].columns) for row in memory)


def test_figures_hold_every_observation_with_its_exact_value_and_whole_quote(stores, figures):
    expected = {
        row["observation"]: (row["value"], row["quote"])
        for row in execute(stores["oxigraph"], FIGURES_QUERY, limit=None).records()
    }
    assert len(expected) == 8
    assert {row["observation"]: (row["value"], row["quote"]) for row in figures} == expected
    assert len(figures) == len(expected)  # one row per observation


def test_figures_flag_conflicts_and_corroboration_across_sources(figures):
    granted = [r for r in figures if r["indicator_label"] == "patents granted" and r["area_label"] == "Jilin"]
    assert sorted((r["stated_value"], r["status"], r["source_count"]) for r in granted) == [
        ("12,000", "conflicting", 2),
        ("12,345", "conflicting", 2),
    ]
    c = next(r for r in granted if r["stated_value"] == "12,000")
    assert c["yoy_change_percent"] == 5 and c["kind"] == "flow" and c["unit"] == "patents"
    assert c["headline"] == "fixture-2025-06-02-c" and c["url"] == "https://example.org/fixture-2025-06-02-c"
    assert c["quote"] == "Jilin granted 12,000 patents in 2024, up 5 percent year on year"
    assert str(c["period_start"]) == "2024-01-01" and str(c["period_end"]) == "2024-12-31"
    stock = [r for r in figures if r["stated_value"] == "195,000"]
    assert {r["status"] for r in stock} == {"corroborated"} and len(stock) == 2
    disputes = next(r for r in figures if r["indicator"].endswith("patent-infringement-disputes-handled"))
    assert disputes["qualifier"] == "more than" and disputes["value"] == 320


def test_entities_list_every_label_and_alias_in_every_language(stores):
    entities = {row["entity"]: row for row in tables.rows(stores["oxigraph"], "entities")}
    jilin = entities["https://w3id.org/ipgraph/id/region/jilin"]
    assert jilin["class"] == "Province" and jilin["label"] == "Jilin" and jilin["label_zh"] == "吉林省"
    assert jilin["iso3166_code"] == "CN-JL"
    for alias in ("Jilin Province@en", "Jilin Sheng@en", "吉林省@zh", "Jilin Sheng Province@en"):
        assert alias in jilin["aliases"].split("; ")
    assert {row["class"] for row in entities.values()} >= {"Province", "Agency", "Industry", "Measure", "Source"}


def test_measures_and_quotes_name_their_source(stores):
    measures = tables.rows(stores["oxigraph"], "measures")
    zones = next(r for r in measures if r["label"] == "Jilin IP-favoured industrial zones")
    assert zones["region_label"] == "Jilin" and zones["measure_type_label"] == "industrial zone"
    assert "modern agriculture" in zones["industry_label"].split("; ")
    assert zones["url"].startswith("https://english.news.cn/")
    quotes = tables.rows(stores["oxigraph"], "quotes")
    assert len({q["annotation"] for q in quotes}) == len(quotes)
    assert all(q["quote"] and q["headline"] and isinstance(q["start"], int) for q in quotes)


def test_dataframe_has_the_table_columns(stores):
    frame = tables.dataframe(stores["oxigraph"], "figures")
    assert list(frame.columns) == list(tables.TABLES["figures"].columns)
    assert len(frame) == len(tables.rows(stores["oxigraph"], "figures"))


def test_export_xlsx_reads_back_with_full_quotes_and_exact_values(three_built, figures, tmp_path):
    out = tmp_path / "tables.xlsx"
    result = CliRunner().invoke(main, ["export", "--format", "xlsx", "--out", str(out), "--dataset", str(three_built)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == list(tables.TABLES)
    sheet = list(book["figures"].iter_rows(values_only=True))
    header, body = list(sheet[0]), sheet[1:]
    assert header == list(tables.TABLES["figures"].columns)
    assert len(body) == len(figures)
    by_observation = {row[header.index("observation")]: row for row in body}
    for figure in figures:
        row = by_observation[figure["observation"]]
        assert Decimal(str(row[header.index("value")])) == Decimal(str(figure["value"]))
        assert row[header.index("quote")] == figure["quote"]  # whole, never cut
        assert row[header.index("stated_value")] == figure["stated_value"]
    longest = max(figures, key=lambda f: len(f["quote"]))
    assert (
        len(longest["quote"]) > 100
        and by_observation[longest["observation"]][header.index("quote")] == longest["quote"]
    )
    # Same graph, same bytes.
    again = tmp_path / "again.xlsx"
    CliRunner().invoke(main, ["export", "--format", "xlsx", "--out", str(again), "--dataset", str(three_built)])
    assert again.read_bytes() == out.read_bytes()


def test_export_csv_one_file_per_table(three_built, figures, tmp_path):
    out = tmp_path / "csv"
    args = ["export", "--format", "csv", "--out", str(out), "--dataset", str(three_built)]
    result = CliRunner().invoke(main, [*args, "--table", "figures", "--table", "quotes"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["figures.csv", "quotes.csv"]
    rows = list(csv.DictReader(io.StringIO((out / "figures.csv").read_text(encoding="utf-8"), newline="")))
    assert {r["observation"]: (r["value"], r["quote"]) for r in rows} == {
        f["observation"]: (str(f["value"]), f["quote"]) for f in figures
    }
    single = tmp_path / "figures.csv"
    result = CliRunner().invoke(main, ["export", "--format", "csv", "--table", "figures", "--out", str(single),
                                       "--dataset", str(three_built)])  # fmt: skip
    assert result.exit_code == 0 and single.read_bytes() == (out / "figures.csv").read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "xlsx", "--out", "{tmp}/file.txt/t.xlsx"], "not a folder"),
        (["--format", "csv", "--out", "{tmp}/x", "--dataset", "{tmp}/missing.trig"], "file not found"),
        (["--format", "nt", "--table", "figures", "--out", "{tmp}/x.nt"], "--table is for --format xlsx or csv"),
        (["--format", "csv", "--table", "nothing", "--out", "{tmp}/x.csv"], "Invalid value for '--table'"),
    ],
)
def test_export_tables_bad_input_is_one_message_and_changes_nothing(three_built, tmp_path, extra, message):
    (tmp_path / "file.txt").write_text("keep", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    args = ["export", "--dataset", str(three_built), *[a.replace("{tmp}", str(tmp_path)) for a in extra]]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "file.txt").read_text(encoding="utf-8") == "keep"


def test_unknown_table_or_format_is_refused(stores, tmp_path):
    with pytest.raises(ExportError, match="unknown table"):
        tables.rows(stores["oxigraph"], "nothing")
    with pytest.raises(ExportError, match="unknown table format"):
        tables.write(stores["oxigraph"], "ods", tmp_path / "x.ods")
