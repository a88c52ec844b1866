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

from kg.errors import BadRequest, Forbidden

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
  | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
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


@dataclass
class Scan:
    """What the scanner learned about one query or update."""

    form: str | None = None  # SELECT, CONSTRUCT, DESCRIBE, ASK, or None for updates / unknown
    has_dataset_clause: bool = False  # FROM or FROM NAMED: the query names its own dataset
    external: list[tuple[str, str]] = field(default_factory=list)  # (keyword, target) for SERVICE / LOAD
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
            _read_glued(glued, token, following, tokens[i + 2] if i + 2 < len(tokens) else None, prefixes, result,
                        _starts_an_operation(tokens, i))
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
            if j < len(tokens) and tokens[j].kind == "word" and tokens[j].text.upper() == "SILENT":
                j += 1
            target = tokens[j] if j < len(tokens) else None
            result.external.extend((keyword, iri) for iri in _resolve(target, prefixes))
    return result


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


def _read_glued(glued: tuple[str, str], token: Token, following: Token | None, after: Token | None,
                prefixes: dict[str, set[str]], result: Scan, starts_an_operation: bool) -> None:
    """Record what the engine would read in a glued keyword: a prefix declaration, or a SERVICE or LOAD target.

    The reading is taken only where the engine could take it, so names that merely start with these letters
    (a `services:` prefix in a triple pattern) are not mistaken for calls: a SERVICE needs its group `{`
    right after the target, and LOAD stands only where an update operation starts.
    A prefix declared more than once keeps every reading: what it might call must all be allowed.
    """
    keyword, rest = glued
    if keyword == "PREFIX":
        if token.depth == 0 and rest.endswith(":") and following is not None and following.kind == "iri":
            prefixes.setdefault(rest[:-1], set()).add(following.text[1:-1])
        return
    if rest.upper().startswith("SILENT"):
        rest = rest[len("SILENT"):]
    if not rest:  # SERVICESILENT or LOADSILENT: the target is the next token
        group = after
        target = _resolve(following, prefixes)
    else:
        group = following
        target = _resolve(Token("pname" if ":" in rest else "word", rest, token.start, token.depth), prefixes)
    if (keyword == "SERVICE" and group is not None and group.text == "{") or (keyword == "LOAD" and starts_an_operation):
        result.external.extend((keyword, iri) for iri in target)


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


def check_external(text: str, allowlist: tuple[str, ...] | list[str]) -> Scan:
    """Scan `text` and refuse SERVICE or LOAD of anything the allow-list does not name.

    Also refuse text nested deeper than MAX_NESTING, before any parser sees it.

    Raises:
        Forbidden: the text calls SERVICE or LOAD on an endpoint or file that is not allow-listed.
        BadRequest: the text nests brackets more than MAX_NESTING deep.
    """
    found = scan(text)
    if found.too_deep_at is not None:
        raise BadRequest(f"{_position(text, found.too_deep_at)}: brackets nested more than {MAX_NESTING} deep; "
                         "simplify the query")
    if found.too_long_at is not None:
        raise BadRequest(f"{_position(text, found.too_long_at)}: more than {MAX_OPERATORS} patterns and operators "
                         "in a row; split the work, or pass many values through VALUES")
    external = list(found.external)
    # The engine does not pre-decode \\u escapes, but read them anyway so no spelling slips past.
    if "\\u" in text or "\\U" in text:
        external += scan(_UNICODE_ESCAPE.sub(_decode_escape, text)).external
    for keyword, target in external:
        # Only web endpoints can be allow-listed; a file: IRI is refused even if someone lists it.
        if target not in allowlist or not target.startswith(("http://", "https://")):
            shown = target or "a variable or relative IRI"
            raise Forbidden(
                f"{keyword} {shown} is refused: only endpoints named in COPROKG_SERVICE_ALLOWLIST may be "
                "contacted, and files never"
            )
    return found


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
