"""ipgraph extract / accept / eval-extract on the real corpus: the seed's every
figure, bad input, the review flow and the evaluation."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ipgraph.cli import main
from ipgraph.extract import draft_article, strip_html
from ipgraph.extract_eval import evaluate, split_of
from ipgraph.periods import parse_stated_number

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEED = "xinhua-2025-05-31-northeast-ip-protection"
NORTHEAST = {"jilin", "liaoning", "heilongjiang", "inner-mongolia"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def seed_draft():
    return draft_article(DATA / "sources" / f"{SEED}.txt", DATA)


def _area_members(draft, area: str) -> set[str]:
    groups = {g["id"]: set(g["members"]) for g in draft.document.get("region_groups", [])}
    return groups.get(area, {area})


def test_every_seed_figure_is_drafted_exactly(seed_draft):
    figures = {o["stated_value"]: o for o in seed_draft.document["observations"]}
    assert set(figures) == {"46,000", "195,000", "2.16 million"}
    expected = {
        "46,000": ("valid-invention-patents", "2024", 46000, "patents", None),
        "195,000": ("valid-invention-patents", "2025-04", 195000, "patents", 10.2),
        "2.16 million": ("valid-registered-trademarks", "2025-04", 2160000, "trademarks", 7.7),
    }
    for stated, (indicator, period, value, unit, change) in expected.items():
        item = figures[stated]
        assert item["indicator"] == indicator
        assert item["period"] == period
        assert item["figure"] == "stock"
        assert item["value"] == value
        assert parse_stated_number(item["stated_value"]) == Decimal(value)
        assert item["unit"] == unit
        assert item.get("yoy_change_percent") == change
        assert item.get("scope") is None
        # The area is the group of the four regions, as the curated file has it.
        assert _area_members(seed_draft, item["area"]) == NORTHEAST
        assert seed_draft.text.count(item["quote"]) == 1
        assert stated in item["quote"]
        assert 0 < item["confidence"] <= 1


def test_seed_figure_in_these_industries_counts_the_five_named_before(seed_draft):
    """ "the number of valid invention patents in these strategic emerging
    industries had reached 46,000": the five industries of the sentence before."""
    scopes = {o["stated_value"]: o.get("industry_scope") for o in seed_draft.document["observations"]}
    assert scopes == {
        "46,000": [
            "high-end-equipment-manufacturing",
            "new-generation-information-technology",
            "biomedicine",
            "new-materials",
            "modern-agriculture",
        ],
        "195,000": None,
        "2.16 million": None,
    }
    # "according to the China National Intellectual Property Administration (CNIPA)"
    assert {o["stated_value"]: o.get("reported_by") for o in seed_draft.document["observations"]}["46,000"] == "cnipa"


def test_seed_entities_and_measures(seed_draft):
    mentioned = {m["of"] for m in seed_draft.document["mentions"]}
    assert {f"region/{r}" for r in NORTHEAST} <= mentioned
    assert {"agency/cnipa", "city/harbin", "city/shenyang", "industry/biomedicine", "industry/robotics"} <= mentioned
    measures = {(m["implemented_in"], m["type"]) for m in seed_draft.document["measures"]}
    assert {("liaoning", "training-centre"), ("heilongjiang", "financing-policy"), ("jilin", "industrial-zone")} <= (
        measures
    )
    (person,) = seed_draft.document["people"]
    assert (person["label"], person["job_title"], person["works_for"]) == (
        "Yang Zhihong",
        "deputy head",
        "inner-mongolia-ip-agency",
    )
    for section in ("mentions", "measures", "observations", "region_groups", "people"):
        for item in seed_draft.document.get(section, []):
            assert seed_draft.text.count(item["quote"]) == 1, item


def test_agencies_the_registry_lacks_are_declared_with_their_place(tmp_path):
    """Courts, police, customs and IP protection centres that an article names
    are drafted as agencies of their place (or mentioned, where another source
    declares them); NIPA is CNIPA; "the provincial public security bureau" is
    the main region's."""
    article = tmp_path / "example-2021-05-01-jilin-centres.txt"
    article.write_text(
        "Jilin opens IP protection centres\n\n"
        "The NIPA approved China Intellectual Property Protection Centers in Jilin and Changchun. "
        "Jilin Customs seized 120 batches of goods. "
        "The Jilin Provincial Intellectual Property Office set up a cooperation mechanism with provincial courts "
        "and the provincial public security bureau.\n",
        "utf-8",
    )
    document = draft_article(article, DATA).document
    declared = {
        a["id"]: (a["jurisdiction"], article.read_text("utf-8").count(a["quote"])) for a in document["agencies"]
    }
    assert declared == {"jilin-customs": ("jilin", 1), "jilin-courts": ("jilin", 1), "jilin-police": ("jilin", 1)}
    # The two centres are declared by another source of the corpus: mentions of them.
    mentioned = {m["of"] for m in document["mentions"]}
    assert {"agency/cnipa", "agency/jilin-ip-protection-centre", "agency/changchun-ip-protection-centre"} <= mentioned
    measures = {(m["implemented_in"], m["type"]) for m in document["measures"]}
    assert ("jilin", "ip-protection-centre") in measures and ("changchun", "ip-protection-centre") in measures


def test_parts_of_a_figure_by_scope_and_by_their_own_indicator():
    """'360 patent infringement cases, including 316 ones in e-commerce, 5 in
    exhibitions and 39 in administrative adjudication': three parts in their
    scopes; 'among which 34,635 were invention patents' after patent
    applications: invention patent applications."""
    beijing = draft_article(DATA / "sources" / "cnipa-2021-04-30-beijing-ip-protection-2020.txt", DATA).document
    parts = {
        (o["value"], o.get("scope"))
        for o in beijing["observations"]
        if o["indicator"] == "patent-infringement-disputes-handled"
    }
    assert parts == {(360, None), (316, "e-commerce"), (5, "exhibitions"), (39, "administrative-adjudication")}
    wuhan = draft_article(DATA / "sources" / "cnipa-2021-04-29-wuhan-ip-white-paper.txt", DATA).document
    found = {o["stated_value"]: (o["indicator"], o.get("yoy_change_percent")) for o in wuhan["observations"]}
    assert found["93,950"] == ("patent-applications", 21.86)
    assert found["34,635"] == ("invention-patent-applications", 4.32)
    assert found["14,667"] == ("invention-patents-granted", 24.78)


def test_events_have_place_and_day():
    fujian = draft_article(DATA / "sources" / "cnipa-2021-04-28-fujian-ip-publicity-week.txt", DATA)
    events = {e["quote"]: e for e in fujian.document["events"]}
    week = next(e for quote, e in events.items() if "will launch the IP Publicity Week" in quote)
    assert (week["location"], week["start_date"]) == ("fujian", dt.date(2021, 4, 20))
    assert "seminar on IP" in events and events["seminar on IP"]["location"] == "fujian"
    for quote in events:
        assert fujian.text.count(quote) == 1


def test_cnipa_former_names_are_cnipa(tmp_path):
    article = tmp_path / "example-2021-01-01-sipo.txt"
    article.write_text(
        "The State Intellectual Property Office (SIPO) said Jilin had 9,100 valid invention patents "
        "by the end of 2020.\n",
        encoding="utf-8",
    )
    draft = draft_article(article, DATA)
    assert {m["of"] for m in draft.document["mentions"]} >= {"agency/cnipa", "region/jilin"}
    (figure,) = draft.document["observations"]
    assert (figure["indicator"], figure["area"], figure["period"], figure["value"]) == (
        "valid-invention-patents",
        "jilin",
        "2020",
        9100,
    )


def test_html_is_stripped_and_quotes_point_into_the_text(tmp_path):
    article = tmp_path / "example-2021-02-01-html.txt"
    article.write_text(
        "<html><head><title>Jilin</title><script>var x = 5;</script></head><body>"
        "<p>In 2020, Jilin granted <b>28,475</b> patents, up 42.45 percent year on year.</p></body></html>",
        encoding="utf-8",
    )
    draft = draft_article(article, DATA)
    assert "<" not in draft.text and "var x" not in draft.text
    (figure,) = draft.document["observations"]
    assert figure["value"] == 28475 and figure["yoy_change_percent"] == 42.45
    assert draft.text.count(figure["quote"]) == 1
    assert strip_html("<p>a &amp; b</p>") == "a & b"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x00\x01binary", "binary"),
        ("caf\xe9 au lait".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_articles_give_one_message_and_write_nothing(tmp_path, content, message):
    article = tmp_path / "bad.txt"
    article.write_bytes(content)
    result = run("extract", article, "--out", tmp_path / "draft.yaml", "--data", DATA)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "draft.yaml").exists()


def test_a_directory_or_a_huge_file_is_refused(tmp_path):
    result = run("extract", tmp_path, "--data", DATA)
    assert result.exit_code == 2 and "not a file" in result.output
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as stream:
        stream.truncate(9 * 1024 * 1024)
        stream.seek(0)
        stream.write(b"a")
    result = run("extract", huge, "--data", DATA)
    assert result.exit_code == 2 and "at most" in result.output


def test_no_relevant_content_gives_an_empty_draft_and_a_note(tmp_path):
    article = tmp_path / "weather.txt"
    article.write_text("It rained all day and the match was called off.\n", encoding="utf-8")
    out = tmp_path / "draft.yaml"
    result = run("extract", article, "--out", out, "--data", DATA)
    assert result.exit_code == 0
    assert "nothing to draft" in result.output
    assert yaml.safe_load(out.read_text(encoding="utf-8")) == {"source": "weather"}


def test_extract_never_writes_into_data_facts(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    out = data / "facts" / "draft.yaml"
    result = run("extract", data / "sources" / f"{SEED}.txt", "--out", out, "--data", data)
    assert result.exit_code == 2 and "not written into data/facts" in result.output
    assert not out.exists()


@pytest.fixture
def new_article(tmp_path):
    """A copy of data/ and a new article (the seed's text under a new slug) beside it."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    slug = "xinhua-2025-06-02-northeast-review"
    shutil.copy(DATA / "sources" / f"{SEED}.txt", tmp_path / f"{slug}.txt")
    meta = yaml.safe_load((DATA / "sources" / f"{SEED}.yaml").read_text(encoding="utf-8"))
    meta["date_published"] = dt.date(2025, 6, 2)
    (tmp_path / f"{slug}.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    return data, tmp_path / f"{slug}.txt", slug


def test_a_reviewed_draft_is_accepted_as_edited(new_article, tmp_path):
    data, article, slug = new_article
    draft = tmp_path / "review" / "draft.yaml"
    assert run("extract", article, "--out", draft, "--data", data).exit_code == 0
    assert (draft.with_suffix(".article.txt")).exists()
    document = yaml.safe_load(draft.read_text(encoding="utf-8"))
    removed = document["observations"].pop(0)  # the reviewer deletes one figure
    document["measures"][0]["label"] = "A label the reviewer wrote"
    draft.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = run("accept", draft, "--data", data)
    assert result.exit_code == 0, result.output
    accepted = data / "facts" / f"{slug}.yaml"
    stored = yaml.safe_load(accepted.read_text(encoding="utf-8"))
    assert "confidence" not in accepted.read_text(encoding="utf-8")
    assert stored["measures"][0]["label"] == "A label the reviewer wrote"
    assert removed["id"] not in {o["id"] for o in stored["observations"]}
    assert len(stored["observations"]) == len(document["observations"])
    assert (data / "sources" / f"{slug}.txt").read_text(encoding="utf-8") == article.read_text(encoding="utf-8")
    assert not draft.exists()
    build = run("build", "--data", data, "--out", tmp_path / "g.trig")
    assert build.exit_code == 0, build.output


def test_an_invalid_draft_is_refused_and_nothing_is_written(new_article, tmp_path):
    data, article, slug = new_article
    draft = tmp_path / "draft.yaml"
    assert run("extract", article, "--out", draft, "--data", data).exit_code == 0
    text = draft.read_text(encoding="utf-8")
    draft.write_text(text.replace("value: 195000", "value: 195001"), encoding="utf-8")
    result = run("accept", draft, "--data", data)
    assert result.exit_code == 2
    assert f"{draft}:" in result.output and "does not match the stated value" in result.output
    assert not (data / "facts" / f"{slug}.yaml").exists()
    assert not (data / "sources" / f"{slug}.txt").exists()
    broken = text.replace("observations:", "observations: [\n", 1)
    draft.write_text(broken, encoding="utf-8")
    result = run("accept", draft, "--data", data)
    assert result.exit_code == 2 and "malformed YAML" in result.output
    lines = broken.split("\n")
    opened = lines.index("observations: [")
    line = next(i for i in range(opened, len(lines)) if lines[i].startswith("- id:")) + 1
    assert f"{draft}:{line}:" in result.output
    assert not (data / "facts" / f"{slug}.yaml").exists()


def test_trig_draft(new_article, tmp_path):
    data, article, _ = new_article
    out = tmp_path / "draft.trig"
    result = run("extract", article, "--out", out, "--format", "trig", "--data", data)
    assert result.exit_code == 0, result.output
    from rdflib import Dataset

    dataset = Dataset()
    dataset.parse(out, format="trig")
    values = {str(o) for _, p, o, _ in dataset.quads() if str(p).endswith("statedValue")}
    assert {"46,000", "195,000", "2.16 million"} <= values


def test_split_is_fixed_and_the_seed_is_dev():
    assert split_of(SEED) == "dev"
    slugs = [p.stem for p in (DATA / "facts").glob("*.yaml")]
    assert slugs
    assert {split_of(slug) for slug in slugs} == {"dev", "test"}


def test_eval_on_dev_scores_figures_and_the_command_prints_them():
    report = evaluate(DATA, "dev")
    seed = report.articles[SEED]["figures"]
    assert (seed.tp, seed.predicted, seed.gold) == (3, 3, 3)
    total = report.total()
    assert total["figures"].precision >= 0.9
    assert total["regions"].recall >= 0.9
    result = run("eval-extract", "--split", "dev", "--data", DATA)
    assert result.exit_code == 0
    assert "figures" in result.output and "precision" in result.output
    assert f"{total['figures'].precision:.2f}" in result.output


CORPUS = sorted(path.stem for path in (DATA / "facts").glob("*.yaml"))


def test_the_corpus_is_found():
    assert len(CORPUS) >= 17


@pytest.mark.parametrize("slug", CORPUS)
def test_corpus_drafts_check_and_build_as_curated_facts(slug, tmp_path):
    """Every article's draft, in place of its curated file, loads, passes the
    key checks and builds (``--format trig`` runs the same checks as accept):
    declared agencies, events and parts of figures included."""
    out = tmp_path / "draft.trig"
    result = run("extract", DATA / "sources" / f"{slug}.txt", "--out", out, "--format", "trig", "--data", DATA)
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000
