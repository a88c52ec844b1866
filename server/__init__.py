"""The CoproKG web service: SPARQL endpoint, query API and UI behind one app factory."""

from __future__ import annotations

from flask import Flask

from kg.config import Settings
from kg.store import open_store


def create_app(settings: Settings | None = None, store=None) -> Flask:
    """Create the app; tests pass Settings (and may pass a store), deployments read the environment."""
    from server import sparql
    from server.errors import register_error_handlers

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.extensions["coprokg.settings"] = settings
    app.extensions["coprokg.store"] = store if store is not None else open_store(settings)
    app.register_blueprint(sparql.bp)
    register_error_handlers(app)
    return app
