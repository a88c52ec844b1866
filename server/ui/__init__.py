"""Blueprint "ui": the web pages and IRI dereferencing, one module per page.

Open `blueprint.py` for the language and navigation every page shares, `reading.py` for how pages run their
SPARQL (the files in `queries/`), `terms.py` for how a term is labelled and linked, and the page's own
module for its view: `query_page`, `ontology_browser`, `resources` (dereferencing), `mechanisms`, `modes`,
`cases`, `compare` (cases side by side), `codebook_page` (/codebook, the coding rules), `government`,
`documentation`, `api_docs` (/api/docs), `completions` (/terms.json, for the editor) and `icon` (/favicon.ico).
"""

from server.ui import (  # noqa: F401  (importing a page module registers its routes)
    api_docs,
    cases,
    codebook_page,
    compare,
    completions,
    documentation,
    government,
    icon,
    mechanisms,
    modes,
    ontology_browser,
    query_page,
    resources,
)
from server.ui.blueprint import bp

__all__ = ["bp"]
