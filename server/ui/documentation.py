"""The ontology's documentation page, as pyLODE writes it, with our fonts and a way back."""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Response, current_app
from markupsafe import Markup

from kg.docs import ontology_docs
from server.http_policy import content_security_policy
from server.ui.blueprint import bp
from server.ui.language import translate


@bp.get("/docs")
def docs():
    """Serve the ontology documentation pyLODE generated, generating it first if it is missing or stale."""
    settings = current_app.extensions["coprokg.settings"]
    page = ontology_docs(settings.ontology).read_text(encoding="utf-8")
    # pyLODE's page brings its own style; add our bundled fonts (for Chinese labels) and a way back.
    fonts = ('<link rel="stylesheet" href="/static/build/fonts.css">'
             '<link rel="stylesheet" href="/static/ontology-docs.css">')
    back = str(Markup('<p class="coprokg-back"><a href="/ontology">← {}</a></p>').format(translate("back_to_browser")))
    page = page.replace("</head>", fonts + "</head>", 1).replace("<body>", "<body>" + back, 1)
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(_inline_style_hashes(page))
    return response


def _inline_style_hashes(page: str) -> list[str]:
    """CSP hashes of the page's own <style> blocks: pyLODE writes its style inline, and this allows exactly it."""
    return ["'sha256-" + base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode() + "'"
            for block in re.findall(r"<style[^>]*>(.*?)</style>", page, re.S)]
