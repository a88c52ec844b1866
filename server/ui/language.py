"""The page language (English or Chinese), the UI's own strings, and picking literals in that language."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from flask import g, request

LANGUAGES = ("en", "zh")
STRINGS = Path(__file__).parent.parent / "static" / "i18n.json"


def current_language() -> str:
    """Pick the page language: ?lang=, then the cookie, then Accept-Language, then English."""
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


@lru_cache(maxsize=1)
def _ui_strings() -> dict[str, dict[str, str]]:
    return json.loads(STRINGS.read_text(encoding="utf-8"))


def translate(key: str) -> str:
    """Give the UI string `key` in the page language (English if it has no translation)."""
    strings = _ui_strings()
    return strings.get(g.lang, {}).get(key) or strings["en"].get(key) or key


def pick_language(by_language: dict[str, str], language: str) -> str | None:
    """Choose among texts keyed by language tag: `language`, then English, then untagged, then any."""
    for wanted in (language, "en", ""):
        for tag, text in by_language.items():
            if tag == wanted or tag.split("-")[0] == wanted:
                return text
    return next(iter(by_language.values()), None)


def in_page_language(values: list[dict]) -> list[dict]:
    """Keep the literals in the page language when there are any; other values always stay."""
    tagged = [v for v in values if isinstance(v["term"], ox.Literal) and v["term"].language]
    chosen = [v for v in tagged if v["term"].language.split("-")[0].lower() == g.lang]
    if not chosen:
        chosen = [v for v in tagged if v["term"].language.split("-")[0].lower() == "en"] or tagged
    return [v for v in values if v not in tagged or v in chosen]


def texts(values: list) -> list:
    """The terms among `values` to show on this page: literals in its language, and everything else."""
    return [v["term"] for v in in_page_language([{"term": t} for t in values])]
