"""An installed wheel (not the checkout) carries what the commands need: ontology, shapes, queries, cases."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from kg.config import ROOT


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory):
    """The wheel `pip install .` would install, unpacked where nothing of the checkout is beside it."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, timeout=300)
    wheel = next(out.glob("coprokg-*.whl"))
    site = out / "site"
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
