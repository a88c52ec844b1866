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


class UnsupportedMediaType(KGError):
    status, title = 415, "Unsupported media type"


class QueryTimeout(KGError):
    status, title = 503, "Query timed out"


class StoreUnavailable(KGError):
    status, title = 503, "Store unavailable"


class CaseDataError(KGError):
    """Case files that failed validation; `problems` lists every one found."""

    status, title = 400, "Invalid case data"

    def __init__(self, problems: list) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
