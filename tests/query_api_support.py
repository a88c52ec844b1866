"""Helpers shared by the query-API tests: the illustrative test store and a live server on loopback."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.config import Settings
from kg.store import EmbeddedStore
from server import create_app

DATA = Path(__file__).parent / "data"
TEST_QUERIES = DATA / "queries"
TEST_CASES = DATA / "query-api-cases.trig"


def build_test_store() -> EmbeddedStore:
    """Build a fresh in-memory store holding the illustrative query-API test cases."""
    store = EmbeddedStore(None)
    store.ox.load(path=str(TEST_CASES), format=ox.RdfFormat.TRIG)
    return store


def build_test_app(store=None, queries: Path = TEST_QUERIES):
    """Create the real app over `store` (default: a fresh test store) serving the queries in `queries`."""
    settings = Settings(store=str(DATA / "unused-store"), queries=queries)
    app = create_app(settings, store=store if store is not None else build_test_store())
    app.config["TESTING"] = True
    return app


