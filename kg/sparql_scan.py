"""Scan SPARQL text for what must be known before running it: its form, dataset and outside references.

A small tokenizer, not a parser: it skips strings, IRIs and comments the way the SPARQL grammar
does, so a keyword is only seen where the engine would see one. It is cheap enough to run on
every request, unlike a full rdflib parse.

It reads keywords as the engine does, which is not as the grammar's tokens would: pyoxigraph matches a
keyword by its letters alone, with no word boundary after it, so `SERVICEx:admin { … }` calls the
service x:admin, `SERVICE:{ … }` calls the default prefix's IRI, and `PREFIXx: <…>` declares x:
(tests/test_security.py runs each such spelling against the engine with a live listener).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.errors import BadRequest, Forbidden, QuerySyntaxError, UpdateSyntaxError

_PN_CHARS_BASE = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d\u2070-\u218f"
                  "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
_PN_CHARS = _PN_CHARS_BASE + "_0-9\u00b7\u0300-\u036f\u203f-\u2040-"
# Bounded: unbounded, "a.a.a.a…" made every name start rescan the rest of the run (quadratic; a 1 MB
# request held the GIL for hours). A longer prefix is read as words, so its SERVICE/LOAD target cannot be
# resolved and is refused, never wrongly allowed.
_PREFIX = f"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]{{0,62}}[{_PN_CHARS}])?"
_LOCAL_CHAR = rf"[{_PN_CHARS}:]|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?#@%]"
_LOCAL = rf"(?:[{_PN_CHARS_BASE}_:0-9]|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?#@%])(?:(?:{_LOCAL_CHAR}|\.)*(?:{_LOCAL_CHAR}))?"

# Order matters: long strings before short ones, IRIs before the "<" operator, names before words.
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\r\n]|\\.)*'|"(?:[^"\\\r\n]|\\.)*")
  | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*>)
  | (?P<var>[?$][{_PN_CHARS}]+)
  | (?P<bnode>_:[{_PN_CHARS}.]+)
  | (?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
  | (?P<pname>(?:{_PREFIX})?:(?:{_LOCAL})?)
  | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
# Bracket nesting ({, ( and [ together) a query or update may have. pyoxigraph's recursive parser overflows
# a thread's stack (a segfault that ends the process) at a few thousand levels; real queries nest < 20.
MAX_NESTING = 100
_OPENERS, _CLOSERS = "{([", "})]"
# Operators that each add a level to the engine's left-deep trees (joins, BIND/MINUS/OPTIONAL chains, path
# sequences, arithmetic and boolean chains). pyoxigraph recurses over those trees too: ~2 500 BINDs or MINUS
# blocks in a row overflow the stack. VALUES data and the arguments of IN (...) and functions are flat, so
# they do not count.
MAX_OPERATORS = 1000
_CHAIN_KEYWORDS = {"OPTIONAL", "MINUS", "BIND", "FILTER", "UNION", "GRAPH", "SERVICE", "VALUES"}
_PATTERN_SEPARATORS = {".", ";", ","}  # counted outside parentheses only (inside, "," separates arguments)
_EXPRESSION_OPERATORS = set("/|^+-*&=!<>")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


@dataclass
class Token:
    kind: str
    text: str
    start: int
    depth: int  # curly-brace nesting depth at the token


@dataclass(frozen=True)
class External:
    """One SERVICE or LOAD the engine would perform, and where it stands in the text."""

    keyword: str  # SERVICE or LOAD
    target: str  # the IRI it would contact ("" when it is a variable or cannot be resolved)
    silent: bool
    start: int  # the whole pattern or operation: from the keyword to the end of the SERVICE group or LOAD
    end: int
    target_at: tuple[int, int] | None  # the target token's span; None where the target is glued to the keyword


@dataclass
class Scan:
    """What the scanner learned about one query or update."""

    form: str | None = None  # SELECT, CONSTRUCT, DESCRIBE, ASK, or None for updates / unknown
    has_dataset_clause: bool = False  # FROM or FROM NAMED: the query names its own dataset
    external: list[External] = field(default_factory=list)  # every SERVICE and LOAD, by every reading
    from_graphs: list[str] = field(default_factory=list)  # FROM IRIs ("" when unresolvable)
    from_named_graphs: list[str] = field(default_factory=list)  # FROM NAMED IRIs
    update_dataset_clause: bool = False  # USING or WITH outside any group: the update names its dataset
    too_deep_at: int | None = None  # offset of the bracket that first went past MAX_NESTING
    too_long_at: int | None = None  # offset of the operator that first went past MAX_OPERATORS
    tokens: list[Token] = field(default_factory=list)  # left empty by scan(): cached scans must stay small


def tokenize(text: str) -> list[Token]:
    """Split SPARQL text into significant tokens (no spaces or comments), with brace depth."""
    tokens: list[Token] = []
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        value = match.group()
        if value == "}":
            depth = max(depth - 1, 0)
        tokens.append(Token(kind, value, match.start(), depth))
        if value == "{":
            depth += 1
    return tokens


def scan(text: str) -> Scan:
    """Find the form, dataset clauses and SERVICE / LOAD targets of a query or update (do not mutate the result)."""
    # Requests repeat the same short queries; caching saves tokenizing each one twice per request.
    return _scan_cached(text) if len(text) <= 8192 else _scan(text)


@functools.lru_cache(maxsize=1024)
def _scan_cached(text: str) -> Scan:
    return _scan(text)


def _scan(text: str) -> Scan:
    # The tokens are not kept: 1024 cached scans of 8 KB of "(((" held over a gigabyte.
    result = Scan()
    prefixes: dict[str, set[str]] = {}  # every IRI each prefix was declared as, by any reading
    tokens = tokenize(text)
    nesting = parens = operators = 0
    values_depth: int | None = None  # brace depth of the VALUES data block being read
    values_pending = False
    for i, token in enumerate(tokens):
        if values_depth is not None and token.depth > values_depth:
            continue  # VALUES data: flat rows of terms
        values_depth = None
        counted = False
        if token.kind == "other":
            if token.text in _OPENERS:
                nesting += 1
                if nesting > MAX_NESTING and result.too_deep_at is None:
                    result.too_deep_at = token.start
                if token.text == "(":
                    parens += 1
                elif token.text == "{" and values_pending:
                    values_depth, values_pending = token.depth, False
            elif token.text in _CLOSERS:
                nesting = max(nesting - 1, 0)
                if token.text == ")":
                    parens = max(parens - 1, 0)
            counted = token.text in _EXPRESSION_OPERATORS or (token.text in _PATTERN_SEPARATORS and parens == 0)
        elif token.kind == "word" and token.text.upper() in _CHAIN_KEYWORDS:
            counted = True
            values_pending = token.text.upper() == "VALUES"
        if counted:
            operators += 1
            if operators > MAX_OPERATORS and result.too_long_at is None:
                result.too_long_at = token.start
        if token.kind not in ("word", "pname"):
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        glued = _glued_keyword(token)
        if glued is not None:
            _read_glued(glued, tokens, i, prefixes, result, len(text))
        if token.kind != "word":
            continue
        keyword = token.text.upper()
        if keyword == "PREFIX" and following is not None and following.kind == "pname":
            target = tokens[i + 2] if i + 2 < len(tokens) else None
            if target is not None and target.kind == "iri":
                prefixes.setdefault(following.text[:-1], set()).add(target.text[1:-1])
        elif keyword in QUERY_FORMS and result.form is None:
            result.form = keyword
        elif keyword == "FROM":
            result.has_dataset_clause = True
            named = following is not None and following.kind == "word" and following.text.upper() == "NAMED"
            target = tokens[i + 2] if named and i + 2 < len(tokens) else following
            candidates = _resolve(target, prefixes)
            (result.from_named_graphs if named else result.from_graphs).append(
                candidates[0] if len(candidates) == 1 else "")
        elif keyword in ("USING", "WITH") and token.depth == 0:
            result.update_dataset_clause = True
        elif keyword in ("SERVICE", "LOAD"):
            j = i + 1
            silent = j < len(tokens) and tokens[j].kind == "word" and tokens[j].text.upper() == "SILENT"
            j += silent
            target = tokens[j] if j < len(tokens) else None
            _record(result, tokens, i, j + 1, keyword, silent, _resolve(target, prefixes), target, len(text))
    return result


def _record(result: Scan, tokens: list[Token], at: int, after_target: int, keyword: str, silent: bool,
            targets: list[str], target: Token | None, length: int) -> None:
    """Add a SERVICE or LOAD at tokens[at], with its extent: a SERVICE to the brace closing its group, a LOAD
    to the `;` that ends its operation (or the end of the text)."""
    end = length
    if keyword == "SERVICE":
        group = tokens[after_target] if after_target < len(tokens) else None
        if group is not None and group.text == "{":
            end = next((tok.start + 1 for tok in tokens[after_target + 1:] if tok.text == "}" and tok.depth == group.depth),
                       length)
    else:
        end = next((tok.start for tok in tokens[after_target:] if tok.text == ";" and tok.depth == 0), length)
    target_at = (target.start, target.start + len(target.text)) if target is not None else None
    result.external.extend(External(keyword, iri, silent, tokens[at].start, end, target_at) for iri in targets)


# Keywords the engine also reads glued to what follows them (see the module's docstring), and so must we.
_GLUED_KEYWORDS = ("SERVICE", "LOAD", "PREFIX")


def _glued_keyword(token: Token) -> tuple[str, str] | None:
    """(keyword, the rest of the token) when a word or prefixed name starts with a keyword it is longer than."""
    upper = token.text.upper()
    for keyword in _GLUED_KEYWORDS:
        if upper.startswith(keyword) and len(upper) > len(keyword):
            return keyword, token.text[len(keyword):]
    return None


def _starts_an_operation(tokens: list[Token], i: int) -> bool:
    """Whether tokens[i] stands where an update operation may start: first, after `;`, or after the prologue."""
    if i == 0:
        return True
    previous = tokens[i - 1]
    if previous.depth != 0:
        return False
    if previous.text == ";":
        return True
    # The end of a PREFIX p: <iri> or BASE <iri> declaration, however the keyword was spelled.
    return previous.kind == "iri" and i >= 2 and (tokens[i - 2].kind == "pname" or tokens[i - 2].text.upper() == "BASE")


def _read_glued(glued: tuple[str, str], tokens: list[Token], i: int, prefixes: dict[str, set[str]], result: Scan,
                length: int) -> None:
    """Record what the engine would read in a glued keyword: a prefix declaration, or a SERVICE or LOAD target.

    The reading is taken only where the engine could take it, so names that merely start with these letters
    (a `services:` prefix in a triple pattern) are not mistaken for calls: a SERVICE needs its group `{`
    right after the target, and LOAD stands only where an update operation starts. A prefix declared more
    than once keeps every reading: what it might call must all be allowed.
    """
    keyword, rest = glued
    token = tokens[i]
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    if keyword == "PREFIX":
        if token.depth == 0 and rest.endswith(":") and following is not None and following.kind == "iri":
            prefixes.setdefault(rest[:-1], set()).add(following.text[1:-1])
        return
    silent = rest.upper().startswith("SILENT")
    if silent:
        rest = rest[len("SILENT"):]
    if not rest:  # SERVICESILENT or LOADSILENT: the target is the next token
        after_target, target = i + 2, following
        targets = _resolve(following, prefixes)
    else:
        after_target, target = i + 1, None
        targets = _resolve(Token("pname" if ":" in rest else "word", rest, token.start, token.depth), prefixes)
    group = tokens[after_target] if after_target < len(tokens) else None
    if (keyword == "SERVICE" and group is not None and group.text == "{") or (
            keyword == "LOAD" and _starts_an_operation(tokens, i)):
        _record(result, tokens, i, after_target, keyword, silent, targets, target, length)


def _resolve(token: Token | None, prefixes: dict[str, set[str]]) -> list[str]:
    """Every IRI an IRI or prefixed-name token may name: one, or more where its prefix was declared more than
    once; [""] when it names none (a variable, or something unresolvable), which no allow-list holds."""
    if token is not None and token.kind == "iri":
        return [token.text[1:-1]]
    if token is not None and token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        if prefix in prefixes and "\\" not in local and "%" not in local:
            return sorted(namespace + local for namespace in prefixes[prefix])
    return [""]


def check_external(text: str, allowlist: tuple[str, ...] | list[str], operation: str = "query") -> tuple[Scan, str]:
    """Scan `text` and refuse SERVICE or LOAD of anything the allow-list does not name; give the text to run.

    Under SILENT a refused call is not an error (SPARQL 1.1: a failure under SILENT is not reported): a
    `SERVICE SILENT` pattern becomes `{}`, the one empty solution a failed silent service yields, and a
    `LOAD SILENT` operation becomes an update that does nothing. Either way nothing is contacted. A text
    that does not parse is a syntax error, whatever it mentions, so the refusal comes only after the engine
    has parsed the text with every refused target replaced by an IRI it cannot fetch. Also refuse text
    nested deeper than MAX_NESTING, before any parser sees it.

    `operation` is "query" or "update", as the text will be run.

    Raises:
        QuerySyntaxError, UpdateSyntaxError: the text does not parse (the engine's message, with its position).
        Forbidden: the text calls SERVICE or LOAD, not under SILENT, on an endpoint or file that is not allow-listed.
        BadRequest: the text nests brackets more than MAX_NESTING deep.
    """
    found = scan(text)
    if found.too_deep_at is not None:
        raise BadRequest(f"{_position(text, found.too_deep_at)}: brackets nested more than {MAX_NESTING} deep; "
                         "simplify the query")
    if found.too_long_at is not None:
        raise BadRequest(f"{_position(text, found.too_long_at)}: more than {MAX_OPERATORS} patterns and operators "
                         "in a row; split the work, or pass many values through VALUES")
    refused = [call for call in found.external if not _allowed(call.target, allowlist)]
    silenced = _outermost([call for call in refused if call.silent])
    # A call inside a silenced one never runs, whatever it names.
    loud = [call for call in refused if not call.silent
            and not any(outer.start <= call.start and call.end <= outer.end for outer in silenced)]
    # The engine does not pre-decode \u escapes, but read them anyway so no spelling slips past; what only
    # the decoded text shows is refused outright, SILENT or not (its place in the raw text is unknown).
    if "\\u" in text or "\\U" in text:
        decoded = [call for call in scan(_UNICODE_ESCAPE.sub(_decode_escape, text)).external
                   if not _allowed(call.target, allowlist)]
        if len(decoded) != len(refused):
            loud = loud or decoded
    if refused or loud:
        _parse_first(text, found.external, operation)
    if loud:
        shown = loud[0].target or "a variable or relative IRI"
        raise Forbidden(f"{loud[0].keyword} {shown} is refused: only endpoints named in COPROKG_SERVICE_ALLOWLIST "
                        "may be contacted, and files never")
    return found, _silenced(text, silenced) if silenced else text


def _allowed(target: str, allowlist: tuple[str, ...] | list[str]) -> bool:
    # Only web endpoints can be allow-listed; a file: IRI is refused even if someone lists it.
    return target in allowlist and target.startswith(("http://", "https://"))


def _outermost(calls: list[External]) -> list[External]:
    """The calls not inside another one (a refused SILENT SERVICE may hold others), each span once."""
    kept: list[External] = []
    for call in sorted(calls, key=lambda c: (c.start, -c.end)):
        if not kept or call.start >= kept[-1].end:
            kept.append(call)
    return kept


def _silenced(text: str, calls: list[External]) -> str:
    """The text with each of these (outermost, refused, SILENT) calls replaced by what its failure means."""
    pieces, last = [], 0
    for call in calls:
        pieces += [text[last:call.start], "{}" if call.keyword == "SERVICE" else "INSERT DATA {}"]
        last = call.end
    return "".join(pieces) + text[last:]


def _parse_first(text: str, calls: list[External], operation: str) -> None:
    """Raise the engine's syntax error if `text` does not parse, without letting it contact anything.

    Every SERVICE and LOAD target is replaced by an IRI of the same length that nothing can fetch, then the engine
    parses the text on an empty in-memory store. A target glued to its keyword has no span of its own, so
    such a text is not tried: it is refused as it stands.

    Raises:
        QuerySyntaxError, UpdateSyntaxError: as the engine reports.
    """
    spans = {call.target_at for call in calls}
    if None in spans:
        return
    neutral = text
    for start, end in sorted(spans, reverse=True):
        neutral = neutral[:start] + "<a:" + "x" * max(end - start - 4, 1) + ">" + neutral[end:]
    try:
        if operation == "update":
            ox.Store().update(neutral)
        else:
            result = ox.Store().query(neutral)
            del result  # a pyoxigraph result must be dropped on the thread that made it
    except SyntaxError as e:
        raise (UpdateSyntaxError if operation == "update" else QuerySyntaxError)(str(e)) from None
    except (OSError, RuntimeError, ValueError):
        pass  # it parsed: the unfetchable IRI failed (an ASK or an update runs at once)


def _position(text: str, offset: int) -> str:
    """Give 'line L, column C' (both from 1) of an offset into `text`."""
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _decode_escape(match: re.Match) -> str:
    return chr(int(match.group(1) or match.group(2), 16))


def add_using_clauses(update: str, default_graphs: list[str], named_graphs: list[str]) -> str:
    """Apply the protocol's using-graph-uri / using-named-graph-uri to every DELETE/INSERT ... WHERE.

    The graph IRIs must already be validated IRIs; they are written as IRI tokens.

    Raises:
        BadRequest: the update names its own dataset (USING or WITH) as well.
    """
    if not default_graphs and not named_graphs:
        return update
    check_using_conflict(update, default_graphs, named_graphs)
    tokens = tokenize(update)
    clause = "".join(f" USING <{g}>" for g in default_graphs) + "".join(f" USING NAMED <{g}>" for g in named_graphs)
    pieces, last = [], 0
    for i, token in enumerate(tokens):
        if token.depth == 0 and token.kind == "word" and token.text.upper() == "WHERE":
            previous = tokens[i - 1] if i else None
            if previous is not None and previous.kind == "word" and previous.text.upper() == "DELETE":
                continue  # DELETE WHERE has no dataset clause in the grammar
            pieces.append(update[last : token.start])
            pieces.append(clause + " ")
            last = token.start
    pieces.append(update[last:])
    return "".join(pieces)


def check_using_conflict(update: str, default_graphs: list[str], named_graphs: list[str]) -> None:
    """Refuse protocol USING parameters on an update that has USING or WITH itself.

    Raises:
        BadRequest: both name a dataset (the protocol leaves the result undefined).
    """
    if (default_graphs or named_graphs) and scan(update).update_dataset_clause:
        raise BadRequest("using-graph-uri / using-named-graph-uri cannot be combined with USING or WITH in the update")
