"""Where things live: the package's own data and a project folder's.

The package carries what every project shares, as package data beside this
module: the named queries (``queries/``, with ``projections/``, ``serve/``
and ``datacube/``), the ontology, the SHACL shapes and the JSON-LD context
(``ontology/``), and a starter registry and vocabularies (``starter/``) for
:func:`init`. A project folder holds what is the user's own::

    data/        registry/, vocab/, sources/, facts/, mappings/
    build/       ipgraph.trig and what is made from it (views/, cache/)
    queries/     optional: the user's own named queries and projections,
                 found before the package's (queries/projections/NAME.rq
                 adds a projection)

Example:
    >>> project = Project(".")
    >>> project.dataset.as_posix()
    'build/ipgraph.trig'
    >>> "metrics" in {path.stem for folder in project.query_folders() for path in folder.glob("*.rq")}
    True
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ipgraph.errors import ProjectFolderError

__all__ = [
    "CONTEXT",
    "DATACUBE_QUERIES",
    "ONTOLOGY",
    "PACKAGE",
    "QUERIES",
    "SHAPES",
    "STARTER",
    "Project",
    "init",
]

#: The installed package's folder. Its data files are read from here, as
#: files: setuptools installs a wheel unzipped, and the code globs folders
#: and hands paths to rdflib and pyshacl.
PACKAGE = Path(__file__).resolve().parent
#: The package's named queries (``NAME.rq``) and their subfolders.
QUERIES = PACKAGE / "queries"
#: The ontology folder: ``ipgraph.ttl``, ``datacube.ttl``, ``shapes.ttl``, ``context.jsonld``.
ONTOLOGY = PACKAGE / "ontology"
SHAPES = ONTOLOGY / "shapes.ttl"
CONTEXT = ONTOLOGY / "context.jsonld"
#: The W3C Data Cube normalisation updates and integrity-constraint queries.
DATACUBE_QUERIES = QUERIES / "datacube"
#: What ``ipgraph init`` copies into a new project: ``data/registry``, ``data/vocab`` and a README.
STARTER = PACKAGE / "starter"

#: The empty folders a new project's ``data/`` gets beside the registry and vocabularies.
_EMPTY_DATA_FOLDERS = ("sources", "facts", "mappings")


@dataclass(frozen=True)
class Project:
    """A project folder: where ``data/`` and ``build/`` are (``root`` may be relative)."""

    root: Path = Path()

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def dataset(self) -> Path:
        """The built dataset, ``build/ipgraph.trig``."""
        return self.build / "ipgraph.trig"

    def query_folders(self, subfolder: str = "") -> list[Path]:
        """Where named queries of ``subfolder`` (``""``, ``projections``, ``serve``) are
        looked for, in order: the project's own ``queries/`` when it has one, then the package's."""
        own = self.root / "queries" / subfolder
        package = QUERIES / subfolder
        if own.is_dir() and own.resolve() != package.resolve():
            return [own, package]
        return [package]


def init(folder: str | Path) -> list[Path]:
    """Create a project in ``folder`` (made if missing): ``data/`` with the
    starter registry and vocabularies, empty ``sources/``, ``facts/`` and
    ``mappings/``, and a README. Returns the files written.

    Raises:
        ProjectFolderError: ``folder`` is a file, is not empty, or cannot be written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ProjectFolderError("not a folder; give a new or empty folder for the project", path=folder)
    if folder.is_dir() and any(folder.iterdir()):
        raise ProjectFolderError("the folder is not empty; give a new or empty folder for the project", path=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(STARTER, folder, dirs_exist_ok=True)
        for name in _EMPTY_DATA_FOLDERS:
            (folder / "data" / name).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProjectFolderError(f"cannot create the project: {error.strerror or error}", path=folder) from None
    return sorted(path for path in folder.rglob("*") if path.is_file())
