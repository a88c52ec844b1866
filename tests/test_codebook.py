"""The codebook covers exactly the words the importer accepts, in en and zh, and its SKOS form is well formed."""

from pathlib import Path

from click.testing import CliRunner
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SKOS

from kg import cases as cf
from kg.codebook import (CODEBOOK, SCHEME, fields_of, load_codebook, markdown, ontology_terms, problems, skos_graph,
                         vocabularies)
from kg.config import Settings
from kg.namespaces import COP
from server.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_every_word_the_importer_accepts_is_coded_and_nothing_else():
    sections = load_codebook()
    assert problems(sections) == []
    coded = {(s.key, w) for s in sections for w in s.codes}
    accepted = {(k, w) for k, table in vocabularies().items() for w in table}
    assert coded == accepted and len(coded) == 71
    # The vocabularies are found from the validator's field specs, so a field's words cannot be left out.
    assert fields_of("confidence") == ["authority_confidence", "resources_confidence", "confidence",
                                       "conditions.confidence"]
    assert fields_of("sector") == ["actors.sector"] and fields_of("outcome") == ["observations.outcomes"]


def test_a_word_missing_on_either_side_or_a_language_missing_is_named(monkeypatch):
    monkeypatch.setitem(cf.SECTOR_TO_IRI, "church", COP.SocietySector)
    sections = load_codebook()
    sections[0].codes["medium"] = {"rule": {"en": "in between"}}
    sections[1].codes["high"]["example"] = {"en": "a, b", "zh": "甲", " b": None}
    found = problems(sections)
    assert "sector: 'church' is accepted by the importer but not in the codebook" in found
    assert "authority: 'medium' is in the codebook but not accepted by the importer" in found
    assert "authority.medium.rule: missing zh" in found
    assert any(p.startswith("resources.high.example: not a language:  b") for p in found)


def test_skos_scheme_labels_every_concept_once_per_language_from_the_ontology():
    terms = ontology_terms(Settings().ontology)
    g = skos_graph(load_codebook(), terms)
    concepts = set(g.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) == 71 and all((c, SKOS.inScheme, SCHEME) in g for c in concepts)
    for concept in concepts:
        labels = [label.language for label in g.objects(concept, SKOS.prefLabel)]
        assert sorted(labels) == ["en", "zh"], concept  # SKOS S14: at most one prefLabel per language
        rules = {r.language for r in g.objects(concept, COP.decisionRule)}
        assert rules == {"en", "zh"} and g.value(concept, COP.notInSource) is not None
        term = g.value(concept, SKOS.exactMatch)
        assert (term, RDF.type, None) in terms, term  # matched to a term the ontology declares
    high = CODEBOOK["authority/high"]
    assert g.value(high, SKOS.exactMatch) == COP.HighAuthority
    assert Literal("high governance authority", lang="en") in set(g.objects(high, SKOS.prefLabel))
    assert len(set(g.objects(CODEBOOK["condition"], SKOS.member))) == 11
    # Round trip through Turtle, as a SKOS tool would read the exported file.
    assert len(Graph().parse(data=g.serialize(format="turtle"), format="turtle")) == len(g)


def test_docs_codebook_is_the_generated_one():
    expected = markdown(load_codebook(), ontology_terms(Settings().ontology)) + "\n"
    assert (ROOT / "docs" / "codebook.md").read_text(encoding="utf-8") == expected, \
        "docs/codebook.md is stale: run `coprokg export codebook docs/codebook.md`"
    assert "| `partners-weak` | `cop:PartnersWeak` partners weak in strength" in expected


def test_export_codebook_command(tmp_path):
    result = CliRunner().invoke(main, ["export", "codebook", str(tmp_path / "cb.ttl")])
    assert result.exit_code == 0, result.output
    g = Graph().parse(tmp_path / "cb.ttl")
    assert (SCHEME, RDF.type, SKOS.ConceptScheme) in g and len(set(g.subjects(RDF.type, SKOS.Concept))) == 71
    bad = CliRunner().invoke(main, ["export", "codebook", str(tmp_path / "cb.csv")])
    assert bad.exit_code == 2 and "neither .md nor .ttl" in bad.output
