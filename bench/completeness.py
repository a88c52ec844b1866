"""Compare CoproKG's inferred triples with owlrl's on the same input, ignoring reflexive owl:sameAs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.namespaces import OWL, RDF

SAME_AS = str(OWL.sameAs)
Triple = tuple[str, str, str]  # N-Triples text of each term


@dataclass
class Comparison:
    """What owlrl inferred that CoproKG lacks (missing) and what CoproKG inferred beyond owlrl (extra).

    `missing`/`extra` ignore only reflexive owl:sameAs (the issue's rule); `*_after_noise` also ignore what
    kg.reasoning.is_trivial calls noise (facts about built-in vocabulary, owl:Thing typing, reflexive axioms).
    """

    owlrl: int
    coprokg: int
    missing: list[Triple]
    extra: list[Triple]
    missing_after_noise: list[Triple]
    extra_after_noise: list[Triple]
    blank_node_triples: tuple[int, int]  # (owlrl, CoproKG): labels differ between parsers, so only counted

    @property
    def equal(self) -> bool:
        return not self.missing_after_noise and not self.extra_after_noise

    def summary(self, limit: int = 4) -> str:
        """Say where the two differ, grouped by predicate (and class, for rdf:type)."""
        parts = []
        for name, triples in (("missing", self.missing), ("extra", self.extra),
                              ("missing after noise", self.missing_after_noise),
                              ("extra after noise", self.extra_after_noise)):
            if triples:
                kinds = Counter(_kind(t) for t in triples).most_common(limit)
                parts.append(f"{len(triples)} {name}: " + ", ".join(f"{k} ×{n}" for k, n in kinds))
        return "; ".join(parts) or "identical"


def _short(term: str) -> str:
    return term.rsplit("#", 1)[-1].rsplit("/", 1)[-1].rstrip(">")


def _kind(triple: Triple) -> str:
    subject, predicate, obj = triple
    return f"a {_short(obj)}" if predicate == f"<{RDF.type}>" else _short(predicate)


def _triples(path: Path) -> tuple[set[Triple], int]:
    """Read N-Triples as comparable text triples, setting aside those with blank nodes and reflexive sameAs."""
    named, blank = set(), 0
    for t in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES):
        if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
            blank += 1
            continue
        if t.predicate.value == SAME_AS and t.subject == t.object:
            continue
        named.add((str(t.subject), str(t.predicate), str(t.object)))
    return named, blank


def _noise_filter():
    try:
        from kg.reasoning import is_trivial
    except ImportError:
        return lambda triple: False
    return is_trivial


def compare_inferences(input_nt: Path, owlrl_added: Path, coprokg_inferred: Path) -> Comparison:
    """Compare the two reasoners' inferences; a triple already asserted counts as present for both."""
    asserted, _ = _triples(input_nt)
    theirs, theirs_blank = _triples(owlrl_added)
    ours, ours_blank = _triples(coprokg_inferred)
    missing, extra = sorted(theirs - ours - asserted), sorted(ours - theirs - asserted)
    noise = _noise_filter()
    return Comparison(owlrl=len(theirs), coprokg=len(ours), missing=missing, extra=extra,
                      missing_after_noise=[t for t in missing if not noise(t)],
                      extra_after_noise=[t for t in extra if not noise(t)],
                      blank_node_triples=(theirs_blank, ours_blank))


def write_differences(comparison: Comparison, path: Path, limit: int = 500) -> Path:
    """List (up to `limit` of) each kind of difference as N-Triples lines, for reading."""
    sections = []
    for title, triples in (("MISSING: owlrl infers, CoproKG does not", comparison.missing_after_noise),
                           ("EXTRA: CoproKG infers, owlrl does not", comparison.extra_after_noise),
                           ("MISSING but noise by kg.reasoning.is_trivial",
                            sorted(set(comparison.missing) - set(comparison.missing_after_noise))),
                           ("EXTRA but noise by kg.reasoning.is_trivial",
                            sorted(set(comparison.extra) - set(comparison.extra_after_noise)))):
        sections.append(f"# {title} ({len(triples)})\n" + "".join(f"{s} {p} {o} .\n" for s, p, o in triples[:limit]))
    path.write_text("\n".join(sections), encoding="utf-8")
    return path
