"""The ``ipgraph`` command line: each command parses its arguments, makes
one library call and prints the result.

A user's mistake (``IpgraphError``) becomes one message and exit code 2,
never a traceback; a graph that breaks the shapes exits with 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ipgraph import build as build_module
from ipgraph import export as export_module
from ipgraph import validate as validate_module
from ipgraph.errors import IpgraphError, ValidationError

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

DEFAULT_DATASET = Path("build/ipgraph.trig")
DEFAULT_SHAPES = Path("ontology/shapes.ttl")


class UserError(click.ClickException):
    """A mistake in the user's input: one message, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        errors.print(f"Error: {self.message}", markup=False, soft_wrap=True)


class _Group(click.Group):
    """Turns every :class:`IpgraphError` into a :class:`UserError`."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IpgraphError as error:
            raise UserError(str(error)) from None


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


@main.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=Path("data"),
    show_default=True,
    help="Folder with sources/ and facts/.",
)
@click.option(
    "--ontology",
    "ontology_dir",
    type=click.Path(path_type=Path),
    default=Path("ontology"),
    show_default=True,
    help="Folder with ipgraph.ttl, shapes.ttl and vocab/.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=DEFAULT_DATASET, show_default=True, help="The TriG file to write."
)
def build(data_dir: Path, ontology_dir: Path, out: Path) -> None:
    """Build the dataset from the facts, validate it, and write it as TriG.

    Every quote must stand verbatim in its source; the dataset must pass the
    SHACL shapes. On any error nothing is written and the old file stays.

    \b
    Example:
        ipgraph build --data data --out build/ipgraph.trig
    """
    with console.status("Building the graph…"):
        try:
            result = build_module.build(data_dir, ontology_dir, out)
        except ValidationError as error:
            errors.print(error.report, markup=False, soft_wrap=True)
            raise
    console.print(f"Wrote {result.path}: {result.triples} triples in {len(result.graphs)} named graphs.")
    graphs = Table("named graph", "triples", title="Named graphs", title_justify="left")
    for name, count in result.graphs.items():
        graphs.add_row(name, str(count))
    console.print(graphs)
    classes = Table("class", "entities", title="Entities by class", title_justify="left")
    for name, count in result.classes.items():
        classes.add_row(name, str(count))
    console.print(classes)


@main.command()
@click.argument("file", type=click.Path(path_type=Path), default=DEFAULT_DATASET, required=False)
@click.option(
    "--shapes",
    type=click.Path(path_type=Path),
    default=DEFAULT_SHAPES,
    show_default=True,
    help="The SHACL shapes file.",
)
@click.option(
    "--datacube",
    type=click.Path(path_type=Path),
    default=validate_module.DATACUBE_QUERIES,
    show_default=True,
    help="Folder of the Data Cube integrity-constraint queries.",
)
def validate(file: Path, shapes: Path, datacube: Path) -> None:
    """Check FILE (default build/ipgraph.trig) against the SHACL shapes and
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
    "--format", "rdf_format", type=click.Choice(list(export_module.FORMATS)), required=True, help="Output format."
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The file to write.")
@click.option(
    "--dataset",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATASET,
    show_default=True,
    help="The built dataset to export.",
)
@click.option(
    "--context",
    type=click.Path(path_type=Path),
    default=Path("ontology/context.jsonld"),
    show_default=True,
    help="JSON-LD context (for --format jsonld).",
)
def export(rdf_format: str, out: Path, dataset: Path, context: Path) -> None:
    """Export the built dataset as Turtle, N-Triples, JSON-LD or TriG.

    ttl and nt hold the union of all named graphs; jsonld and trig keep them.

    \b
    Example:
        ipgraph export --format jsonld --out build/ipgraph.jsonld
    """
    path = export_module.export(dataset, rdf_format, out, context)
    console.print(f"Wrote {path}.")
