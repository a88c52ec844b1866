"""Production serving: gunicorn, configured only from kg.config.Settings.

One gunicorn worker process with `threads` threads: an on-disk Oxigraph store opens read-write in one
process only, so the app lives in one process, and the CPU-heavy part (query evaluation) runs in the
store's `workers` query processes (kg/pool.py), which is also what makes the query timeout enforceable.
"""

from __future__ import annotations

import logging
import sys

from gunicorn.app.base import BaseApplication

from kg.config import Settings


class CoproKGServer(BaseApplication):
    """gunicorn, with settings from Settings rather than gunicorn's command line."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        for key, value in {
            "bind": [f"{s.host}:{s.port}"],
            "workers": 1,
            "worker_class": "gthread",
            "threads": s.threads,
            # gthread workers heartbeat from their main loop, so a long query never trips this; it only
            # catches a wedged process.
            "timeout": int(s.query_timeout) + 60,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,  # our own access log (server/http_policy.py) has one line per request
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "coprokg",
            "control_socket_disable": True,  # no socket under $HOME; several servers may run side by side
            # Bounded header sizes; bodies are limited by the app (413 before reading).
            "limit_request_line": 8190,
        }.items():
            self.cfg.set(key, value)

    def load(self):
        from server import create_app

        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
        app = create_app(self.settings)
        start = getattr(app.extensions["coprokg.store"], "start", None)
        if start is not None:
            start()  # spawn the query workers now, not on the first request
        return app


def serve(settings: Settings) -> None:
    """Run the service until interrupted."""
    CoproKGServer(settings).run()
