"""Map CoproKG errors to HTTP responses: the only place that knows status codes."""

from flask import Flask

from kg.errors import KGError


def register_error_handlers(app: Flask) -> None:
    """Turn KG errors into JSON problem responses."""

    @app.errorhandler(KGError)
    def kg_error(e: KGError):
        return {"error": e.title, "detail": str(e)}, e.status
