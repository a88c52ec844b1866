"""Serve a real CoproKG app on 127.0.0.1 (an ephemeral port) in a thread, for browser and HTTP tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server

from kg.config import Settings
from server import create_app


@contextmanager
def live_server(app) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at a free port until the block ends; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="coprokg-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def serve(store, settings: Settings | None = None) -> Iterator[str]:
    """Run the app over `store` until the block ends; yield its base URL."""
    with live_server(create_app(settings or Settings(), store=store)) as url:
        yield url
