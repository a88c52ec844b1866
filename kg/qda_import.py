"""A REFI-QDA project's coded segments -> a case's evidence and codings, added to its case file, never merged silently."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kg import cases as cf
from kg.cases import Node, Problem, Where
from kg.errors import CaseDataError
from kg.refi_qda import HOLDS, Code

QDE_NAMESPACE = "urn:QDA-XML:project:1.0"
Q = f"{{{QDE_NAMESPACE}}}"
MAX_PROJECT_BYTES = 200_000_000  # all parts of the .qdpx, uncompressed, as its zip declares them
MAX_PROJECT_PARTS = 10_000
EVIDENCE_KINDS = tuple(cf.EVIDENCE_KIND_TO_IRI)
CODEBOOK_LINE = re.compile(r"^CoproKG (\w[\w-]*): ([\w-]+)(?:, holds: (true|false))?$")


@dataclass(frozen=True)
class Segment:
    """One coded stretch of a transcript: the text, where it is, who coded it with which CoproKG code, when."""

    guid: str
    source: str  # the document's name in the QDA project
    start: int
    end: int
    text: str
    key: str  # the code's codebook path: outcome/collective-survival-secured, condition/x/holds
    user: str  # the QDA user's name
    user_guid: str
    coded_on: dt.date | None

    @property
    def evidence_id(self) -> str:
        """Named by its selection, so importing the same project again meets the same ids (and is refused)."""
        return f"QDA-{self.guid.strip('{}')[:8].upper()}"

    @property
    def locator(self) -> str:
        return f"{self.source} chars {self.start}-{self.end}"

    @property
    def place(self) -> str:
        return f"{self.locator} ({self.key} by {self.user})"


@dataclass
class Project:
    name: str
    file: str  # the .qdpx, as problems name it
    stage_outcomes: dict[str, tuple[str, ...]]  # each stage's outcomes, as the codebook's tree holds them
    segments: list[Segment] = field(default_factory=list)
    other_codes: dict[str, int] = field(default_factory=dict)  # codes that are not CoproKG's: name -> codings


def coder_id(user: str, guid: str) -> str:
    """A QDA user as a case-file coder id (letters, digits, '.', '_', '-'): 'Li Na' -> 'li-na'."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", user).strip("-").lower()
    return slug or f"qda-user-{guid.strip('{}')[:8].lower()}"


def _guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def read_project(path: Path, codes: list[Code], user: str | None = None) -> Project:
    """Read the coded text segments of a .qdpx whose codes are CoproKG's (by GUID, or by the description's first line).

    Raises:
        CaseDataError: not a REFI-QDA project, or a segment that cannot be read; every problem at once.
    """
    display = cf.display_name(Path(path))
    where = Where(display)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise CaseDataError([Problem(where, None, f"not a .qdpx (a zip archive): {e}")]) from e
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_PROJECT_PARTS or sum(i.file_size for i in infos) > MAX_PROJECT_BYTES:
            raise CaseDataError([Problem(where, None, f"the project is larger than {MAX_PROJECT_BYTES:,} bytes or "
                                                      f"{MAX_PROJECT_PARTS:,} parts uncompressed")])
        members = {i.filename.lower(): i.filename for i in infos}
        if "project.qde" not in members:
            raise CaseDataError([Problem(where, None, "no project.qde in the archive; a .qdpx holds one")])
        try:
            root = ET.fromstring(archive.read(members["project.qde"]))
        except ET.ParseError as e:
            raise CaseDataError([Problem(where, "project.qde", f"not well-formed XML: {e}")]) from e
        if root.tag != f"{Q}Project":
            raise CaseDataError([Problem(where, "project.qde", f"the root is {root.tag}, not a Project in the "
                                                               f"namespace {QDE_NAMESPACE}")])
        return _segments(root, archive, members, codes, where, user)


def _segments(root, archive, members, codes, where, only_user) -> Project:
    ours = {_guid(c.guid): c.key for top in codes for c in top.walk() if c.codable}
    keys = set(ours.values())
    users = {_guid(u.get("guid")): u.get("name") or u.get("id") or u.get("guid") for u in root.iter(f"{Q}User")}
    code_keys, code_names = {}, {}
    for code in root.iter(f"{Q}Code"):
        guid = _guid(code.get("guid"))
        code_names[guid] = code.get("name") or guid
        key = ours.get(guid)
        if key is None:  # a QDA program may give imported codes new GUIDs: the description still names the word
            match = CODEBOOK_LINE.match((code.findtext(f"{Q}Description") or "").split("\n", 1)[0].strip())
            if match:
                section, word, holds = match.groups()
                answer = {"true": "holds", "false": "fails"}.get(holds)
                key = f"{section}/{word}" + (f"/{answer}" if answer else "")
        if key in keys:
            code_keys[guid] = key
    stage_outcomes = {top.key.split("/")[1]: tuple(c.key.split("/")[1] for c in top.children if c.key.startswith("outcome/"))
                      for top in codes if top.key.startswith("stage/")}
    project = Project(root.get("name") or "", where.file, stage_outcomes)
    problems: list[Problem] = []
    other = defaultdict(int)
    for source in root.iter(f"{Q}TextSource"):
        name = source.get("name") or source.get("guid")
        selections = source.findall(f"{Q}PlainTextSelection")
        text = None
        for selection in selections:
            codings = selection.findall(f"{Q}Coding")
            for coding in codings:
                target = _guid(coding.find(f"{Q}CodeRef").get("targetGUID") if coding.find(f"{Q}CodeRef") is not None
                               else None)
                key = code_keys.get(target)
                user_guid = _guid(coding.get("creatingUser") or selection.get("creatingUser"))
                user = users.get(user_guid, "unknown user")
                if key is None:
                    other[code_names.get(target, target)] += 1
                    continue
                if only_user is not None and user != only_user:
                    continue
                field_name = f"{name} selection {selection.get('guid')}"
                if text is None:
                    text = _source_text(source, archive, members, where, problems)
                    if text is None:
                        break
                try:
                    start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
                except (TypeError, ValueError):
                    problems.append(Problem(where, field_name, "startPosition and endPosition must be whole numbers"))
                    continue
                if not 0 <= start < end <= len(text):
                    problems.append(Problem(where, field_name, f"positions {start}-{end} lie outside the "
                                                               f"document's {len(text)} characters"))
                    continue
                project.segments.append(Segment(selection.get("guid"), name, start, end, text[start:end].strip(),
                                                key, user, user_guid, _date(coding.get("creationDateTime"))))
    if problems:
        raise CaseDataError(problems)
    project.other_codes = dict(other)
    return project


def _source_text(source, archive, members, where, problems) -> str | None:
    """A text source's plain text: inline, or a file inside the archive (internal://)."""
    inline = source.findtext(f"{Q}PlainTextContent")
    if inline is not None:
        return inline
    path = source.get("plainTextPath") or ""
    name = source.get("name")
    if not path.startswith("internal://"):
        problems.append(Problem(where, name, f"its plain text {path or '(none)'} is not inside the project; "
                                             "export the project with its sources embedded"))
        return None
    member = members.get(f"sources/{path.removeprefix('internal://')}".lower())
    if member is None:
        problems.append(Problem(where, name, f"{path} is not in the archive's Sources folder"))
        return None
    try:
        return archive.read(member).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        problems.append(Problem(where, name, f"{path} is not UTF-8 text ({e.reason} at byte {e.start})"))
        return None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date() if value else None
    except ValueError:
        return None


# --- adding the segments to the case ------------------------------------------------------


@dataclass
class Added:
    """The case file with the segments added, and a line per change, said to the researcher."""

    data: dict
    changes: list[str]


def base_document(base: Path, case_id: str) -> tuple[Path, Node]:
    """The YAML case file (or the one in a folder) that holds case `case_id`, and its located document."""
    paths = cf.case_files([base])
    for path in paths:
        if path.suffix.lower() not in (".yaml", ".yml"):
            continue
        documents, _ = cf.read_yaml(path)
        for document in documents:
            if isinstance(document.value, dict) and str(getattr(document.value.get("id"), "value", "")) == case_id:
                return path, document
    kinds = "YAML case file" if base.is_file() else f"YAML case file in {cf.display_name(base)}"
    raise CaseDataError([Problem(Where(cf.display_name(base)), "id", f"no {kinds} holds case {case_id!r}; "
                                 "the segments are added to the case's own file")])


def add_segments(data: dict, document: Node, project: Project, kind: str, language: str) -> Added:
    """Add each segment as evidence and its code as a coding; a coding the file already gives otherwise is refused.

    Raises:
        CaseDataError: a conflict between the project and the file, or within the project; nothing is added.
    """
    problems: list[Problem] = []
    changes: list[str] = []
    ids = {s.user: coder_id(s.user, s.user_guid) for s in project.segments}
    here = Where(project.file)
    existing = {str(e.get("id")): n for e, n in zip(data.get("evidence", []), _items(document, "evidence"))}
    evidence = []
    for segment in _unique(project.segments):
        if any(e["id"] == segment.evidence_id for e in evidence):
            problems.append(Problem(here, f"selection {segment.guid}", f"its evidence id {segment.evidence_id} is "
                                    "another selection's too; give one of them a new GUID in the QDA program"))
            continue
        if segment.evidence_id in existing:
            problems.append(Problem(existing[segment.evidence_id].where, "evidence", f"{segment.evidence_id} is already "
                                    f"in the file: {segment.locator} was imported before"))
            continue
        evidence.append({"id": segment.evidence_id, "kind": kind, "quotation": {language: segment.text},
                         "supports": f"Segment of {segment.source} coded in the QDA project {project.name!r} "
                                     f"as {', '.join(sorted({s.key for s in project.segments if s.guid == segment.guid}))}.",
                         "locator": segment.locator})
    by_key = defaultdict(list)
    for segment in project.segments:
        by_key[segment.key].append(segment)

    def coder_of(segments: list[Segment], what: str) -> str | None:
        coders = sorted({s.user for s in segments})
        if len(coders) > 1:
            problems.append(Problem(here, what, f"coded by {', '.join(coders)}; an "
                                    "assessment has one coder: import each user's codings with --user and compare "
                                    "them with coprokg agreement"))
            return None
        return ids[coders[0]]

    for level, table in (("authority", cf.AUTHORITY_TO_IRI), ("resources", cf.RESOURCES_TO_IRI)):
        coded = {word: by_key[f"{level}/{word}"] for word in table if by_key[f"{level}/{word}"]}
        if not coded:
            continue
        if len(coded) > 1:
            problems.append(Problem(here, level, "coded both " + " and ".join(
                f"{w} ({'; '.join(s.place for s in segs)})" for w, segs in coded.items())))
            continue
        (word, segments), = coded.items()
        node = document.value.get(level)
        if data.get(level) != word:
            problems.append(Problem(node.where if node else document.where, level, f"the file says {data.get(level)!r}, "
                                    f"the project {word!r} ({'; '.join(s.place for s in segments)})"))
            continue
        data[f"{level}_evidence"] = _union(data.get(f"{level}_evidence"), [s.evidence_id for s in segments])
        changes.append(f"{level} {word}: as the file says; evidence added: {', '.join(s.evidence_id for s in segments)}")
    conditions = data.setdefault("conditions", [])
    nodes = {str(c.get("condition")): n for c, n in zip(conditions, _items(document, "conditions"))}
    for word in cf.CONDITION_TO_IRI:
        coded = {answer: by_key[f"condition/{word}/{answer}"] for answer in HOLDS if by_key[f"condition/{word}/{answer}"]}
        if not coded:
            continue
        if len(coded) > 1:
            problems.append(Problem(here, f"condition {word}", "coded both as holding and failing: "
                                    + "; ".join(s.place for segs in coded.values() for s in segs)))
            continue
        (answer, segments), = coded.items()
        holds = HOLDS[answer][2]
        given = next((c for c in conditions if c.get("condition") == word), None)
        if given is not None and given.get("holds") is not holds:
            problems.append(Problem(nodes[word].where, f"conditions.{word}", f"the file says holds: "
                                    f"{str(given.get('holds')).lower()}, the project {answer} "
                                    f"({'; '.join(s.place for s in segments)})"))
            continue
        coder = coder_of(segments, f"condition {word}")
        ids_added = [s.evidence_id for s in segments]
        if given is None:
            record = {"condition": word, "holds": holds, "evidence": ids_added}
            if coder:
                record["coder"] = coder
                days = [s.coded_on for s in segments if s.coded_on]
                if days:
                    record["coded_on"] = max(days)
            conditions.append(record)
            changes.append(f"condition {word}: holds {str(holds).lower()}, new, coded by {coder}; evidence: "
                           f"{', '.join(ids_added)}")
        else:
            given["evidence"] = _union(given.get("evidence"), ids_added)
            changes.append(f"condition {word}: holds {str(holds).lower()} as the file says; evidence added: "
                           f"{', '.join(ids_added)}")
    if not conditions:
        data.pop("conditions")
    characteristics = [w for w in cf.CHARACTERISTIC_TO_IRI if by_key[f"characteristic/{w}"]]
    new = [w for w in characteristics if w not in (data.get("characteristics") or [])]
    if new:
        data["characteristics"] = _union(data.get("characteristics"), new)
        changes.append(f"characteristics added: {', '.join(new)}")
    if set(characteristics) - set(new):
        changes.append(f"characteristics already listed: {', '.join(w for w in characteristics if w not in new)}")
    for stage in cf.STAGE_TO_IRI:
        mechanism, strategy = cf.STAGE_TO_MECHANISM[stage], cf.STAGE_TO_STRATEGY[stage]
        segments = [s for s in project.segments if s.key in (f"stage/{stage}", f"mechanism/{mechanism}",
                                                              f"strategy/{strategy}")
                    or (s.key.startswith("outcome/") and s.key.split("/")[1] in project.stage_outcomes[stage])]
        if not segments:
            continue
        observation = {"stage": stage}
        if by_key[f"mechanism/{mechanism}"]:
            observation["mechanism"] = mechanism
        if by_key[f"strategy/{strategy}"]:
            observation["strategy"] = strategy
        outcomes = [w for w in project.stage_outcomes[stage] if by_key[f"outcome/{w}"]]
        if outcomes:
            observation["outcomes"] = outcomes
        observation["evidence"] = _union([], [s.evidence_id for s in segments])
        observation["description"] = f"Imported from the QDA project {project.name!r}: {len(segments)} coded segment(s)."
        data.setdefault("observations", []).append(observation)
        changes.append(f"observation at {stage}, new: " + ", ".join(
            f"{k} {v if isinstance(v, str) else ', '.join(v)}" for k, v in observation.items()
            if k in ("mechanism", "strategy", "outcomes")) + f"; evidence: {', '.join(observation['evidence'])}")
    if problems:
        raise CaseDataError(problems)
    data["evidence"] = [*data.get("evidence", []), *evidence]
    changes.insert(0, f"evidence added: {len(evidence)} segment(s) as {', '.join(e['id'] for e in evidence)}")
    return Added(data, changes)


def _items(document: Node, name: str) -> list[Node]:
    node = document.value.get(name)
    return node.value if node is not None and isinstance(node.value, list) else []


def _unique(segments: list[Segment]) -> list[Segment]:
    """One evidence per selection, though it carry several codes."""
    seen, out = set(), []
    for segment in segments:
        if segment.guid not in seen:
            seen.add(segment.guid)
            out.append(segment)
    return out


def _union(old, new) -> list:
    return list(dict.fromkeys([*(old or []), *new]))


def dump(data: dict, note: str) -> str:
    """The case as YAML, headed by a note of where it came from."""
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)
    return "".join(f"# {line}\n" for line in note.splitlines()) + body
