"""The errors CoproKG reports to its users, each with the HTTP status it maps to."""


class KGError(Exception):
    """An error a user of the knowledge graph may be told about."""

    status, title = 500, "Internal error"


class ConfigError(KGError):
    status, title = 500, "Invalid configuration"


class QuerySyntaxError(KGError):
    status, title = 400, "Malformed SPARQL query"


class UpdateSyntaxError(KGError):
    status, title = 400, "Malformed SPARQL update"


class BadRequest(KGError):
    status, title = 400, "Bad request"


class Unauthorized(KGError):
    status, title = 401, "Missing or wrong bearer token"


class Forbidden(KGError):
    status, title = 403, "Not allowed by configuration"


class NotFound(KGError):
    status, title = 404, "Not found"


class NotAcceptable(KGError):
    status, title = 406, "Cannot serve the requested media type"


class PayloadTooLarge(KGError):
    status, title = 413, "Request body too large"


class URITooLong(KGError):
    status, title = 414, "Request URL too long"


class UnsupportedMediaType(KGError):
    status, title = 415, "Unsupported media type"


class TooManyRequests(KGError):
    """A client sent writes faster than its rate allows; `retry_after` is in whole seconds."""

    status, title = 429, "Too many write requests"

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class InvalidParameter(BadRequest):
    """A named-query parameter value that is missing, unknown, of the wrong type or not allowed."""

    title = "Invalid query parameter"

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        super().__init__(f"parameter '{parameter}': {problem}")


class NamedQueryError(KGError):
    """A malformed queries/*.rq file; the message names the file and line."""

    status, title = 500, "Malformed named query"


class QueryEvaluationError(KGError):
    """A query or update that parsed but failed while running; nothing was written."""

    status, title = 500, "Query evaluation failed"


class QueryTimeout(KGError):
    status, title = 503, "Query timed out"


class StoreUnavailable(KGError):
    status, title = 503, "Store unavailable"


class ReasoningError(KGError):
    """The OWL reasoner (reasonable or HermiT) failed, or found the ontology + cases inconsistent."""

    status, title = 500, "Reasoning failed"


class InconsistentOntology(ReasoningError):
    """HermiT proved the ontology (with any data loaded beside it) inconsistent."""

    title = "Inconsistent ontology or data"


class OntologySyntaxError(KGError):
    """The ontology source does not parse; the message names the file and line."""

    status, title = 500, "Malformed ontology source"


class CaseDataError(KGError):
    """Case files that failed validation; `problems` lists every one found."""

    status, title = 400, "Invalid case data"

    def __init__(self, problems: list) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
