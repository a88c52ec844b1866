"""The project can be cited and reused: licence files, CITATION.cff and the ontology header agree."""

from __future__ import annotations

import tomllib

import pytest
import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL

import kg
from kg.config import ROOT, Settings
from kg.namespaces import COP, ONTOLOGY_IRI
from kg.ontology import load_ontology_graph

CC_BY_4 = URIRef("https://creativecommons.org/licenses/by/4.0/")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology_graph(Settings().ontology)


def _citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def _project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_code_is_mit_as_pyproject_says_and_the_ontology_cc_by():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
    assert str(CC_BY_4) in (ROOT / "ontology" / "LICENSE.md").read_text(encoding="utf-8")


def test_one_version_in_pyproject_citation_and_ontology(ontology):
    version = _project_version()
    assert str(_citation()["version"]) == version and kg.__version__ == version
    assert ontology.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal(version)
    version_iri = URIRef(f"{ONTOLOGY_IRI}/{version}")
    assert ontology.value(ONTOLOGY_IRI, OWL.versionIRI) == version_iri
    assert {"type": "url", "value": str(version_iri),
            "description": "The version IRI of the ontology this release ships."} in _citation()["identifiers"]


def test_citation_file_cites_the_software_and_names_the_dissertation_as_source():
    citation = _citation()
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    assert citation["license"] == "MIT" and citation["authors"] == [{"name": "CoproKG project"}]
    (thesis,) = [ref for ref in citation["references"] if ref["type"] == "thesis"]
    assert thesis["authors"] == [{"family-names": "Zhong", "given-names": "H. L."}] and thesis["year"] == 2019
    assert thesis["title"] == "The Coproduction of Elderly Care Service: Occurrence Process and Operation Mechanism"
    assert {"type": "other", "value": "GTID:1366330590970595", "description": "The record's GTID."} in thesis["identifiers"]


def test_ontology_has_a_citation_of_its_own_and_the_dissertation_as_source(ontology):
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.license) == CC_BY_4
    citation = str(ontology.value(ONTOLOGY_IRI, DCTERMS.bibliographicCitation))
    # It cites the ontology (name, version IRI, licence) first; the dissertation is cited on its own node.
    assert citation.startswith("CoproKG project (2026). CoproKG: an ontology")
    assert f"{ONTOLOGY_IRI}/{_project_version()}" in citation and "CC BY 4.0" in citation
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.source) == COP.Zhong2019
    assert str(ontology.value(COP.Zhong2019, DCTERMS.bibliographicCitation)).startswith("Zhong, H. L. (2019).")
