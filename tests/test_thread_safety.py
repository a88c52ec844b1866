"""Regression: pyoxigraph result objects must be dropped on the thread that made them.

pyo3 refuses to drop an unsendable object (QuerySolutions, QueryTriples) on another thread: it reports
"... is unsendable, but is being dropped on another thread" and leaks it. The named-query checker raised
its errors with the result still in the raising frame; the library kept those errors (with tracebacks) in
its problem list, and the garbage collector later freed the cycle on whatever server thread it ran on.
"""

from __future__ import annotations

import gc
import sys
import threading

from kg.queries import load_library

HEADER = "#+ summary: x\n#+ summary_zh: x\n#+ description: x\n#+ description_zh: x\n"


def test_rejected_named_queries_leave_no_result_object_for_another_thread(tmp_path, monkeypatch):
    (tmp_path / "not_projected.rq").write_text(HEADER + "#+ param: n | integer | required\nSELECT ?s WHERE { ?s ?p ?n }\n")
    (tmp_path / "construct.rq").write_text(HEADER + "CONSTRUCT WHERE { ?s ?p ?o }\n")
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)  # observes what pyo3 reports
    libraries = []
    loader = threading.Thread(target=lambda: libraries.append(load_library(tmp_path)))
    loader.start()
    loader.join()
    assert len(libraries[0].problems) == 2
    libraries.clear()  # the library and its problems die here, on the main thread
    gc.collect()
    assert [str(u.exc_value) for u in unraisable] == []
