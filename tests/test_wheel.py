"""The wheel works outside the repo: built with ``pip wheel``, installed into
a fresh venv, and run on a project made by ``ipgraph init`` in a folder far
from the repo, from ``build`` to ``serve --get``.

The fresh venv has no system site-packages and gets the wheel alone
(``pip install --no-deps``); its dependencies (rdflib, pyoxigraph, ...)
come from this repo's venv through a ``.pth`` file naming that venv's
site-packages, and only that folder: not the repo's ``src/`` (``.pth``
files found there, such as the editable install's, are not run, since
Python runs only those of the venv's own site-packages). The test checks
that ``ipgraph`` is imported from the wheel. Outside CI a wheel that cannot
be built or installed skips; in CI (``CI=true``) it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = "xinhua-2025-05-31-northeast-ip-protection"


def _run(args: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=_env(), check=False
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _setup_failed(what: str, result: subprocess.CompletedProcess) -> None:
    message = f"{what} failed ({result.returncode}): {result.stderr[-2000:]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the fresh venv's ``bin/``) with the wheel installed."""
    wheels = tmp_path_factory.mktemp("wheels")
    result = _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", wheels], ROOT, timeout=600)
    if result.returncode != 0:
        _setup_failed("pip wheel", result)
    (wheel,) = wheels.glob("ipgraph-*.whl")
    venv = tmp_path_factory.mktemp("venv") / "env"
    result = _run([sys.executable, "-m", "venv", venv], tmp_path_factory.getbasetemp())
    if result.returncode != 0:
        _setup_failed("python -m venv", result)
    bin_dir = venv / "bin"
    purelib = _run(
        [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], venv
    ).stdout.strip()
    # The dependencies: this venv's site-packages (and platlib, if apart), never the repo's src/.
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    assert not any(Path(path).resolve().is_relative_to(ROOT / "src") for path in ours)
    Path(purelib, "ipgraph-test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    result = _run([bin_dir / "python", "-m", "pip", "install", "--no-deps", "-q", wheel], venv)
    if result.returncode != 0:
        _setup_failed("pip install of the wheel", result)
    return wheel, bin_dir


def test_the_wheel_holds_the_package_data_licence_and_py_typed(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "ipgraph/py.typed",
        "ipgraph/queries/metrics.rq",
        "ipgraph/queries/projections/overview.rq",
        "ipgraph/queries/serve/entity-description.rq",
        "ipgraph/queries/datacube/ic-01-unique-dataset.rq",
        "ipgraph/queries/datacube/normalize-phase1.ru",
        "ipgraph/ontology/ipgraph.ttl",
        "ipgraph/ontology/datacube.ttl",
        "ipgraph/ontology/shapes.ttl",
        "ipgraph/ontology/context.jsonld",
        "ipgraph/templates/entity.html",
        "ipgraph/static/ipgraph.css",
        "ipgraph/static/view.js",
        "ipgraph/static/yasgui/yasgui.min.js",
        "ipgraph/starter/README.md",
        "ipgraph/starter/data/registry/agencies.yaml",
        "ipgraph/starter/data/vocab/industries.yaml",
        "ipgraph-0.1.0.dist-info/licenses/LICENSE",
    ):
        assert name in names, name
    # Every query and ontology file of the package is in the wheel.
    package = ROOT / "src" / "ipgraph"
    shipped = sorted(
        path.relative_to(package.parent).as_posix()
        for folder in ("queries", "ontology", "templates", "static", "starter")
        for path in (package / folder).rglob("*")
        if path.is_file()
    )
    assert len(shipped) > 50
    assert [name for name in shipped if name not in names] == []


def test_the_installed_wheel_runs_a_project_outside_the_repo(installed, tmp_path_factory):
    _, bin_dir = installed
    ipgraph = bin_dir / "ipgraph"
    work = tmp_path_factory.mktemp("elsewhere")
    assert not work.resolve().is_relative_to(ROOT)

    where = _run([bin_dir / "python", "-c", "import ipgraph; print(ipgraph.__file__)"], work)
    assert where.returncode == 0, where.stderr
    location = Path(where.stdout.strip()).resolve()
    assert location.is_relative_to(bin_dir.parent.resolve()), location
    assert not location.is_relative_to(ROOT)

    def ok(*args: object) -> str:
        result = _run([ipgraph, *args], work)
        assert result.returncode == 0, f"ipgraph {' '.join(map(str, args))}: {result.stderr}"
        return result.stdout

    assert "Created the project proj" in ok("init", "proj")
    project = work / "proj"
    assert sorted(p.name for p in (project / "data").iterdir()) == [
        "facts",
        "mappings",
        "registry",
        "sources",
        "vocab",
    ]
    assert "ipgraph build" in (project / "README.md").read_text(encoding="utf-8")
    again = _run([ipgraph, "init", "proj"], work)
    assert again.returncode == 2
    assert "not empty" in again.stderr

    # The seed source alone: the starter registry stands on its own (its
    # agencies cite their documents), so a new project builds with any one source.
    for path in (ROOT / "data" / "sources").glob(f"{SEED}.*"):
        shutil.copy(path, project / "data" / "sources" / path.name)
    shutil.copy(ROOT / "data" / "facts" / f"{SEED}.yaml", project / "data" / "facts" / f"{SEED}.yaml")

    assert "Wrote proj/build/ipgraph.trig" in ok("build", "--project", "proj")
    assert (project / "build" / "ipgraph.trig").stat().st_size > 10_000
    assert "Conforms" in ok("validate", "--project", "proj")

    listed = ok("query", "--project", "proj", "--list")
    names = {line.split()[0] for line in listed.split("\n") if line and not line.startswith(" ")}
    assert {"metrics", "measures", "regions", "growth", "entity"} <= names

    metrics = json.loads(ok("query", "--project", "proj", "metrics", "--format", "json"))
    values = {binding["value"]["value"] for binding in metrics["results"]["bindings"] if "value" in binding}
    assert "195000" in values

    # A user's own projection in the project folder comes beside the package's.
    own = project / "queries" / "projections"
    own.mkdir(parents=True)
    overview = (ROOT / "src" / "ipgraph" / "queries" / "projections" / "overview.rq").read_text(encoding="utf-8")
    (own / "mine.rq").write_text(overview, encoding="utf-8")
    assert "Wrote" in ok("project", "--project", "proj", "mine", "--format", "json", "--out", "mine.json")
    assert json.loads((work / "mine.json").read_text(encoding="utf-8"))["nodes"]

    assert "index.html" in ok("view", "--project", "proj", "--all", "--out", "proj/build/views")
    page = (project / "build" / "views" / "overview.html").read_text(encoding="utf-8")
    assert "Jilin" in page

    assert "Wrote" in ok("export", "--project", "proj", "--format", "jsonld", "--out", "out.jsonld")
    exported = json.loads((work / "out.jsonld").read_text(encoding="utf-8"))
    assert "@context" in exported
    assert "jilin" in json.dumps(exported)

    home = ok("serve", "--project", "proj", "--get", "/")
    assert "metrics" in home and "<html" in home.lower()
    jilin = ok("serve", "--project", "proj", "--get", "/id/region/jilin.ttl")
    assert "region:jilin a " in jilin and 'rdfs:label "Jilin"@en' in jilin
    assert '"CN-JL"' in jilin
