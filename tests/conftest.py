"""Shared fixtures: the seed data built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from ipgraph.build import build
from ipgraph.validate import load_dataset

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The seed dataset, built from data/ into a temporary build/ipgraph.trig."""
    out = tmp_path_factory.mktemp("build") / "ipgraph.trig"
    build(ROOT / "data", ROOT / "ontology", out)
    return out


@pytest.fixture(scope="session")
def dataset(built) -> Dataset:
    """The built dataset, parsed back from its TriG file."""
    return load_dataset(built)


@pytest.fixture(scope="session")
def union(dataset) -> Graph:
    """All named graphs of the built dataset as one graph."""
    graph = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of data/, ontology/ and queries/ to break in a test: returns the copy's root."""
    for folder in ("data", "ontology", "queries"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path
