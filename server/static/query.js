// The query page: run SPARQL against /sparql, show results as a sortable, paged table, download them,
// and show syntax errors inline at their position. Named queries come from /api/queries. The address bar
// always holds the query last run (a permalink that reruns it), past runs are kept in localStorage, and a
// run still waiting can be cancelled.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("ui-config").textContent);
  const T = (key) => config.strings[key] || key;
  const $ = (id) => document.getElementById(id);
  const state = { vars: [], rows: [], raw: "", kind: "solutions", query: "", sortColumn: null, sortAscending: true, page: 0, pageSize: 25 };
  const HISTORY_KEY = "coprokg.history";
  const HISTORY_SIZE = 30;
  // What asks for a result: a table-friendly form of each kind (graphs as N-Triples, read line by line).
  const RESULT_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8";
  let vocabulary = null; // /terms.json, read when the editor first offers a completion (or a chart names a term)
  const loadVocabulary = () => {
    vocabulary = vocabulary || fetch(`${config.termsUrl}?lang=${config.lang}`).then((r) => r.json())
      .catch(() => ({ prefixes: config.prefixes, terms: [] }));
    return vocabulary;
  };
  const editor = CoproEditor.create($("editor"), config.starter, run, config.cspNonce, loadVocabulary);
  window.coproEditor = editor; // the browser tests read and set the query through this

  // --- tabs: several queries side by side -------------------------------------------------------------
  // Each tab keeps its text, its name, the query it last ran and that run's answer (or error), in
  // localStorage, so a reload brings them all back as they were without asking the server again. The
  // address bar holds the active tab's last-run query while the editor still shows it: a reload or a shared
  // copy of the address reruns exactly what is on screen.

  const TABS_KEY = "coprokg.tabs";
  // An answer longer than this is not kept across a reload (localStorage holds ~5 MB for the whole site);
  // its tab then says so and a run brings it back.
  const KEPT_ANSWER_CHARS = 100000;
  const NEW_TAB_QUERY = "SELECT * WHERE {\n  ?s ?p ?o\n}\nLIMIT 10\n";
  const tabs = openTabs();
  const answers = new Map(); // tab id -> its last answer, whatever its size, for as long as the page lives
  const runs = new Map(); // tab id -> { controller, started, timer, cancelled } while its query waits

  function openTabs() {
    let stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(TABS_KEY) || "null");
    } catch (e) { /* unreadable: start afresh */ }
    const valid = stored && Array.isArray(stored.list) && stored.list.length &&
      stored.list.every((tab) => tab && Number.isInteger(tab.id) && typeof tab.query === "string");
    if (!valid) return { list: [{ id: 1, query: config.starter }], active: 1, next: 2 };
    stored.next = Math.max(Number.isInteger(stored.next) ? stored.next : 0, ...stored.list.map((tab) => tab.id + 1));
    if (config.runOnLoad) { // a permalink opens in the tab that holds its text (a reload), else in a new one
      const same = [stored.list.find((tab) => tab.id === stored.active), ...stored.list]
        .find((tab) => tab && tab.query === config.starter);
      if (same) stored.active = same.id;
      else stored.list.push({ id: stored.next, query: config.starter }), stored.active = stored.next++;
    }
    if (!stored.list.some((tab) => tab.id === stored.active)) stored.active = stored.list[0].id;
    return stored;
  }

  const activeTab = () => tabs.list.find((tab) => tab.id === tabs.active);
  const tabById = (id) => tabs.list.find((tab) => tab.id === id);
  const tabName = (tab) => tab.name || `${T("tab")} ${tab.id}`;

  function saveTabs() {
    activeTab().query = editor.getValue();
    try {
      localStorage.setItem(TABS_KEY, JSON.stringify(tabs));
    } catch (e) {
      // Storage full: keep the texts, drop the kept answers (they come back with a run), and try again.
      tabs.list.forEach((tab) => delete tab.answer);
      try { localStorage.setItem(TABS_KEY, JSON.stringify(tabs)); } catch (again) { /* the tabs last as long as the page */ }
    }
  }

  // Keep a tab's answer: in memory always, across reloads when small enough.
  function keepAnswer(tab, query, answer) {
    tab.ran = query;
    answers.set(tab.id, answer);
    if (answer.text.length <= KEPT_ANSWER_CHARS) tab.answer = answer;
    else delete tab.answer;
    saveTabs();
  }

  // The address names the query on screen only while it is the one the tab last ran.
  let addressQuery = new URLSearchParams(location.search).get("query");
  function syncAddress() {
    const tab = activeTab();
    const wanted = tab.ran !== undefined && editor.getValue() === tab.ran ? tab.ran : null;
    if (wanted === addressQuery) return; // unchanged: no history call per keystroke (browsers throttle them)
    addressQuery = wanted;
    const params = new URLSearchParams(location.search);
    if (wanted === null) params.delete("query");
    else params.set("query", wanted);
    history.replaceState(null, "", `${location.pathname}${params.toString() ? `?${params}` : ""}`);
  }

  // Show the active tab's answer, error, or wait, as it was when the tab was left.
  function showTab() {
    const tab = activeTab();
    const answer = answers.get(tab.id) || tab.answer;
    editor.clearErrors();
    $("error").hidden = true;
    $("results-card").hidden = true;
    $("cancelled").hidden = true;
    $("row-count").textContent = "";
    $("not-kept").hidden = !(tab.ran !== undefined && !answer && !runs.has(tab.id));
    if (answer && answer.ok) {
      state.query = tab.ran;
      showResults(answer.contentType, answer.text, answer.seconds);
      showDeclaredPrefixes(answer.declared);
    } else if (answer) {
      showError(answer.status, answer.text);
      if (editor.getValue() !== tab.ran) editor.clearErrors(); // the position was in the text as it was run
    }
    const waiting = runs.get(tab.id);
    if (waiting) {
      showProgress(waiting);
    } else {
      $("run-status").hidden = true;
      $("progress").hidden = true;
    }
    $("run").disabled = Boolean(waiting);
    syncAddress();
  }

  function switchTab(id) {
    saveTabs();
    tabs.active = id;
    editor.setValue(activeTab().query);
    saveTabs();
    renderTabs();
    showTab();
  }

  function closeTab(tab) {
    if (runs.has(tab.id)) stopWaiting(tab.id, false);
    const index = tabs.list.indexOf(tab);
    tabs.list.splice(index, 1);
    answers.delete(tab.id);
    if (tab.id === tabs.active) {
      tabs.active = tabs.list[Math.max(index - 1, 0)].id;
      editor.setValue(activeTab().query);
      showTab();
    }
    saveTabs();
    renderTabs();
  }

  // A double click (or F2) on a tab's name edits it in place: Enter or leaving keeps it, Escape does not.
  function renameTab(tab, label) {
    const input = document.createElement("input");
    input.className = "tab-name-input";
    input.value = tabName(tab);
    input.setAttribute("aria-label", T("rename_tab"));
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      const name = input.value.trim();
      if (keep) tab.name = name || undefined;
      saveTabs();
      renderTabs();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") finish(false);
      event.stopPropagation();
    });
    input.addEventListener("blur", () => finish(true));
    label.replaceWith(input);
    input.focus();
    input.select();
  }

  function renderTabs() {
    const bar = $("query-tabs");
    bar.innerHTML = "";
    for (const tab of tabs.list) {
      const holder = document.createElement("span");
      holder.className = "query-tab";
      holder.dataset.tab = String(tab.id);
      holder.setAttribute("role", "presentation");
      holder.classList.toggle("active", tab.id === tabs.active);
      const label = document.createElement("button");
      label.type = "button";
      label.className = "tab-label";
      label.setAttribute("role", "tab");
      label.setAttribute("aria-selected", String(tab.id === tabs.active));
      label.title = `${tab.query}\n\n${T("rename_tab_hint")}`;
      label.textContent = tabName(tab);
      if (runs.has(tab.id)) label.insertAdjacentHTML("beforeend", ' <span class="spinner small" aria-hidden="true"></span>');
      label.addEventListener("click", () => { if (tab.id !== tabs.active) switchTab(tab.id); });
      label.addEventListener("dblclick", () => renameTab(tab, label));
      label.addEventListener("keydown", (event) => { if (event.key === "F2") renameTab(tab, label); });
      holder.appendChild(label);
      if (tabs.list.length > 1) {
        const close = document.createElement("button");
        close.type = "button";
        close.className = "close-tab";
        close.textContent = "×";
        close.title = `${T("close_tab")}: ${tabName(tab)}`;
        close.setAttribute("aria-label", close.title);
        close.addEventListener("click", () => closeTab(tab));
        holder.appendChild(close);
      }
      bar.appendChild(holder);
    }
    const add = document.createElement("button");
    add.type = "button";
    add.id = "new-tab";
    add.className = "new-tab";
    add.title = T("new_tab");
    add.setAttribute("aria-label", T("new_tab"));
    add.textContent = "+";
    add.addEventListener("click", () => {
      saveTabs();
      tabs.list.push({ id: tabs.next, query: NEW_TAB_QUERY });
      switchTab(tabs.next++);
    });
    bar.appendChild(add);
  }

  // --- named queries as one-click examples -------------------------------------------------------

  async function loadExamples() {
    let queries = null;
    try {
      const response = await fetch(config.queriesApi, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        queries = Array.isArray(body) ? body : body.queries;
      }
    } catch (e) { /* shown below as "no named queries" */ }
    renderExamples(Array.isArray(queries) ? queries : []);
  }

  function renderExamples(queries) {
    const list = $("examples");
    list.innerHTML = "";
    if (!queries.length) {
      list.innerHTML = `<li class="muted">${escapeHtml(T("no_examples"))}</li>`;
      return;
    }
    for (const query of queries) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "example";
      button.dataset.name = query.name;
      const summary = (config.lang === "zh" && query.summary_zh) || query.summary || query.name;
      const description = (config.lang === "zh" && query.description_zh) || query.description || "";
      const questions = (query.competency_questions || []).map((n) => `CQ${n}`).join(" ");
      button.innerHTML = `<strong>${escapeHtml(summary)}</strong>` +
        `<span class="example-meta"><code>${escapeHtml(query.name)}</code> ${escapeHtml(questions)}</span>`;
      button.title = description;
      button.addEventListener("click", async () => {
        const text = query.sparql || (await fetchQueryText(query.name));
        editor.setValue(withExampleValues(withoutHeader(text), query.parameters || []));
        run();
      });
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  // The `#+ key: value` header is metadata the list already shows; the editor gets the query itself.
  function withoutHeader(text) {
    return text.replace(/^(#\+[^\n]*\n)+/, "");
  }

  async function fetchQueryText(name) {
    const response = await fetch(`${config.queriesApi}/${encodeURIComponent(name)}`, { headers: { Accept: "application/json" } });
    const body = await response.json();
    return body.sparql || "";
  }

  // Bind each parameter that has an example (or default) with a VALUES block at the top of the WHERE
  // group, where it acts as the API's substitution would; the user sees and can change the values.
  function withExampleValues(text, parameters) {
    const bound = parameters
      // A language parameter follows the page language, so labels come back in the language being read.
      .map((p) => [p, p.type === "language" ? config.lang : (p.example !== undefined ? p.example : p.default)])
      .filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([p, value]) => `  VALUES ?${p.name} { ${sparqlTerm(p, String(value))} }`);
    if (!bound.length) return text;
    const block = `\n  # ${T("example_values")}\n${bound.join("\n")}\n`;
    const offset = wherePatternStart(stripComments(text));
    return offset < 0 ? text : text.slice(0, offset) + block + text.slice(offset);
  }

  // Find the offset just inside the query's outermost group: after CONSTRUCT's WHERE, else the first "{".
  function wherePatternStart(body) {
    const keyword = /\b(SELECT|CONSTRUCT|ASK|DESCRIBE)\b/i.exec(body);
    if (!keyword) return -1;
    const rest = body.slice(keyword.index);
    const brace = keyword[1].toUpperCase() === "CONSTRUCT" ? /\bWHERE\s*\{/i.exec(rest) : /\{/.exec(rest);
    return brace ? keyword.index + brace.index + brace[0].length : -1;
  }

  // Blank out comments (keeping offsets) so that a "{" or "WHERE" inside one is not mistaken for syntax.
  function stripComments(text) {
    return text.replace(/#[^\n]*/g, (c) => " ".repeat(c.length));
  }

  function sparqlTerm(parameter, value) {
    const kind = parameter.type;
    if (kind === "integer") return /^[+-]?\d+$/.test(value) ? value : JSON.stringify(value);
    if (kind === "iri" || (kind === "enum" && isIriLike(value))) return iriTerm(value);
    if (kind === "literal") {
      if (parameter.lang) return `${JSON.stringify(value)}@${parameter.lang}`;
      if (parameter.datatype && !parameter.datatype.endsWith("#langString")) return `${JSON.stringify(value)}^^<${parameter.datatype}>`;
      if (parameter.datatype && parameter.datatype.endsWith("#langString")) return `${JSON.stringify(value)}@${config.lang}`;
    }
    return JSON.stringify(value);
  }

  function isIriLike(value) {
    const colon = value.indexOf(":");
    return value.startsWith("<") || /^https?:\/\//.test(value) || (colon > 0 && value.slice(0, colon) in config.prefixes);
  }

  function iriTerm(value) {
    if (value.startsWith("<")) return value;
    const colon = value.indexOf(":");
    const prefix = value.slice(0, colon);
    const local = value.slice(colon + 1);
    if (prefix in config.prefixes) {
      return /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(local) ? value : `<${config.prefixes[prefix]}${local}>`;
    }
    return `<${value}>`;
  }

  // --- running a query ------------------------------------------------------------------------------

  // GET while the URL stays short (cacheable, and what a permalink does), else a form POST.
  function send(query, accept, signal) {
    const headers = { Accept: accept };
    const url = `${config.endpoint}?${new URLSearchParams({ query })}`;
    return url.length < 6000
      ? fetch(url, { headers, signal })
      : fetch(config.endpoint, { method: "POST", headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ query }), signal });
  }

  // Run the editor's query for the active tab. Its answer belongs to that tab: a tab left while its query
  // waits gets the answer all the same, shown when the tab is opened again. Tabs run independently.
  async function run() {
    const query = editor.getValue();
    const tab = activeTab();
    if (runs.has(tab.id)) stopWaiting(tab.id, false); // a new run replaces one still waiting
    const mine = { controller: new AbortController(), started: performance.now(), cancelled: false, tab: tab.id };
    runs.set(tab.id, mine);
    editor.clearErrors();
    $("error").hidden = true;
    $("not-kept").hidden = true;
    $("results-card").hidden = true; // the answer shown was to the query as it was last run
    $("run").disabled = true;
    $("row-count").textContent = T("running");
    showProgress(mine);
    renderTabs();
    saveTabs();
    try {
      const response = await send(query, RESULT_ACCEPT, mine.controller.signal);
      const text = await response.text();
      const seconds = ((performance.now() - mine.started) / 1000).toFixed(2);
      const answer = response.ok
        ? { ok: true, contentType: response.headers.get("Content-Type") || "", text, seconds,
          declared: response.headers.get("CoproKG-Declared-Prefixes") }
        : { ok: false, status: response.status, text };
      if (runs.get(tab.id) !== mine || !tabById(tab.id)) return; // replaced, cancelled or closed meanwhile
      runs.delete(tab.id);
      keepAnswer(tab, query, answer);
      if (tabs.active === tab.id) showTab();
      remember(query, answer.ok ? { rows: rowCount(answer), seconds } : { failed: true, seconds });
    } catch (e) {
      if (e.name !== "AbortError" && runs.get(tab.id) === mine) {
        runs.delete(tab.id);
        if (tabs.active === tab.id) showError(0, String(e));
      }
    } finally {
      if (runs.get(tab.id) === mine) runs.delete(tab.id);
      clearInterval(mine.timer);
      if (tabs.active === tab.id && !runs.has(tab.id)) {
        $("progress").hidden = true;
        $("run-status").hidden = !mine.cancelled;
        $("run").disabled = false;
      }
      renderTabs();
    }
  }

  // The history notes how many rows an answer had, whether or not its tab is the one on screen.
  function rowCount(answer) {
    if (answer.contentType.includes("json")) {
      const body = JSON.parse(answer.text);
      return typeof body.boolean === "boolean" ? 1 : body.results.bindings.length;
    }
    if (answer.contentType.includes("n-triples")) return parseNTriples(answer.text).length;
    return 0;
  }

  // --- waiting: a spinner with the time elapsed, and a Cancel that stops the wait ---------------------

  function showProgress(mine) {
    const tick = () => {
      if (tabs.active === mine.tab) $("elapsed").textContent = `${((performance.now() - mine.started) / 1000).toFixed(1)} s`;
    };
    tick();
    if (!mine.timer) mine.timer = setInterval(tick, 100);
    $("run-status").hidden = false;
    $("progress").hidden = false;
    $("cancelled").hidden = true;
    $("row-count").textContent = T("running");
  }

  // Abort the request of a tab: the browser drops the connection and the page stops waiting at once (the
  // server, whose in-process query cannot be interrupted, ends it at its time limit).
  function stopWaiting(id, byUser) {
    const mine = runs.get(id);
    if (!mine) return;
    mine.cancelled = byUser;
    runs.delete(id);
    mine.controller.abort();
    clearInterval(mine.timer);
    renderTabs();
    if (tabs.active !== id) return;
    $("progress").hidden = true;
    $("run-status").hidden = !byUser;
    $("run").disabled = false;
    if (byUser) {
      const seconds = ((performance.now() - mine.started) / 1000).toFixed(1);
      $("cancelled").textContent = T("cancelled_after").replace("{}", seconds);
      $("cancelled").hidden = false;
      $("row-count").textContent = "";
    }
  }

  // --- permalink: the address bar carries the query, and opening such an address runs it --------------

  // The link to the query in the editor (run or not): opening it runs it.
  function linkToQuery() {
    const params = new URLSearchParams(location.search);
    params.set("query", editor.getValue());
    return `${location.origin}${location.pathname}?${params}`;
  }

  async function copyLink() {
    const link = linkToQuery();
    try {
      await navigator.clipboard.writeText(link);
      $("copy-link").textContent = T("link_copied");
    } catch (e) {
      window.prompt(T("copy_link"), link); // no clipboard permission: let the reader copy it
    }
    setTimeout(() => { $("copy-link").textContent = T("copy_link"); }, 2000);
  }

  // --- history: the queries run here, newest first, kept in localStorage across reloads -----------------

  function readHistory() {
    try {
      const entries = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(entries) ? entries.filter((e) => e && typeof e.query === "string") : [];
    } catch (e) {
      return []; // unreadable (another page's value, or storage refused): start afresh
    }
  }

  function remember(query, outcome) {
    const entries = [{ query, at: Date.now(), ...outcome }, ...readHistory().filter((e) => e.query !== query)];
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(entries.slice(0, HISTORY_SIZE)));
    } catch (e) { /* storage full or refused: the history simply stays as it was */ }
    renderHistory();
  }

  // A query's first line that says something: its first non-comment line, else its first comment.
  function gist(query) {
    const lines = query.split("\n").map((l) => l.trim()).filter(Boolean);
    const line = lines.find((l) => !l.startsWith("#")) || lines[0] || "";
    return line.length > 70 ? `${line.slice(0, 69)}…` : line;
  }

  function renderHistory() {
    const list = $("history");
    const entries = readHistory();
    list.innerHTML = "";
    $("clear-history").hidden = !entries.length;
    $("history-count").textContent = String(entries.length);
    if (!entries.length) {
      list.innerHTML = `<li class="muted small">${escapeHtml(T("no_history"))}</li>`;
      return;
    }
    const locale = config.lang === "zh" ? "zh-CN" : "en-GB";
    for (const entry of entries) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "history-item";
      button.title = entry.query;
      const outcome = entry.failed ? T("query_failed") : `${entry.rows} ${T("rows")}`;
      const when = new Date(entry.at).toLocaleString(locale, { dateStyle: "short", timeStyle: "short" });
      button.innerHTML = `<code>${escapeHtml(gist(entry.query))}</code>` +
        `<span class="example-meta">${escapeHtml(when)} · ${escapeHtml(outcome)} · ${escapeHtml(entry.seconds)} s</span>`;
      button.addEventListener("click", () => editor.setValue(entry.query));
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  // The server names the prefixes it declared; say so, so the query's meaning is never a surprise.
  function showDeclaredPrefixes(header) {
    const note = $("declared-prefixes");
    const names = (header || "").split(/\s+/).filter(Boolean);
    note.hidden = !names.length;
    note.textContent = names.length ? `${T("declared_for_you")} ${names.map((p) => `${p}:`).join(" ")}` : "";
  }

  function showError(status, text) {
    let title = `${T("query_failed")} (HTTP ${status})`;
    let detail = text;
    let position = null;
    let parserMessage = "";
    try {
      const body = JSON.parse(text);
      title = body.error || body.title || title;
      detail = body.detail || body.message || text;
      if (body.line) position = [null, body.line, body.column];
      parserMessage = body.parser_message || "";
    } catch (e) { /* a plain-text error body */ }
    position = position || /(?:at|line)\s+(\d+):(\d+)/i.exec(detail) || /line (\d+),? column (\d+)/i.exec(detail);
    const box = $("error");
    box.innerHTML = `<strong>${escapeHtml(title)}</strong>` +
      (position ? ` <span class="position">${escapeHtml(T("line"))} ${position[1]}, ${escapeHtml(T("column"))} ${position[2]}</span>` : "") +
      `<p class="error-detail">${escapeHtml(detail)}</p>` +
      (parserMessage ? `<details><summary>${escapeHtml(T("parser_said"))}</summary><pre>${escapeHtml(parserMessage)}</pre></details>` : "");
    showDeclaredPrefixes(null);
    box.hidden = false;
    $("results-card").hidden = true;
    $("row-count").textContent = "";
    if (position) editor.markError(Number(position[1]), Number(position[2]), detail);
  }

  function showResults(contentType, text, seconds) {
    state.raw = text;
    state.contentType = contentType;
    state.page = 0;
    state.sortColumn = null;
    $("results-text").hidden = true;
    $("results-table").hidden = false;
    state.kind = contentType.includes("json") ? "solutions" : contentType.includes("n-triples") ? "graph" : "text";
    for (const button of document.querySelectorAll("[data-download-for]")) {
      button.hidden = button.dataset.downloadFor !== (state.kind === "graph" ? "graph" : "solutions");
    }
    if (contentType.includes("json")) {
      const body = JSON.parse(text);
      if (typeof body.boolean === "boolean") {
        state.vars = ["boolean"];
        state.rows = [{ boolean: { type: "literal", value: String(body.boolean) } }];
      } else {
        state.vars = body.head.vars;
        state.rows = body.results.bindings;
      }
    } else if (contentType.includes("n-triples")) {
      state.vars = ["subject", "predicate", "object"];
      state.rows = parseNTriples(text);
    } else {
      state.vars = [];
      state.rows = [];
      $("results-table").hidden = true;
      $("results-text").hidden = false;
      $("results-text").textContent = text;
    }
    $("results-card").hidden = false;
    $("row-count").textContent = `${state.rows.length} ${T("rows")} · ${seconds} s`;
    renderTable();
    offerChart();
  }

  // --- a bar chart of an aggregate: one bar per row, when one column is numbers and another names them ---

  const NUMERIC = /#(integer|decimal|double|float|int|long|short|byte|nonNegativeInteger|positiveInteger|unsignedInt|unsignedLong)$/;
  const CHART_ROWS = 40;
  const SVG_NS = "http://www.w3.org/2000/svg";

  function chartColumns() {
    if (state.kind !== "solutions" || !state.rows.length) return null;
    const numeric = (v) => state.rows.every((row) => row[v] && row[v].type === "literal" && NUMERIC.test(row[v].datatype || ""));
    const value = state.vars.find(numeric);
    const name = state.vars.find((v) => v !== value && state.rows.some((row) => row[v]));
    return value && name ? { name, value } : null;
  }

  // Table always; Chart for a numeric column beside a naming one; Pivot for two columns or more.
  function offerChart() {
    const chart = Boolean(chartColumns());
    const pivot = state.kind === "solutions" && state.vars.length >= 2 && state.rows.length > 0;
    $("view-switch").hidden = !chart && !pivot;
    $("view-chart").hidden = !chart;
    $("view-pivot").hidden = !pivot;
    if (pivot) offerPivot();
    showView((state.view === "chart" && chart) || (state.view === "pivot" && pivot) ? state.view : "table");
  }

  function showView(view) {
    state.view = view;
    for (const name of ["table", "chart", "pivot"]) $(`view-${name}`).setAttribute("aria-pressed", String(view === name));
    $("results-chart").hidden = view !== "chart";
    $("results-pivot").hidden = view !== "pivot";
    $("table-view").hidden = view !== "table";
    if (view === "chart") drawChart();
    if (view === "pivot") drawPivot();
  }

  // --- a pivot table: one variable down, one across, each cell the rows' count or a numeric column's sum ---

  const PIVOT_COLUMNS = 30;

  function offerPivot() {
    const numeric = state.vars.filter((v) => state.rows.every((row) => !row[v] || (row[v].type === "literal" && NUMERIC.test(row[v].datatype || ""))));
    const options = (vars) => vars.map((v) => `<option value="${escapeHtml(v)}">?${escapeHtml(v)}</option>`).join("");
    const keep = (id, fallback) => ($(id).value && state.vars.includes($(id).value) ? $(id).value : fallback);
    const down = keep("pivot-rows", state.vars[0]);
    const across = keep("pivot-columns", state.vars.find((v) => v !== down));
    const value = $("pivot-value").value;
    $("pivot-rows").innerHTML = options(state.vars);
    $("pivot-columns").innerHTML = options(state.vars);
    $("pivot-value").innerHTML = `<option value="">${escapeHtml(T("pivot_count"))}</option>` +
      numeric.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(T("pivot_sum"))} ?${escapeHtml(v)}</option>`).join("");
    $("pivot-rows").value = down;
    $("pivot-columns").value = across;
    $("pivot-value").value = numeric.includes(value) ? value : "";
  }

  async function drawPivot() {
    const { terms } = await loadVocabulary();
    const labels = new Map(terms.map((t) => [t.iri, t.label]));
    const name = (term) => (!term ? "—" : term.type === "uri" ? (labels.get(term.value) || compact(term.value)) : term.value);
    const down = $("pivot-rows").value, across = $("pivot-columns").value, value = $("pivot-value").value;
    const cells = new Map(), rowKeys = new Map(), columnKeys = new Map();
    for (const row of state.rows) {
      const r = row[down] ? row[down].value : "", c = row[across] ? row[across].value : "";
      rowKeys.set(r, row[down]);
      columnKeys.set(c, row[across]);
      const add = value ? Number(row[value] ? row[value].value : 0) : 1;
      cells.set(`${r}\u0000${c}`, (cells.get(`${r}\u0000${c}`) || 0) + add);
    }
    const collator = new Intl.Collator(config.lang === "zh" ? "zh" : "en", { numeric: true });
    const sorted = (keys) => [...keys.entries()].sort((a, b) => collator.compare(name(a[1]), name(b[1])));
    const rows = sorted(rowKeys), columns = sorted(columnKeys).slice(0, PIVOT_COLUMNS);
    const total = (key, axis) => [...cells.entries()].filter(([k]) => k.split("\u0000")[axis] === key).reduce((sum, [, n]) => sum + n, 0);
    const number = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
    const head = `<thead><tr><th>?${escapeHtml(down)} \\ ?${escapeHtml(across)}</th>${columns.map(([key, term]) =>
      `<th data-key="${escapeHtml(key)}" title="${escapeHtml(key)}">${escapeHtml(name(term))}</th>`).join("")}<th class="total">Σ</th></tr></thead>`;
    const body = rows.map(([key, term]) => `<tr data-key="${escapeHtml(key)}"><th title="${escapeHtml(key)}">${escapeHtml(name(term))}</th>${columns.map(([c]) => {
      const n = cells.get(`${key}\u0000${c}`);
      return `<td>${n === undefined ? "" : number(n)}</td>`;
    }).join("")}<td class="total">${number(total(key, 0))}</td></tr>`).join("");
    const foot = `<tfoot><tr><th>Σ</th>${columns.map(([c]) => `<td>${number(total(c, 1))}</td>`).join("")}<td class="total">${number([...cells.values()].reduce((a, b) => a + b, 0))}</td></tr></tfoot>`;
    $("pivot-table").innerHTML = head + `<tbody>${body}</tbody>` + foot;
  }

  function svg(tag, attributes, text) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    return element;
  }

  // Horizontal bars in the table's order (sort a column to reorder them), at most CHART_ROWS. A cop: term
  // is named by its label in the page language, other IRIs by their short form.
  async function drawChart() {
    const { name, value } = chartColumns();
    const { terms } = await loadVocabulary();
    const labels = new Map(terms.map((t) => [t.iri, t.label]));
    const rows = sortedRows().slice(0, CHART_ROWS).map((row) => {
      const term = row[name];
      const text = !term ? "" : term.type === "uri" ? (labels.get(term.value) || compact(term.value)) : term.value;
      return { text, value: Number(row[value].value) };
    });
    const max = Math.max(...rows.map((r) => r.value), 0) || 1;
    const bar = 22, gap = 8, labelWidth = 260, plot = 520, top = 28;
    const chart = svg("svg", { viewBox: `0 0 ${labelWidth + plot + 70} ${top + rows.length * (bar + gap)}`, class: "bar-chart", role: "img",
      "aria-label": `?${value} / ?${name}` });
    chart.appendChild(svg("text", { x: labelWidth + 4, y: 16, class: "axis-title" }, `?${value}`));
    rows.forEach((row, i) => {
      const y = top + i * (bar + gap);
      const width = Math.max((row.value / max) * plot, 0);
      const shown = row.text.length > 34 ? `${row.text.slice(0, 33)}…` : row.text;
      const group = chart.appendChild(svg("g", { class: "bar-row" }));
      group.appendChild(svg("title", {}, `${row.text}: ${row.value}`));
      group.appendChild(svg("text", { x: labelWidth - 8, y: y + bar * 0.7, class: "bar-label", "text-anchor": "end" }, shown));
      group.appendChild(svg("rect", { x: labelWidth, y, width: width.toFixed(2), height: bar, rx: 3, class: "bar", "data-value": row.value }));
      group.appendChild(svg("text", { x: labelWidth + width + 6, y: y + bar * 0.7, class: "bar-value" }, String(row.value)));
    });
    $("results-chart").replaceChildren(chart);
  }

  function parseNTriples(text) {
    const term = String.raw`(<[^>]*>|_:\S+|"(?:[^"\\]|\\.)*"(?:@[A-Za-z0-9-]+|\^\^<[^>]*>)?)`;
    const line = new RegExp(`^\\s*${term}\\s+${term}\\s+${term}\\s*\\.\\s*$`);
    const toTerm = (t) => {
      if (t.startsWith("<")) return { type: "uri", value: t.slice(1, -1) };
      if (t.startsWith("_:")) return { type: "bnode", value: t.slice(2) };
      const m = /^"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^<([^>]*)>)?$/.exec(t);
      return { type: "literal", value: JSON.parse(`"${m[1]}"`), "xml:lang": m[2], datatype: m[3] };
    };
    return text.split("\n").map((l) => line.exec(l)).filter(Boolean)
      .map((m) => ({ subject: toTerm(m[1]), predicate: toTerm(m[2]), object: toTerm(m[3]) }));
  }

  // --- the table ------------------------------------------------------------------------------------

  function sortedRows() {
    if (state.sortColumn === null) return state.rows;
    const column = state.sortColumn;
    const direction = state.sortAscending ? 1 : -1;
    const collator = new Intl.Collator(config.lang === "zh" ? "zh" : "en", { numeric: true });
    return [...state.rows].sort((a, b) => {
      const x = a[column] ? a[column].value : "";
      const y = b[column] ? b[column].value : "";
      const nx = Number(x), ny = Number(y);
      if (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) return (nx - ny) * direction;
      return collator.compare(x, y) * direction;
    });
  }

  function renderTable() {
    const table = $("results-table");
    const rows = sortedRows();
    const pages = Math.max(1, Math.ceil(rows.length / state.pageSize));
    state.page = Math.min(state.page, pages - 1);
    const first = state.page * state.pageSize;
    const shown = rows.slice(first, first + state.pageSize);
    const arrow = (v) => (state.sortColumn === v ? (state.sortAscending ? " ▲" : " ▼") : "");
    const head = `<thead><tr><th class="index">#</th>${state.vars.map((v) =>
      `<th data-var="${escapeHtml(v)}" class="sortable" title="${escapeHtml(T("sort_hint"))}">?${escapeHtml(v)}${arrow(v)}</th>`).join("")}</tr></thead>`;
    const body = shown.map((row, i) => `<tr><td class="index">${first + i + 1}</td>${state.vars.map((v) =>
      `<td>${row[v] ? renderTerm(row[v]) : ""}</td>`).join("")}</tr>`).join("");
    table.innerHTML = head + `<tbody>${body || `<tr><td colspan="${state.vars.length + 1}" class="muted">${escapeHtml(T("no_rows"))}</td></tr>`}</tbody>`;
    table.querySelectorAll("th.sortable").forEach((th) => th.addEventListener("click", () => {
      const v = th.dataset.var;
      state.sortAscending = state.sortColumn === v ? !state.sortAscending : true;
      state.sortColumn = v;
      renderTable();
      if (state.view === "chart") drawChart();
    }));
    $("page-info").textContent = rows.length
      ? `${first + 1}–${Math.min(first + state.pageSize, rows.length)} / ${rows.length} · ${T("page")} ${state.page + 1}/${pages}` : "";
    $("prev-page").disabled = state.page === 0;
    $("next-page").disabled = state.page >= pages - 1;
  }

  function compact(iri) {
    let best = null;
    for (const [prefix, namespace] of Object.entries(config.prefixes)) {
      if (iri.startsWith(namespace) && (!best || namespace.length > best[1].length)) best = [prefix, namespace];
    }
    return best ? `${best[0]}:${iri.slice(best[1].length)}` : iri;
  }

  function localHref(iri) {
    for (const [namespace, path] of config.localPaths) {
      if (iri === namespace.replace(/#$/, "")) return "/ontology";
      if (iri.startsWith(namespace)) return path + iri.slice(namespace.length).split("/").map(encodeURIComponent).join("/");
    }
    return `/resource?iri=${encodeURIComponent(iri)}`;
  }

  function renderTerm(term) {
    if (term.type === "uri") {
      return `<a class="term" href="${escapeHtml(localHref(term.value))}" title="${escapeHtml(term.value)}">${escapeHtml(compact(term.value))}</a>`;
    }
    if (term.type === "bnode") return `<span class="muted">_:${escapeHtml(term.value)}</span>`;
    const lang = term["xml:lang"] ? `<sup class="tag">@${escapeHtml(term["xml:lang"])}</sup>` : "";
    const type = term.datatype && !/#(string|langString)$/.test(term.datatype) ? `<sup class="tag">${escapeHtml(compact(term.datatype))}</sup>` : "";
    return `<span class="literal">${escapeHtml(term.value)}</span>${lang}${type}`;
  }

  // --- downloads ------------------------------------------------------------------------------------

  function csvValue(term) {
    const value = term ? term.value : "";
    return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
  }

  function download(name, type, text) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type }));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  $("download-csv").addEventListener("click", () => {
    const lines = [state.vars.join(","), ...sortedRows().map((row) => state.vars.map((v) => csvValue(row[v])).join(","))];
    download("coprokg-results.csv", "text/csv", lines.join("\r\n") + "\r\n");
  });
  $("download-json").addEventListener("click", () => {
    const json = state.contentType && state.contentType.includes("json") ? state.raw
      : JSON.stringify({ head: { vars: state.vars }, results: { bindings: state.rows } }, null, 2);
    download("coprokg-results.json", "application/sparql-results+json", json);
  });
  // A graph downloads in the serialisation the server writes for it (content negotiation on /sparql), so
  // Turtle carries the prefixes and JSON-LD is real JSON-LD, not a conversion of the table.
  async function downloadGraph(button) {
    button.disabled = true;
    try {
      const response = await send(state.query, button.dataset.mediaType, undefined);
      const text = await response.text();
      if (!response.ok) return showError(response.status, text);
      download(`coprokg-results.${button.dataset.extension}`, button.dataset.mediaType, text);
    } catch (e) {
      showError(0, String(e));
    } finally {
      button.disabled = false;
    }
  }
  document.querySelectorAll('[data-download-for="graph"]').forEach((b) => b.addEventListener("click", () => downloadGraph(b)));
  $("cancel").addEventListener("click", () => stopWaiting(tabs.active, true));
  // The side panel's two tabs: the named queries, and this browser's history.
  for (const tab of document.querySelectorAll(".aside-tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".aside-tab")) {
        other.setAttribute("aria-selected", String(other === tab));
        $(other.getAttribute("aria-controls")).hidden = other !== tab;
      }
    });
  }
  $("copy-link").addEventListener("click", copyLink);
  $("clear-history").addEventListener("click", () => {
    try { localStorage.removeItem(HISTORY_KEY); } catch (e) { /* nothing stored */ }
    renderHistory();
  });
  $("view-table").addEventListener("click", () => showView("table"));
  $("view-chart").addEventListener("click", () => showView("chart"));
  $("view-pivot").addEventListener("click", () => showView("pivot"));
  for (const id of ["pivot-rows", "pivot-columns", "pivot-value"]) $(id).addEventListener("change", drawPivot);
  $("prev-page").addEventListener("click", () => { state.page -= 1; renderTable(); });
  $("next-page").addEventListener("click", () => { state.page += 1; renderTable(); });
  $("page-size").addEventListener("change", (e) => { state.pageSize = Number(e.target.value); state.page = 0; renderTable(); });
  $("run").addEventListener("click", run);

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  if (editor.getValue() !== activeTab().query) editor.setValue(activeTab().query);
  saveTabs();
  renderTabs();
  // A reload shows each tab as it was left; a permalink shows the query's result, not only its text.
  if (config.runOnLoad) run();
  else showTab();
  let pendingSave = null;
  editor.onChange(() => {
    syncAddress();
    clearTimeout(pendingSave);
    pendingSave = setTimeout(saveTabs, 400);
  });
  window.addEventListener("pagehide", saveTabs);
  loadExamples();
  renderHistory();
})();
