"""Reconciliation and enrichment against a real local SPARQL server (`oxigraph
serve` loaded with tests/fixtures/wikidata/), and every way an endpoint can
fail, against a small server that misbehaves on purpose."""

from __future__ import annotations

import shutil
import socket
from decimal import Decimal
from pathlib import Path

import pyoxigraph
import pytest
from click.testing import CliRunner
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF, XSD

from conftest import unavailable
from ipgraph.build import build
from ipgraph.cli import main
from ipgraph.errors import LinkError
from ipgraph.layout import QUERIES
from ipgraph.link import SparqlClient, accept, enrich, evaluate, mapping_gold, reconcile, write_candidates
from ipgraph.mappings import LINKS_GRAPH, dataset_files, enrichment_graph
from ipgraph.namespaces import DCTERMS, IPG, IPGR, OWL, PROV, QB, SDMX_DIMENSION, SDMX_MEASURE, WD
from ipgraph.validate import load_dataset

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
WDT = "http://www.wikidata.org/prop/direct/"
P = "http://www.wikidata.org/prop/"
PS = "http://www.wikidata.org/prop/statement/"
#: Fixture populations of the four regions (values for testing, not facts).
FIXTURE_POPULATIONS = {"Q45208": 27462297, "Q43934": 43746323, "Q19206": 38312224, "Q41079": 24706321}
#: The seed's valid-invention-patents figures (of the group of the four regions).
SEED_FIGURES = ("northeast-sei-valid-invention-patents-2024", "northeast-valid-invention-patents-2025-04")


@pytest.fixture
def project(data_copy) -> Path:
    """A copy of the project, built: returns its build/ipgraph.trig."""
    out = data_copy / "build" / "ipgraph.trig"
    build(data_copy / "data", data_copy / "ontology", out)
    return out


def client(endpoint: str, **options) -> SparqlClient:
    return SparqlClient(endpoint, **{"timeout": 5.0, "retries": 1, "backoff": 0.01, **options})


# --- reconciliation ------------------------------------------------------------


def test_reconciliation_finds_each_region_from_its_label_alone(built, wikidata_endpoint):
    candidates = reconcile(built, "region", client(wikidata_endpoint), mappings_dir=ROOT / "data/mappings", relink=True)
    gold = mapping_gold(ROOT / "data/mappings", "region")
    assert len(gold) == 4
    precision, recall = evaluate(candidates, gold)
    print(f"\nreconcile --type region against the fixture: precision {precision:.2f}, recall {recall:.2f}")
    assert (precision, recall) == (1.0, 1.0)
    top = {c.subject: c for c in reversed(candidates)}
    assert top[IPGR["region/jilin"]].confidence == Decimal("1.0")
    assert top[IPGR["region/jilin"]].item_label == "Jilin"


def test_reconciliation_respects_the_type_and_reports_what_it_cannot_find(built, wikidata_endpoint):
    cities = reconcile(built, "city", client(wikidata_endpoint), mappings_dir=ROOT / "data/mappings", relink=True)
    assert {(c.subject, c.item) for c in cities} == {(IPGR["city/harbin"], WD.Q42956)}  # Shenyang: not in the fixture
    agencies = reconcile(built, "agency", client(wikidata_endpoint), mappings_dir=ROOT / "data/mappings", relink=True)
    assert {(c.subject, c.item, c.confidence) for c in agencies} == {(IPGR["agency/cnipa"], WD.Q985999, Decimal("0.9"))}
    precision, recall = evaluate(cities, mapping_gold(ROOT / "data/mappings", "city"))
    print(f"\nreconcile --type city: precision {precision:.2f}, recall {recall:.2f}")
    assert precision == recall == 1.0


def test_reconcile_then_accept_then_build_adds_the_link(data_copy, wikidata_endpoint):
    curated = data_copy / "data" / "mappings" / "wikidata.sssom.tsv"
    lines = curated.read_text(encoding="utf-8").splitlines(keepends=True)
    curated.write_text("".join(line for line in lines if not line.startswith("region:jilin\t")), encoding="utf-8")
    out = data_copy / "build" / "ipgraph.trig"
    build(data_copy / "data", data_copy / "ontology", out)
    candidates = reconcile(out, "region", client(wikidata_endpoint), mappings_dir=curated.parent)
    assert [(c.subject, c.item) for c in candidates] == [(IPGR["region/jilin"], WD.Q45208)]
    proposed = write_candidates(
        curated.parent / "proposed" / "wikidata-region.sssom.tsv", candidates, wikidata_endpoint
    )
    assert "semapv:LexicalMatching\t1.0" in proposed.read_text(encoding="utf-8")
    # Proposed links are not in the graph until accepted.
    build(data_copy / "data", data_copy / "ontology", out)
    assert (IPGR["region/jilin"], OWL.sameAs, WD.Q45208) not in load_dataset(out).graph(LINKS_GRAPH)
    accepted = accept(proposed, curated, ["region:jilin"], reviewer="a tester")
    assert [r["object_id"] for r in accepted] == ["wd:Q45208"]
    build(data_copy / "data", data_copy / "ontology", out)
    assert (IPGR["region/jilin"], OWL.sameAs, WD.Q45208) in load_dataset(out).graph(LINKS_GRAPH)
    with pytest.raises(LinkError, match="no candidate for region:jilin"):
        accept(proposed, curated, ["region:jilin"])


def test_the_cli_reconciles_and_prints_precision_and_recall(built, wikidata_endpoint, tmp_path):
    out = tmp_path / "proposed.sssom.tsv"
    result = CliRunner().invoke(
        main,
        [
            *("link", "reconcile", "--type", "region", "--all", "--no-cache", "--endpoint", wikidata_endpoint),
            *("--dataset", str(built), "--out", str(out), "--mappings", str(ROOT / "data/mappings")),
        ],
    )
    print(result.output)
    assert result.exit_code == 0, result.output
    assert "precision 1.00, recall 1.00" in result.output
    assert out.read_text(encoding="utf-8").count("semapv:LexicalMatching") == 4


# --- enrichment ----------------------------------------------------------------


def test_enrichment_adds_the_facts_of_linked_items_with_provenance(project, wikidata_endpoint):
    result = enrich(project, client(wikidata_endpoint))
    assert result.path == project.parent / "enrichment" / f"{result.path.stem}.trig"
    graph = load_dataset(result.path).graph(enrichment_graph(wikidata_endpoint))
    assert result.graph == enrichment_graph(wikidata_endpoint)

    def values(item: str, prop: str) -> set:
        return set(graph.objects(WD[item], URIRef(WDT + prop)))

    assert values("Q45208", "P300") == {Literal("CN-JL")}
    assert values("Q45208", "P442") == {Literal("220000")}
    assert values("Q19206", "P36") == {WD.Q42956}
    assert len(values("Q19206", "P625")) == 1
    assert values("Q985999", "P856") == {URIRef("https://english.cnipa.gov.cn/")}
    # The latest population only, with its date.
    assert values("Q19206", "P1082") == {Literal(38312224)}
    (statement,) = graph.objects(WD.Q19206, URIRef(P + "P1082"))
    assert graph.value(statement, URIRef("http://www.wikidata.org/prop/qualifier/P585")) == Literal(
        "2010-11-01T00:00:00Z", datatype=XSD.dateTime
    )
    # Provenance: the endpoint, each query, the time of retrieval.
    name = result.graph
    assert graph.value(name, DCTERMS.source) == URIRef(wikidata_endpoint)
    activities = list(graph.objects(name, PROV.wasGeneratedBy))
    assert len(activities) == 3
    for activity in activities:
        assert graph.value(activity, PROV.used) == URIRef(wikidata_endpoint)
        assert "VALUES ?item" in str(graph.value(activity, DCTERMS.description))
        assert graph.value(activity, PROV.endedAtTime).datatype == XSD.dateTime


def test_enriching_again_replaces_the_graph_and_the_cache_spares_the_endpoint(project, wikidata_endpoint, tmp_path):
    cache = tmp_path / "cache"
    first = enrich(project, client(wikidata_endpoint, cache_dir=cache))
    before = load_dataset(first.path)
    again = client(wikidata_endpoint, cache_dir=cache)
    second = enrich(project, again)
    assert again.requests == 0, "answers come from build/cache/"
    after = load_dataset(second.path)
    assert second.path == first.path
    assert len(after) == len(before) == first.triples
    assert len(set(after.graph(first.graph).objects(WD.Q19206, URIRef(WDT + "P1082")))) == 1


def test_the_per_capita_query_returns_numbers_on_both_stores(project, wikidata_endpoint):
    enrich(project, client(wikidata_endpoint))
    files = dataset_files(project)
    assert len(files) == 2
    query = (QUERIES / "federated" / "per-capita-invention-patents.rq").read_text(encoding="utf-8")
    population = sum(FIXTURE_POPULATIONS.values())

    dataset = Dataset(default_union=True)
    for path in files:
        dataset.parse(path, format="trig")
    rows = [row.asdict() for row in dataset.query(query)]
    store = pyoxigraph.Store()
    for path in files:
        store.load(path=str(path), format=pyoxigraph.RdfFormat.TRIG)
    oxi = list(store.query(query, use_default_graph_as_union=True))

    # The areas the fixture has populations for: the four regions (by their
    # owl:sameAs links) and the seed's group of all four.
    areas = {IPGR["region-group/northeast-china-and-inner-mongolia"]: population}
    for region, item in dataset.subject_objects(OWL.sameAs):
        if str(item).removeprefix(str(WD)) in FIXTURE_POPULATIONS:
            areas[region] = FIXTURE_POPULATIONS[str(item).removeprefix(str(WD))]
    # Every valid-invention-patents figure of those areas: the seed's two of
    # the group, and the corpus's of single regions.
    expected = {}
    for observation in dataset.subjects(IPG.indicator, IPGR["indicator/valid-invention-patents"]):
        area = dataset.value(observation, SDMX_DIMENSION.refArea)
        if area in areas and (observation, RDF.type, QB.Observation) in dataset:
            value = dataset.value(observation, SDMX_MEASURE.obsValue).toPython()
            expected[str(observation)] = (areas[area], Decimal(value * 10000) / areas[area])
    assert {IPGR[f"observation/{name}"] for name in SEED_FIGURES} <= set(map(URIRef, expected))
    assert len(rows) == len(oxi) == len(expected)
    for row in rows:
        wanted_population, wanted = expected[str(row["observation"])]
        assert int(row["population"]) == wanted_population
        assert round(Decimal(str(row["perTenThousand"])), 6) == round(wanted, 6)
    for solution in oxi:
        wanted_population, wanted = expected[solution["observation"].value]
        assert int(solution["population"].value) == wanted_population
        assert round(Decimal(solution["perTenThousand"].value), 6) == round(wanted, 6)
    print(f"\nvalid invention patents per 10,000 inhabitants (fixture populations): {rows}")


def test_the_service_query_runs_against_a_local_endpoint(project, wikidata_endpoint):
    text = (QUERIES / "federated" / "wikidata-population-service.rq").read_text(encoding="utf-8")
    assert "SERVICE <https://query.wikidata.org/sparql>" in text
    local = text.replace("https://query.wikidata.org/sparql", wikidata_endpoint)
    store = pyoxigraph.Store()
    store.load(path=str(project), format=pyoxigraph.RdfFormat.TRIG)
    try:
        rows = list(store.query(local, use_default_graph_as_union=True))
    except OSError as error:  # a pyoxigraph built without its HTTP client
        unavailable(f"pyoxigraph cannot run SERVICE here: {error}")
    populations = {s["item"].value.rsplit("/", 1)[1]: int(s["population"].value) for s in rows}
    assert populations["Q45208"] == FIXTURE_POPULATIONS["Q45208"]
    assert len({s["region"].value for s in rows}) == 4


def test_the_cli_enriches(project, wikidata_endpoint):
    result = CliRunner().invoke(
        main, ["link", "enrich", "--no-cache", "--endpoint", wikidata_endpoint, "--dataset", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert "about 7 items" in result.output  # the owl:sameAs links to Wikidata


# --- bad endpoints: a clear message, the old enrichment intact, exit 2 ---------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def enriched(project, wikidata_endpoint) -> tuple[Path, Path, bytes]:
    """A built project with an enrichment file already written: (dataset, file, its bytes)."""
    result = enrich(project, client(wikidata_endpoint))
    return project, result.path, result.path.read_bytes()


@pytest.mark.parametrize(
    ("path", "message", "requests"),
    [
        ("/429", "HTTP 429 Too Many Requests (2 tries)", 2),
        ("/500", "HTTP 500 Internal Server Error (2 tries)", 2),
        ("/slow", "timed out after 0.5 s (2 tries)", 2),
        ("/not-json", "malformed SPARQL results", 1),
        ("/no-bindings", "expected an object with head.vars and results.bindings", 1),
        ("/bad-term", "unknown value type 'weird'", 1),
        ("/bad-datatype", "datatype 'not an iri' is not a valid IRI", 1),
        ("/javascript-datatype", "datatype 'javascript:alert(1)' is not an http(s) IRI", 1),
        ("/bad-lang", "'en us' is not a language tag", 1),
        ("/empty-lang", "'' is not a language tag", 1),
        ("/javascript-iri", "IRI 'javascript:alert(1)' is not an http(s) IRI", 1),
        ("/quote-iri", "IRI 'http://example.org/\">' is not a valid IRI", 1),
        ("/bad-bnode", "'a b> .' is not a blank node label", 1),
        ("/number-value", "a value is not a string: 42", 1),
        ("/huge", "answered more than 64 MiB", 1),
    ],
)
def test_a_misbehaving_endpoint_gives_a_clear_error_and_changes_nothing(
    enriched, misbehaving_endpoint, path, message, requests
):
    dataset, existing, before = enriched
    base, requested = misbehaving_endpoint
    endpoint = base + path
    target = existing.parent / f"{existing.stem}-other.trig"
    shutil.copy(existing, target)
    with pytest.raises(LinkError, match=message.replace("(", r"\(").replace(")", r"\)")):
        enrich(dataset, client(endpoint, timeout=0.5), out_dir=existing.parent)
    assert requested == [path] * requests
    assert existing.read_bytes() == before
    assert target.read_bytes() == before
    # The same through the CLI: one message, exit code 2, no traceback.
    requested.clear()
    result = CliRunner().invoke(
        main,
        [
            *("link", "enrich", "--no-cache", "--retries", "0", "--timeout", "0.5"),
            *("--endpoint", endpoint, "--dataset", str(dataset)),
        ],
    )
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    assert existing.read_bytes() == before
    assert sorted(p.name for p in existing.parent.iterdir()) == sorted([existing.name, target.name])
    # serve still starts on the build and its enrichment.
    served = CliRunner().invoke(main, ["serve", "--store", "memory", "--dataset", str(dataset), "--get", "/"])
    assert served.exit_code == 0, served.output


def test_an_unreachable_endpoint_gives_a_clear_error(enriched):
    dataset, existing, before = enriched
    endpoint = f"http://127.0.0.1:{_closed_port()}/sparql"
    with pytest.raises(LinkError, match="cannot reach it"):
        reconcile(dataset, "region", client(endpoint), mappings_dir=ROOT / "data/mappings", relink=True)
    result = CliRunner().invoke(
        main, ["link", "enrich", "--no-cache", "--retries", "0", "--endpoint", endpoint, "--dataset", str(dataset)]
    )
    assert result.exit_code == 2
    assert f"Error: {endpoint}: cannot reach it" in result.output
    assert existing.read_bytes() == before


def test_a_malformed_answer_is_never_cached(project, misbehaving_endpoint, tmp_path):
    base, _ = misbehaving_endpoint
    with pytest.raises(LinkError):
        enrich(project, client(base + "/not-json", cache_dir=tmp_path / "cache"))
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_a_bad_endpoint_url_or_type_is_refused():
    with pytest.raises(LinkError, match="expected an http"):
        SparqlClient("query.wikidata.org/sparql")
    with pytest.raises(LinkError, match="unknown type 'river'"):
        reconcile("build/ipgraph.trig", "river", client("http://127.0.0.1:1/"))
