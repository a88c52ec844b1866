"""URL-encoded parameters decoded as urllib's parse_qsl does (UTF-8, strict), with a C fast path for long values.

A SPARQL query sent by GET is hundreds of percent-escapes long; urllib decodes them one by one in Python,
which was about a tenth of a point lookup's time. binascii.a2b_qp decodes `=XX` escapes in C, so a value
whose only `=` signs are its translated `%XX` escapes decodes identically there; any other value (one
holding `=`, a `%` not followed by two hex digits, or non-ASCII text) takes urllib's own path.
"""

from __future__ import annotations

import binascii
import re
from urllib.parse import unquote

# A `%` that does not start a two-hex-digit escape: urllib keeps it as it is, a2b_qp would not.
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def unquote_plus_strict(text: str) -> str:
    """Decode one `+`-for-space, percent-encoded name or value; raise UnicodeDecodeError on non-UTF-8 escapes."""
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    if text.isascii() and "=" not in text and _LONE_PERCENT.search(text) is None:
        return binascii.a2b_qp(text.replace("%", "=")).decode("utf-8")
    return unquote(text, encoding="utf-8", errors="strict")


def parse_query_string(raw: str) -> list[tuple[str, str]]:
    """Split `a=1&b=2` into decoded pairs exactly as parse_qsl(raw, keep_blank_values=True, errors="strict")."""
    pairs = []
    for field in raw.split("&") if raw else ():
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((unquote_plus_strict(name), unquote_plus_strict(value)))
    return pairs
