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
