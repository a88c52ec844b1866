"""Quality checks on the ontology: labels and definitions, declarations, OWL 2 DL limits, and the
script-checkable OOPS! pitfalls and ROBOT report checks of ../shared/domain/ontology-practice.md
(sections 3.1 and 3.3), made language-aware (one label per language is not ROBOT's multiple_labels).

Team policy on OOPS! P13 (inverse not declared): inverses are optional; where one is declared, its
domain and range must mirror the property's. Checks are named after the pitfall or ROBOT rule.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS

from kg.config import Settings
from kg.namespaces import COP, DC, ONTOLOGY_IRI
from kg.ontology import load_ontology_graph

ENTITY_KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual)
PROPERTY_KINDS = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
# Vocabulary that needs no declaration: RDF, RDFS, OWL and XSD themselves.
BUILT_IN_NAMESPACES = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#",
                       "http://www.w3.org/2002/07/owl#", "http://www.w3.org/2001/XMLSchema#")
# Predicates that point at class expressions (OOPS! P34: a class used there must be declared).
CLASS_POSITIONS = (RDFS.subClassOf, RDFS.domain, RDFS.range, OWL.equivalentClass, OWL.someValuesFrom,
                   OWL.allValuesFrom, OWL.onClass, OWL.disjointWith, OWL.complementOf)
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def g() -> Graph:
    return load_ontology_graph(Settings().ontology)


@pytest.fixture(scope="module")
def entities(g) -> set[URIRef]:
    return {s for kind in ENTITY_KINDS for s in g.subjects(RDF.type, kind) if isinstance(s, URIRef)}


def _of_kind(g: Graph, kind: URIRef) -> set[URIRef]:
    return {s for s in g.subjects(RDF.type, kind) if isinstance(s, URIRef)}


def _literals(g: Graph, subject, predicate) -> list[Literal]:
    return [o for o in g.objects(subject, predicate) if isinstance(o, Literal)]


def _is_built_in(term: URIRef) -> bool:
    return str(term).startswith(BUILT_IN_NAMESPACES)


def _list_members(g: Graph, node) -> list:
    return list(g.items(node)) if node is not None else []


def _mentions(g: Graph, node, seen=None) -> set[URIRef]:
    """Every IRI reachable from a blank-node class expression."""
    seen = seen if seen is not None else set()
    found = set()
    for _, o in g.predicate_objects(node):
        if isinstance(o, URIRef):
            found.add(o)
        elif isinstance(o, BNode) and o not in seen:
            seen.add(o)
            found |= _mentions(g, o, seen)
    return found


# --- labels, definitions, comments (VOC3, VOC4, OOPS P08, ROBOT label and definition rules) ------


def test_every_entity_has_exactly_one_label_in_english_and_one_in_chinese(g, entities):
    bad = {}
    for e in entities:
        langs = Counter(lit.language for lit in _literals(g, e, RDFS.label))
        if langs != Counter({"en": 1, "zh": 1}):
            bad[e] = dict(langs)
    assert not bad, f"label languages must be exactly en:1, zh:1: {bad}"


def test_labels_are_written_in_their_language(g, entities):
    wrong = [(e, str(lit)) for e in entities for lit in _literals(g, e, RDFS.label)
             if (lit.language == "zh") != bool(CJK.search(str(lit)))]
    assert not wrong, f"zh labels need Chinese characters and en labels none: {wrong}"


def test_every_entity_has_one_english_definition_and_no_other(g, entities):
    bad = {e: [(str(d), d.language) for d in _literals(g, e, SKOS.definition)] for e in entities
           if [d.language for d in _literals(g, e, SKOS.definition)] != ["en"]}
    assert not bad, f"missing_definition / multiple_definitions: {bad}"


def test_every_entity_has_a_comment(g, entities):
    """OOPS! P08 and FOOPS! VOC4 look for rdfs:comment even beside skos:definition."""
    assert not [e for e in entities if not _literals(g, e, RDFS.comment)]


def test_definitions_are_unique_and_capitalised(g, entities):
    definitions = Counter(str(d) for e in entities for d in _literals(g, e, SKOS.definition))
    assert not [d for d, n in definitions.items() if n > 1], "duplicate_definition"
    assert not [d for d in definitions if not d[0].isupper()], "lowercase_definition"


def test_no_duplicate_label_within_a_language(g, entities):
    """ROBOT duplicate_label and OOPS! P32, compared per language tag."""
    by_label = defaultdict(set)
    for e in entities:
        for lit in _literals(g, e, RDFS.label):
            by_label[(lit.language, str(lit).casefold())].add(e)
    assert not {k: v for k, v in by_label.items() if len(v) > 1}


def test_no_whitespace_or_formatting_problems_in_annotations(g):
    """ROBOT label_formatting, label_whitespace and annotation_whitespace."""
    bad = []
    for s, p, o in g:
        if isinstance(o, Literal) and (o.language or o.datatype is None):
            text = str(o)
            if text != text.strip() or "  " in text or (p == RDFS.label and re.search(r"[\n\t\r]", text)):
                bad.append((s, p, text[:60]))
    assert not bad


def test_no_label_claims_obsolescence_and_nothing_is_deprecated(g):
    """ROBOT misused_obsolete_label, deprecated_class_reference, deprecated_property_reference."""
    assert not list(g.subjects(OWL.deprecated, None))
    assert not [s for s, lit in g.subject_objects(RDFS.label) if str(lit).lower().startswith("obsolete")]


# --- the ontology header (ROBOT missing_ontology_*, OOPS! P36, P38, P39, P41, FOOPS! OM, VER1) ----


def test_ontology_header_is_complete(g):
    assert list(g.subjects(RDF.type, OWL.Ontology)) == [ONTOLOGY_IRI]  # P38, P39
    assert not re.search(r"\.(owl|ttl|rdf|xml|nt|jsonld|n3)$", str(ONTOLOGY_IRI))  # P36
    for predicate in (DC.title, DC.description, DCTERMS.license, DCTERMS.title, DCTERMS.description,
                      DCTERMS.creator, DCTERMS.created, OWL.versionIRI, OWL.versionInfo):
        assert g.value(ONTOLOGY_IRI, predicate) is not None, predicate  # P41 is the licence
    assert isinstance(g.value(ONTOLOGY_IRI, DCTERMS.license), URIRef)


# --- declarations (OOPS! P34, P35; "no term used without declaration") ----------------------


def test_every_cop_term_used_is_declared(g, entities):
    used = {t for triple in g for t in triple if isinstance(t, URIRef) and t.startswith(str(COP))}
    assert not sorted(used - entities)


def test_every_predicate_is_declared_or_built_in(g):
    """OOPS! P35: untyped property."""
    declared = {p for kind in PROPERTY_KINDS for p in _of_kind(g, kind)}
    undeclared = {p for p in g.predicates() if not _is_built_in(p)} - declared
    assert not undeclared


def test_every_class_used_is_declared(g):
    """OOPS! P34: untyped class, wherever a class is expected."""
    classes = _of_kind(g, OWL.Class)
    used = set()
    for s, o in g.subject_objects(RDF.type):
        if isinstance(s, URIRef) and isinstance(o, URIRef) and not _is_built_in(o):
            used.add(o)
    for predicate in CLASS_POSITIONS:
        for s, o in g.subject_objects(predicate):
            if predicate in (RDFS.domain, RDFS.range) and (s, RDF.type, OWL.DatatypeProperty) in g:
                continue  # datatype ranges are datatypes, not classes
            if isinstance(o, URIRef):
                used.add(o)
    for node in list(g.objects(None, OWL.unionOf)) + list(g.objects(None, OWL.intersectionOf)) + \
            list(g.objects(None, OWL.members)):
        used |= {m for m in _list_members(g, node) if isinstance(m, URIRef)}
    undeclared = {c for c in used if c != OWL.Thing and not _is_built_in(c)} - classes
    assert not undeclared


def test_every_named_individual_has_a_class(g):
    assert not [i for i in _of_kind(g, OWL.NamedIndividual)
                if not [t for t in g.objects(i, RDF.type) if t != OWL.NamedIndividual]]


# --- properties (OOPS! P11, P13, P19, P25, P26, P33; OWL 2 DL) --------------------------------


def test_object_properties_have_exactly_one_domain_and_one_range(g):
    """OOPS! P11 (missing) and P19 (multiple): unions are written as one owl:unionOf domain."""
    bad = {p: (len(list(g.objects(p, RDFS.domain))), len(list(g.objects(p, RDFS.range))))
           for p in _of_kind(g, OWL.ObjectProperty)}
    assert {p: n for p, n in bad.items() if n != (1, 1)} == {}


def test_datatype_properties_have_exactly_one_domain_and_one_range(g):
    bad = {p: (len(list(g.objects(p, RDFS.domain))), len(list(g.objects(p, RDFS.range))))
           for p in _of_kind(g, OWL.DatatypeProperty)}
    assert {p: n for p, n in bad.items() if n != (1, 1)} == {}


def test_text_properties_use_a_range_every_reasoner_accepts_and_their_values_are_tagged(g):
    """rdf:langString as a range makes Pellet call tagged literals ill-typed (issue 14); rdf:PlainLiteral
    does not, but admits untagged text, so the tag is checked here for the ontology and by SHACL for cases."""
    assert set(g.subjects(RDFS.range, RDF.langString)) == set()
    text_properties = set(g.subjects(RDFS.range, RDF.PlainLiteral))
    assert {COP.city, COP.province, COP.description, COP.quotation, COP.justification, COP.statement} <= text_properties
    untagged = [(s, p, o) for p in text_properties for s, o in g.subject_objects(p) if not o.language]
    assert untagged == []
    assert any(True for p in text_properties for _ in g.subject_objects(p))


def test_declared_inverses_mirror_domain_and_range(g):
    """OOPS! P13 policy, P25 (inverse of itself) and P26 (inverse of a symmetric property)."""
    pairs = list(g.subject_objects(OWL.inverseOf))
    assert pairs
    for p, q in pairs:
        assert p != q
        assert (p, RDF.type, OWL.SymmetricProperty) not in g and (q, RDF.type, OWL.SymmetricProperty) not in g
        assert g.value(p, RDFS.domain) == g.value(q, RDFS.range)
        assert g.value(p, RDFS.range) == g.value(q, RDFS.domain)


def test_property_chains_have_at_least_two_links(g):
    """OOPS! P33."""
    chains = {p: _list_members(g, c) for p, c in g.subject_objects(OWL.propertyChainAxiom)}
    assert COP.supportsOutcome in chains
    assert all(len(links) >= 2 for links in chains.values())


def test_no_property_is_both_annotation_and_data_or_object_property(g):
    annotation = _of_kind(g, OWL.AnnotationProperty)
    assert not annotation & (_of_kind(g, OWL.DatatypeProperty) | _of_kind(g, OWL.ObjectProperty))
    assert not _of_kind(g, OWL.DatatypeProperty) & _of_kind(g, OWL.ObjectProperty)


def test_non_simple_properties_stay_out_of_cardinality_and_characteristics(g):
    """OWL 2 DL global restrictions: a property with a chain (or a super-property of one) is non-simple."""
    non_simple = set(g.subjects(OWL.propertyChainAxiom, None)) | set(g.subjects(RDF.type, OWL.TransitiveProperty))
    changed = True
    while changed:
        supers = {sup for p in non_simple for sup in g.objects(p, RDFS.subPropertyOf)}
        inverses = {q for p in non_simple for q in g.objects(p, OWL.inverseOf)} | \
                   {p for p, q in g.subject_objects(OWL.inverseOf) if q in non_simple}
        changed = not (supers | inverses) <= non_simple
        non_simple |= supers | inverses
    assert COP.supportsOutcome in non_simple
    forbidden = (OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.IrreflexiveProperty,
                 OWL.AsymmetricProperty)
    assert not [(p, k) for p in non_simple for k in forbidden if (p, RDF.type, k) in g]
    cardinality = (OWL.cardinality, OWL.minCardinality, OWL.maxCardinality, OWL.qualifiedCardinality,
                   OWL.minQualifiedCardinality, OWL.maxQualifiedCardinality)
    restricted = {g.value(r, OWL.onProperty) for c in cardinality for r in g.subjects(c, None)}
    assert not restricted & non_simple
    assert not [p for p in non_simple if list(g.objects(p, OWL.propertyDisjointWith))]


# --- classes (OOPS! P04, P06, P10, P24; ROBOT multiple_equivalent_classes, equivalent_pair,
#     multiple_asserted_superclasses) --------------------------------------------------------


def test_no_cycles_in_the_class_hierarchy(g):
    """OOPS! P06."""
    parents = defaultdict(set)
    for s, o in g.subject_objects(RDFS.subClassOf):
        if isinstance(s, URIRef) and isinstance(o, URIRef):
            parents[s].add(o)

    def ancestors(c, path=()):
        for p in parents[c]:
            assert p not in path + (c,), f"cycle through {c}"
            ancestors(p, path + (c,))

    for c in list(parents):
        ancestors(c)


def test_no_recursive_definitions(g):
    """OOPS! P24: a class's own equivalence must not mention it."""
    for c, expression in g.subject_objects(OWL.equivalentClass):
        if isinstance(expression, BNode):
            assert c not in _mentions(g, expression), c


def test_disjointness_is_stated(g):
    """OOPS! P10, and the four mode classes in particular."""
    groups = [set(_list_members(g, m)) for m in g.objects(None, OWL.members)]
    assert {COP.AdministrativeAbsorptionCase, COP.AuthoritativeCharismaticCase,
            COP.ComplementaryAdvantageCase, COP.SharingAssistedCase} in groups


def test_every_class_is_connected(g):
    """OOPS! P04: each class takes part in some axiom besides its own annotations."""
    unconnected = []
    for c in _of_kind(g, OWL.Class):
        as_subject = [p for p in g.predicates(c, None) if p in (RDFS.subClassOf, OWL.equivalentClass)]
        as_object = [p for _, p in g.subject_predicates(c) if p != RDFS.isDefinedBy]
        in_list = any(c in _list_members(g, node) for node in g.objects(None, OWL.members)) or \
            any(c in _list_members(g, node) for node in g.objects(None, OWL.unionOf))
        if not (as_subject or as_object or in_list):
            unconnected.append(c)
    assert not unconnected


def test_equivalences_are_single_and_never_between_named_classes(g):
    counts = Counter(s for s in g.subjects(OWL.equivalentClass, None) if isinstance(s, URIRef))
    assert not [c for c, n in counts.items() if n > 1], "multiple_equivalent_classes"
    assert not [(s, o) for s, o in g.subject_objects(OWL.equivalentClass) if isinstance(o, URIRef)], "equivalent_pair"


def test_classes_have_at_most_one_named_superclass(g):
    """ROBOT multiple_asserted_superclasses (WARN)."""
    counts = Counter(s for s, o in g.subject_objects(RDFS.subClassOf) if isinstance(o, URIRef))
    assert not [c for c, n in counts.items() if n > 1]


# --- naming (OOPS! P22) and claims --------------------------------------------------------


def test_cop_names_follow_one_convention(g):
    """Classes and individuals UpperCamelCase, properties lowerCamelCase, ASCII only."""
    for term in _of_kind(g, OWL.Class) | _of_kind(g, OWL.NamedIndividual):
        if term.startswith(str(COP)):
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", term[len(COP):]), term
    for kind in PROPERTY_KINDS:
        for term in _of_kind(g, kind):
            if term.startswith(str(COP)):
                assert re.fullmatch(r"[a-z][A-Za-z0-9]*", term[len(COP):]), term


def test_every_claim_is_paraphrased_typed_linked_and_sourced(g):
    claims = set(g.subjects(RDF.type, COP.Claim))
    assert len(claims) >= 30
    for claim in claims:
        assert sorted(s.language for s in _literals(g, claim, COP.statement)) == ["en", "zh"], claim
        assert len(list(g.objects(claim, COP.claimKind))) == 1, claim
        assert list(g.objects(claim, COP.about)), claim
        assert list(g.objects(claim, PROV.wasDerivedFrom)) == [COP.Zhong2019], claim


def test_claims_are_about_individuals_only(g):
    """Keeps cop:about inside OWL 2 DL: its targets must not be classes or properties."""
    non_individuals = _of_kind(g, OWL.Class) | {p for k in PROPERTY_KINDS for p in _of_kind(g, k)}
    assert not {o for o in g.objects(None, COP.about)} & non_individuals


def test_every_claim_kind_is_used(g):
    used = set(g.objects(None, COP.claimKind))
    assert set(g.subjects(RDF.type, COP.ClaimKind)) == used


def test_gaps_and_modelling_decisions_are_marked(g):
    marked = set(g.subjects(COP.notInSource, None))
    for term in (COP.NineDimensionsUnnamed, COP.CaseDetailsUnreported, COP.EnablingRisk, COP.Role,
                 COP.ModeConditionMismatchCase, COP.OtherArrangement, COP.WelfarePluralismReading):
        assert term in marked, term
    # and never on what the source does state
    for term in (COP.EmergenceMechanism, COP.AdministrativeAbsorption, COP.EnablingGovernment,
                 COP.WelfarePluralismUse, COP.MealService, COP.OperatingAtLoss, COP.PremiseAspect,
                 COP.ExpectedEffectAspect, COP.CoproductionAnalysisFramework):
        assert term not in marked, term


def test_project_vocabulary_is_marked_term_by_term(g):
    """Issue 14: the framework groupings, roles, claim kinds, extra comparison aspects and cop:aggravatedBy are
    the project's, so statement_sources counts each as a modelling decision."""
    marked = set(g.subjects(COP.notInSource, None))
    project = ({COP.MultiSubjectResponsibilitySharing, COP.CoproductionOperationMechanism, COP.CoproductionModeTypology,
                COP.StatePowerRole, COP.ClaimKind, COP.NatureOfPowerAspect, COP.MeansAspect, COP.RiskAspect,
                COP.aggravatedBy}
               | _of_kind(g, COP.Role) | _of_kind(g, COP.ClaimKind))
    assert len(project) == 9 + 9 + 10
    assert project - marked == set()
    # The source names only two comparison aspects: every other one is marked.
    assert _of_kind(g, COP.ComparisonAspect) - marked == {COP.PremiseAspect, COP.ExpectedEffectAspect}


def test_mode_glosses_are_marked_on_the_definition_not_the_mode(g):
    """A mode is the source's; the gloss in its definition is the project's, so the definition axiom is marked."""
    modes = _of_kind(g, COP.CoproductionMode)
    assert len(modes) == 4
    for mode in modes:
        (definition,) = _literals(g, mode, SKOS.definition)
        axioms = [a for a in g.subjects(OWL.annotatedSource, mode)
                  if (a, OWL.annotatedProperty, SKOS.definition) in g and (a, OWL.annotatedTarget, definition) in g]
        assert len(axioms) == 1, mode
        assert "gloss" in str(g.value(axioms[0], COP.notInSource)), mode


# --- issue 14: conditions as the source lists them, and the concepts it names ------------------------------


def test_each_condition_the_source_lists_is_a_condition_of_its_own(g):
    """A sentence that names two conditions gives two; "or" between them makes them alternatives."""
    modes = {mode: set(g.objects(mode, COP.hasApplicationCondition)) for mode in _of_kind(g, COP.CoproductionMode)}
    assert modes == {
        COP.AdministrativeAbsorption: {COP.ServiceImmature, COP.AreaNeedsTopDownDeployment, COP.PartnersWeak,
                                       COP.FewPartnersToChooseFrom},
        COP.AuthoritativeCharismatic: {COP.LeadersHaveRichSocialTies, COP.PartnersStrongProfessionals},
        COP.ComplementaryAdvantage: {COP.MeasurableMarketStandard, COP.ComparableMarketObject,
                                     COP.PartnersStrongProfessionals},
        COP.SharingAssisted: {COP.ServiceMustTransform, COP.ServiceMustUpgrade,
                              COP.PartnersSomewhatStrongButLackKeyResources},
    }
    for merged in (COP.PartnersWeakAndFew, COP.ResultsMeasurableByMarket, COP.ServiceMustTransformOrUpgrade,
                   COP.conditionsAreAlternatives):
        assert (merged, None, None) not in g and (None, None, merged) not in g, merged
    # The alternatives, read both ways (the property is symmetric), are exactly the source's "or"s.
    assert (COP.alternativeCondition, RDF.type, OWL.SymmetricProperty) in g
    pairs = {frozenset(pair) for pair in g.subject_objects(COP.alternativeCondition)}
    sharing = (COP.ServiceMustTransform, COP.ServiceMustUpgrade, COP.PartnersSomewhatStrongButLackKeyResources)
    assert pairs == {frozenset((COP.MeasurableMarketStandard, COP.ComparableMarketObject))} | {
        frozenset((a, b)) for a in sharing for b in sharing if a != b}
    assert (COP.failsCondition, OWL.propertyDisjointWith, COP.meetsCondition) in g
    conditions = _of_kind(g, COP.ApplicationCondition)
    assert len(conditions) == 11
    assert any(set(_list_members(g, m)) == conditions for m in g.objects(None, OWL.distinctMembers))


NAMED_BY_THE_SOURCE = {  # term -> the abstract's words it rests on (a test reads them in the abstract's record)
    COP.Uncertainty: "eliminate the uncertainty of the future development of the organization",
    COP.NonGovernmentalOpportunism: "Opportunistic behavior of non-governmental organization also amplifies uncertainty",
    COP.FunctionTransfer: "through the way of transferring functions",
    COP.TechnicalRationality: "staring from technology rationality",
    COP.OpenSpace: "developing in open space",
    COP.StableRationality: "moving towards stable rationality",
    COP.RapidAgeingOfTheOldestOld: "The venerable age developing in high speed",
    COP.LivingWithDisease: "living with disease",
    COP.AgeingWithDisability: "aging with disability",
    COP.PartnersWeak: "the partners are weak in strength",
    COP.FewPartnersToChooseFrom: "few in choice",
    COP.MeasurableMarketStandard: "has a measurable market standard",
    COP.ComparableMarketObject: "a comparable market object",
    COP.ServiceMustTransform: "the service needs to be transformed",
    COP.ServiceMustUpgrade: "or upgraded",
}


def test_terms_added_for_the_sources_concepts_rest_on_its_words_and_a_claim(g):
    # The abstract is the project's shared seed beside the checkout (../shared, or ../../shared from a worktree).
    root = Settings().ontology.parent.parent
    found = [d / "shared" / "seed" / "coproduction-elderly-care-abstract.txt" for d in (root.parent, root.parent.parent)]
    text = next((f.read_text(encoding="utf-8") for f in found if f.exists()), None)
    claimed = {o for claim in g.subjects(RDF.type, COP.Claim) for o in g.objects(claim, COP.about)
               if (claim, PROV.wasDerivedFrom, COP.Zhong2019) in g}
    marked = set(g.subjects(COP.notInSource, None))
    for term, words in NAMED_BY_THE_SOURCE.items():
        assert (term, RDF.type, OWL.NamedIndividual) in g, term
        assert term in claimed and term not in marked, term
        if text is not None:  # an installed copy has no seed beside it
            assert " ".join(words.split()) in text, words
    assert (COP.Coproduction, COP.reduces, COP.Uncertainty) in g
    assert {s for s in g.subjects(COP.amplifies, COP.Uncertainty)} == {COP.EmpoweringGovernment,
                                                                      COP.NonGovernmentalOpportunism}
    assert (COP.EmpoweringGovernment, COP.transfersRightsThrough, COP.FunctionTransfer) in g
    assert [(p, o) for p, o in g.predicate_objects(COP.Coproduction) if p in (COP.startsFrom, COP.developsIn, COP.movesToward)] \
        and {(COP.startsFrom, COP.TechnicalRationality), (COP.developsIn, COP.OpenSpace),
             (COP.movesToward, COP.StableRationality)} <= set(g.predicate_objects(COP.Coproduction))
    assert (COP.IllnessAndDisabilityInOldAge, None, None) not in g  # split into the two above
