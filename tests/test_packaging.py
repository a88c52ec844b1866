"""An installed wheel (not the checkout) carries what the commands need: ontology, shapes, queries, cases."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from kg.config import ROOT
from live_server import serve


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel `pip install .` would install."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, timeout=300)
    return next(out.glob("coprokg-*.whl"))


@pytest.fixture(scope="module")
def unpacked_wheel(wheel):
    """The wheel unpacked where nothing of the checkout is beside it."""
    site = wheel.parent / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def _coprokg(site, tmp_path, *args):
    # Only the unpacked wheel on the path, run from an unrelated directory: the checkout is never found.
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("COPROKG_STORE", None)
    return subprocess.run([sys.executable, "-c", "from kg.cli import main; main()", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def test_wheel_holds_the_data_files(unpacked_wheel):
    data = unpacked_wheel / "kg" / "package_data"
    assert (data / "ontology" / "coprokg.ttl").is_file() and (data / "ontology" / "shapes.ttl").is_file()
    assert sorted(p.name for p in (data / "queries").glob("*.rq")) == sorted(p.name for p in (ROOT / "queries").glob("*.rq"))
    assert sorted(p.name for p in (data / "cases").iterdir()) == sorted(p.name for p in (ROOT / "cases").iterdir())


def test_installed_commands_work_outside_the_checkout(unpacked_wheel, tmp_path):
    listed = _coprokg(unpacked_wheel, tmp_path, "queries", "list")
    assert listed.returncode == 0, listed.stderr
    assert "case_actors" in listed.stdout and "mechanism_support" in listed.stdout

    case = tmp_path / "mine.yaml"
    case.write_bytes((ROOT / "cases" / "ningbo-home-care-platform.yaml").read_bytes())
    validated = _coprokg(unpacked_wheel, tmp_path, "validate", str(case))
    assert validated.returncode == 0, validated.stderr
    assert "1 case(s) valid, 0 error(s)" in validated.stdout

    built = _coprokg(unpacked_wheel, tmp_path, "build")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "xdg" / "coprokg" / "store").is_dir()
    assert "4 cases" in built.stdout
    assert not (unpacked_wheel / "data").exists()  # nothing written beside the installed package


# Run inside the client-only venv: the client answers, and none of the server's dependencies is there.
CLIENT_SCRIPT = """
import importlib.util, sys
from kg.client import CoproKG
rows = CoproKG(sys.argv[1]).run("case_actors", sector="cop:MarketSector")
print(len(rows), sorted({row["sector"] for row in rows}))
print("absent:", [name for name in ("pyoxigraph", "rdflib", "flask", "owlready2") if importlib.util.find_spec(name) is None])
"""


def test_the_client_alone_installs_with_requests_only_and_queries_a_server(wheel, shipped_store, tmp_path):
    venv = tmp_path / "client-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # What the README tells a client-only user to run.
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, timeout=300)
    subprocess.run([*pip, "requests"], check=True, timeout=300)
    with serve(shipped_store) as url:
        ran = subprocess.run([str(venv / "bin" / "python"), "-c", CLIENT_SCRIPT, url], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    count, _, sectors = ran.stdout.splitlines()[0].partition(" ")
    assert int(count) > 0 and sectors == "['https://w3id.org/coprokg/ontology#MarketSector']"
    assert ran.stdout.splitlines()[1] == "absent: ['pyoxigraph', 'rdflib', 'flask', 'owlready2']"
