"""The errors CoproKG reports to its users: what went wrong, in the library's terms.

None of them knows HTTP. The server maps each to a status in one table (server/errors.py), and the
command line prints them as `error:` lines.
"""


class KGError(Exception):
    """An error a user of the knowledge graph may be told about."""

    title = "Internal error"

    def __init__(self, *args, operator_detail: str | None = None) -> None:
        super().__init__(*args)
        # For the operator only (the server's log, the command line), never for a client: where a remote
        # store is and what it answered. str() is what anyone may be told.
        self.operator_detail = operator_detail


class ConfigError(KGError):
    title = "Invalid configuration"


class QuerySyntaxError(KGError):
    title = "Malformed SPARQL query"


class UpdateSyntaxError(KGError):
    title = "Malformed SPARQL update"


class BadRequest(KGError):
    title = "Bad request"


class Unauthorized(KGError):
    title = "Missing or wrong bearer token"


class Forbidden(KGError):
    title = "Not allowed by configuration"


class NotFound(KGError):
    title = "Not found"


class NotAcceptable(KGError):
    title = "Cannot serve the requested media type"


class PayloadTooLarge(KGError):
    title = "Request body too large"


class URITooLong(KGError):
    title = "Request URL too long"


class UnsupportedMediaType(KGError):
    title = "Unsupported media type"


class TooManyRequests(KGError):
    """A client sent writes faster than its rate allows; `retry_after` is in whole seconds."""

    title = "Too many write requests"

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class TruthTableError(BadRequest):
    """Case data that cannot be tabulated as the crisp sets asked for (an outcome with values that are no 1/0)."""

    title = "Cannot make a truth table"


class InvalidParameter(BadRequest):
    """A named-query parameter value that is missing, unknown, of the wrong type or not allowed."""

    title = "Invalid query parameter"

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        super().__init__(f"parameter '{parameter}': {problem}")


class NamedQueryError(KGError):
    """A malformed queries/*.rq file; the message names the file and line."""

    title = "Malformed named query"


class QueryEvaluationError(KGError):
    """A query or update that parsed but failed while running; nothing was written."""

    title = "Query evaluation failed"


class Unsupported(KGError):
    """The store cannot do what was asked (a remote engine that offers no way to it); the message says what."""

    title = "Not supported by this store"


class QueryTimeout(KGError):
    title = "Query timed out"


class RemoteStoreTimeout(QueryTimeout):
    """The remote store had not finished answering at the deadline; every connection of the call was cut."""

    title = "Remote store timed out"


class StoreUnavailable(KGError):
    title = "Store unavailable"


class RemoteStoreError(StoreUnavailable):
    """The remote store failed: unreachable, an error status, a redirect (never followed), a broken answer.

    str() says so in words any client may read; `operator_detail` names the store's URL and what it said.
    """

    title = "Remote store failed"


class StoreRefused(RemoteStoreError):
    """The remote store answered 401 or 403: CoproKG's credentials for it are missing, wrong or not enough."""

    title = "Remote store refused the request"


class ReasoningError(KGError):
    """The OWL reasoner (reasonable or HermiT) failed, or found the ontology + cases inconsistent."""

    title = "Reasoning failed"


class InconsistentOntology(ReasoningError):
    """HermiT proved the ontology (with any data loaded beside it) inconsistent."""

    title = "Inconsistent ontology or data"


class OntologySyntaxError(KGError):
    """The ontology source does not parse; the message names the file and line."""

    title = "Malformed ontology source"


class CaseDataError(KGError):
    """Case files that failed validation; `problems` lists every one found."""

    title = "Invalid case data"

    def __init__(self, problems: list) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
