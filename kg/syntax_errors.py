"""Turn pyoxigraph's syntax errors into a sentence with the position in the user's own text.

pyoxigraph says `error at 1:29: expected one of Prefix not found, ['%'], ['-' | '0' ..= '9' …` — the
parser's whole lookahead set, character classes included, at the place it gave up. Users want to read
"unknown prefix `foo:`" or "expected `}` after `?o`", pointing at the token that is wrong.
"""

from __future__ import annotations

import re

from kg.errors import QuerySyntaxError
from kg.namespaces import PREFIXES
from kg.sparql_scan import Token, tokenize

_PARSER_MESSAGE = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)
# The lookahead set's items: quoted tokens, bare keywords, or character classes (dropped: no one types a class).
_CHARACTER_CLASS = re.compile(r"\[(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\]'\"])*\]")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_KEYWORD = re.compile(r"\b[A-Za-z][A-Za-z_]*\b")
MAX_EXPECTED = 8
# pyparsing can take seconds on a long hostile text; only short queries get the second opinion.
SECOND_OPINION_MAX_CHARS = 8000
_TERM_KINDS = ("var", "iri", "pname", "string", "bnode")


class ReadableSyntaxError(QuerySyntaxError):
    """A syntax error in words, with the 1-based line and column (in characters) of the token at fault."""

    def __init__(self, message: str, line: int, column: int, parser_message: str):
        super().__init__(message)
        self.line, self.column, self.parser_message = line, column, parser_message


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        newline = text.find("\n", start)
        if newline < 0:
            return len(text)
        start = newline + 1
    end = text.find("\n", start)
    return min(start + column - 1, len(text) if end < 0 else end + 1)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _expected(lookahead: str) -> list[str]:
    without_classes = _CHARACTER_CLASS.sub(" ", lookahead.replace("Prefix not found", " "))
    items: list[str] = []
    for match in re.finditer(rf'{_QUOTED.pattern}|{_KEYWORD.pattern}', without_classes):
        item = match.group(1) if match.group(1) is not None else match.group()
        item = item.encode().decode("unicode_escape") if "\\" in item else item
        if item and item not in items and item not in ("one", "of", "expected"):
            items.append(item)
    return items


def _quote(text: str) -> str:
    text = text if len(text) <= 40 else text[:37] + "…"
    return f"`{text}`"


def _listing(items: list[str]) -> str:
    shown = [_quote(i) for i in items[:MAX_EXPECTED]] + (["…"] if len(items) > MAX_EXPECTED else [])
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def explain(query: str, parser_message: str, shift: int = 0) -> QuerySyntaxError:
    """Explain pyoxigraph's `parser_message` about `query`, whose line 1 was run `shift` characters to the right.

    A message without a position is returned as it is.
    """
    found = _PARSER_MESSAGE.search(parser_message.strip())  # a remote store wraps it in words of its own
    if found is None:
        return QuerySyntaxError(parser_message)
    line, column, lookahead = int(found.group(1)), int(found.group(2)), found.group(3)
    if line == 1 and column > shift:
        column -= shift
    offset = _offset(query, line, column)
    tokens = tokenize(query)
    before = [t for t in tokens if t.start + len(t.text) <= offset]
    at = next((t for t in tokens if t.start <= offset < t.start + max(len(t.text), 1)), None) or next(
        (t for t in tokens if t.start >= offset), None)
    if "Prefix not found" in lookahead and before and before[-1].kind == "pname":
        return _unknown_prefix(query, before[-1], parser_message)
    quote = next((t for t in reversed(tokens) if t.kind == "other" and t.text in "\"'"), None)
    if quote is not None and quote.start < offset:
        line, column = _line_column(query, quote.start)
        return ReadableSyntaxError(f"unterminated string: the {_quote(quote.text)} at line {line}, column {column} "
                                   "is never closed", line, column, parser_message)
    if at is None:
        better = _second_opinion(query, tokens, offset)
        if better is not None:
            return ReadableSyntaxError(better[0], *_line_column(query, better[1]), parser_message)
    expected = _expected(lookahead)
    after = f" after {_quote(before[-1].text)}" if before else ""
    where = f"found {_quote(at.text)}" if at is not None else "found the end of the query"
    if expected:
        message = f"expected {_listing(expected)}{after}, {where}"
    else:
        message = f"unexpected {_quote(at.text) if at is not None else 'end of the query'}{after}"
    if at is not None:
        line, column = _line_column(query, at.start)
    return ReadableSyntaxError(f"{message} (line {line}, column {column})", line, column, parser_message)


def _unknown_prefix(query: str, token: Token, parser_message: str) -> ReadableSyntaxError:
    prefix = token.text.split(":", 1)[0]
    line, column = _line_column(query, token.start)
    known = ", ".join(f"{p}:" for p in PREFIXES)
    return ReadableSyntaxError(
        f"unknown prefix `{prefix}:` (line {line}, column {column}): declare it with "
        f"PREFIX {prefix}: <…>; these are declared for you: {known}", line, column, parser_message)


def _second_opinion(query: str, tokens: list[Token], offset: int) -> tuple[str, int] | None:
    """Find the place an error really is when pyoxigraph gave up only at the end of the text.

    pyoxigraph reports where its furthest alternative failed, which for `{ ?s ?p }` is past the closing
    brace. rdflib's parser stops at the start of the pattern it could not read; an incomplete triple
    pattern is then named as such.
    """
    if len(query) > SECOND_OPINION_MAX_CHARS or not tokens:
        return None
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parseQuery(query)
    except ParseException as e:
        start = e.loc
    except Exception:  # rdflib failing in its own way is no reason to lose pyoxigraph's answer
        return None
    else:
        return None
    at = next((t for t in tokens if t.start >= start), None)
    if at is None or at.start >= offset:
        return None
    line, column = _line_column(query, at.start)
    pattern = []
    for token in tokens[tokens.index(at):]:
        if token.text in (".", "}", ";", "{"):
            break
        pattern.append(token)
    if pattern and len(pattern) < 3 and all(t.kind in _TERM_KINDS or t.text == "a" for t in pattern):
        missing = "object" if len(pattern) == 2 else "predicate and object"
        text = " ".join(t.text for t in pattern)
        return f"the triple pattern {_quote(text)} (line {line}, column {column}) has no {missing}", at.start
    return f"cannot read the query from {_quote(at.text)} on (line {line}, column {column})", at.start
