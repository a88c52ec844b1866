"""The coding rules a coder works from: ontology/codebook.yaml checked against the importer, as Markdown and SKOS."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from kg import cases as cf
from kg import validate as v
from kg.config import PROJECT_FILES
from kg.namespaces import COP

CODEBOOK_FILE = PROJECT_FILES / "ontology" / "codebook.yaml"
CODEBOOK = Namespace("https://w3id.org/coprokg/codebook/")
SCHEME = URIRef("https://w3id.org/coprokg/codebook")
LANGUAGES = ("en", "zh")
TEXTS = ("rule", "example", "counter")  # rule is required; example and counter-example where written
NOT_IN_SOURCE = "A coding rule of the CoproKG project; the source defines the concept but gives no coding rule."


def vocabularies() -> dict[str, dict[str, URIRef]]:
    """Name every vocabulary the importer accepts by its kg.cases table: AUTHORITY_TO_IRI -> authority."""
    used = {id(vocab) for vocab in _field_vocabularies().values()}
    return {name.removesuffix("_TO_IRI").lower().replace("_", "-"): table for name, table in vars(cf).items()
            if name.endswith("_TO_IRI") and id(table) in used}


@cache
def _field_vocabularies() -> dict[str, dict]:
    """Every field of a case record that takes words, by path (actors.sector), with its vocabulary."""
    out: dict[str, dict] = {}

    def walk(spec: v.RecordSpec, prefix: str) -> None:
        for name, field_spec in spec.fields.items():
            if field_spec.vocabulary is not None:
                out[prefix + name] = field_spec.vocabulary
            if field_spec.record is not None:
                walk(field_spec.record, f"{prefix}{name}.")
    walk(v.CASE, "")
    return out


def fields_of(section: str) -> list[str]:
    """The case-file fields that take the words of one vocabulary."""
    table = vocabularies()[section]
    return [path for path, vocab in _field_vocabularies().items() if vocab is table]


@dataclass(frozen=True)
class Section:
    key: str
    texts: dict[str, dict[str, str]]  # "rule" -> language -> text
    codes: dict[str, dict[str, dict[str, str]]]  # word -> "rule" | "example" | "counter" -> language -> text


def load_codebook(path: Path = CODEBOOK_FILE) -> list[Section]:
    """Read the codebook's sections in the order a coder meets them."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [Section(key, {"rule": body["rule"]}, body["codes"]) for key, body in data.items()]


def problems(sections: list[Section]) -> list[str]:
    """What keeps the codebook from matching the importer: a word missing on either side, a text without en or zh."""
    out = []
    vocabs = vocabularies()
    keys = [s.key for s in sections]
    out += [f"vocabulary {k!r} of kg/cases.py has no section in the codebook" for k in vocabs if k not in keys]
    for section in sections:
        if section.key not in vocabs:
            out.append(f"section {section.key!r} is no vocabulary of kg/cases.py; known: {', '.join(vocabs)}")
            continue
        words = vocabs[section.key]
        out += [f"{section.key}: {w!r} is accepted by the importer but not in the codebook" for w in words
                if w not in section.codes]
        out += [f"{section.key}: {w!r} is in the codebook but not accepted by the importer" for w in section.codes
                if w not in words]
        texts = [("", section.texts)] + [(f".{w}", c) for w, c in section.codes.items()]
        for where, entry in texts:
            if "rule" not in entry:
                out.append(f"{section.key}{where}: no rule")
            for name, text in entry.items():
                text = text if isinstance(text, dict) else {}
                missing = [lang for lang in LANGUAGES if not isinstance(text.get(lang), str) or not text[lang].strip()]
                # An unquoted comma in a YAML flow mapping splits the text into a stray key: name it.
                stray = [str(k) for k in text if k not in LANGUAGES]
                if name not in TEXTS:
                    out.append(f"{section.key}{where}.{name}: unknown entry; allowed: {', '.join(TEXTS)}")
                elif missing or stray:
                    out.append(f"{section.key}{where}.{name}: " + "; ".join(
                        ([f"missing {', '.join(missing)}"] if missing else [])
                        + ([f"not a language: {', '.join(stray)} (quote text that holds a comma)"] if stray else [])))
    return out


def ontology_terms(ontology: Path) -> Graph:
    """Parse the ontology once for labels and definitions."""
    return Graph().parse(ontology, format="turtle")


def skos_graph(sections: list[Section], ontology: Graph) -> Graph:
    """The codebook as a skos:ConceptScheme: a collection per vocabulary, a concept per word, matched to its term."""
    g = Graph()
    g.bind("skos", SKOS)
    g.bind("cop", COP)
    g.bind("cb", CODEBOOK)
    g.add((SCHEME, RDF.type, SKOS.ConceptScheme))
    g.add((SCHEME, RDFS.label, Literal("CoproKG codebook", lang="en")))
    g.add((SCHEME, RDFS.label, Literal("CoproKG 编码手册", lang="zh")))
    g.add((SCHEME, DCTERMS.source, COP.Zhong2019))
    g.add((SCHEME, COP.notInSource, Literal(NOT_IN_SOURCE)))
    vocabs = vocabularies()
    for section in sections:
        collection = CODEBOOK[section.key]
        g.add((collection, RDF.type, SKOS.Collection))
        g.add((collection, SKOS.notation, Literal(section.key)))
        for lang in LANGUAGES:
            g.add((collection, SKOS.prefLabel, Literal(section.key, lang=lang)))
            g.add((collection, COP.decisionRule, Literal(section.texts["rule"][lang], lang=lang)))
        g.add((collection, COP.notInSource, Literal(NOT_IN_SOURCE)))
        for word, entry in section.codes.items():
            concept = CODEBOOK[f"{section.key}/{word}"]
            term = vocabs[section.key][word]
            g.add((collection, SKOS.member, concept))
            g.add((concept, RDF.type, SKOS.Concept))
            g.add((concept, SKOS.inScheme, SCHEME))
            g.add((SCHEME, SKOS.hasTopConcept, concept))
            g.add((concept, SKOS.topConceptOf, SCHEME))
            g.add((concept, SKOS.notation, Literal(word)))
            g.add((concept, SKOS.exactMatch, term))
            g.add((concept, COP.notInSource, Literal(NOT_IN_SOURCE)))
            for label in ontology.objects(term, RDFS.label):
                g.add((concept, SKOS.prefLabel, label))
            for definition in ontology.objects(term, SKOS.definition):
                g.add((concept, SKOS.definition, definition))
            for name, predicate in (("rule", COP.decisionRule), ("example", SKOS.example),
                                    ("counter", COP.counterExample)):
                for lang in LANGUAGES:
                    if name in entry:
                        g.add((concept, predicate, Literal(entry[name][lang], lang=lang)))
    return g


def _text(graph: Graph, term: URIRef, predicate: URIRef, lang: str) -> str:
    return next((str(o) for o in graph.objects(term, predicate) if getattr(o, "language", None) == lang), "")


def markdown(sections: list[Section], ontology: Graph) -> str:
    """Write docs/codebook.md: per vocabulary its fields and rule, per word its label, definition, rule and examples."""
    vocabs = vocabularies()
    lines = [
        "# Codebook",
        "",
        "<!-- Generated from ontology/codebook.yaml and ontology/coprokg.ttl by `coprokg export codebook "
        "docs/codebook.md`; edit those, not this file. -->",
        "",
        "The rules a coder applies to every word a case file takes (`docs/case-format.md`), in English and Chinese.",
        "The concepts and their definitions are the ontology's, after Zhong (2019, doctoral dissertation,",
        "GTID 1366330590970595, English abstract); the **decision rules, examples and counter-examples are the",
        "project's** (`cop:notInSource`): the source defines the concepts but says nothing of how to code them.",
        "Examples are invented and illustrative. The same codebook is a `skos:ConceptScheme`",
        "(`coprokg export codebook codebook.ttl`): one `skos:Collection` per vocabulary, one `skos:Concept` per",
        "word, `skos:exactMatch` its ontology term, rules as `cop:decisionRule`, `skos:example`, `cop:counterExample`.",
        "",
        "Contents: " + ", ".join(f"[{s.key}](#{s.key})" for s in sections),
        "",
    ]
    for section in sections:
        fields = ", ".join(f"`{f}`" for f in fields_of(section.key))
        lines += [f"## {section.key}", "", f"Fields: {fields}", "",
                  f"**Rule.** {section.texts['rule']['en']}", "", f"**规则。** {section.texts['rule']['zh']}", "",
                  "| word | term | definition (ontology) | decision rule | example | counter-example |",
                  "|---|---|---|---|---|---|"]
        for word, entry in section.codes.items():
            term = vocabs[section.key][word]
            label = f"{_text(ontology, term, RDFS.label, 'en')} / {_text(ontology, term, RDFS.label, 'zh')}"
            cells = [f"`{word}`", f"`cop:{term.removeprefix(str(COP))}` {label}",
                     _text(ontology, term, SKOS.definition, "en")]
            for name in TEXTS:
                cells.append("<br>".join(entry[name][lang] for lang in LANGUAGES) if name in entry else "")
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
