"""Shared fixtures: real stores and real apps, fresh per test unless marked expensive."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.config import ROOT, Settings

DATA = Path(__file__).parent / "data"
OUTPUT = ROOT / "tests" / "output"


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings pointing at a fresh store directory."""
    return Settings(store=str(tmp_path / "store"))


@pytest.fixture(scope="session")
def shipped_store(tmp_path_factory):
    """The store exactly as `coprokg build` builds it (ontology + shipped cases + inferences); read-only."""
    from kg.load import build_store

    store, _ = build_store(Settings(store=str(tmp_path_factory.mktemp("shipped") / "store")))
    yield store
    store.close()


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory):
    """A real `oxigraph serve` on a free loopback port, default graph = union; yields its base URL."""
    from tests.endpoint_support import start_oxigraph_server

    process, url = start_oxigraph_server(tmp_path_factory.mktemp("oxigraph"))
    yield url
    process.terminate()
    process.wait(timeout=10)
