"""A small client for any CoproKG server: named queries and raw SPARQL as records or DataFrames.

It needs only requests (pandas optional) and kg/plain_values.py, so it installs without the server:
`pip install --no-deps coprokg requests` (README, "Use from your app").

>>> kg = CoproKG("http://127.0.0.1:8000")                         # doctest: +SKIP
>>> kg.run("case_actors", sector="cop:MarketSector")              # doctest: +SKIP
[{'case': 'https://w3id.org/coprokg/id/case/…', …}]
"""

from __future__ import annotations

from typing import Any

import requests

from kg.plain_values import plain_blank_node, plain_literal

SPARQL_JSON = "application/sparql-results+json"
# Longer queries go in a POST body so they do not hit URL length limits.
MAX_GET_QUERY_CHARS = 2000


class CoproKGError(Exception):
    """The server refused or failed a request; `status` is the HTTP status, `detail` its explanation."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        self.status, self.title, self.detail = status, title, detail
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")


class CoproKG:
    """A CoproKG server at `base_url` (e.g. http://127.0.0.1:8000)."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def queries(self) -> list[dict]:
        """List the named queries with their parameters.

        Raises:
            CoproKGError: the server answered with an error.
        """
        return self._request("GET", "/api/queries", headers={"Accept": "application/json"}).json()

    def run(self, name: str, **params: Any) -> list[dict]:
        """Run a named query and return its rows as records (dicts of column to value).

        Raises:
            CoproKGError: e.g. 400 with `detail` naming a bad parameter, 404 for an unknown query.
        """
        return self._request("POST", f"/api/queries/{name}", json=params, headers={"Accept": "application/json"}).json()

    def run_csv(self, name: str, **params: Any) -> str:
        """Run a named query and return its rows as CSV text."""
        return self._request("POST", f"/api/queries/{name}", json=params, headers={"Accept": "text/csv"}).text

    def run_df(self, name: str, **params: Any):
        """Run a named query and return a pandas DataFrame (needs the `pandas` extra)."""
        return _data_frame(self.run(name, **params), self._columns_of(name))

    def sparql(self, query: str) -> list[dict] | bool:
        """Run a raw SPARQL SELECT (records) or ASK (a bool) on the server's /sparql endpoint.

        Raises:
            CoproKGError: e.g. 400 for a malformed query.
        """
        headers = {"Accept": SPARQL_JSON}
        if len(query) <= MAX_GET_QUERY_CHARS:
            response = self._request("GET", "/sparql", params={"query": query}, headers=headers)
        else:
            response = self._request("POST", "/sparql", data={"query": query}, headers=headers)
        return records_from_sparql_json(response.json())

    def sparql_df(self, query: str):
        """Run a raw SPARQL SELECT and return a pandas DataFrame (needs the `pandas` extra)."""
        records = self.sparql(query)
        if isinstance(records, bool):
            raise TypeError("an ASK query gives a bool, not a table")
        return _data_frame(records, list(records[0]) if records else [])

    def _columns_of(self, name: str) -> list[str]:
        return next((q.get("variables", []) for q in self.queries() if q["name"] == name), [])

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                title, detail = body.get("error", response.reason), body.get("detail", "")
            except ValueError:
                title, detail = response.reason or "Error", response.text[:500]
            raise CoproKGError(response.status_code, title, detail)
        return response


def records_from_sparql_json(document: dict) -> list[dict] | bool:
    """Turn a SPARQL 1.1 JSON results document into records (or a bool for ASK)."""
    if "boolean" in document:
        return bool(document["boolean"])
    names = document["head"].get("vars", [])
    return [{name: _plain(row.get(name)) for name in names} for row in document["results"]["bindings"]]


def _plain(term: dict | None) -> Any:
    """Give one SPARQL JSON term as a plain Python value (None when unbound), as the query API's records do."""
    if term is None:
        return None
    if term["type"] == "bnode":
        return plain_blank_node(term["value"])
    if term["type"] == "literal":
        return plain_literal(term["value"], term.get("datatype"))
    return term["value"]


def _data_frame(records: list[dict], columns: list[str]):
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("DataFrames need pandas: pip install 'coprokg[pandas]' or pip install pandas") from e
    return pd.DataFrame.from_records(records, columns=columns or None)
