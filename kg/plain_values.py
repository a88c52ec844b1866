"""Plain values of RDF terms, as records show them: the rule the query API and the Python client share.

IRIs and text stay strings, numbers and booleans become numbers and booleans, a blank node is `_:label`.
Text with a language tag also says its language under `NAME@lang` beside the value (`@` cannot occur in a
variable name, so the key never meets a column), since a query may fall back to English for text that
exists in no other language.
It needs nothing but the standard library, so the light client install (README, "Use from your app") has it.
"""

from __future__ import annotations

import math

XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGER_DATATYPES = frozenset(XSD + name for name in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
    "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte"))
FLOAT_DATATYPES = frozenset(XSD + name for name in ("decimal", "double", "float"))
BOOLEAN_DATATYPE = XSD + "boolean"
LANGUAGE_KEY_SUFFIX = "@lang"


def plain_literal(lexical: str, datatype: str | None) -> str | int | float | bool:
    """The plain value of a literal; an ill-typed or non-finite number keeps its text rather than fail the answer."""
    try:
        if datatype in INTEGER_DATATYPES:
            return int(lexical)
        if datatype in FLOAT_DATATYPES:
            number = float(lexical)
            return number if math.isfinite(number) else lexical
    except ValueError:
        return lexical
    if datatype == BOOLEAN_DATATYPE:
        return lexical in ("true", "1")
    return lexical


def plain_blank_node(label: str) -> str:
    return f"_:{label}"


def language_key(name: str) -> str:
    """The record key that holds the language tag of column `name`'s text."""
    return name + LANGUAGE_KEY_SUFFIX
