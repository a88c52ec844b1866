"""Blueprint "health": /healthz, a cheap liveness check that also proves the store answers."""

from __future__ import annotations

from flask import Blueprint, current_app

from kg.errors import KGError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 when the store answers a trivial query, 503 otherwise."""
    store = current_app.extensions["coprokg.store"]
    try:
        store.query("ASK {}")
    except KGError as e:
        return {"status": "unavailable", "detail": str(e)}, 503
    return {"status": "ok", "version": str(getattr(store, "version", ""))}
