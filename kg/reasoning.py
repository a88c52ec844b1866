"""OWL 2 RL materialisation into the inferred graph, and HermiT classification of cases into modes.

Case graphs are reasoned a batch at a time against the closed ontology, which keeps memory bounded at
millions of triples; _BatchReasoner checks that this gives the same closure as one run over everything.
Terms are handled as their N-Triples text (`<iri>`, `_:id`, `"lexical"@lang`, `"lexical"^^<dt>`): sets of
such strings hash and compare in C, where rdflib terms compare in Python, and they go into the store's
update text as they are.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

import pyoxigraph as ox
import reasonable
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import ReasoningError
from kg.namespaces import COP, INFERRED_GRAPH, ONTOLOGY_GRAPH

Triple = tuple[str, str, str]  # N-Triples text of subject, predicate, object


def nt(term: URIRef | BNode | Literal) -> str:
    """Write an rdflib term as N-Triples text, spelled exactly as Oxigraph prints it."""
    if type(term) is URIRef:
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        text = str(term).translate(_ESCAPES)
        if term.language:
            return f'"{text}"@{term.language.lower()}'
        if term.datatype is None or term.datatype == XSD.string:  # a simple literal goes without datatype
            return f'"{text}"'
        return f'"{text}"^^<{term.datatype}>'
    return f"<{term}>"  # URIRef subclasses, such as rdflib's namespace terms


# How Oxigraph escapes a literal in N-Triples: a letter for five control characters, \uXXXX for the rest.
_ESCAPES = {code: f"\\u{code:04X}" for code in [*range(0x20), 0x7F]}
_ESCAPES.update({ord(c): e for c, e in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"),
                                        ("\t", "\\t"), ("\b", "\\b"), ("\f", "\\f"))})
_UNESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_UNESCAPED = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if len(code) > 1 else _UNESCAPED[code]


def _to_rdflib(text: str, *, for_reasoner: bool = False):
    """Turn N-Triples text back into an rdflib term.

    for_reasoner: build literals without their Python value; reasonable reads only the lexical form,
    language and datatype, and Literal() would parse every date and number (10x slower).
    """
    if text[0] == "<":
        # The IRI was checked when it entered the store or rdflib; skip rdflib's slow re-validation.
        return str.__new__(URIRef, text[1:-1])
    if text[0] == "_":
        return str.__new__(BNode, text[2:])
    end = text.rindex('"')
    lexical = _UNESCAPE.sub(_unescape, text[1:end]) if "\\" in text else text[1:end]
    suffix = text[end + 1:]
    language = suffix[1:] if suffix.startswith("@") else None
    datatype = str.__new__(URIRef, suffix[3:-1]) if suffix.startswith("^^") else None
    if not for_reasoner:
        return Literal(lexical, lang=language, datatype=datatype)
    literal = str.__new__(Literal, lexical)
    literal._language, literal._datatype, literal._value, literal._ill_typed = language, datatype, None, None
    return literal


# IRIs the rules use, as N-Triples text.
TYPE, SAME_AS, NIL, FIRST, REST = nt(RDF.type), nt(OWL.sameAs), nt(RDF.nil), nt(RDF.first), nt(RDF.rest)
SUB_CLASS, EQUIVALENT_CLASS = nt(RDFS.subClassOf), nt(OWL.equivalentClass)
SUB_PROPERTY, EQUIVALENT_PROPERTY = nt(RDFS.subPropertyOf), nt(OWL.equivalentProperty)
DOMAIN, RANGE, THING, NOTHING = nt(RDFS.domain), nt(RDFS.range), nt(OWL.Thing), nt(OWL.Nothing)
INTERSECTION_OF, UNION_OF, ONE_OF = nt(OWL.intersectionOf), nt(OWL.unionOf), nt(OWL.oneOf)
ON_PROPERTY, ON_CLASS, HAS_VALUE = nt(OWL.onProperty), nt(OWL.onClass), nt(OWL.hasValue)
SOME_VALUES_FROM, ALL_VALUES_FROM = nt(OWL.someValuesFrom), nt(OWL.allValuesFrom)
PROPERTY_CHAIN, HAS_KEY = nt(OWL.propertyChainAxiom), nt(OWL.hasKey)
MAX_CARDINALITY, MAX_QUALIFIED_CARDINALITY = nt(OWL.maxCardinality), nt(OWL.maxQualifiedCardinality)
OWL_CLASS, OBJECT_PROPERTY, DATATYPE_PROPERTY = nt(OWL.Class), nt(OWL.ObjectProperty), nt(OWL.DatatypeProperty)

# The defined classes a case is classified into (docs/design.md, "Cases, levels and modes").
MODE_CLASSES = (
    COP.AdministrativeAbsorptionCase,
    COP.AuthoritativeCharismaticCase,
    COP.ComplementaryAdvantageCase,
    COP.SharingAssistedCase,
)

# Triples about the RDF/RDFS/OWL/XSD vocabulary itself (owlrl's axiomatic `xsd:string a rdfs:Datatype`,
# `rdfs:label a owl:AnnotationProperty`, ...) hold in every graph and say nothing about ours.
BUILT_IN_NAMESPACES = tuple(f"<{ns}" for ns in (RDF, RDFS, OWL, XSD))
REFLEXIVE_TAUTOLOGIES = {SAME_AS, SUB_CLASS, EQUIVALENT_CLASS, SUB_PROPERTY, EQUIVALENT_PROPERTY}
THING_TAUTOLOGIES = {TYPE, SUB_CLASS, DOMAIN, RANGE}

# A property that occurs as a subject only in these shapes takes part in no OWL 2 RL rule except
# through owl:sameAs, prp-dom and prp-rng; its triples skip the reasoner (see _split_passive).
DECLARATION_CLASSES = {nt(c) for c in (OWL.DatatypeProperty, OWL.ObjectProperty, OWL.AnnotationProperty,
                                       RDF.Property, OWL.Thing)}
ANNOTATION_LINKS = {nt(RDFS.isDefinedBy), nt(RDFS.seeAlso)}
# Built-in predicates that no rule reads unless the schema names them; every other built-in counts.
BUILT_IN_ANNOTATIONS = {nt(p) for p in (RDFS.label, RDFS.comment, RDFS.isDefinedBy, RDFS.seeAlso,
                                        OWL.versionInfo, OWL.deprecated)}
# Predicates of the schema triples that the supplementary rules read.
SCHEMA_PREDICATES = {
    SUB_CLASS, EQUIVALENT_CLASS, SUB_PROPERTY, EQUIVALENT_PROPERTY, DOMAIN, RANGE, INTERSECTION_OF, UNION_OF,
    ONE_OF, ON_PROPERTY, ON_CLASS, HAS_VALUE, SOME_VALUES_FROM, ALL_VALUES_FROM, PROPERTY_CHAIN, HAS_KEY,
    MAX_CARDINALITY, MAX_QUALIFIED_CARDINALITY, FIRST, REST,
}


# Case graphs per reasoner run: large enough that re-reasoning the closed ontology with each batch costs
# little (about 35 ms a batch), small enough that the reasoner's memory stays a few hundred MB.
BATCH_TRIPLES = 50_000


def materialise(store, *, batch_triples: int = BATCH_TRIPLES) -> int:
    """Replace the store's inferred graph by the OWL 2 RL entailments of all asserted graphs; return their count.

    The graphs are reasoned a batch at a time against the closed ontology graph (see _BatchReasoner), so
    the reasoner's memory is bounded by the batch size; if the data links batches in a way that could
    entail more, everything is reasoned at once instead. The result is the same either way.

    Raises:
        ReasoningError: the reasoner failed on the data (the inferred graph is left as it was).
    """
    try:
        inferred, previous = _reason_in_batches(store, batch_triples)
    except _NotLocal:
        ontology, other = asserted_triples(store)
        inferred = {f"{s} {p} {o} ." for s, p, o in entailments(other, ontology=ontology) if _storable((s, p, o))}
        previous = {f"{t.subject} {t.predicate} {t.object} ." for t in
                    store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH)))}
    count, update = len(inferred), _replacement_update(previous, inferred)
    del inferred, previous  # at 10M triples these sets hold about 0.5 GB that the update no longer needs
    if update:
        # One update is one transaction: readers see the old inferred graph or the new one, never a mix,
        # and a crash part-way leaves the old one. checked=True: the text is our own N-Triples terms.
        store.update(update, checked=True)
    return count


def _storable(triple: Triple) -> bool:
    # Entailments about anonymous class expressions and list cells are left out: SPARQL Update cannot
    # name an existing blank node, so they could only be stored as copies that mean nothing.
    return triple[0][0] != "_" and triple[2][0] != "_"


def _replacement_update(previous: set[str], inferred: set[str]) -> str:
    """Write the update that turns the inferred graph from `previous` into `inferred` (N-Triples lines); "" if equal."""
    graph = f"GRAPH <{INFERRED_GRAPH}>"
    if any(line[0] == "_" or " _:" in line for line in previous):
        # Someone stored a blank node there, which DELETE DATA cannot name: rewrite the graph whole.
        operations = [f"DROP SILENT {graph}", f"INSERT DATA {{ {graph} {{\n" + "\n".join(inferred) + "\n} }"]
    else:
        # Only the difference is written: after loading a few cases, most inferences are already there.
        stale, fresh = previous - inferred, inferred - previous if previous else inferred
        operations = ([f"DELETE DATA {{ {graph} {{\n" + "\n".join(stale) + "\n} }"] if stale else []) + (
            [f"INSERT DATA {{ {graph} {{\n" + "\n".join(fresh) + "\n} }"] if fresh else [])
    return " ;\n".join(operations)


def _reason_in_batches(store, batch_triples: int) -> tuple[set[str], set[str]]:
    """Reason the store's asserted graphs in batches: (new inferred graph lines, current inferred graph lines).

    Raises:
        _NotLocal: the data links batches; reason over everything at once instead.
    """
    ontology_graph, inferred_graph = ox.NamedNode(str(ONTOLOGY_GRAPH)), ox.NamedNode(str(INFERRED_GRAPH))
    ontology = {triple for _, triple in _text_quads(store.ox.quads_for_pattern(None, None, None, ontology_graph))}
    reasoner = _BatchReasoner(ontology)
    inferred = {f"{s} {p} {o} ." for s, p, o in reasoner.ontology_entailments() if _storable((s, p, o))}
    previous: set[str] = set()
    batch: list[Triple] = []
    graph = None
    # One iterator reads a snapshot of the store, graph after graph; a batch ends only between graphs.
    for name, triple in _text_quads(store.quads()):
        if name != graph:
            graph = name
            if len(batch) >= batch_triples:
                inferred.update(f"{s} {p} {o} ." for s, p, o in reasoner.reason(batch) if _storable((s, p, o)))
                batch = []
        if graph == inferred_graph:
            previous.add("{} {} {} .".format(*triple))
        elif graph != ontology_graph:
            batch.append(triple)
    if batch:
        inferred.update(f"{s} {p} {o} ." for s, p, o in reasoner.reason(batch) if _storable((s, p, o)))
    return inferred, previous


def _text_quads(quads: Iterable[ox.Quad]) -> Iterator[tuple[ox.NamedNode | ox.BlankNode | ox.DefaultGraph, Triple]]:
    """Yield each quad's graph name and its triple as N-Triples text (which is how Oxigraph prints terms)."""
    for quad in quads:
        yield quad.graph_name, (str(quad.subject), str(quad.predicate), str(quad.object))


def _tautology(triple: Triple) -> bool:
    """Tell whether a triple holds in any graph: x sameAs x (eq-ref), C subClassOf C (scm-cls), x a owl:Thing, ..."""
    s, p, o = triple
    return (s == o and p in REFLEXIVE_TAUTOLOGIES) or (o == THING and p in THING_TAUTOLOGIES) or (
        s == NOTHING and p == SUB_CLASS)


# rdf:type objects that no OWL 2 RL rule reads; any other built-in class (owl:TransitiveProperty, ...) is schema.
INERT_BUILT_IN_CLASSES = {THING, nt(OWL.NamedIndividual)}


class _NotLocal(Exception):
    """The batches are linked: some inference could need triples from two of them."""


class _BatchReasoner:
    """Reason batches of case triples one at a time against the closed ontology, checking that this is exact.

    The union of the batches' closures is the closure of everything when no rule instance needs
    premises from two batches. Terms are of two kinds here: *shared* terms, those of the closed
    ontology, occur in every batch's closure; any other term is *local* if the batch uses it as a node
    (subject, or object of a triple other than rdf:type) and occurs in no other batch. Predicates and
    classes of the data alone may recur (as predicate or rdf:type object only): OWL 2 RL joins two data
    triples on a predicate or class only through a schema triple that uses it as a node.
    So premises from two batches can only meet on a shared term (or a literal), and each OWL 2 RL rule
    that joins two data triples on such a term t needs a triple with t as subject and a particular
    predicate: owl:sameAs (eq-*), a functional (prp-fp), transitive (prp-trp), chain-link (prp-spo2) or
    max-cardinality (cls-maxc2, cls-maxqc3/4) property, a schema predicate (scm-*), or rdf:type with a
    class that an intersection (cls-int1), someValuesFrom (cls-svf1), allValuesFrom (cls-avf) or
    cardinality restriction reads. Only prp-ifp and prp-key join on objects, which can be shared
    terms or equal literals. Those joining predicates and classes are read from the closed ontology,
    so a batch's own schema must not add any: a schema triple (built-in predicate other than rdf:type
    and annotations) of a batch may point only at the batch's own nodes. So the batches are exact
    unless the ontology has inverse-functional properties or keys, a batch reuses another's node,
    a batch's closure has a triple of the kinds above about a term that is not its own, or a schema
    triple of a batch points outside it: each of these raises _NotLocal.
    """

    def __init__(self, ontology: set[Triple]) -> None:
        self.ontology = ontology
        self.closed = owl_rl_closure(ontology) if ontology else set()
        self.shared = {term for triple in self.closed for term in triple}
        schema = _Schema(_index(self.closed, SCHEMA_PREDICATES | {TYPE}))
        types = defaultdict(set)
        for s, _, o in schema.by_predicate[TYPE]:
            types[o].add(s)
        if types[nt(OWL.InverseFunctionalProperty)] or schema.by_predicate[HAS_KEY]:
            raise _NotLocal("prp-ifp and prp-key join triples on their objects")
        limited = {r for r, _ in schema.pairs(MAX_CARDINALITY) + schema.pairs(MAX_QUALIFIED_CARDINALITY)}
        on_property = dict(schema.pairs(ON_PROPERTY))
        self.joining_predicates = (
            {SAME_AS} | types[nt(OWL.FunctionalProperty)] | types[nt(OWL.TransitiveProperty)]
            | {link for _, head in schema.pairs(PROPERTY_CHAIN) for link in schema.members(head)}
            | {on_property[r] for r in limited if r in on_property})
        self.joining_classes = (
            {m for _, head in schema.pairs(INTERSECTION_OF) for m in schema.members(head)}
            | {v for _, v in schema.pairs(SOME_VALUES_FROM)} | {r for r, _ in schema.pairs(ALL_VALUES_FROM)}
            | limited | {c for _, c in schema.pairs(ON_CLASS)}) - {THING}  # cls-svf2 needs no join
        self.nodes_seen: set[int] = set()  # hashes of earlier batches' nodes: memory for 10M triples stays small
        self.vocabulary_seen: set[str] = set()
        self.repeatable: set[Triple] = set()  # entailments about terms of no batch, which batches may share

    def ontology_entailments(self) -> set[Triple]:
        """Return the entailments of the ontology alone."""
        return {t for t in self.closed - self.ontology if not is_trivial(t)}

    def reason(self, batch: list[Triple]) -> list[Triple]:
        """Return the entailments of ontology + batch that neither the ontology alone nor the batch holds.

        Raises:
            _NotLocal: the batch shares a node with an earlier one, or entails a joining triple about a
                term that is not its own.
        """
        nodes, vocabulary = self._check_terms(batch)
        asserted = set(batch)
        closure = owl_rl_closure(self.closed | asserted)
        out = []
        for triple in closure:
            if triple in self.closed:
                continue
            s, p, o = triple
            if s not in nodes:  # asserted or entailed about a term that is not the batch's own
                if self._may_join(triple, nodes):
                    raise _NotLocal(f"the batch holds {s} {p} {o}, which another batch could join with")
                if triple in asserted or triple in self.repeatable:
                    continue
                self.repeatable.add(triple)
            else:
                if p != TYPE and p.startswith(BUILT_IN_NAMESPACES) and self._may_join(triple, nodes):
                    raise _NotLocal(f"the batch holds schema triple {s} {p} {o}, which points outside it")
                if triple in asserted:
                    continue
            if not is_trivial(triple):
                out.append(triple)
        self.nodes_seen.update(map(hash, nodes))
        self.vocabulary_seen |= vocabulary
        return out

    def _may_join(self, triple: Triple, nodes: set[str]) -> bool:
        """Tell whether a triple of this batch could meet one of another batch in a two-premise rule."""
        s, p, o = triple
        if _tautology(triple):
            return False
        schema = p != TYPE and p.startswith(BUILT_IN_NAMESPACES) and p not in BUILT_IN_ANNOTATIONS
        if s in nodes:
            # The batch's own schema (a restriction, list or axiom) pointing at a term it shares would make
            # that term joining for every batch: `_:r owl:someValuesFrom cop:D`, `_:l rdf:first cop:p`.
            return schema and o not in nodes and o[0] != '"' and not o.startswith(BUILT_IN_NAMESPACES)
        return schema or p in self.joining_predicates or p == TYPE and (
            o in self.joining_classes or o.startswith(BUILT_IN_NAMESPACES) and o not in INERT_BUILT_IN_CLASSES)

    def _check_terms(self, batch: list[Triple]) -> tuple[set[str], set[str]]:
        """Return the batch's local nodes and its other (predicate, class) terms, after checking they are its own."""
        nodes, vocabulary = set(), set()
        for s, p, o in batch:
            nodes.add(s)
            vocabulary.add(p)
            if p == TYPE:
                vocabulary.add(o)
            elif o[0] != '"':
                nodes.add(o)
        nodes -= self.shared
        vocabulary -= self.shared | nodes
        seen = self.nodes_seen
        if not nodes.isdisjoint(self.vocabulary_seen) or any(hash(t) in seen for t in nodes | vocabulary):
            raise _NotLocal("a batch uses a node of an earlier batch, or a node of its own occurs in an earlier one")
        return nodes, vocabulary


def asserted_triples(store) -> tuple[set[Triple], set[Triple]]:
    """Read the store's asserted graphs: (ontology graph triples, all other graphs' triples)."""
    ontology_graph, inferred_graph = ox.NamedNode(str(ONTOLOGY_GRAPH)), ox.NamedNode(str(INFERRED_GRAPH))
    ontology, other = set(), set()
    for graph, triple in _text_quads(store.quads()):
        if graph != inferred_graph:
            (ontology if graph == ontology_graph else other).add(triple)
    return ontology, other


def entailments(triples: Iterable[Triple], *, ontology: Iterable[Triple] = ()) -> set[Triple]:
    """Return the non-trivial OWL 2 RL entailments of ontology + triples that are not themselves asserted.

    Raises:
        ReasoningError: the reasoner failed on the data.
    """
    ontology = set(ontology)
    asserted = ontology | set(triples)
    # The ontology alone is closed first: it is small, and its property chains (cop:supportsOutcome)
    # and schema rules then need no second pass of the reasoner over the case data.
    terms = _RdflibTerms()
    ontology_closure = owl_rl_closure(ontology, terms) if ontology else set()
    closure = owl_rl_closure(ontology_closure | asserted, terms)
    return {t for t in closure - asserted if not is_trivial(t)}


def owl_rl_closure(triples: set[Triple], terms: dict | None = None, *, split: bool = True) -> set[Triple]:
    """Return the OWL 2 RL closure of `triples` (including them): reasonable, plus the rules it lacks, to a fixpoint.

    Raises:
        ReasoningError: the reasoner failed on the data.
    """
    relevant, passive = _split_passive(triples) if split else (triples, set())
    terms = _RdflibTerms() if terms is None else terms
    # Index, while reading the reasoner's output, the triples the supplementary rules will read.
    watched = _Schema(_index(relevant, SCHEMA_PREDICATES)).predicates_read()
    reasoner = reasonable.PyReasoner()
    batch, closure, schema = relevant, set(), _Schema({})
    spellings: dict[str, str] = {}
    while batch:
        # Additions only, so reasonable carries on from its previous state.
        _guarded(reasoner.from_graph, [(terms[s], terms[p], terms[o]) for s, p, o in batch])
        spellings.update(_respelled_literals(batch))
        closure, index = _reason(reasoner, watched, spellings)
        schema = _Schema(index)
        if not schema.predicates_read() <= watched:  # reasoning named a new chain link or key property
            watched |= schema.predicates_read()
            schema = _Schema(_index(closure, watched))
        batch = schema.conclusions(closure) - closure
    same_as = [t for t in schema.by_predicate[SAME_AS] if t[0] != t[2]]
    if {s for s, _, _ in same_as} & {p for _, p, _ in passive}:
        # A passive predicate has an equal (eq-rep-p), which the split cannot follow: reason on everything.
        return owl_rl_closure(triples, terms, split=False)
    return closure | passive | _replace_equals(passive, same_as)


class _RdflibTerms(dict):
    """N-Triples text -> rdflib term, converting each distinct term once."""

    def __missing__(self, text: str):
        term = self[text] = _to_rdflib(text, for_reasoner=True)
        return term


def _guarded(call, *args):
    """Call into reasonable, which reports bad input as a Rust panic (a BaseException)."""
    try:
        return call(*args)
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        raise ReasoningError(f"OWL 2 RL reasoner (reasonable) failed: {e}") from e


def _respelled_literals(triples: Iterable[Triple]) -> dict[str, str]:
    """Map the spelling rdflib gives a literal ("...T00:00:00+00:00") back to the input's ("...T00:00:00Z")."""
    spellings = {}
    for text in {o for _, _, o in triples if o[0] == '"' and o[-1] == ">"}:
        respelled = nt(_to_rdflib(text))
        if respelled != text:
            spellings[respelled] = text
    return spellings


def _reason(reasoner, watched: set[str], spellings: dict[str, str]) -> tuple[set[Triple], dict[str, list[Triple]]]:
    """Run reasonable; return its closure as N-Triples text, and its triples with a watched predicate."""
    closure, index = set(), defaultdict(list)
    add, uri = closure.add, URIRef
    for s, p, o in _guarded(reasoner.reason):
        # The common case (an IRI) inline: this loop runs once per triple of the closure. reasonable
        # hands literals to rdflib, which may re-spell a typed one; put back the spelling it came with.
        o = f"<{o}>" if type(o) is uri else spellings.get(nt(o)) or nt(o)
        triple = (f"<{s}>" if type(s) is uri else nt(s), f"<{p}>", o)
        add(triple)
        if triple[1] in watched:
            index[triple[1]].append(triple)
    return closure, index


def _index(triples: Iterable[Triple], predicates: set[str]) -> dict[str, list[Triple]]:
    index = defaultdict(list)
    for triple in triples:
        if triple[1] in predicates:
            index[triple[1]].append(triple)
    return index


def is_trivial(triple: Triple) -> bool:
    """Tell whether an entailment is noise that holds in any graph: reflexive sameAs and its kin."""
    s, p, o = triple
    if s[0] == '"':  # generalised RDF (datatype facts about literals): not storable as RDF
        return True
    return _tautology(triple) or s.startswith(BUILT_IN_NAMESPACES)


class _Schema:
    """Read the schema triples of a closure and derive what reasonable leaves out."""

    def __init__(self, by_predicate: dict[str, list[Triple]]) -> None:
        self.by_predicate = defaultdict(list, by_predicate)
        self.first = {s: o for s, _, o in self.by_predicate[FIRST]}
        self.rest = {s: o for s, _, o in self.by_predicate[REST]}

    def predicates_read(self) -> set[str]:
        """Name every predicate whose triples the rules below read."""
        on_property = dict(self.pairs(ON_PROPERTY))
        chain_links = {link for _, head in self.pairs(PROPERTY_CHAIN) for link in self.members(head)}
        key_properties = {p for _, head in self.pairs(HAS_KEY) for p in self.members(head)}
        limited = {on_property[r] for r, _ in self.pairs(MAX_CARDINALITY) + self.pairs(MAX_QUALIFIED_CARDINALITY)
                   if r in on_property}
        needs_types = {TYPE} if key_properties or limited else set()
        return SCHEMA_PREDICATES | {SAME_AS} | chain_links | key_properties | limited | needs_types

    def conclusions(self, closure: set[Triple]) -> set[Triple]:
        return (
            self.property_chains()  # prp-spo2
            | self.schema_rules()  # scm-eqc1/2, scm-eqp1/2, scm-sco, scm-spo, scm-dom1/2, scm-rng1/2, scm-int, ...
            | self.one_of_members()  # cls-oo
            | self.keys_and_max_cardinality()  # prp-key, cls-maxc2, cls-maxqc3, cls-maxqc4
            | self.equal_classes_and_properties(closure)  # scm-cls, scm-op, scm-dp, then eq-rep-o
        )

    def equal_classes_and_properties(self, closure: set[Triple]) -> set[Triple]:
        """A class or property owl:sameAs another is also its equivalent and sub-class or sub-property.

        These come from the reflexive scm-cls / scm-op / scm-dp triples, which is_trivial drops and
        reasonable does not make, rewritten by owl:sameAs.
        """
        out = set()
        for x, _, y in self.by_predicate[SAME_AS]:
            if x == y:
                continue
            if (x, TYPE, OWL_CLASS) in closure:
                out |= {(x, SUB_CLASS, y), (x, EQUIVALENT_CLASS, y)}
            if (x, TYPE, OBJECT_PROPERTY) in closure or (x, TYPE, DATATYPE_PROPERTY) in closure:
                out |= {(x, SUB_PROPERTY, y), (x, EQUIVALENT_PROPERTY, y)}
        return out

    def pairs(self, predicate: str) -> list[tuple[str, str]]:
        return [(s, o) for s, _, o in self.by_predicate[predicate]]

    def members(self, head: str) -> list[str]:
        """Read an RDF list; of a malformed or cyclic list, what could be read."""
        items, seen = [], set()
        while head != NIL and head in self.first and head not in seen:
            seen.add(head)
            items.append(self.first[head])
            head = self.rest.get(head, NIL)
        return items

    def property_chains(self) -> set[Triple]:
        chains = [(p, self.members(head)) for p, head in self.pairs(PROPERTY_CHAIN)]
        out = set()
        for p, links in chains:
            if not links:
                continue
            successors = {}
            for link in set(links):
                successors[link] = step = defaultdict(set)
                for s, o in self.pairs(link):
                    step[s].add(o)
            reach = successors[links[0]]
            for link in links[1:]:
                step = successors[link]
                reach = {s: {z for y in ys if y in step for z in step[y]} for s, ys in reach.items()}
            out.update((s, p, o) for s, objects in reach.items() for o in objects)
        return out

    def schema_rules(self) -> set[Triple]:
        out: set[Triple] = set()
        uppers = {}
        for relation, equivalence in ((SUB_CLASS, EQUIVALENT_CLASS), (SUB_PROPERTY, EQUIVALENT_PROPERTY)):
            known = set(self.pairs(relation))
            for a, b in self.pairs(equivalence):  # scm-eqc1, scm-eqp1
                out |= {(a, relation, b), (b, relation, a)}
            out |= {(a, equivalence, b) for a, b in known if (b, a) in known}  # scm-eqc2, scm-eqp2
            above = defaultdict(set)
            for a, b in known:
                above[a].add(b)
            out |= {(a, relation, c) for a, b in known for c in above.get(b, ())}  # scm-sco, scm-spo
            uppers[relation] = above
        super_classes, super_props = uppers[SUB_CLASS], uppers[SUB_PROPERTY]
        below_props = defaultdict(set)
        for a, bs in super_props.items():
            for b in bs:
                below_props[b].add(a)
        for axis in (DOMAIN, RANGE):
            axioms = self.pairs(axis)
            out |= {(p, axis, d) for p, c in axioms for d in super_classes.get(c, ())}  # scm-dom1, scm-rng1
            out |= {(q, axis, c) for p, c in axioms for q in below_props.get(p, ())}  # scm-dom2, scm-rng2
        for c, head in self.pairs(INTERSECTION_OF):  # scm-int
            out |= {(c, SUB_CLASS, member) for member in self.members(head)}
        for c, head in self.pairs(UNION_OF):  # scm-uni
            out |= {(member, SUB_CLASS, c) for member in self.members(head)}
        return out | self._restriction_rules(super_classes, super_props)

    def _restriction_rules(self, super_classes, super_props) -> set[Triple]:
        """scm-hv, scm-svf1/2, scm-avf1/2: one restriction class below another."""
        on_property = dict(self.pairs(ON_PROPERTY))

        def below(a, b, uppers) -> bool:  # a ⊑ b, counting the reflexive case that scm-cls/scm-op entail
            return a == b or b in uppers.get(a, ())

        out = set()
        for filler in (HAS_VALUE, SOME_VALUES_FROM, ALL_VALUES_FROM):
            restrictions = [(c, on_property[c], v) for c, v in self.pairs(filler) if c in on_property]
            for c1, p1, v1 in restrictions:
                for c2, p2, v2 in restrictions:
                    if c1 == c2:
                        continue
                    if filler == HAS_VALUE and v1 == v2 and below(p1, p2, super_props):  # scm-hv
                        out.add((c1, SUB_CLASS, c2))
                    if filler == SOME_VALUES_FROM and (
                            (p1 == p2 and below(v1, v2, super_classes))  # scm-svf1
                            or (v1 == v2 and below(p1, p2, super_props))):  # scm-svf2
                        out.add((c1, SUB_CLASS, c2))
                    if filler == ALL_VALUES_FROM:
                        if p1 == p2 and below(v1, v2, super_classes):  # scm-avf1
                            out.add((c1, SUB_CLASS, c2))
                        if v1 == v2 and below(p1, p2, super_props):  # scm-avf2: the narrower property is broader
                            out.add((c2, SUB_CLASS, c1))
        return out

    def one_of_members(self) -> set[Triple]:
        return {(m, TYPE, c) for c, head in self.pairs(ONE_OF) for m in self.members(head)}

    def keys_and_max_cardinality(self) -> set[Triple]:
        keys = [(c, self.members(head)) for c, head in self.pairs(HAS_KEY)]
        on_property, on_class = dict(self.pairs(ON_PROPERTY)), dict(self.pairs(ON_CLASS))
        at_most_one = [(r, on_property[r], None) for r, n in self.pairs(MAX_CARDINALITY)
                       if r in on_property and _is_one(n)]
        at_most_one += [(r, on_property[r], on_class[r]) for r, n in self.pairs(MAX_QUALIFIED_CARDINALITY)
                        if r in on_property and r in on_class and _is_one(n)]
        if not keys and not at_most_one:
            return set()
        classes = {c for c, _ in keys} | {r for r, _, _ in at_most_one} | {q for _, _, q in at_most_one if q}
        properties = {p for _, links in keys for p in links} | {p for _, p, _ in at_most_one}
        members, types = defaultdict(set), defaultdict(set)
        values: dict = {p: defaultdict(set) for p in properties}
        for s, _, o in self.by_predicate[TYPE]:
            if o in classes:
                members[o].add(s)
                types[s].add(o)
        for p in properties:
            for s, o in self.pairs(p):
                values[p][s].add(o)
        out = set()
        for c, links in keys:  # prp-key
            by_key = defaultdict(list)
            for x in members[c]:
                value_sets = [values[p].get(x, set()) for p in links]
                if all(value_sets):
                    for combination in _product(value_sets):
                        by_key[combination].append(x)
            for same in by_key.values():
                out |= {(x, SAME_AS, y) for x in same for y in same if x != y}
        for r, p, qualifier in at_most_one:  # cls-maxc2, cls-maxqc3, cls-maxqc4
            for u in members[r]:
                ys = [y for y in values[p].get(u, ()) if qualifier in (None, THING) or qualifier in types[y]]
                out |= {(a, SAME_AS, b) for a in ys for b in ys if a != b}
        return out


def _is_one(number: str) -> bool:
    return number.startswith('"1"')


def _product(value_sets: list[set]) -> Iterator[tuple]:
    if not value_sets:
        yield ()
        return
    for head in value_sets[0]:
        for tail in _product(value_sets[1:]):
            yield (head, *tail)


def _split_passive(triples: set[Triple]) -> tuple[set[Triple], set[Triple]]:
    """Split off the triples of passive predicates, and give the reasoner their domain and range types instead.

    A predicate is passive when the graph names it only in predicate position, in declarations,
    annotations and its own rdfs:domain / rdfs:range triples (labels, identifiers, dates, most case
    attributes). Of the OWL 2 RL rules, only prp-dom, prp-rng and the owl:sameAs rules can read a
    passive triple `s p o`; every other rule needs a schema triple naming p as object (a chain, key,
    restriction, super-property or inverse) or as subject (a characteristic or super-property).
    So the reasoner gets `s a D` and `o a R` for p's domains D and ranges R (a range over a literal
    gives only generalised RDF), far fewer triples once deduplicated; _replace_equals applies
    owl:sameAs to the passive triples afterwards.

    Returns (triples for the reasoner, passive triples).
    """
    predicates = {p for _, p, _ in triples}
    active, domains, ranges = set(), defaultdict(set), defaultdict(set)
    for s, p, o in triples:
        if o in predicates:
            active.add(o)
        if s in predicates and o[0] != '"':
            if p == DOMAIN:
                domains[s].add(o)
            elif p == RANGE:
                ranges[s].add(o)
            elif p not in ANNOTATION_LINKS and not (p == TYPE and o in DECLARATION_CLASSES):
                active.add(s)
    active |= {p for p in predicates if p.startswith(BUILT_IN_NAMESPACES) and p not in BUILT_IN_ANNOTATIONS}
    for_reasoner, passive = set(), set()
    add_for_reasoner, add_passive = for_reasoner.add, passive.add
    for triple in triples:
        s, p, o = triple
        if p in active:
            add_for_reasoner(triple)
            continue
        add_passive(triple)
        for d in domains.get(p, ()):
            add_for_reasoner((s, TYPE, d))
        if o[0] != '"':
            for r in ranges.get(p, ()):
                add_for_reasoner((o, TYPE, r))
    return for_reasoner, passive


def _replace_equals(passive: set[Triple], same_as: list[Triple]) -> set[Triple]:
    """Apply eq-rep-s and eq-rep-o to the triples that skipped the reasoner."""
    equals = defaultdict(set)
    for s, _, o in same_as:
        if s != o:
            equals[s].add(o)
    if not equals:
        return set()
    out = set()
    for s, p, o in passive:
        for s2 in equals.get(s, set()) | {s}:
            for o2 in equals.get(o, set()) | {o}:
                out.add((s2, p, o2))
    return out
