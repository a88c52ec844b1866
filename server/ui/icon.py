"""The site's icon: browsers and tools ask for /favicon.ico at the root, whatever a page declares."""

from __future__ import annotations

from flask import current_app

from server.ui.blueprint import bp


@bp.get("/favicon.ico")
def favicon():
    """Serve server/static/favicon.ico: favicon.svg (which the pages link) drawn at 16, 32 and 48 px."""
    return current_app.send_static_file("favicon.ico")
