"""A remote SPARQL 1.1 triplestore as the store: Oxigraph server, Virtuoso,
GraphDB, Stardog, Neptune, QLever, ... (see ``docs/stores.md``).

- **Queries** go to the query endpoint by the SPARQL 1.1 Protocol (POST,
  form-encoded, with ``default-graph-uri``/``named-graph-uri`` for a
  protocol dataset), after the guard has read them
  (:func:`ipgraph.store.execute`). The text sent is the guard's canonical
  text, with the project's prefixes declared in front (those the query does
  not declare itself), its base IRI, and the parameters as a ``VALUES``
  block at the start of the query's outer ``WHERE`` group: terms written
  by Oxigraph's N-Triples serialiser, never text from the caller. A function
  call outside the XPath and XSD namespaces (Virtuoso's ``bif:`` and ``sql:``
  functions, for instance, reach the server's files) is refused. The store
  must answer the union of its named graphs as the default graph (Oxigraph:
  ``--union-default-graph``; Virtuoso does so by default).
- **Projections** page through a SELECT (:meth:`SparqlStore.select_pages`):
  the query as a subquery, ``ORDER BY`` every variable, ``LIMIT``/``OFFSET``;
  no request asks for more than a page (stores cap result sizes: Virtuoso's
  ``ResultSetMaxRows``).
- **Loading** (:func:`ipgraph.store.sync.sync`): each changed graph is put
  into a temporary graph by the Graph Store HTTP Protocol (``PUT``), then one
  SPARQL Update moves it over the graph and records its digest in the
  state graph (:data:`STATE_GRAPH`), so that a reader sees the old graph or
  the new one, never half of one. Without a Graph Store endpoint, one update
  drops the graph and inserts the new triples (one transaction on stores that
  run an update request as one). A failure names the endpoint and the graph;
  the graph keeps its previous content.
- **Credentials**: ``user`` and ``password`` answer a 401 with HTTP Basic or
  Digest authentication, as the server's challenge asks (Virtuoso's
  ``/sparql-auth`` asks for Digest).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx
import pyoxigraph as ox

from ipgraph.errors import QueryError, QueryRefused, QueryTimeout, StoreError
from ipgraph.namespaces import PREFIXES
from ipgraph.store.base import UNION, QueryDataset, Result, Store, _select_result
from ipgraph.store.guard import CheckedQuery, _nodes, check_query
from ipgraph.store.sync import DEFAULT, GraphTarget

__all__ = ["STATE_GRAPH", "RemoteConfig", "SparqlStore", "with_values"]

#: The named graph where a remote store records the digest of each graph it holds.
STATE_GRAPH = "https://w3id.org/ipgraph/id/graph/store-state"
_DIGEST = ox.NamedNode("https://w3id.org/ipgraph/ontology#contentDigest")
#: Rows per page when a projection pages through a remote store.
PAGE = 10_000
#: Namespaces of the functions a query sent to a remote store may call (besides SPARQL's own).
_FUNCTIONS = ("http://www.w3.org/2001/XMLSchema#", "http://www.w3.org/2005/xpath-functions")
_JSON = "application/sparql-results+json"
_NTRIPLES = "application/n-triples"


@dataclass(frozen=True)
class RemoteConfig:
    """Where a remote store answers, and how to log in.

    ``endpoint`` answers queries; ``update_endpoint`` SPARQL Update (default:
    ``endpoint``); ``gsp_endpoint`` the Graph Store HTTP Protocol (without
    it, graphs are loaded by Update alone). ``timeout`` bounds every request.
    """

    endpoint: str
    update_endpoint: str | None = None
    gsp_endpoint: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log or a traceback
    timeout: float = 60.0

    def __post_init__(self) -> None:
        for name in ("endpoint", "update_endpoint", "gsp_endpoint"):
            url = getattr(self, name)
            if url is None:
                continue
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s<>\"{}|\\^`]", url):
                raise StoreError(f"the {name.replace('_', ' ')} must be an http(s) URL, not {url!r}")
        if (self.user is None) != (self.password is None):
            raise StoreError("a user needs a password (--password-file) and a password a user (--user)")


class _ChallengeAuth(httpx.Auth):
    """Basic or Digest, whichever the server's 401 asks for; then kept for
    later requests (Basic sent at once, Digest reusing the challenge)."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.chosen: httpx.Auth | None = None

    def auth_flow(self, request: httpx.Request):
        if self.chosen is not None:
            yield from self.chosen.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        scheme = response.headers.get("www-authenticate", "").split(" ", 1)[0].lower()
        self.chosen = (
            httpx.DigestAuth(self.user, self.password)
            if scheme == "digest"
            else httpx.BasicAuth(self.user, self.password)
        )
        flow = self.chosen.auth_flow(request)
        retry = next(flow)
        if scheme == "digest":
            retry = flow.send(response)
        yield retry


class SparqlStore(Store, GraphTarget):
    """A remote SPARQL 1.1 store (see the module's documentation). Its length
    counts the quads of the graphs ipgraph loaded (a store may hold others:
    Virtuoso's own system graphs, for one)."""

    kind = "sparql"

    def __init__(self, config: RemoteConfig) -> None:
        self.config = config
        self.endpoint = config.endpoint
        self.update_endpoint = config.update_endpoint or config.endpoint
        self.gsp_endpoint = config.gsp_endpoint
        auth = _ChallengeAuth(config.user, config.password) if config.user is not None else None
        self.client = httpx.Client(auth=auth, timeout=config.timeout, follow_redirects=False, trust_env=False)
        self.last_sync = None

    def __repr__(self) -> str:
        return f"SparqlStore({self.endpoint!r})"

    def load(self, *paths) -> SparqlStore:
        """Bring the remote store in step with ``paths``, graph by graph (:func:`ipgraph.store.sync.sync`)."""
        from ipgraph.store.sync import sync

        self.last_sync = sync(self, paths)
        return self

    def start_workers(self) -> None:
        """Nothing to start: the remote store runs the queries."""

    # -- HTTP ------------------------------------------------------------------

    def _request(self, method: str, url: str, what: str, **kwargs) -> httpx.Response:
        """One request; a failure as one :class:`StoreError` naming the URL and ``what`` was asked."""
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise QueryTimeout(
                f"the SPARQL store at {url} did not answer {what} within {self.config.timeout:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise StoreError(
                f"cannot reach the SPARQL store at {url} ({what}): {error or type(error).__name__}"
            ) from None
        if response.status_code >= 400:
            detail = " ".join(response.text.split())[:300]
            error_type = QueryError if response.status_code in (400, 406) and "query" in what else StoreError
            raise error_type(f"the SPARQL store at {url} refused {what}: HTTP {response.status_code} {detail}")
        return response

    def _select(self, text: str, what: str) -> list[tuple]:
        response = self._request("POST", self.endpoint, what, data={"query": text}, headers={"Accept": _JSON})
        return _select_result(response.content, ox.QueryResultsFormat.JSON, None).rows

    def _update(self, text: str, what: str) -> None:
        self._request(
            "POST",
            self.update_endpoint,
            what,
            content=text.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update"},
        )

    # -- queries ---------------------------------------------------------------

    def __len__(self) -> int:
        rows = self._select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{STATE_GRAPH}> {{ ?g {_DIGEST} ?d }} GRAPH ?g {{ ?s ?p ?o }} }}",
            "a count of the quads",
        )
        return int(rows[0][0].value) if rows and rows[0][0] is not None else 0

    def _evaluate(self, query: CheckedQuery, bindings, out, limit, dataset: QueryDataset = UNION) -> None:
        self.run_query(query, bindings, out, dataset)

    def run_query(
        self,
        query: CheckedQuery,
        bindings: dict,
        out: io.RawIOBase,
        dataset: QueryDataset = UNION,
        *,
        timeout: float | None = None,
        text: str | None = None,
        recheck: bool = True,
    ) -> None:
        """Send ``query`` (or ``text``, a rewriting of it) and stream the answer
        into ``out`` after its payload-format line; ``timeout`` seconds for the
        answer (default: the store's). ``recheck=False`` skips reading the sent
        text with the guard again (for a page whose text differs from a checked
        one only in its ``OFFSET`` number)."""
        timeout = timeout or self.config.timeout
        _check_functions(query)
        graph = query.form in ("CONSTRUCT", "DESCRIBE")
        sent = remote_text(text or query.text, bindings, dataset.base)
        if recheck:
            check_query(sent, query.services, dataset.base)  # what is sent is what the guard allows
        form: list[tuple[str, str]] = [("query", sent)]
        form += [("default-graph-uri", iri) for iri in dataset.default_graphs]
        form += [("named-graph-uri", iri) for iri in dataset.named_graphs]
        try:
            with self.client.stream(
                "POST",
                self.endpoint,
                timeout=timeout,
                content=urlencode(form).encode("ascii"),
                headers={
                    "Accept": _NTRIPLES if graph else _JSON,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            ) as response:
                if response.status_code >= 400:
                    detail = " ".join(response.read().decode("utf-8", "replace").split())[:300]
                    raise QueryError(
                        f"the SPARQL store at {self.endpoint} refused the query: HTTP {response.status_code} {detail}"
                    )
                out.write(b"nt\n" if graph else b"json\n")
                for chunk in response.iter_bytes():
                    out.write(chunk)
        except httpx.TimeoutException:
            raise QueryTimeout(
                f"the query ran longer than {timeout:g} s on the SPARQL store at {self.endpoint} and was stopped "
                "(raise it with --timeout)"
            ) from None
        except httpx.HTTPError as error:
            raise StoreError(
                f"cannot reach the SPARQL store at {self.endpoint}: {error or type(error).__name__}"
            ) from None

    def select_pages(self, query: CheckedQuery, page: int = PAGE) -> Iterator[Result]:
        """The rows of a SELECT, a page at a time: the query as a subquery,
        ordered by every variable, cut by ``LIMIT``/``OFFSET``."""
        variables = [str(v) for v in query.prepared.algebra.get("PV") or ()]
        prologue, body = _split_prologue(query.text)
        if query.form != "SELECT" or query.dataset is not None or not variables:
            buffer = io.BytesIO()
            self.run_query(query, {}, buffer)
            yield _decode_json(buffer.getvalue())
            return
        order = " ".join(f"?{name}" for name in variables)
        offset = 0
        while True:
            text = f"{prologue}SELECT * WHERE {{\n{body}\n}}\nORDER BY {order}\nLIMIT {page} OFFSET {offset}"
            buffer = io.BytesIO()
            self.run_query(query, {}, buffer, text=text, recheck=offset == 0)
            result = _decode_json(buffer.getvalue())
            yield result
            if len(result.rows) < page:
                return
            offset += page

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """The quads of named graph ``graph``, or of every named graph one graph at a time."""
        graphs = [graph] if graph is not None else sorted(self._graphs())
        for name in graphs:
            iri = ox.NamedNode(name)
            response = self._request(
                "POST",
                self.endpoint,
                f"the triples of graph <{name}>",
                data={"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {iri} {{ ?s ?p ?o }} }}"},
                headers={"Accept": _NTRIPLES},
            )
            for triple in ox.parse(response.content, ox.RdfFormat.N_TRIPLES):
                yield ox.Quad(triple.subject, triple.predicate, triple.object, iri)

    def _graphs(self) -> list[str]:
        rows = self._select(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH <{STATE_GRAPH}> {{ ?g {_DIGEST} ?d }} }}", "the list of graphs"
        )
        return [row[0].value for row in rows if isinstance(row[0], ox.NamedNode)]

    # -- GraphTarget: what sync() calls ----------------------------------------

    def graph_state(self) -> dict[str, str]:
        rows = self._select(
            f"SELECT ?g ?d WHERE {{ GRAPH <{STATE_GRAPH}> {{ ?g {_DIGEST} ?d }} }}", "the digests of its graphs"
        )
        state = {}
        for graph, digest in rows:
            if isinstance(graph, ox.NamedNode) and isinstance(digest, ox.Literal):
                state[DEFAULT if graph.value == STATE_GRAPH + "#default" else graph.value] = digest.value
        return state

    def begin_sync(self, changing: list[str]) -> None:
        """Nothing to do: each graph and its digest change together, in one update."""

    def _digest_update(self, graph: str, digest: str | None) -> str:
        node = ox.NamedNode(STATE_GRAPH + "#default" if graph == DEFAULT else graph)
        update = f"DELETE WHERE {{ GRAPH <{STATE_GRAPH}> {{ {node} {_DIGEST} ?d }} }}"
        if digest is not None:
            update += f" ;\nINSERT DATA {{ GRAPH <{STATE_GRAPH}> {{ {node} {_DIGEST} {ox.Literal(digest)} }} }}"
        return update

    def put_graph(self, graph: str, quads: list[ox.Quad], digest: str) -> None:
        target = "DEFAULT" if graph == DEFAULT else f"GRAPH {ox.NamedNode(graph)}"
        label = "the default graph" if graph == DEFAULT else f"graph <{graph}>"
        data = ox.serialize([quad.triple for quad in quads], format=ox.RdfFormat.N_TRIPLES) or b""
        what = f"loading {label}"
        if self.gsp_endpoint is not None:
            temporary = f"{STATE_GRAPH}/loading/{hashlib.sha256(graph.encode()).hexdigest()[:32]}"
            self._request(
                "PUT",
                self.gsp_endpoint,
                what,
                params={"graph": temporary},
                content=data,
                headers={"Content-Type": "text/turtle; charset=utf-8"},  # N-Triples is Turtle
            )
            self._update(
                f"MOVE SILENT GRAPH <{temporary}> TO {target} ;\n{self._digest_update(graph, digest)}",
                f"{what} (moving it in from <{temporary}>)",
            )
        else:
            inner = data.decode("utf-8")
            insert = (
                f"INSERT DATA {{ {target.replace('DEFAULT', '')} {{\n{inner}}} }}"
                if graph != DEFAULT
                else (f"INSERT DATA {{\n{inner}}}")
            )
            drop = "DROP SILENT DEFAULT" if graph == DEFAULT else f"DROP SILENT {target}"
            self._update(f"{drop} ;\n{insert} ;\n{self._digest_update(graph, digest)}", what)

    def drop_graph(self, graph: str) -> None:
        target = "DEFAULT" if graph == DEFAULT else f"GRAPH {ox.NamedNode(graph)}"
        label = "the default graph" if graph == DEFAULT else f"graph <{graph}>"
        self._update(f"DROP SILENT {target} ;\n{self._digest_update(graph, None)}", f"dropping {label}")

    def finish_sync(self, digests: dict[str, str]) -> None:
        """Nothing to do: each digest was recorded with its graph."""


def _decode_json(payload: bytes) -> Result:
    body = payload.partition(b"\n")[2]
    return _select_result(body, ox.QueryResultsFormat.JSON, None)


def _check_functions(query: CheckedQuery) -> None:
    """Refuse calls to functions outside the XSD and XPath namespaces: a
    remote store's own (Virtuoso's ``bif:``, ``sql:``) may read files or run SQL."""
    for node in _nodes(query.prepared.algebra):
        if node.name == "Function":
            iri = str(node.get("iri", ""))
            if not iri.startswith(_FUNCTIONS):
                raise QueryRefused(
                    f"the function <{iri}> is not allowed on a remote store (only XSD casts and XPath functions)"
                )


# --- the text sent: prefixes, base, parameters ---------------------------------

_PROLOGUE = re.compile(
    r"(?:\s+|#[^\n]*(?:\n|$)|(?i:PREFIX)\s*[A-Za-z][\w.-]*:\s*<[^<>\"{}|^`\\\x00-\x20]*>|(?i:PREFIX)\s*:\s*<[^<>]*>"
    r"|(?i:BASE)\s*<[^<>\"{}|^`\\\x00-\x20]*>)*"
)
_DECLARED = re.compile(r"(?i:PREFIX)\s*([A-Za-z][\w.-]*)?:")
_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_STRING = re.compile(r"'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"", re.S)
_NAME = re.compile(r"[\w.:%-]*[\w:%-]|[\w]", re.UNICODE)
_VARIABLE = re.compile(r"\w+", re.UNICODE)


def _split_prologue(text: str) -> tuple[str, str]:
    """The query's prologue (PREFIX and BASE declarations, comments) and the rest."""
    end = _PROLOGUE.match(text).end()
    return text[:end], text[end:]


def remote_text(text: str, bindings: dict, base: str | None = None) -> str:
    """The text sent to a remote store: the project's prefixes the query does
    not declare, the base IRI, then the query with its parameters bound (:func:`with_values`)."""
    declared = {match[1] or "" for match in _DECLARED.finditer(_split_prologue(text)[0])}
    head = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items() if name not in declared)
    if base is not None:
        head = f"BASE {ox.NamedNode(base)}\n" + head
    return head + with_values(text, bindings)


def with_values(text: str, bindings: dict) -> str:
    r"""``text`` with ``bindings`` bound as Oxigraph's substitutions bind them:
    each parameter variable inside the outer ``WHERE`` group is replaced by
    its term, and a ``VALUES`` block opening that group binds the variable
    for the ``SELECT`` clause. Terms are written by Oxigraph's N-Triples
    serialiser; variables are found by a scan that skips strings, IRIs and
    comments (the result is read by the guard again before it is sent).

    Example:
        >>> with_values("SELECT ?x WHERE { ?x ?p ?o }", {"p": ox.NamedNode("urn:p")})
        'SELECT ?x WHERE { VALUES (?p) { (<urn:p>) }\n ?x <urn:p> ?o }'
    """
    if not bindings:
        return text
    for name, term in bindings.items():
        if not isinstance(term, ox.NamedNode | ox.Literal):
            raise QueryError(f"the parameter {name!r} must be an IRI or a literal to be sent to a remote store")
    tokens = list(_tokens(text))
    group = _outer_group(text, tokens)
    if group is None:
        raise QueryError("parameters need a query with a WHERE clause to be sent to a remote store")
    opening, closing = group
    pieces, last, projecting, previous = [], opening + 1, False, ""
    for kind, begin, end in tokens:
        word = text[begin:end].upper() if kind == "word" else ""
        if word == "SELECT":
            projecting = True  # a subquery's SELECT clause: its variables stay variables
        elif kind == "{" or word == "WHERE":
            projecting = False
        elif (
            kind == "var"
            and opening < begin < closing
            and text[begin + 1 : end] in bindings
            and not projecting
            and previous != "AS"
        ):
            pieces += [text[last:begin], str(bindings[text[begin + 1 : end]])]
            last = end
        previous = word
    names = " ".join(f"?{name}" for name in bindings)
    terms = " ".join(str(term) for term in bindings.values())
    block = f" VALUES ({names}) {{ ({terms}) }}\n"
    return text[: opening + 1] + block + "".join(pieces) + text[last:]


def _tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """Braces (``{``, ``}``), keywords and names (``word``) and variables
    (``var``) of a query, with their offsets; strings, IRIs and comments skipped."""
    position = 0
    while position < len(text):
        char = text[position]
        if char == "#":
            end = text.find("\n", position)
            position = len(text) if end < 0 else end + 1
        elif char in "'\"":
            match = _STRING.match(text, position)
            position = match.end() if match else position + 1
        elif char == "<":
            match = _IRI.match(text, position)
            position = match.end() if match else position + 1
        elif char in "{}":
            yield char, position, position + 1
            position += 1
        elif char in "?$":
            match = _VARIABLE.match(text, position + 1)
            end = match.end() if match else position + 1
            yield "var", position, end
            position = end
        elif char.isalnum() or char == "_" or ord(char) > 127:
            match = _NAME.match(text, position)
            yield "word", position, match.end()
            position = match.end()
        else:
            position += 1


def _outer_group(text: str, tokens: list[tuple[str, int, int]]) -> tuple[int, int] | None:
    """The offsets of the ``{`` and ``}`` of the query's outer WHERE group: the
    group after the ``WHERE`` keyword at depth 0, or (``ASK {``, ``SELECT * {``)
    the first group at depth 0 of a query that is not a CONSTRUCT."""
    depth, after_where, construct, opening = 0, False, False, None
    for kind, begin, end in tokens:
        if kind == "{":
            if depth == 0 and opening is None and (after_where or not construct):
                opening = begin
            depth += 1
        elif kind == "}":
            depth -= 1
            if depth == 0 and opening is not None:
                return opening, begin
        elif kind == "word" and depth == 0:
            word = text[begin:end].upper()
            after_where = after_where or word == "WHERE"
            construct = construct or word == "CONSTRUCT"
    return None
