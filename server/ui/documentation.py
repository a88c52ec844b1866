"""The ontology's documentation page, as pyLODE writes it, with our fonts and a way back."""

from __future__ import annotations

from flask import Response, current_app
from markupsafe import Markup

from kg.docs import ontology_docs
from server.ui.blueprint import bp
from server.ui.language import translate


@bp.get("/docs")
def docs():
    """Serve the ontology documentation pyLODE generated, generating it first if it is missing or stale."""
    settings = current_app.extensions["coprokg.settings"]
    page = ontology_docs(settings.ontology).read_text(encoding="utf-8")
    # pyLODE's page brings its own style; add our bundled fonts (for Chinese labels) and a way back.
    fonts = ('<link rel="stylesheet" href="/static/build/fonts.css"><style>body, body *:not(code):not(pre)'
             '{font-family:"Inter Variable","Noto Sans SC Variable",sans-serif !important}</style>')
    back = str(Markup('<p style="margin:.5rem 1rem"><a href="/ontology">← {}</a></p>').format(translate("back_to_browser")))
    page = page.replace("</head>", fonts + "</head>", 1).replace("<body>", "<body>" + back, 1)
    return Response(page, mimetype="text/html")
