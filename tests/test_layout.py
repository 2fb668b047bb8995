"""Project folders: ``ipgraph init``, ``--project`` on every command, and a
project's own queries found before the package's (ipgraph.layout)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ipgraph import layout
from ipgraph.cli import main
from ipgraph.errors import ProjectFolderError
from ipgraph.query import list_named, load_named

ROOT = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_the_package_data_is_beside_the_package():
    assert layout.QUERIES.is_relative_to(Path(layout.__file__).parent)
    assert (layout.QUERIES / "metrics.rq").is_file()
    assert len(list(layout.DATACUBE_QUERIES.glob("ic-*.rq"))) == 21
    for path in (layout.SHAPES, layout.CONTEXT, layout.ONTOLOGY / "ipgraph.ttl", layout.ONTOLOGY / "datacube.ttl"):
        assert path.is_file(), path


@pytest.mark.parametrize("part", ["registry", "vocab"])
def test_the_starter_registry_and_vocabularies_are_copies_of_data(part):
    ours = sorted((ROOT / "data" / part).glob("*.yaml"))
    starter = sorted((layout.STARTER / "data" / part).glob("*.yaml"))
    assert ours, f"no data/{part}/*.yaml found"
    assert [p.name for p in starter] == [p.name for p in ours]
    for mine, theirs in zip(ours, starter, strict=True):
        assert theirs.read_bytes() == mine.read_bytes(), f"{theirs} differs from {mine}: copy it again"


def test_init_makes_the_skeleton_and_a_readme(tmp_path):
    folder = tmp_path / "new" / "proj"
    files = layout.init(folder)
    assert folder / "README.md" in files
    assert sorted(p.name for p in (folder / "data").iterdir()) == ["facts", "mappings", "registry", "sources", "vocab"]
    for name in ("sources", "facts", "mappings"):
        assert list((folder / "data" / name).iterdir()) == []
    assert (folder / "data" / "registry" / "regions.yaml").read_bytes() == (
        ROOT / "data" / "registry" / "regions.yaml"
    ).read_bytes()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "ipgraph build" in readme and "facts/" in readme and "projections/NAME.rq" in readme


def test_init_accepts_an_empty_folder_and_refuses_anything_else(tmp_path):
    layout.init(tmp_path)
    with pytest.raises(ProjectFolderError, match="not empty"):
        layout.init(tmp_path)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ProjectFolderError, match="not a folder"):
        layout.init(tmp_path / "file")


def test_init_on_a_non_empty_folder_is_one_message_and_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "the folder is not empty" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_every_command_but_init_takes_project():
    found = dict(_commands(main))
    assert len(found) > 10
    for path, command in found.items():
        names = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if path == ("init",):
            assert "--project" not in names
        else:
            assert "--project" in names, path


def test_a_projects_own_queries_come_first(tmp_path):
    project = layout.Project(tmp_path)
    assert project.query_folders() == [layout.QUERIES]
    (tmp_path / "queries" / "projections").mkdir(parents=True)
    (tmp_path / "queries" / "metrics.rq").write_text("# Question: Mine?\nASK {}\n", encoding="utf-8")
    (tmp_path / "queries" / "mine.rq").write_text("# Question: Only mine?\nASK {}\n", encoding="utf-8")
    folders = project.query_folders()
    assert folders == [tmp_path / "queries", layout.QUERIES]
    named = {query.name: query for query in list_named(folders)}
    assert named["metrics"].question == "Mine?"
    assert named["mine"].question == "Only mine?"
    assert "growth" in named
    assert load_named("metrics", folders).path == tmp_path / "queries" / "metrics.rq"
    assert project.query_folders("projections") == [
        tmp_path / "queries" / "projections",
        layout.QUERIES / "projections",
    ]


def test_project_sets_where_data_and_build_are(built, tmp_path):
    """--project DIR reads DIR/build/ipgraph.trig; an explicit --dataset still wins."""
    (tmp_path / "build").mkdir()
    shutil.copy(built, tmp_path / "build" / "ipgraph.trig")
    runner = CliRunner()
    result = runner.invoke(main, ["query", "--project", str(tmp_path), "metrics", "--format", "json"])
    assert result.exit_code == 0, result.output
    values = {b["value"]["value"] for b in json.loads(result.output)["results"]["bindings"] if "value" in b}
    assert "195000" in values
    missing = runner.invoke(main, ["query", "--project", str(tmp_path / "none"), "metrics"])
    assert missing.exit_code == 2
    assert str(tmp_path / "none" / "build" / "ipgraph.trig") in missing.output
    explicit = runner.invoke(
        main, ["query", "--project", str(tmp_path / "none"), "--dataset", str(built), "metrics", "--format", "csv"]
    )
    assert explicit.exit_code == 0, explicit.output
    assert "195000" in explicit.output


def test_a_projection_in_the_project_folder_is_a_projection(built, tmp_path):
    (tmp_path / "build").mkdir()
    shutil.copy(built, tmp_path / "build" / "ipgraph.trig")
    own = tmp_path / "queries" / "projections"
    own.mkdir(parents=True)
    shutil.copy(layout.QUERIES / "projections" / "overview.rq", own / "mine.rq")
    out = tmp_path / "mine.json"
    result = CliRunner().invoke(
        main, ["project", "mine", "--project", str(tmp_path), "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    labels = {node.get("label") for node in json.loads(out.read_text(encoding="utf-8"))["nodes"]}
    assert "Jilin" in labels
    unknown = CliRunner().invoke(
        main, ["project", "mine", "--dataset", str(built), "--format", "json", "--out", str(out)]
    )
    assert unknown.exit_code == 2
    assert "unknown projection 'mine'" in unknown.output
