"""The query workbench and the API page in real headless Chromium (issue 16), against a live server."""

from __future__ import annotations

import re
from xml.etree import ElementTree
from urllib.parse import parse_qs, urlencode, urlsplit

import pyoxigraph as ox
import pytest
import requests
import test_ui
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select
from kg.namespaces import COP, PREFIXES
from test_ui import PROLOGUE, SCREENSHOTS, fonts_loaded, open_page, screenshot, select, wait

pytestmark = pytest.mark.browser

# The same fixtures as the other UI tests: a live server over the shipped store, and headless Chromium.
base_url, browser = test_ui.base_url, test_ui.browser


def platform_fonts(driver, selector: str) -> list[dict]:
    """The fonts Chromium really drew the element's text with (DevTools' CSS.getPlatformFontsForNode)."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def test_api_docs_is_a_page_of_the_site_with_chinese_in_the_bundled_font(browser, base_url):
    open_page(browser, base_url + "/?lang=zh")
    browser.find_element(By.CSS_SELECTOR, 'nav a[data-nav="api_docs"]').click()
    wait(browser, EC.url_contains("/api/docs"))
    assert browser.find_element(By.CSS_SELECTOR, "nav a.active").get_attribute("data-nav") == "api_docs"
    fonts_loaded(browser)
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == "命名查询接口"
    assert "Noto Sans SC Variable" in browser.execute_script("return getComputedStyle(document.querySelector('h1')).fontFamily")
    loaded = browser.execute_script("return [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert any("Noto Sans SC" in family for family in loaded), loaded
    # Every glyph of the heading came from the bundled web font, none from a system fallback (the machine has
    # no Chinese system font, so without it they would be tofu boxes).
    drawn = platform_fonts(browser, "h1")
    assert [f["isCustomFont"] for f in drawn] == [True] and "Noto Sans SC" in drawn[0]["familyName"], drawn
    assert drawn[0]["glyphCount"] == len(heading)
    summary = browser.find_element(By.CSS_SELECTOR, "#case_modes h2").text
    assert "各案例的合作生产模式" in summary
    assert all(f["isCustomFont"] for f in platform_fonts(browser, "#case_modes .primary p")), "a fallback font drew Chinese"
    screenshot(browser, "14-api-docs-zh")


def test_api_docs_run_shows_the_answer_in_place(browser, base_url):
    open_page(browser, base_url + "/api/docs?lang=zh")
    form = browser.find_element(By.CSS_SELECTOR, "#case_modes form.api-form")
    assert form.find_element(By.NAME, "lang").get_attribute("value") == "zh"
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    result = wait(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, "#case_modes .api-result table")))
    assert browser.current_url == base_url + "/api/docs?lang=zh", "Run left the page"
    expected = requests.get(f"{base_url}/api/queries/case_modes",
                            params={"mode": "cop:ComplementaryAdvantage", "lang": "zh"}, timeout=10).json()
    assert expected, "the example should find cases"
    columns = [th.text for th in result.find_elements(By.CSS_SELECTOR, "thead th")]
    assert columns == [c for c in expected[0] if not c.endswith("@lang")]
    rows = result.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(expected)
    label_column = columns.index("label")
    shown_labels = sorted(r.find_elements(By.TAG_NAME, "td")[label_column].text.split("@")[0] for r in rows)
    assert shown_labels == sorted(record["label"] for record in expected)
    meta = browser.find_element(By.CSS_SELECTOR, "#case_modes .result-meta").text
    assert f"{len(expected)} " in meta
    screenshot(browser, "15-api-docs-run")
    # A bad value is answered in place too, with the parameter named.
    field = browser.find_element(By.CSS_SELECTOR, "#case_modes input[name=mode]")
    field.clear()
    field.send_keys("cop:NoSuchMode")
    browser.find_element(By.CSS_SELECTOR, "#case_modes button[type=submit]").click()
    failed = wait(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, "#case_modes .api-result.failed")))
    assert "HTTP 400" in failed.text and "mode" in failed.find_element(By.CSS_SELECTOR, ".error-detail").text


# --- the query page as a workbench ------------------------------------------------------------------------


def run_query(driver, query: str) -> None:
    driver.execute_script("window.coproEditor.setValue(arguments[0])", query)
    driver.find_element(By.ID, "run").click()
    answered(driver)


def answered(driver) -> None:
    """Wait for the row count ("12 rows · 0.03 s", in either language) that a finished run shows."""
    wait(driver, lambda d: re.match(r"\d+ ", d.find_element(By.ID, "row-count").text))


def shown_row_count(driver) -> int:
    return int(driver.find_element(By.ID, "row-count").text.split(" ")[0])


CASES_AND_CITIES = "SELECT ?case ?city WHERE { ?case cop:city ?city } ORDER BY ?city"
LABELS = "SELECT ?s ?label WHERE { ?s rdfs:label ?label FILTER(LANG(?label) = 'zh') }"


def test_history_is_kept_across_a_reload(browser, base_url, shipped_store):
    open_page(browser, base_url + "/?lang=en")
    browser.execute_script("localStorage.clear()")
    for query in (CASES_AND_CITIES, LABELS):
        run_query(browser, query)
    open_page(browser, base_url + "/?lang=en")  # a fresh page, not the permalink
    assert browser.find_element(By.ID, "history-count").text == "2"
    browser.find_element(By.ID, "tab-history").click()
    assert not browser.find_element(By.ID, "examples").is_displayed()
    items = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#history button.history-item"))
    assert [item.get_attribute("title") for item in items] == [LABELS, CASES_AND_CITIES]  # newest first
    expected = {q: len(select(shipped_store, q)) for q in (LABELS, CASES_AND_CITIES)}
    assert all(expected.values())
    for item, query in zip(items, (LABELS, CASES_AND_CITIES), strict=True):
        assert f"· {expected[query]} rows ·" in item.text
    items[1].click()
    assert browser.execute_script("return window.coproEditor.getValue()") == CASES_AND_CITIES
    run_query(browser, CASES_AND_CITIES)  # run again: it moves to the top, not a second entry
    titles = [i.get_attribute("title") for i in browser.find_elements(By.CSS_SELECTOR, "#history button.history-item")]
    assert titles == [CASES_AND_CITIES, LABELS]
    screenshot(browser, "16-query-history")
    browser.find_element(By.ID, "clear-history").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#history button.history-item") == []
    assert browser.execute_script("return localStorage.getItem('coprokg.history')") is None


def test_a_permalink_reopens_the_query_and_its_result(browser, base_url, shipped_store):
    open_page(browser, base_url + "/?lang=zh")
    run_query(browser, CASES_AND_CITIES)
    link = browser.current_url
    assert parse_qs(urlsplit(link).query) == {"lang": ["zh"], "query": [CASES_AND_CITIES]}
    open_page(browser, "about:blank")
    open_page(browser, link)  # no click: the page runs the query it was opened with
    answered(browser)
    assert browser.execute_script("return window.coproEditor.getValue()") == CASES_AND_CITIES
    expected = [row["city"] for row in select(shipped_store, CASES_AND_CITIES)]
    assert shown_row_count(browser) == len(expected) > 0
    cities = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#results-table tbody td:nth-child(3) .literal")]
    assert cities == expected[:25]
    screenshot(browser, "17-query-permalink-zh")


# Slow on purpose (a three-way product of 450 statements each, counted): seconds of work the server cannot
# interrupt, but ends, so a cancelled run costs the rest of the suite little.
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { { SELECT ?a WHERE { ?a ?b ?c } LIMIT 450 } "
        "{ SELECT ?d WHERE { ?d ?e ?f } LIMIT 450 } { SELECT ?g WHERE { ?g ?h ?i } LIMIT 450 } }")


def test_a_long_query_shows_its_time_and_cancel_stops_the_wait(browser, base_url):
    open_page(browser, base_url + "/?lang=en")
    browser.execute_script("window.coproEditor.setValue(arguments[0])", SLOW)
    browser.find_element(By.ID, "run").click()
    progress = wait(browser, EC.visibility_of_element_located((By.ID, "progress")))
    assert progress.find_element(By.CSS_SELECTOR, ".spinner").is_displayed()
    assert browser.find_element(By.ID, "run").get_property("disabled")
    elapsed = lambda: float(browser.find_element(By.ID, "elapsed").text.split()[0])  # noqa: E731
    wait(browser, lambda d: elapsed() >= 0.5)
    first = elapsed()
    wait(browser, lambda d: elapsed() > first)  # the clock runs
    screenshot_while_running = browser.find_element(By.ID, "run-status").screenshot_as_png
    assert screenshot_while_running
    browser.find_element(By.ID, "cancel").click()
    cancelled = wait(browser, EC.visibility_of_element_located((By.ID, "cancelled")), timeout=1)
    assert cancelled.text.startswith("Cancelled after ") and not progress.is_displayed()
    assert not browser.find_element(By.ID, "run").get_property("disabled")
    assert browser.find_element(By.ID, "results-card").get_attribute("hidden") is not None, "no result came"
    # The page is free at once: a quick query answers while the server still works on the cancelled one.
    run_query(browser, CASES_AND_CITIES)
    assert browser.find_element(By.CSS_SELECTOR, 'th[data-var="city"]')
    assert not browser.find_element(By.ID, "run-status").is_displayed()
    (SCREENSHOTS / "18-query-running.png").write_bytes(screenshot_while_running)


CONSTRUCT = "CONSTRUCT { ?case cop:city ?city ; rdfs:label ?label } WHERE { ?case cop:city ?city ; rdfs:label ?label }"


def test_a_construct_result_downloads_as_turtle_n_triples_and_json_ld(browser, base_url, shipped_store, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    open_page(browser, base_url + "/?lang=en")
    run_query(browser, CONSTRUCT)
    expected = set(shipped_store.query(PROLOGUE + CONSTRUCT))
    assert expected and shown_row_count(browser) == len(expected)
    visible = {b.get_attribute("id") for b in browser.find_elements(By.CSS_SELECTOR, "[data-download-for]") if b.is_displayed()}
    assert visible == {"download-ttl", "download-nt", "download-jsonld"}
    screenshot(browser, "19-query-construct")
    for button, extension, rdf_format in (("download-ttl", "ttl", ox.RdfFormat.TURTLE),
                                          ("download-nt", "nt", ox.RdfFormat.N_TRIPLES),
                                          ("download-jsonld", "jsonld", ox.RdfFormat.JSON_LD)):
        browser.find_element(By.ID, button).click()
        path = tmp_path / f"coprokg-results.{extension}"
        wait(browser, lambda d, path=path: path.exists() and path.stat().st_size > 0)
        assert {quad.triple for quad in ox.parse(path=str(path), format=rdf_format)} == expected, extension
    assert "@prefix cop: <https://w3id.org/coprokg/ontology#>" in (tmp_path / "coprokg-results.ttl").read_text(encoding="utf-8")
    # A SELECT offers its own downloads again.
    run_query(browser, CASES_AND_CITIES)
    visible = {b.get_attribute("id") for b in browser.find_elements(By.CSS_SELECTOR, "[data-download-for]") if b.is_displayed()}
    assert visible == {"download-csv", "download-json"}


def completion_options(driver) -> list[tuple[str, str]]:
    """The completion list shown: (label, detail) of each option, best first."""
    items = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".cm-tooltip-autocomplete li"))
    return driver.execute_script("""return [...arguments[0]].map(li => [li.querySelector('.cm-completionLabel').textContent,
        (li.querySelector('.cm-completionDetail') || {textContent: ''}).textContent])""", items)


def test_the_editor_completes_prefixes_and_cop_terms_with_their_labels(browser, base_url, shipped_store):
    open_page(browser, base_url + "/?lang=zh")
    browser.execute_script("window.coproEditor.setValue('')")
    content = browser.find_element(By.CSS_SELECTOR, "#editor .cm-content")
    content.click()
    content.send_keys("SELECT * WHERE { ?c a cop:Copro")
    options = completion_options(browser)
    expected = {row["t"].rsplit("#", 1)[1]: row["l"] for row in select(shipped_store, """
        SELECT ?t ?l WHERE { GRAPH <https://w3id.org/coprokg/graph/ontology> { ?t a ?k }
          VALUES ?k { owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty owl:NamedIndividual }
          ?t rdfs:label ?l FILTER(LANG(?l) = "zh" && STRSTARTS(STR(?t), STR(cop:Copro))) }""")}
    assert len(expected) >= 2
    # The terms that start with what was typed come first, each with its Chinese label.
    first = options[:len(expected)]
    assert {label: detail for label, detail in first} == {f"cop:{name}": text for name, text in expected.items()}
    fonts_loaded(browser)
    assert all(f["isCustomFont"] for f in platform_fonts(browser, ".cm-tooltip-autocomplete li .cm-completionDetail")), "tofu"
    screenshot(browser, "20-query-completion-zh")
    content.send_keys(Keys.ENTER)
    # (the editor closed the brace itself when it was typed)
    assert browser.execute_script("return window.coproEditor.getValue()") == f"SELECT * WHERE {{ ?c a {first[0][0]}}}"
    # A bare word is completed to a known prefix, with its namespace beside it; a variable is not completed.
    content.send_keys(" . ?c sko")
    assert ["skos:", PREFIXES["skos"]] in completion_options(browser)
    content.send_keys(Keys.ESCAPE, " ?co")
    assert browser.find_elements(By.CSS_SELECTOR, ".cm-tooltip-autocomplete") == []


# Instances per class of the ontology, the most populous eight: counts that differ, of terms that have labels.
PER_CLASS = ("SELECT ?class (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ?class FILTER(STRSTARTS(STR(?class), STR(cop:))) } "
             "GROUP BY ?class ORDER BY DESC(?n) ?class LIMIT 8")


def test_an_aggregate_result_is_drawn_as_a_bar_chart(browser, base_url, shipped_store):
    open_page(browser, base_url + "/?lang=zh")
    run_query(browser, PER_CLASS)
    browser.find_element(By.ID, "view-chart").click()
    chart = wait(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, "#results-chart svg.bar-chart")))
    assert not browser.find_element(By.ID, "results-table").is_displayed()
    expected = select(shipped_store, PER_CLASS)
    assert len(expected) == 8 and len({row["n"] for row in expected}) >= 3
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert [int(b.get_attribute("data-value")) for b in bars] == [int(row["n"]) for row in expected]
    # Each bar's length is its value's share of the largest.
    widths = [float(b.get_attribute("width")) for b in bars]
    for width, row in zip(widths, expected, strict=True):
        assert abs(width / max(widths) - int(row["n"]) / max(int(r["n"]) for r in expected)) < 0.01
    # Classes are named by their Chinese labels.
    names = [t.get_attribute("textContent") for t in chart.find_elements(By.CSS_SELECTOR, "text.bar-label")]
    labels = {row["c"]: row["l"] for row in select(shipped_store, "SELECT ?c ?l WHERE { ?c a owl:Class ; "
                                                                  "rdfs:label ?l FILTER(LANG(?l) = 'zh') }")}
    assert names == [labels[row["class"]] for row in expected]
    fonts_loaded(browser)
    screenshot(browser, "21-query-chart-zh")
    # A result with no numbers offers no chart.
    run_query(browser, CASES_AND_CITIES)
    assert not browser.find_element(By.ID, "view-chart").is_displayed()
    assert browser.find_element(By.ID, "results-table").is_displayed()


# --- /cases: search and filters ----------------------------------------------------------------------------


def shown_cases(driver) -> list[str]:
    return sorted(card.get_attribute("data-case") for card in driver.find_elements(By.CSS_SELECTOR, "#case-list .case-card"))


def cases_with(store, pattern: str) -> list[str]:
    return sorted({row["case"] for row in select(store, f"SELECT ?case WHERE {{ ?case a cop:CoproductionCase . {pattern} }}")})


def test_cases_can_be_searched_and_filtered(browser, base_url, shipped_store):
    open_page(browser, base_url + "/cases?lang=zh")
    every = cases_with(shipped_store, "")
    assert shown_cases(browser) == every and len(every) >= 4
    # Each arrangement is offered with the number of cases that have it.
    counts = {row["a"]: int(row["n"]) for row in select(shipped_store, "SELECT ?a (COUNT(DISTINCT ?c) AS ?n) WHERE { "
                                                                       "?c cop:hasDeliveryArrangement ?a } GROUP BY ?a")}
    offered = [o for o in Select(browser.find_element(By.NAME, "arrangement")).options][1:]
    assert {o.get_attribute("value").replace("cop:", str(COP)): int(o.text.rsplit("(", 1)[1].rstrip(")")) for o in offered} == counts
    # A mode: choosing it applies at once.
    mode = "https://w3id.org/coprokg/ontology#ComplementaryAdvantage"
    Select(browser.find_element(By.NAME, "mode")).select_by_value("cop:ComplementaryAdvantage")
    wait(browser, EC.url_contains("mode=cop"))
    expected = cases_with(shipped_store, f"?case cop:hasMode <{mode}>")
    assert shown_cases(browser) == expected and 0 < len(expected) < len(every)
    assert browser.find_element(By.ID, "cases-shown").text == f"显示 {len(expected)} 个案例，共 {len(every)} 个"
    # A province, named in Chinese, with no mode.
    open_page(browser, base_url + "/cases?lang=zh")
    Select(browser.find_element(By.NAME, "province")).select_by_value("浙江")
    wait(browser, EC.url_contains("province="))
    assert shown_cases(browser) == cases_with(shipped_store, '?case cop:province "浙江"@zh') and len(shown_cases(browser)) == 2
    # ... and a service among them, then a search in the other language.
    service = Select(browser.find_element(By.NAME, "service"))
    key = service.options[1].get_attribute("value")
    service.select_by_value(key)
    wait(browser, EC.url_contains("service="))
    iri = key.replace("cop:", "https://w3id.org/coprokg/ontology#")
    assert shown_cases(browser) == cases_with(shipped_store, f'?case cop:province "浙江"@zh ; cop:providesService <{iri}>')
    screenshot(browser, "22-cases-filtered-zh")
    open_page(browser, base_url + "/cases?lang=zh&q=ningbo")
    assert shown_cases(browser) == ["https://w3id.org/coprokg/id/case/ningbo-home-care-platform"]
    open_page(browser, base_url + "/cases?lang=zh&q=nowhere-at-all")
    assert shown_cases(browser) == [] and "没有符合" in browser.find_element(By.ID, "case-list").text
    assert len(Select(browser.find_element(By.NAME, "arrangement")).options) == 1, "nothing left to choose but all"


# --- pictures as files ---------------------------------------------------------------------------------------


def downloaded(driver, path):
    wait(driver, lambda d: path.exists() and path.stat().st_size > 0, timeout=20)
    return path


def test_the_2x2_and_the_cycle_download_as_svg_and_png(browser, base_url, shipped_store, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    open_page(browser, base_url + "/modes?lang=zh")
    fonts_loaded(browser)
    browser.find_element(By.CSS_SELECTOR, '[data-picture="modes"][data-format="svg"]').click()
    svg_file = downloaded(browser, tmp_path / "coprokg-modes-zh.svg")
    root = ElementTree.parse(svg_file).getroot()
    lines = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert len(root.findall("{http://www.w3.org/2000/svg}g")) == 4, "four cells"
    # Every mode and every case, by its Chinese label (a long name may wrap over lines).
    joined = "".join(lines).replace(" ", "")
    names = select(shipped_store, "SELECT ?l WHERE { { ?x a cop:CoproductionMode } UNION { ?x a cop:CoproductionCase ; "
                                  "cop:hasAuthorityLevel ?a } ?x rdfs:label ?l FILTER(LANG(?l) = 'zh') }")
    assert len(names) >= 8 and all(row["l"].replace(" ", "") in joined for row in names)
    browser.find_element(By.CSS_SELECTOR, '[data-picture="modes"][data-format="png"]').click()
    png = downloaded(browser, tmp_path / "coprokg-modes-zh.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 2 * int(root.get("width"))  # IHDR width: twice the SVG's
    # The PNG is drawn with the bundled fonts, embedded: without them Chromium draws other (here: no) glyphs.
    same = browser.execute_async_script("""const done = arguments[0]; const svg = coproPictures.svg('modes');
        Promise.all([coproPictures.png(svg, true), coproPictures.png(svg, false)])
          .then(async ([a, b]) => { const x = new Uint8Array(await a.arrayBuffer()), y = new Uint8Array(await b.arrayBuffer());
            done(x.length === y.length && x.every((v, i) => v === y[i])); });""")
    assert same is False
    (SCREENSHOTS / "24-modes-picture-zh.png").write_bytes(png)  # the downloaded file itself, to look at
    screenshot(browser, "23-modes-with-downloads-zh")
    open_page(browser, base_url + "/mechanisms?lang=en")
    browser.find_element(By.CSS_SELECTOR, '[data-picture="cycle"][data-format="svg"]').click()
    cycle = ElementTree.parse(downloaded(browser, tmp_path / "coprokg-cycle-en.svg")).getroot()
    shown = [" ".join(t.get_attribute("textContent").split()) for t in browser.find_elements(By.CSS_SELECTOR, "svg.cycle text")]
    assert [" ".join("".join(t.itertext()).split()) for t in cycle.iter("{http://www.w3.org/2000/svg}text")] == shown
    assert all(c.get("fill") not in (None, "") for c in cycle.iter("{http://www.w3.org/2000/svg}circle"))
    browser.find_element(By.CSS_SELECTOR, '[data-picture="cycle"][data-format="png"]').click()
    assert downloaded(browser, tmp_path / "coprokg-cycle-en.png").read_bytes()[:4] == b"\x89PNG"


def test_the_mechanism_lanes_download_as_a_picture(browser, base_url, shipped_store, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    open_page(browser, base_url + "/mechanisms?lang=zh")
    browser.find_element(By.CSS_SELECTOR, '[data-picture="lanes"][data-format="svg"]').click()
    root = ElementTree.parse(downloaded(browser, tmp_path / "coprokg-lanes-zh.svg")).getroot()
    lanes = root.findall("{http://www.w3.org/2000/svg}g")
    mechanisms = select(shipped_store, "SELECT ?m ?l WHERE { ?m a cop:Mechanism ; rdfs:label ?l FILTER(LANG(?l) = 'zh') }")
    assert len(lanes) == len(mechanisms) >= 3
    text = "".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")).replace(" ", "")
    outcomes = select(shipped_store, "SELECT DISTINCT ?l WHERE { ?m a cop:Mechanism ; cop:employsStrategy/cop:yieldsOutcome ?o . "
                                     "?o rdfs:label ?l FILTER(LANG(?l) = 'zh') }")
    assert all(row["l"].replace(" ", "") in text for row in mechanisms + outcomes)
    browser.find_element(By.CSS_SELECTOR, '[data-picture="lanes"][data-format="png"]').click()
    png = downloaded(browser, tmp_path / "coprokg-lanes-zh.png").read_bytes()
    assert png[:4] == b"\x89PNG" and int.from_bytes(png[16:20], "big") == 2 * int(root.get("width"))
    (SCREENSHOTS / "25-mechanism-lanes-picture-zh.png").write_bytes(png)


CLASSES_BY_GRAPH = ("SELECT ?class ?graph WHERE { GRAPH ?graph { ?x a ?class } "
                    "FILTER(STRSTARTS(STR(?class), STR(cop:)) && STRSTARTS(STR(?x), STR(id:))) }")


def test_a_result_can_be_seen_as_a_pivot_table(browser, base_url, shipped_store):
    open_page(browser, base_url + "/?lang=en")
    run_query(browser, CLASSES_BY_GRAPH)
    browser.find_element(By.ID, "view-pivot").click()
    table = wait(browser, EC.visibility_of_element_located((By.CSS_SELECTOR, "#pivot-table tbody tr")))
    assert table and not browser.find_element(By.ID, "results-table").is_displayed()
    counts = {(row["class"], row["graph"]): int(row["n"]) for row in select(shipped_store, CLASSES_BY_GRAPH.replace(
        "SELECT ?class ?graph", "SELECT ?class ?graph (COUNT(*) AS ?n)") + " GROUP BY ?class ?graph")}
    graphs = [th.get_attribute("data-key") for th in browser.find_elements(By.CSS_SELECTOR, "#pivot-table thead th[data-key]")]
    assert set(graphs) == {g for _, g in counts} and len(graphs) >= 2
    shown = {}
    for tr in browser.find_elements(By.CSS_SELECTOR, "#pivot-table tbody tr"):
        cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for graph, text in zip(graphs, cells, strict=False):
            if text:
                shown[(tr.get_attribute("data-key"), graph)] = int(text)
        assert int(cells[-1]) == sum(n for (c, _), n in counts.items() if c == tr.get_attribute("data-key"))
    assert shown == counts
    assert browser.find_element(By.CSS_SELECTOR, "#pivot-table tfoot td.total").text == str(sum(counts.values()))
    # Turned the other way round, the same numbers.
    Select(browser.find_element(By.ID, "pivot-rows")).select_by_value("graph")
    Select(browser.find_element(By.ID, "pivot-columns")).select_by_value("class")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pivot-table tbody tr").get_attribute("data-key") in graphs)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pivot-table tbody tr")) == len(graphs)
    screenshot(browser, "26-query-pivot")


def tab_ids(driver) -> list[str]:
    return [t.get_attribute("data-tab") for t in driver.find_elements(By.CSS_SELECTOR, "#query-tabs .query-tab")]


def active_tab(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "#query-tabs .query-tab.active").get_attribute("data-tab")


def open_tab(driver, tab: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'.query-tab[data-tab="{tab}"] .tab-label').click()


def editor_text(driver) -> str:
    return driver.execute_script("return window.coproEditor.getValue()")


def sparql_requests(driver) -> int:
    """How many requests this page has made to /sparql since it was loaded."""
    return driver.execute_script("return performance.getEntriesByType('resource')"
                                 ".filter(e => new URL(e.name).pathname === '/sparql').length")


def address_query(driver) -> str | None:
    return parse_qs(urlsplit(driver.current_url).query).get("query", [None])[0]


def shown_cities(driver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#results-table tbody td:nth-child(3) .literal")]


def open_fresh(driver, base_url: str, path: str) -> None:
    """Open the page with nothing in localStorage. Cleared from another page, since the page being left saves
    its tabs as it goes."""
    open_page(driver, "about:blank")
    driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": base_url, "storageTypes": "local_storage"})
    open_page(driver, base_url + path)


def test_tabs_keep_their_queries_and_answers_across_a_reload(browser, base_url, shipped_store):
    open_fresh(browser, base_url, "/?lang=en")
    starter = editor_text(browser)
    assert tab_ids(browser) == ["1"] and not browser.find_elements(By.CSS_SELECTOR, ".close-tab")
    browser.find_element(By.ID, "new-tab").click()
    assert tab_ids(browser) == ["1", "2"] and active_tab(browser) == "2"
    run_query(browser, CASES_AND_CITIES)  # tab 2 holds it and shows its answer
    cities = [row["city"] for row in select(shipped_store, CASES_AND_CITIES)]
    assert shown_row_count(browser) == len(cities) > 0 and address_query(browser) == CASES_AND_CITIES
    open_tab(browser, "1")
    assert editor_text(browser) == starter and active_tab(browser) == "1"
    assert not browser.find_element(By.ID, "results-card").is_displayed(), "tab 2's answer is not tab 1's"
    assert address_query(browser) is None, "the address named a query tab 1 never ran"
    browser.execute_script("window.coproEditor.setValue(arguments[0])", LABELS)  # typed, not run
    open_tab(browser, "2")  # back: its answer is shown again, not asked for again
    assert editor_text(browser) == CASES_AND_CITIES and shown_cities(browser) == cities[:25]
    assert address_query(browser) == CASES_AND_CITIES and sparql_requests(browser) == 1
    # A double click renames a tab; Escape leaves the name alone.
    label = browser.find_element(By.CSS_SELECTOR, '.query-tab[data-tab="2"] .tab-label')
    ActionChains(browser).double_click(label).perform()
    field = browser.find_element(By.CSS_SELECTOR, ".tab-name-input")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("Cities", Keys.ENTER)
    ActionChains(browser).double_click(browser.find_element(By.CSS_SELECTOR, '.query-tab[data-tab="1"] .tab-label')).perform()
    browser.find_element(By.CSS_SELECTOR, ".tab-name-input").send_keys("ignored", Keys.ESCAPE)
    names = lambda: [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#query-tabs .tab-label")]  # noqa: E731
    assert names() == ["Query 1", "Cities"] and active_tab(browser) == "1"  # a click on a tab opens it
    open_tab(browser, "2")
    # A reload brings back the tabs, their names and text, the active one, and its answer without a new request.
    open_page(browser, base_url + "/?lang=en")
    assert tab_ids(browser) == ["1", "2"] and active_tab(browser) == "2" and names() == ["Query 1", "Cities"]
    assert editor_text(browser) == CASES_AND_CITIES and shown_row_count(browser) == len(cities)
    assert shown_cities(browser) == cities[:25] and sparql_requests(browser) == 0
    open_tab(browser, "1")
    assert editor_text(browser) == LABELS and not browser.find_element(By.ID, "results-card").is_displayed()
    # Editing a query that was run takes it out of the address: a reload shows the edit, it does not rerun.
    open_tab(browser, "2")
    assert address_query(browser) == CASES_AND_CITIES
    browser.execute_script("window.coproEditor.setValue(arguments[0])", CASES_AND_CITIES + " LIMIT 3")
    assert address_query(browser) is None
    open_page(browser, base_url + "/?lang=en")
    assert editor_text(browser) == CASES_AND_CITIES + " LIMIT 3" and sparql_requests(browser) == 0
    # A permalink opens in a tab of its own, the others kept.
    open_page(browser, base_url + "/?" + urlencode({"lang": "en", "query": PER_CLASS}))
    answered(browser)
    assert tab_ids(browser) == ["1", "2", "3"] and active_tab(browser) == "3" and editor_text(browser) == PER_CLASS
    assert shown_row_count(browser) == len(select(shipped_store, PER_CLASS))
    screenshot(browser, "27-query-tabs")
    # Reloading it reruns it in the same tab, not a fourth.
    browser.refresh()
    answered(browser)
    assert tab_ids(browser) == ["1", "2", "3"] and active_tab(browser) == "3"
    browser.find_element(By.CSS_SELECTOR, '.query-tab[data-tab="2"] .close-tab').click()
    assert tab_ids(browser) == ["1", "3"] and active_tab(browser) == "3"
    browser.find_element(By.CSS_SELECTOR, '.query-tab[data-tab="3"] .close-tab').click()
    assert tab_ids(browser) == ["1"] and editor_text(browser) == LABELS
    assert not browser.find_element(By.ID, "results-card").is_displayed()
    open_page(browser, base_url + "/?lang=en")
    assert tab_ids(browser) == ["1"]


# A product counted: a second or two of work, long enough to leave its tab while it runs.
SLOWISH = SLOW.replace("LIMIT 450", "LIMIT 350")


def test_an_answer_goes_to_the_tab_that_asked_even_when_another_is_open(browser, base_url, shipped_store):
    open_fresh(browser, base_url, "/?lang=en")
    browser.execute_script("window.coproEditor.setValue(arguments[0])", SLOWISH)
    browser.find_element(By.ID, "run").click()
    wait(browser, EC.visibility_of_element_located((By.ID, "progress")))
    assert browser.find_elements(By.CSS_SELECTOR, '.query-tab[data-tab="1"] .spinner')
    browser.find_element(By.ID, "new-tab").click()  # leave tab 1 while its query runs
    assert not browser.find_element(By.ID, "run-status").is_displayed()
    assert not browser.find_element(By.ID, "run").get_property("disabled"), "tab 2 can run while tab 1 waits"
    run_query(browser, CASES_AND_CITIES)
    cities = [row["city"] for row in select(shipped_store, CASES_AND_CITIES)]
    # Tab 1's answer arrives while tab 2 is open: tab 2 keeps showing its own.
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, '.query-tab[data-tab="1"] .spinner'), timeout=30)
    assert shown_row_count(browser) == len(cities) and shown_cities(browser) == cities[:25]
    assert address_query(browser) == CASES_AND_CITIES
    open_tab(browser, "1")
    assert shown_row_count(browser) == 1 and address_query(browser) == SLOWISH
    expected = select(shipped_store, SLOWISH)[0]["n"]
    assert browser.find_element(By.CSS_SELECTOR, "#results-table tbody td:nth-child(2) .literal").text == expected
    assert expected == str(350 ** 3)
    # Its place in the history is there too, with its one row.
    assert any(i.get_attribute("title") == SLOWISH and "· 1 rows ·" in i.get_attribute("textContent")
               for i in browser.find_elements(By.CSS_SELECTOR, "#history button.history-item"))


EVERYTHING = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"


def test_a_tab_whose_answer_is_too_large_to_keep_says_so_after_a_reload(browser, base_url, shipped_store):
    size = len(requests.get(f"{base_url}/sparql", params={"query": EVERYTHING},
                            headers={"Accept": "application/sparql-results+json"}, timeout=30).text)
    assert size > 100_000, "the answer should be over the 100,000 characters a tab keeps"
    open_fresh(browser, base_url, "/?lang=en")
    run_query(browser, EVERYTHING)
    assert shown_row_count(browser) == len(select(shipped_store, EVERYTHING))
    assert not browser.find_element(By.ID, "not-kept").is_displayed()
    open_page(browser, base_url + "/?lang=en")  # the address held the query: drop it, so a reload does not rerun
    stored = browser.execute_script("return JSON.parse(localStorage.getItem('coprokg.tabs'))")
    assert stored["list"][0]["ran"] == EVERYTHING and "answer" not in stored["list"][0]
    assert browser.find_element(By.ID, "not-kept").is_displayed() and sparql_requests(browser) == 0
    assert not browser.find_element(By.ID, "results-card").is_displayed()
    browser.find_element(By.ID, "run").click()
    answered(browser)
    assert not browser.find_element(By.ID, "not-kept").is_displayed()
