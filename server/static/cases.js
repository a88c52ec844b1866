// /cases: a changed filter applies at once (the form is an ordinary GET form, which works without this file).
(function () {
  "use strict";
  const form = document.getElementById("case-filters");
  for (const select of form.querySelectorAll("select")) select.addEventListener("change", () => form.submit());
})();
