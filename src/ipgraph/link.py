"""Link the graph to external open-data graphs: propose links by label
(reconcile), accept them after review, and fetch facts about linked entities
(enrich), from any SPARQL 1.1 endpoint (Wikidata's by default).

Nothing here runs unless a user asks (``ipgraph link ...``). Requests are
polite: a few batched queries, a User-Agent naming ipgraph, a timeout, retries
with backoff on 429/5xx, and a cache of answers under ``build/cache/sparql/``.
Every failure (unreachable, timeout, HTTP error, malformed answer) is a
:class:`~ipgraph.errors.LinkError` and leaves existing files as they were.

Example:
    >>> from ipgraph.link import SparqlClient
    >>> client = SparqlClient("http://127.0.0.1:7878/query")   # doctest: +SKIP
    >>> client.select("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")   # doctest: +SKIP
    [{'s': rdflib.term.URIRef('http://www.wikidata.org/entity/Q148')}]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx
import pyoxigraph
import yaml
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from ipgraph.build import check_writable, write_atomic
from ipgraph.errors import LinkError, OutputError
from ipgraph.mappings import (
    COLUMNS,
    ENRICHMENT_DIR,
    LINKS_GRAPH,
    endpoint_slug,
    enrichment_graph,
    load_mappings,
    read_sssom,
)
from ipgraph.namespaces import DCTERMS, IPG, OWL, PROV, RDF, RDFS, SKOS, WD, XSD, bind_prefixes
from ipgraph.validate import load_dataset

__all__ = [
    "ENTITY_TYPES",
    "WIKIDATA",
    "Candidate",
    "SparqlClient",
    "accept",
    "enrich",
    "evaluate",
    "mapping_gold",
    "reconcile",
    "write_candidates",
    "write_sssom",
]

#: The default endpoint: the Wikidata Query Service.
WIKIDATA = "https://query.wikidata.org/sparql"

WDT = "http://www.wikidata.org/prop/direct/"
P = "http://www.wikidata.org/prop/"
PS = "http://www.wikidata.org/prop/statement/"
PQ = "http://www.wikidata.org/prop/qualifier/"

_PREFIXES = f"""PREFIX wd: <{WD}>
PREFIX wdt: <{WDT}>
PREFIX p: <{P}>
PREFIX ps: <{PS}>
PREFIX pq: <{PQ}>
PREFIX rdfs: <{RDFS}>
PREFIX skos: <{SKOS}>
"""


@dataclass(frozen=True)
class EntityType:
    """A kind of ipgraph entity and the Wikidata classes its items have."""

    name: str
    classes: tuple[URIRef, ...]
    wikidata_classes: tuple[str, ...]


#: What ``reconcile --type`` accepts: our classes and the Wikidata classes
#: (P31) a candidate must have. Q1615742 province of China, Q57362
#: autonomous region of China, Q515 city, Q1637706 city with millions of
#: inhabitants, Q327333 government agency.
ENTITY_TYPES = {
    "region": EntityType("region", (IPG.Province, IPG.AutonomousRegion), ("Q1615742", "Q57362")),
    "city": EntityType("city", (IPG.City,), ("Q515", "Q1637706")),
    "agency": EntityType("agency", (IPG.Agency,), ("Q327333",)),
}

#: Score of a candidate by how its name matched: preferred label in English,
#: an English alias, the Chinese label.
_NAME_SCORES = {"label": Decimal("1.0"), "alt": Decimal("0.9"), "zh": Decimal("0.9")}


#: Bytes of one endpoint answer past which it is refused (a hostile or broken endpoint).
MAX_RESPONSE_BYTES = 64 << 20


def _user_agent() -> str:
    try:
        own = version("ipgraph")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        own = "0"
    return f"ipgraph/{own} (https://w3id.org/ipgraph; knowledge-graph linking) httpx/{httpx.__version__}"


# ---------------------------------------------------------------------------
# A polite SPARQL client
# ---------------------------------------------------------------------------


class SparqlClient:
    """SELECT queries against one SPARQL 1.1 endpoint, with retries and a cache.

    Parameters:
        endpoint: the query URL.
        timeout: seconds for one request.
        retries: further tries after a timeout, a refused connection or HTTP 429/5xx.
        backoff: seconds before the first retry, doubled each time (a
            ``Retry-After`` header wins, up to 60 s).
        cache_dir: where answers are kept by endpoint and query; None for no cache.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 1.0,
        cache_dir: str | Path | None = None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")) or _bad_url(endpoint):
            raise LinkError(f"expected an http(s) URL for the endpoint, got {endpoint!r}", field="endpoint")
        if not math.isfinite(timeout) or timeout <= 0:
            raise LinkError(f"expected a positive, finite number of seconds, got {timeout}", field="timeout")
        if retries < 0:
            raise LinkError(f"expected 0 or more retries, got {retries}", field="retries")
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.requests = 0

    def select(self, query: str) -> list[dict[str, Node]]:
        """Run a SELECT query; each row maps variable names to rdflib terms.

        Raises:
            LinkError: the endpoint is unreachable, times out, answers an HTTP
                error, or answers something that is not SPARQL JSON results.
        """
        cached = self._cache_path(query)
        if cached is not None and cached.is_file():
            return _parse_results(cached.read_text(encoding="utf-8"), f"{self.endpoint} (cached in {cached})")
        text = self._fetch(query)
        rows = _parse_results(text, self.endpoint)
        if cached is not None:
            write_atomic(cached, text.encode("utf-8"))
        return rows

    def _cache_path(self, query: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(f"{self.endpoint}\n{query}".encode()).hexdigest()
        return self.cache_dir / endpoint_slug(self.endpoint) / f"{key}.json"

    def _post(self, query: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
        """POST the query; the body is read up to :data:`MAX_RESPONSE_BYTES`."""
        with httpx.stream(
            "POST", self.endpoint, data={"query": query}, headers=headers, timeout=self.timeout, follow_redirects=True
        ) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise LinkError(
                        f"{self.endpoint} answered more than {MAX_RESPONSE_BYTES >> 20} MiB; nothing was changed"
                    )
                chunks.append(chunk)
        return response, b"".join(chunks)

    def _fetch(self, query: str) -> str:
        headers = {"Accept": "application/sparql-results+json", "User-Agent": _user_agent()}
        problem = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2**attempt
            try:
                self.requests += 1
                response, body = self._post(query, headers)
            except httpx.TimeoutException:
                problem = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as error:
                problem = f"cannot reach it ({error or type(error).__name__})"
            else:
                if response.status_code == 200:
                    try:
                        return body.decode("utf-8")
                    except UnicodeDecodeError as error:
                        raise LinkError(
                            f"malformed SPARQL results from {self.endpoint}: not UTF-8 (byte {error.start}); "
                            "nothing was changed"
                        ) from None
                problem = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                if response.status_code != 429 and response.status_code < 500:
                    text = body[:200].decode("utf-8", "replace")
                    raise LinkError(f"{self.endpoint} refused the query: {problem}: {text}")
                wait = _retry_after(response, wait)
            if attempt < self.retries:
                time.sleep(wait)
        tries = self.retries + 1
        raise LinkError(f"{self.endpoint}: {problem} ({tries} tr{'y' if tries == 1 else 'ies'}); nothing was changed")


def _bad_url(url: str) -> bool:
    """Whether ``url`` holds what no URL may: spaces, controls, quotes, angle brackets."""
    return any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or c in '<>"{}|\\^`' for c in url)


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 60.0) if value.isdigit() else default


def _parse_results(text: str, where: str) -> list[dict[str, Node]]:
    def fail(why: str) -> LinkError:
        return LinkError(f"malformed SPARQL results from {where}: {why}; nothing was changed")

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise fail(f"not JSON ({error.msg} at character {error.pos})") from None
    try:
        bindings = document["results"]["bindings"]
        names = document["head"]["vars"]
    except (KeyError, TypeError):
        raise fail("expected an object with head.vars and results.bindings") from None
    if not isinstance(bindings, list) or not isinstance(names, list):
        raise fail("results.bindings and head.vars must be lists")
    rows = []
    for binding in bindings:
        if not isinstance(binding, dict):
            raise fail(f"a binding is not an object: {binding!r}")
        row = {}
        for name, value in binding.items():
            row[name] = _term(value, fail)
        rows.append(row)
    return rows


def _iri(text, fail, what: str = "IRI") -> URIRef:
    """An absolute http(s) or urn IRI that Oxigraph accepts: an endpoint's
    answer becomes a file every loader reads, so nothing else may pass."""
    if not isinstance(text, str):
        raise fail(f"{what} is not a string: {text!r}")
    try:
        pyoxigraph.NamedNode(text)
    except ValueError as error:
        raise fail(f"{what} {text[:80]!r} is not a valid IRI ({error})") from None
    if not text.lower().startswith(("http://", "https://", "urn:")):
        raise fail(f"{what} {text[:80]!r} is not an http(s) IRI")
    return URIRef(text)


def _term(value, fail) -> Node:
    if not isinstance(value, dict) or "value" not in value or "type" not in value:
        raise fail(f"a value lacks 'type' or 'value': {value!r}")
    kind, text = value["type"], value["value"]
    if not isinstance(text, str):
        raise fail(f"a value is not a string: {text!r}")
    if kind == "uri":
        return _iri(text, fail)
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in value:
            lang = value["xml:lang"]
            try:
                pyoxigraph.Literal(text, language=lang)
            except (TypeError, ValueError):
                raise fail(f"{lang!r} is not a language tag") from None
            return Literal(text, lang=lang)
        if "datatype" in value:
            return Literal(text, datatype=_iri(value["datatype"], fail, "datatype"))
        return Literal(text)
    if kind == "bnode":
        if not text or not all(c.isascii() and (c.isalnum() or c in "_-") for c in text):
            raise fail(f"{text[:80]!r} is not a blank node label")
        return BNode(text)
    raise fail(f"unknown value type {kind!r}")


# ---------------------------------------------------------------------------
# SSSOM writing
# ---------------------------------------------------------------------------

#: The header of the SSSOM files ipgraph writes.
_CURIE_MAP = {
    "agency": "https://w3id.org/ipgraph/id/agency/",
    "city": "https://w3id.org/ipgraph/id/city/",
    "country": "https://w3id.org/ipgraph/id/country/",
    "region": "https://w3id.org/ipgraph/id/region/",
    "owl": str(OWL),
    "skos": str(SKOS),
    "semapv": "https://w3id.org/semapv/vocab/",
    "wd": str(WD),
}


def write_sssom(path: str | Path, metadata: dict, rows: Iterable[dict[str, str]]) -> None:
    """Write a SSSOM/TSV file: the ``#`` YAML header, then ``rows`` sorted by
    subject and object, with the columns any row uses. Atomic: a failure
    leaves the old file."""
    rows = sorted(rows, key=lambda r: (r["subject_id"], r["predicate_id"], r["object_id"]))
    required = COLUMNS[:6]
    used = [c for c in COLUMNS if c in required or any(r.get(c) for r in rows)]
    header = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000)
    lines = ["#" + line for line in header.split("\n") if line]
    lines.append("\t".join(used))
    for row in rows:
        lines.append("\t".join(_tsv_cell(str(row.get(c, ""))) for c in used))
    write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))


def _tsv_cell(value: str) -> str:
    """A cell of a TSV row: a tab, a line break or any other control character
    (an endpoint's label may hold them; read_sssom refuses them) becomes a space."""
    return "".join(" " if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in value)


def _curie(iri: URIRef) -> str:
    for prefix, base in _CURIE_MAP.items():
        if str(iri).startswith(base):
            return f"{prefix}:{str(iri)[len(base) :]}"
    raise LinkError(f"no CURIE prefix for {iri}")


# ---------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A proposed link: our entity, a Wikidata item, and why."""

    subject: URIRef
    subject_label: str
    item: URIRef
    item_label: str
    confidence: Decimal
    matched: str

    def row(self, endpoint: str, today: str) -> dict[str, str]:
        """This candidate as a SSSOM row (lexical matching, score as confidence)."""
        return {
            "subject_id": _curie(self.subject),
            "subject_label": self.subject_label,
            "predicate_id": "owl:sameAs",
            "object_id": _curie(self.item),
            "object_label": self.item_label,
            "mapping_justification": "semapv:LexicalMatching",
            "confidence": str(self.confidence),
            "mapping_date": today,
            "mapping_tool": "ipgraph link reconcile",
            "comment": f"matched {self.matched} at {endpoint}",
        }


def _entities(dataset: Dataset, entity_type: EntityType) -> dict[URIRef, dict[str, list[str]]]:
    """Our entities of a type, with their English label, English aliases and Chinese labels."""
    names: dict[URIRef, dict[str, list[str]]] = {}
    for cls in entity_type.classes:
        for subject, _, _, _ in dataset.quads((None, RDF.type, cls, None)):
            if not isinstance(subject, URIRef):
                continue
            entry = names.setdefault(subject, {"label": [], "alt": [], "zh": []})
            for _, _, label, _ in dataset.quads((subject, RDFS.label, None, None)):
                if getattr(label, "language", None) == "en" and str(label) not in entry["label"]:
                    entry["label"].append(str(label))
            for _, _, alt, _ in dataset.quads((subject, SKOS.altLabel, None, None)):
                key = "zh" if getattr(alt, "language", None) == "zh" else "alt"
                if str(alt) not in entry[key]:
                    entry[key].append(str(alt))
    return names


def reconcile(
    dataset_path: str | Path,
    entity_type: str,
    client: SparqlClient,
    *,
    mappings_dir: str | Path = "data/mappings",
    relink: bool = False,
    batch_size: int = 50,
) -> list[Candidate]:
    """Propose Wikidata items for our entities of ``entity_type`` that have no
    Wikidata link yet (all of them with ``relink``), by exact label match in
    English or Chinese, restricted to the Wikidata classes of the type.

    Returns the candidates, best first for each entity; writes nothing.

    Raises:
        LinkError: an unknown type, or the endpoint failed.
    """
    if entity_type not in ENTITY_TYPES:
        raise LinkError(f"unknown type {entity_type!r}; expected one of {', '.join(ENTITY_TYPES)}", field="--type")
    kind = ENTITY_TYPES[entity_type]
    dataset = load_dataset(dataset_path)
    linked = {m.subject for m in load_mappings(mappings_dir) if m.target == "wd"}
    entities = {s: n for s, n in _entities(dataset, kind).items() if relink or s not in linked}
    by_name: dict[tuple[str, str], list[tuple[URIRef, str]]] = {}
    for subject, names in entities.items():
        for how, values in names.items():
            for value in values:
                by_name.setdefault((value, "zh" if how == "zh" else "en"), []).append((subject, how))
    best: dict[tuple[URIRef, URIRef], Candidate] = {}
    keys = sorted(by_name)
    for start in range(0, len(keys), batch_size):
        batch = keys[start : start + batch_size]
        for row in client.select(_reconcile_query(batch, kind)):
            name, item = row.get("name"), row.get("item")
            if not isinstance(item, URIRef) or not isinstance(name, Literal):
                raise LinkError(f"malformed SPARQL results from {client.endpoint}: a row lacks ?name or ?item")
            label = str(row.get("itemLabel") or name)
            for subject, how in by_name.get((str(name), name.language or "en"), []):
                # Our name and theirs: a label matched by an alias scores less.
                score = min(_NAME_SCORES[how], _NAME_SCORES["alt" if str(row.get("field")) == "alt" else "label"])
                candidate = Candidate(
                    subject=subject,
                    subject_label=entities[subject]["label"][0] if entities[subject]["label"] else "",
                    item=item,
                    item_label=label,
                    confidence=score,
                    matched=f"{name.n3()}",
                )
                previous = best.get((subject, item))
                if previous is None or previous.confidence < score:
                    best[(subject, item)] = candidate
    return sorted(best.values(), key=lambda c: (str(c.subject), -c.confidence, str(c.item)))


def _reconcile_query(names: list[tuple[str, str]], kind: EntityType) -> str:
    values = " ".join(Literal(text, lang=lang).n3() for text, lang in names)
    classes = " ".join(f"wd:{q}" for q in kind.wikidata_classes)
    return (
        f"{_PREFIXES}# ipgraph link reconcile: items of {kind.name} classes named by one of the labels\n"
        "SELECT DISTINCT ?name ?item ?itemLabel ?field WHERE {\n"
        f"  VALUES ?name {{ {values} }}\n"
        f"  VALUES ?class {{ {classes} }}\n"
        '  { ?item rdfs:label ?name BIND("label" AS ?field) }\n'
        '  UNION { ?item skos:altLabel ?name BIND("alt" AS ?field) }\n'
        "  ?item wdt:P31 ?class .\n"
        '  OPTIONAL { ?item rdfs:label ?itemLabel FILTER(LANG(?itemLabel) = "en") }\n'
        "}\nORDER BY ?item ?name"
    )


def evaluate(candidates: list[Candidate], gold: dict[URIRef, URIRef]) -> tuple[float, float]:
    """Precision and recall of the top candidate of each entity against ``gold``
    (entity to the item a person confirmed), over the entities in ``gold``."""
    top: dict[URIRef, URIRef] = {}
    for candidate in candidates:
        top.setdefault(candidate.subject, candidate.item)
    proposed = {s: i for s, i in top.items() if s in gold}
    correct = sum(1 for s, i in proposed.items() if gold[s] == i)
    precision = correct / len(proposed) if proposed else 0.0
    recall = correct / len(gold) if gold else 0.0
    return precision, recall


def write_candidates(path: str | Path, candidates: list[Candidate], endpoint: str) -> Path:
    """Write candidates to a SSSOM file for review (not read by the build)."""
    today = dt.date.today().isoformat()
    metadata = {
        "curie_map": _CURIE_MAP,
        "mapping_set_id": f"https://w3id.org/ipgraph/mappings/proposed/{Path(path).name}",
        "mapping_set_description": (
            f"Candidate links proposed by `ipgraph link reconcile` against {endpoint}, for review. "
            "Nothing here enters the graph until accepted with `ipgraph link accept`."
        ),
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
    }
    write_sssom(path, metadata, [c.row(endpoint, today) for c in candidates])
    return Path(path)


# ---------------------------------------------------------------------------
# Accepting reviewed candidates
# ---------------------------------------------------------------------------


def accept(
    proposed: str | Path,
    into: str | Path,
    subjects: Iterable[str] = (),
    *,
    all_top: bool = False,
    min_confidence: Decimal = Decimal("0"),
    reviewer: str = "",
) -> list[dict[str, str]]:
    """Move the best candidate of each chosen subject (CURIEs, or every subject
    with ``all_top``) from ``proposed`` into the curated file ``into``.

    Raises:
        LinkError: a subject has no candidate, or already has a Wikidata link in ``into``.
        MappingError: either file is malformed.
    """
    if not min_confidence.is_finite() or not 0 <= min_confidence <= 1:
        raise LinkError(f"expected a minimum confidence from 0 to 1, got {min_confidence}", field="min_confidence")
    proposed_set = read_sssom(proposed)
    wanted = set(subjects)
    tops: dict[str, dict[str, str]] = {}
    for mapping in sorted(proposed_set.mappings, key=lambda m: -(m.confidence or 0)):
        tops.setdefault(mapping.subject_id, dict(mapping.values))
    chosen = sorted(tops) if all_top else sorted(wanted)
    missing = [s for s in chosen if s not in tops]
    if missing:
        raise LinkError(f"no candidate for {', '.join(missing)} in {proposed}")
    chosen = [s for s in chosen if Decimal(tops[s].get("confidence") or 0) >= min_confidence]
    into = Path(into)
    if into.is_file():
        target = read_sssom(into)
        metadata, rows = target.metadata, [dict(m.values) for m in target.mappings]
    else:
        metadata, rows = {"curie_map": _CURIE_MAP}, []
    linked = {r["subject_id"]: r["object_id"] for r in rows if r["predicate_id"] in ("owl:sameAs", "skos:exactMatch")}
    accepted = []
    for subject in chosen:
        row = tops[subject]
        if subject in linked and linked[subject].split(":")[0] == row["object_id"].split(":")[0]:
            raise LinkError(f"{subject} already has a link into {linked[subject].split(':')[0]!r} in {into}", path=into)
        row = {**row, "reviewer_label": reviewer, "mapping_date": dt.date.today().isoformat()}
        accepted.append(row)
    metadata = {**metadata, "curie_map": {**_CURIE_MAP, **metadata.get("curie_map", {})}}
    write_sssom(into, metadata, rows + accepted)
    done = {r["subject_id"] for r in accepted}
    remaining = [dict(m.values) for m in proposed_set.mappings if m.subject_id not in done]
    write_sssom(proposed, proposed_set.metadata, remaining)
    return accepted


# ---------------------------------------------------------------------------
# Enrichment
# ---------------------------------------------------------------------------

_ENRICH_PLACES = """SELECT ?item ?adminCode ?iso ?coord ?capital WHERE {{
  VALUES ?item {{ {items} }}
  OPTIONAL {{ ?item wdt:P442 ?adminCode }}
  OPTIONAL {{ ?item wdt:P300 ?iso }}
  OPTIONAL {{ ?item wdt:P625 ?coord }}
  OPTIONAL {{ ?item wdt:P36 ?capital }}
}}"""
_ENRICH_POPULATION = """SELECT ?item ?statement ?population ?date WHERE {{
  VALUES ?item {{ {items} }}
  ?item p:P1082 ?statement .
  ?statement ps:P1082 ?population .
  OPTIONAL {{ ?statement pq:P585 ?date }}
}}"""
_ENRICH_AGENCIES = """SELECT ?item ?website ?parent WHERE {{
  VALUES ?item {{ {items} }}
  OPTIONAL {{ ?item wdt:P856 ?website }}
  OPTIONAL {{ ?item wdt:P749 ?parent }}
}}"""
#: Variable of each query -> the Wikidata property it fills.
_PROPERTIES = {
    "adminCode": "P442",
    "iso": "P300",
    "coord": "P625",
    "capital": "P36",
    "website": "P856",
    "parent": "P749",
}


@dataclass(frozen=True)
class EnrichResult:
    """What an enrichment wrote: the file, its graph, and how much."""

    path: Path
    graph: URIRef
    items: int
    triples: int
    requests: int


def enrich(
    dataset_path: str | Path,
    client: SparqlClient,
    *,
    out_dir: str | Path | None = None,
    batch_size: int = 50,
    now: dt.datetime | None = None,
) -> EnrichResult:
    """Fetch, for each Wikidata item our entities are ``owl:sameAs``, the
    administrative division code, ISO 3166-2 code, coordinates, capital and
    latest population (with its date) of places, and the website and parent
    organisation of agencies; write them as one named graph per endpoint to
    ``<out_dir>/<endpoint-slug>.trig`` (default: ``enrichment/`` beside the
    dataset), replacing the previous one.

    The graph records its provenance: the endpoint, each query and the time
    of retrieval (``prov:wasGeneratedBy`` activities).

    Raises:
        LinkError: the dataset has no Wikidata links, or the endpoint failed
            (the previous enrichment file is then left as it was).
    """
    dataset = load_dataset(dataset_path)
    out_dir = Path(out_dir) if out_dir is not None else Path(dataset_path).parent / ENRICHMENT_DIR
    try:  # before any request: an output that cannot be written is known now
        check_writable(out_dir / f"{endpoint_slug(client.endpoint)}.trig")
    except OutputError as error:
        raise LinkError(error.message, path=error.path) from None
    links = dataset.graph(LINKS_GRAPH)
    items = sorted(
        {o for o in links.objects(None, OWL.sameAs) if isinstance(o, URIRef) and str(o).startswith(str(WD))}, key=str
    )
    if not items:
        raise LinkError(f"no owl:sameAs links to Wikidata in {dataset_path}; run 'ipgraph build' with data/mappings")
    name = enrichment_graph(client.endpoint)
    graph = Graph(identifier=name)
    activities = []
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        values = " ".join(i.n3() for i in batch)
        for template in (_ENRICH_PLACES, _ENRICH_POPULATION, _ENRICH_AGENCIES):
            query = _PREFIXES + template.format(items=values)
            started = now or dt.datetime.now(dt.UTC)
            rows = client.select(query)
            ended = now or dt.datetime.now(dt.UTC)
            activities.append((query, started, ended))
            if template is _ENRICH_POPULATION:
                _add_latest_population(graph, rows, client.endpoint)
            else:
                _add_values(graph, rows, client.endpoint)
    _add_provenance(graph, client.endpoint, activities)
    dataset_out = bind_prefixes(Dataset())
    for prefix, base in {"wdt": WDT, "p": P, "ps": PS, "pq": PQ, "wds": str(WD) + "statement/"}.items():
        dataset_out.bind(prefix, base)
    dataset_out.graph(name).__iadd__(graph)
    path = out_dir / f"{endpoint_slug(client.endpoint)}.trig"
    try:
        write_atomic(path, dataset_out.serialize(format="trig").encode("utf-8"), rdf_format="trig", quads=len(graph))
    except OutputError as error:
        raise LinkError(f"{error.message}; the previous enrichment file is left as it was", path=path) from None
    return EnrichResult(path=path, graph=name, items=len(items), triples=len(graph), requests=client.requests)


def _item(row: dict[str, Node], endpoint: str) -> URIRef:
    item = row.get("item")
    if not isinstance(item, URIRef):
        raise LinkError(f"malformed SPARQL results from {endpoint}: a row lacks ?item; nothing was changed")
    return item


def _add_values(graph: Graph, rows: list[dict[str, Node]], endpoint: str) -> None:
    for row in rows:
        item = _item(row, endpoint)
        for variable, prop in _PROPERTIES.items():
            if variable in row:
                graph.add((item, URIRef(WDT + prop), row[variable]))


def _add_latest_population(graph: Graph, rows: list[dict[str, Node]], endpoint: str) -> None:
    """Keep, for each item, the population statement with the latest date."""
    latest: dict[URIRef, dict[str, Node]] = {}
    for row in rows:
        item = _item(row, endpoint)
        if not isinstance(row.get("population"), Literal):
            raise LinkError(f"malformed SPARQL results from {endpoint}: a population is not a literal")
        date = str(row.get("date", ""))
        if item not in latest or date > str(latest[item].get("date", "")):
            latest[item] = row
    for item, row in latest.items():
        statement = row.get("statement")
        if not isinstance(statement, URIRef):
            statement = URIRef(f"{item}/P1082")
        graph.add((item, URIRef(WDT + "P1082"), row["population"]))
        graph.add((item, URIRef(P + "P1082"), statement))
        graph.add((statement, URIRef(PS + "P1082"), row["population"]))
        if "date" in row:
            graph.add((statement, URIRef(PQ + "P585"), row["date"]))


def _add_provenance(graph: Graph, endpoint: str, activities: list[tuple[str, dt.datetime, dt.datetime]]) -> None:
    name = graph.identifier
    source = URIRef(endpoint)
    graph.add((name, RDF.type, PROV.Entity))
    graph.add((name, DCTERMS.source, source))
    graph.add((name, RDFS.label, Literal(f"facts fetched from {endpoint}", lang="en")))
    graph.add((name, PROV.generatedAtTime, Literal(max(e for _, _, e in activities), datatype=XSD.dateTime)))
    for number, (query, started, ended) in enumerate(activities, start=1):
        activity = URIRef(f"{name}/query/{number}")
        graph.add((name, PROV.wasGeneratedBy, activity))
        graph.add((activity, RDF.type, PROV.Activity))
        graph.add((activity, PROV.used, source))
        graph.add((activity, DCTERMS.description, Literal(query)))
        graph.add((activity, PROV.startedAtTime, Literal(started, datatype=XSD.dateTime)))
        graph.add((activity, PROV.endedAtTime, Literal(ended, datatype=XSD.dateTime)))


def mapping_gold(mappings_dir: str | Path, entity_type: str | None = None) -> dict[URIRef, URIRef]:
    """Curated Wikidata identity links (subject to item), of one entity type
    if given: the answer key for :func:`evaluate`."""
    segment = f"/id/{entity_type}/" if entity_type else "/id/"
    return {
        m.subject: m.object
        for m in load_mappings(mappings_dir)
        if m.target == "wd"
        and m.predicate_id == "owl:sameAs"
        and m.justification == "semapv:ManualMappingCuration"
        and segment in str(m.subject)
    }
