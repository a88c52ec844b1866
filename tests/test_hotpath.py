"""The per-request shortcuts of the hot path give exactly what the slow paths they replace gave."""

from __future__ import annotations

import pytest

from kg.errors import BadRequest
from server.sparql import _parse_params

def test_a_percent_escape_that_is_not_utf8_is_still_refused():
    with pytest.raises(BadRequest, match="the URL holds a percent-escape that is not UTF-8"):
        _parse_params("query=%FF", "the URL")
