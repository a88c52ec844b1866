// The query API page: "Run" fetches the named query's answer and shows it under its form, instead of leaving
// the page for raw JSON. Without this script the form still works: it opens the answer itself.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("api-docs-config").textContent);
  const T = (key) => config.strings[key] || key;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function compact(value) {
    if (typeof value !== "string") return value;
    for (const [prefix, namespace] of Object.entries(config.prefixes)) {
      if (value.startsWith(namespace) && /^[A-Za-z0-9_/-]*$/.test(value.slice(namespace.length))) {
        return `${prefix}:${value.slice(namespace.length)}`;
      }
    }
    return value;
  }

  // JSON records as a table: one column per variable; `NAME@lang` is shown as the tag of NAME's value.
  function recordsTable(records) {
    if (!records.length) return `<p class="muted">${escapeHtml(T("no_rows"))}</p>`;
    const columns = Object.keys(records[0]).filter((key) => !key.endsWith("@lang"));
    const cell = (record, column) => {
      const value = record[column];
      if (value === null || value === undefined) return "";
      const shown = compact(value);
      const title = shown !== value ? ` title="${escapeHtml(value)}"` : "";
      const tag = record[`${column}@lang`] ? `<sup class="tag">@${escapeHtml(record[`${column}@lang`])}</sup>` : "";
      return `<span${title}>${escapeHtml(typeof shown === "object" ? JSON.stringify(shown) : shown)}</span>${tag}`;
    };
    return `<div class="table-scroll"><table class="results"><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>` +
      `<tbody>${records.map((r) => `<tr>${columns.map((c) => `<td>${cell(r, c)}</td>`).join("")}</tr>`).join("")}</tbody></table></div>`;
  }

  async function run(form) {
    const output = form.parentElement.querySelector(".api-result");
    const parameters = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value !== "") parameters.append(name, value);
    const url = `${form.getAttribute("action")}?${parameters}`;
    const button = form.querySelector("button");
    button.disabled = true;
    output.hidden = false;
    output.className = "api-result";
    output.textContent = T("running");
    const started = performance.now();
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const text = await response.text();
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      const raw = `<a href="${escapeHtml(url)}">${escapeHtml(T("open_raw"))}</a>`;
      if (!response.ok) {
        let detail = text;
        try { const body = JSON.parse(text); detail = body.detail || body.title || text; } catch (e) { /* plain text */ }
        output.className = "api-result failed";
        output.innerHTML = `<div class="result-meta"><strong>${escapeHtml(T("query_failed"))} (HTTP ${response.status})</strong>${raw}</div>` +
          `<p class="error-detail">${escapeHtml(detail)}</p>`;
        return;
      }
      const type = response.headers.get("Content-Type") || "";
      const records = type.startsWith("application/json") ? JSON.parse(text) : null;
      const count = Array.isArray(records) ? `<span>${records.length} ${escapeHtml(T("rows"))}</span>` : "";
      output.innerHTML = `<div class="result-meta">${count}<span class="muted">${escapeHtml(T("answer_in"))} ${seconds} s · <code>${escapeHtml(type.split(";")[0])}</code></span>${raw}</div>` +
        (Array.isArray(records) ? recordsTable(records) : `<pre>${escapeHtml(text)}</pre>`);
    } catch (e) {
      output.className = "api-result failed";
      output.textContent = `${T("query_failed")}: ${e}`;
    } finally {
      button.disabled = false;
    }
  }

  for (const form of document.querySelectorAll("form.api-form")) {
    form.addEventListener("submit", (event) => { event.preventDefault(); run(form); });
  }
})();
