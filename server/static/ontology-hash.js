// https://w3id.org/coprokg/ontology#Term arrives here as /ontology#Term: go to the term's own page.
// A file of its own, not inline, so the Content-Security-Policy can forbid inline scripts.
(function () {
  var term = decodeURIComponent(location.hash.slice(1));
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(term)) location.replace("/ontology/" + term);
})();
