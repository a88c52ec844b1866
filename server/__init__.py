"""The CoproKG web service: SPARQL endpoint, query API and UI behind one app factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kg.config import Settings

if TYPE_CHECKING:
    from flask import Flask


def create_app(settings: Settings | None = None, store=None) -> Flask:
    """Create the app; tests pass Settings (and may pass a store), deployments read the environment."""
    # Imported here: `coprokg serve`'s master process imports server.runtime.serving but never builds an app.
    from flask import Flask

    from server import api, graph_store, health, sparql, ui
    from server.errors import register_error_handlers
    from server.http_policy import register_http_policies
    from server.runtime.served_store import open_served_store

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.extensions["coprokg.settings"] = settings
    app.extensions["coprokg.store"] = store if store is not None else open_served_store(settings)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(graph_store.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ui.bp)
    register_error_handlers(app)
    register_http_policies(app)
    return app
