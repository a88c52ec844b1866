"""The theory's codes as a REFI-QDA codebook (.qdc), so transcripts are coded in NVivo, ATLAS.ti or MAXQDA with them."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg import cases as cf
from kg.codebook import CODEBOOK, NOT_IN_SOURCE, Section
from kg.namespaces import COP

QDC_NAMESPACE = "urn:QDA-XML:codebook:1.0"  # REFI-QDA 1.5, section 5.2
ORIGIN = "CoproKG"
# The project's words for a condition's two codable answers (its assessment's `holds`), not the source's.
HOLDS = {"holds": ("holds", "成立", True), "fails": ("fails", "不成立", False)}


@dataclass(frozen=True)
class Code:
    """One code of the codebook: `key` is the codebook path it stands for (stage/design, condition/x/holds)."""

    key: str
    name: str
    description: str
    codable: bool
    children: tuple[Code, ...] = ()

    @property
    def guid(self) -> str:
        """The same GUID for the same code in every export, so a QDA project's codings find their code again."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CODEBOOK}{self.key}"))

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def theory_codes(sections: list[Section], ontology: Graph) -> list[Code]:
    """The theory's codes as a tree a coder meets them in: each stage with its mechanism, strategy and outcomes,
    then both levels, the application conditions (each holding or failing) and the characteristics."""
    by_key = {s.key: s for s in sections}
    yields = {strategy: [word for word, iri in cf.OUTCOME_TO_IRI.items()
                         if (cf.STRATEGY_TO_IRI[strategy], COP.yieldsOutcome, iri) in ontology] for strategy in cf.STRATEGY_TO_IRI}

    def code(section: str, word: str, children: tuple[Code, ...] = ()) -> Code:
        table = _vocabulary(section)
        return Code(f"{section}/{word}", _name(ontology, table[word]), _description(
            ontology, table[word], section, word, by_key[section].codes[word]), True, children)

    stages = []
    for stage, strategy in cf.STAGE_TO_STRATEGY.items():
        members = (code("mechanism", cf.STAGE_TO_MECHANISM[stage]), code("strategy", strategy),
                   *(code("outcome", word) for word in yields[strategy]))
        stages.append(code("stage", stage, members))
    groups = [
        _group(ontology, "authority", by_key, [code("authority", w) for w in cf.AUTHORITY_TO_IRI]),
        _group(ontology, "resources", by_key, [code("resources", w) for w in cf.RESOURCES_TO_IRI]),
        _group(ontology, "condition", by_key, [_condition(ontology, by_key["condition"], w) for w in cf.CONDITION_TO_IRI]),
        _group(ontology, "characteristic", by_key, [code("characteristic", w) for w in cf.CHARACTERISTIC_TO_IRI]),
    ]
    return [*stages, *groups]


def _vocabulary(section: str) -> dict[str, URIRef]:
    return getattr(cf, f"{section.upper()}_TO_IRI")


def _label(ontology: Graph, term: URIRef, lang: str) -> str:
    return next((str(o) for o in ontology.objects(term, RDFS.label) if getattr(o, "language", None) == lang), "")


def _name(ontology: Graph, term: URIRef) -> str:
    """A code's name in both languages, as the QDA program shows it: 'emergence mechanism / 生成机制'."""
    return f"{_label(ontology, term, 'en')} / {_label(ontology, term, 'zh')}"


def _description(ontology: Graph, term: URIRef, section: str, word: str, entry: dict) -> str:
    """What a coder reads beside the code: the case-file word, the ontology's definition, the project's rule."""
    lines = [f"CoproKG {section}: {word}"]
    for definition in ontology.objects(term, SKOS.definition):
        lines.append(f"Definition ({definition.language}): {definition}")
    for name, en, zh in (("rule", "Rule", "规则"), ("example", "Example", "示例"), ("counter", "Counter-example", "反例")):
        if name in entry:
            lines += [f"{en}: {entry[name]['en']}", f"{zh}：{entry[name]['zh']}"]
    lines.append(NOT_IN_SOURCE + " (cop:notInSource)")
    return "\n".join(lines)


def _group(ontology: Graph, section: str, by_key: dict[str, Section], members: list[Code]) -> Code:
    """A heading code, not codable itself, named by the ontology class of its members."""
    first = _vocabulary(section)[members[0].key.split("/")[1]]
    cls = next(iter(set(ontology.objects(first, RDF.type)) - {OWL.NamedIndividual}))
    rule = by_key[section].texts["rule"]
    description = "\n".join([f"CoproKG {section}", f"Rule: {rule['en']}", f"规则：{rule['zh']}",
                             NOT_IN_SOURCE + " (cop:notInSource)"])
    return Code(section, _name(ontology, cls), description, False, tuple(members))


def _condition(ontology: Graph, section: Section, word: str) -> Code:
    """A condition as a heading with two codable answers: a segment shows it holding, or failing."""
    term = cf.CONDITION_TO_IRI[word]
    label = _name(ontology, term)
    answers = tuple(Code(f"condition/{word}/{answer}", f"{label}: {en} / {zh}",
                         f"CoproKG condition: {word}, holds: {str(holds).lower()}\n{NOT_IN_SOURCE} (cop:notInSource)",
                         True) for answer, (en, zh, holds) in HOLDS.items())
    return Code(f"condition/{word}", label, _description(ontology, term, "condition", word, section.codes[word]),
                False, answers)


def codebook_xml(codes: list[Code]) -> bytes:
    """The codes as a REFI-QDA codebook document (a .qdc), UTF-8."""
    ET.register_namespace("", QDC_NAMESPACE)
    root = ET.Element(f"{{{QDC_NAMESPACE}}}CodeBook", origin=ORIGIN)
    holder = ET.SubElement(root, f"{{{QDC_NAMESPACE}}}Codes")
    for code in codes:
        _code_element(holder, code)
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _code_element(parent: ET.Element, code: Code) -> None:
    element = ET.SubElement(parent, f"{{{QDC_NAMESPACE}}}Code", guid=code.guid, name=code.name,
                            isCodable="true" if code.codable else "false")
    ET.SubElement(element, f"{{{QDC_NAMESPACE}}}Description").text = code.description
    for child in code.children:
        _code_element(element, child)


def write_qdc(codes: list[Code], output: Path) -> Path:
    """Write the codebook to OUTPUT (a .qdc) and return its path."""
    Path(output).write_bytes(codebook_xml(codes))
    return Path(output)
