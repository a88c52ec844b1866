"""The library's errors know nothing of HTTP; the server's one table gives each its status."""

from __future__ import annotations

import inspect

import pytest

from kg import errors
from server.errors import ERROR_TO_STATUS, status_of

ERROR_CLASSES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(cls, errors.KGError) and cls.__module__ == errors.__name__]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_no_library_error_carries_an_http_status(cls):
    assert not hasattr(cls, "status"), f"{cls.__name__} names an HTTP status; the table in server/errors.py does"


@pytest.mark.parametrize("cls", [cls for cls in ERROR_CLASSES if cls is not errors.KGError], ids=lambda cls: cls.__name__)
def test_every_library_error_is_mapped_deliberately_not_by_the_catch_all(cls):
    # Listed itself, or a subclass of a listed error other than the catch-all KGError.
    assert any(ancestor in ERROR_TO_STATUS for ancestor in cls.__mro__ if ancestor is not errors.KGError), cls.__name__


def test_a_subclass_takes_its_nearest_listed_ancestors_status():
    assert status_of(errors.InvalidParameter("sector", "unknown value")) == 400
    assert status_of(errors.InconsistentOntology("inconsistent")) == 500
    assert status_of(errors.TooManyRequests("slow down", retry_after=3)) == 429
    assert status_of(errors.QueryTimeout("30 s")) == 503
    # The store behind the service (remote-store mode): a gateway's statuses, a refusal among its failures.
    assert status_of(errors.RemoteStoreTimeout("30 s")) == 504
    assert status_of(errors.StoreRefused("refused", operator_detail="at http://store refused")) == 502
