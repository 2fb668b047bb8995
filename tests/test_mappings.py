"""The SSSOM mappings (data/mappings/) and the links graph the build makes of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import URIRef

from ipgraph.build import build
from ipgraph.cli import main
from ipgraph.errors import FactsError, MappingError
from ipgraph.mappings import LINKS_GRAPH, dataset_files, endpoint_slug, load_mappings, read_sssom
from ipgraph.namespaces import IPGR, OWL, SKOS, WD

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "data" / "mappings"
GN = "https://sws.geonames.org/"

#: Every curated link, as checked by hand (see docs/linking.md).
EXPECTED = {
    ("country/china", OWL.sameAs, WD.Q148),
    ("region/jilin", OWL.sameAs, WD.Q45208),
    ("region/liaoning", OWL.sameAs, WD.Q43934),
    ("region/heilongjiang", OWL.sameAs, WD.Q19206),
    ("region/inner-mongolia", OWL.sameAs, WD.Q41079),
    ("city/harbin", OWL.sameAs, WD.Q42956),
    ("agency/cnipa", OWL.sameAs, WD.Q985999),
    ("industry/robotics", SKOS.exactMatch, WD.Q170978),
    ("industry/new-generation-information-technology", SKOS.broadMatch, WD.Q11661),
    ("industry/modern-agriculture", SKOS.broadMatch, WD.Q11451),
    ("country/china", OWL.sameAs, URIRef(GN + "1814991/")),
    ("city/harbin", OWL.sameAs, URIRef(GN + "2037013/")),
    ("city/shenyang", OWL.sameAs, URIRef(GN + "2034937/")),
}


def test_the_built_links_graph_holds_exactly_the_curated_links(dataset):
    links = dataset.graph(LINKS_GRAPH)
    assert {(s, p, o) for s, p, o in links} == {(IPGR[s], p, o) for s, p, o in EXPECTED}


def test_every_linked_subject_is_an_entity_or_concept_of_the_facts(dataset, union):
    for subject in set(dataset.graph(LINKS_GRAPH).subjects()):
        assert list(union.objects(subject, None)), subject


def test_the_mapping_files_are_sssom_with_a_curie_map_and_a_justification():
    files = sorted(MAPPINGS.glob("*.sssom.tsv"))
    assert [f.name for f in files] == ["geonames.sssom.tsv", "wikidata.sssom.tsv"]
    for path in files:
        mapping_set = read_sssom(path)
        assert {"owl", "skos", "semapv"} <= set(mapping_set.curie_map)
        assert mapping_set.mappings
        for mapping in mapping_set.mappings:
            assert mapping.justification == "semapv:ManualMappingCuration"
            assert mapping.values["comment"], "each curated link says how it was checked"


# --- bad mapping files: a clear message, with file, line and column ----------


def _break(root: Path, old: str, new: str) -> Path:
    path = root / "data" / "mappings" / "wikidata.sssom.tsv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("old", "new", "column", "message"),
    [
        ("wd:Q45208", "wd:45208", "object_id", "malformed CURIE 'wd:45208'"),
        ("wd:Q45208", "Q45208", "object_id", "malformed CURIE 'Q45208'"),
        ("region:jilin\t", "region:jilni\t", "subject_id", "unknown subject 'region:jilni'"),
        ("region:jilin\t", "regio:jilin\t", "subject_id", "prefix 'regio' of 'regio:jilin' is not in the curie_map"),
    ],
)
def test_a_bad_row_names_its_file_line_and_column(data_copy, old, new, column, message):
    path = _break(data_copy, old, new)
    with pytest.raises(MappingError) as caught:
        build(data_copy / "data", data_copy / "ontology", data_copy / "build" / "ipgraph.trig")
    error = caught.value
    assert isinstance(error, FactsError)
    assert error.path == path
    assert error.line == _line_of(path, new)
    assert error.field == column
    assert message in error.message


def test_a_second_identity_link_into_the_same_target_is_refused(data_copy):
    path = data_copy / "data" / "mappings" / "wikidata.sssom.tsv"
    row = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("region:jilin\t"))
    with path.open("a", encoding="utf-8") as stream:
        stream.write(row.replace("wd:Q45208", "wd:Q43934") + "\n")
    with pytest.raises(MappingError) as caught:
        load_mappings(path.parent)
    assert caught.value.line == len(path.read_text(encoding="utf-8").splitlines())
    assert caught.value.field == "object_id"
    assert "region:jilin already has an identity link into 'wd'" in caught.value.message


def test_a_concept_cannot_be_owl_same_as_a_wikidata_item(data_copy):
    path = _break(data_copy, "industry:robotics\trobotics\tskos:exactMatch", "industry:robotics\trobotics\towl:sameAs")
    with pytest.raises(MappingError, match="a concept takes one of") as caught:
        load_mappings(path.parent)
    assert caught.value.field == "predicate_id"


def test_a_lexical_match_needs_its_confidence(data_copy):
    path = _break(
        data_copy, "wd:Q45208\tJilin\tsemapv:ManualMappingCuration", "wd:Q45208\tJilin\tsemapv:LexicalMatching"
    )
    with pytest.raises(MappingError, match="needs its score as confidence"):
        load_mappings(path.parent)


def test_a_file_without_header_is_refused(tmp_path):
    path = tmp_path / "x.sssom.tsv"
    path.write_text("subject_id\tpredicate_id\n", encoding="utf-8")
    with pytest.raises(MappingError, match="no '#'-commented YAML header") as caught:
        read_sssom(path)
    assert caught.value.line == 1


def test_the_cli_reports_a_malformed_curie_in_one_line_and_keeps_the_old_dataset(data_copy):
    out = data_copy / "build" / "ipgraph.trig"
    build(data_copy / "data", data_copy / "ontology", out)
    before = out.read_bytes()
    path = _break(data_copy, "wd:Q45208", "wd:Q45208x")
    result = CliRunner().invoke(
        main, ["build", "--data", str(data_copy / "data"), "--ontology", str(data_copy / "ontology"), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert f"{path}:{_line_of(path, 'wd:Q45208x')}: object_id: malformed CURIE 'wd:Q45208x'" in result.output
    assert "Traceback" not in result.output
    assert out.read_bytes() == before


def test_no_mapping_files_means_an_empty_links_graph(data_copy):
    for path in (data_copy / "data" / "mappings").glob("*.sssom.tsv"):
        path.unlink()
    result = build(data_copy / "data", data_copy / "ontology", data_copy / "build" / "ipgraph.trig")
    assert "graph:links" not in result.graphs


# --- where enrichment lives ----------------------------------------------------


def test_dataset_files_are_the_build_then_each_enrichment_file(tmp_path):
    dataset = tmp_path / "ipgraph.trig"
    assert dataset_files(dataset) == [dataset]
    (tmp_path / "enrichment").mkdir()
    for name in ("b.trig", "a.trig", "notes.txt"):
        (tmp_path / "enrichment" / name).write_text("")
    assert dataset_files(dataset) == [dataset, tmp_path / "enrichment" / "a.trig", tmp_path / "enrichment" / "b.trig"]


def test_an_endpoint_slug_is_its_host_and_port():
    assert endpoint_slug("https://query.wikidata.org/sparql") == "query-wikidata-org"
    assert endpoint_slug("http://127.0.0.1:7878/query") == "127-0-0-1-7878"
