"""The query guard: what a query may do is decided on its parse by a
conformant SPARQL parser (rdflib's), never by matching its text.

:func:`check_query` reads a query in three steps and returns a
:class:`CheckedQuery`, or raises:

1. **One text for every reader.** :func:`canonical_text` expands the
   ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes exactly as rdflib does before it parses
   (with rdflib's own function), refuses an escape that spells another escape
   (the expansion must be final, so that no reader can expand twice), turns
   every CR and CRLF into LF (SPARQL ends a ``#`` comment at either; rdflib
   only at LF) and refuses other control characters. Both engines are given
   this text, so the escape and line-end tricks that made rdflib and Oxigraph
   read different queries are gone before anyone parses.
2. **A conformant parse.** rdflib parses the text into its algebra
   (``parseQuery`` + ``translateQuery`` with the project's prefixes and the
   request's base IRI). A text that parses as SPARQL Update instead (LOAD,
   INSERT, DELETE, CLEAR, DROP, ...) is refused; one that parses as neither
   is refused with the parser's message, line and column.
3. **Decided on the algebra.** Every node of the parse and of the algebra is
   visited, whatever it sits in (subqueries, EXISTS / NOT EXISTS, OPTIONAL,
   UNION, MINUS, GRAPH, BIND): a ``SERVICE`` to an endpoint that is not
   allow-listed, or to a variable, is refused. ``FROM``/``FROM NAMED`` give the
   :class:`~ipgraph.store.base.QueryDataset` the query runs on: graphs already
   in the store, nothing fetched.

Why the engines cannot read something the guard did not see:

- **rdflib** (the memory store) is handed the parsed object itself
  (:attr:`CheckedQuery.prepared`, its dataset clause taken out), not the
  text: it evaluates exactly what was checked.
- **Oxigraph** parses the canonical text itself. Both parsers implement the
  same grammar; step 1 removed the lexical points where they were measured to
  differ (escapes, which Oxigraph expands only in IRIs and strings while rdflib
  expands them everywhere, and comment ends). A ``SERVICE`` that rdflib did not
  see would have to be spelt in the canonical text, which holds no escapes:
  when that text does not contain the letters ``service`` in any case
  (:attr:`CheckedQuery.mentions_service` false), no reader can find one. When
  it does (a variable ``?service``, ``schema:Service``, a string), the
  argument is the two parsers' agreement on strings, IRIs and comments, which
  ``tests/test_guard.py`` checks by differential fuzzing; and behind it, a
  query with a timeout runs in a worker that cannot open an internet socket at
  all (:mod:`ipgraph.store.sandbox`), so a different reading could still not
  connect. Two cases lack that last layer: a query that calls an allow-listed
  endpoint (its worker may connect; the audit hook that limits Python's
  connections to the allowed addresses does not see Oxigraph's Rust client),
  and ``execute(..., timeout=None)``, which runs in the caller's process and is
  meant for trusted queries. ``FROM`` needs no such argument: Oxigraph is
  always handed the dataset explicitly (which overrides the query's own), and
  Oxigraph never fetches a ``FROM`` graph anyway.

Example:
    >>> checked = check_query("SELECT * FROM graph:links WHERE { ?s owl:sameAs ?o }")
    >>> checked.form, checked.dataset.default_graphs
    ('SELECT', ('https://w3id.org/ipgraph/id/graph/links',))
    >>> check_query(r"SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    Traceback (most recent call last):
    ...
    ipgraph.errors.QueryRefused: SERVICE <http://127.0.0.1:9/sparql> is not allowed (no endpoint is allowed; ...
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field

from pyparsing import ParseBaseException, ParseResults
from rdflib import URIRef, Variable
from rdflib.plugins.sparql import parser as sparql_parser
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query

from ipgraph.errors import IpgraphError, QueryError, QueryRefused
from ipgraph.namespaces import PREFIXES
from ipgraph.store.base import QueryDataset

__all__ = ["CheckedQuery", "canonical_text", "check_query", "split_dataset"]

#: C0 controls other than TAB and LF (CR is turned into LF first), and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
#: How rdflib finds the endpoint it calls (rdflib.plugins.sparql.evaluate.evalServiceQuery).
RDFLIB_SERVICE_CALL = re.compile(r"^service <(.*)>[ \n]*{(.*)}[ \n]*$", re.DOTALL | re.IGNORECASE)
_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
_UPDATES = {
    "Load": "LOAD",
    "Clear": "CLEAR",
    "Drop": "DROP",
    "Create": "CREATE",
    "Add": "ADD",
    "Move": "MOVE",
    "Copy": "COPY",
    "InsertData": "INSERT",
    "DeleteData": "DELETE",
    "DeleteWhere": "DELETE",
}
# pyparsing keeps state in the grammar objects while it parses; one parse at a time.
_PARSING = threading.Lock()


@dataclass(frozen=True)
class CheckedQuery:
    """A query the guard let through, as both engines will read it.

    ``text`` is the canonical text (Oxigraph parses it); ``prepared`` is
    rdflib's parse of it, without its dataset clause (rdflib evaluates it);
    ``dataset`` is what ``FROM``/``FROM NAMED`` name (``None`` without them);
    ``services`` the allow-listed endpoints its ``SERVICE`` clauses call.
    """

    text: str
    form: str
    dataset: QueryDataset | None
    services: tuple[str, ...]
    mentions_service: bool
    prepared: Query = field(compare=False, repr=False)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def canonical_text(query: str) -> str:
    """The text both engines read: escapes expanded (as rdflib does), line
    ends as LF.

    Raises:
        QueryError: an escape that is no code point, or a control character.
        QueryRefused: an escape that spells another escape.

    Example:
        >>> canonical_text("SELECT * WHERE { # c\\r\\u0053ERVICE <urn:x> { } }")
        'SELECT * WHERE { # c\\nSERVICE <urn:x> { } }'
    """
    try:
        text = sparql_parser.expandUnicodeEscapes(query)
    except ValueError as error:
        raise QueryError(f"syntax error: {error}") from None
    again = sparql_parser.expandUnicodeEscapes_re.search(text)
    if again:
        line, column = _position(text, again.start())
        raise QueryRefused(
            f"line {line}, column {column}: an escape that spells another escape ({again[0]}) is not allowed; "
            "write the character itself"
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    control = _CONTROL.search(text)
    if control:
        line, column = _position(text, control.start())
        raise QueryError(
            f"syntax error at line {line}, column {column}: control character U+{ord(control[0]):04X} "
            "is not allowed in a query"
        )
    return text


def _nodes(tree):
    """Every ``CompValue`` in a parse or an algebra, however deep (iterative)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            yield node
            stack.extend(node.values())
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(node)


@dataclass(frozen=True)
class _Parsed:
    text: str
    form: str
    prepared: Query
    services: tuple[tuple[object, str], ...]  # (term, service_string) of every SERVICE
    default: tuple[str, ...]
    named: tuple[str, ...]


def _update_word(text: str) -> str | None:
    """The first operation's keyword if ``text`` parses as SPARQL Update."""
    try:
        with _PARSING:
            update = sparql_parser.parseUpdate(text)
    except Exception:
        return None
    requests = dict.get(update, "request") or []  # (CompValue.get gives a missing key's name)
    if not requests:
        return None
    first = requests[0]
    if first.name == "Modify":
        return "WITH" if "withClause" in first else "DELETE" if "delete" in first else "INSERT"
    return _UPDATES.get(first.name, first.name.upper())


def _syntax_error(error: Exception) -> QueryError:
    if isinstance(error, ParseBaseException):
        return QueryError(f"syntax error at line {error.lineno}, column {error.col}: {error.msg}")
    prefix = re.fullmatch(r"Unknown namespace prefix : (.*)", str(error))
    if prefix:
        return QueryError(f"unknown prefix {prefix[1]}: (declare it with PREFIX)")
    return QueryError(f"the query cannot be read: {error}")


@functools.lru_cache(maxsize=512)
def _parse(query: str, base: str | None) -> _Parsed:
    text = canonical_text(query)
    try:
        with _PARSING:
            tree = sparql_parser.parseQuery(text)
    except Exception as error:
        word = _update_word(text)
        if word is not None:
            raise QueryRefused(
                f"SPARQL Update ({word}) is not allowed; queries only read the graph (LOAD, INSERT, DELETE, "
                "CLEAR, DROP, CREATE, ADD, MOVE and COPY are refused)"
            ) from None
        problem = _syntax_error(error)
        if re.search(r"#[^\n]*\bservice\b", text, re.IGNORECASE):
            # rdflib finds a SERVICE clause's text by searching the query, and takes
            # a '#' (in an IRI or a string) before it on its line for a comment
            problem = QueryError(
                f"{problem.message} (if this is right, put SERVICE at the start of a line: rdflib's parser cannot "
                "read a '#' before SERVICE on the same line)"
            )
        raise problem from None
    try:
        with _PARSING:
            prepared = translateQuery(tree, base=base, initNs=PREFIXES)
    except IpgraphError:
        raise
    except Exception as error:
        raise _syntax_error(error) from None
    services = []
    for node in [*_nodes(tree), *_nodes(prepared.algebra)]:
        if node.name == "ServiceGraphPattern":
            services.append((node["term"], str(node["service_string"]) if "service_string" in node else ""))
    default, named = [], []
    for clause in dict.get(prepared.algebra, "datasetClause") or ():
        is_default = "default" in clause
        iri = clause["default"] if is_default else clause["named"]
        if not isinstance(iri, URIRef) or not _ABSOLUTE_IRI.match(str(iri)):
            raise QueryError(
                f"FROM <{iri}> must name an absolute IRI (a full IRI, a prefixed name, or a relative IRI with BASE)"
            )
        (default if is_default else named).append(str(iri))
    algebra = CompValue(prepared.algebra.name, **dict(prepared.algebra))
    algebra["datasetClause"] = None
    return _Parsed(
        text,
        _FORMS.get(prepared.algebra.name, prepared.algebra.name),
        Query(prepared.prologue, algebra),
        tuple(services),
        tuple(dict.fromkeys(default)),
        tuple(dict.fromkeys(named)),
    )


def check_query(query: str, allow_services: tuple[str, ...] | list[str] = (), base: str | None = None) -> CheckedQuery:
    """Read ``query`` as the engines will and refuse what a read-only,
    offline query must not do (see the module's documentation).

    Parameters:
        query: SPARQL 1.1 query text.
        allow_services: endpoints that ``SERVICE`` may call.
        base: the base IRI relative IRIs resolve against.

    Raises:
        QueryError: a syntax error (the parser's message, line and column),
            or ``FROM`` with a relative IRI.
        QueryRefused: SPARQL Update, or ``SERVICE`` to an endpoint that is
            not in ``allow_services`` or to a variable.
    """
    return _check(query, tuple(allow_services), base)


@functools.lru_cache(maxsize=512)
def _check(query: str, allow_services: tuple[str, ...], base: str | None) -> CheckedQuery:
    parsed = _parse(query, base)
    allowed = {iri.strip("<>") for iri in allow_services}
    hint = f"allowed: {', '.join(sorted(allowed))}" if allowed else "no endpoint is allowed"
    called = []
    for term, service_string in parsed.services:
        if isinstance(term, Variable):
            raise QueryRefused(
                f"SERVICE ?{term} is not allowed: an endpoint chosen by a variable cannot be checked ({hint})"
            )
        endpoint = str(term)
        if endpoint not in allowed:
            raise QueryRefused(f"SERVICE <{endpoint}> is not allowed ({hint}; allow it with --allow-service)")
        # rdflib calls the endpoint it finds in the clause's text; it must be the one checked
        match = RDFLIB_SERVICE_CALL.match(service_string)
        if match and match[1] not in allowed:
            raise QueryRefused(f"SERVICE <{match[1]}> is not allowed ({hint}; allow it with --allow-service)")
        called.append(endpoint)
    dataset = QueryDataset(base, parsed.default, parsed.named) if parsed.default or parsed.named else None
    return CheckedQuery(
        parsed.text,
        parsed.form,
        dataset,
        tuple(dict.fromkeys(called)),
        "service" in parsed.text.lower(),
        parsed.prepared,
    )


def split_dataset(query: str, base: str | None = None) -> tuple[str, QueryDataset | None]:
    """The canonical text of ``query`` and the dataset its ``FROM`` and
    ``FROM NAMED`` clauses name (``None`` when there are none), read from
    its parse: words in strings, comments and IRIs are not clauses.

    Raises:
        QueryError: a syntax error, or ``FROM`` with a relative IRI.

    Example:
        >>> text, dataset = split_dataset("SELECT * FROM region:jilin WHERE { ?s ?p ?o }")
        >>> dataset.default_graphs, dataset.named_graphs
        (('https://w3id.org/ipgraph/id/region/jilin',), ())
    """
    parsed = _parse(query, base)
    if not (parsed.default or parsed.named):
        return parsed.text, None
    return parsed.text, QueryDataset(base, parsed.default, parsed.named)


def query_error(error: Exception) -> IpgraphError:
    """An engine's exception as a :class:`QueryError` with line and column where it gives them."""
    if isinstance(error, IpgraphError):
        return error
    message = str(error)
    match = re.match(r"error at (\d+):(\d+): (.*)", message, re.S)
    if match:
        return QueryError(f"syntax error at line {match[1]}, column {match[2]}: {match[3]}")
    match = re.search(r"does not contains? variable \?(\w+) in its SELECT projection", message)
    if match:
        return QueryError(
            f"the parameter {match[1]!r} must be among the SELECT variables (add ?{match[1]} to the SELECT clause)"
        )
    lineno, col = getattr(error, "lineno", None), getattr(error, "col", None)
    if lineno is not None and col is not None:  # rdflib (pyparsing) ParseException
        return QueryError(f"syntax error at line {lineno}, column {col}: {getattr(error, 'msg', message)}")
    return QueryError(f"the query failed: {type(error).__name__}: {message}")
