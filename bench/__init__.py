"""Benchmark harness: CoproKG against Oxigraph's own server, in-process pyoxigraph, reasonable and owlrl."""
