"""The named-query library: queries/*.rq files with a `#+` header, checked and bound as typed RDF terms."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from pyparsing import ParseException
from rdflib.plugins.sparql import prepareQuery

from kg.errors import InvalidParameter, NamedQueryError
from kg.namespaces import PREFIXED_NAME, PREFIXES, RDF, XSD, compact_iri, expand_iri

PARAMETER_KINDS = ("iri", "literal", "integer", "language", "enum")
REQUIRED_HEADER_KEYS = ("summary", "summary_zh", "description", "description_zh")
HEADER_KEYS = (*REQUIRED_HEADER_KEYS, "tags", "competency_question", "param")
# Option keys each parameter kind accepts besides the `required` / `optional` flags.
KIND_TO_OPTION_KEYS = {
    "iri": {"class", "default", "example"},
    "literal": {"datatype", "lang", "default", "example"},
    "integer": {"min", "max", "default", "example"},
    "language": {"default", "example"},
    "enum": {"values", "default", "example"},
}
# The API's own control (result format), so a query may not declare a parameter of that name.
FORMAT_PARAMETER = "format"
RESERVED_PARAMETER_NAMES = frozenset({FORMAT_PARAMETER})
MAX_VALUE_LENGTH = 2000
# (IRI, class) pairs an InstanceMemo keeps per dataset version before it starts afresh (bounds its memory).
INSTANCE_MEMO_CAPACITY = 4096

QUERY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
LANG_STRING = str(RDF.langString)
# Datatypes whose lexical form we check, so an ill-typed value is a 400 rather than a silent non-match.
DATATYPE_TO_LEXICAL_FORM = {
    str(XSD.integer): INTEGER,
    str(XSD.decimal): re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"),
    str(XSD.double): re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN"),
    str(XSD.boolean): re.compile(r"true|false|1|0"),
    str(XSD.date): re.compile(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?"),
    str(XSD.gYear): re.compile(r"-?[0-9]{4,}(Z|[+-][0-9]{2}:[0-9]{2})?"),
    str(XSD.dateTime): re.compile(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?"),
}
# Is `value` an instance of `class`, directly or through the class hierarchy? (both bound by substitution)
INSTANCE_CHECK = (
    f"PREFIX rdf: <{RDF}>\nPREFIX rdfs: <{PREFIXES['rdfs']}>\n"
    "ASK { ?value rdf:type/rdfs:subClassOf* ?class }"
)


@dataclass(frozen=True)
class Parameter:
    """One typed parameter of a named query; it binds the query variable of the same name."""

    name: str
    kind: str
    required: bool = False
    default: str | None = None
    example: str | None = None
    rdf_class: str | None = None  # iri: the value must be an instance of this class
    datatype: str | None = None  # literal: full datatype IRI
    lang: str | None = None  # literal: language tag given to the value
    values: tuple[str, ...] = ()  # enum: allowed values as written in the header
    minimum: int | None = None
    maximum: int | None = None
    line: int = 0

    def term(self, raw: object) -> ox.NamedNode | ox.Literal:
        """Turn a raw value (query string or JSON) into the RDF term that binds the variable.

        Raises:
            InvalidParameter: the value is not of the declared type or not allowed.
        """
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise InvalidParameter(self.name, f"expected a {self.describe()} as a string, not {type(raw).__name__}")
        text = str(raw)
        if len(text) > MAX_VALUE_LENGTH:
            raise InvalidParameter(self.name, f"value longer than {MAX_VALUE_LENGTH} characters")
        return getattr(self, f"_{self.kind}_term")(text)

    def describe(self) -> str:
        """Say in a few words what values the parameter takes."""
        if self.kind == "iri":
            return f"IRI of a {compact_iri(self.rdf_class)}" if self.rdf_class else "IRI"
        if self.kind == "enum":
            return "value among " + ", ".join(self.values)
        if self.kind == "literal":
            if self.lang:
                return f"text (bound with language @{self.lang})"
            if self.datatype == LANG_STRING:
                return "text with a language tag, like Zhejiang@en"
            return f"literal of type {compact_iri(self.datatype or str(XSD.string))}"
        if self.kind == "integer":
            return "whole number" + (f" from {self.minimum}" if self.minimum is not None else "") + (
                f" up to {self.maximum}" if self.maximum is not None else ""
            )
        return "language tag like en or zh"

    def _iri_term(self, text: str) -> ox.NamedNode:
        iri = expand_iri(text)
        if iri is None:
            raise InvalidParameter(self.name, f"{text!r} is not an IRI (give a full IRI or a prefixed name like cop:X)")
        return ox.NamedNode(iri)

    @cached_property
    def _allowed_iris(self) -> tuple[str | None, ...]:
        """Each allowed enum value as a full IRI (None for a plain-text value), worked out once, not per request."""
        return tuple(expand_iri(allowed) if PREFIXED_NAME.fullmatch(allowed) else None for allowed in self.values)

    def _enum_term(self, text: str) -> ox.NamedNode | ox.Literal:
        text_iri = expand_iri(text) if any(iri is not None for iri in self._allowed_iris) else None
        for allowed, iri in zip(self.values, self._allowed_iris):
            if iri is not None and text_iri == iri:
                return ox.NamedNode(iri)
            if iri is None and text == allowed:
                return ox.Literal(text)
        raise InvalidParameter(self.name, f"{text!r} is not one of {', '.join(self.values)}")

    def _literal_term(self, text: str) -> ox.Literal:
        if self.lang:
            return ox.Literal(text, language=self.lang)
        if self.datatype == LANG_STRING:
            body, at, tag = text.rpartition("@")
            if not at or not LANGUAGE_TAG.fullmatch(tag):
                raise InvalidParameter(self.name, f"{text!r} needs a language tag at the end, like Zhejiang@en")
            try:
                return ox.Literal(body, language=tag)
            except ValueError as e:  # pyoxigraph checks BCP 47 more strictly than the pattern above
                raise InvalidParameter(self.name, f"{tag!r} is not a valid language tag: {e}") from None
        datatype = self.datatype or str(XSD.string)
        form = DATATYPE_TO_LEXICAL_FORM.get(datatype)
        if form is not None and not form.fullmatch(text):
            raise InvalidParameter(self.name, f"{text!r} is not a valid {compact_iri(datatype)}")
        return ox.Literal(text, datatype=ox.NamedNode(datatype))

    def _integer_term(self, text: str) -> ox.Literal:
        if not INTEGER.fullmatch(text.strip()):
            raise InvalidParameter(self.name, f"{text!r} is not a whole number")
        number = int(text)
        if self.minimum is not None and number < self.minimum:
            raise InvalidParameter(self.name, f"{number} is below the minimum {self.minimum}")
        if self.maximum is not None and number > self.maximum:
            raise InvalidParameter(self.name, f"{number} is above the maximum {self.maximum}")
        return ox.Literal(str(number), datatype=ox.NamedNode(str(XSD.integer)))

    def _language_term(self, text: str) -> ox.Literal:
        if not _is_language_tag(text):
            raise InvalidParameter(self.name, f"{text!r} is not a language tag like en or zh-Hans")
        return ox.Literal(text.lower())

    def to_json(self) -> dict:
        """Describe the parameter for API listings."""
        described = {"name": self.name, "type": self.kind, "required": self.required, "description": self.describe()}
        optional = {
            "class": self.rdf_class,
            "datatype": self.datatype,
            "lang": self.lang,
            "values": list(self.values) or None,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "default": self.default,
            "example": self.example,
        }
        described.update({key: value for key, value in optional.items() if value is not None})
        return described


@dataclass(frozen=True)
class NamedQuery:
    """One checked queries/*.rq file: its metadata, typed parameters and SPARQL text."""

    name: str
    path: Path
    text: str
    summary: str
    summary_zh: str
    description: str
    description_zh: str
    tags: tuple[str, ...] = ()
    competency_questions: tuple[int, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    variables: tuple[str, ...] = ()  # the SELECT projection, in order
    digest: str = field(default="", compare=False)

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def bind(self, values: Mapping[str, object]) -> dict[ox.Variable, ox.NamedNode | ox.Literal]:
        """Turn raw parameter values into substitutions; empty values count as absent.

        Raises:
            InvalidParameter: a value is unknown, missing, of the wrong type or not allowed.
        """
        known = {p.name for p in self.parameters}
        for name in values:
            if name not in known:
                takes = ", ".join(sorted(known)) or "no parameters"
                raise InvalidParameter(name, f"unknown parameter; {self.name} takes {takes}")
        bindings = {}
        for param in self.parameters:
            raw = values.get(param.name)
            if raw is None or raw == "":
                raw = param.default
            if raw is None:
                if param.required:
                    raise InvalidParameter(param.name, f"required: give a {param.describe()}")
                continue
            bindings[ox.Variable(param.name)] = param.term(raw)
        return bindings

    def check_instances(self, store, bindings: Mapping[ox.Variable, object],
                        known: set[tuple[str, str]] | None = None) -> None:
        """Check that every IRI parameter with a class is bound to an instance of that class.

        `known` holds (IRI, class) pairs already found to be instances in the store's current state
        (see InstanceMemo); those are not asked again, and pairs found now are added to it.

        Raises:
            InvalidParameter: the IRI is not (known as) an instance of the declared class.
        """
        for param in self.parameters:
            if param.kind != "iri" or param.rdf_class is None:
                continue
            term = bindings.get(ox.Variable(param.name))
            if term is None:
                continue
            pair = (term.value, param.rdf_class)
            if known is not None and pair in known:
                continue
            substitutions = {ox.Variable("value"): term, ox.Variable("class"): ox.NamedNode(param.rdf_class)}
            if not bool(store.query(INSTANCE_CHECK, substitutions=substitutions)):
                raise InvalidParameter(
                    param.name, f"{compact_iri(term.value)} is not a known {compact_iri(param.rdf_class)}"
                )
            if known is not None:
                known.add(pair)

    def run(self, store, values: Mapping[str, object], known: set[tuple[str, str]] | None = None) -> ox.QuerySolutions:
        """Bind the values, check classes and run the query on `store` (which puts the terms in a leading VALUES row).

        Raises:
            InvalidParameter: a value is invalid (see bind and check_instances).
        """
        bindings = self.bind(values)
        self.check_instances(store, bindings, known)
        return store.query(self.text, substitutions=bindings)

    def to_json(self) -> dict:
        """Describe the query for API listings."""
        return {
            "name": self.name,
            "summary": self.summary,
            "summary_zh": self.summary_zh,
            "description": self.description,
            "description_zh": self.description_zh,
            "tags": list(self.tags),
            "competency_questions": list(self.competency_questions),
            "parameters": [p.to_json() for p in self.parameters],
            "variables": list(self.variables),
            "sparql": self.text,
        }


class InstanceMemo:
    """Positive instance checks of one dataset version, forgotten as soon as the version changes.

    Only positive answers are kept: a write can make an IRI an instance at any time, but it can only stop
    being one through a write, and every write names a new version.
    """

    def __init__(self, capacity: int = INSTANCE_MEMO_CAPACITY) -> None:
        self.capacity = capacity
        self._version: str | None = None
        self._known: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def known(self, version: str) -> set[tuple[str, str]]:
        """The (IRI, class) pairs known to be instances in `version`; read the version before querying."""
        with self._lock:
            if version != self._version or len(self._known) >= self.capacity:
                # A new set rather than clear(): a request still holding the old version's set keeps it to itself.
                self._version, self._known = version, set()
            return self._known


@dataclass
class QueryLibrary:
    """The queries that passed their checks, by name, and the problems of those that did not."""

    queries: dict[str, NamedQuery]
    problems: list[NamedQueryError]

    def get(self, name: str) -> NamedQuery | None:
        return self.queries.get(name)


def load_library(directory: Path, vocabulary: set[str] | None = None) -> QueryLibrary:
    """Load every *.rq file in `directory`, skipping (and reporting) the malformed ones."""
    queries, problems = {}, []
    for path in sorted(Path(directory).glob("*.rq")):
        try:
            query = load_named_query(path, vocabulary)
        except NamedQueryError as e:
            problems.append(e)
        else:
            queries[query.name] = query
    return QueryLibrary(queries, problems)


def load_named_query(path: Path, vocabulary: set[str] | None = None) -> NamedQuery:
    """Parse one .rq file and check its header against the query itself.

    `vocabulary`, if given, holds every IRI the ontology declares; header IRIs outside it are errors.

    Raises:
        NamedQueryError: the file is malformed; the message starts with file:line.
    """
    path = Path(path)
    if not QUERY_NAME.fullmatch(path.stem):
        raise NamedQueryError(f"{path}:1: the file name must be letters, digits, - or _ (it becomes the API path)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise NamedQueryError(f"{path}:1: cannot read: {e}") from e
    header = _parse_header(path, text)
    parameters = tuple(_parse_parameter(path, line, value, vocabulary) for line, value in header.pop("param", []))
    _check_unique_parameters(path, parameters)
    for key in REQUIRED_HEADER_KEYS:
        if key not in header:
            raise NamedQueryError(f"{path}:1: the header needs a '#+ {key}:' line")
    variables = _check_query(path, text, parameters)
    return NamedQuery(
        name=path.stem,
        path=path,
        text=text,
        summary=header["summary"][1],
        summary_zh=header["summary_zh"][1],
        description=header["description"][1],
        description_zh=header["description_zh"][1],
        tags=tuple(_split_list(header["tags"][1])) if "tags" in header else (),
        competency_questions=_parse_competency_questions(path, *header.get("competency_question", (0, ""))),
        parameters=parameters,
        variables=variables,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


def _parse_header(path: Path, text: str) -> dict:
    """Read the leading `#+ key: value` lines into {key: (line, value)}, params as a list."""
    header: dict = {}
    in_header = True
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#+"):
            in_header = False
            continue
        if not in_header:
            raise NamedQueryError(f"{path}:{number}: '#+' header lines must all come first, before any other line")
        key, colon, value = line[2:].partition(":")
        key, value = key.strip(), value.strip()
        if not colon or not key:
            raise NamedQueryError(f"{path}:{number}: a header line is '#+ key: value', not {line!r}")
        if key not in HEADER_KEYS:
            raise NamedQueryError(f"{path}:{number}: unknown header key '{key}'; known: {', '.join(HEADER_KEYS)}")
        if not value:
            raise NamedQueryError(f"{path}:{number}: '{key}' has no value")
        if key == "param":
            header.setdefault("param", []).append((number, value))
        elif key in header:
            raise NamedQueryError(f"{path}:{number}: '{key}' is given twice (first on line {header[key][0]})")
        else:
            header[key] = (number, value)
    if not header:
        raise NamedQueryError(f"{path}:1: the file must open with a '#+ summary: …' header")
    return header


def _parse_parameter(path: Path, line: int, spec: str, vocabulary: set[str] | None) -> Parameter:
    """Parse `NAME | TYPE | [key=value | flag]...` from header line `line`."""
    where = f"{path}:{line}"
    fields_ = [part.strip() for part in spec.split("|")]
    if len(fields_) < 2:
        raise NamedQueryError(f"{where}: a parameter is 'NAME | TYPE | options…', not {spec!r}")
    name, kind, options = fields_[0], fields_[1], fields_[2:]
    if not VARIABLE_NAME.fullmatch(name):
        raise NamedQueryError(f"{where}: parameter name {name!r} is not a SPARQL variable name")
    if name in RESERVED_PARAMETER_NAMES:
        raise NamedQueryError(f"{where}: parameter name '{name}' is reserved by the API")
    if kind not in PARAMETER_KINDS:
        raise NamedQueryError(f"{where}: parameter '{name}' has type {kind!r}; known: {', '.join(PARAMETER_KINDS)}")
    flags, settings = set(), {}
    for option in options:
        key, equals, value = option.partition("=")
        key, value = key.strip(), value.strip()
        if not equals:
            if key not in ("required", "optional"):
                raise NamedQueryError(f"{where}: parameter '{name}': unknown flag {key!r} (use required or optional)")
            flags.add(key)
        elif key not in KIND_TO_OPTION_KEYS[kind]:
            allowed = ", ".join(sorted(KIND_TO_OPTION_KEYS[kind]))
            raise NamedQueryError(f"{where}: parameter '{name}': {kind} takes no {key!r} (allowed: {allowed})")
        elif key in settings:
            raise NamedQueryError(f"{where}: parameter '{name}': {key!r} given twice")
        elif not value:
            raise NamedQueryError(f"{where}: parameter '{name}': {key!r} has no value")
        else:
            settings[key] = value
    if flags == {"required", "optional"}:
        raise NamedQueryError(f"{where}: parameter '{name}' cannot be both required and optional")
    if "required" in flags and "default" in settings:
        raise NamedQueryError(f"{where}: parameter '{name}' is required, so a default would never be used")

    def iri_option(key: str) -> str | None:
        if key not in settings:
            return None
        iri = expand_iri(settings[key])
        if iri is None:
            raise NamedQueryError(f"{where}: parameter '{name}': {key}={settings[key]} is not an IRI or known prefixed name")
        if vocabulary is not None and iri.startswith(PREFIXES["cop"]) and iri not in vocabulary:
            raise NamedQueryError(f"{where}: parameter '{name}': {settings[key]} is not declared in the ontology")
        return iri

    def int_option(key: str) -> int | None:
        if key not in settings:
            return None
        if not INTEGER.fullmatch(settings[key]):
            raise NamedQueryError(f"{where}: parameter '{name}': {key}={settings[key]} is not a whole number")
        return int(settings[key])

    values = tuple(_split_list(settings.get("values", "")))
    if kind == "enum" and not values:
        raise NamedQueryError(f"{where}: parameter '{name}': an enum needs values=a,b,…")
    term_values = values + tuple(settings[k] for k in ("default", "example") if k in settings and kind == "iri")
    for value in term_values:
        iri = expand_iri(value) if PREFIXED_NAME.fullmatch(value) else None
        if vocabulary is not None and iri and iri.startswith(PREFIXES["cop"]) and iri not in vocabulary:
            raise NamedQueryError(f"{where}: parameter '{name}': {value} is not declared in the ontology")
    lang = settings.get("lang")
    if lang is not None and not _is_language_tag(lang):
        raise NamedQueryError(f"{where}: parameter '{name}': lang={lang} is not a language tag")
    datatype = iri_option("datatype")
    if lang is not None and datatype is not None:
        raise NamedQueryError(f"{where}: parameter '{name}': give datatype= or lang=, not both")
    param = Parameter(
        name=name,
        kind=kind,
        required="required" in flags,
        default=settings.get("default"),
        example=settings.get("example"),
        rdf_class=iri_option("class"),
        datatype=datatype,
        lang=lang,
        values=values,
        minimum=int_option("min"),
        maximum=int_option("max"),
        line=line,
    )
    for key in ("default", "example"):
        if settings.get(key) is not None:
            try:
                param.term(settings[key])
            except InvalidParameter as e:
                raise NamedQueryError(f"{where}: {key} does not fit the declared type: {e}") from None
    return param


def _is_language_tag(text: str) -> bool:
    """Tell whether `text` is a BCP 47 tag as the store accepts it."""
    if not LANGUAGE_TAG.fullmatch(text):
        return False
    try:
        ox.Literal("", language=text)
    except ValueError:
        return False
    return True


def _check_unique_parameters(path: Path, parameters: tuple[Parameter, ...]) -> None:
    seen: dict[str, int] = {}
    for param in parameters:
        if param.name in seen:
            raise NamedQueryError(f"{path}:{param.line}: parameter '{param.name}' is declared twice")
        seen[param.name] = param.line


def _check_query(path: Path, text: str, parameters: tuple[Parameter, ...]) -> tuple[str, ...]:
    """Parse the query with the engine that runs it; return its projected variables.

    The store binds parameters by a VALUES row and, in-process, by substitution (SEP-0007, as
    pyoxigraph implements it), which binds only projected variables: so every parameter is projected.
    """
    try:
        # An empty store parses and plans the query; nothing is evaluated until results are read.
        result = ox.Store().query(text)
    except SyntaxError as e:
        raise NamedQueryError(f"{path}:{_file_position(e, text)}") from None
    is_select = isinstance(result, ox.QuerySolutions)
    variables = tuple(v.value for v in result.variables) if is_select else ()
    # A pyoxigraph result may only be dropped on the thread that made it. Raised with `result` still in
    # this frame, the error's traceback kept it alive in the library's problem list, and the garbage
    # collector later freed it on some server thread ("unsendable, but is being dropped on another thread").
    del result
    if not is_select:
        raise NamedQueryError(f"{path}:1: a named query must be a SELECT query (it returns records)")
    for param in parameters:
        if param.name not in variables:
            raise NamedQueryError(
                f"{path}:{param.line}: parameter '{param.name}' must be a variable in the SELECT projection "
                f"(projected: {', '.join(variables) or 'none'})"
            )
    return variables


def _file_position(error: SyntaxError, text: str) -> str:
    """Give 'L:C: SPARQL syntax error: …' for a query that fails to parse (the query is the whole file).

    pyoxigraph often points past the offending token, so rdflib's parser is asked where it stopped.
    """
    try:
        prepareQuery(text)
    except ParseException as e:
        return f"{e.lineno}:{e.col}: SPARQL syntax error: {e.msg}, found {e.line[e.col - 1:e.col + 19]!r}"
    except Exception:  # rdflib fails differently (e.g. unknown prefix): keep pyoxigraph's account
        pass
    message = str(error)
    match = re.match(r"error at (\d+):(\d+): (.*)", message, re.S)
    if match:
        return f"{match.group(1)}:{match.group(2)}: SPARQL syntax error: {match.group(3)}"
    return f"1: SPARQL syntax error: {message}"


def _parse_competency_questions(path: Path, line: int, value: str) -> tuple[int, ...]:
    numbers = []
    for item in _split_list(value):
        if not item.isdigit() or int(item) < 1:
            raise NamedQueryError(f"{path}:{line}: competency_question must be numbers like 3 or 3, 4; not {item!r}")
        numbers.append(int(item))
    return tuple(numbers)


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def ontology_vocabulary(ontology_path: Path) -> set[str]:
    """Collect every IRI that appears as a subject in the ontology source (its declared terms)."""
    graph = ox.Store()
    graph.bulk_load(path=str(ontology_path), format=ox.RdfFormat.TURTLE)
    return {q.subject.value for q in graph.quads_for_pattern(None, None, None, None) if isinstance(q.subject, ox.NamedNode)}
