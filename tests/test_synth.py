"""ipgraph synth: a deterministic synthetic corpus that builds."""

from __future__ import annotations

import filecmp

from click.testing import CliRunner

from conftest import ROOT
from ipgraph.build import build
from ipgraph.cli import main
from ipgraph.synth import synthesize


def test_the_same_seed_gives_the_same_files_and_they_build(tmp_path):
    synthesize(ROOT / "data", tmp_path / "a", sources=25, seed=7)
    synthesize(ROOT / "data", tmp_path / "b", sources=25, seed=7)
    compare = filecmp.dircmp(tmp_path / "a" / "data" / "facts", tmp_path / "b" / "data" / "facts")
    assert compare.left_list == compare.right_list and not compare.diff_files
    assert len([p for p in (tmp_path / "a/data/facts").glob("synth-7-*.yaml")]) == 25
    result = build(tmp_path / "a" / "data", None, tmp_path / "a.trig")
    assert result.totals["sources"] == 25 + len(list((ROOT / "data/facts").glob("*.yaml")))
    assert result.totals["observations"] > 25 * 3
    other = synthesize(ROOT / "data", tmp_path / "c", sources=25, seed=8)
    assert other == 25
    assert (tmp_path / "a/data/sources/synth-7-000000.txt").read_text() != (
        tmp_path / "c/data/sources/synth-8-000000.txt"
    ).read_text()


def test_synth_refuses_a_folder_in_use_and_no_sources(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["synth", "--sources", "3", "--out", str(tmp_path / "used")])
    assert result.exit_code == 2 and "expected a new or empty folder" in result.output
    assert sorted(p.name for p in (tmp_path / "used").iterdir()) == ["keep.txt"]
    result = CliRunner().invoke(main, ["synth", "--sources", "0", "--out", str(tmp_path / "new")])
    assert result.exit_code == 2 and not (tmp_path / "new").exists()


def test_synth_refuses_an_out_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["synth", "--sources", "2", "--out", str(tmp_path / "afile" / "sub")])
    assert result.exit_code == 2 and "cannot create the folder" in result.output
    assert "Traceback" not in result.output
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"


def test_figures_per_source_sets_how_many_figures_each_source_states(tmp_path):
    from ipgraph.yamlfile import read_yaml

    synthesize(ROOT / "data", tmp_path / "s", sources=3, seed=2, figures=40)
    counts = [len(read_yaml(path)["observations"]) for path in sorted((tmp_path / "s/data/facts").glob("synth-*.yaml"))]
    assert len(counts) == 3 and all(30 <= count <= 40 for count in counts)  # a repeated key is drawn once
